/* SPDX-License-Identifier: Apache-2.0 */
/* engine.c - applies PS3.15 Table E.1-1 to every element at every nesting level.
 *
 * Choices where the table leaves one (no IOD module tables here, so conformance is kept):
 * X/Z, X/D, X/Z/D, Z/D -> D (a dummy satisfies Z's definition too and is valid for Types 1, 2
 * and 3); on a sequence, X/Z, X/Z/U*, D and K keep the items and process them (the UIDs
 * inside are remapped by their own rows); C on a
 * binary value (overlay data) -> removed, a bitmap cannot be cleaned; when overlay data is
 * removed, its whole 60xx group goes.  PatientName and PatientID get keyed pseudonyms (or the
 * mapping's values) whatever Z/D says.  TextValue (0040,A160), absent from the table, is
 * cleaned under Clean Structured Content and replaced by a dummy otherwise.
 * Two X rows that break common IODs when removed get a conformant value instead:
 * Presentation Creation Date/Time (Type 1 in presentation states) a dummy, Responsible
 * Person/Organization (Type 2C for animals) zero length.  A standard attribute read with VR
 * UN is given its dictionary VR first; a sequence read as UN cannot be walked, so it is removed
 * unless the table keeps it (its bytes are still scanned by the residual check).
 * Private attributes: removed unless Retain Safe Private is on and (creator, group, element
 * byte) is on the safe list; a private creator stays only while its block keeps an element.
 */
#include <stdio.h>
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

#define ENGINE_MAX_DEPTH 64
#define TAG_TEXT_VALUE   DCM_TAG(0x0040, 0xA160)
#define TAG_PATIENT_NAME DCM_TAG(0x0010, 0x0010)
#define TAG_PATIENT_ID   DCM_TAG(0x0010, 0x0020)
#define DUMMY_TEXT       "ANONYMIZED"

typedef struct walk {
    const deid_ctx *ctx;
    dcm_file *f;
    const deid_needles *nd;
    deid_file_report *rep;
    char pid[72], pname[72]; /* the file's replacement PatientID / PatientName */
    const char *orig_pid;
    size_t orig_pid_len;
    int32_t days;
    dv_buf tmp, tmp2;
    uint8_t overlay_gone[128]; /* 60xx groups whose overlay data was removed */
    int in_meta;               /* walking the file meta group */
} walk;

static dv_err set_val(walk *w, dcm_elem *e, const void *p, size_t n, uint8_t pad)
{
    uint8_t *v;

    if (n > 0xFFFFFFF0u)
        return DV_ELIMIT;
    v = dv_arena_alloc(&w->f->arena, n + 2);
    if (!v)
        return DV_ENOMEM;
    if (n)
        memcpy(v, p, n);
    if (n & 1)
        v[n++] = pad;
    e->val = n ? v : NULL;
    e->len = (uint32_t)n;
    e->items = NULL;
    e->nitems = 0;
    e->frags = NULL;
    e->nfrags = 0;
    e->undef_len = 0;
    return DV_OK;
}

static dv_err set_str(walk *w, dcm_elem *e, const char *s)
{
    return set_val(w, e, s, strlen(s), e->vr == DCM_VR_UI ? '\0' : ' ');
}

/* Remaps every '\\'-separated UID of e. */
static dv_err remap_uids(walk *w, dcm_elem *e)
{
    size_t i, j = 0, n = e->len;
    const char *s = (const char *)e->val;
    char u[64];
    dv_err err = DV_OK;

    dv_buf_reset(&w->tmp);
    for (i = 0; !err && i <= n; i++) {
        if (i < n && s[i] != '\\')
            continue;
        {
            size_t a = j, b = i;

            while (b > a && (s[b - 1] == '\0' || s[b - 1] == ' '))
                b--;
            while (a < b && s[a] == ' ')
                a++;
            u[0] = '\0'; /* an empty UID stays empty */
            if (b > a)
                deid_uid_remap(&w->ctx->key, s + a, b - a, u);
            if (j > 0)
                err = dv_buf_addc(&w->tmp, '\\');
            if (!err)
                err = dv_buf_adds(&w->tmp, u);
        }
        j = i + 1;
    }
    if (!err)
        err = set_val(w, e, w->tmp.p, w->tmp.len, '\0');
    w->rep->uids++;
    return err;
}

