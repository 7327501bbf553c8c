/* SPDX-License-Identifier: Apache-2.0 */
/* code.c - payload coding: CRC-24, rate-1/4 tail-biting convolutional code (K = 7), and a
 * soft-decision wrap-around Viterbi decoder.
 *
 * Bit order: info bit 0 is payload bit 63 (MSB first), bits 64..87 the masked CRC, MSB first.
 * Encoder: register r = (input << 6) | state, state = the 6 previous inputs (bit 5 the most
 * recent); output g = parity(r & G[g]); next state r >> 1.  Tail-biting: the state starts as
 * the last 6 info bits, so the trellis starts and ends in the same state.
 * Decoder: Viterbi from all states with equal metrics over the info sequence extended
 * circularly by WRAP steps on each side; the decisions of the middle L steps are kept.
 */
#include <math.h>
#include <string.h>

#include "mark/mark.h"

#include "common/banned.h"

#define NSTATES 64
#define WRAP    48 /* about 7 constraint lengths */
#define STEPS   (MARK_INFO_BITS + 2 * WRAP)

static const uint8_t GEN[4] = {0117, 0127, 0155, 0171};

uint32_t mark_crc24(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xB704CEu;
    size_t i;
    int b;

    for (i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 16;
        for (b = 0; b < 8; b++) {
            crc <<= 1;
            if (crc & 0x1000000u)
                crc ^= 0x864CFBu;
        }
    }
    return crc & 0xFFFFFFu;
}

static uint32_t payload_crc(uint64_t payload, uint32_t crc_mask)
{
    uint8_t be[8];
    int i;

    for (i = 0; i < 8; i++)
        be[i] = (uint8_t)(payload >> (56 - 8 * i));
    return (mark_crc24(be, 8) ^ crc_mask) & 0xFFFFFFu;
}

static void info_bits(uint64_t payload, uint32_t crc_mask, uint8_t info[MARK_INFO_BITS])
{
    uint32_t crc = payload_crc(payload, crc_mask);
    int i;

    for (i = 0; i < 64; i++)
        info[i] = (uint8_t)((payload >> (63 - i)) & 1u);
    for (i = 0; i < 24; i++)
        info[64 + i] = (uint8_t)((crc >> (23 - i)) & 1u);
}

static unsigned out_bits(unsigned r)
{
    unsigned o = 0;
    int g;

    for (g = 0; g < 4; g++)
        o |= (unsigned)__builtin_parity(r & GEN[g]) << g;
    return o;
}

static void conv_encode(const uint8_t info[MARK_INFO_BITS], uint8_t coded[MARK_CODED_BITS])
{
    unsigned state = 0;
    unsigned r;
    int i;
    int g;

    for (i = 0; i < 6; i++)
        state |= (unsigned)info[MARK_INFO_BITS - 1 - i] << (5 - i);
    for (i = 0; i < MARK_INFO_BITS; i++) {
        r = ((unsigned)info[i] << 6) | state;
        for (g = 0; g < 4; g++)
            coded[4 * i + g] = (uint8_t)((out_bits(r) >> g) & 1u);
        state = r >> 1;
    }
}

void mark_code_encode(uint64_t payload, uint32_t crc_mask, uint8_t coded[MARK_CODED_BITS])
{
    uint8_t info[MARK_INFO_BITS];

    info_bits(payload, crc_mask, info);
    conv_encode(info, coded);
}

/* Branch metric of register value r at info position i: sum of soft * (+1 | -1). */
static double branch(const float *soft, int i, unsigned r)
{
    unsigned o = out_bits(r);
    double m = 0;
    int g;

    for (g = 0; g < 4; g++) {
        float s = soft[4 * i + g];
        m += (o >> g) & 1u ? s : -s;
    }
    return m;
}

/* One trellis step: metric[] -> next[], decisions (lsb of the predecessor) into dec[]. */
static void viterbi_step(const float *soft, int pos, const double *metric, double *next,
                         uint8_t *dec)
{
    unsigned ns;
    unsigned bit;
    unsigned ps0;
    double m0;
    double m1;

    for (ns = 0; ns < NSTATES; ns++) {
        bit = ns >> 5;
        ps0 = (ns & 31u) << 1;
        m0 = metric[ps0] + branch(soft, pos, (bit << 6) | ps0);
        m1 = metric[ps0 | 1u] + branch(soft, pos, (bit << 6) | ps0 | 1u);
        if (m1 > m0) {
            next[ns] = m1;
            dec[ns] = 1;
        } else {
            next[ns] = m0;
            dec[ns] = 0;
        }
    }
}

static void viterbi(const float *soft, uint8_t info[MARK_INFO_BITS])
{
    static const int L = MARK_INFO_BITS;
    double metric[NSTATES];
    double next[NSTATES];
    uint8_t dec[STEPS][NSTATES];
    unsigned state = 0;
    double best;
    int t;
    unsigned s;

    memset(metric, 0, sizeof(metric));
    for (t = 0; t < STEPS; t++) {
        viterbi_step(soft, ((t - WRAP) % L + L) % L, metric, next, dec[t]);
        best = next[0];
        for (s = 1; s < NSTATES; s++)
            best = next[s] > best ? next[s] : best;
        for (s = 0; s < NSTATES; s++)
            metric[s] = next[s] - best;
    }
    for (s = 1; s < NSTATES; s++)
        if (metric[s] > metric[state])
            state = s;
    for (t = STEPS - 1; t >= 0; t--) {
        if (t >= WRAP && t < WRAP + L)
            info[t - WRAP] = (uint8_t)(state >> 5);
        state = ((state & 31u) << 1) | dec[t][state];
    }
}

int mark_code_decode(const float soft[MARK_CODED_BITS], uint32_t crc_mask, uint64_t *payload,
                     uint32_t *bit_errors)
{
    uint8_t info[MARK_INFO_BITS];
    uint8_t coded[MARK_CODED_BITS];
    uint64_t p = 0;
    uint32_t crc = 0;
    uint32_t errs = 0;
    int i;

    viterbi(soft, info);
    for (i = 0; i < 64; i++)
        p = (p << 1) | info[i];
    for (i = 64; i < MARK_INFO_BITS; i++)
        crc = (crc << 1) | info[i];
    conv_encode(info, coded);
    for (i = 0; i < MARK_CODED_BITS; i++)
        if (soft[i] != 0.0f && (soft[i] > 0) != (coded[i] != 0))
            errs++;
    *payload = p;
    *bit_errors = errs;
    return crc == payload_crc(p, crc_mask);
}
