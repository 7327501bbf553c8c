/* SPDX-License-Identifier: Apache-2.0 */
/* test_audit.c - audit events, entry encoding, Merkle proofs, signed notes, proof text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit/audit.h"
#include "audit/audit_int.h"

static audit_event sample(audit_object *objs)
{
    audit_event ev;

    memset(&ev, 0, sizeof(ev));
    memset(objs, 0xAB, 2 * sizeof(*objs));
    objs[0].type = AUDIT_OBJ_PATIENT;
    objs[1].type = AUDIT_OBJ_STUDY;
    ev.action = AUDIT_ACT_VIEW;
    ev.outcome = AUDIT_OUT_SUCCESS;
    ev.actor = "alice";
    ev.role = "radiologist";
    ev.purpose = "TREAT";
    ev.client = "10.0.0.1";
    ev.session = "s-1";
    ev.objects = objs;
    ev.nobjects = 2;
    ev.detail = "reason: trauma";
    return ev;
}

static void test_roundtrip_canonical(void **state)
{
    audit_object objs[2];
    audit_event ev = sample(objs), ev2;
    audit_record r;
    dv_buf a, b;

    (void)state;
    dv_buf_init(&a, 8192);
    dv_buf_init(&b, 8192);
    assert_int_equal(audit_entry_encode(&ev, 42, 1700000000123LL, &a, NULL), DV_OK);
    /* nothing but the fixed fields: the length is exactly their sum */
    assert_int_equal(a.len,
                     20 + (1 + 5) + (1 + 11) + (1 + 5) + (1 + 8) + (1 + 3) + 2 * 33 + 2 + 14);
    assert_int_equal(audit_entry_decode(a.p, a.len, &r, NULL), DV_OK);
    assert_int_equal(r.seq, 42);
    assert_int_equal(r.time_ms, 1700000000123LL);
    assert_string_equal(r.actor, "alice");
    assert_string_equal(r.detail, "reason: trauma");
    assert_int_equal(r.nobjects, 2);
    assert_int_equal(r.objects[1].type, AUDIT_OBJ_STUDY);
    audit_record_event(&r, &ev2);
    assert_int_equal(audit_entry_encode(&ev2, r.seq, r.time_ms, &b, NULL), DV_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    dv_buf_release(&a);
    dv_buf_release(&b);
}

/* The event API has no place for free text but detail: the struct is exactly these fields. */
_Static_assert(sizeof(audit_event) == offsetof(audit_event, detail) + sizeof(const char *),
               "audit_event gained a field: check that it cannot carry PHI, then update this");
_Static_assert(offsetof(audit_event, objects) > offsetof(audit_event, session),
               "audit_event field order");

static void test_fields_refuse_text(void **state)
{
    audit_object objs[2];
    audit_event ev;
    char longs[200];
    dv_errinfo ei;

    (void)state;
    memset(longs, 'a', sizeof(longs) - 1);
    longs[sizeof(longs) - 1] = 0;
    ev = sample(objs);
    ev.actor = "\xE5\xBC\xA0\xE4\xB8\x89"; /* a Chinese name in UTF-8 */
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    assert_non_null(strstr(ei.msg, "actor"));
    ev = sample(objs);
    ev.actor = longs;
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.role = "Zhang San";
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    assert_non_null(strstr(ei.msg, "role"));
    ev = sample(objs);
    ev.purpose = "TREAT^DOE";
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.client = "host name";
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.session = "a b";
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.actor = "";
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.detail = "line\nbreak";
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    assert_int_equal(ei.offset, 4);
    ev.detail = "bad \xC3\x28 utf8";
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.outcome = (audit_outcome)3;
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.action = AUDIT_ACT_COUNT;
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    ev.nobjects = AUDIT_MAX_OBJECTS + 1;
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
    ev = sample(objs);
    objs[1].type = (audit_obj_type)9;
    assert_int_equal(audit_event_check(&ev, &ei), DV_EINVAL);
}

