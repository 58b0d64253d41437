/*
 * irls.c - logistic regression by IRLS (see irls.h).
 *
 * Data flow of one fit:
 *   start pass   per row: glm's starting mu, working weight W and response z;
 *                per chunk: X'WX and X'Wz by one dsyrk on sqrt(W) [x z], plus
 *                the column ranges and label sums the checks need
 *   checks       rows, label classes, constant columns, rank (on the scaled
 *                start X'WX, in column order, so the later of two dependent
 *                columns is the one reported, as R's QR does)
 *   iterations   solve (X'WX + L) b = X'Wz by Cholesky; one pass at b gives the
 *                deviance (stopping rule) and the next X'WX and X'Wz
 *   diagnosis    separation test along the last step; null deviance
 *
 * Passes run over chunks of PF_DESIGN_CHUNK_ROWS rows. A pass is a sequence
 * of rounds: the threads compute the sums of up to nslots chunks into
 * separate slots, then the calling thread adds the slots in chunk order. So
 * every sum is formed in the same order whatever the thread count, and the
 * memory is bounded by nslots slots, not by the rows.
 *
 * The link functions copy R's (src/library/stats/src/family.c): the clamping
 * of the linear predictor at +-30 is what keeps fitted probabilities, and so
 * the deviance, finite under separation.
 */
#include "profil/irls.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profil/prefetch.h"

/* OpenBLAS's threaded build starts a pool of threads when it is loaded,
 * and they spin on sched_yield for about a tenth of a second before they
 * sleep: on two cores that cost `profil score` 5 % of its wall time and a
 * quarter of its system time. profil's loops are threaded by profil, and
 * BLAS is called with one thread (pf_irls_fit), so the pool has no work;
 * stopping it is what OpenBLAS itself does before a fork, and it starts
 * the pool again (blas_thread_init) should a call want threads. Weak:
 * builds without a pool lack the symbol. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void pf_blas_release_threads(void)
{
    if (blas_thread_shutdown_)
        blas_thread_shutdown_();
}

#define CHUNK PF_DESIGN_CHUNK_ROWS

/* R's logit link limits. */
#define THRESH  30.0
#define MTHRESH -30.0
#define INVEPS  (1.0 / DBL_EPSILON)

/* glm.fit's test for fitted probabilities numerically 0 or 1. */
#define ZERO_ONE_EPS (10.0 * DBL_EPSILON)

/* A column whose squared correlation-scaled residual on the columns before it
 * is below this is dependent on them (R^2 > 1 - 1e-10, a variance inflation
 * factor above 1e10). Past that point Cholesky on X'WX loses more digits than
 * a fit can spare. */
#define RANK_TOL 1e-10

/* In a regular fit the last Newton step is tiny; under separation every step
 * moves the diverging coefficients by about one unit of the linear predictor.
 * A last step above this (in such units) triggers the separation test, whose
 * margin is SEP_MARGIN times the largest step. */
#define SEP_STEP   1e-2
#define SEP_MARGIN 1e-3

/* Memory for chunk sums of one round, shared by all threads. */
#define SLOT_BUDGET ((size_t) 64 << 20)

enum pass_kind { PASS_START, PASS_ITER, PASS_SEP, PASS_NULL };

/* Per-chunk scalar sums, after the q x q block of a slot. */
enum {
    S_DEV,     /* deviance */
    S_LL,      /* the mu-dependent part of glm's binomial log-likelihood (for the AIC) */
    S_N01,     /* rows with fitted probability numerically 0 or 1 */
    S_NPOS,    /* rows with positive weight */
    S_SW,      /* sum w */
    S_SWY,     /* sum w y */
    S_SW1Y,    /* sum w (1 - y) */
    S_SAT,     /* sum w (y log y + (1 - y) log(1 - y)): the saturated log-likelihood */
    S_LCHOOSE, /* sum log choose(round(w), round(w y)) */
    S_SEPROWS, /* separation test: rows beyond the margin */
    S_SEPBAD,  /* separation test: of those, rows on the wrong side */
    S_NW,      /* null model: sum W */
    S_NWZ,     /* null model: sum W z */
    NSCALAR
};

typedef struct worker {
    struct fit *f;
    double *xa;  /* CHUNK x (p + 1): sqrt(W) [x z] */
    double *eta; /* CHUNK */
    double *w;   /* CHUNK: weights with excluded rows set to 0 */
    pthread_t thread;
} worker;

typedef struct fit {
    const pf_design *d;
    const unsigned char *exclude; /* rows left out, or NULL */
    size_t n, p, q, nchunks;
    int intercept;

    /* Inputs of the current pass. */
    int kind;
    const double *beta; /* PASS_ITER: coefficients; PASS_SEP: the direction */
    double sep_margin;
    double null_b0;

    /* Slots and the ordered sums. */
    size_t nslots, slot_len;
    double *slots;
    double *acc; /* q x q upper triangle (row-major), then NSCALAR, then min[p], max[p] */

    /* Threads: workers[0] is the calling thread. */
    int nthreads; /* running, the caller included */
    int nworkers; /* allocated */
    worker *workers;
    pthread_barrier_t bar_start, bar_done;
    pthread_mutex_t gate_mu;
    pthread_cond_t gate_cv;
    int gate_open;
    int stop;
    size_t round_begin, round_end;
    atomic_size_t next;
} fit;

/* ------------------------------------------------------------------------ */
/* The binomial family with logit link, as R computes it                    */

