/*
 * gbdt_train.c - histogram-based gradient boosting with logistic loss
 * (see gbdt_train.h); the trees go into a pf_gbdt (model/gbdt.c) that the
 * model file and the scoring kernel share.
 *
 * Data flow per round: gradients and hessians of every fit row → the rows
 * of the tree (a seeded subsample) → per node, a histogram of (g, h) per
 * feature bin, built over fixed blocks of rows by the threads and summed
 * in block order (the larger child by subtraction from its parent) → the
 * best split by exact scan of the bins, under the monotone bounds → the
 * tree, applied to every fit and validation row on the binned data.
 *
 * Memory: the fit and validation rows binned to one byte per feature, two
 * doubles of (g, h) and three of (prediction, label, weight) per row, and
 * one histogram (nfeat * 256 * 16 bytes) per open leaf and per row block.
 */
#include "profil/gbdt_train.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profil/prefetch.h"

#define MISSING_BIN 255
#define NBIN        256
#define BLOCK_ROWS  16384  /* rows per histogram block and per update task */
#define CUT_SAMPLE  200000 /* rows sampled for the quantile edges */
#define PREFETCH    16     /* rows ahead whose bins and gradients are fetched */

void pf_gbdt_params_default(pf_gbdt_params *p)
{
    memset(p, 0, sizeof *p);
    p->ntrees = 300;
    p->max_depth = 6;
    p->learning_rate = 0.1;
    p->subsample = 1;
    p->colsample = 1;
    p->l2 = 1;
    p->min_child_weight = 1;
    p->max_bins = 255;
    p->early_stopping = 20;
}

/* ---- a small pool: parallel loops over numbered tasks ------------------ */

typedef void (*task_fn)(void *ctx, size_t task);

typedef struct pool {
    int nworkers;
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    uint64_t gen;
    int active, stop;
    task_fn fn;
    void *ctx;
    size_t ntasks;
    atomic_size_t next;
} pool;

static void pool_drain(pool *pl)
{
    size_t t;
    while ((t = atomic_fetch_add(&pl->next, 1)) < pl->ntasks)
        pl->fn(pl->ctx, t);
}