static void test_decode_broken(void **state)
{
    audit_object objs[2];
    audit_event ev = sample(objs);
    audit_record r;
    dv_errinfo ei;
    uint8_t bad[4200];
    dv_buf a;

    (void)state;
    dv_buf_init(&a, 8192);
    assert_int_equal(audit_entry_encode(&ev, 1, 1000, &a, NULL), DV_OK);
    assert_int_equal(audit_entry_decode(a.p, 19, &r, &ei), DV_ETRUNC);
    assert_int_equal(ei.offset, 19);
    memcpy(bad, a.p, a.len);
    bad[0] = 2;
    assert_int_equal(audit_entry_decode(bad, a.len, &r, &ei), DV_EMALFORMED);
    assert_string_equal(ei.msg, "entry: unknown version 2");
    memcpy(bad, a.p, a.len);
    bad[18] = 5;
    assert_int_equal(audit_entry_decode(bad, a.len, &r, &ei), DV_EMALFORMED);
    assert_int_equal(ei.offset, 18);
    memcpy(bad, a.p, a.len);
    bad[19] = 200;
    assert_int_equal(audit_entry_decode(bad, a.len, &r, &ei), DV_ELIMIT);
    memcpy(bad, a.p, a.len);
    bad[20] = 250; /* actor length past the end */
    assert_int_equal(audit_entry_decode(bad, a.len, &r, &ei), DV_ETRUNC);
    assert_int_equal(ei.offset, 21);
    memcpy(bad, a.p, a.len);
    bad[a.len] = 'x'; /* a trailing byte */
    assert_int_equal(audit_entry_decode(bad, a.len + 1, &r, &ei), DV_EMALFORMED);
    assert_string_equal(ei.msg, "entry: 1 bytes after the detail");
    memcpy(bad, a.p, a.len);
    bad[a.len - 16] = 0x7F; /* detail length high byte: > limit */
    assert_int_equal(audit_entry_decode(bad, a.len, &r, &ei), DV_ELIMIT);
    memset(bad, 0, sizeof(bad));
    assert_int_equal(audit_entry_decode(bad, sizeof(bad), &r, &ei), DV_ELIMIT);
    dv_buf_release(&a);
}

static void test_action_codes(void **state)
{
    int a;
    const audit_action_info *ai;

    (void)state;
    for (a = 1; a < AUDIT_ACT_COUNT; a++) {
        ai = audit_action_get((audit_action)a);
        assert_non_null(ai);
        assert_int_equal(audit_action_from_name(ai->name), a);
        assert_true(strcmp(ai->event_id, "110100") >= 0 && strcmp(ai->event_id, "110114") <= 0);
        assert_non_null(strchr("CRUDE", ai->action_code));
    }
    assert_null(audit_action_get(AUDIT_ACT_NONE));
    assert_string_equal(audit_action_get(AUDIT_ACT_LOGIN)->type_code, "110122");
    assert_string_equal(audit_action_get(AUDIT_ACT_LOGOUT)->type_code, "110123");
    assert_string_equal(audit_action_get(AUDIT_ACT_BREAKGLASS_START)->type_code, "110127");
    assert_string_equal(audit_action_get(AUDIT_ACT_BREAKGLASS_STOP)->type_code, "110138");
    assert_string_equal(audit_action_get(AUDIT_ACT_SHRED)->event_id, "110105");
    assert_string_equal(audit_action_get(AUDIT_ACT_AUDIT_READ)->event_id, "110101");
    assert_string_equal(audit_action_get(AUDIT_ACT_IMPORT)->event_id, "110107");
}

/* ---- Merkle: against a naive RFC 6962 implementation ---------------------------------------- */

#define NLEAVES 300
static uint8_t leaves[NLEAVES][32];

static void naive_mth(uint64_t start, uint64_t n, uint8_t out[32])
{
    uint8_t l[32], r[32];
    uint64_t k = 1;

    if (n == 0) {
        crypto_hash_sha256(out, (const uint8_t *)"", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[start], 32);
        return;
    }
    while (k * 2 < n)
        k *= 2;
    naive_mth(start, k, l);
    naive_mth(start + k, n - k, r);
    audit_node_hash(l, r, out);
}

static dv_err naive_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32], dv_errinfo *ei)
{
    (void)ctx;
    (void)ei;
    naive_mth(index << level, (uint64_t)1 << level, out);
    return DV_OK;
}