/* Shifts every DA/DT value of e by the patient's offset; unparseable values are emptied. */
static dv_err shift_dates(walk *w, dcm_elem *e)
{
    const char *s = (const char *)e->val;
    size_t i, j = 0, n = e->len;
    char out[48];
    dv_err err = DV_OK;
    int bad = 0;

    dv_buf_reset(&w->tmp);
    for (i = 0; !err && i <= n; i++) {
        if (i < n && s[i] != '\\')
            continue;
        if (i > j) {
            int r = e->vr == DCM_VR_DA ? deid_shift_da(s + j, i - j, w->days, out)
                                       : deid_shift_dt(s + j, i - j, w->days, out);

            if (r)
                bad = 1;
            else {
                if (w->tmp.len)
                    err = dv_buf_addc(&w->tmp, '\\');
                if (!err)
                    err = dv_buf_adds(&w->tmp, out);
            }
        }
        j = i + 1;
    }
    if (!err)
        err = set_val(w, e, w->tmp.p, bad ? 0 : w->tmp.len, ' ');
    w->rep->dates++;
    return err;
}

static dv_err dummy(walk *w, dcm_elem *e)
{
    static const uint8_t zeros[8];

    w->rep->dummied++;
    switch (e->vr) {
    case DCM_VR_DA:
        return set_str(w, e, "19000101");
    case DCM_VR_DT:
        return set_str(w, e, "19000101000000");
    case DCM_VR_TM:
        return set_str(w, e, "000000");
    case DCM_VR_DS:
    case DCM_VR_IS:
        return set_str(w, e, "0");
    case DCM_VR_AS:
        return set_str(w, e, "000Y");
    case DCM_VR_PN:
        return set_str(w, e, "ANONYMOUS");
    case DCM_VR_UI:
        w->rep->dummied--;
        return remap_uids(w, e);
    case DCM_VR_UR:
        return set_str(w, e, "urn:anonymized");
    case DCM_VR_AE:
    case DCM_VR_CS:
    case DCM_VR_LO:
    case DCM_VR_LT:
    case DCM_VR_SH:
    case DCM_VR_ST:
    case DCM_VR_UC:
    case DCM_VR_UT:
        return set_str(w, e, DUMMY_TEXT);
    case DCM_VR_US:
    case DCM_VR_SS:
    case DCM_VR_OB:
    case DCM_VR_OW:
    case DCM_VR_UN:
        return set_val(w, e, zeros, 2, 0);
    case DCM_VR_UL:
    case DCM_VR_SL:
    case DCM_VR_FL:
    case DCM_VR_AT:
    case DCM_VR_OF:
    case DCM_VR_OL:
        return set_val(w, e, zeros, 4, 0);
    case DCM_VR_FD:
    case DCM_VR_SV:
    case DCM_VR_UV:
    case DCM_VR_OD:
    case DCM_VR_OV:
        return set_val(w, e, zeros, 8, 0);
    default:
        return set_str(w, e, DUMMY_TEXT);
    }
}

/* Cleans a text value in place (identifier spans and numbers overwritten). */
static dv_err clean_text(walk *w, dcm_elem *e)
{
    uint32_t spans = 0;
    dv_err err;

    w->rep->cleaned++;
    if (!e->len)
        return DV_OK;
    err = deid_clean_text(w->nd, e->val, e->len, &w->tmp, &spans);
    if (!err && spans) {
        w->rep->spans += spans;
        err = set_val(w, e, w->tmp.p, w->tmp.len, ' ');
    }
    return err;
}

/* Ages of 90 years or more are banded to "090Y" (kept otherwise). */
static dv_err band_age(walk *w, dcm_elem *e)
{
    unsigned v = 0, i;

    if (e->len < 4 || e->val[3] != 'Y')
        return DV_OK;
    for (i = 0; i < 3; i++) {
        if (e->val[i] < '0' || e->val[i] > '9')
            return DV_OK;
        v = v * 10 + (unsigned)(e->val[i] - '0');
    }
    return v >= 90 ? set_str(w, e, "090Y") : DV_OK;
}

static dv_err walk_ds(walk *w, dcm_ds *ds, unsigned depth);

static dv_err walk_items(walk *w, dcm_elem *e, unsigned depth)
{
    uint32_t i;
    dv_err err = DV_OK;

    for (i = 0; !err && i < e->nitems; i++)
        err = walk_ds(w, &e->items[i], depth + 1);
    return err;
}

