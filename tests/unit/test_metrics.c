/*
 * test_metrics.c - tests of the binary-outcome metrics (model/metrics.c).
 *
 * References are independent of the code under test: base R on 2000
 * simulated rows (tests/golden/metrics.R: AUC from rank(), DeLong's variance
 * from hand-written placement values, calibration from glm), small cases
 * worked out by hand, closed forms (a constant score has calibration
 * intercept logit(rate) - logit(p)), and identities (a weight of 2 is a row
 * counted twice; a workspace, a repeat or a row permutation changes nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/metrics.h"

#define GOLDEN  PF_TEST_SRCDIR "/golden/"
#define REL_TOL 1e-9

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

/* Relative difference, absolute when the reference is 0. */
static double rel_err(double got, double want)
{
    double d = fabs(got - want);
    return want == 0.0 ? d : d / fabs(want);
}

static void assert_close(double got, double want, double tol, const char *what)
{
    double e = rel_err(got, want);
    if (!(e <= tol)) {
        print_error("%s: got %.17g, want %.17g (relative error %.3g > %.3g)\n", what, got, want, e,
                    tol);
        fail();
    }
}

typedef struct golden_data {
    size_t n;
    double *p, *p2, *y, *w;
} golden_data;

static void read_data(golden_data *d)
{
    memset(d, 0, sizeof *d);
    FILE *fp = fopen(GOLDEN "metrics_data.csv", "r");
    assert_non_null(fp);
    char line[256];
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "p,p2,y,w\n");
    size_t cap = 4096;
    d->p = malloc(cap * sizeof(double));
    d->p2 = malloc(cap * sizeof(double));
    d->y = malloc(cap * sizeof(double));
    d->w = malloc(cap * sizeof(double));
    while (fgets(line, sizeof line, fp)) {
        assert_true(d->n < cap);
        size_t i = d->n++;
        assert_int_equal(sscanf(line, "%lf,%lf,%lf,%lf", &d->p[i], &d->p2[i], &d->y[i], &d->w[i]),
                         4);
    }
    fclose(fp);
    assert_int_equal(d->n, 2000);
}

static void free_data(golden_data *d)
{
    free(d->p);
    free(d->p2);
    free(d->y);
    free(d->w);
}

static json_t *read_expected(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(GOLDEN "metrics_expected.json", 0, &jerr);
    if (!root)
        print_error("metrics_expected.json: %s (line %d)\n", jerr.text, jerr.line);
    assert_non_null(root);
    return root;
}

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        print_error("expected number %s missing\n", key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

/* Largest relative error per group of quantities, printed at the end so that
 * the agreement with R is visible in the test log, not only pass/fail. */
static double max_err[6];
enum { E_AUC, E_CMP, E_LOSS, E_CALIB, E_TABLE, E_COUNT };
static const char *err_name[] = {"AUC and DeLong", "paired DeLong", "loss and means",
                                 "calibration fits", "calibration tables"};

static void check(double got, const json_t *o, const char *key, int group, const char *label)
{
    double want = jnum(o, key);
    double e = rel_err(got, want);
    if (e > max_err[group])
        max_err[group] = e;
    if (getenv("PF_TEST_VERBOSE"))
        printf("%s %s: %.3g\n", label, key, e);
    char what[128];
    snprintf(what, sizeof what, "%s %s", label, key);
    assert_close(got, want, REL_TOL, what);
}

/* ------------------------------------------------------------------------ */
/* Golden: base R on simulated rows                                         */

static void check_table(const golden_data *d, const double *w, const json_t *t, size_t k,
                        const char *label)
{
    pf_metrics_bin bins[16];
    size_t nb = 0;
    pf_error err = {0};
    assert_int_equal(pf_metrics_calib_table(d->p, d->y, w, d->n, k, NULL, bins, &nb, &err), 0);
    const json_t *jn = json_object_get(t, "n");
    assert_int_equal(nb, json_array_size(jn));
    static const char *cols[] = {"sum_w", "p_min", "p_max", "mean_p", "obs", "obs_lo", "obs_hi"};
    for (size_t g = 0; g < nb; g++) {
        assert_int_equal(bins[g].n, (size_t) json_number_value(json_array_get(jn, g)));
        double got[] = {bins[g].sum_w, bins[g].p_min,  bins[g].p_max, bins[g].mean_p,
                        bins[g].obs,   bins[g].obs_lo, bins[g].obs_hi};
        for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
            double want = json_number_value(json_array_get(json_object_get(t, cols[c]), g));
            double e = rel_err(got[c], want);
            if (e > max_err[E_TABLE])
                max_err[E_TABLE] = e;
            char what[128];
            snprintf(what, sizeof what, "%s table k=%zu group %zu %s", label, k, g, cols[c]);
            assert_close(got[c], want, REL_TOL, what);
        }
    }
}