static void *pool_worker(void *arg)
{
    pool *pl = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        while (pl->gen == seen && !pl->stop)
            pthread_cond_wait(&pl->cv_work, &pl->mu);
        if (pl->stop)
            break;
        seen = pl->gen;
        pthread_mutex_unlock(&pl->mu);
        pool_drain(pl);
        pthread_mutex_lock(&pl->mu);
        if (--pl->active == 0)
            pthread_cond_signal(&pl->cv_done);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

static int pool_start(pool *pl, int threads)
{
    memset(pl, 0, sizeof *pl);
    if (threads <= 0)
        threads = pf_default_threads();
    pthread_mutex_init(&pl->mu, NULL);
    pthread_cond_init(&pl->cv_work, NULL);
    pthread_cond_init(&pl->cv_done, NULL);
    if (threads > 1 && !(pl->th = calloc((size_t) threads - 1, sizeof *pl->th)))
        return -1;
    for (int k = 0; k < threads - 1; k++) {
        if (pthread_create(&pl->th[k], NULL, pool_worker, pl))
            return -1;
        pl->nworkers++;
    }
    return 0;
}

static void pool_stop(pool *pl)
{
    pthread_mutex_lock(&pl->mu);
    pl->stop = 1;
    pthread_cond_broadcast(&pl->cv_work);
    pthread_mutex_unlock(&pl->mu);
    for (int k = 0; k < pl->nworkers; k++)
        pthread_join(pl->th[k], NULL);
    free(pl->th);
    pthread_mutex_destroy(&pl->mu);
    pthread_cond_destroy(&pl->cv_work);
    pthread_cond_destroy(&pl->cv_done);
}

/* Runs fn(ctx, 0..ntasks-1) on the pool and the calling thread. Which
 * thread runs a task never matters: tasks write disjoint outputs. */
static void pool_run(pool *pl, size_t ntasks, task_fn fn, void *ctx)
{
    if (pl->nworkers == 0 || ntasks <= 1) {
        for (size_t t = 0; t < ntasks; t++)
            fn(ctx, t);
        return;
    }
    pthread_mutex_lock(&pl->mu);
    pl->fn = fn;
    pl->ctx = ctx;
    pl->ntasks = ntasks;
    atomic_store(&pl->next, 0);
    pl->active = pl->nworkers;
    pl->gen++;
    pthread_cond_broadcast(&pl->cv_work);
    pthread_mutex_unlock(&pl->mu);
    pool_drain(pl);
    pthread_mutex_lock(&pl->mu);
    while (pl->active > 0)
        pthread_cond_wait(&pl->cv_done, &pl->mu);
    pthread_mutex_unlock(&pl->mu);
}

/* ---- counter-based random numbers -------------------------------------- */

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

double pf_gbdt_uniform(uint64_t seed, uint64_t stream, uint64_t i)
{
    uint64_t z = mix64(mix64(mix64(seed) ^ stream) ^ i);
    return (double) (z >> 11) * 0x1.0p-53;
}

/* ---- binning ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* Quantile edges of feature f from an evenly spaced sample of the rows:
 * each distinct value its own bin when there are at most max_bins, else
 * max_bins quantiles. bin(x) = number of edges <= x. */
static int make_edges(const pf_gbdt_data *d, size_t nf, size_t f, int max_bins, double **edges,
                      int *nedges)
{
    size_t step = d->n > CUT_SAMPLE ? (d->n + CUT_SAMPLE - 1) / CUT_SAMPLE : 1, m = 0;
    double *s = malloc(((d->n + step - 1) / step + 1) * sizeof *s);
    *edges = malloc((size_t) max_bins * sizeof **edges);
    if (!s || !*edges) {
        free(s);
        return -1;
    }
    for (size_t i = 0; i < d->n; i += step) {
        double v = d->x[i * nf + f];
        if (!isnan(v))
            s[m++] = v;
    }
    qsort(s, m, sizeof *s, cmp_double);
    size_t nuniq = 0;
    for (size_t i = 0; i < m; i++)
        if (i == 0 || s[i] != s[i - 1])
            nuniq++;
    int ne = 0;
    if (nuniq <= (size_t) max_bins) {
        for (size_t i = 1; i < m; i++)
            if (s[i] != s[i - 1])
                (*edges)[ne++] = s[i];
    } else {
        for (int b = 1; b < max_bins; b++) {
            double e = s[(size_t) ((double) b * (double) m / max_bins)];
            if (e > s[0] && (ne == 0 || e > (*edges)[ne - 1]))
                (*edges)[ne++] = e;
        }
    }
    free(s);
    *nedges = ne;
    return 0;
}

static uint8_t bin_of(const double *e, int ne, double v)
{
    if (isnan(v))
        return MISSING_BIN;
    int lo = 0, hi = ne; /* first edge > v */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (e[mid] <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint8_t) lo;
}

typedef struct bin_job {
    const pf_gbdt_data *d;
    size_t nf;
    double **edges;
    const int *nedges;
    uint8_t *bins;
} bin_job;

static void bin_task(void *ctx, size_t t)
{
    const bin_job *j = ctx;
    size_t a = t * BLOCK_ROWS, b = a + BLOCK_ROWS < j->d->n ? a + BLOCK_ROWS : j->d->n;
    for (size_t i = a; i < b; i++)
        for (size_t f = 0; f < j->nf; f++)
            j->bins[i * j->nf + f] = bin_of(j->edges[f], j->nedges[f], j->d->x[i * j->nf + f]);
}

/* ---- histograms --------------------------------------------------------- */

typedef struct gh {
    double g, h;
} gh;

typedef struct hist_job {
    const uint8_t *bins;
    size_t nf;
    const gh *grad;
    const uint32_t *idx; /* the node's rows */
    size_t n;
    gh *out;    /* nblocks histograms, or the node's one */
    gh *target; /* merged */
    size_t nblocks;
} hist_job;

static void hist_block(void *ctx, size_t t)
{
    const hist_job *j = ctx;
    size_t nf = j->nf, a = t * BLOCK_ROWS, b = a + BLOCK_ROWS < j->n ? a + BLOCK_ROWS : j->n;
    gh *h = j->out + t * nf * NBIN;
    memset(h, 0, nf * NBIN * sizeof *h);
    for (size_t k = a; k < b; k++) {
        uint32_t r = j->idx[k];
        if (k + PREFETCH < b) { /* below the root, rows are scattered */
            uint32_t rp = j->idx[k + PREFETCH];
            __builtin_prefetch(j->bins + (size_t) rp * nf);
            __builtin_prefetch(&j->grad[rp]);
        }
        gh v = j->grad[r];
        const uint8_t *br = j->bins + (size_t) r * nf;
        for (size_t f = 0; f < nf; f++) {
            gh *c = &h[f * NBIN + br[f]];
            c->g += v.g;
            c->h += v.h;
        }
    }
}

/* Sums the block histograms of one feature in block order. */
static void hist_merge(void *ctx, size_t f)
{
    const hist_job *j = ctx;
    gh *dst = j->target + f * NBIN;
    memcpy(dst, j->out + f * NBIN, NBIN * sizeof *dst);
    for (size_t t = 1; t < j->nblocks; t++) {
        const gh *src = j->out + (t * j->nf + f) * NBIN;
        for (size_t b = 0; b < NBIN; b++) {
            dst[b].g += src[b].g;
            dst[b].h += src[b].h;
        }
    }
}

/* ---- trees under construction ------------------------------------------- */

typedef struct split {
    double gain;
    int feat, bin; /* rows with bin < bin go left */
    int dleft;     /* missing rows go left */
    gh left, right;
} split;

typedef struct tnode {
    int32_t left, right; /* -1 for a leaf */
    int depth;
    size_t a, b; /* rows idx[a..b) */
    gh sum;
    double weight;       /* unshrunk leaf value */
    double lower, upper; /* monotone bounds on the weights below */
    split best;
    gh *hist; /* while a candidate */
    int feat, bin, dleft;
} tnode;

typedef struct trainer {
    const pf_gbdt_params *p;
    size_t nf, n, nv;
    pool pl;
    uint8_t *bins, *vbins;
    double **edges;
    int *nedges;
    gh *grad;
    double *pred, *vpred;
    const double *y, *w;
    uint32_t *idx, *tmp;
    gh *blocks; /* per block histograms */
    size_t max_blocks;
    gh **free_hist;
    size_t nfree, nhist;
    uint8_t *active; /* features of this tree */
    tnode *nodes;
    size_t nnodes, cap;
    double *cover; /* per block and node: leaf weights, then merged */
    size_t cover_cap;
} trainer;

static gh *hist_get(trainer *t)
{
    if (t->nfree)
        return t->free_hist[--t->nfree];
    t->nhist++;
    return malloc(t->nf * NBIN * sizeof(gh));
}

static void hist_put(trainer *t, gh *h)
{
    if (h)
        t->free_hist[t->nfree++] = h;
}

static void build_hist(trainer *t, size_t a, size_t b, gh *target)
{
    hist_job j = {t->bins, t->nf, t->grad, t->idx + a, b - a, NULL, target, 0};
    j.nblocks = (b - a + BLOCK_ROWS - 1) / BLOCK_ROWS;
    if (j.nblocks <= 1) {
        j.out = target;
        hist_block(&j, 0);
        return;
    }
    j.out = t->blocks;
    pool_run(&t->pl, j.nblocks, hist_block, &j);
    pool_run(&t->pl, t->nf, hist_merge, &j);
}

static double calc_weight(const trainer *t, gh s, double lower, double upper)
{
    double w = -s.g / (s.h + t->p->l2);
    return w < lower ? lower : w > upper ? upper : w;
}

/* The loss reduction (times two) of leaf weight w for sums s. */
static double gain_of(const trainer *t, gh s, double w)
{
    return -(2 * s.g * w + (s.h + t->p->l2) * w * w);
}

static void find_split(const trainer *t, tnode *nd)
{
    const pf_gbdt_params *p = t->p;
    split best = {.gain = 0, .feat = -1};
    double parent = gain_of(t, nd->sum, nd->weight);
    /* A larger child's histogram is its parent's minus its sibling's: an
     * empty side can be left with rounding noise instead of 0. */
    double tiny = 1e-10 * nd->sum.h;
    for (size_t f = 0; f < t->nf; f++) {
        if (!t->active[f])
            continue;
        const gh *hf = nd->hist + f * NBIN;
        gh miss = hf[MISSING_BIN];
        int nb = t->nedges[f] + 1, mono = p->monotone ? p->monotone[f] : 0;
        gh l = {0, 0};
        for (int b = 1; b < nb; b++) {
            l.g += hf[b - 1].g;
            l.h += hf[b - 1].h;
            for (int dl = 0; dl < 2; dl++) {
                if (dl && miss.h == 0)
                    break;
                gh L = l, R;
                if (dl) {
                    L.g += miss.g;
                    L.h += miss.h;
                }
                R.g = nd->sum.g - L.g;
                R.h = nd->sum.h - L.h;
                if (L.h < p->min_child_weight || R.h < p->min_child_weight || L.h <= tiny ||
                    R.h <= tiny)
                    continue;
                double wl = calc_weight(t, L, nd->lower, nd->upper);
                double wr = calc_weight(t, R, nd->lower, nd->upper);
                if ((mono > 0 && wl > wr) || (mono < 0 && wl < wr))
                    continue;
                double gain = gain_of(t, L, wl) + gain_of(t, R, wr) - parent;
                if (gain > best.gain && gain > p->min_split_gain) {
                    best.gain = gain;
                    best.feat = (int) f;
                    best.bin = b;
                    /* Without missing values in the node, they follow the heavier side. */
                    best.dleft = miss.h > 0 ? dl : L.h >= R.h;
                    best.left = L;
                    best.right = R;
                }
            }
        }
    }
    nd->best = best;
}

static tnode *new_node(trainer *t, size_t a, size_t b, int depth, gh sum, double lower,
                       double upper)
{
    if (t->nnodes == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        tnode *nn = realloc(t->nodes, cap * sizeof *nn);
        if (!nn)
            return NULL;
        t->nodes = nn;
        t->cap = cap;
    }
    tnode *nd = &t->nodes[t->nnodes++];
    memset(nd, 0, sizeof *nd);
    nd->left = nd->right = -1;
    nd->a = a;
    nd->b = b;
    nd->depth = depth;
    nd->sum = sum;
    nd->lower = lower;
    nd->upper = upper;
    nd->weight = calc_weight(t, sum, lower, upper);
    nd->best.feat = -1;
    return nd;
}

static int can_split(const trainer *t, const tnode *nd)
{
    int limit = t->p->max_depth > 0 ? t->p->max_depth : PF_GBDT_MAX_DEPTH;
    return nd->depth < limit && nd->b - nd->a >= 2;
}

static inline int goes_left(const tnode *nd, uint8_t bin)
{
    return bin == MISSING_BIN ? nd->dleft : bin < nd->bin;
}

/* Splits node k (its best split is set): rows partitioned stably, the
 * children's histograms (the smaller built, the larger by subtraction),
 * weights and best splits. Returns 0, 1 when the node stays a leaf, or -1
 * when out of memory. */
static int split_node(trainer *t, size_t k)
{
    tnode *nd = &t->nodes[k];
    const split s = nd->best;
    nd->feat = s.feat;
    nd->bin = s.bin;
    nd->dleft = s.dleft;
    size_t a = nd->a, b = nd->b, nl = 0, nr = 0, nf = t->nf;
    for (size_t q = a; q < b; q++) {
        uint32_t r = t->idx[q];
        if (goes_left(nd, t->bins[(size_t) r * nf + (size_t) s.feat]))
            t->idx[a + nl++] = r;
        else
            t->tmp[nr++] = r;
    }
    memcpy(t->idx + a + nl, t->tmp, nr * sizeof *t->idx);
    if (nl == 0 || nr == 0) { /* only rounding noise on one side: stays a leaf */
        nd->best.feat = -1;
        hist_put(t, nd->hist);
        nd->hist = NULL;
        return 1;
    }
    double lo = nd->lower, hi = nd->upper, llo = lo, lhi = hi, rlo = lo, rhi = hi;
    int mono = t->p->monotone ? t->p->monotone[s.feat] : 0;
    double wl = calc_weight(t, s.left, lo, hi), wr = calc_weight(t, s.right, lo, hi);
    double mid = (wl + wr) / 2;
    if (mono > 0) {
        lhi = mid < hi ? mid : hi;
        rlo = mid > lo ? mid : lo;
    } else if (mono < 0) {
        llo = mid > lo ? mid : lo;
        rhi = mid < hi ? mid : hi;
    }
    int depth = nd->depth + 1;
    gh *parent = nd->hist;
    nd->hist = NULL;
    tnode *L = new_node(t, a, a + nl, depth, s.left, llo, lhi);
    if (!L)
        return -1;
    size_t li = t->nnodes - 1;
    tnode *R = new_node(t, a + nl, b, depth, s.right, rlo, rhi);
    if (!R)
        return -1;
    L = &t->nodes[li];
    t->nodes[k].left = (int32_t) li;
    t->nodes[k].right = (int32_t) li + 1;
    int sl = can_split(t, L), sr = can_split(t, R);
    if (sl || sr) {
        tnode *small = nl <= nr ? L : R, *large = nl <= nr ? R : L;
        small->hist = hist_get(t);
        large->hist = hist_get(t);
        if (!small->hist || !large->hist)
            return -1;
        build_hist(t, small->a, small->b, small->hist);
        for (size_t q = 0; q < nf * NBIN; q++) {
            large->hist[q].g = parent[q].g - small->hist[q].g;
            large->hist[q].h = parent[q].h - small->hist[q].h;
        }
        if (sl)
            find_split(t, L);
        if (sr)
            find_split(t, R);
    }
    hist_put(t, parent);
    if (L->best.feat < 0) {
        hist_put(t, L->hist);
        L->hist = NULL;
    }
    if (R->best.feat < 0) {
        hist_put(t, R->hist);
        R->hist = NULL;
    }
    return 0;
}

/* Grows one tree on rows idx[0..n): best split first, so a leaf limit
 * keeps the most useful splits; with only a depth limit the order does
 * not change the tree. */
static int grow_tree(trainer *t, size_t n)
{
    t->nnodes = 0;
    gh *h = hist_get(t);
    if (!h)
        return -1;
    build_hist(t, 0, n, h);
    gh sum = {0, 0};
    for (size_t b = 0; b < NBIN; b++) {
        sum.g += h[b].g;
        sum.h += h[b].h;
    }
    tnode *root = new_node(t, 0, n, 0, sum, -INFINITY, INFINITY);
    if (!root) {
        hist_put(t, h);
        return -1;
    }
    root->hist = h;
    if (can_split(t, root))
        find_split(t, root);
    size_t leaves = 1;
    for (;;) {
        if (t->p->max_leaves > 0 && leaves >= (size_t) t->p->max_leaves)
            break;
        size_t pick = SIZE_MAX;
        for (size_t k = 0; k < t->nnodes; k++) {
            const tnode *nd = &t->nodes[k];
            if (nd->left < 0 && nd->best.feat >= 0 &&
                (pick == SIZE_MAX || nd->best.gain > t->nodes[pick].best.gain))
                pick = k;
        }
        if (pick == SIZE_MAX)
            break;
        int rc = split_node(t, pick);
        if (rc < 0)
            return -1;
        leaves += rc == 0;
    }
    for (size_t k = 0; k < t->nnodes; k++) {
        hist_put(t, t->nodes[k].hist);
        t->nodes[k].hist = NULL;
    }
    return 0;
}

/* ---- applying a tree to all rows ----------------------------------------- */

typedef struct update_job {
    const trainer *t;
    const uint8_t *bins;
    double *pred;
    const double *w; /* NULL: no cover */
    size_t n;
    double *cover; /* per block: nnodes */
} update_job;

static void update_task(void *ctx, size_t task)
{
    const update_job *j = ctx;
    const trainer *t = j->t;
    size_t a = task * BLOCK_ROWS, b = a + BLOCK_ROWS < j->n ? a + BLOCK_ROWS : j->n;
    double *cov = j->w ? j->cover + task * t->nnodes : NULL, lr = t->p->learning_rate;
    if (cov)
        memset(cov, 0, t->nnodes * sizeof *cov);
    for (size_t i = a; i < b; i++) {
        const uint8_t *br = j->bins + i * t->nf;
        int32_t k = 0;
        while (t->nodes[k].left >= 0) {
            const tnode *nd = &t->nodes[k];
            k = goes_left(nd, br[nd->feat]) ? nd->left : nd->right;
        }
        j->pred[i] += lr * t->nodes[k].weight;
        if (cov)
            cov[k] += j->w[i];
    }
}

static double logistic(double eta)
{
    if (eta >= 0)
        return 1 / (1 + exp(-eta));
    double e = exp(eta);
    return e / (1 + e);
}

typedef struct grad_job {
    trainer *t;
} grad_job;

static void grad_task(void *ctx, size_t task)
{
    trainer *t = ((grad_job *) ctx)->t;
    size_t a = task * BLOCK_ROWS, b = a + BLOCK_ROWS < t->n ? a + BLOCK_ROWS : t->n;
    for (size_t i = a; i < b; i++) {
        double p = logistic(t->pred[i]), w = t->w[i];
        t->grad[i].g = w * (p - t->y[i]);
        t->grad[i].h = w * p * (1 - p);
    }
}

/* Weighted log-loss of predictions (logits) in row order. */
static double log_loss(const double *eta, const double *y, const double *w, size_t n)
{
    double s = 0, sw = 0;
    for (size_t i = 0; i < n; i++) {
        /* log(1 + exp(-z)) for z = eta if y = 1, -eta if y = 0, without overflow */
        double z = y[i] > 0.5 ? eta[i] : -eta[i];
        double l = z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z));
        s += w[i] * l;
        sw += w[i];
    }
    return sw > 0 ? s / sw : NAN;
}