/* Action C by VR. Returns 1 in *drop when the element must go. */
static dv_err do_clean(walk *w, dcm_elem *e, unsigned depth, int *drop)
{
    switch (e->vr) {
    case DCM_VR_SQ:
        w->rep->cleaned++;
        return walk_items(w, e, depth);
    case DCM_VR_DA:
    case DCM_VR_DT:
        return shift_dates(w, e);
    case DCM_VR_TM:
    case DCM_VR_DS:
    case DCM_VR_IS:
    case DCM_VR_US:
    case DCM_VR_SS:
    case DCM_VR_UL:
    case DCM_VR_SL:
    case DCM_VR_FL:
    case DCM_VR_FD:
    case DCM_VR_SV:
    case DCM_VR_UV:
    case DCM_VR_AT:
        w->rep->kept++;
        return DV_OK;
    case DCM_VR_AS:
        w->rep->kept++;
        return band_age(w, e);
    case DCM_VR_PN:
        return dummy(w, e);
    case DCM_VR_UI:
        return remap_uids(w, e);
    case DCM_VR_OB:
    case DCM_VR_OW:
    case DCM_VR_OD:
    case DCM_VR_OF:
    case DCM_VR_OL:
    case DCM_VR_OV:
    case DCM_VR_UN:
        *drop = 1;
        return DV_OK;
    default:
        return clean_text(w, e);
    }
}

static dv_err patient_value(walk *w, dcm_elem *e, unsigned depth)
{
    char tmp[24];

    w->rep->dummied++;
    if (depth == 0)
        return set_str(w, e, e->tag == TAG_PATIENT_ID ? w->pid : w->pname);
    /* a nested patient (other IDs, referenced patient): keyed on its own value */
    if (e->tag == TAG_PATIENT_ID)
        deid_pseudo_id(&w->ctx->key, (const char *)e->val, e->len, tmp);
    else
        deid_pseudo_name(&w->ctx->key, (const char *)e->val, e->len, tmp);
    return set_str(w, e, tmp);
}

/* Applies action a to e; *drop = 1 when it must be removed. */
static dv_err apply(walk *w, dcm_elem *e, deid_act a, unsigned depth, int *drop)
{
    if ((e->tag == TAG_PATIENT_NAME || e->tag == TAG_PATIENT_ID) && a != DEID_ACT_X &&
        a != DEID_ACT_K && e->vr != DCM_VR_SQ)
        return patient_value(w, e, depth);
    switch (a) {
    case DEID_ACT_X:
        *drop = 1;
        return DV_OK;
    case DEID_ACT_Z:
        w->rep->zeroed++;
        return set_val(w, e, NULL, 0, ' ');
    case DEID_ACT_XZ:
    case DEID_ACT_D:
    case DEID_ACT_XD:
    case DEID_ACT_XZD:
    case DEID_ACT_ZD:
        if (e->vr == DCM_VR_SQ) {
            w->rep->dummied++;
            return walk_items(w, e, depth);
        }
        return dummy(w, e);
    case DEID_ACT_U:
    case DEID_ACT_XZU:
        if (e->vr == DCM_VR_SQ)
            return walk_items(w, e, depth);
        return remap_uids(w, e);
    case DEID_ACT_C:
        return do_clean(w, e, depth, drop);
    case DEID_ACT_K:
    case DEID_ACT_NONE:
        break;
    }
    if (e->vr == DCM_VR_SQ)
        return walk_items(w, e, depth);
    if (e->tag == TAG_TEXT_VALUE) {
        if (w->ctx->options & DEID_OPT(DEID_OPT_CLEAN_STRUCTURED))
            return clean_text(w, e);
        return dummy(w, e);
    }
    if (e->vr == DCM_VR_AS && a == DEID_ACT_K)
        return band_age(w, e);
    if (a == DEID_ACT_K)
        w->rep->kept++;
    return DV_OK;
}

/* Private data element (gggg,bbee), bb >= 0x10: kept only when safe and the option is on. */
static int private_keep(const walk *w, const dcm_ds *ds, const dcm_elem *e)
{
    uint16_t g = DCM_GROUP(e->tag), el = DCM_ELEM(e->tag);
    const dcm_elem *cr;

    if (!(w->ctx->options & DEID_OPT(DEID_OPT_RETAIN_SAFE_PRIVATE)) || el < 0x1000)
        return 0;
    cr = dcm_ds_find(ds, DCM_TAG(g, el >> 8));
    if (!cr || !cr->len)
        return 0;
    return deid_safe_private_find((const char *)cr->val, cr->len, g, (uint8_t)(el & 0xFF));
}