static void check_section(const golden_data *d, const double *w, const json_t *o, const char *label)
{
    pf_error err = {0};

    pf_metrics_auc_est a;
    assert_int_equal(pf_metrics_auc(d->p, d->y, w, d->n, NULL, &a, &err), 0);
    assert_true(a.has_var);
    check(a.auc, o, "auc", E_AUC, label);
    check(a.var, o, "auc_var", E_AUC, label);
    check(a.se, o, "auc_se", E_AUC, label);
    check(a.ci_lo, o, "auc_ci_lo", E_AUC, label);
    check(a.ci_hi, o, "auc_ci_hi", E_AUC, label);

    pf_metrics_auc_diff c;
    assert_int_equal(pf_metrics_auc_compare(d->p, d->p2, d->y, w, d->n, NULL, &c, &err), 0);
    assert_memory_equal(&c.a1, &a, sizeof a);
    check(c.a2.auc, o, "auc2", E_CMP, label);
    check(c.diff, o, "cmp_diff", E_CMP, label);
    check(c.se, o, "cmp_se", E_CMP, label);
    check(c.z, o, "cmp_z", E_CMP, label);
    check(c.p_value, o, "cmp_p", E_CMP, label);
    check(c.ci_lo, o, "cmp_ci_lo", E_CMP, label);
    check(c.ci_hi, o, "cmp_ci_hi", E_CMP, label);

    pf_metrics_loss_est l;
    assert_int_equal(pf_metrics_loss(d->p, d->y, w, d->n, &l, &err), 0);
    assert_int_equal(l.n, (size_t) jnum(o, "n"));
    check(l.sum_w, o, "sum_w", E_LOSS, label);
    check(l.base_rate, o, "base_rate", E_LOSS, label);
    check(l.mean_p, o, "mean_p", E_LOSS, label);
    check(l.log_loss, o, "log_loss", E_LOSS, label);
    check(l.brier, o, "brier", E_LOSS, label);

    pf_metrics_calib_est cal;
    assert_int_equal(pf_metrics_calib(d->p, d->y, w, d->n, &cal, &err), 0);
    assert_true(cal.has_slope);
    check(cal.intercept, o, "intercept", E_CALIB, label);
    check(cal.intercept_se, o, "intercept_se", E_CALIB, label);
    check(cal.slope, o, "slope", E_CALIB, label);
    check(cal.slope_se, o, "slope_se", E_CALIB, label);
    check(cal.slope_intercept, o, "slope_intercept", E_CALIB, label);
    check(cal.slope_intercept_se, o, "slope_intercept_se", E_CALIB, label);

    check_table(d, w, json_object_get(o, "table10"), 10, label);
    check_table(d, w, json_object_get(o, "table7"), 7, label);

    /* The summary is the same calls put together. */
    pf_metrics_summary s;
    assert_int_equal(pf_metrics_summarize(d->p, d->y, w, d->n, NULL, &s, &err), 0);
    assert_int_equal(s.flags, 0);
    assert_memory_equal(&s.auc, &a, sizeof a);
    assert_memory_equal(&s.loss, &l, sizeof l);
    assert_memory_equal(&s.calib, &cal, sizeof cal);
}

static void test_golden_r(void **state)
{
    golden_data d;
    read_data(&d);
    json_t *root = read_expected();
    check_section(&d, NULL, json_object_get(root, "unweighted"), "unweighted");
    check_section(&d, d.w, json_object_get(root, "weighted"), "weighted");
    for (int g = 0; g < E_COUNT; g++)
        printf("max relative error vs R, %s: %.3g\n", err_name[g], max_err[g]);
    json_decref(root);
    free_data(&d);
}