/* Adds the finished tree to g: thresholds from the bin edges, leaf values
 * shrunk, covers from every fit row (merged in block order). */
static int emit_tree(trainer *t, pf_gbdt *g, const double *cover, pf_error *err)
{
    size_t n = t->nnodes;
    pf_gbdt_node *nodes = calloc(n, sizeof *nodes);
    int32_t *right = malloc(n * sizeof *right);
    double *cov = malloc(n * sizeof *cov);
    int rc = 0;
    if (!nodes || !right || !cov) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(cov, cover, n * sizeof *cov);
    /* Children come after their parents: sum covers bottom up. */
    for (size_t k = n; k-- > 0;)
        if (t->nodes[k].left >= 0)
            cov[k] = cov[t->nodes[k].left] + cov[t->nodes[k].right];
    for (size_t k = 0; k < n; k++) {
        const tnode *nd = &t->nodes[k];
        right[k] = nd->right;
        nodes[k].left = nd->left;
        if (nd->left < 0) {
            nodes[k].value = t->p->learning_rate * nd->weight;
            nodes[k].feature = -1;
        } else {
            nodes[k].feature = (int16_t) nd->feat;
            nodes[k].threshold = t->edges[nd->feat][nd->bin - 1];
            nodes[k].default_left = (uint8_t) nd->dleft;
        }
    }
    rc = pf_gbdt_add_tree(g, n, nodes, right, cov, err);
out:
    free(nodes);
    free(right);
    free(cov);
    return rc;
}