/* The X rows whose removal breaks common IODs (see the file comment). */
static deid_act conformant(uint32_t tag, deid_act a)
{
    if (a != DEID_ACT_X)
        return a;
    if (tag == DCM_TAG(0x0070, 0x0082) || tag == DCM_TAG(0x0070, 0x0083))
        return DEID_ACT_D;
    if (tag == DCM_TAG(0x0010, 0x2297) || tag == DCM_TAG(0x0010, 0x2299))
        return DEID_ACT_Z;
    return a;
}

/* Decides one element; returns 1 in *drop to remove it. */
static dv_err walk_elem(walk *w, dcm_ds *ds, dcm_elem *e, unsigned depth, int *drop)
{
    uint16_t g = DCM_GROUP(e->tag), el = DCM_ELEM(e->tag);
    const deid_prow *r;
    deid_act a;

    *drop = 0;
    if (g == 0x0002 && !w->in_meta) { /* meta elements inside a dataset do not belong there */
        *drop = 1;
        return DV_OK;
    }
    if (el == 0x0000 && g != 0x0002) { /* group lengths: retired, recomputed by nobody */
        *drop = 1;
        return DV_OK;
    }
    if (g & 1u) {
        if (el >= 0x0010 && el <= 0x00FF) /* creator: decided after its block */
            return DV_OK;
        if (private_keep(w, ds, e)) {
            w->rep->private_kept++;
            return e->vr == DCM_VR_SQ ? walk_items(w, e, depth) : DV_OK;
        }
        *drop = 1;
        w->rep->private_removed++;
        return DV_OK;
    }
    r = deid_prow_find(e->tag);
    a = conformant(e->tag, r ? deid_prow_action(r, w->ctx->options) : DEID_ACT_NONE);
    if (e->vr == DCM_VR_UN && a != DEID_ACT_K && a != DEID_ACT_NONE && a != DEID_ACT_X) {
        dcm_vr dv = dcm_dict_vr(e->tag);

        if (dv != DCM_VR_UN && dv != DCM_VR_SQ && dcm_vr_known(dv) &&
            (dcm_vr_long_length(dv) || e->len <= 0xFFFF) && e->len % dcm_vr_swap_width(dv) == 0)
            e->vr = dv;
        else if (dv == DCM_VR_SQ) /* a sequence in UN cannot be walked: it goes */
            a = DEID_ACT_X;
    }
    return apply(w, e, a, depth, drop);
}

/* A private creator (gggg,00bb) whose block (gggg,bb00-bbFF) kept nothing is removed. */
static int creator_unused(const dcm_ds *ds, const dcm_elem *cr)
{
    uint16_t g = DCM_GROUP(cr->tag), b = DCM_ELEM(cr->tag);
    uint32_t lo = DCM_TAG(g, (uint16_t)(b << 8)), hi = lo | 0xFF, i;

    for (i = 0; i < ds->n; i++)
        if (ds->e[i].tag >= lo && ds->e[i].tag <= hi)
            return 0;
    return 1;
}

static int overlay_gone(const walk *w, uint32_t tag)
{
    uint16_t g = DCM_GROUP(tag);

    return g >= 0x6000 && g <= 0x60FF && !(g & 1u) && w->overlay_gone[(g - 0x6000) / 2];
}

static void compact(walk *w, dcm_ds *ds, const uint8_t *dropv)
{
    uint32_t i, j = 0;

    for (i = 0; i < ds->n; i++) {
        if (dropv[i] || overlay_gone(w, ds->e[i].tag)) {
            w->rep->removed++;
            continue;
        }
        ds->e[j++] = ds->e[i];
    }
    ds->n = j;
    for (i = 0, j = 0; i < ds->n; i++) {
        dcm_elem *e = &ds->e[i];

        if ((DCM_GROUP(e->tag) & 1u) && DCM_ELEM(e->tag) >= 0x0010 && DCM_ELEM(e->tag) <= 0x00FF &&
            creator_unused(ds, e)) {
            w->rep->private_removed++;
            continue;
        }
        ds->e[j++] = *e;
    }
    ds->n = j;
}

