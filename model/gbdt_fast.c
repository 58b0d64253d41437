/*
 * gbdt_fast.c - the byte-compare scoring layout of a gbdt ensemble: what
 * pf_gbdt_predict() walks once pf_gbdt_compile() has built it.
 *
 * Every split compares one feature with one of that feature's thresholds.
 * Sort feature j's distinct thresholds t_0 < t_1 < ... < t_{K-1} and give
 * a value v (not NaN) the count c(v) = #{i : t_i <= v}. Because the t_i
 * are sorted, t_i <= v exactly for i < c(v), so for every threshold t_m
 *
 *     v < t_m  <=>  c(v) <= m  <=>  c(v) < m + 1.
 *
 * That is the same test, on a byte instead of a double, for every v,
 * including values equal to a threshold, infinities, signed zeros and
 * denormals (the counts are taken with the same double comparisons the
 * nodes make). A row is binned once per block into 2 * nfeat + 1 bytes:
 *
 *   byte j           c(v) + 1 (1..K+1), or 0 when v is missing
 *   byte nfeat + j   c(v)     (0..K),   or 255 when v is missing
 *   byte 2 * nfeat   0
 *
 * A node whose missing values go left tests byte j < m + 2 (0 is below
 * every such bound); one whose missing values go right tests byte
 * nfeat + j < m + 1 (255 is above every such bound, as K <= 254). A node
 * is then one 32-bit word: the byte's offset and the bound.
 *
 * Each tree is stored complete to its own depth d, children of node k at
 * 2k + 1 and 2k + 2, a leaf above depth d padded by nodes that test the
 * constant byte 2 * nfeat < 1 (always left) down to depth d. A row takes
 * exactly d steps, with no pointer to follow and no test for leaves, and
 * a block of rows walks a tree level by level, so that the rows' steps
 * are independent and overlap. The leaf values
 * are added per row in tree order, as the node kernel adds them, so the
 * logits are the same bits.
 */
#include "gbdt_fast.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Deepest tree stored complete (2^d - 1 node words and 2^d leaves). */
#define FAST_MAX_DEPTH 10
/* Most distinct thresholds per feature (missing bytes 0 and 255 stay free). */
#define FAST_MAX_THRESHOLDS 254
/* Bytes of binned rows per block (on the stack). */
#define FAST_BLOCK_BYTES 16384
/* Most rows per block: a tree's words and leaves are loaded once for them. */
#define FAST_BLOCK_ROWS 256

struct pf_gbdt_fast {
    size_t nfeat, ntrees, stride; /* stride = 2 * nfeat + 1 bytes per binned row */
    size_t block;                 /* rows per block */
    double *thr;                  /* each feature's sorted distinct thresholds */
    size_t *thr_off;              /* nfeat + 1 offsets into thr */
    uint32_t *word;               /* per tree 2^d - 1 node words: offset | bound << 16 */
    double *leaf;                 /* per tree 2^d leaf values */
    size_t *word_off, *leaf_off;  /* ntrees offsets */
    uint8_t *depth;               /* per tree */
};

void pf_gbdt_fast_free(pf_gbdt_fast *fs)
{
    if (!fs)
        return;
    free(fs->thr);
    free(fs->thr_off);
    free(fs->word);
    free(fs->leaf);
    free(fs->word_off);
    free(fs->leaf_off);
    free(fs->depth);
    free(fs);
}