/* ------------------------------------------------------------------------ */
/* Small cases by hand                                                      */

/* Positives 0.8, 0.4; negatives 0.6, 0.2: 3 of 4 pairs ordered. V10 = (1,
 * 1/2), V01 = (1/2, 1), so var(V10) = var(V01) = 1/8 and DeLong's variance
 * is 1/8 / 2 + 1/8 / 2 = 1/8. */
static void test_auc_four_rows(void **state)
{
    const double p[] = {0.8, 0.6, 0.4, 0.2}, y[] = {1, 0, 1, 0};
    pf_metrics_auc_est a;
    pf_error err = {0};
    assert_int_equal(pf_metrics_auc(p, y, NULL, 4, NULL, &a, &err), 0);
    assert_true(a.auc == 0.75);
    assert_true(a.var == 0.125);
    assert_true(a.has_var);
    assert_int_equal(a.n_pos, 2);
    assert_int_equal(a.n_neg, 2);
    assert_close(a.se, sqrt(0.125), 1e-15, "se");
    assert_close(a.ci_lo, 0.75 - PF_METRICS_Z95 * sqrt(0.125), 1e-15, "ci_lo");
    assert_true(a.ci_hi == 1.0); /* 0.75 + 0.69 clipped */
}

/* Ties between classes count 1/2: positives 0.3, 0.7 and negatives 0.3,
 * 0.1 give pairs 1/2 + 1 + 1 + 1 = 3.5 of 4; a single tied pair gives 1/2. */
static void test_auc_ties(void **state)
{
    pf_metrics_auc_est a;
    pf_error err = {0};
    const double p[] = {0.3, 0.3, 0.7, 0.1}, y[] = {1, 0, 1, 0};
    assert_int_equal(pf_metrics_auc(p, y, NULL, 4, NULL, &a, &err), 0);
    assert_true(a.auc == 0.875);
    /* V10 = (3/4, 1), V01 = (3/4, 1): var = 2 * (1/32 / 2) = 1/32. */
    assert_close(a.var, 1.0 / 32, 1e-15, "var");

    const double p1[] = {0.5, 0.5}, y1[] = {1, 0};
    assert_int_equal(pf_metrics_auc(p1, y1, NULL, 2, NULL, &a, &err), 0);
    assert_true(a.auc == 0.5);
    /* One row per class: DeLong's variance is undefined. */
    assert_false(a.has_var);
    assert_true(a.ci_lo == 0.0 && a.ci_hi == 1.0 && a.var == 0.0);

    /* Weighted Mann-Whitney: positive 0.9 (w 3), positive 0.2 (w 1), negative
     * 0.5 (w 2): (3 * 2 * 1 + 1 * 2 * 0) / (4 * 2) = 0.75. */
    const double p2[] = {0.9, 0.2, 0.5}, y2[] = {1, 1, 0}, w2[] = {3, 1, 2};
    assert_int_equal(pf_metrics_auc(p2, y2, w2, 3, NULL, &a, &err), 0);
    assert_true(a.auc == 0.75);
    assert_true(a.sum_w_pos == 4.0 && a.sum_w_neg == 2.0);
}

/* Separated classes: AUC exactly 1 (or 0 with the score reversed), every
 * placement value equals the AUC, so the variance is 0 and the interval the
 * point, without a NaN. The calibration slope does not exist. */