static void trainer_free(trainer *t)
{
    pool_stop(&t->pl);
    free(t->bins);
    free(t->vbins);
    if (t->edges)
        for (size_t f = 0; f < t->nf; f++)
            free(t->edges[f]);
    free(t->edges);
    free(t->nedges);
    free(t->grad);
    free(t->pred);
    free(t->vpred);
    free(t->idx);
    free(t->tmp);
    free(t->blocks);
    for (size_t k = 0; k < t->nfree; k++)
        free(t->free_hist[k]);
    free(t->free_hist);
    free(t->active);
    if (t->nodes)
        for (size_t k = 0; k < t->nnodes; k++)
            free(t->nodes[k].hist);
    free(t->nodes);
    free(t->cover);
}

static int check_params(const pf_gbdt_params *p, pf_error *err)
{
    if (p->ntrees < 1 || p->ntrees > 100000)
        return pf_error_set(err, PF_EINVAL, "the number of trees must be 1 to 100000");
    if (p->max_depth < 0 || p->max_depth > 30 || p->max_leaves < 0 || p->max_leaves > 65536 ||
        (p->max_depth == 0 && p->max_leaves == 0))
        return pf_error_set(err, PF_EINVAL,
                            "trees need a depth limit (1 to 30) or a leaf limit (2 to 65536)");
    if (p->max_leaves == 1)
        return pf_error_set(err, PF_EINVAL, "a leaf limit must be at least 2");
    if (!(p->learning_rate > 0 && p->learning_rate <= 1))
        return pf_error_set(err, PF_EINVAL, "the learning rate must be in (0, 1]");
    if (!(p->subsample > 0 && p->subsample <= 1) || !(p->colsample > 0 && p->colsample <= 1))
        return pf_error_set(err, PF_EINVAL, "subsample shares must be in (0, 1]");
    if (!(p->l2 >= 0) || !isfinite(p->l2) || !(p->min_child_weight >= 0) ||
        !isfinite(p->min_child_weight) || !(p->min_split_gain >= 0) || !isfinite(p->min_split_gain))
        return pf_error_set(err, PF_EINVAL,
                            "l2, min child weight and min split gain must be finite and >= 0");
    if (p->max_bins < 2 || p->max_bins > 255)
        return pf_error_set(err, PF_EINVAL, "bins must be 2 to 255");
    if (p->early_stopping < 0)
        return pf_error_set(err, PF_EINVAL, "early stopping rounds must be >= 0");
    return 0;
}