static void test_merkle(void **state)
{
    audit_tree *t = malloc(sizeof(*t));
    uint8_t root[32], want[32], roots[NLEAVES + 1][32], proof[AUDIT_PROOF_MAX][32];
    uint64_t n, i, m;
    size_t np;
    uint8_t e[8];

    (void)state;
    audit_tree_init(t);
    audit_tree_root(t, roots[0]);
    for (i = 0; i < NLEAVES; i++) {
        memcpy(e, &i, sizeof(e));
        audit_leaf_hash(e, sizeof(e), leaves[i]);
        audit_tree_push(t, leaves[i], NULL, NULL);
        audit_tree_root(t, roots[i + 1]);
    }
    for (n = 0; n <= NLEAVES; n++) {
        naive_mth(0, n, want);
        assert_memory_equal(roots[n], want, 32);
        assert_int_equal(audit_merkle_root(naive_node, NULL, n, root, NULL), DV_OK);
        assert_memory_equal(root, want, 32);
    }
    for (n = 1; n <= 70; n++)
        for (i = 0; i < n; i++) {
            assert_int_equal(audit_merkle_inclusion(naive_node, NULL, i, n, proof, &np, NULL),
                             DV_OK);
            assert_true(
                audit_verify_inclusion(i, n, leaves[i], (const uint8_t(*)[32])proof, np, roots[n]));
            assert_false(audit_verify_inclusion(i, n, leaves[(i + 1) % NLEAVES],
                                                (const uint8_t(*)[32])proof, np, roots[n]));
            assert_false(audit_verify_inclusion(i, n, leaves[i], (const uint8_t(*)[32])proof, np,
                                                roots[n - 1]));
        }
    for (n = 1; n <= 45; n++)
        for (m = 1; m <= n; m++) {
            assert_int_equal(audit_merkle_consistency(naive_node, NULL, m, n, proof, &np, NULL),
                             DV_OK);
            assert_true(audit_verify_consistency(m, n, roots[m], roots[n],
                                                 (const uint8_t(*)[32])proof, np));
            if (m < n) {
                assert_false(audit_verify_consistency(m, n, roots[m], roots[n - 1],
                                                      (const uint8_t(*)[32])proof, np));
                if (np) {
                    proof[0][0] ^= 1;
                    assert_false(audit_verify_consistency(m, n, roots[m], roots[n],
                                                          (const uint8_t(*)[32])proof, np));
                }
            }
        }
    free(t);
}

/* ---- notes and keys ----------------------------------------------------------------------------
 */

static void make_vk(const uint8_t seed[32], const char *name, audit_vkey *vk)
{
    uint8_t pk[32], sk[64];

    crypto_sign_seed_keypair(pk, sk, seed);
    assert_int_equal(audit_vkey_make(name, pk, vk, NULL), DV_OK);
}

static void test_notes(void **state)
{
    uint8_t seed[32], seed2[32];
    audit_checkpoint cp, got;
    audit_vkey vk, vk2, parsed;
    char line[300];
    dv_errinfo ei;
    dv_buf n;

    (void)state;
    memset(seed, 1, 32);
    memset(seed2, 2, 32);
    memset(&cp, 0, sizeof(cp));
    memcpy(cp.origin, "example.org/audit", 18);
    cp.size = 123456;
    memset(cp.root, 7, 32);
    make_vk(seed, "example.org/audit", &vk);
    make_vk(seed2, "example.org/audit", &vk2);
    assert_int_equal(audit_vkey_format(&vk, line, sizeof(line)), DV_OK);
    assert_int_equal(audit_vkey_parse(line, strlen(line), &parsed, NULL), DV_OK);
    assert_memory_equal(parsed.pk, vk.pk, 32);
    line[strlen("example.org/audit+") + 1] ^= 1; /* key hash digit */
    assert_int_not_equal(audit_vkey_parse(line, strlen(line), &parsed, &ei), DV_OK);

    dv_buf_init(&n, AUDIT_NOTE_MAX);
    assert_int_equal(audit_note_sign(&cp, "example.org/audit", seed, &n, NULL), DV_OK);
    assert_int_equal(audit_note_open(n.p, n.len, &vk, &got, NULL), DV_OK);
    assert_int_equal(got.size, 123456);
    assert_memory_equal(got.root, cp.root, 32);
    assert_int_equal(audit_note_open(n.p, n.len, &vk2, &got, &ei), DV_ECRYPTO);
    assert_string_equal(ei.msg, "note: no signature by key example.org/audit");
    n.p[strlen("example.org/audit\n")] = '2'; /* size 223456: the signature breaks */
    assert_int_equal(audit_note_open(n.p, n.len, &vk, &got, &ei), DV_ECRYPTO);
    assert_string_equal(ei.msg, "note: the signature by key example.org/audit does not verify");
    dv_buf_release(&n);

    assert_int_equal(audit_checkpoint_parse((const uint8_t *)"o\n012\nAA==\n", 11, &got, &ei),
                     DV_EMALFORMED);
    assert_string_equal(ei.msg, "checkpoint: bad tree size line");
    assert_int_equal(audit_checkpoint_parse((const uint8_t *)"o\n12\nAA==\n", 10, &got, &ei),
                     DV_EMALFORMED);
    assert_string_equal(ei.msg, "checkpoint: bad root hash line");
    assert_int_equal(audit_checkpoint_parse((const uint8_t *)"o p\n1\n", 6, &got, &ei),
                     DV_EMALFORMED);
    assert_string_equal(ei.msg, "checkpoint: bad origin line");
    assert_int_equal(audit_note_open((const uint8_t *)"a\nb\n", 4, NULL, &got, &ei), DV_EMALFORMED);
    assert_string_equal(ei.msg, "note: expected text, a blank line and signature lines");
}