static void test_perfect_separation(void **state)
{
    const double p[] = {0.91, 0.62, 0.55, 0.31, 0.12, 0.05};
    const double y[] = {1, 1, 1, 0, 0, 0};
    const double w[] = {1.5, 0.25, 2, 3.125, 0.75, 1.1};
    const double rev[] = {0.09, 0.38, 0.45, 0.69, 0.88, 0.95};
    pf_error err = {0};
    for (int weighted = 0; weighted < 2; weighted++) {
        const double *ww = weighted ? w : NULL;
        pf_metrics_auc_est a;
        assert_int_equal(pf_metrics_auc(p, y, ww, 6, NULL, &a, &err), 0);
        assert_true(a.auc == 1.0);
        assert_true(a.has_var);
        assert_true(a.var == 0.0 && a.se == 0.0);
        assert_true(a.ci_lo == 1.0 && a.ci_hi == 1.0);
        assert_int_equal(pf_metrics_auc(rev, y, ww, 6, NULL, &a, &err), 0);
        assert_true(a.auc == 0.0 && a.var == 0.0 && a.ci_lo == 0.0 && a.ci_hi == 0.0);

        pf_metrics_auc_diff c;
        assert_int_equal(pf_metrics_auc_compare(p, rev, y, ww, 6, NULL, &c, &err), 0);
        assert_true(c.diff == 1.0 && c.se == 0.0);
        assert_true(isinf(c.z) && c.z > 0 && c.p_value == 0.0);

        pf_metrics_summary s;
        assert_int_equal(pf_metrics_summarize(p, y, ww, 6, NULL, &s, &err), 0);
        assert_int_equal(s.flags, PF_METRICS_NO_SLOPE);
        assert_false(s.calib.has_slope);
        assert_true(s.calib.slope == 0.0 && s.calib.slope_se == 0.0);
        assert_true(isfinite(s.calib.intercept) && s.calib.intercept_se > 0.0);
    }
    /* Quasi-complete separation (a tie on the threshold) has no finite
     * slope either, but an AUC below 1. */
    const double pq[] = {0.9, 0.5, 0.5, 0.2}, yq[] = {1, 1, 0, 0};
    pf_metrics_calib_est cal;
    assert_int_equal(pf_metrics_calib(pq, yq, NULL, 4, &cal, &err), 0);
    assert_false(cal.has_slope);
}

/* Comparing a score with itself: difference 0 with standard error 0 is no
 * evidence of a difference, so z = 0 and p = 1. */
static void test_compare_identical(void **state)
{
    const double p[] = {0.7, 0.2, 0.65, 0.4, 0.4, 0.1, 0.9};
    const double y[] = {1, 0, 0, 1, 0, 0, 1};
    pf_metrics_auc_diff c;
    pf_error err = {0};
    assert_int_equal(pf_metrics_auc_compare(p, p, y, NULL, 7, NULL, &c, &err), 0);
    assert_memory_equal(&c.a1, &c.a2, sizeof c.a1);
    assert_true(c.diff == 0.0 && c.se == 0.0 && c.z == 0.0 && c.p_value == 1.0);
}

/* Log-loss by hand, and the clipping of p = 0 and p = 1. */
static void test_loss(void **state)
{
    const double p[] = {0.8, 0.3, 0.0, 1.0}, y[] = {1, 0, 1, 1}, w[] = {2, 1, 0, 1};
    pf_metrics_loss_est l;
    pf_error err = {0};
    /* Row 3 weighs 0 and takes no part. */
    assert_int_equal(pf_metrics_loss(p, y, w, 4, &l, &err), 0);
    assert_int_equal(l.n, 3);
    assert_true(l.sum_w == 4.0);
    assert_close(l.log_loss, (-2 * log(0.8) - log(0.7) - log(1 - 1e-15)) / 4, 1e-14, "log_loss");
    assert_close(l.brier, (2 * 0.04 + 0.09 + 0.0) / 4, 1e-15, "brier");
    assert_close(l.base_rate, 0.75, 1e-15, "base_rate");
    assert_close(l.mean_p, (1.6 + 0.3 + 1.0) / 4, 1e-15, "mean_p");

    /* A confident miss costs -log(1e-15), not infinity. */
    const double p0[] = {0.0}, y1[] = {1};
    assert_int_equal(pf_metrics_loss(p0, y1, NULL, 1, &l, &err), 0);
    assert_close(l.log_loss, -log(1e-15), 1e-15, "clipped");
    assert_true(l.brier == 1.0);

    /* Sums in chunks agree with one call, and merging is adding. */
    pf_metrics_sums a, b;
    pf_metrics_sums_init(&a);
    pf_metrics_sums_init(&b);
    assert_int_equal(pf_metrics_sums_add(&a, p, y, w, 2, &err), 0);
    assert_int_equal(pf_metrics_sums_add(&b, p + 2, y + 2, w + 2, 2, &err), 0);
    pf_metrics_sums_merge(&a, &b);
    pf_metrics_loss_est l2;
    assert_int_equal(pf_metrics_sums_finish(&a, &l2, &err), 0);
    assert_int_equal(pf_metrics_loss(p, y, w, 4, &l, &err), 0);
    assert_int_equal(l2.n, l.n);
    assert_close(l2.log_loss, l.log_loss, 1e-15, "chunked log_loss");
    assert_close(l2.brier, l.brier, 1e-15, "chunked brier");

    /* A chunk of rows of weight 0 is fine; finishing on nothing is not. */
    const double wz[] = {0, 0};
    pf_metrics_sums_init(&a);
    assert_int_equal(pf_metrics_sums_add(&a, p, y, wz, 2, &err), 0);
    assert_int_equal(pf_metrics_sums_finish(&a, &l2, &err), PF_EINVAL);
}

