/*
 * test_gbdt.c - gradient-boosted trees (gbdt.h, gbdt_train.h).
 *
 * The kernel and TreeSHAP are checked on a hand-built tree whose leaf
 * values, exact Shapley values and expected value are worked out in the
 * comments below (enumerating the two features' coalitions by hand). The
 * trainer is checked on data drawn in the test from a known model with a
 * non-monotone effect and an interaction: the same bytes for 1, 2 and 3
 * threads; contributions summing to the logit; monotone constraints
 * holding on sweeps (where the unconstrained fit is visibly not monotone);
 * leaf and depth limits; early stopping; bad parameters and a single class.
 * tests/e2e/test_gbdt.sh checks TreeSHAP against brute-force Shapley
 * values computed in Python from a trained model's file.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profil/gbdt.h"
#include "profil/gbdt_train.h"

/* |got - want| <= tol, with both values in the failure message. */
#define assert_near(got, want, tol)                                                                \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol)))                                                             \
            fail_msg("%s = %.17g, expected %.17g (tolerance %g)", #got, g_, w_, (double) (tol));   \
    } while (0)

/* The tree (covers in brackets), base score 0.25:
 *
 *   node 0: x0 < 0.5 (missing left)          [10]
 *     node 1: leaf 1                          [4]
 *     node 2: x1 < 2 (missing right)          [6]
 *       node 3: leaf 3                        [2]
 *       node 4: leaf -1                       [4]
 *
 * Given in a scrambled order (root 0; children listed out of order) to
 * exercise the breadth-first layout. */
static pf_gbdt *hand_tree(void)
{
    static const int cols[2] = {3, 7};
    pf_gbdt *g;
    assert_int_equal(pf_gbdt_new(&g, 2, cols, 0.25, NULL), 0);
    /* old index: 0 root, 1 = node 2 (x1 split), 2 = leaf -1, 3 = leaf 1, 4 = leaf 3 */
    pf_gbdt_node n[5] = {{0}};
    int32_t right[5] = {-1, -1, -1, -1, -1};
    double cover[5] = {10, 6, 4, 4, 2};
    n[0].left = 3, right[0] = 1, n[0].feature = 0, n[0].threshold = 0.5, n[0].default_left = 1;
    n[1].left = 4, right[1] = 2, n[1].feature = 1, n[1].threshold = 2, n[1].default_left = 0;
    n[2].left = -1, n[2].value = -1;
    n[3].left = -1, n[3].value = 1;
    n[4].left = -1, n[4].value = 3;
    assert_int_equal(pf_gbdt_add_tree(g, 5, n, right, cover, NULL), 0);
    return g;
}

static void test_hand_tree(void **state)
{
    (void) state;
    pf_gbdt *g = hand_tree();
    assert_int_equal(g->nnodes, 5);
    assert_int_equal(g->max_depth, 2);
    /* Breadth first: root, its children adjacent, then node 2's. */
    assert_int_equal(g->node[0].left, 1);
    assert_true(g->node[1].left < 0 && g->node[1].value == 1);
    assert_int_equal(g->node[2].left, 3);
    assert_true(g->node[3].value == 3 && g->node[4].value == -1);

    /* E = 0.25 + 0.4 * 1 + 0.6 * (2/6 * 3 + 4/6 * -1) = 0.85 */
    assert_near(pf_gbdt_expected_value(g), 0.85, 1e-15);

    double x[4 * 2] = {1, 1, NAN, 5, 0.25, NAN, 0.5, 2};
    double eta[4];
    pf_gbdt_predict(g, x, 4, eta);
    assert_near(eta[0], 3.25, 0);  /* right, then 1 < 2 left */
    assert_near(eta[1], 1.25, 0);  /* missing x0 goes left */
    assert_near(eta[2], 1.25, 0);  /* 0.25 < 0.5 */
    assert_near(eta[3], -0.75, 0); /* 0.5 is not < 0.5; 2 is not < 2 */

    /* Row (1, 1). v({}) = 0.6, v({0}) = 1/3, v({1}) = 0.4 + 0.6 * 3 = 2.2,
     * v({0,1}) = 3: phi0 = ((1/3 - 0.6) + (3 - 2.2)) / 2 = 4/15,
     * phi1 = ((2.2 - 0.6) + (3 - 1/3)) / 2 = 32/15. */
    double phi[2], ws[256];
    assert_true(pf_gbdt_shap_workspace(g) <= 256);
    double logit = pf_gbdt_contributions(g, x, phi, ws);
    assert_near(logit, 3.25, 0);
    assert_near(phi[0], 4.0 / 15, 1e-14);
    assert_near(phi[1], 32.0 / 15, 1e-14);
    /* Row (missing, 5). v({0}) = 1, v({1}) = 0.4 - 0.6 = -0.2, v({0,1}) = 1:
     * phi0 = ((1 - 0.6) + (1 + 0.2)) / 2 = 0.8, phi1 = ((-0.2 - 0.6) + 0) / 2 = -0.4. */
    logit = pf_gbdt_contributions(g, x + 2, phi, ws);
    assert_near(logit, 1.25, 0);
    assert_near(phi[0], 0.8, 1e-14);
    assert_near(phi[1], -0.4, 1e-14);
    pf_gbdt_free(g);
}

