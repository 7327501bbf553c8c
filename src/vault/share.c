/* SPDX-License-Identifier: Apache-2.0 */
/* share.c - the trainee's button on the vault side: one instance leaves as a picture for a
 * lecture or a case discussion.  The instance is de-identified (deid/: header, burned-in text
 * found by rules and OCR, the residual check, photographic objects refused unless the user
 * states why), then one frame is rendered; the caller encodes it with no metadata.  Gated as an
 * export of de-identified data, audited as "share" (DCM 110106, type SHARE) before any pixel
 * is rendered.  The de-identification key is random for each share: a picture carries no
 * pseudonym that could link it to anything.
 */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "deid/deid.h"
#include "vault/vault_int.h"

#include "common/banned.h"

typedef struct share_ctx {
    vault *v;
    const vault_ctx *ctx;
    vault_mark_state ms;
    const deid_ctx *dc;
    const vault_share_opts *o;
    vault_image_fn fn;
    void *cb;
    uint64_t images;
} share_ctx;

static dv_err share_one(void *cb, const char *sop_uid, int64_t id, const uint8_t *p, size_t len,
                        dv_errinfo *ei)
{
    share_ctx *c = cb;
    deid_file_report rep;
    render_image im = {0};
    dcm_file *f = NULL;
    dv_err e;

    (void)sop_uid;
    (void)id;
    memset(&rep, 0, sizeof(rep));
    e = dcm_parse(p, len, 0, NULL, &f, ei);
    if (!e)
        e = deid_file(c->dc, f, &rep, ei);
    if (!e)
        e = render_frame(f, c->o->view.frame, &c->o->view.ro, &im, ei);
    dcm_file_free(f);
    if (!e) /* the picture names its share entry */
        e = vault_mark_render(c->v, c->ctx, &c->ms, &im, ei);
    if (!e)
        e = c->fn(c->cb, ++c->images, c->o->view.frame, &im, ei);
    render_image_release(&im);
    return e;
}

void vault_share_opts_init(vault_share_opts *o)
{
    memset(o, 0, sizeof(*o));
    vault_view_opts_init(&o->view);
    o->pixels = DEID_PIXELS_OCR;
}

dv_err vault_share(vault *v, const vault_ctx *ctx, const char *sop_uid, const vault_share_opts *o,
                   vault_image_fn fn, void *cb, dv_errinfo *ei)
{
    vault_retrieve_req rq = {ACCESS_EXPORT, "share", NULL, VAULT_SEL_INSTANCE, sop_uid, 1};
    char detail[128];
    share_ctx c;
    deid_opts dopts;
    deid_ctx *dc = NULL;
    crypto_key key;
    dv_err e;

    if (o->photo_reason && !o->photo_reason[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "a photograph needs a reason");
    if (o->photo_reason) /* operator text, like a break-glass reason: no PHI */
        (void)snprintf(detail, sizeof(detail), "photograph shared de-identified; reason: %.80s",
                       o->photo_reason);
    else
        (void)snprintf(detail, sizeof(detail), "shared as a de-identified picture");
    rq.detail = detail;
    deid_opts_init(&dopts);
    dopts.pixels.mode = (deid_pixels_mode)o->pixels;
    dopts.pixels.allow_photographic = o->photo_reason != NULL;
    crypto_key_random(&key);
    e = deid_ctx_new(&dopts, &key, &dc, ei);
    crypto_key_wipe(&key);
    if (e)
        return e;
    memset(&c, 0, sizeof(c));
    c.v = v;
    c.ctx = ctx;
    c.ms.overlay = o->view.overlay || vault_overlay_forced(v, ctx);
    c.dc = dc;
    c.o = o;
    c.fn = fn;
    c.cb = cb;
    e = vault_retrieve(v, ctx, &rq, share_one, &c, NULL, NULL, ei);
    deid_ctx_free(dc);
    return e;
}