/* A constant score p with observed rate r: the intercept has the closed form
 * logit(r) - logit(p) with standard error 1 / sqrt(W r (1 - r)), and there
 * is no slope. */
static void test_calib_closed_form(void **state)
{
    enum { N = 40 };
    double p[N], y[N], w[N];
    for (int i = 0; i < N; i++) {
        p[i] = 0.2;
        y[i] = i % 10 < 3; /* rate 0.3 */
        w[i] = 2.5;
    }
    pf_metrics_calib_est cal;
    pf_error err = {0};
    assert_int_equal(pf_metrics_calib(p, y, w, N, &cal, &err), 0);
    assert_close(cal.intercept, log(0.3 / 0.7) - log(0.2 / 0.8), 1e-13, "intercept");
    assert_close(cal.intercept_se, 1 / sqrt(100 * 0.3 * 0.7), 1e-13, "intercept_se");
    assert_false(cal.has_slope);

    /* Probabilities 0 and 1 are clipped before the logit, not rejected. */
    const double pe[] = {0.0, 1.0, 0.4, 0.6, 0.3}, ye[] = {0, 1, 1, 0, 0};
    assert_int_equal(pf_metrics_calib(pe, ye, NULL, 5, &cal, &err), 0);
    assert_true(cal.has_slope);
    assert_true(isfinite(cal.slope) && isfinite(cal.slope_se) && cal.slope > 0.0);
}

/* 3 events in 10: the Wilson interval as R's prop.test(3, 10, correct =
 * FALSE) gives it. */
static void test_wilson(void **state)
{
    double lo, hi;
    pf_metrics_wilson(0.3, 10, &lo, &hi);
    assert_close(lo, 0.10779126740630104, 1e-14, "lo");
    assert_close(hi, 0.60322185253885452, 1e-14, "hi");
    pf_metrics_wilson(0.0, 5, &lo, &hi);
    assert_true(lo == 0.0 && hi > 0.0 && hi < 1.0);
    pf_metrics_wilson(0.5, 0, &lo, &hi);
    assert_true(lo == 0.0 && hi == 1.0);
}

/* Group boundaries: 6 rows, k = 3 puts nominal boundaries after rows 2 and 4
 * (sorted). The first falls inside the run of three 0.2s and moves to its
 * end, which is also the second boundary, so the middle group is empty and
 * dropped. The row order of the input does not matter. */
