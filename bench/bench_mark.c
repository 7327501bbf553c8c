/* SPDX-License-Identifier: Apache-2.0 */
/* bench_mark.c - driver for bench/bench_mark.sh: embedding time of the forensic watermark in a
 * 3000 x 2500 16-bit (12 stored) synthetic radiograph frame, one core, median of REPS runs;
 * blind detection time on its 8-bit render; PSNR and largest display change.  Writes the
 * marked render to OUT.png for the attack table.
 * Usage: bench_mark OUT.png KEYHEX EVENT REPS [ORIGINAL.png]  (the unmarked render, for the
 * informed rows of the table)
 * Prints "key value" lines. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "demo/synth.h"
#include "dicom/pixel.h"
#include "mark/mark.h"
#include "render/render.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this thread: what one core spends, whatever the machine's load. */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int hexkey(const char *s, crypto_key *k)
{
    size_t i;
    unsigned v;
    if (strlen(s) != 64)
        return -1;
    for (i = 0; i < 32; i++) {
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        k->k[i] = (uint8_t)v;
    }
    return 0;
}

int main(int argc, char **argv)
{
    synth_study st;
    synth_xr_opts o;
    synth_xr xr;
    dcm_frame fr;
    dcm_frame work;
    render_image im = {0};
    mark_window w;
    mark_stats ms;
    mark_result r;
    crypto_key k;
    dv_errinfo ei;
    dv_buf png;
    double t[32];
    double c[32];
    uint64_t ev;
    int reps;
    int i;

    if ((argc != 5 && argc != 6) || hexkey(argv[2], &k) || crypto_init())
        return 2;
    ev = strtoull(argv[3], NULL, 10);
    reps = atoi(argv[4]);
    reps = reps < 1 ? 1 : reps > 32 ? 32 : reps;
    synth_study_init(&st, 11);
    synth_xr_opts_init(&o);
    o.rows = 2500;
    o.cols = 3000;
    o.ntexts = 0;
    if (synth_xr_make(&st, &o, &xr, &ei) || dcm_frame_decode(xr.file, 0, &fr, &ei)) {
        fprintf(stderr, "bench_mark: %s\n", ei.msg);
        return 1;
    }
    work = fr;
    work.data = malloc(fr.len);
    if (!work.data)
        return 1;
    mark_window_of(&xr.file->ds, &fr, &w);
    for (i = 0; i < reps; i++) {
        double t0;
        double c0;
        memcpy(work.data, fr.data, fr.len);
        t0 = now();
        c0 = cpu();
        if (mark_embed_frame(&k, ev, &work, &w, NULL, &ei)) /* as the vault embeds */
            return 1;
        t[i] = now() - t0;
        c[i] = cpu() - c0;
    }
    memcpy(work.data, fr.data, fr.len); /* once more with the statistics, not timed */
    if (mark_embed_frame(&k, ev, &work, &w, &ms, &ei))
        return 1;
    qsort(t, (size_t)reps, sizeof(double), cmp);
    qsort(c, (size_t)reps, sizeof(double), cmp);
    printf("embed_cpu_ms %.1f\n", 1e3 * c[(reps - 1) / 2]);
    printf("embed_ms %.1f\npsnr_db %.2f\nmax_change %u\nmax_display %u\n", 1e3 * t[(reps - 1) / 2],
           ms.psnr_db, ms.max_change, ms.max_display);
    if (render_decoded(&xr.file->ds, 0, &work, NULL, &im, &ei))
        return 1;
    for (i = 0; i < reps; i++) {
        double t0 = now();
        double c0 = cpu();
        if (mark_detect_image(&k, &im, &r, &ei))
            return 1;
        t[i] = now() - t0;
        c[i] = cpu() - c0;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    qsort(c, (size_t)reps, sizeof(double), cmp);
    printf("detect_cpu_s %.3f\n", c[(reps - 1) / 2]);
    printf("detect_s %.3f\ndetect_found %d\n", t[(reps - 1) / 2], r.found && r.payload == ev);
    dv_buf_init(&png, (size_t)1 << 30);
    if (render_png(&im, &png, &ei) || dcm_write_file_atomic(argv[1], png.p, png.len, &ei))
        return 1;
    render_image_release(&im);
    if (argc == 6) { /* the unmarked render */
        png.len = 0;
        if (render_decoded(&xr.file->ds, 0, &fr, NULL, &im, &ei) || render_png(&im, &png, &ei) ||
            dcm_write_file_atomic(argv[5], png.p, png.len, &ei))
            return 1;
        render_image_release(&im);
    }
    dv_buf_release(&png);
    free(work.data);
    dcm_frame_release(&fr);
    synth_xr_release(&xr);
    return 0;
}
