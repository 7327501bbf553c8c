/* SPDX-License-Identifier: Apache-2.0 */
/* synth_rng.c - splitmix64 numbers, seed-derived 2.25 UIDs and the fictional patient/study.
 *
 * Invariant: nothing here reads a clock or global state; every output is a function of the
 * seed (and the label/index arguments).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "demo/synth_int.h"

#include "common/banned.h"

#define GOLDEN 0x9E3779B97F4A7C15ull

static uint64_t fmix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t synth_mix(uint64_t a, uint64_t b)
{
    return fmix(a + GOLDEN * (fmix(b) | 1));
}

uint64_t synth_hash_str(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;

    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001B3ull;
    return h;
}

void synth_rng_init(synth_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = synth_mix(seed, stream);
}

uint64_t synth_rng_next(synth_rng *r)
{
    r->state += GOLDEN;
    return fmix(r->state);
}

uint32_t synth_rng_below(synth_rng *r, uint32_t n)
{
    /* multiply-shift: bias below 2^-32, irrelevant for test data */
    return (uint32_t)(((synth_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double synth_rng_unit(synth_rng *r)
{
    return (double)(synth_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double synth_rng_normal(synth_rng *r)
{
    double u = synth_rng_unit(r), v = synth_rng_unit(r);

    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

/* Writes the decimal digits of the 128-bit number in limbs[0..3] (most significant first). */
static size_t u128_decimal(uint32_t limbs[4], char *out, size_t cap)
{
    char tmp[48];
    size_t n = 0, i;
    int nonzero = 1;

    while (nonzero && n < sizeof(tmp)) {
        uint64_t rem = 0;

        nonzero = 0;
        for (i = 0; i < 4; i++) {
            uint64_t cur = (rem << 32) | limbs[i];

            limbs[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
            nonzero |= limbs[i] != 0;
        }
        tmp[n++] = (char)('0' + rem);
    }
    for (i = 0; i < n && i + 1 < cap; i++)
        out[i] = tmp[n - 1 - i];
    out[i] = '\0';
    return i;
}

void synth_uid(uint64_t seed, const char *purpose, uint32_t index, char out[65])
{
    uint64_t base = synth_mix(synth_mix(seed, synth_hash_str(purpose)), index);
    uint64_t hi = fmix(base ^ 0x5555555555555555ull), lo = fmix(base + GOLDEN);
    uint32_t limbs[4];
    char digits[48];

    /* a UUID-sized number (PS3.5 B.2) whose top bit is set, so it has 38-39 digits */
    hi |= 1ull << 63;
    limbs[0] = (uint32_t)(hi >> 32);
    limbs[1] = (uint32_t)hi;
    limbs[2] = (uint32_t)(lo >> 32);
    limbs[3] = (uint32_t)lo;
    (void)u128_decimal(limbs, digits, sizeof(digits));
    (void)snprintf(out, 65, "2.25.%s", digits);
}

/* ---- the fictional patients ------------------------------------------------------------- */

typedef struct person {
    const char *family, *given, *family_cjk, *given_cjk;
    char sex;
} person;

/* The Chinese placeholder names (张三 李四 王五 赵六 ...) and textbook example names. */
static const person people[] = {
    {"WANG", "XIAOMING", "王", "小明", 'M'}, {"ZHANG", "SAN", "张", "三", 'M'},
    {"LI", "SI", "李", "四", 'M'},           {"WANG", "WU", "王", "五", 'M'},
    {"ZHAO", "LIU", "赵", "六", 'M'},        {"LI", "XIAOHONG", "李", "小红", 'F'},
    {"CHEN", "XIAOHUA", "陈", "小华", 'F'},  {"LIU", "XIAOLI", "刘", "小丽", 'F'},
};

#define NPEOPLE (sizeof(people) / sizeof(people[0]))

/* YYYYMMDD with year in [y0, y0+span) (days 1..28 keep every month valid). */
static void make_date(synth_rng *r, unsigned y0, unsigned span, char out[9])
{
    unsigned y = y0 + synth_rng_below(r, span), m = 1 + synth_rng_below(r, 12);
    unsigned d = 1 + synth_rng_below(r, 28);

    (void)snprintf(out, 9, "%04u%02u%02u", y % 10000u, m, d);
}

void synth_study_init(synth_study *st, uint64_t seed)
{
    synth_rng r;
    const person *p, *ref;
    uint32_t pick;

    memset(st, 0, sizeof(*st));
    st->seed = seed;
    synth_rng_init(&r, seed, synth_hash_str("study"));
    pick = synth_rng_below(&r, NPEOPLE);
    p = &people[pick];
    ref = &people[(pick + 1 + synth_rng_below(&r, NPEOPLE - 1)) % NPEOPLE];
    st->family = p->family;
    st->given = p->given;
    st->family_cjk = p->family_cjk;
    st->given_cjk = p->given_cjk;
    (void)snprintf(st->patient_name, sizeof(st->patient_name), "%s^%s=%s^%s", p->family, p->given,
                   p->family_cjk, p->given_cjk);
    (void)snprintf(st->referring, sizeof(st->referring), "%s^%s=%s^%s", ref->family, ref->given,
                   ref->family_cjk, ref->given_cjk);
    (void)snprintf(st->patient_id, sizeof(st->patient_id), "SYN%07u",
                   synth_rng_below(&r, 10000000));
    make_date(&r, 1940, 60, st->birth_date);
    st->sex[0] = p->sex;
    make_date(&r, 2019, 6, st->study_date);
    (void)snprintf(st->study_time, sizeof(st->study_time), "%02u%02u%02u",
                   8 + synth_rng_below(&r, 10), synth_rng_below(&r, 60), synth_rng_below(&r, 60));
    (void)snprintf(st->accession, sizeof(st->accession), "SYNA%08u",
                   synth_rng_below(&r, 100000000));
    (void)snprintf(st->study_id, sizeof(st->study_id), "%u", 1 + synth_rng_below(&r, 9999));
    synth_uid(seed, "study", 0, st->study_uid);
}