static void test_calib_table_ties(void **state)
{
    const double p[] = {0.2, 0.4, 0.2, 0.1, 0.3, 0.2}, y[] = {1, 1, 0, 0, 1, 0};
    pf_metrics_bin b[3];
    size_t nb;
    pf_error err = {0};
    assert_int_equal(pf_metrics_calib_table(p, y, NULL, 6, 3, NULL, b, &nb, &err), 0);
    assert_int_equal(nb, 2);
    assert_int_equal(b[0].n, 4);
    assert_true(b[0].p_min == 0.1 && b[0].p_max == 0.2);
    assert_close(b[0].mean_p, 0.7 / 4, 1e-15, "mean_p");
    assert_true(b[0].obs == 0.25);
    assert_int_equal(b[1].n, 2);
    assert_true(b[1].obs == 1.0 && b[1].obs_hi == 1.0 && b[1].obs_lo > 0.0);

    const double pr[] = {0.2, 0.2, 0.1, 0.4, 0.3, 0.2}, yr[] = {0, 1, 0, 1, 1, 0};
    pf_metrics_bin br[3];
    size_t nbr;
    assert_int_equal(pf_metrics_calib_table(pr, yr, NULL, 6, 3, NULL, br, &nbr, &err), 0);
    assert_int_equal(nbr, nb);
    assert_memory_equal(br, b, nb * sizeof *b);

    /* More groups than rows: one row per group. */
    const double p4[] = {0.4, 0.1, 0.3, 0.2}, y4[] = {1, 0, 0, 1};
    pf_metrics_bin b4[10];
    assert_int_equal(pf_metrics_calib_table(p4, y4, NULL, 4, 10, NULL, b4, &nb, &err), 0);
    const double sorted[] = {0.1, 0.2, 0.3, 0.4};
    assert_int_equal(nb, 4);
    for (size_t g = 0; g < nb; g++)
        assert_true(b4[g].n == 1 && b4[g].p_min == sorted[g]);
}

/* ------------------------------------------------------------------------ */
/* Identities                                                               */

/* A weight of 2 is the row twice: estimates, variances, standard errors. */
static void test_weight_is_count(void **state)
{
    golden_data d;
    read_data(&d);
    /* Integer weights 0..3 from the golden weights; expand the rows. */
    size_t n = 400, m = 0;
    double *w = malloc(n * sizeof *w);
    double *pe = malloc(3 * n * sizeof *pe), *p2e = malloc(3 * n * sizeof *p2e);
    double *ye = malloc(3 * n * sizeof *ye);
    for (size_t i = 0; i < n; i++) {
        w[i] = floor(d.w[i] * 1.4);
        for (int k = 0; k < (int) w[i]; k++, m++) {
            pe[m] = d.p[i];
            p2e[m] = d.p2[i];
            ye[m] = d.y[i];
        }
    }
    pf_error err = {0};
    pf_metrics_summary sw, se;
    assert_int_equal(pf_metrics_summarize(d.p, d.y, w, n, NULL, &sw, &err), 0);
    assert_int_equal(pf_metrics_summarize(pe, ye, NULL, m, NULL, &se, &err), 0);
    assert_close(sw.auc.auc, se.auc.auc, 1e-13, "auc");
    assert_close(sw.auc.var, se.auc.var, 1e-12, "auc var");
    assert_close(sw.loss.log_loss, se.loss.log_loss, 1e-13, "log_loss");
    assert_close(sw.loss.brier, se.loss.brier, 1e-13, "brier");
    assert_close(sw.calib.intercept, se.calib.intercept, 1e-10, "intercept");
    assert_close(sw.calib.intercept_se, se.calib.intercept_se, 1e-10, "intercept_se");
    assert_close(sw.calib.slope, se.calib.slope, 1e-10, "slope");
    assert_close(sw.calib.slope_se, se.calib.slope_se, 1e-10, "slope_se");

    pf_metrics_auc_diff cw, ce;
    assert_int_equal(pf_metrics_auc_compare(d.p, d.p2, d.y, w, n, NULL, &cw, &err), 0);
    assert_int_equal(pf_metrics_auc_compare(pe, p2e, ye, NULL, m, NULL, &ce, &err), 0);
    assert_close(cw.se, ce.se, 1e-12, "diff se");

    pf_metrics_bin bw[10], be[10];
    size_t nw, ne;
    assert_int_equal(pf_metrics_calib_table(pe, ye, NULL, m, 10, NULL, be, &ne, &err), 0);
    assert_int_equal(pf_metrics_calib_table(d.p, d.y, w, n, 10, NULL, bw, &nw, &err), 0);
    /* Groups are by rows, so only the totals must agree. */
    double tw = 0, te = 0;
    for (size_t g = 0; g < nw; g++)
        tw += bw[g].sum_w;
    for (size_t g = 0; g < ne; g++)
        te += be[g].sum_w;
    assert_true(tw == te);

    free(w);
    free(pe);
    free(p2e);
    free(ye);
    free_data(&d);
}