static double linkinv(double eta)
{
    double t = eta < MTHRESH ? DBL_EPSILON : (eta > THRESH ? INVEPS : exp(eta));
    return t / (1.0 + t);
}

static double mu_eta(double eta)
{
    double opexp = 1.0 + exp(eta);
    return (eta > THRESH || eta < MTHRESH) ? DBL_EPSILON : exp(eta) / (opexp * opexp);
}

/* One row's share of the sums at linear predictor eta (offset included):
 * deviance, log-likelihood part, 0/1 count into s; returns sqrt(W) and sets
 * *z to the working response (offset removed). */
static double row_terms(double w, double y, double eta, double off, double *s, double *z)
{
    double mu = linkinv(eta), lm = 0.0, l1m = 0.0, dev = 0.0;
    if (y > 0.0) {
        lm = log(mu);
        dev += y * (log(y) - lm);
    }
    if (y < 1.0) {
        l1m = log(1.0 - mu);
        dev += (1.0 - y) * (log(1.0 - y) - l1m);
    }
    s[S_DEV] += 2.0 * w * dev;
    /* glm's binomial aic: dbinom(round(w y), round(w), mu) per row. */
    double trials = nearbyint(w), k = nearbyint(w * y);
    if (k > 0.0)
        s[S_LL] += k * lm;
    if (trials - k > 0.0)
        s[S_LL] += (trials - k) * l1m;
    if (mu < ZERO_ONE_EPS || mu > 1.0 - ZERO_ONE_EPS)
        s[S_N01] += 1.0;
    double me = mu_eta(eta);
    double ww = w * me * me / (mu * (1.0 - mu));
    *z = eta - off + (y - mu) / me;
    return sqrt(ww);
}

/* ------------------------------------------------------------------------ */
/* Chunks                                                                    */

static double *slot_at(const fit *f, size_t c)
{
    return f->slots + (c - f->round_begin) * f->slot_len;
}

static void chunk_start(fit *f, worker *wk, const pf_design_view *v, double *slot)
{
    size_t p = f->p, q = f->q;
    double *s = slot + q * q, *mn = s + NSCALAR, *mx = mn + p;
    for (size_t j = 0; j < p; j++) {
        mn[j] = INFINITY;
        mx[j] = -INFINITY;
    }
    for (size_t i = 0; i < v->n; i++) {
        double w = v->w[i], y = v->y[i], *xa = wk->xa + i * q;
        const double *x = v->x + i * p;
        if (!(w > 0.0)) {
            memset(xa, 0, q * sizeof *xa);
            continue;
        }
        s[S_NPOS] += 1.0;
        s[S_SW] += w;
        s[S_SWY] += w * y;
        s[S_SW1Y] += w * (1.0 - y);
        if (y > 0.0 && y < 1.0)
            s[S_SAT] += w * (y * log(y) + (1.0 - y) * log(1.0 - y));
        double trials = nearbyint(w), k = nearbyint(w * y);
        if (k > 0.0 && k < trials)
            s[S_LCHOOSE] += lgamma(trials + 1.0) - lgamma(k + 1.0) - lgamma(trials - k + 1.0);
        for (size_t j = 0; j < p; j++) {
            if (x[j] < mn[j])
                mn[j] = x[j];
            if (x[j] > mx[j])
                mx[j] = x[j];
        }
        double mu0 = (w * y + 0.5) / (w + 1.0), z;
        double eta = log(mu0 / (1.0 - mu0));
        double sw = row_terms(w, y, eta, v->offset ? v->offset[i] : 0.0, s, &z);
        for (size_t j = 0; j < p; j++)
            xa[j] = sw * x[j];
        xa[p] = sw * z;
    }
}

static void chunk_iter(fit *f, worker *wk, const pf_design_view *v, double *slot)
{
    size_t p = f->p, q = f->q;
    double *s = slot + q * q;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int) v->n, (int) p, 1.0, v->x, (int) p, f->beta, 1,
                0.0, wk->eta, 1);
    for (size_t i = 0; i < v->n; i++) {
        double w = v->w[i], *xa = wk->xa + i * q;
        const double *x = v->x + i * p;
        if (!(w > 0.0)) {
            memset(xa, 0, q * sizeof *xa);
            continue;
        }
        double off = v->offset ? v->offset[i] : 0.0, z;
        double sw = row_terms(w, v->y[i], wk->eta[i] + off, off, s, &z);
        for (size_t j = 0; j < p; j++)
            xa[j] = sw * x[j];
        xa[p] = sw * z;
    }
}

static void chunk_sep(fit *f, worker *wk, const pf_design_view *v, double *slot)
{
    double *s = slot + f->q * f->q;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int) v->n, (int) f->p, 1.0, v->x, (int) f->p, f->beta,
                1, 0.0, wk->eta, 1);
    for (size_t i = 0; i < v->n; i++) {
        double e = wk->eta[i], y = v->y[i];
        if (!(v->w[i] > 0.0) || fabs(e) <= f->sep_margin)
            continue;
        s[S_SEPROWS] += 1.0;
        if ((e > 0.0 && y != 1.0) || (e < 0.0 && y != 0.0))
            s[S_SEPBAD] += 1.0;
    }
}

static void chunk_null(fit *f, const pf_design_view *v, double *slot)
{
    double *s = slot + f->q * f->q;
    for (size_t i = 0; i < v->n; i++) {
        double w = v->w[i];
        if (!(w > 0.0))
            continue;
        double off = v->offset ? v->offset[i] : 0.0, z;
        double sw = row_terms(w, v->y[i], f->null_b0 + off, off, s, &z);
        s[S_NW] += sw * sw;
        s[S_NWZ] += sw * sw * z;
    }
}

