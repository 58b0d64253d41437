/*
 * test_irls.c - tests of the encoded design (train/design.c) and the IRLS
 * logistic fitter (train/irls.c).
 *
 * References are independent of the fitter: R's glm on the designs in
 * tests/golden (written by tests/golden/glm_design.R), the true coefficients
 * of data simulated here, a one-parameter penalised likelihood solved here
 * by bisection, and identities (a weight of 2 is a row counted twice; block
 * size and thread count do not change a single bit of the result).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/design.h"
#include "profil/irls.h"

#define GOLDEN PF_TEST_SRCDIR "/golden/"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

typedef struct table {
    size_t n, p;  /* rows; model columns (after y, w, offset) */
    char **names; /* p */
    double *x;    /* n * p */
    double *y, *w, *off;
} table;

static void table_free(table *t)
{
    for (size_t j = 0; j < t->p; j++)
        free(t->names[j]);
    free(t->names);
    free(t->x);
    free(t->y);
    free(t->w);
    free(t->off);
}

/* Reads a golden design CSV: header y,w,offset,<columns>; plain numbers. */
static void read_table(const char *path, table *t)
{
    memset(t, 0, sizeof *t);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *line = NULL;
    size_t cap = 0;
    assert_true(getline(&line, &cap, fp) > 0);
    line[strcspn(line, "\r\n")] = 0;
    size_t ncol = 1;
    for (char *s = line; *s; s++)
        ncol += *s == ',';
    assert_true(ncol > 3);
    t->p = ncol - 3;
    t->names = calloc(t->p, sizeof *t->names);
    char *save = NULL, *tok = strtok_r(line, ",", &save);
    for (size_t k = 0; tok; k++, tok = strtok_r(NULL, ",", &save))
        if (k >= 3)
            t->names[k - 3] = strdup(tok);
    size_t rows_cap = 1024;
    t->x = malloc(rows_cap * t->p * sizeof(double));
    t->y = malloc(rows_cap * sizeof(double));
    t->w = malloc(rows_cap * sizeof(double));
    t->off = malloc(rows_cap * sizeof(double));
    while (getline(&line, &cap, fp) > 0) {
        if (line[0] == '\n' || line[0] == 0)
            continue;
        if (t->n == rows_cap) {
            rows_cap *= 2;
            t->x = realloc(t->x, rows_cap * t->p * sizeof(double));
            t->y = realloc(t->y, rows_cap * sizeof(double));
            t->w = realloc(t->w, rows_cap * sizeof(double));
            t->off = realloc(t->off, rows_cap * sizeof(double));
        }
        char *s = line, *end;
        double v[3];
        for (int k = 0; k < 3; k++) {
            v[k] = strtod(s, &end);
            assert_true(end != s);
            s = end + 1;
        }
        t->y[t->n] = v[0];
        t->w[t->n] = v[1];
        t->off[t->n] = v[2];
        for (size_t j = 0; j < t->p; j++) {
            t->x[t->n * t->p + j] = strtod(s, &end);
            assert_true(end != s);
            s = end + 1;
        }
        t->n++;
    }
    free(line);
    fclose(fp);
}

static pf_design *design_from(const table *t, int with_offset, size_t block_rows)
{
    pf_design_options o = {.has_intercept = strcmp(t->names[0], "(Intercept)") == 0,
                           .has_offset = with_offset,
                           .block_rows = block_rows};
    pf_design *d = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&d, t->p, (const char *const *) t->names, &o, &err), 0);
    assert_int_equal(pf_design_append(d, t->n, t->x, t->y, t->w, with_offset ? t->off : NULL, &err),
                     0);
    return d;
}

static pf_irls_result *fit_ok(const pf_design *d, const pf_irls_options *o)
{
    pf_irls_result *r = NULL;
    pf_error err = {0};
    int rc = pf_irls_fit(d, o, &r, &err);
    if (rc)
        fail_msg("fit failed: %s", err.message);
    assert_non_null(r);
    return r;
}

/* Runs a fit that must fail; returns the message (static). */
static const char *fit_error(const pf_design *d, const pf_irls_options *o)
{
    static pf_error err;
    pf_irls_result *r = NULL;
    memset(&err, 0, sizeof err);
    assert_int_equal(pf_irls_fit(d, o, &r, &err), PF_EINVAL);
    assert_null(r);
    assert_int_equal(err.status, PF_EINVAL);
    return err.message;
}

static void assert_contains(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("'%s' not found in: %s", part, text);
}

