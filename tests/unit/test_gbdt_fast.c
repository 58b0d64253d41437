/*
 * test_gbdt_fast.c - the compiled scoring layout of gbdt ensembles
 * (pf_gbdt_compile, model/gbdt_fast.c) against a plain walk of the nodes
 * written here: "x < threshold goes left, a missing x goes to its default
 * side", the leaf values summed in tree order from the base score.
 *
 * Random ensembles (random shapes, leaves at every depth, both default
 * sides) split on thresholds drawn from an adversarial pool: infinities,
 * signed zeros, denormals, the largest doubles, neighbours one ulp apart,
 * repeated thresholds. They are scored on rows whose values are every
 * threshold exactly, its neighbours one ulp either side, NaN, infinities,
 * zeros of both signs, denormals and random numbers. The logits must be
 * the same bits as the plain walk's, for compiled and uncompiled
 * ensembles, in blocks of any size. Ensembles the layout cannot hold (255
 * distinct thresholds on a feature, a tree 11 levels deep) must still
 * score correctly by the node walk. TreeSHAP contributions from the
 * per-leaf tables (model/gbdt_shap.c) must equal those of the path walk
 * (algorithm 2, which tests/e2e/test_gbdt.sh checks against brute-force
 * Shapley values) to 1e-12 and sum to the logit minus the expected value.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profil/gbdt.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double unif(void)
{
    return (double) (rnd() >> 11) * 0x1p-53;
}

/* The reference: walk each tree's nodes from its root. */
static double reference_logit(const pf_gbdt *g, const double *x)
{
    double eta = g->base_score;
    for (size_t t = 0; t < g->ntrees; t++) {
        const pf_gbdt_node *nd = g->node + g->root[t];
        int32_t k = 0;
        while (nd[k].left >= 0) {
            double v = x[nd[k].feature];
            int left = isnan(v) ? nd[k].default_left : v < nd[k].threshold;
            k = left ? nd[k].left : nd[k].left + 1;
        }
        eta += nd[k].value;
    }
    return eta;
}

/* Thresholds a split may use: awkward values first, then random ones. */
#define POOL 40
static double pool[POOL];

static void make_pool(void)
{
    static const double awkward[] = {-INFINITY,
                                     INFINITY,
                                     -0.0,
                                     0.0,
                                     0x1p-1074,
                                     -0x1p-1074,
                                     DBL_MIN,
                                     DBL_MIN / 2,
                                     -DBL_MAX,
                                     DBL_MAX,
                                     1.0,
                                     0x1.0000000000001p0,
                                     0x1.fffffffffffffp-1,
                                     0.5,
                                     2.0,
                                     3.0,
                                     -1.5,
                                     1e300,
                                     -1e-300,
                                     7.25};
    size_t n = sizeof awkward / sizeof awkward[0];
    memcpy(pool, awkward, sizeof awkward);
    for (size_t i = n; i < POOL; i++)
        pool[i] = (unif() - 0.5) * 20;
}

typedef struct builder {
    pf_gbdt_node nodes[4096];
    int32_t right[4096];
    double cover[4096];
    int32_t n;
    size_t nfeat;
    double p_split; /* probability that a node above max depth splits */
} builder;

static int32_t build(builder *b, size_t depth, size_t max_depth, const double *thr, size_t nthr)
{
    int32_t k = b->n++;
    memset(&b->nodes[k], 0, sizeof b->nodes[k]);
    b->cover[k] = 1 + unif();
    if (depth == max_depth || unif() > b->p_split) {
        b->nodes[k].left = -1;
        b->nodes[k].value = (unif() - 0.5) * (1 + (double) (rnd() % 5));
        b->right[k] = -1;
        return k;
    }
    b->nodes[k].feature = (int16_t) (rnd() % b->nfeat);
    b->nodes[k].threshold = thr[rnd() % nthr];
    b->nodes[k].default_left = (uint8_t) (rnd() & 1);
    int32_t l = build(b, depth + 1, max_depth, thr, nthr);
    int32_t r = build(b, depth + 1, max_depth, thr, nthr);
    b->nodes[k].left = l;
    b->right[k] = r;
    return k;
}

static void add_trees(pf_gbdt *g, size_t ntrees, size_t max_depth, const double *thr, size_t nthr)
{
    static builder b;
    b.nfeat = g->nfeat;
    b.p_split = 0.85;
    for (size_t t = 0; t < ntrees; t++) {
        b.n = 0;
        build(&b, 0, max_depth, thr, nthr);
        assert_int_equal(pf_gbdt_add_tree(g, (size_t) b.n, b.nodes, b.right, b.cover, NULL), 0);
    }
}