static void chunk_run(fit *f, worker *wk, size_t c)
{
    double *slot = slot_at(f, c);
    pf_design_view v;
    pf_design_rows_at(f->d, c * CHUNK, CHUNK, &v);
    if (f->exclude) {
        for (size_t i = 0; i < v.n; i++)
            wk->w[i] = f->exclude[v.first + i] ? 0.0 : v.w[i];
        v.w = wk->w;
    }
    memset(slot + f->q * f->q, 0, NSCALAR * sizeof *slot);
    switch (f->kind) {
    case PASS_START:
        chunk_start(f, wk, &v, slot);
        break;
    case PASS_ITER:
        chunk_iter(f, wk, &v, slot);
        break;
    case PASS_SEP:
        chunk_sep(f, wk, &v, slot);
        return;
    case PASS_NULL:
        chunk_null(f, &v, slot);
        return;
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int) f->q, (int) v.n, 1.0, wk->xa,
                (int) f->q, 0.0, slot, (int) f->q);
}

/* Adds a chunk's sums to the accumulator; called in chunk order. */
static void reduce(fit *f, const double *slot)
{
    size_t p = f->p, q = f->q;
    if (f->kind == PASS_START || f->kind == PASS_ITER)
        for (size_t i = 0; i < q; i++)
            for (size_t j = i; j < q; j++)
                f->acc[i * q + j] += slot[i * q + j];
    for (size_t k = 0; k < NSCALAR; k++)
        f->acc[q * q + k] += slot[q * q + k];
    if (f->kind == PASS_START) {
        const double *mn = slot + q * q + NSCALAR, *mx = mn + p;
        double *amn = f->acc + q * q + NSCALAR, *amx = amn + p;
        for (size_t j = 0; j < p; j++) {
            if (mn[j] < amn[j])
                amn[j] = mn[j];
            if (mx[j] > amx[j])
                amx[j] = mx[j];
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Passes and threads                                                        */

static void work_round(fit *f, worker *wk)
{
    size_t c;
    while ((c = atomic_fetch_add(&f->next, 1)) < f->round_end)
        chunk_run(f, wk, c);
}

static void *worker_main(void *arg)
{
    worker *wk = arg;
    fit *f = wk->f;
    pthread_mutex_lock(&f->gate_mu);
    while (!f->gate_open)
        pthread_cond_wait(&f->gate_cv, &f->gate_mu);
    pthread_mutex_unlock(&f->gate_mu);
    if (f->stop)
        return NULL;
    for (;;) {
        pthread_barrier_wait(&f->bar_start);
        if (f->stop)
            break;
        work_round(f, wk);
        pthread_barrier_wait(&f->bar_done);
    }
    return NULL;
}

static void run_pass(fit *f, int kind)
{
    size_t p = f->p, q = f->q;
    f->kind = kind;
    memset(f->acc, 0, (q * q + NSCALAR) * sizeof *f->acc);
    for (size_t j = 0; j < p; j++) {
        f->acc[q * q + NSCALAR + j] = INFINITY;
        f->acc[q * q + NSCALAR + p + j] = -INFINITY;
    }
    for (size_t b = 0; b < f->nchunks; b += f->nslots) {
        f->round_begin = b;
        f->round_end = b + f->nslots < f->nchunks ? b + f->nslots : f->nchunks;
        atomic_store(&f->next, b);
        if (f->nthreads > 1)
            pthread_barrier_wait(&f->bar_start);
        work_round(f, &f->workers[0]);
        if (f->nthreads > 1)
            pthread_barrier_wait(&f->bar_done);
        for (size_t c = f->round_begin; c < f->round_end; c++)
            reduce(f, slot_at(f, c));
    }
}

static double acc_s(const fit *f, int k)
{
    return f->acc[f->q * f->q + k];
}

static void fit_release(fit *f)
{
    if (f->workers) {
        if (f->nthreads > 1) {
            f->stop = 1;
            pthread_barrier_wait(&f->bar_start);
            for (int t = 1; t < f->nthreads; t++)
                pthread_join(f->workers[t].thread, NULL);
            pthread_barrier_destroy(&f->bar_start);
            pthread_barrier_destroy(&f->bar_done);
        }
        for (int t = 0; t < f->nworkers; t++) {
            free(f->workers[t].xa);
            free(f->workers[t].eta);
            free(f->workers[t].w);
        }
        free(f->workers);
    }
    pthread_mutex_destroy(&f->gate_mu);
    pthread_cond_destroy(&f->gate_cv);
    free(f->slots);
    free(f->acc);
}

static int fit_init(fit *f, const pf_design *d, int threads)
{
    memset(f, 0, sizeof *f);
    atomic_init(&f->next, 0);
    pthread_mutex_init(&f->gate_mu, NULL);
    pthread_cond_init(&f->gate_cv, NULL);
    f->d = d;
    f->n = pf_design_rows(d);
    f->p = pf_design_cols(d);
    f->q = f->p + 1;
    f->intercept = pf_design_has_intercept(d);
    f->nchunks = (f->n + CHUNK - 1) / CHUNK;
    if (threads <= 0)
        threads = pf_default_threads();
    if (threads > PF_IRLS_MAX_THREADS)
        threads = PF_IRLS_MAX_THREADS;
    if ((size_t) threads > f->nchunks)
        threads = f->nchunks > 0 ? (int) f->nchunks : 1;

    f->slot_len = f->q * f->q + NSCALAR + 2 * f->p;
    size_t fit_slots = SLOT_BUDGET / (f->slot_len * sizeof(double));
    size_t nslots = 16 * (size_t) threads;
    if (nslots > fit_slots)
        nslots = fit_slots;
    if (nslots < (size_t) threads)
        nslots = (size_t) threads;
    if (nslots > f->nchunks)
        nslots = f->nchunks > 0 ? f->nchunks : 1;
    f->nslots = nslots;
    f->slots = malloc(nslots * f->slot_len * sizeof(double));
    f->acc = malloc(f->slot_len * sizeof(double));
    f->workers = calloc((size_t) threads, sizeof *f->workers);
    if (!f->slots || !f->acc || !f->workers)
        return PF_ENOMEM;
    f->nworkers = threads;
    f->nthreads = 1;
    for (int t = 0; t < threads; t++) {
        f->workers[t].f = f;
        f->workers[t].xa = malloc(CHUNK * f->q * sizeof(double));
        f->workers[t].eta = malloc(CHUNK * sizeof(double));
        f->workers[t].w = malloc(CHUNK * sizeof(double));
        if (!f->workers[t].xa || !f->workers[t].eta || !f->workers[t].w)
            return PF_ENOMEM;
    }
    /* Start the threads behind a gate, so that the barriers can be sized by
     * the threads that actually started. */
    int started = 1;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&f->workers[t].thread, NULL, worker_main, &f->workers[t]) != 0)
            break;
        started++;
    }
    if (started > 1) {
        if (pthread_barrier_init(&f->bar_start, NULL, (unsigned) started) != 0)
            f->stop = 1;
        else if (pthread_barrier_init(&f->bar_done, NULL, (unsigned) started) != 0) {
            pthread_barrier_destroy(&f->bar_start);
            f->stop = 1;
        }
    }
    pthread_mutex_lock(&f->gate_mu);
    f->gate_open = 1;
    pthread_cond_broadcast(&f->gate_cv);
    pthread_mutex_unlock(&f->gate_mu);
    if (f->stop) {
        /* No barriers: the threads leave at the gate and the caller's
         * thread does all the work, with the same result. */
        for (int t = 1; t < started; t++)
            pthread_join(f->workers[t].thread, NULL);
        f->stop = 0;
        started = 1;
    }
    f->nthreads = started;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */

/* Appends printf-style text to buf (size cap), truncating with "...". */
static void appendf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    if (k >= 0 && (size_t) k >= cap - len && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

/* "'a'", "'a' and 'b'", "'a', 'b' and 'c'"; at most 8 names, then "and k more". */
static void append_names(char *buf, size_t cap, const pf_design *d, const size_t *idx, size_t k)
{
    size_t shown = k > 8 ? 8 : k;
    for (size_t i = 0; i < shown; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == k ? " and " : ", ");
        appendf(buf, cap, "%s'%s'", sep, pf_design_name(d, idx[i]));
    }
    if (shown < k)
        appendf(buf, cap, " and %zu more", k - shown);
}

static int add_warning(pf_irls_result *r, unsigned flag, const char *text)
{
    char **t = realloc(r->warnings, (r->nwarnings + 1) * sizeof *t);
    if (!t)
        return PF_ENOMEM;
    r->warnings = t;
    if (!(t[r->nwarnings] = strdup(text)))
        return PF_ENOMEM;
    r->nwarnings++;
    r->flags |= flag;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Linear algebra                                                            */

/* H = the p x p part of acc (full symmetric, so either storage order reads
 * it) plus lambda on the penalised diagonal; b = X'Wz. */
static void build_system(const fit *f, double l2, const unsigned char *pen, double *h, double *b)
{
    size_t p = f->p, q = f->q;
    for (size_t i = 0; i < p; i++) {
        for (size_t j = i; j < p; j++)
            h[i * p + j] = h[j * p + i] = f->acc[i * q + j];
        if (l2 > 0.0 && pen[i])
            h[i * p + i] += l2;
        if (b)
            b[i] = f->acc[i * q + p];
    }
}

/* Looks for columns that are linear combinations of earlier ones in the
 * start X'WX: a Cholesky factorisation of its correlation-scaled form, in
 * column order, that sets aside each column whose residual falls below
 * RANK_TOL. Describes every such column in msg; returns their number. */
static size_t find_dependent(const fit *f, char *msg, size_t cap)
{
    size_t p = f->p, q = f->q, ndep = 0, na = 0;
    double *scale = malloc(p * sizeof *scale);
    double *L = malloc(p * p * sizeof *L);
    double *c = malloc(p * sizeof *c);
    size_t *acc_idx = malloc(p * sizeof *acc_idx);
    size_t *inv = malloc(p * sizeof *inv);
    if (!scale || !L || !c || !acc_idx || !inv) {
        free(scale), free(L), free(c), free(acc_idx), free(inv);
        return (size_t) -1;
    }
    for (size_t j = 0; j < p; j++)
        scale[j] = sqrt(f->acc[j * q + j]);
    for (size_t j = 0; j < p; j++) {
        double *lj = L + j * p, r = 1.0;
        for (size_t a = 0; a < na; a++) {
            size_t ka = acc_idx[a];
            size_t lo = ka < j ? ka : j, hi = ka < j ? j : ka;
            double s = f->acc[lo * q + hi] / (scale[j] * scale[ka]);
            for (size_t b = 0; b < a; b++)
                s -= lj[b] * L[ka * p + b];
            lj[a] = s / L[ka * p + a];
            r -= lj[a] * lj[a];
        }
        if (r > RANK_TOL) {
            lj[na] = sqrt(r);
            acc_idx[na++] = j;
            continue;
        }
        /* Column j ~ sum_a c[a] column acc_idx[a] (scaled): back substitution. */
        double cmax = 0.0;
        for (size_t a = na; a-- > 0;) {
            double s = lj[a];
            for (size_t b = a + 1; b < na; b++)
                s -= L[acc_idx[b] * p + a] * c[b];
            c[a] = s / L[acc_idx[a] * p + a];
            if (fabs(c[a]) > cmax)
                cmax = fabs(c[a]);
        }
        size_t ninv = 0;
        for (size_t a = 0; a < na; a++)
            if (fabs(c[a]) > 1e-6 * cmax)
                inv[ninv++] = a;
        appendf(msg, cap, "%s", ndep ? "; " : "");
        ndep++;
        if (ninv == 0) {
            appendf(msg, cap, "column '%s' is numerically dependent on the columns before it",
                    pf_design_name(f->d, j));
            continue;
        }
        if (ninv == 1)
            appendf(msg, cap, "columns '%s' and '%s' are collinear (%s =",
                    pf_design_name(f->d, acc_idx[inv[0]]), pf_design_name(f->d, j),
                    pf_design_name(f->d, j));
        else {
            size_t names[8];
            size_t k = ninv < 8 ? ninv : 8;
            for (size_t i = 0; i < k; i++)
                names[i] = acc_idx[inv[i]];
            appendf(msg, cap, "column '%s' is a linear combination of ", pf_design_name(f->d, j));
            append_names(msg, cap, f->d, names, k);
            if (ninv > k)
                appendf(msg, cap, " and %zu more", ninv - k);
            appendf(msg, cap, " (%s =", pf_design_name(f->d, j));
        }
        for (size_t i = 0; i < ninv && i < 8; i++) {
            size_t ka = acc_idx[inv[i]];
            double coef = c[inv[i]] * scale[j] / scale[ka];
            if (i == 0)
                appendf(msg, cap, " %.6g * %s", coef, pf_design_name(f->d, ka));
            else
                appendf(msg, cap, " %c %.6g * %s", coef < 0 ? '-' : '+', fabs(coef),
                        pf_design_name(f->d, ka));
        }
        appendf(msg, cap, "%s)", ninv > 8 ? " + ..." : "");
    }
    free(scale), free(L), free(c), free(acc_idx), free(inv);
    return ndep;
}

/* ------------------------------------------------------------------------ */
/* The fit                                                                   */

static int result_new(pf_irls_result **out, const pf_design *d)
{
    size_t p = pf_design_cols(d);
    pf_irls_result *r = calloc(1, sizeof *r);
    if (!r)
        return PF_ENOMEM;
    r->p = p;
    r->names = calloc(p, sizeof *r->names);
    r->coef = calloc(p, sizeof *r->coef);
    r->se = calloc(p, sizeof *r->se);
    r->cov = calloc(p * p, sizeof *r->cov);
    if (!r->names || !r->coef || !r->se || !r->cov) {
        pf_irls_result_free(r);
        return PF_ENOMEM;
    }
    for (size_t j = 0; j < p; j++)
        if (!(r->names[j] = strdup(pf_design_name(d, j)))) {
            pf_irls_result_free(r);
            return PF_ENOMEM;
        }
    *out = r;
    return 0;
}

void pf_irls_result_free(pf_irls_result *r)
{
    if (!r)
        return;
    if (r->names)
        for (size_t j = 0; j < r->p; j++)
            free(r->names[j]);
    free(r->names);
    for (size_t k = 0; k < r->nwarnings; k++)
        free(r->warnings[k]);
    free(r->warnings);
    free(r->coef);
    free(r->se);
    free(r->cov);
    free(r);
}

/* Errors of the data found by the start pass: no usable rows, one class,
 * constant columns. */
static int check_data(const fit *f, pf_error *err)
{
    size_t p = f->p, q = f->q;
    double npos = acc_s(f, S_NPOS);
    if (npos == 0.0)
        return pf_error_set(err, PF_EINVAL, "no rows with positive weight (of %zu rows)", f->n);
    if (acc_s(f, S_SWY) == 0.0 || acc_s(f, S_SW1Y) == 0.0)
        return pf_error_set(err, PF_EINVAL,
                            "the label has a single class: y = %d in all %.0f rows with positive "
                            "weight",
                            acc_s(f, S_SWY) == 0.0 ? 0 : 1, npos);
    const double *mn = f->acc + q * q + NSCALAR, *mx = mn + p;
    char msg[PF_ERROR_MAX] = "";
    size_t nconst = 0;
    for (size_t j = f->intercept ? 1 : 0; j < p; j++) {
        if (mn[j] != mx[j])
            continue;
        appendf(msg, sizeof msg, "%s'%s' (%g)", nconst ? ", " : "", pf_design_name(f->d, j), mn[j]);
        nconst++;
    }
    if (nconst)
        return pf_error_set(err, PF_EINVAL,
                            "constant column%s (the same value in all %.0f rows with positive "
                            "weight): %s",
                            nconst > 1 ? "s" : "", npos, msg);
    return 0;
}

typedef struct state {
    double *beta;
    double *fac; /* Cholesky factor that produced beta */
    double dev, ll, n01, pdev;
} state;

static double penalty(const double *beta, size_t p, double l2, const unsigned char *pen)
{
    double s = 0.0;
    if (l2 > 0.0)
        for (size_t j = 0; j < p; j++)
            if (pen[j])
                s += beta[j] * beta[j];
    return l2 * s;
}

/* The separation test: do the rows beyond a small margin along the last
 * step all lie on the side of their label? If so the likelihood keeps rising
 * along it and the coefficients it moves have no finite estimate. */
static int diagnose(fit *f, pf_irls_result *r, const double *prev, const double *scale,
                    int converged, int broke_down, double relchange, char *msg, size_t cap)
{
    size_t p = f->p;
    size_t *idx = malloc(p * sizeof *idx);
    double *step = malloc(p * sizeof *step), *size = malloc(p * sizeof *size);
    int rc = 0;
    if (!idx || !step || !size) {
        rc = PF_ENOMEM;
        goto done;
    }
    double smax = 0.0;
    for (size_t j = 0; j < p; j++) {
        step[j] = prev ? r->coef[j] - prev[j] : 0.0;
        size[j] = fabs(step[j]) * scale[j];
        if (size[j] > smax)
            smax = size[j];
    }
    /* Columns that moved, largest first. The intercept is not named: it
     * moves along with whatever columns separate. */
    size_t k = 0;
    for (size_t j = f->intercept ? 1 : 0; j < p; j++)
        if (smax > 0.0 && size[j] >= 0.01 * smax)
            idx[k++] = j;
    for (size_t a = 1; a < k; a++)
        for (size_t b = a; b > 0 && size[idx[b]] > size[idx[b - 1]]; b--) {
            size_t t = idx[b];
            idx[b] = idx[b - 1];
            idx[b - 1] = t;
        }

    int separated = 0;
    if (smax > SEP_STEP || (!converged && smax > 0.0)) {
        f->beta = step;
        f->sep_margin = SEP_MARGIN * smax;
        run_pass(f, PASS_SEP);
        double rows = acc_s(f, S_SEPROWS), npos = (double) r->nobs;
        if (rows > 0.0 && acc_s(f, S_SEPBAD) == 0.0 && k > 0) {
            separated = 1;
            appendf(msg, cap,
                    "%s separation: the outcome is predicted perfectly in %.0f of %.0f rows "
                    "with positive weight by %s",
                    rows == npos ? "complete" : "quasi-complete", rows, npos,
                    k > 1 ? "a combination of " : "");
            append_names(msg, cap, f->d, idx, k);
            appendf(msg, cap,
                    "; %s coefficient%s diverge%s, so %s estimate%s and standard error%s are "
                    "not meaningful",
                    k > 1 ? "their" : "its", k > 1 ? "s" : "", k > 1 ? "" : "s",
                    k > 1 ? "their" : "its", k > 1 ? "s" : "", k > 1 ? "s" : "");
            if ((rc = add_warning(r, PF_IRLS_SEPARATION, msg)))
                goto done;
        }
    }
    char text[PF_ERROR_MAX] = "";
    if (!converged) {
        if (broke_down)
            appendf(text, sizeof text,
                    "the fit stopped after %d iterations: X'WX is no longer positive definite "
                    "(last relative deviance change %.3g)",
                    r->iterations, relchange);
        else
            appendf(text, sizeof text,
                    "the fit did not converge in %d iterations (last relative deviance change "
                    "%.3g)",
                    r->iterations, relchange);
        if (k > 0 && !separated) {
            appendf(text, sizeof text, "; still moving: ");
            append_names(text, sizeof text, f->d, idx, k);
        }
        if ((rc = add_warning(r, PF_IRLS_NOT_CONVERGED, text)))
            goto done;
    } else if (smax > SEP_STEP && !separated) {
        appendf(text, sizeof text, "the coefficient%s of ", k > 1 ? "s" : "");
        append_names(text, sizeof text, f->d, idx, k);
        appendf(text, sizeof text,
                " still changed by up to %.3g units of the linear predictor in the last "
                "iteration; the estimates may be unstable (near separation or near collinearity)",
                smax);
        if ((rc = add_warning(r, PF_IRLS_UNSTABLE, text)))
            goto done;
    }
done:
    free(idx);
    free(step);
    free(size);
    return rc;
}

/* The null deviance, as glm defines it: intercept-only fit (with the offset)
 * when there is an intercept, else mu = linkinv(offset). Without an offset
 * both have a closed form in the start pass's sums. */
static void null_deviance(fit *f, pf_irls_result *r, double sat, double swy, double sw1y, double sw,
                          int max_iter, double tol)
{
    int off = pf_design_has_offset(f->d);
    if (!off) {
        double mu = f->intercept ? swy / sw : 0.5;
        r->null_deviance = 2.0 * sat - 2.0 * (swy * log(mu) + sw1y * log(1.0 - mu));
        return;
    }
    if (!f->intercept) {
        f->null_b0 = 0.0;
        run_pass(f, PASS_NULL);
        r->null_deviance = acc_s(f, S_DEV);
        return;
    }
    /* glm refits the intercept from the full model's fitted values; its first
     * working sums are those of the last pass at the final coefficients
     * (column 0 is the intercept), unless the separation test reused them. */
    size_t p = f->p;
    if (f->kind != PASS_ITER) {
        f->beta = r->coef;
        run_pass(f, PASS_ITER);
    }
    double devold = r->deviance;
    double b0 = f->acc[p] / f->acc[0];
    for (int it = 1; it <= max_iter; it++) {
        f->null_b0 = b0;
        run_pass(f, PASS_NULL);
        double dev = acc_s(f, S_DEV);
        r->null_deviance = dev;
        if (fabs(dev - devold) / (fabs(dev) + 0.1) < tol)
            break;
        devold = dev;
        b0 = acc_s(f, S_NWZ) / acc_s(f, S_NW);
    }
}

static int fit_run(fit *f, const pf_irls_options *o, const unsigned char *pen, pf_irls_result *r,
                   pf_error *err)
{
    size_t p = f->p;
    double l2 = o->l2;
    int rc = 0;
    double *h = malloc(p * p * sizeof *h), *b = malloc(p * sizeof *b);
    double *scale = malloc(p * sizeof *scale);
    state cur = {0}, prev = {0};
    cur.beta = calloc(p, sizeof(double));
    cur.fac = malloc(p * p * sizeof(double));
    prev.beta = calloc(p, sizeof(double));
    prev.fac = malloc(p * p * sizeof(double));
    if (!h || !b || !scale || !cur.beta || !cur.fac || !prev.beta || !prev.fac) {
        rc = pf_error_set(err, PF_ENOMEM, "fit: out of memory");
        goto done;
    }

    run_pass(f, PASS_START);
    if ((rc = check_data(f, err)))
        goto done;
    double npos = acc_s(f, S_NPOS), sw = acc_s(f, S_SW), swy = acc_s(f, S_SWY),
           sw1y = acc_s(f, S_SW1Y), sat = acc_s(f, S_SAT), lchoose = acc_s(f, S_LCHOOSE);
    const double *mn = f->acc + f->q * f->q + NSCALAR, *mx = mn + p;
    for (size_t j = 0; j < p; j++)
        scale[j] = (f->intercept && j == 0) ? 1.0 : mx[j] - mn[j];

    char msg[PF_ERROR_MAX] = "";
    size_t ndep = find_dependent(f, msg, sizeof msg);
    if (ndep == (size_t) -1) {
        rc = pf_error_set(err, PF_ENOMEM, "fit: out of memory");
        goto done;
    }
    if (ndep > 0) {
        /* A penalty can make dependent columns estimable; without one (or if
         * it does not cover them) the design is unusable. */
        build_system(f, l2, pen, h, NULL);
        if (l2 == 0.0 || LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (int) p, h, (int) p) != 0) {
            rc = pf_error_set(err, PF_EINVAL, "the design matrix is rank deficient: %s", msg);
            goto done;
        }
        char w[PF_ERROR_MAX + 64];
        snprintf(w, sizeof w, "dependent columns, estimable only through the penalty: %s", msg);
        if (add_warning(r, PF_IRLS_COLLINEAR, w)) {
            rc = pf_error_set(err, PF_ENOMEM, "fit: out of memory");
            goto done;
        }
    }

    int max_iter = o->max_iter, iter, converged = 0, broke_down = 0, have_cur = 0, have_prev = 0;
    double devold = acc_s(f, S_DEV), relchange = INFINITY;
    for (iter = 1; iter <= max_iter; iter++) {
        build_system(f, l2, pen, h, b);
        int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (int) p, h, (int) p);
        if (info == 0)
            info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (int) p, 1, h, (int) p, b, (int) p);
        for (size_t j = 0; info == 0 && j < p; j++)
            if (!isfinite(b[j]))
                info = -1;
        if (info != 0) {
            /* The rank test passed, so X'WX lost definiteness through its
             * weights: working weights of separated rows underflow. Stop at
             * the last good coefficients and let the diagnosis explain. */
            if (!have_cur) {
                rc = pf_error_set(err, PF_EINVAL,
                                  "X'WX is numerically singular at the start (column '%s'); the "
                                  "design is nearly rank deficient",
                                  pf_design_name(f->d, info > 0 ? (size_t) info - 1 : 0));
                goto done;
            }
            broke_down = 1;
            break;
        }
        f->beta = b;
        run_pass(f, PASS_ITER);
        double dev = acc_s(f, S_DEV);
        double pdev = dev + penalty(b, p, l2, pen);
        if (!isfinite(pdev)) {
            if (!have_cur) {
                rc =
                    pf_error_set(err, PF_EINVAL, "the deviance is not finite after the first step");
                goto done;
            }
            f->beta = cur.beta; /* restore the sums of the last good pass */
            run_pass(f, PASS_ITER);
            broke_down = 1;
            break;
        }
        state t = prev;
        prev = cur;
        cur = t;
        have_prev = have_cur;
        memcpy(cur.beta, b, p * sizeof *b);
        memcpy(cur.fac, h, p * p * sizeof *h);
        cur.dev = dev;
        cur.ll = acc_s(f, S_LL);
        cur.n01 = acc_s(f, S_N01);
        cur.pdev = pdev;
        have_cur = 1;
        if (o->progress)
            o->progress(o->progress_ctx, iter, dev);
        relchange = fabs(pdev - devold) / (fabs(pdev) + 0.1);
        if (relchange < o->tol) {
            converged = 1;
            break;
        }
        devold = pdev;
    }
    r->iterations = converged ? iter : iter - 1;
    r->converged = converged;

    /* Covariance from the factor of the last solve, as glm's comes from the
     * QR of its last weighted least-squares problem. */
    memcpy(r->coef, cur.beta, p * sizeof *r->coef);
    memcpy(r->cov, cur.fac, p * p * sizeof *r->cov);
    if (LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (int) p, r->cov, (int) p) != 0) {
        rc = pf_error_set(err, PF_EINVAL, "fit: the covariance matrix could not be formed");
        goto done;
    }
    /* dpotri filled the column-major upper triangle, which is the row-major
     * lower one (row i, column j < i); mirror it into the other half. */
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < i; j++)
            r->cov[j * p + i] = r->cov[i * p + j];
    double tr = 0.0;
    for (size_t j = 0; j < p; j++) {
        r->se[j] = sqrt(r->cov[j * p + j]);
        if (l2 > 0.0 && pen[j])
            tr += r->cov[j * p + j];
    }
    for (size_t j = 0; j < p; j++)
        if (!isfinite(r->coef[j]) || !isfinite(r->se[j])) {
            rc = pf_error_set(err, PF_EINVAL, "fit: coefficient of '%s' is not finite",
                              pf_design_name(f->d, j));
            goto done;
        }
    r->deviance = cur.dev;
    r->penalty = cur.pdev - cur.dev;
    r->edf = (double) p - l2 * tr;
    r->aic = -2.0 * (lchoose + cur.ll) + 2.0 * r->edf;
    r->nobs = (size_t) npos;
    r->sum_weights = sw;
    r->df_residual = npos - r->edf;
    r->df_null = npos - (f->intercept ? 1.0 : 0.0);

    char sepmsg[PF_ERROR_MAX] = "";
    if ((rc = diagnose(f, r, have_prev ? prev.beta : NULL, scale, converged, broke_down, relchange,
                       sepmsg, sizeof sepmsg))) {
        rc = pf_error_set(err, rc, "fit: out of memory");
        goto done;
    }
    if (cur.n01 > 0.0) {
        char w[160];
        snprintf(w, sizeof w, "fitted probabilities numerically 0 or 1 occurred in %.0f rows",
                 cur.n01);
        if (add_warning(r, PF_IRLS_FITTED_0_1, w)) {
            rc = pf_error_set(err, PF_ENOMEM, "fit: out of memory");
            goto done;
        }
    }
    if (sepmsg[0] && o->separation_is_error) {
        rc = pf_error_set(err, PF_EINVAL, "%s", sepmsg);
        goto done;
    }
    null_deviance(f, r, sat, swy, sw1y, sw, max_iter, o->tol);