static void assert_all_finite(const pf_irls_result *r)
{
    for (size_t j = 0; j < r->p; j++) {
        assert_true(isfinite(r->coef[j]));
        assert_true(isfinite(r->se[j]));
    }
    for (size_t k = 0; k < r->p * r->p; k++)
        assert_true(isfinite(r->cov[k]));
    assert_true(isfinite(r->deviance) && isfinite(r->aic) && isfinite(r->null_deviance));
}

static const char *warnings_text(const pf_irls_result *r)
{
    static char buf[8192];
    buf[0] = 0;
    for (size_t k = 0; k < r->nwarnings; k++) {
        strncat(buf, r->warnings[k], sizeof buf - strlen(buf) - 2);
        strncat(buf, "\n", sizeof buf - strlen(buf) - 1);
    }
    return buf;
}

static double relerr(double a, double ref)
{
    return ref == 0.0 ? fabs(a) : fabs(a - ref) / fabs(ref);
}

static double json_num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

/* The covariance is the inverse of the Fisher information X'WX at the
 * fitted coefficients (W = w mu (1 - mu)): every entry of cov * X'WX, the
 * off-diagonal ones too, must be that of the identity. X'WX is formed here
 * from the design table, independently of the fitter. Like glm, the fitter
 * takes the covariance from its last solve, one step before the final
 * coefficients, hence the tolerance. */
static void assert_inverse_information(const table *t, const pf_irls_result *r, int with_offset)
{
    size_t p = t->p;
    double *h = calloc(p * p, sizeof *h);
    assert_non_null(h);
    for (size_t i = 0; i < t->n; i++) {
        const double *xi = &t->x[i * p];
        double eta = with_offset ? t->off[i] : 0.0;
        for (size_t j = 0; j < p; j++)
            eta += xi[j] * r->coef[j];
        double mu = 1.0 / (1.0 + exp(-eta)), wi = t->w[i] * mu * (1.0 - mu);
        for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b < p; b++)
                h[a * p + b] += wi * xi[a] * xi[b];
    }
    for (size_t a = 0; a < p; a++)
        for (size_t b = 0; b < p; b++) {
            double v = 0.0;
            for (size_t k = 0; k < p; k++)
                v += r->cov[a * p + k] * h[k * p + b];
            if (fabs(v - (a == b)) > 1e-3)
                fail_msg("(cov * X'WX)[%zu][%zu] = %.17g, not %d", a, b, v, a == b);
            assert_true(r->cov[a * p + b] == r->cov[b * p + a]);
        }
    free(h);
}

/* ------------------------------------------------------------------------ */
/* Golden comparisons with R                                                 */

static void golden_case(const char *json_name, const char *csv_name)
{
    char path[512];
    snprintf(path, sizeof path, GOLDEN "%s", json_name);
    json_error_t jerr;
    json_t *g = json_load_file(path, 0, &jerr);
    if (!g)
        fail_msg("%s: %s", path, jerr.text);
    table t;
    snprintf(path, sizeof path, GOLDEN "%s", csv_name);
    read_table(path, &t);

    int with_offset = json_is_true(json_object_get(g, "offset"));
    json_t *names = json_object_get(g, "names"), *coef = json_object_get(g, "coefficients"),
           *se = json_object_get(g, "se");
    assert_int_equal(json_array_size(names), t.p);
    for (size_t j = 0; j < t.p; j++)
        assert_string_equal(json_string_value(json_array_get(names, j)), t.names[j]);

    pf_design *d = design_from(&t, with_offset, 0);
    pf_irls_options o = {.l2 = json_num(g, "l2"), .threads = 2};
    pf_irls_result *r = fit_ok(d, &o);
    assert_int_equal(r->p, t.p);
    assert_true(r->converged);
    assert_int_equal(r->flags, 0);

    double ecoef = 0, ese = 0;
    for (size_t j = 0; j < t.p; j++) {
        double rc = relerr(r->coef[j], json_number_value(json_array_get(coef, j)));
        double rs = relerr(r->se[j], json_number_value(json_array_get(se, j)));
        if (rc > 1e-6 || rs > 1e-6)
            fail_msg("%s '%s': coefficient %.17g vs %.17g, se %.17g vs %.17g", json_name,
                     t.names[j], r->coef[j], json_number_value(json_array_get(coef, j)), r->se[j],
                     json_number_value(json_array_get(se, j)));
        ecoef = fmax(ecoef, rc);
        ese = fmax(ese, rs);
    }
    double edev = relerr(r->deviance, json_num(g, "deviance"));
    double enull = relerr(r->null_deviance, json_num(g, "null_deviance"));
    double eaic = relerr(r->aic, json_num(g, "aic"));
    assert_true(edev < 1e-6);
    assert_true(enull < 1e-6);
    assert_true(eaic < 1e-6);
    int iter = (int) json_num(g, "iterations");
    assert_true(abs(r->iterations - iter) <= 1);
    assert_true(fabs(r->df_residual - json_num(g, "df_residual")) < 1e-6);
    assert_true(fabs(r->df_null - json_num(g, "df_null")) < 1e-6);
    printf("# %-24s max rel. error: coef %.2e  se %.2e  deviance %.2e  null %.2e  aic %.2e  "
           "(iterations %d, R %d)\n",
           json_name, ecoef, ese, edev, enull, eaic, r->iterations, iter);

    /* The delta-method helper: for a unit vector x = e_j, se(eta) = se_j. */
    double *x = calloc(t.p, sizeof *x), eta, s;
    for (size_t j = 0; j < t.p; j++) {
        x[j] = 1.0;
        pf_irls_linpred(r, x, 0.25, &eta, &s);
        assert_true(fabs(eta - (r->coef[j] + 0.25)) < 1e-15);
        assert_true(relerr(s, r->se[j]) < 1e-14);
        x[j] = 0.0;
    }
    free(x);
    if (json_num(g, "l2") == 0.0)
        assert_inverse_information(&t, r, with_offset);

    pf_irls_result_free(r);
    pf_design_free(d);
    table_free(&t);
    json_decref(g);
}