static void test_bad_trees(void **state)
{
    (void) state;
    static const int cols[2] = {0, 1};
    pf_gbdt *g;
    pf_error err;
    assert_int_equal(pf_gbdt_new(&g, 2, cols, 0, NULL), 0);
    pf_gbdt_node n[3] = {{0}};
    int32_t right[3] = {2, -1, -1};
    double cover[3] = {2, 1, 1};
    n[0].left = 1, n[0].feature = 0, n[1].left = -1, n[2].left = -1;
    /* A child before its parent (a cycle). */
    n[0].left = 0;
    assert_int_equal(pf_gbdt_add_tree(g, 3, n, right, cover, &err), PF_EINVAL);
    /* Both children the same node. */
    n[0].left = 2;
    assert_int_equal(pf_gbdt_add_tree(g, 3, n, right, cover, &err), PF_EINVAL);
    /* A feature that does not exist. */
    n[0].left = 1, n[0].feature = 2;
    assert_int_equal(pf_gbdt_add_tree(g, 3, n, right, cover, &err), PF_EINVAL);
    /* A zero cover, a NaN threshold, a non-finite leaf. */
    n[0].feature = 1;
    cover[1] = 0;
    assert_int_equal(pf_gbdt_add_tree(g, 3, n, right, cover, &err), PF_EINVAL);
    assert_non_null(strstr(err.message, "cover"));
    cover[1] = 1;
    n[0].threshold = NAN;
    assert_int_equal(pf_gbdt_add_tree(g, 3, n, right, cover, &err), PF_EINVAL);
    n[0].threshold = 1;
    n[2].value = INFINITY;
    assert_int_equal(pf_gbdt_add_tree(g, 3, n, right, cover, &err), PF_EINVAL);
    n[2].value = 0.5;
    assert_int_equal(g->ntrees, 0);
    assert_int_equal(pf_gbdt_add_tree(g, 3, n, right, cover, &err), 0);
    assert_int_equal(g->ntrees, 1);
    pf_gbdt_free(g);
}

/* ---- training on data drawn here --------------------------------------- */

#define NROWS 40000
#define NF    4

typedef struct dataset {
    double x[NROWS * NF], y[NROWS], w[NROWS];
} dataset;