/* A value for a row: a threshold, its neighbours, a special or random. */
static double row_value(void)
{
    static const double special[] = {NAN,       -INFINITY,  INFINITY,    -0.0,     0.0,
                                     0x1p-1074, -0x1p-1074, DBL_MIN / 4, -DBL_MAX, DBL_MAX};
    double t = pool[rnd() % POOL];
    switch (rnd() % 6) {
    case 0:
    case 1:
        return t;
    case 2:
        return nextafter(t, INFINITY);
    case 3:
        return nextafter(t, -INFINITY);
    case 4:
        return special[rnd() % (sizeof special / sizeof special[0])];
    default:
        return (unif() - 0.5) * 30;
    }
}

/* Scores n rows with pf_gbdt_predict in blocks of sizes given by step and
 * compares each logit bit for bit with the reference walk. */
static void check_rows(const pf_gbdt *g, size_t n, size_t step)
{
    size_t nf = g->nfeat;
    double *x = malloc(n * nf * sizeof *x), *eta = malloc(n * sizeof *eta);
    assert_non_null(x);
    assert_non_null(eta);
    for (size_t i = 0; i < n * nf; i++)
        x[i] = row_value();
    for (size_t i0 = 0; i0 < n; i0 += step)
        pf_gbdt_predict(g, x + i0 * nf, n - i0 < step ? n - i0 : step, eta + i0);
    for (size_t i = 0; i < n; i++) {
        double want = reference_logit(g, x + i * nf);
        if (memcmp(&want, &eta[i], sizeof want) != 0)
            fail_msg("row %zu: kernel %.17g, reference walk %.17g", i, eta[i], want);
    }
    free(x);
    free(eta);
}

static pf_gbdt *ensemble(size_t nfeat, double base);

/* TreeSHAP contributions of n rows by the path walk (g uncompiled) and by
 * the tables (after pf_gbdt_compile): the same values to rounding. */
static void check_contributions(pf_gbdt *g, size_t n)
{
    size_t nf = g->nfeat;
    double *x = malloc(n * nf * sizeof *x), *walk = malloc(n * nf * sizeof *walk);
    double *tab = malloc(nf * sizeof *tab), *eta = malloc(n * sizeof *eta);
    assert_true(x && walk && tab && eta);
    for (size_t i = 0; i < n * nf; i++)
        x[i] = row_value();
    assert_null(g->shap);
    double *ws = malloc(pf_gbdt_shap_workspace(g) * sizeof *ws);
    for (size_t i = 0; i < n; i++)
        eta[i] = pf_gbdt_contributions(g, x + i * nf, walk + i * nf, ws);
    free(ws);
    pf_gbdt_compile(g);
    assert_non_null(g->shap);
    ws = malloc(pf_gbdt_shap_workspace(g) * sizeof *ws);
    double e = pf_gbdt_expected_value(g);
    for (size_t i = 0; i < n; i++) {
        double logit = pf_gbdt_contributions(g, x + i * nf, tab, ws), mag = 0, sum = 0;
        assert_true(logit == eta[i]);
        for (size_t j = 0; j < nf; j++)
            mag += fabs(walk[i * nf + j]);
        for (size_t j = 0; j < nf; j++) {
            sum += tab[j];
            if (!(fabs(tab[j] - walk[i * nf + j]) <= 1e-12 * (1 + mag)))
                fail_msg("row %zu, feature %zu: tables %.17g, path walk %.17g", i, j, tab[j],
                         walk[i * nf + j]);
        }
        if (!(fabs(sum - (logit - e)) <= 1e-12 * (1 + mag + fabs(logit))))
            fail_msg("row %zu: contributions sum to %.17g, logit - expected %.17g", i, sum,
                     logit - e);
    }
    free(ws);
    free(x);
    free(walk);
    free(tab);
    free(eta);
}

static void test_contributions(void **state)
{
    (void) state;
    rng_state = 777;
    make_pool();
    for (int rep = 0; rep < 12; rep++) {
        size_t nf = 1 + rnd() % 8, depth = 1 + rnd() % 9;
        pf_gbdt *g = ensemble(nf, (unif() - 0.5) * 3);
        add_trees(g, 1 + rnd() % 30, depth, pool, POOL);
        check_contributions(g, 200);
        pf_gbdt_free(g);
    }
}

