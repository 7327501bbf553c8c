/* SPDX-License-Identifier: Apache-2.0 */
/* view.c - a study, series or instance as rendered images (what a viewer shows): each stored
 * instance with pixel data is opened in memory, one frame rendered with render/, and handed to
 * the caller.  The gate decides `view` (a care relationship, no export quota) and the audit log
 * takes "view" (DCM 110103 DICOM Instances Accessed) before any pixel leaves.  Instances
 * without pixel data (reports, presentation states) are skipped and counted.
 */
#include <string.h>

#include "access/access.h"
#include "dicom/dicom.h"
#include "render/render.h"
#include "vault/vault_int.h"

#include "common/banned.h"

typedef struct view_ctx {
    vault *v;
    const vault_ctx *ctx;
    const vault_view_opts *o;
    vault_image_fn fn;
    void *cb;
    uint64_t images, skipped;
    vault_mark_state ms;
} view_ctx;

static dv_err view_one(void *cb, const char *sop_uid, int64_t instance_id, const uint8_t *p,
                       size_t len, dv_errinfo *ei)
{
    view_ctx *c = cb;
    render_image im = {0};
    dcm_file *f = NULL;
    dv_err e;

    (void)sop_uid;
    (void)instance_id;
    e = dcm_parse(p, len, 0, NULL, &f, ei);
    if (e)
        return e;
    e = render_frame(f, c->o->frame, &c->o->ro, &im, ei);
    dcm_file_free(f);
    if (e == DV_ENOTFOUND || e == DV_EUNSUPPORTED ||
        (e == DV_EINVAL && c->o->frame > 0)) { /* no pixels, or fewer frames: not an image */
        c->skipped++;
        dv_errinfo_clear(ei);
        return DV_OK;
    }
    if (!e) /* no image leaves unmarked */
        e = vault_mark_render(c->v, c->ctx, &c->ms, &im, ei);
    if (!e)
        e = c->fn(c->cb, ++c->images, c->o->frame, &im, ei);
    render_image_release(&im);
    return e;
}

void vault_view_opts_init(vault_view_opts *o)
{
    memset(o, 0, sizeof(*o));
    render_opts_init(&o->ro);
}

dv_err vault_render_sel(vault *v, const vault_ctx *ctx, const vault_retrieve_req *rq,
                        const vault_view_opts *o, vault_image_fn fn, void *cb, uint64_t *images,
                        uint64_t *skipped, uint8_t *study_bi, uint64_t *access_seq, dv_errinfo *ei)
{
    view_ctx c;
    dv_err e;

    memset(&c, 0, sizeof(c));
    c.v = v;
    c.ctx = ctx;
    c.ms.overlay = o->overlay || vault_overlay_forced(v, ctx);
    c.o = o;
    c.fn = fn;
    c.cb = cb;
    e = vault_retrieve(v, ctx, rq, view_one, &c, NULL, study_bi, ei);
    if (images)
        *images = c.images;
    if (skipped)
        *skipped = c.skipped;
    if (access_seq)
        *access_seq = c.ms.started ? c.ms.payload : v->last_audit_seq;
    return e;
}

dv_err vault_view(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                  const vault_view_opts *o, vault_image_fn fn, void *cb, uint64_t *images,
                  uint64_t *skipped, dv_errinfo *ei)
{
    vault_retrieve_req rq = {ACCESS_VIEW, "view", NULL, sel, uid, 0};

    return vault_render_sel(v, ctx, &rq, o, fn, cb, images, skipped, NULL, NULL, ei);
}