static void test_proof_text(void **state)
{
    audit_proof *pf = calloc(1, sizeof(*pf)), *q = calloc(1, sizeof(*q));
    dv_errinfo ei;
    dv_buf b;
    static const char *bad[] = {
        "dcmvault-inclusion-proof\nindex 1\nsize 2\n",
        "dcmvault-inclusion-proof\nindex 1\nsize 2\nleaf AAAA\n",
        "dcmvault-consistency-proof\nold 1\nsize 2\nhash AA==\n",
        "dcmvault-consistency-proof\nold 1\nsize 2\nmore x\n",
        "dcmvault-consistency-proof\nold 1\nsize 2",
        "nonsense\n",
    };
    size_t i;

    (void)state;
    pf->kind = 'I';
    pf->index = 3;
    pf->size = 9;
    pf->nproof = 2;
    memset(pf->proof, 9, sizeof(pf->proof));
    pf->has_entry = 1;
    pf->entry_len = 3;
    memcpy(pf->entry, "abc", 3);
    dv_buf_init(&b, 1 << 20);
    assert_int_equal(audit_proof_format(pf, &b), DV_OK);
    assert_int_equal(audit_proof_parse(b.p, b.len, q, NULL), DV_OK);
    assert_int_equal(q->index, 3);
    assert_int_equal(q->nproof, 2);
    assert_int_equal(q->entry_len, 3);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(audit_proof_parse((const uint8_t *)bad[i], strlen(bad[i]), q, &ei),
                         DV_EMALFORMED);
    assert_string_equal(ei.msg, "proof: unknown first line");
    dv_buf_reset(&b);
    assert_int_equal(dv_buf_adds(&b, "dcmvault-consistency-proof\nold 1\nsize 2\n"), DV_OK);
    for (i = 0; i <= AUDIT_PROOF_MAX; i++)
        assert_int_equal(dv_buf_adds(&b, "hash AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"),
                         DV_OK);
    assert_int_equal(audit_proof_parse(b.p, b.len, q, &ei), DV_ELIMIT);
    dv_buf_release(&b);
    free(pf);
    free(q);
}

static void test_time(void **state)
{
    int64_t ms;
    char t[AUDIT_TIME_LEN];

    (void)state;
    assert_int_equal(audit_time_parse("2024-05-01T10:00:00.123Z", &ms, NULL), DV_OK);
    audit_time_format(ms, t);
    assert_string_equal(t, "2024-05-01T10:00:00.123Z");
    assert_int_equal(audit_time_parse("2024-05-01T12:00:00+02:00", &ms, NULL), DV_OK);
    audit_time_format(ms, t);
    assert_string_equal(t, "2024-05-01T10:00:00.000Z");
    assert_int_equal(audit_time_parse("2024-05-01", &ms, NULL), DV_OK);
    assert_int_equal(ms, 1714521600000LL);
    assert_int_equal(audit_time_parse("2024-13-01", &ms, NULL), DV_EINVAL);
    assert_int_equal(audit_time_parse("2024-05-01T10:00:00", &ms, NULL), DV_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_canonical),
        cmocka_unit_test(test_fields_refuse_text),
        cmocka_unit_test(test_decode_broken),
        cmocka_unit_test(test_action_codes),
        cmocka_unit_test(test_merkle),
        cmocka_unit_test(test_notes),
        cmocka_unit_test(test_proof_text),
        cmocka_unit_test(test_time),
    };
    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