size_t pf_gbdt_fast_ntrees(const pf_gbdt_fast *fs)
{
    return fs->ntrees;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* #{i < k : t[i] <= v} for sorted t and v not NaN, without branches on
 * the data (the loop runs the same steps for every v). */
static inline size_t count_le(const double *t, size_t k, double v)
{
    if (k == 0)
        return 0;
    const double *b = t;
    size_t n = k;
    while (n > 1) {
        size_t h = n / 2;
        b = b[h] <= v ? b + h : b;
        n -= h;
    }
    return (size_t) (b - t) + (*b <= v);
}

typedef struct filler {
    const pf_gbdt_fast *fs;
    const pf_gbdt_node *nd;
    uint32_t *word;
    double *leaf;
    size_t depth;
} filler;

static uint32_t node_word(const pf_gbdt_fast *fs, const pf_gbdt_node *x)
{
    size_t j = (size_t) x->feature, k = fs->thr_off[j + 1] - fs->thr_off[j];
    const double *t = fs->thr + fs->thr_off[j];
    /* t[m] == threshold: the number of thresholds below it. */
    size_t m = count_le(t, k, x->threshold) - 1;
    if (x->default_left)
        return (uint32_t) j | (uint32_t) (m + 2) << 16;
    return (uint32_t) (fs->nfeat + j) | (uint32_t) (m + 1) << 16;
}

/* Node k of the source tree at position pos, level steps from the root. */
static void fill(const filler *f, int32_t k, size_t pos, size_t level)
{
    const pf_gbdt_node *x = &f->nd[k];
    if (level == f->depth) {
        f->leaf[pos - (((size_t) 1 << f->depth) - 1)] = x->value;
        return;
    }
    if (x->left < 0) {
        f->word[pos] = (uint32_t) (2 * f->fs->nfeat) | 1u << 16;
        fill(f, k, 2 * pos + 1, level + 1);
        fill(f, k, 2 * pos + 2, level + 1);
        return;
    }
    f->word[pos] = node_word(f->fs, x);
    fill(f, x->left, 2 * pos + 1, level + 1);
    fill(f, x->left + 1, 2 * pos + 2, level + 1);
}

pf_gbdt_fast *pf_gbdt_fast_build(const pf_gbdt *g)
{
    size_t nf = g->nfeat, stride = 2 * nf + 1;
    if (nf == 0 || stride > FAST_BLOCK_BYTES || stride > UINT16_MAX)
        return NULL;
    pf_gbdt_fast *fs = calloc(1, sizeof *fs);
    if (!fs)
        return NULL;
    fs->nfeat = nf;
    fs->ntrees = g->ntrees;
    fs->stride = stride;
    fs->block =
        FAST_BLOCK_BYTES / stride < FAST_BLOCK_ROWS ? FAST_BLOCK_BYTES / stride : FAST_BLOCK_ROWS;
    size_t nt = g->ntrees ? g->ntrees : 1, nwords = 0, nleaves = 0;
    fs->thr_off = calloc(nf + 1, sizeof *fs->thr_off);
    fs->thr = malloc((g->nnodes ? g->nnodes : 1) * sizeof *fs->thr);
    fs->word_off = malloc(nt * sizeof *fs->word_off);
    fs->leaf_off = malloc(nt * sizeof *fs->leaf_off);
    fs->depth = malloc(nt);
    size_t *fill_at = calloc(nf + 1, sizeof *fill_at);
    if (!fs->thr_off || !fs->thr || !fs->word_off || !fs->leaf_off || !fs->depth || !fill_at)
        goto fail;
    for (size_t t = 0; t < g->ntrees; t++) {
        size_t d = g->depth[t];
        if (d > FAST_MAX_DEPTH)
            goto fail;
        fs->depth[t] = (uint8_t) d;
        fs->word_off[t] = nwords;
        fs->leaf_off[t] = nleaves;
        nwords += ((size_t) 1 << d) - 1;
        nleaves += (size_t) 1 << d;
    }
    /* Each feature's thresholds, sorted, duplicates (by ==) dropped. */
    for (size_t k = 0; k < g->nnodes; k++)
        if (g->node[k].left >= 0)
            fs->thr_off[g->node[k].feature + 1]++;
    for (size_t j = 0; j < nf; j++)
        fs->thr_off[j + 1] += fs->thr_off[j];
    for (size_t k = 0; k < g->nnodes; k++)
        if (g->node[k].left >= 0) {
            size_t j = (size_t) g->node[k].feature;
            fs->thr[fs->thr_off[j] + fill_at[j]++] = g->node[k].threshold;
        }
    size_t out = 0;
    for (size_t j = 0; j < nf; j++) {
        double *t = fs->thr + fs->thr_off[j];
        size_t k = fs->thr_off[j + 1] - fs->thr_off[j], u = 0;
        qsort(t, k, sizeof *t, cmp_double);
        fs->thr_off[j] = out;
        for (size_t i = 0; i < k; i++)
            if (u == 0 || !(t[i] == fs->thr[out + u - 1]))
                fs->thr[out + u++] = t[i];
        if (u > FAST_MAX_THRESHOLDS)
            goto fail;
        out += u;
    }
    fs->thr_off[nf] = out;
    fs->word = malloc((nwords ? nwords : 1) * sizeof *fs->word);
    fs->leaf = malloc((nleaves ? nleaves : 1) * sizeof *fs->leaf);
    if (!fs->word || !fs->leaf)
        goto fail;
    for (size_t t = 0; t < g->ntrees; t++) {
        filler f = {fs, g->node + g->root[t], fs->word + fs->word_off[t],
                    fs->leaf + fs->leaf_off[t], fs->depth[t]};
        fill(&f, 0, 0, 0);
    }
    free(fill_at);
    return fs;
fail:
    free(fill_at);
    pf_gbdt_fast_free(fs);
    return NULL;
}

/* Rows x[0..nb) binned into b (stride bytes each). */
static void bin_rows(const pf_gbdt_fast *fs, const double *x, size_t nb, uint8_t *b)
{
    size_t nf = fs->nfeat, st = fs->stride;
    for (size_t j = 0; j < nf; j++) {
        const double *t = fs->thr + fs->thr_off[j];
        size_t k = fs->thr_off[j + 1] - fs->thr_off[j];
        for (size_t r = 0; r < nb; r++) {
            double v = x[r * nf + j];
            size_t c = count_le(t, k, v);
            int miss = v != v;
            b[r * st + j] = miss ? 0 : (uint8_t) (c + 1);
            b[r * st + nf + j] = miss ? 255 : (uint8_t) c;
        }
    }
    for (size_t r = 0; r < nb; r++)
        b[r * st + 2 * nf] = 0;
}

/* Binned rows b[0..nb) through one tree of depth d, adding its leaves to
 * acc: level by level over all the rows, so the rows' steps are
 * independent and overlap. */
static void walk(const uint32_t *w, const double *leaf, size_t d, const uint8_t *b, size_t st,
                 size_t nb, double *acc)
{
    uint32_t k[FAST_BLOCK_ROWS];
    size_t base = ((size_t) 1 << d) - 1;
    memset(k, 0, nb * sizeof *k);
    for (size_t l = 0; l < d; l++) {
        const uint8_t *row = b;
        for (size_t r = 0; r < nb; r++, row += st) {
            uint32_t x = w[k[r]];
            k[r] = 2 * k[r] + 1 + (row[x & 0xffff] >= (x >> 16));
        }
    }
    for (size_t r = 0; r < nb; r++)
        acc[r] += leaf[k[r] - base];
}

void pf_gbdt_fast_predict(const pf_gbdt_fast *fs, double base_score, const double *x, size_t n,
                          double *logit)
{
    uint8_t b[FAST_BLOCK_BYTES];
    double acc[FAST_BLOCK_ROWS];
    for (size_t i0 = 0; i0 < n; i0 += fs->block) {
        size_t nb = n - i0 < fs->block ? n - i0 : fs->block;
        bin_rows(fs, x + i0 * fs->nfeat, nb, b);
        for (size_t r = 0; r < nb; r++)
            acc[r] = base_score;
        for (size_t t = 0; t < fs->ntrees; t++)
            walk(fs->word + fs->word_off[t], fs->leaf + fs->leaf_off[t], fs->depth[t], b,
                 fs->stride, nb, acc);
        memcpy(logit + i0, acc, nb * sizeof *acc);
    }
}