int pf_gbdt_train(const pf_gbdt_data *fit, const pf_gbdt_data *valid, size_t nfeat, const int *cols,
                  const pf_gbdt_params *p, pf_gbdt **out, pf_gbdt_report *rep, pf_error *err)
{
    *out = NULL;
    int rc = check_params(p, err);
    if (rc)
        return rc;
    if (nfeat == 0 || nfeat > 32767)
        return pf_error_set(err, PF_EINVAL, "a gbdt needs 1 to 32767 features");
    if (fit->n < 2 || fit->n > UINT32_MAX)
        return pf_error_set(err, PF_EINVAL, "%zu fit rows: need 2 to 2^32 - 1", fit->n);
    double sw = 0, swy = 0;
    for (size_t i = 0; i < fit->n; i++) {
        if (!(fit->w[i] > 0) || !isfinite(fit->w[i]))
            return pf_error_set(err, PF_EINVAL, "fit row %zu: weight %g is not positive", i + 1,
                                fit->w[i]);
        sw += fit->w[i];
        swy += fit->w[i] * fit->y[i];
    }
    if (swy <= 0 || swy >= sw)
        return pf_error_set(err, PF_EINVAL,
                            "the label takes only one value in the fit rows (%s): nothing to learn",
                            swy <= 0 ? "all 0" : "all 1");
    double base = log(swy / sw) - log1p(-swy / sw);

    trainer t = {.p = p, .nf = nfeat, .n = fit->n, .nv = valid ? valid->n : 0};
    pf_gbdt *g = NULL;
    t.y = fit->y;
    t.w = fit->w;
    size_t nblocks = (t.n + BLOCK_ROWS - 1) / BLOCK_ROWS;
    size_t maxnodes = p->max_leaves > 0 ? 2 * (size_t) p->max_leaves : ((size_t) 2 << p->max_depth);
    if (p->max_depth > 0 && p->max_leaves > 0 && ((size_t) 2 << p->max_depth) < maxnodes)
        maxnodes = (size_t) 2 << p->max_depth;
    t.max_blocks = nblocks;
    if (pool_start(&t.pl, p->threads)) {
        rc = pf_error_set(err, PF_ENOMEM, "cannot start threads");
        goto out;
    }
    t.edges = calloc(nfeat, sizeof *t.edges);
    t.nedges = calloc(nfeat, sizeof *t.nedges);
    t.bins = malloc(t.n * nfeat);
    t.vbins = malloc((t.nv ? t.nv : 1) * nfeat);
    t.grad = malloc(t.n * sizeof *t.grad);
    t.pred = malloc(t.n * sizeof *t.pred);
    t.vpred = malloc((t.nv ? t.nv : 1) * sizeof *t.vpred);
    t.idx = malloc(t.n * sizeof *t.idx);
    t.tmp = malloc(t.n * sizeof *t.tmp);
    t.blocks = malloc(nblocks * nfeat * NBIN * sizeof *t.blocks);
    t.free_hist = malloc((maxnodes + 4) * sizeof *t.free_hist);
    t.active = malloc(nfeat);
    t.cover = malloc(nblocks * maxnodes * sizeof *t.cover);
    if (!t.edges || !t.nedges || !t.bins || !t.vbins || !t.grad || !t.pred || !t.vpred || !t.idx ||
        !t.tmp || !t.blocks || !t.free_hist || !t.active || !t.cover)
        goto oom;
    for (size_t f = 0; f < nfeat; f++)
        if (make_edges(fit, nfeat, f, p->max_bins, &t.edges[f], &t.nedges[f]))
            goto oom;
    bin_job bj = {fit, nfeat, t.edges, t.nedges, t.bins};
    pool_run(&t.pl, nblocks, bin_task, &bj);
    if (t.nv) {
        bin_job vj = {valid, nfeat, t.edges, t.nedges, t.vbins};
        pool_run(&t.pl, (t.nv + BLOCK_ROWS - 1) / BLOCK_ROWS, bin_task, &vj);
    }
    for (size_t i = 0; i < t.n; i++)
        t.pred[i] = base;
    for (size_t i = 0; i < t.nv; i++)
        t.vpred[i] = base;
    if ((rc = pf_gbdt_new(&g, nfeat, cols, base, err)))
        goto out;
    if (p->monotone)
        memcpy(g->monotone, p->monotone, nfeat);

    double best_loss = INFINITY;
    int best = 0, round;
    size_t ncol = (size_t) llround(p->colsample * (double) nfeat);
    if (ncol < 1)
        ncol = 1;
    double *key = malloc(nfeat * sizeof *key);
    if (!key)
        goto oom;
    for (round = 0; round < p->ntrees; round++) {
        grad_job gj = {&t};
        pool_run(&t.pl, nblocks, grad_task, &gj);
        size_t n = 0;
        for (size_t i = 0; i < t.n; i++)
            if (p->subsample >= 1 ||
                pf_gbdt_uniform(p->seed, 2 * (uint64_t) round, i) < p->subsample)
                t.idx[n++] = (uint32_t) i;
        /* The ncol features with the smallest keys (ties by index). */
        for (size_t f = 0; f < nfeat; f++) {
            key[f] = pf_gbdt_uniform(p->seed, 2 * (uint64_t) round + 1, f);
            t.active[f] = ncol >= nfeat;
        }
        for (size_t f = 0; f < nfeat && ncol < nfeat; f++) {
            size_t below = 0;
            for (size_t q = 0; q < nfeat; q++)
                below += key[q] < key[f] || (key[q] == key[f] && q < f);
            t.active[f] = below < ncol;
        }
        if (n < 2 || grow_tree(&t, n)) {
            if (n >= 2) {
                free(key);
                goto oom;
            }
            break;
        }
        if (n == t.n) {
            /* Every fit row is in the tree: each leaf's rows are its segment. */
            for (size_t k = 0; k < t.nnodes; k++) {
                const tnode *nd = &t.nodes[k];
                double v = p->learning_rate * nd->weight, c = 0;
                if (nd->left >= 0)
                    continue;
                for (size_t q = nd->a; q < nd->b; q++) {
                    t.pred[t.idx[q]] += v;
                    c += t.w[t.idx[q]];
                }
                t.cover[k] = c;
            }
        } else {
            update_job uj = {&t, t.bins, t.pred, t.w, t.n, t.cover};
            pool_run(&t.pl, nblocks, update_task, &uj);
            for (size_t k = 0; k < t.nnodes; k++)
                for (size_t b = 1; b < nblocks; b++)
                    t.cover[k] += t.cover[b * t.nnodes + k];
        }
        if ((rc = emit_tree(&t, g, t.cover, err))) {
            free(key);
            goto out;
        }
        if (t.nv) {
            update_job vj = {&t, t.vbins, t.vpred, NULL, t.nv, NULL};
            pool_run(&t.pl, (t.nv + BLOCK_ROWS - 1) / BLOCK_ROWS, update_task, &vj);
            double l = log_loss(t.vpred, valid->y, valid->w, t.nv);
            if (l < best_loss) {
                best_loss = l;
                best = round;
            } else if (p->early_stopping > 0 && round - best >= p->early_stopping) {
                round++;
                break;
            }
        }
    }
    free(key);
    rep->rounds = round;
    rep->trees = (int) g->ntrees;
    rep->valid_log_loss = NAN;
    if (t.nv && p->early_stopping > 0 && g->ntrees > (size_t) best + 1) {
        pf_gbdt_truncate(g, (size_t) best + 1);
        rep->trees = best + 1;
    }
    if (t.nv)
        rep->valid_log_loss = best_loss < INFINITY ? best_loss : NAN;
    pf_gbdt_compile(g);
    /* The fit log-loss of the trees kept: the running predictions hold
     * them, summed in tree order as the kernel does, unless some were cut. */
    if (g->ntrees == (size_t) rep->rounds) {
        rep->fit_log_loss = log_loss(t.pred, fit->y, fit->w, t.n);
    } else {
        size_t chunk = 4096;
        double s = 0, swl = 0, *eta = malloc(chunk * sizeof *eta);
        if (!eta)
            goto oom;
        for (size_t i0 = 0; i0 < t.n; i0 += chunk) {
            size_t m = t.n - i0 < chunk ? t.n - i0 : chunk;
            pf_gbdt_predict(g, fit->x + i0 * nfeat, m, eta);
            double l = log_loss(eta, fit->y + i0, fit->w + i0, m), wsum = 0;
            for (size_t i = 0; i < m; i++)
                wsum += fit->w[i0 + i];
            s += l * wsum;
            swl += wsum;
        }
        free(eta);
        rep->fit_log_loss = s / swl;
    }
    goto out;
oom:
    rc = pf_error_set(err, PF_ENOMEM, "out of memory");
out:
    trainer_free(&t);
    if (rc) {
        pf_gbdt_free(g);
        return rc;
    }
    *out = g;
    return 0;
}
