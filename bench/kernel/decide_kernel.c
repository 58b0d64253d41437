/*
 * decide_kernel.c - the scoring kernel alone, in memory: how many rows per
 * second pf_decide (encode, linear predictor, contributions, reasons,
 * policy) and the CSV row formatter sustain on one core, with no parsing
 * and no I/O. Used by bench/score.sh beside the end-to-end figures.
 *
 *   bench_decide_kernel MODEL POLICY SCHEMA INPUT.csv [REPEATS]
 *
 * Reads INPUT into frames once, then decides every frame REPEATS times
 * (default 5) and reports the best pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "profil/decide.h"
#include "profil/model.h"
#include "profil/policy.h"
#include "profil/reader.h"
#include "rowfmt.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL POLICY SCHEMA INPUT.csv [REPEATS]\n", argv[0]);
        return 2;
    }
    int repeats = argc > 5 ? atoi(argv[5]) : 5;
    pf_error err = {0};
    pf_schema *s;
    pf_model *m;
    pf_policy *p;
    pf_decider *d;
    pf_reader *r;
    if (pf_schema_load(&s, argv[3], &err) || pf_model_load(&m, argv[1], s, &err) ||
        pf_policy_load(&p, argv[2], s, &err) || pf_decider_new(&d, m, p, NULL, &err) ||
        pf_reader_open(&r, s, argv[4], NULL, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    size_t nframes = 0, cap = 64, rows = 0;
    pf_frame **frames = malloc(cap * sizeof *frames);
    for (;;) {
        if (nframes == cap)
            frames = realloc(frames, (cap *= 2) * sizeof *frames);
        if (pf_reader_frame_new(r, 4096, &frames[nframes], &err))
            return 1;
        int rc = pf_reader_read(r, frames[nframes], &err);
        if (rc < 0) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        if (rc == 0) {
            pf_frame_free(frames[nframes]);
            break;
        }
        rows += frames[nframes++]->n;
    }
    pf_decision *dec = malloc(4096 * sizeof *dec);
    pf_rowfmt rf;
    pf_buf b = {0};
    if (pf_rowfmt_init(&rf, PF_ROWFMT_CSV, d, 3, NULL, 0, NULL, 0, &err))
        return 1;
    double best_decide = 1e30, best_format = 1e30;
    size_t bytes = 0;
    volatile double sink = 0;
    for (int rep = 0; rep < repeats; rep++) {
        double t0 = now(), tf = 0;
        bytes = 0;
        for (size_t k = 0; k < nframes; k++) {
            pf_decide(d, frames[k], 0, frames[k]->n, dec, &err);
            sink += dec[0].p;
            double t1 = now();
            b.n = 0;
            for (size_t i = 0; i < frames[k]->n; i++)
                pf_rowfmt_row(&rf, &b, frames[k], i, &dec[i]);
            bytes += b.n;
            tf += now() - t1;
        }
        double total = now() - t0;
        if (total - tf < best_decide)
            best_decide = total - tf;
        if (tf < best_format)
            best_format = tf;
    }
    printf("rows %zu\n", rows);
    printf("decide_rows_per_s %.0f\n", (double) rows / best_decide);
    printf("format_rows_per_s %.0f\n", (double) rows / best_format);
    printf("kernel_rows_per_s %.0f\n", (double) rows / (best_decide + best_format));
    printf("output_mb_per_s %.0f\n", (double) bytes / 1e6 / (best_decide + best_format));
    (void) sink;
    return 0;
}