static pf_gbdt *ensemble(size_t nfeat, double base)
{
    int cols[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    pf_gbdt *g;
    assert_int_equal(pf_gbdt_new(&g, nfeat, cols, base, NULL), 0);
    return g;
}

static void test_random_ensembles(void **state)
{
    (void) state;
    rng_state = 20240611;
    make_pool();
    for (int rep = 0; rep < 20; rep++) {
        size_t nf = 1 + rnd() % 8, depth = 1 + rnd() % 8;
        pf_gbdt *g = ensemble(nf, (unif() - 0.5) * 3);
        add_trees(g, 1 + rnd() % 60, depth, pool, POOL);
        /* Uncompiled: the node walk. */
        assert_null(g->fast);
        check_rows(g, 300, 300);
        pf_gbdt_compile(g);
        assert_non_null(g->fast);
        check_rows(g, 1000, 1000);
        check_rows(g, 1000, 7);
        check_rows(g, 1000, 1);
        /* A tree added after compiling is scored too (the layout is dropped). */
        add_trees(g, 1, depth, pool, POOL);
        assert_null(g->fast);
        check_rows(g, 200, 200);
        pf_gbdt_compile(g);
        pf_gbdt_truncate(g, g->ntrees - 1);
        assert_null(g->fast);
        check_rows(g, 200, 200);
        pf_gbdt_free(g);
    }
}

/* Single-leaf trees (depth 0) and an ensemble with no trees. */
static void test_stumps_and_empty(void **state)
{
    (void) state;
    rng_state = 7;
    make_pool();
    pf_gbdt *g = ensemble(3, 0.125);
    pf_gbdt_compile(g);
    check_rows(g, 50, 50);
    double x[3] = {1, 2, 3}, eta;
    pf_gbdt_predict(g, x, 1, &eta);
    assert_true(eta == 0.125);
    pf_gbdt_node leaf = {.left = -1, .value = 0.375};
    int32_t right = -1;
    double cover = 2;
    assert_int_equal(pf_gbdt_add_tree(g, 1, &leaf, &right, &cover, NULL), 0);
    add_trees(g, 10, 3, pool, POOL);
    assert_int_equal(pf_gbdt_add_tree(g, 1, &leaf, &right, &cover, NULL), 0);
    pf_gbdt_compile(g);
    assert_non_null(g->fast);
    check_rows(g, 500, 500);
    pf_gbdt_free(g);
}

/* 254 distinct thresholds on a feature fit the layout; 255 do not, and
 * the node walk scores them. */
static void test_threshold_limit(void **state)
{
    (void) state;
    rng_state = 99;
    make_pool();
    for (int extra = 0; extra <= 1; extra++) {
        /* The pool (where -0.0 and 0.0 count as one) topped up with new
         * values until 254 or 255 are distinct. */
        size_t nthr = 0, distinct = 0;
        double *thr = malloc(300 * sizeof *thr);
        for (size_t i = 0; distinct < 254 + (size_t) extra; i++) {
            double v = i < POOL ? pool[i] : (double) i * 0.75 - 100 + 0x1p-10;
            int seen = 0;
            for (size_t q = 0; q < nthr; q++)
                seen |= thr[q] == v;
            distinct += !seen;
            thr[nthr++] = v;
        }
        pf_gbdt *g = ensemble(1, -0.5);
        /* Every threshold used at least once: chains of single splits. */
        for (size_t i = 0; i < nthr; i++) {
            pf_gbdt_node nd[3] = {{0}};
            int32_t right[3] = {2, -1, -1};
            double cover[3] = {3, 1, 2};
            nd[0].left = 1, nd[0].feature = 0, nd[0].threshold = thr[i];
            nd[0].default_left = (uint8_t) (i & 1);
            nd[1].left = -1, nd[1].value = 0.001 * (double) i;
            nd[2].left = -1, nd[2].value = -0.002 * (double) i;
            assert_int_equal(pf_gbdt_add_tree(g, 3, nd, right, cover, NULL), 0);
        }
        add_trees(g, 20, 6, thr, nthr);
        pf_gbdt_compile(g);
        if (extra)
            assert_null(g->fast);
        else
            assert_non_null(g->fast);
        for (size_t i = 0; i < POOL; i++)
            pool[i] = thr[rnd() % nthr];
        check_rows(g, 2000, 2000);
        make_pool();
        pf_gbdt_free(g);
        free(thr);
    }
}

/* A tree deeper than the layout holds leaves the node walk to score. */
static void test_deep_tree(void **state)
{
    (void) state;
    rng_state = 5;
    make_pool();
    pf_gbdt *g = ensemble(4, 0.0);
    add_trees(g, 3, 6, pool, POOL);
    /* A chain 11 levels deep. */
    pf_gbdt_node nd[23] = {{0}};
    int32_t right[23];
    double cover[23];
    for (int k = 0; k < 23; k++) {
        cover[k] = 1;
        right[k] = -1;
        nd[k].left = -1;
        nd[k].value = 0.01 * k;
    }
    for (int k = 0; k < 11; k++) {
        nd[2 * k].left = 2 * k + 1;
        right[2 * k] = 2 * k + 2;
        nd[2 * k].feature = (int16_t) (k % 4);
        nd[2 * k].threshold = pool[k];
        nd[2 * k].default_left = (uint8_t) (k % 3 == 0);
    }
    assert_int_equal(pf_gbdt_add_tree(g, 23, nd, right, cover, NULL), 0);
    pf_gbdt_compile(g);
    assert_null(g->fast);
    check_rows(g, 1000, 1000);
    pf_gbdt_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ensembles), cmocka_unit_test(test_stumps_and_empty),
        cmocka_unit_test(test_threshold_limit),  cmocka_unit_test(test_deep_tree),
        cmocka_unit_test(test_contributions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