static dv_err walk_ds(walk *w, dcm_ds *ds, unsigned depth)
{
    uint8_t *dropv;
    uint32_t i;
    int drop;
    dv_err err = DV_OK;

    if (depth > ENGINE_MAX_DEPTH)
        return DV_ELIMIT;
    if (!ds->n)
        return DV_OK;
    dropv = dv_arena_alloc(&w->f->arena, ds->n);
    if (!dropv)
        return DV_ENOMEM;
    for (i = 0; !err && i < ds->n; i++) {
        dcm_elem *e = &ds->e[i];

        err = walk_elem(w, ds, e, depth, &drop);
        dropv[i] = (uint8_t)drop;
        if (!err && drop && DCM_ELEM(e->tag) == 0x3000 && DCM_GROUP(e->tag) >= 0x6000 &&
            DCM_GROUP(e->tag) <= 0x60FF && !(DCM_GROUP(e->tag) & 1u) && depth == 0)
            w->overlay_gone[(DCM_GROUP(e->tag) - 0x6000) / 2] = 1;
    }
    if (!err)
        compact(w, ds, dropv);
    return err;
}

/* The file's replacement PatientID and PatientName: the mapping's, else keyed pseudonyms
 * (keyed on PatientID, or on PatientName when there is no PatientID). */
static void patient_pseudonyms(walk *w)
{
    const dcm_elem *e = dcm_ds_find(&w->f->ds, TAG_PATIENT_ID);
    const char *nid = NULL, *nname = NULL;
    size_t n = e ? e->len : 0;
    const char *s = e && e->val ? (const char *)e->val : "";

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0'))
        n--;
    if (!n) { /* no PatientID: the name keys the pseudonyms and the date offset */
        e = dcm_ds_find(&w->f->ds, TAG_PATIENT_NAME);
        n = e ? e->len : 0;
        s = e && e->val ? (const char *)e->val : "";
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0'))
            n--;
    }
    w->orig_pid = s;
    w->orig_pid_len = n;
    w->days = deid_date_offset(&w->ctx->key, s, n);
    if (w->ctx->mapping && deid_mapping_find(w->ctx->mapping, s, n, &nid, &nname)) {
        w->rep->mapped = 1;
        snprintf(w->pid, sizeof(w->pid), "%s", nid);
        if (nname[0]) {
            snprintf(w->pname, sizeof(w->pname), "%s", nname);
            return;
        }
    } else {
        char t[24];

        deid_pseudo_id(&w->ctx->key, s, n, t);
        snprintf(w->pid, sizeof(w->pid), "%s", t);
    }
    {
        char t[24];

        deid_pseudo_name(&w->ctx->key, s, n, t);
        snprintf(w->pname, sizeof(w->pname), "%s", t);
    }
}

/* Meta group: the table (MediaStorageSOPInstanceUID is a U row), minus AE titles and
 * private information, then (0002,0003) set to the dataset's new SOPInstanceUID. */
static dv_err walk_meta(walk *w)
{
    /* AE titles, private information, and the implementation UID / name (the writer puts
     * dcmvault's) */
    static const uint16_t drop_meta[] = {0x0012, 0x0013, 0x0016, 0x0017, 0x0018, 0x0100, 0x0102};
    char sop[65];
    size_t i;
    dv_err err;

    for (i = 0; i < sizeof(drop_meta) / sizeof(drop_meta[0]); i++)
        dcm_ds_remove(&w->f->meta, DCM_TAG(0x0002, drop_meta[i]));
    w->in_meta = 1;
    err = walk_ds(w, &w->f->meta, 0);
    w->in_meta = 0;
    if (err || dcm_ds_get_str(&w->f->ds, DCM_TAG(0x0008, 0x0018), sop, sizeof(sop)) <= 0)
        return err;
    snprintf(w->rep->new_sop_uid, sizeof(w->rep->new_sop_uid), "%s", sop);
    if (!w->f->meta.n)
        return DV_OK;
    return dcm_ds_set_str(w->f, &w->f->meta, DCM_TAG(0x0002, 0x0003), DCM_VR_UI, sop);
}

dv_err deid_apply(const deid_ctx *ctx, dcm_file *f, const deid_needles *nd, deid_file_report *rep,
                  dv_errinfo *ei)
{
    walk w;
    dv_err err;

    memset(&w, 0, sizeof(w));
    w.ctx = ctx;
    w.f = f;
    w.nd = nd;
    w.rep = rep;
    dv_buf_init(&w.tmp, (size_t)1 << 32);
    dv_buf_init(&w.tmp2, (size_t)1 << 32);
    patient_pseudonyms(&w);
    err = walk_ds(&w, &f->ds, 0);
    if (!err)
        err = walk_meta(&w);
    dv_buf_release(&w.tmp);
    dv_buf_release(&w.tmp2);
    if (err)
        return dv_fail(ei, err, DV_NO_OFFSET, DV_NO_TAG, "applying the profile failed: %s",
                       dv_strerror(err));
    return DV_OK;
}