static void test_golden_weighted(void **state)
{
    golden_case("irls_glm_weighted.json", "irls_design.csv");
}

static void test_golden_offset(void **state)
{
    golden_case("irls_glm_offset.json", "irls_design.csv");
}

static void test_golden_counts(void **state)
{
    golden_case("irls_glm_counts.json", "irls_counts.csv");
}

static void test_golden_ridge(void **state)
{
    golden_case("irls_ridge.json", "irls_design.csv");
}

/* ------------------------------------------------------------------------ */
/* Determinism                                                               */

static void assert_same_bits(const pf_irls_result *a, const pf_irls_result *b)
{
    assert_int_equal(a->p, b->p);
    assert_memory_equal(a->coef, b->coef, a->p * sizeof(double));
    assert_memory_equal(a->se, b->se, a->p * sizeof(double));
    assert_memory_equal(a->cov, b->cov, a->p * a->p * sizeof(double));
    assert_memory_equal(&a->deviance, &b->deviance, sizeof(double));
    assert_memory_equal(&a->null_deviance, &b->null_deviance, sizeof(double));
    assert_memory_equal(&a->aic, &b->aic, sizeof(double));
    assert_int_equal(a->iterations, b->iterations);
}

static void test_threads_and_blocks_bitwise(void **state)
{
    table t;
    read_table(GOLDEN "irls_design.csv", &t);
    pf_design *d = design_from(&t, 1, 0);
    pf_irls_options o = {.threads = 1};
    pf_irls_result *ref = fit_ok(d, &o);
    int threads[] = {2, 3, 5, 8, 0};
    for (size_t k = 0; k < sizeof threads / sizeof *threads; k++) {
        o.threads = threads[k];
        pf_irls_result *r = fit_ok(d, &o);
        assert_same_bits(ref, r);
        pf_irls_result_free(r);
    }
    size_t blocks[] = {256, 768, 65536};
    for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) {
        pf_design *db = design_from(&t, 1, blocks[k]);
        o.threads = 3;
        pf_irls_result *r = fit_ok(db, &o);
        assert_same_bits(ref, r);
        pf_irls_result_free(r);
        pf_design_free(db);
    }
    pf_irls_result_free(ref);
    pf_design_free(d);
    table_free(&t);
}

/* ------------------------------------------------------------------------ */
/* Parameter recovery                                                        */

