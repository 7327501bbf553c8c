/* SPDX-License-Identifier: Apache-2.0 */
/* report.c - the per-file JSON record of what deid_file() did (counts, pixels, residual
 * check with the tag paths of any hit; never a value from the file).
 */
#include <string.h>

#include "deid/deid_int.h"

#include "common/banned.h"

static dv_err json_str(dv_buf *b, const char *s)
{
    dv_err e = dv_buf_addc(b, '"');

    for (; !e && s && *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            e = dv_buf_printf(b, "\\%c", c);
        else if (c < 0x20)
            e = dv_buf_printf(b, "\\u%04x", c);
        else
            e = dv_buf_addc(b, c);
    }
    if (!e)
        e = dv_buf_addc(b, '"');
    return e;
}

static dv_err actions(const deid_file_report *r, dv_buf *b)
{
    return dv_buf_printf(b,
                         "\"actions\":{\"removed\":%u,\"zeroed\":%u,\"dummy\":%u,\"kept\":%u,"
                         "\"cleaned\":%u,\"uids_remapped\":%u,\"dates_shifted\":%u,"
                         "\"private_removed\":%u,\"private_kept\":%u,\"text_spans_replaced\":%u,"
                         "\"patient_id_from_mapping\":%s},",
                         r->removed, r->zeroed, r->dummied, r->kept, r->cleaned, r->uids, r->dates,
                         r->private_removed, r->private_kept, r->spans,
                         r->mapped ? "true" : "false");
}

static dv_err residual(const deid_file_report *r, dv_buf *b)
{
    uint32_t i, n = r->residual_hits < DEID_MAX_WHERE ? r->residual_hits : DEID_MAX_WHERE;
    dv_err e;

    e = dv_buf_printf(b,
                      "\"residual\":{\"ran\":%s,\"passed\":%s,\"needles\":%u,\"hits\":%u,"
                      "\"where\":[",
                      r->residual_ran ? "true" : "false",
                      r->residual_ran && !r->residual_hits ? "true" : "false", r->needles,
                      r->residual_hits);
    for (i = 0; !e && i < n; i++) {
        if (i)
            e = dv_buf_addc(b, ',');
        if (!e)
            e = json_str(b, r->where[i]);
    }
    if (!e)
        e = dv_buf_adds(b, "]}");
    return e;
}

dv_err deid_report_json(const deid_file_report *rep, const char *label, const char *out_name,
                        const char *err_msg, dv_buf *out)
{
    dv_err e = dv_buf_adds(out, "{\"input\":");

    if (!e)
        e = label ? json_str(out, label) : dv_buf_adds(out, "null");
    if (!e)
        e = dv_buf_printf(out, ",\"status\":\"%s\",\"error\":", err_msg ? "failed" : "ok");
    if (!e)
        e = err_msg ? json_str(out, err_msg) : dv_buf_adds(out, "null");
    if (!e)
        e = dv_buf_adds(out, ",\"output\":");
    if (!e)
        e = out_name && !err_msg ? json_str(out, out_name) : dv_buf_adds(out, "null");
    if (!e)
        e = dv_buf_adds(out, ",");
    if (!e)
        e = actions(rep, out);
    if (!e)
        e = dv_buf_printf(out, "\"pixels\":{\"ran\":%s,\"frames\":%u,\"boxes\":%u},",
                          rep->pixels_done ? "true" : "false", rep->pixel_frames, rep->pixel_boxes);
    if (!e)
        e = residual(rep, out);
    if (!e)
        e = dv_buf_adds(out, "}");
    return e;
}
