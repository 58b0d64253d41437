/*
 * gbdt_kernel.c - the gbdt scoring kernel alone, in memory: rows per
 * second of pf_gbdt_predict (the logit of every row) with T threads, each
 * predicting a contiguous share of the rows, and of TreeSHAP contributions
 * (pf_gbdt_contributions) on one thread. No parsing, policy or I/O: the
 * counterpart of XGBoost's in-memory predict in bench/gbdt.sh.
 *
 *   bench_gbdt_kernel MODEL SCHEMA INPUT.csv THREADS [REPEATS] [SHAP_ROWS]
 *
 * Prints: predict_wall=S predict_cpu=S rows=N shap_wall=S shap_cpu=S shap_rows=N
 * (the best of REPEATS passes, default 5; SHAP over the first SHAP_ROWS
 * rows, default 20000).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "profil/gbdt.h"
#include "profil/model.h"
#include "profil/reader.h"

static double clock_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double) ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct share {
    pthread_t th;
    const pf_gbdt *g;
    const double *x;
    double *eta;
    size_t n;
} share;

static void *run(void *arg)
{
    share *s = arg;
    pf_gbdt_predict(s->g, s->x, s->n, s->eta);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL SCHEMA INPUT.csv THREADS [REPEATS] [SHAP_ROWS]\n",
                argv[0]);
        return 2;
    }
    int threads = atoi(argv[4]), repeats = argc > 5 ? atoi(argv[5]) : 5;
    size_t shap_rows = argc > 6 ? (size_t) atol(argv[6]) : 20000;
    pf_error err = {0};
    pf_schema *s;
    pf_model *m;
    pf_reader *r;
    pf_frame *f;
    if (pf_schema_load(&s, argv[2], &err) || pf_model_load(&m, argv[1], s, &err) ||
        pf_reader_open(&r, s, argv[3], NULL, &err) || pf_reader_frame_new(r, 8192, &f, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    if (!m->gbdt || threads < 1 || threads > 64) {
        fprintf(stderr, "a gbdt model and 1 to 64 threads, please\n");
        return 2;
    }
    const pf_gbdt *g = m->gbdt;
    size_t nf = g->nfeat, n = 0, cap = 1 << 20;
    double *x = malloc(cap * nf * sizeof *x);
    int rc;
    while ((rc = pf_reader_read(r, f, &err)) > 0) {
        if (n + f->n > cap)
            x = realloc(x, (cap *= 2) * nf * sizeof *x);
        pf_gbdt_gather(g, f, 0, f->n, x + n * nf);
        n += f->n;
    }
    if (rc < 0 || !x) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double *eta = malloc(n * sizeof *eta), best = 1e300, best_cpu = 1e300;
    share sh[64];
    for (int rep = 0; rep < repeats; rep++) {
        double t0 = clock_of(CLOCK_MONOTONIC), c0 = clock_of(CLOCK_PROCESS_CPUTIME_ID);
        for (int k = 0; k < threads; k++) {
            size_t a = n * (size_t) k / (size_t) threads,
                   b = n * (size_t) (k + 1) / (size_t) threads;
            sh[k] = (share){0, g, x + a * nf, eta + a, b - a};
            pthread_create(&sh[k].th, NULL, run, &sh[k]);
        }
        for (int k = 0; k < threads; k++)
            pthread_join(sh[k].th, NULL);
        double t = clock_of(CLOCK_MONOTONIC) - t0, c = clock_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (t < best)
            best = t;
        if (c < best_cpu)
            best_cpu = c;
    }
    if (shap_rows > n)
        shap_rows = n;
    double *phi = malloc(nf * sizeof *phi);
    double *ws = malloc(pf_gbdt_shap_workspace(g) * sizeof *ws), sink = 0;
    double t0 = clock_of(CLOCK_MONOTONIC), c0 = clock_of(CLOCK_PROCESS_CPUTIME_ID);
    for (size_t i = 0; i < shap_rows; i++)
        sink += pf_gbdt_contributions(g, x + i * nf, phi, ws) + phi[0];
    double shap = clock_of(CLOCK_MONOTONIC) - t0;
    double shap_cpu = clock_of(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("predict_wall=%.4f predict_cpu=%.4f rows=%zu shap_wall=%.4f shap_cpu=%.4f "
           "shap_rows=%zu checksum=%.6g\n",
           best, best_cpu, n, shap, shap_cpu, shap_rows, sink);
    free(phi);
    free(ws);
    free(x);
    free(eta);
    pf_frame_free(f);
    pf_reader_close(r);
    pf_model_free(m);
    pf_schema_free(s);
    return 0;
}
