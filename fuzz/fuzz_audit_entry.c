/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_audit_entry.c - libFuzzer target: audit entries and entry bundles from arbitrary bytes.
 *
 * The input is a bundle (records "uint16 BE length | entry").  Every record the splitter
 * returns must lie inside the input; every entry that decodes must encode back to exactly the
 * same bytes (the encoding is canonical) and must pass audit_event_check; the text, JSON,
 * DICOM XML, FHIR and syslog renderings of it must succeed.  The whole input is also decoded
 * as one entry. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

#include "common/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *p, size_t n, audit_record *r)
{
    audit_syslog_cfg cfg;
    audit_event ev;
    dv_buf b;

    if (audit_entry_decode(p, n, r, NULL))
        return;
    audit_record_event(r, &ev);
    if (audit_event_check(&ev, NULL))
        abort();
    dv_buf_init(&b, 1 << 20);
    if (audit_entry_encode(&ev, r->seq, r->time_ms, &b, NULL) || b.len != n ||
        memcmp(b.p, p, n) != 0)
        abort();
    memset(&cfg, 0, sizeof(cfg));
    cfg.hostname = "fuzz";
    dv_buf_reset(&b);
    if (audit_format_text(r, NULL, NULL, &b) || audit_format_json(r, NULL, NULL, &b) ||
        audit_format_dicom_xml(r, NULL, &b) || audit_format_fhir(r, NULL, &b) ||
        audit_syslog_frame(r, &cfg, "o", &b, NULL))
        abort();
    dv_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off[AUDIT_TILE_WIDTH], len[AUDIT_TILE_WIDTH], count, used, i;
    audit_record *r = malloc(sizeof(*r));

    if (!r)
        return 0;
    audit_bundle_split(data, size, off, len, &count, &used);
    if (used > size || count > AUDIT_TILE_WIDTH)
        abort();
    for (i = 0; i < count; i++) {
        if (off[i] + len[i] > used || len[i] == 0)
            abort();
        one(data + off[i], len[i], r);
    }
    one(data, size, r);
    free(r);
    return 0;
}