static void test_recovery(void **state)
{
    enum { N = 200000, P = 10 };
    static const double beta[P] = {-0.8, 0.45, -0.3, 0.25, 0.12, 0.7, -0.4, 0.9, -0.6, 0.035};
    const char *names[P] = {"(Intercept)", "z1",     "z2",   "z3", "z4",
                            "levelB",      "levelC", "flag", "u",  "age"};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240611);
    double *x = malloc((size_t) N * P * sizeof *x), *y = malloc(N * sizeof *y);
    double *w = malloc(N * sizeof *w);
    for (size_t i = 0; i < N; i++) {
        double *xi = x + i * P;
        xi[0] = 1.0;
        xi[1] = gsl_ran_gaussian(rng, 1.0);
        xi[2] = 0.6 * xi[1] + gsl_ran_gaussian(rng, 0.8); /* correlated with z1 */
        xi[3] = gsl_ran_gaussian(rng, 2.385);
        xi[4] = gsl_ran_exponential(rng, 1.5);
        double lv = gsl_rng_uniform(rng);
        xi[5] = lv < 0.3;
        xi[6] = lv >= 0.3 && lv < 0.45;
        xi[7] = gsl_rng_uniform(rng) < 0.2;
        xi[8] = gsl_rng_uniform(rng);
        xi[9] = 18 + (double) gsl_rng_uniform_int(rng, 47) - 40.0;
        double eta = 0;
        for (size_t j = 0; j < P; j++)
            eta += xi[j] * beta[j];
        y[i] = gsl_rng_uniform(rng) < 1.0 / (1.0 + exp(-eta));
        w[i] = 0.5 + gsl_rng_uniform(rng); /* case weights, independent of y */
    }
    pf_design_options dopt = {.has_intercept = 1};
    pf_design *d = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&d, P, names, &dopt, &err), 0);
    assert_int_equal(pf_design_append(d, N, x, y, NULL, NULL, &err), 0);
    assert_true(pf_design_bytes(d) >= (size_t) N * (P + 2) * sizeof(double));
    assert_true(pf_design_bytes(d) < (size_t) (N + 4096) * (P + 2) * sizeof(double));
    pf_irls_result *r = fit_ok(d, NULL);
    assert_true(r->converged);
    for (size_t j = 0; j < P; j++) {
        double zs = (r->coef[j] - beta[j]) / r->se[j];
        if (fabs(zs) >= 4.0)
            fail_msg("'%s': estimate %g, truth %g, se %g", names[j], r->coef[j], beta[j], r->se[j]);
    }
    pf_irls_result_free(r);
    pf_design_free(d);

    /* Weighted: the weights are independent of the outcome, so the same
     * model holds. The standard errors treat weights as frequencies; with
     * weights uniform on [0.5, 1.5] (mean 1, mean square 13/12) the estimates
     * actually spread about sqrt(13/12) times as wide, which the bound
     * allows for. */
    assert_int_equal(pf_design_new(&d, P, names, &dopt, &err), 0);
    assert_int_equal(pf_design_append(d, N, x, y, w, NULL, &err), 0);
    r = fit_ok(d, NULL);
    for (size_t j = 0; j < P; j++) {
        double zs = (r->coef[j] - beta[j]) / (r->se[j] * sqrt(13.0 / 12.0));
        if (fabs(zs) >= 4.0)
            fail_msg("weighted '%s': estimate %g, truth %g, se %g", names[j], r->coef[j], beta[j],
                     r->se[j]);
    }
    pf_irls_result_free(r);
    pf_design_free(d);
    free(x);
    free(y);
    free(w);
    gsl_rng_free(rng);
}

/* ------------------------------------------------------------------------ */
/* Small designs for the error paths                                         */

/* n rows of (Intercept), a, b and extra columns built by fill(). */
typedef void (*fill_fn)(size_t i, double *xi, double *y);

static pf_design *small_design(size_t n, size_t p, const char *const *names, fill_fn fill,
                               const double *w)
{
    double *x = calloc(n * p, sizeof *x), *y = calloc(n, sizeof *y);
    for (size_t i = 0; i < n; i++) {
        x[i * p] = 1.0;
        x[i * p + 1] = sin(0.7 * (double) i) * 2.385;
        x[i * p + 2] = cos(1.3 * (double) i) + 0.5;
        y[i] = (i * 7919) % 13 < 6;
        if (fill)
            fill(i, x + i * p, y + i);
    }
    pf_design_options o = {.has_intercept = 1};
    pf_design *d = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&d, p, names, &o, &err), 0);
    assert_int_equal(pf_design_append(d, n, x, y, w, NULL, &err), 0);
    free(x);
    free(y);
    return d;
}

static void fill_duplicate(size_t i, double *xi, double *y)
{
    xi[3] = xi[1];
}

static void fill_sum(size_t i, double *xi, double *y)
{
    xi[3] = (double) (i % 5);
    xi[4] = xi[1] + 2.0 * xi[2]; /* a linear combination of a and b */
}

static void test_rank_deficient(void **state)
{
    const char *n4[] = {"(Intercept)", "a", "b", "a_copy"};
    pf_design *d = small_design(300, 4, n4, fill_duplicate, NULL);
    const char *m = fit_error(d, NULL);
    assert_contains(m, "rank deficient");
    assert_contains(m, "columns 'a' and 'a_copy' are collinear");
    pf_design_free(d);

    const char *n5[] = {"(Intercept)", "a", "b", "c", "a_plus_2b"};
    d = small_design(300, 5, n5, fill_sum, NULL);
    m = fit_error(d, NULL);
    assert_contains(m, "column 'a_plus_2b' is a linear combination of 'a' and 'b'");
    assert_contains(m, "a_plus_2b = 1 * a + 2 * b");

    /* The penalty makes it estimable: a warning that names the columns. */
    pf_irls_options o = {.l2 = 1.5};
    pf_irls_result *r = fit_ok(d, &o);
    assert_true(r->flags & PF_IRLS_COLLINEAR);
    assert_contains(warnings_text(r), "'a_plus_2b'");
    assert_all_finite(r);
    pf_irls_result_free(r);
    pf_design_free(d);
}

