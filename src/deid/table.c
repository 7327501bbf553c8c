/* SPDX-License-Identifier: Apache-2.0 */
/* table.c - lookups in the generated PS3.15 Table E.1-1 rules, options and safe privates.
 *
 * deid_ptab is sorted by tag (checked by the generator); wildcard rows are few (4) and
 * searched linearly after the exact rows.
 */
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

static const char *const option_names[DEID_OPT_COUNT] = {
    "retain-safe-private",
    "retain-uids",
    "retain-device-identity",
    "retain-institution-identity",
    "retain-patient-characteristics",
    "retain-long-full-dates",
    "retain-long-modified-dates",
    "clean-descriptors",
    "clean-structured-content",
    "clean-graphics",
};

const char *deid_option_name(deid_option o)
{
    if ((unsigned)o >= DEID_OPT_COUNT)
        return NULL;
    return option_names[o];
}

dv_err deid_option_parse(const char *name, unsigned *options, dv_errinfo *ei)
{
    unsigned i;

    for (i = 0; i < DEID_OPT_COUNT; i++)
        if (!strcmp(name, option_names[i])) {
            *options |= DEID_OPT(i);
            return DV_OK;
        }
    return dv_fail(ei, DV_EINVAL, DV_NO_OFFSET, DV_NO_TAG,
                   "unknown de-identification option (see --help for the %u names)",
                   (unsigned)DEID_OPT_COUNT);
}

const deid_prow *deid_prow_find(uint32_t tag)
{
    size_t lo = 0, hi = deid_ptab_count;
    unsigned i;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (deid_ptab[mid].tag == tag)
            return &deid_ptab[mid];
        if (deid_ptab[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (i = 0; i < deid_ptab_wild_count; i++) {
        const deid_prow *r = &deid_ptab_wild[i];

        /* an odd group is private whatever its number: the private row comes first */
        if (r->priv ? (DCM_GROUP(tag) & 1u) != 0
                    : ((tag & r->mask) == r->tag && !(DCM_GROUP(tag) & 1u)))
            return r;
    }
    return NULL;
}

deid_act deid_prow_action(const deid_prow *r, unsigned options)
{
    deid_act a = (deid_act)r->basic;
    int have_k = 0, have_c = 0;
    unsigned i;

    for (i = 0; i < DEID_OPT_COUNT; i++) {
        if (!(options & DEID_OPT(i)))
            continue;
        if (r->opt[i] == DEID_ACT_K)
            have_k = 1;
        else if (r->opt[i] == DEID_ACT_C)
            have_c = 1;
    }
    if (have_c)
        return DEID_ACT_C;
    if (have_k)
        return DEID_ACT_K;
    return a;
}

int deid_safe_private_find(const char *creator, size_t clen, uint16_t group, uint8_t elem)
{
    unsigned i;

    while (clen > 0 && (creator[clen - 1] == ' ' || creator[clen - 1] == '\0'))
        clen--;
    while (clen > 0 && creator[0] == ' ') {
        creator++;
        clen--;
    }
    for (i = 0; i < deid_safe_privates_count; i++) {
        const deid_safe_private *s = &deid_safe_privates[i];

        if (s->group == group && s->elem == elem && strlen(s->creator) == clen &&
            !memcmp(s->creator, creator, clen))
            return 1;
    }
    return 0;
}