/* Same input, same bits: with or without a workspace, repeated; and a row
 * permutation changes only the last bits. */
static void test_deterministic(void **state)
{
    golden_data d;
    read_data(&d);
    pf_metrics_workspace *ws = NULL;
    pf_error err = {0};
    assert_int_equal(pf_metrics_workspace_new(d.n, &ws, &err), 0);
    pf_metrics_summary a, b;
    pf_metrics_auc_diff ca, cb;
    pf_metrics_bin ba[10], bb[10];
    size_t na, nb;
    assert_int_equal(pf_metrics_summarize(d.p, d.y, d.w, d.n, NULL, &a, &err), 0);
    assert_int_equal(pf_metrics_auc_compare(d.p, d.p2, d.y, d.w, d.n, NULL, &ca, &err), 0);
    assert_int_equal(pf_metrics_calib_table(d.p, d.y, d.w, d.n, 10, NULL, ba, &na, &err), 0);
    for (int rep = 0; rep < 3; rep++) {
        assert_int_equal(pf_metrics_summarize(d.p, d.y, d.w, d.n, ws, &b, &err), 0);
        assert_memory_equal(&a, &b, sizeof a);
        assert_int_equal(pf_metrics_auc_compare(d.p, d.p2, d.y, d.w, d.n, ws, &cb, &err), 0);
        assert_memory_equal(&ca, &cb, sizeof ca);
        assert_int_equal(pf_metrics_calib_table(d.p, d.y, d.w, d.n, 10, ws, bb, &nb, &err), 0);
        assert_int_equal(na, nb);
        assert_memory_equal(ba, bb, na * sizeof *ba);
    }
    /* Reversed rows. */
    double *p = malloc(d.n * sizeof *p), *y = malloc(d.n * sizeof *y);
    double *w = malloc(d.n * sizeof *w);
    for (size_t i = 0; i < d.n; i++) {
        p[i] = d.p[d.n - 1 - i];
        y[i] = d.y[d.n - 1 - i];
        w[i] = d.w[d.n - 1 - i];
    }
    assert_int_equal(pf_metrics_summarize(p, y, w, d.n, ws, &b, &err), 0);
    assert_close(b.auc.auc, a.auc.auc, 1e-14, "auc");
    assert_close(b.auc.var, a.auc.var, 1e-12, "var");
    assert_close(b.calib.slope, a.calib.slope, 1e-12, "slope");
    assert_int_equal(pf_metrics_calib_table(p, y, w, d.n, 10, ws, bb, &nb, &err), 0);
    assert_int_equal(na, nb);
    for (size_t g = 0; g < na; g++) {
        assert_int_equal(ba[g].n, bb[g].n);
        assert_close(bb[g].obs, ba[g].obs, 1e-13, "obs");
    }
    free(p);
    free(y);
    free(w);
    pf_metrics_workspace_free(ws);
    free_data(&d);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

static void expect_error(int rc, const pf_error *err, const char *needle)
{
    assert_int_equal(rc, PF_EINVAL);
    assert_int_equal(err->status, PF_EINVAL);
    if (!strstr(err->message, needle)) {
        print_error("message \"%s\" lacks \"%s\"\n", err->message, needle);
        fail();
    }
}

static void test_errors(void **state)
{
    const double p[] = {0.2, 0.7, 0.4}, y[] = {0, 1, 1}, w[] = {1, 2, 0.5};
    const double pnan[] = {0.2, NAN, 0.4}, pbig[] = {0.2, 0.7, 1.25};
    const double ybad[] = {0, 1, 2}, y1[] = {1, 1, 1}, wneg[] = {1, -0.5, 1};
    const double winf[] = {1, INFINITY, 1}, wzero[] = {0, 0, 0}, wone[] = {0, 2, 0};
    pf_error err = {0};
    pf_metrics_auc_est a;
    pf_metrics_auc_diff c;
    pf_metrics_loss_est l;
    pf_metrics_calib_est cal;
    pf_metrics_summary s;
    pf_metrics_bin b[4];
    size_t nb;

    expect_error(pf_metrics_auc(p, y, w, 0, NULL, &a, &err), &err, "no rows");
    expect_error(pf_metrics_auc(pnan, y, w, 3, NULL, &a, &err), &err, "row 2: p = nan");
    expect_error(pf_metrics_auc(pbig, y, w, 3, NULL, &a, &err), &err, "row 3: p = 1.25");
    expect_error(pf_metrics_auc(p, ybad, w, 3, NULL, &a, &err), &err, "row 3: y = 2 is not");
    expect_error(pf_metrics_auc(p, y, wneg, 3, NULL, &a, &err), &err, "row 2: weight -0.5");
    expect_error(pf_metrics_auc(p, y, winf, 3, NULL, &a, &err), &err, "row 2: weight inf");
    expect_error(pf_metrics_auc(p, y, wzero, 3, NULL, &a, &err), &err, "no row has a positive");
    expect_error(pf_metrics_auc(p, y1, NULL, 3, NULL, &a, &err), &err,
                 "AUC needs both outcomes, but all 3 rows have y = 1");
    /* Only one row of positive weight: one class. */
    expect_error(pf_metrics_auc(p, y, wone, 3, NULL, &a, &err), &err, "all 1 rows have y = 1");
    expect_error(pf_metrics_auc_compare(p, pnan, y, w, 3, NULL, &c, &err), &err, "row 2: p2");
    expect_error(pf_metrics_auc_compare(pbig, p, y, w, 3, NULL, &c, &err), &err, "row 3: p1");
    expect_error(pf_metrics_loss(pnan, y, NULL, 3, &l, &err), &err, "row 2: p");
    expect_error(pf_metrics_loss(p, y, wzero, 3, &l, &err), &err, "positive weight");
    expect_error(pf_metrics_calib(p, y1, NULL, 3, &cal, &err), &err, "calibration needs both");
    expect_error(pf_metrics_calib(p, ybad, NULL, 3, &cal, &err), &err, "y = 2");
    expect_error(pf_metrics_calib_table(p, y, w, 3, 0, NULL, b, &nb, &err), &err, "0 groups");
    expect_error(pf_metrics_calib_table(pnan, y, w, 3, 4, NULL, b, &nb, &err), &err, "p = nan");
    expect_error(pf_metrics_summarize(p, ybad, w, 3, NULL, &s, &err), &err, "y = 2");

    pf_metrics_sums sums;
    pf_metrics_sums_init(&sums);
    expect_error(pf_metrics_sums_add(&sums, pnan, y, NULL, 3, &err), &err, "row 2");
    assert_int_equal(sums.n, 0); /* nothing added */
    expect_error(pf_metrics_sums_finish(&sums, &l, &err), &err, "positive weight");

    /* A workspace too small for the call. */
    pf_metrics_workspace *ws = NULL;
    assert_int_equal(pf_metrics_workspace_new(2, &ws, &err), 0);
    expect_error(pf_metrics_auc(p, y, w, 3, ws, &a, &err), &err, "workspace holds 2 rows");
    pf_metrics_workspace_free(ws);
    pf_metrics_workspace_free(NULL);

    /* One class is a flag in the summary, not an error: log-loss and the
     * base rate are still wanted for a small group. */
    assert_int_equal(pf_metrics_summarize(p, y1, w, 3, NULL, &s, &err), 0);
    assert_int_equal(s.flags, PF_METRICS_ONE_CLASS);
    assert_true(s.loss.base_rate == 1.0 && s.loss.n == 3);
    assert_true(s.auc.auc == 0.0 && s.calib.intercept == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_r),          cmocka_unit_test(test_auc_four_rows),
        cmocka_unit_test(test_auc_ties),          cmocka_unit_test(test_perfect_separation),
        cmocka_unit_test(test_compare_identical), cmocka_unit_test(test_loss),
        cmocka_unit_test(test_calib_closed_form), cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_calib_table_ties),  cmocka_unit_test(test_weight_is_count),
        cmocka_unit_test(test_deterministic),     cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