static void fill_constant(size_t i, double *xi, double *y)
{
    xi[3] = 2.5;
}

static void test_constant_column(void **state)
{
    const char *names[] = {"(Intercept)", "a", "b", "k"};
    /* Rows of weight 0 do not count: k differs only there. */
    double w[200];
    for (size_t i = 0; i < 200; i++)
        w[i] = i < 3 ? 0.0 : 1.25;
    pf_design *d = small_design(200, 4, names, fill_constant, w);
    const char *m = fit_error(d, NULL);
    assert_contains(m, "constant column");
    assert_contains(m, "'k' (2.5)");
    assert_contains(m, "197 rows");
    pf_design_free(d);
}

static void fill_one_class(size_t i, double *xi, double *y)
{
    *y = 1.0;
}

static void test_single_class(void **state)
{
    const char *names[] = {"(Intercept)", "a", "b"};
    pf_design *d = small_design(100, 3, names, fill_one_class, NULL);
    assert_contains(fit_error(d, NULL), "single class: y = 1 in all 100 rows");
    pf_design_free(d);

    double w[100] = {0};
    d = small_design(100, 3, names, NULL, w);
    assert_contains(fit_error(d, NULL), "no rows with positive weight");
    pf_design_free(d);
}

static void test_complete_separation(void **state)
{
    const char *names[] = {"(Intercept)", "x"};
    double x[40], y[20];
    for (int i = 0; i < 20; i++) {
        x[2 * i] = 1.0;
        x[2 * i + 1] = 1.0 + i;
        y[i] = i >= 10;
    }
    pf_design_options dopt = {.has_intercept = 1};
    pf_design *d = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&d, 2, names, &dopt, &err), 0);
    assert_int_equal(pf_design_append(d, 20, x, y, NULL, NULL, &err), 0);
    pf_irls_result *r = fit_ok(d, NULL);
    assert_all_finite(r);
    assert_true(r->flags & PF_IRLS_SEPARATION);
    const char *w = warnings_text(r);
    assert_contains(w, "complete separation");
    assert_contains(w, "in 20 of 20 rows");
    assert_contains(w, "'x'");
    pf_irls_result_free(r);

    pf_irls_options o = {.separation_is_error = 1};
    assert_contains(fit_error(d, &o), "separation");
    pf_design_free(d);
}

static void fill_quasi(size_t i, double *xi, double *y)
{
    xi[3] = i % 50 == 7; /* a rare level in which every outcome is 1 */
    if (xi[3] == 1.0)
        *y = 1.0;
}

static void test_quasi_separation(void **state)
{
    const char *names[] = {"(Intercept)", "a", "b", "rare"};
    pf_design *d = small_design(2000, 4, names, fill_quasi, NULL);
    pf_irls_result *r = fit_ok(d, NULL);
    assert_all_finite(r);
    assert_true(r->flags & PF_IRLS_SEPARATION);
    const char *w = warnings_text(r);
    assert_contains(w, "quasi-complete separation");
    assert_contains(w, "in 40 of 2000 rows");
    assert_contains(w, "by 'rare'; its coefficient diverges");
    assert_true(r->coef[3] > 5.0);
    assert_true(r->se[3] > 10.0);
    /* The other coefficients are those of the fit without the rare rows. */
    assert_true(r->se[1] < 0.1);
    pf_irls_result_free(r);

    pf_irls_options o = {.separation_is_error = 1};
    const char *m = fit_error(d, &o);
    assert_contains(m, "'rare'");
    assert_true(strstr(m, "'a'") == NULL);
    pf_design_free(d);
}

/* ------------------------------------------------------------------------ */
/* Identities and hand computations                                          */

