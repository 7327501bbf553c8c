/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_deid_rules.c - libFuzzer target: the pixel rule file parser (src/deid/pixels_rules.c).
 *
 * Input: the rule text.  On success every parsed rule must keep the invariants of deid_rules
 * (counts and lengths within the limits, non-empty rectangles) and its patterns are matched
 * against a few values (the glob must terminate); on failure the message must name a line or
 * the size limit and the output must be empty. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "deid/pixels.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rule(const deid_rule *r)
{
    uint32_t k;

    if (strlen(r->manufacturer) > DEID_RULES_MAX_PAT || strlen(r->model) > DEID_RULES_MAX_PAT ||
        r->nrects == 0 || r->nrects > DEID_RULES_MAX_RECTS || r->rows > 65535 || r->cols > 65535)
        __builtin_trap();
    for (k = 0; k < r->nrects; k++)
        if (r->rects[k].w == 0 || r->rects[k].h == 0 || r->rects[k].x > 65535 ||
            r->rects[k].y > 65535 || r->rects[k].w > 65535 || r->rects[k].h > 65535)
            __builtin_trap();
    (void)deid_glob_match(r->manufacturer, "GE MEDICAL SYSTEMS");
    (void)deid_glob_match(r->model, r->manufacturer);
    (void)deid_glob_match(r->manufacturer, "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    deid_rules r;
    dv_errinfo ei;
    uint32_t i;
    dv_err e = deid_rules_parse((const char *)data, size, &r, &ei);

    if (e) {
        if (r.v || r.n || (!strstr(ei.msg, "line ") && !strstr(ei.msg, "1 MiB")))
            __builtin_trap();
        return 0;
    }
    if (r.n > DEID_RULES_MAX_RULES)
        __builtin_trap();
    for (i = 0; i < r.n; i++)
        check_rule(&r.v[i]);
    deid_rules_release(&r);
    return 0;
}
