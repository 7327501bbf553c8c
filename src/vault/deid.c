/* SPDX-License-Identifier: Apache-2.0 */
/* deid.c - exports for teaching and research: every instance of the selection leaves
 * de-identified (src/deid/: PS3.15 Basic Profile and the options asked for, burned-in text
 * redacted, the residual-PHI check).  The gate decides an export with `deidentified` set (the
 * only way a teaching or research purpose, or the researcher's D permission, gets anything),
 * and the audit log records "deidentify" (DCM 110103, type DEID) with the project's name
 * before any byte is written.
 *
 * Keys: each project has its own de-identification key, derived from the vault's pseudonym
 * key and the project name, so that one project's pseudonyms, UIDs and date shifts are stable
 * across exports and cannot be linked to another project's.  A file that fails de-
 * identification (the residual check found an identifier, or the file cannot be processed) is
 * not written; the export then fails with the count.
 *
 * Forensic mark: every de-identified image leaves marked like any export (vault_mark_dicom: the
 * "deidentify" entry's number in its stored depth, after the residual check); a file the mark
 * cannot carry is not written, counted like a de-identification failure.
 *
 * Durability: each file is written atomically under its name but without its own fsync
 * (DCM_WRITE_NO_SYNC, as `dcmvault deid` does); one dcm_sync_folder of the output folder at the
 * end makes every file written durable before the export reports anything.
 */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "deid/deid.h"
#include "vault/vault_int.h"

#include "common/banned.h"

#define PROJECT_MAX 64

typedef struct deid_out {
    const deid_ctx *dc;
    const char *dir;
    vault_deid_res *res;
    vault *v;
    const vault_ctx *ctx;
    vault_mark_state ms;
} deid_out;

static int project_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n < 1 || n > PROJECT_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return 0;
    return 1;
}

/* One instance: parse, de-identify, write as <new SOPInstanceUID>.dcm (mode 0600, synced with the
 * folder at the end).  A file the engine refuses is counted, not written; only resource errors
 * stop the export. */
static dv_err deid_one(void *cb, const char *sop_uid, int64_t id, const uint8_t *p, size_t len,
                       dv_errinfo *ei)
{
    deid_out *o = cb;
    deid_file_report rep;
    char path[VAULT_PATH_MAX];
    dcm_file *f = NULL;
    dv_buf out, mk;
    dv_errinfo local;
    dv_err e;
    int n, marked = 0;

    (void)sop_uid;
    (void)id;
    dv_errinfo_clear(&local);
    memset(&rep, 0, sizeof(rep));
    e = dcm_parse(p, len, 0, NULL, &f, &local);
    if (!e)
        e = deid_file(o->dc, f, &rep, &local);
    dv_buf_init(&out, VAULT_IMPORT_MAX);
    dv_buf_init(&mk, VAULT_IMPORT_MAX + ((size_t)1 << 30));
    if (!e)
        e = dcm_write_part10(f, rep.ts, &out, &local);
    if (!e) /* the de-identified copy carries the entry's mark, as every export does */
        e = vault_mark_dicom(o->v, o->ctx, &o->ms, out.p, out.len, &mk, &marked, &local);
    n = snprintf(path, sizeof(path), "%s/%s.dcm", o->dir, rep.new_sop_uid);
    if (!e && (n < 0 || (size_t)n >= sizeof(path) || !rep.new_sop_uid[0]))
        e = dv_fail(&local, DV_ELIMIT, DV_NO_OFFSET, DV_NO_TAG, "output path too long");
    if (!e)
        e = marked ? dcm_write_file_atomic_ex(path, mk.p, mk.len, DCM_WRITE_NO_SYNC, ei)
                   : dcm_write_file_atomic_ex(path, out.p, out.len, DCM_WRITE_NO_SYNC, ei);
    dv_buf_release(&out);
    dv_buf_release(&mk);
    dcm_file_free(f);
    if (e == DV_ENOMEM || e == DV_EIO) {
        if (e != DV_EIO)
            *ei = local;
        return e;
    }
    if (e) {
        if (!o->res->failed++)
            o->res->first_error = local;
        return DV_OK;
    }
    o->res->written++;
    return DV_OK;
}

dv_err vault_export_deid(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                         const vault_deid_opts *o, const char *outdir, vault_deid_res *res,
                         dv_errinfo *ei)
{
    vault_retrieve_req rq = {ACCESS_EXPORT, "deidentify", NULL, sel, uid, 1};
    char purpose[16 + PROJECT_MAX], detail[32 + PROJECT_MAX];
    deid_opts dopts;
    deid_ctx *dc = NULL;
    crypto_key key;
    deid_out out;
    dv_err e;

    memset(res, 0, sizeof(*res));
    memset(&out, 0, sizeof(out));
    out.dir = outdir;
    out.res = res;
    out.v = v;
    out.ctx = ctx;
    if (!project_ok(o->project))
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                       "project name: 1 to %d of [A-Za-z0-9._-]", PROJECT_MAX);
    (void)snprintf(purpose, sizeof(purpose), "deid-project:%s", o->project);
    (void)snprintf(detail, sizeof(detail), "de-identified for project %s", o->project);
    rq.detail = detail;
    deid_opts_init(&dopts);
    dopts.options = o->options;
    dopts.pixels.mode = o->pixels;
    e = crypto_key_derive(&v->pseud_key, purpose, &key);
    if (!e)
        e = deid_ctx_new(&dopts, &key, &dc, ei);
    crypto_key_wipe(&key);
    if (e)
        return e;
    out.dc = dc;
    e = vault_retrieve(v, ctx, &rq, deid_one, &out, NULL, NULL, ei);
    deid_ctx_free(dc);
    if (res->written) { /* the files written are made durable also when the export fails */
        dv_err se = dcm_sync_folder(outdir, e ? NULL : ei);

        if (!e)
            e = se;
    }
    if (!e && res->failed) {
        *ei = res->first_error;
        e = dv_fail(ei, DV_EPERM, DV_NO_OFFSET, DV_NO_TAG,
                    "%llu file(s) not written: de-identification failed (first: %s)",
                    (unsigned long long)res->failed, res->first_error.msg);
    }
    return e;
}