static void test_weight_is_replication(void **state)
{
    table t;
    read_table(GOLDEN "irls_counts.csv", &t);
    /* Expand the counts into 0/1 rows, once with weight 2 on every second
     * row and once with such rows written twice. */
    size_t p = t.p, n = 0;
    for (size_t i = 0; i < t.n; i++)
        n += (size_t) t.w[i];
    double *x = malloc(2 * n * p * sizeof *x), *y = malloc(2 * n * sizeof *y);
    double *w = malloc(2 * n * sizeof *w);
    double *x2 = malloc(2 * n * p * sizeof *x2), *y2 = malloc(2 * n * sizeof *y2);
    size_t m = 0, m2 = 0, k = 0;
    for (size_t i = 0; i < t.n; i++) {
        size_t trials = (size_t) t.w[i], succ = (size_t) lround(t.y[i] * t.w[i]);
        for (size_t r = 0; r < trials; r++, k++) {
            int dbl = k % 2 == 0;
            memcpy(x + m * p, t.x + i * p, p * sizeof *x);
            y[m] = r < succ;
            w[m++] = dbl ? 2.0 : 1.0;
            for (int c = 0; c < (dbl ? 2 : 1); c++) {
                memcpy(x2 + m2 * p, t.x + i * p, p * sizeof *x);
                y2[m2++] = r < succ;
            }
        }
    }
    pf_design_options dopt = {.has_intercept = 1};
    pf_design *da = NULL, *db = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&da, p, (const char *const *) t.names, &dopt, &err), 0);
    assert_int_equal(pf_design_append(da, m, x, y, w, NULL, &err), 0);
    assert_int_equal(pf_design_new(&db, p, (const char *const *) t.names, &dopt, &err), 0);
    assert_int_equal(pf_design_append(db, m2, x2, y2, NULL, NULL, &err), 0);
    /* The two start from different points (glm's start depends on the
     * weight), so they meet only at the optimum: iterate to it. */
    pf_irls_options o = {.tol = 1e-13};
    pf_irls_result *a = fit_ok(da, &o), *b = fit_ok(db, &o);
    for (size_t j = 0; j < p; j++) {
        assert_true(relerr(a->coef[j], b->coef[j]) < 1e-12);
        /* The standard errors come from the X'WX one step before the end. */
        assert_true(relerr(a->se[j], b->se[j]) < 1e-6);
    }
    assert_true(relerr(a->deviance, b->deviance) < 1e-10);
    assert_true(relerr(a->null_deviance, b->null_deviance) < 1e-10);
    assert_true(relerr(a->aic, b->aic) < 1e-10);
    assert_true(a->sum_weights == (double) m2 && a->nobs == m && b->nobs == m2);
    pf_irls_result_free(a);
    pf_irls_result_free(b);
    pf_design_free(da);
    pf_design_free(db);
    free(x), free(y), free(w), free(x2), free(y2);
    table_free(&t);
}

/* One column x = +-1, no intercept, 50 rows each: 35 successes at x = +1 and
 * 15 at x = -1. The penalised score is 70 - 100 s(b) - lambda b (s the
 * logistic function): solved here by bisection. */
static void test_ridge_one_parameter(void **state)
{
    const char *names[] = {"x"};
    double x[100], y[100];
    for (int i = 0; i < 100; i++) {
        x[i] = i < 50 ? 1.0 : -1.0;
        y[i] = i < 50 ? i < 35 : i < 65;
    }
    pf_design *d = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&d, 1, names, NULL, &err), 0);
    assert_int_equal(pf_design_append(d, 100, x, y, NULL, NULL, &err), 0);

    pf_irls_result *r0 = fit_ok(d, NULL);
    assert_true(fabs(r0->coef[0] - log(0.7 / 0.3)) < 1e-10);
    assert_true(relerr(r0->se[0], 1.0 / sqrt(100 * 0.7 * 0.3)) < 1e-6);
    /* Without an intercept the null model is mu = 1/2. */
    assert_true(relerr(r0->null_deviance, 200.0 * log(2.0)) < 1e-14);

    double lambda = 12.5, lo = 0.0, hi = 1.0;
    for (int it = 0; it < 200; it++) {
        double mid = 0.5 * (lo + hi);
        double g = 70.0 - 100.0 / (1.0 + exp(-mid)) - lambda * mid;
        if (g > 0)
            lo = mid;
        else
            hi = mid;
    }
    double b = 0.5 * (lo + hi), s = 1.0 / (1.0 + exp(-b));
    /* Iterated to the optimum, where the hand formulas hold (up to the
     * standard error's use of the X'WX one step before the end). */
    pf_irls_options o = {.l2 = lambda, .tol = 1e-14};
    pf_irls_result *r = fit_ok(d, &o);
    assert_true(r->coef[0] < r0->coef[0]);
    assert_true(relerr(r->coef[0], b) < 1e-13);
    assert_true(relerr(r->se[0], 1.0 / sqrt(100 * s * (1 - s) + lambda)) < 1e-9);
    assert_true(relerr(r->penalty, lambda * b * b) < 1e-12);
    double edf = 100 * s * (1 - s) / (100 * s * (1 - s) + lambda);
    assert_true(fabs(r->edf - edf) < 1e-9);
    assert_true(r->edf < 1.0);
    pf_irls_result_free(r0);
    pf_irls_result_free(r);
    pf_design_free(d);
}