static uint64_t rng_state;
static double unif(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (double) ((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

/* logit = sin(x0) + 1.5 x1 x2 - 0.3 x3 - 0.2; x0 on [0, 6.3), x1 on [0, 1),
 * x2 boolean, x3 an integer 0-9 missing for a tenth of the rows. */
static dataset *draw(uint64_t seed)
{
    dataset *d = malloc(sizeof *d);
    rng_state = seed;
    for (size_t i = 0; i < NROWS; i++) {
        double *x = d->x + i * NF;
        x[0] = 6.3 * unif();
        x[1] = unif();
        x[2] = unif() < 0.4;
        x[3] = unif() < 0.1 ? NAN : floor(10 * unif());
        double eta = sin(x[0]) + 1.5 * x[1] * x[2] - 0.3 * (isnan(x[3]) ? 4.5 : x[3]) - 0.2;
        d->y[i] = unif() < 1 / (1 + exp(-eta));
        d->w[i] = 1 + (i % 3 == 0); /* weights 1 and 2 */
    }
    return d;
}

static const int COLS[NF] = {1, 2, 5, 9};

static pf_gbdt *fit(const dataset *d, size_t nfit, const pf_gbdt_params *p, pf_gbdt_report *rep)
{
    pf_gbdt_data f = {nfit, d->x, d->y, d->w};
    pf_gbdt_data v = {NROWS - nfit, d->x + nfit * NF, d->y + nfit, d->w + nfit};
    pf_gbdt *g = NULL;
    pf_error err = {0};
    pf_gbdt_report r;
    int rc = pf_gbdt_train(&f, &v, NF, COLS, p, &g, rep ? rep : &r, &err);
    if (rc)
        fail_msg("train: %s", err.message);
    return g;
}

static int same_model(const pf_gbdt *a, const pf_gbdt *b)
{
    return a->ntrees == b->ntrees && a->nnodes == b->nnodes && a->base_score == b->base_score &&
           !memcmp(a->node, b->node, a->nnodes * sizeof *a->node) &&
           !memcmp(a->cover, b->cover, a->nnodes * sizeof *a->cover) &&
           !memcmp(a->root, b->root, (a->ntrees + 1) * sizeof *a->root);
}

static void test_threads(void **state)
{
    (void) state;
    dataset *d = draw(11);
    pf_gbdt_params p;
    pf_gbdt_params_default(&p);
    p.ntrees = 30;
    p.subsample = 0.7;
    p.colsample = 0.75;
    p.seed = 5;
    p.threads = 1;
    pf_gbdt *g1 = fit(d, 36000, &p, NULL);
    p.threads = 2;
    pf_gbdt *g2 = fit(d, 36000, &p, NULL);
    p.threads = 3;
    pf_gbdt *g3 = fit(d, 36000, &p, NULL);
    assert_true(same_model(g1, g2));
    assert_true(same_model(g1, g3));
    /* Another seed subsamples other rows: another model. */
    p.seed = 6;
    pf_gbdt *g4 = fit(d, 36000, &p, NULL);
    assert_false(same_model(g1, g4));
    pf_gbdt_free(g1);
    pf_gbdt_free(g2);
    pf_gbdt_free(g3);
    pf_gbdt_free(g4);
    free(d);
}

static void test_contributions_sum(void **state)
{
    (void) state;
    dataset *d = draw(12);
    pf_gbdt_params p;
    pf_gbdt_params_default(&p);
    p.ntrees = 60;
    p.max_depth = 5;
    pf_gbdt *g = fit(d, 36000, &p, NULL);
    double *ws = malloc(pf_gbdt_shap_workspace(g) * sizeof *ws), phi[NF], eta[500];
    double e = pf_gbdt_expected_value(g);
    pf_gbdt_predict(g, d->x, 500, eta);
    for (size_t i = 0; i < 500; i++) {
        double logit = pf_gbdt_contributions(g, d->x + i * NF, phi, ws), s = 0;
        assert_near(logit, eta[i], 1e-12);
        for (size_t j = 0; j < NF; j++)
            s += phi[j];
        assert_near(s, logit - e, 1e-9);
        /* x2 only matters with x1 (the interaction) and x0 always: never 0 */
        assert_true(phi[0] != 0);
    }
    /* The expected value is the cover-weighted mean logit of the fit rows. */
    double *all = malloc(36000 * sizeof *all), sw = 0, swl = 0;
    pf_gbdt_predict(g, d->x, 36000, all);
    for (size_t i = 0; i < 36000; i++) {
        sw += d->w[i];
        swl += d->w[i] * all[i];
    }
    assert_near(e, swl / sw, 1e-9);
    free(all);
    free(ws);
    pf_gbdt_free(g);
    free(d);
}

/* The largest rise (dir +1: fall) of the logit as feature j sweeps from
 * lo to hi with the other features of row i fixed. */
static double worst_violation(const pf_gbdt *g, const double *row, size_t j, double lo, double hi,
                              int dir)
{
    double x[201 * NF], eta[201], worst = 0;
    for (int k = 0; k <= 200; k++) {
        memcpy(x + k * NF, row, NF * sizeof *x);
        x[k * NF + j] = lo + (hi - lo) * k / 200.0;
    }
    pf_gbdt_predict(g, x, 201, eta);
    for (int k = 1; k <= 200; k++) {
        double step = dir * (eta[k - 1] - eta[k]); /* > 0: against the constraint */
        if (step > worst)
            worst = step;
    }
    return worst;
}

static void test_monotone(void **state)
{
    (void) state;
    dataset *d = draw(13);
    pf_gbdt_params p;
    pf_gbdt_params_default(&p);
    p.ntrees = 80;
    pf_gbdt *free_fit = fit(d, 36000, &p, NULL);
    int8_t mono[NF] = {1, 0, 0, -1};
    p.monotone = mono;
    pf_gbdt *g = fit(d, 36000, &p, NULL);
    assert_int_equal(g->monotone[0], 1);
    assert_int_equal(g->monotone[3], -1);
    double worst_free = 0;
    for (size_t i = 0; i < 200; i++) {
        const double *row = d->x + i * NF;
        assert_true(worst_violation(g, row, 0, -1, 8, 1) == 0);
        assert_true(worst_violation(g, row, 3, -1, 11, -1) == 0);
        double v = worst_violation(free_fit, row, 0, -1, 8, 1);
        if (v > worst_free)
            worst_free = v;
    }
    /* sin(x0) falls from pi/2 to 3 pi/2: unconstrained trees follow it. */
    assert_true(worst_free > 0.5);
    pf_gbdt_free(free_fit);
    pf_gbdt_free(g);
    free(d);
}

static size_t count_leaves(const pf_gbdt *g, size_t t)
{
    size_t n = 0;
    for (size_t k = g->root[t]; k < g->root[t + 1]; k++)
        n += g->node[k].left < 0;
    return n;
}

static void test_limits_and_stopping(void **state)
{
    (void) state;
    dataset *d = draw(14);
    pf_gbdt_params p;
    pf_gbdt_params_default(&p);
    p.ntrees = 20;
    p.max_depth = 0;
    p.max_leaves = 7;
    p.early_stopping = 0;
    pf_gbdt *g = fit(d, 36000, &p, NULL);
    assert_int_equal(g->ntrees, 20);
    for (size_t t = 0; t < g->ntrees; t++)
        assert_true(count_leaves(g, t) <= 7);
    assert_int_equal(count_leaves(g, 0), 7);
    pf_gbdt_free(g);

    p.max_depth = 2;
    p.max_leaves = 0;
    g = fit(d, 36000, &p, NULL);
    assert_true(g->max_depth <= 2);
    pf_gbdt_free(g);

    /* A high learning rate overfits soon: early stopping keeps the best. */
    pf_gbdt_report rep;
    p.max_depth = 8;
    p.learning_rate = 0.9;
    p.ntrees = 300;
    p.early_stopping = 5;
    p.min_child_weight = 0;
    p.l2 = 0;
    g = fit(d, 36000, &p, &rep);
    assert_true(rep.rounds < 300);
    assert_int_equal(rep.trees, rep.rounds - 5);
    assert_int_equal((int) g->ntrees, rep.trees);
    assert_false(isnan(rep.valid_log_loss));
    pf_gbdt_free(g);
    free(d);
}

static void test_bad_input(void **state)
{
    (void) state;
    dataset *d = draw(15);
    pf_gbdt_params p;
    pf_gbdt_params_default(&p);
    pf_gbdt_data f = {1000, d->x, d->y, d->w};
    pf_gbdt *g = NULL;
    pf_gbdt_report rep;
    pf_error err;
    p.max_depth = 0;
    assert_int_equal(pf_gbdt_train(&f, NULL, NF, COLS, &p, &g, &rep, &err), PF_EINVAL);
    pf_gbdt_params_default(&p);
    p.learning_rate = 0;
    assert_int_equal(pf_gbdt_train(&f, NULL, NF, COLS, &p, &g, &rep, &err), PF_EINVAL);
    pf_gbdt_params_default(&p);
    p.max_bins = 256;
    assert_int_equal(pf_gbdt_train(&f, NULL, NF, COLS, &p, &g, &rep, &err), PF_EINVAL);
    pf_gbdt_params_default(&p);
    for (size_t i = 0; i < 1000; i++)
        d->y[i] = 1;
    assert_int_equal(pf_gbdt_train(&f, NULL, NF, COLS, &p, &g, &rep, &err), PF_EINVAL);
    assert_non_null(strstr(err.message, "one value"));
    assert_null(g);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_tree), cmocka_unit_test(test_bad_trees),
        cmocka_unit_test(test_threads),   cmocka_unit_test(test_contributions_sum),
        cmocka_unit_test(test_monotone),  cmocka_unit_test(test_limits_and_stopping),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
