/* SPDX-License-Identifier: Apache-2.0 */
/* print.c - films: a printed copy of a study leaves the vault like an export (same gate, same
 * quotas and four-eyes rule), is audited as "print" (DCM 110106 with type PRINT) before any
 * pixel is rendered, and gets a random serial that is printed on every page and recorded in
 * the index with the print's audit entry.  The film stays on the record as outstanding until
 * someone reports its physical destruction (`film destroy`, audited first as "film-destroy"),
 * so the privacy officer can list the films that are still somewhere in the building.
 */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "vault/gate.h"
#include "vault/vault_int.h"

#include "common/banned.h"

/* Crockford base32: no I, L, O, U (nothing to misread on a film label). */
static const char SERIAL_ALPHABET[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void new_serial(char out[VAULT_FILM_SERIAL_LEN + 1])
{
    uint8_t r[8];
    size_t i, o = 0;

    crypto_random(r, sizeof(r));
    out[o++] = 'F';
    for (i = 0; i < sizeof(r); i++) {
        if (i % 4 == 0)
            out[o++] = '-';
        out[o++] = SERIAL_ALPHABET[r[i] & 31];
    }
    out[o] = '\0';
}

dv_err vault_print(vault *v, const vault_ctx *ctx, vault_sel sel, const char *uid,
                   const vault_view_opts *o, vault_image_fn fn, void *cb, vault_print_res *res,
                   dv_errinfo *ei)
{
    access_session_info si = {0};
    vault_retrieve_req rq = {ACCESS_EXPORT, "print", NULL, sel, uid, 0};
    char detail[32];
    index_film fl;
    uint64_t skipped = 0;
    dv_err e;

    memset(res, 0, sizeof(*res));
    memset(&fl, 0, sizeof(fl));
    new_serial(res->serial);
    (void)snprintf(detail, sizeof(detail), "film %s", res->serial);
    rq.detail = detail;
    e = vault_render_sel(v, ctx, &rq, o, fn, cb, &res->pages, &skipped, fl.study_bi,
                         &res->audit_seq, ei);
    if (!e && res->pages == 0)
        e = dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG,
                    "nothing to print: no image in the selection");
    if (!e)
        e = vault_session(v, ctx, &si, NULL, ei);
    if (e)
        return e;
    memcpy(fl.printed_by, si.user, sizeof(fl.printed_by));
    fl.printed = vault_access_now();
    fl.audit_seq = res->audit_seq;
    fl.pages = (uint32_t)res->pages;
    memcpy(fl.serial, res->serial, sizeof(res->serial));
    /* 40 random bits: a clash is an error, not a reason to print another serial than the
     * one the log already names */
    return index_film_insert(v->db, &fl, ei);
}

dv_err vault_film_destroy(vault *v, const vault_ctx *ctx, const char *serial, const char *reason,
                          dv_errinfo *ei)
{
    access_session_info si = {0};
    vault_gate_obj o;
    index_film fl;
    char detail[64];
    dv_err e;

    if (!reason[0])
        return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG, "a film destruction needs a reason");
    e = index_film_get(v->db, serial, &fl, ei);
    if (!e && fl.destroyed)
        e = dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "film %s is already destroyed",
                    fl.serial);
    if (e == DV_ENOTFOUND && strlen(serial) > VAULT_FILM_SERIAL_LEN)
        return dv_fail(ei, DV_ENOTFOUND, DV_NO_OFFSET, DV_NO_TAG, "no such film");
    if (e)
        return e;
    memset(&o, 0, sizeof(o));
    o.study_bi = fl.study_bi;
    e = vault_gate_as(v, ctx, ACCESS_CERTS, &o, &si, ei);
    (void)snprintf(detail, sizeof(detail), "film %s", fl.serial);
    if (!e) /* audit before effect: the record of destruction is on the log first */
        e = vault_audit_study_detail(v, ctx, "film-destroy", fl.study_bi, NULL, detail, ei);
    return e ? e : index_film_destroy(v->db, fl.serial, si.user, vault_access_now(), reason, ei);
}

typedef struct film_list_ctx {
    vault *v;
    vault_film_fn fn;
    void *cb;
} film_list_ctx;

static dv_err film_one(void *ctx, const index_film *f)
{
    film_list_ctx *c = ctx;
    vault_film_info i;

    memset(&i, 0, sizeof(i));
    memcpy(i.serial, f->serial, sizeof(i.serial));
    vault_audit_pseudonym(c->v, "audit-study", f->study_bi, i.study_pseudonym);
    memcpy(i.printed_by, f->printed_by, sizeof(i.printed_by));
    i.printed = f->printed;
    i.audit_seq = f->audit_seq;
    i.pages = f->pages;
    memcpy(i.destroyed_by, f->destroyed_by, sizeof(i.destroyed_by));
    i.destroyed = f->destroyed;
    i.reason = f->reason;
    return c->fn(c->cb, &i);
}

dv_err vault_film_list(vault *v, const vault_ctx *ctx, int outstanding, vault_film_fn fn, void *cb,
                       dv_errinfo *ei)
{
    film_list_ctx c = {v, fn, cb};
    dv_err e = vault_door(v, ctx, ACCESS_CERTS, NULL, "certificates", "films", ei);

    return e ? e : index_film_list(v->db, outstanding, film_one, &c, ei);
}