/* Intercept only, proportions as responses: the estimate is the logit of
 * the weighted mean, and the model is its own null model. */
static void test_intercept_only(void **state)
{
    const char *names[] = {"(Intercept)"};
    double x[6] = {1, 1, 1, 1, 1, 1}, y[6] = {0.25, 0.5, 1, 0, 0.75, 0.2};
    double w[6] = {4, 2, 1, 3, 4, 5}, off[6] = {0};
    pf_design_options o = {.has_intercept = 1, .has_offset = 1};
    pf_design *d = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&d, 1, names, &o, &err), 0);
    assert_int_equal(pf_design_append(d, 6, x, y, w, off, &err), 0);
    pf_irls_result *r = fit_ok(d, NULL);
    double swy = 0, sw = 0;
    for (int i = 0; i < 6; i++) {
        swy += w[i] * y[i];
        sw += w[i];
    }
    double m = swy / sw;
    assert_true(fabs(r->coef[0] - log(m / (1 - m))) < 1e-10);
    assert_true(relerr(r->se[0], 1.0 / sqrt(sw * m * (1 - m))) < 1e-6);
    assert_true(relerr(r->null_deviance, r->deviance) < 1e-12);
    assert_true(r->df_residual == 5.0 && r->df_null == 5.0);
    pf_irls_result_free(r);
    pf_design_free(d);
}

static void count_iterations(void *ctx, int iter, double deviance)
{
    int *n = ctx;
    assert_int_equal(iter, *n + 1);
    assert_true(isfinite(deviance));
    (*n)++;
}

static void test_not_converged_and_progress(void **state)
{
    table t;
    read_table(GOLDEN "irls_design.csv", &t);
    pf_design *d = design_from(&t, 0, 0);
    int calls = 0;
    pf_irls_options o = {.max_iter = 2, .progress = count_iterations, .progress_ctx = &calls};
    pf_irls_result *r = fit_ok(d, &o);
    assert_int_equal(calls, 2);
    assert_int_equal(r->iterations, 2);
    assert_false(r->converged);
    assert_true(r->flags & PF_IRLS_NOT_CONVERGED);
    assert_contains(warnings_text(r), "did not converge in 2 iterations");
    assert_false(r->flags & PF_IRLS_SEPARATION);
    assert_all_finite(r);
    pf_irls_result_free(r);

    pf_irls_result *bad = NULL;
    pf_error err = {0};
    pf_irls_options inval[] = {
        {.max_iter = -1}, {.tol = -1e-8}, {.l2 = -1}, {.l2 = NAN}, {.threads = -2}};
    for (size_t k = 0; k < sizeof inval / sizeof *inval; k++) {
        assert_int_equal(pf_irls_fit(d, &inval[k], &bad, &err), PF_EINVAL);
        assert_null(bad);
    }
    pf_design_free(d);
    table_free(&t);
}

/* ------------------------------------------------------------------------ */
/* The design                                                                */

static void test_design_append(void **state)
{
    const char *names[] = {"(Intercept)", "a"};
    pf_design_options o = {.has_intercept = 1, .block_rows = 256, .max_rows = 600};
    pf_design *d = NULL;
    pf_error err = {0};
    assert_int_equal(pf_design_new(&d, 2, names, &o, &err), 0);
    double x[2 * 300], y[300], w[300];
    for (int i = 0; i < 300; i++) {
        x[2 * i] = 1.0;
        x[2 * i + 1] = 0.5 * i;
        y[i] = i % 2;
        w[i] = 1.5;
    }
    assert_int_equal(pf_design_append(d, 300, x, y, w, NULL, &err), 0);
    assert_int_equal(pf_design_rows(d), 300);
    assert_int_equal(pf_design_cols(d), 2);
    assert_string_equal(pf_design_name(d, 1), "a");
    assert_null(pf_design_name(d, 2));

    /* A view stops at the end of a block. */
    pf_design_view v;
    assert_int_equal(pf_design_rows_at(d, 200, 1000, &v), 56);
    assert_true(v.x[1] == 100.0 && v.w[0] == 1.5 && v.offset == NULL);
    assert_int_equal(pf_design_rows_at(d, 256, 1000, &v), 44);
    assert_true(v.x[1] == 128.0);
    assert_int_equal(pf_design_rows_at(d, 300, 10, &v), 0);

    /* Rejected rows leave the design as it was. */
    y[10] = 1.5;
    assert_int_equal(pf_design_append(d, 300, x, y, w, NULL, &err), PF_EINVAL);
    assert_contains(err.message, "design row 311");
    y[10] = 0.0;
    w[4] = -1.0;
    assert_int_equal(pf_design_append(d, 300, x, y, w, NULL, &err), PF_EINVAL);
    assert_contains(err.message, "weight -1");
    w[4] = 1.0;
    x[2 * 7 + 1] = NAN;
    assert_int_equal(pf_design_append(d, 300, x, y, w, NULL, &err), PF_EINVAL);
    assert_contains(err.message, "column 'a'");
    x[2 * 7 + 1] = 3.0;
    x[2 * 8] = 0.0;
    assert_int_equal(pf_design_append(d, 300, x, y, w, NULL, &err), PF_EINVAL);
    assert_contains(err.message, "intercept column '(Intercept)' is 0");
    x[2 * 8] = 1.0;
    double off[300] = {0};
    assert_int_equal(pf_design_append(d, 300, x, y, w, off, &err), PF_EINVAL);
    assert_int_equal(pf_design_rows(d), 300);

    assert_int_equal(pf_design_append(d, 300, x, y, w, NULL, &err), 0);
    assert_int_equal(pf_design_append(d, 1, x, y, w, NULL, &err), PF_ELIMIT);
    assert_int_equal(pf_design_rows(d), 600);
    assert_int_equal(pf_design_bytes(d), 3 * 256 * 4 * sizeof(double));
    pf_design_free(d);

    const char *dup[] = {"a", "a"};
    assert_int_equal(pf_design_new(&d, 2, dup, NULL, &err), PF_EINVAL);
    assert_contains(err.message, "'a' is repeated");
    pf_design_options odd = {.block_rows = 1000};
    assert_int_equal(pf_design_new(&d, 2, names, &odd, &err), PF_EINVAL);
    assert_int_equal(pf_design_new(&d, 0, names, NULL, &err), PF_EINVAL);
    pf_design_free(NULL);
    pf_irls_result_free(NULL);
}