done:
    free(h);
    free(b);
    free(scale);
    free(cur.beta);
    free(cur.fac);
    free(prev.beta);
    free(prev.fac);
    return rc;
}

int pf_irls_fit(const pf_design *d, const pf_irls_options *opt, pf_irls_result **out, pf_error *err)
{
    pf_irls_options o = {0};
    if (opt)
        o = *opt;
    *out = NULL;
    if (!d)
        return pf_error_set(err, PF_EINVAL, "fit: no design");
    if (o.max_iter == 0)
        o.max_iter = PF_IRLS_DEFAULT_MAX_ITER;
    if (o.tol == 0.0)
        o.tol = PF_IRLS_DEFAULT_TOL;
    if (o.max_iter < 1 || o.max_iter > 10000)
        return pf_error_set(err, PF_EINVAL, "fit: iteration cap %d is not in 1..10000", o.max_iter);
    if (!(o.tol > 0.0 && o.tol < 1.0))
        return pf_error_set(err, PF_EINVAL, "fit: tolerance %g is not in (0, 1)", o.tol);
    if (!(o.l2 >= 0.0 && isfinite(o.l2)))
        return pf_error_set(err, PF_EINVAL, "fit: L2 penalty %g is not a finite number >= 0", o.l2);
    if (o.threads < 0)
        return pf_error_set(err, PF_EINVAL, "fit: %d threads", o.threads);
    if (pf_design_rows(d) == 0)
        return pf_error_set(err, PF_EINVAL, "no rows with positive weight (of 0 rows)");

    size_t p = pf_design_cols(d);
    unsigned char *pen = malloc(p);
    pf_irls_result *r = NULL;
    if (!pen || result_new(&r, d)) {
        free(pen);
        return pf_error_set(err, PF_ENOMEM, "fit: out of memory");
    }
    for (size_t j = 0; j < p; j++)
        pen[j] = o.unpenalized ? !o.unpenalized[j] : !(pf_design_has_intercept(d) && j == 0);

    fit f;
    int rc = fit_init(&f, d, o.threads);
    f.exclude = o.exclude;
    if (rc) {
        rc = pf_error_set(err, rc, "fit: out of memory");
    } else {
        int blas_threads = openblas_get_num_threads();
        openblas_set_num_threads(1);
        rc = fit_run(&f, &o, pen, r, err);
        openblas_set_num_threads(blas_threads);
    }
    fit_release(&f);
    free(pen);
    if (rc) {
        pf_irls_result_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void pf_irls_linpred(const pf_irls_result *r, const double *x, double offset, double *eta,
                     double *se)
{
    size_t p = r->p;
    double e = offset;
    for (size_t j = 0; j < p; j++)
        e += x[j] * r->coef[j];
    *eta = e;
    if (se) {
        double v = 0.0;
        for (size_t i = 0; i < p; i++) {
            double s = 0.0;
            for (size_t j = 0; j < p; j++)
                s += r->cov[i * p + j] * x[j];
            v += x[i] * s;
        }
        *se = sqrt(v > 0.0 ? v : 0.0);
    }
}