/* Leaving rows out through the exclude mask fits the same model as a design
 * without them (summation order differs, so to 1e-10, not bitwise). */
static void test_exclude_mask(void **state)
{
    const size_t n = 3000, p = 3;
    const char *names[] = {"(Intercept)", "x1", "x2"};
    pf_design_options dopt = {.has_intercept = 1};
    pf_design *all, *sub;
    pf_error err;
    assert_int_equal(pf_design_new(&all, p, names, &dopt, &err), 0);
    assert_int_equal(pf_design_new(&sub, p, names, &dopt, &err), 0);
    unsigned char *exclude = calloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        double x[3] = {1, sin(0.37 * (double) i), cos(1.3 * (double) i)};
        double eta = -0.4 + 1.1 * x[1] - 0.7 * x[2];
        /* A deterministic outcome that is not separable: a fixed "uniform". */
        double u = fmod(0.618033988749895 * (double) (i + 1), 1.0);
        double y = u < 1 / (1 + exp(-eta)), w = 1 + (double) (i % 3);
        exclude[i] = i % 5 == 2;
        assert_int_equal(pf_design_append(all, 1, x, &y, &w, NULL, &err), 0);
        if (!exclude[i])
            assert_int_equal(pf_design_append(sub, 1, x, &y, &w, NULL, &err), 0);
    }
    pf_irls_options masked = {.exclude = exclude, .threads = 2};
    pf_irls_result *a, *b;
    assert_int_equal(pf_irls_fit(all, &masked, &a, &err), 0);
    assert_int_equal(pf_irls_fit(sub, NULL, &b, &err), 0);
    for (size_t j = 0; j < p; j++) {
        assert_true(fabs(a->coef[j] - b->coef[j]) <= 1e-10 * fabs(b->coef[j]));
        assert_true(fabs(a->se[j] - b->se[j]) <= 1e-10 * fabs(b->se[j]));
    }
    assert_true(fabs(a->deviance - b->deviance) <= 1e-10 * b->deviance);
    assert_true(a->nobs == b->nobs);
    pf_irls_result_free(a);
    pf_irls_result_free(b);
    pf_design_free(all);
    pf_design_free(sub);
    free(exclude);
    (void) state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_weighted),
        cmocka_unit_test(test_golden_offset),
        cmocka_unit_test(test_golden_counts),
        cmocka_unit_test(test_golden_ridge),
        cmocka_unit_test(test_threads_and_blocks_bitwise),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_rank_deficient),
        cmocka_unit_test(test_constant_column),
        cmocka_unit_test(test_single_class),
        cmocka_unit_test(test_complete_separation),
        cmocka_unit_test(test_quasi_separation),
        cmocka_unit_test(test_weight_is_replication),
        cmocka_unit_test(test_ridge_one_parameter),
        cmocka_unit_test(test_intercept_only),
        cmocka_unit_test(test_not_converged_and_progress),
        cmocka_unit_test(test_design_append),
        cmocka_unit_test(test_exclude_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
