/*
 * metrics.c - AUC with DeLong intervals, proper scores and calibration for
 * binary outcomes (see metrics.h).
 *
 * The AUC and the calibration table need the rows in score order; both use
 * one sort of (p, row index) keys, so ties are ordered by row and the order
 * is the same on every run. Everything else is a sum in row order. The
 * calibration fits are one- and two-parameter logistic regressions, small
 * enough to solve here by Newton's method rather than through train/.
 */
#include "profil/metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A row of positive weight in score order: sorting these pairs instead of an
 * index array keeps the comparisons in cache, and the index makes the order
 * total, so qsort (not stable) still gives one fixed result. */
typedef struct sort_key {
    double p;
    size_t i;
} sort_key;

struct pf_metrics_workspace {
    size_t n_max;
    sort_key *keys; /* n_max */
    double *place;  /* 2 n_max: placement values of one or two scores */
};

#define CALIB_MAX_ITER  100
#define CALIB_STEP_TOL  1e-10
#define CALIB_MAX_HALVE 60

/* Calibration tables with more groups than this are refused: the boundary
 * arithmetic below stays within size_t, and no report needs more. */
#define MAX_BINS 65536

/* ------------------------------------------------------------------------ */
/* Validation                                                               */

static double weight(const double *w, size_t i)
{
    return w ? w[i] : 1.0;
}

/* Class sizes and weight totals over the rows of positive weight, summed in
 * row order; they are the denominators of every weighted mean. */
typedef struct class_totals {
    size_t n_pos, n_neg;
    double w_pos, w_neg;
} class_totals;

static int check_p(const double *p, size_t n, const char *name, pf_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!(p[i] >= 0.0 && p[i] <= 1.0))
            return pf_error_set(err, PF_EINVAL,
                                "row %zu: %s = %.17g is not a probability (NaN or outside [0, 1])",
                                i + 1, name, p[i]);
    return 0;
}

/* Checks y and w and forms the class totals. */
static int check_yw_rows(const double *y, const double *w, size_t n, class_totals *t, pf_error *err)
{
    memset(t, 0, sizeof *t);
    if (!y)
        return pf_error_set(err, PF_EINVAL, "no outcome array");
    for (size_t i = 0; i < n; i++) {
        if (y[i] != 0.0 && y[i] != 1.0)
            return pf_error_set(err, PF_EINVAL, "row %zu: y = %.17g is not 0 or 1", i + 1, y[i]);
        double wi = weight(w, i);
        if (!(wi >= 0.0 && wi < HUGE_VAL))
            return pf_error_set(err, PF_EINVAL, "row %zu: weight %.17g is negative or not finite",
                                i + 1, wi);
        if (wi == 0.0)
            continue;
        if (y[i] == 1.0) {
            t->n_pos++;
            t->w_pos += wi;
        } else {
            t->n_neg++;
            t->w_neg += wi;
        }
    }
    return 0;
}

/* As check_yw_rows; n = 0 or no row of positive weight is an error here
 * because every metric is a mean over those rows. */
static int check_yw(const double *y, const double *w, size_t n, class_totals *t, pf_error *err)
{
    if (n == 0) {
        memset(t, 0, sizeof *t);
        return pf_error_set(err, PF_EINVAL, "no rows");
    }
    int rc = check_yw_rows(y, w, n, t, err);
    if (rc == 0 && t->n_pos + t->n_neg == 0)
        rc = pf_error_set(err, PF_EINVAL, "no row has a positive weight (%zu rows)", n);
    return rc;
}

static int check_rows(const double *p, const double *y, const double *w, size_t n, class_totals *t,
                      pf_error *err)
{
    int rc = check_yw(y, w, n, t, err);
    if (rc == 0 && !p)
        rc = pf_error_set(err, PF_EINVAL, "no probability array");
    if (rc == 0)
        rc = check_p(p, n, "p", err);
    return rc;
}

static int check_two_classes(const class_totals *t, const char *what, pf_error *err)
{
    if (t->n_pos == 0 || t->n_neg == 0)
        return pf_error_set(err, PF_EINVAL, "%s needs both outcomes, but all %zu rows have y = %d",
                            what, t->n_pos + t->n_neg, t->n_pos ? 1 : 0);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Workspace                                                                */

int pf_metrics_workspace_new(size_t n_max, pf_metrics_workspace **out, pf_error *err)
{
    *out = NULL;
    if (n_max > SIZE_MAX / (2 * sizeof(sort_key)))
        return pf_error_set(err, PF_EINVAL, "workspace for %zu rows is too large", n_max);
    pf_metrics_workspace *ws = calloc(1, sizeof *ws);
    size_t cap = n_max ? n_max : 1;
    if (ws) {
        ws->n_max = n_max;
        ws->keys = malloc(cap * sizeof *ws->keys);
        ws->place = malloc(2 * cap * sizeof *ws->place);
    }
    if (!ws || !ws->keys || !ws->place) {
        pf_metrics_workspace_free(ws);
        return pf_error_set(err, PF_ENOMEM, "out of memory for a workspace of %zu rows", n_max);
    }
    *out = ws;
    return 0;
}

void pf_metrics_workspace_free(pf_metrics_workspace *ws)
{
    if (ws) {
        free(ws->keys);
        free(ws->place);
        free(ws);
    }
}

/* Uses the caller's workspace, or makes one for this call in *own (which the
 * caller frees). */
static int workspace_get(pf_metrics_workspace *ws, size_t n, pf_metrics_workspace **use,
                         pf_metrics_workspace **own, pf_error *err)
{
    *own = NULL;
    if (ws) {
        if (ws->n_max < n)
            return pf_error_set(err, PF_EINVAL, "workspace holds %zu rows, the call has %zu",
                                ws->n_max, n);
        *use = ws;
        return 0;
    }
    int rc = pf_metrics_workspace_new(n, own, err);
    *use = *own;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Sorting                                                                  */

static int key_cmp(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->p < y->p)
        return -1;
    if (x->p > y->p)
        return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Fills keys with the rows of positive weight in (p, row) order; returns
 * their number. */
static size_t sort_rows(const double *p, const double *w, size_t n, sort_key *keys)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (weight(w, i) > 0.0)
            keys[m++] = (sort_key){.p = p[i], .i = i};
    qsort(keys, m, sizeof *keys, key_cmp);
    return m;
}

/* ------------------------------------------------------------------------ */
/* AUC                                                                      */

/* Writes each row's placement value to place[i]: for a positive, the weight
 * share of negatives scored lower (ties 1/2); for a negative, the share of
 * positives scored higher (ties 1/2). Rows of weight 0 are left untouched.
 * The walk goes over runs of equal score in increasing order. The class
 * totals used as denominators are summed run by run exactly as the running
 * sums are, so a positive above every negative gets exactly 1 and a negative
 * above every positive exactly 0, and separated classes give an AUC of
 * exactly 1 or 0. */
/* The negative (r0) and positive (r1) weight of the run of equal scores
 * starting at sorted position s; returns the position after the run. */
static size_t run_weights(const sort_key *keys, const double *y, const double *w, size_t s,
                          size_t m, double *r0, double *r1)
{
    size_t e;
    *r0 = *r1 = 0.0;
    for (e = s; e < m && keys[e].p == keys[s].p; e++) {
        size_t i = keys[e].i;
        if (y[i] == 1.0)
            *r1 += weight(w, i);
        else
            *r0 += weight(w, i);
    }
    return e;
}

static void placements(const double *p, const double *y, const double *w, size_t n, sort_key *keys,
                       double *place)
{
    size_t m = sort_rows(p, w, n, keys);
    double tot0 = 0.0, tot1 = 0.0;
    for (size_t s = 0, e; s < m; s = e) {
        double r0, r1;
        e = run_weights(keys, y, w, s, m, &r0, &r1);
        tot0 += r0;
        tot1 += r1;
    }
    double below0 = 0.0, below1 = 0.0;
    for (size_t s = 0, e; s < m; s = e) {
        double r0, r1;
        e = run_weights(keys, y, w, s, m, &r0, &r1);
        double v10 = tot0 > 0.0 ? (below0 + 0.5 * r0) / tot0 : 0.0;
        double v01 = tot1 > 0.0 ? 1.0 - (below1 + 0.5 * r1) / tot1 : 0.0;
        for (size_t k = s; k < e; k++) {
            size_t i = keys[k].i;
            place[i] = y[i] == 1.0 ? v10 : v01;
        }
        below0 += r0;
        below1 += r1;
    }
}

/* AUC as the weighted mean of the positives' placement values, in row order
 * and over the same rows as its denominator, so all-1 placements give
 * exactly 1. */
static double auc_from(const double *place, const double *y, const double *w, size_t n,
                       double w_pos)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight(w, i);
        if (wi > 0.0 && y[i] == 1.0)
            s += wi * place[i];
    }
    double a = s / w_pos;
    return a > 1.0 ? 1.0 : a;
}

/* Weighted covariances of two sets of placement values around their AUCs,
 * per class: c[0] over positives, c[1] over negatives, each divided by the
 * class weight total minus 1. pa may equal pb for a variance. */
static void place_cov(const double *pa, double aa, const double *pb, double ab, const double *y,
                      const double *w, size_t n, const class_totals *t, double c[2])
{
    double s1 = 0.0, s0 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight(w, i);
        if (wi == 0.0)
            continue;
        double d = wi * (pa[i] - aa) * (pb[i] - ab);
        if (y[i] == 1.0)
            s1 += d;
        else
            s0 += d;
    }
    c[0] = s1 / (t->w_pos - 1.0);
    c[1] = s0 / (t->w_neg - 1.0);
}

static void auc_fill(const double *place, const double *y, const double *w, size_t n,
                     const class_totals *t, pf_metrics_auc_est *out)
{
    memset(out, 0, sizeof *out);
    out->n_pos = t->n_pos;
    out->n_neg = t->n_neg;
    out->sum_w_pos = t->w_pos;
    out->sum_w_neg = t->w_neg;
    out->auc = auc_from(place, y, w, n, t->w_pos);
    out->has_var = t->w_pos > 1.0 && t->w_neg > 1.0;
    if (!out->has_var) {
        out->ci_lo = 0.0;
        out->ci_hi = 1.0;
        return;
    }
    double c[2];
    place_cov(place, out->auc, place, out->auc, y, w, n, t, c);
    out->var = c[0] / t->w_pos + c[1] / t->w_neg;
    out->se = sqrt(out->var);
    out->ci_lo = fmax(0.0, out->auc - PF_METRICS_Z95 * out->se);
    out->ci_hi = fmin(1.0, out->auc + PF_METRICS_Z95 * out->se);
}

/* The AUC of rows already checked, t their class totals. */
static int auc_checked(const double *p, const double *y, const double *w, size_t n,
                       const class_totals *t, pf_metrics_workspace *ws, pf_metrics_auc_est *out,
                       pf_error *err)
{
    pf_metrics_workspace *use = NULL, *own = NULL;
    int rc = check_two_classes(t, "AUC", err);
    if (rc == 0)
        rc = workspace_get(ws, n, &use, &own, err);
    if (rc == 0) {
        placements(p, y, w, n, use->keys, use->place);
        auc_fill(use->place, y, w, n, t, out);
    }
    pf_metrics_workspace_free(own);
    return rc;
}

int pf_metrics_auc(const double *p, const double *y, const double *w, size_t n,
                   pf_metrics_workspace *ws, pf_metrics_auc_est *out, pf_error *err)
{
    class_totals t;
    memset(out, 0, sizeof *out);
    int rc = check_rows(p, y, w, n, &t, err);
    if (rc == 0)
        rc = auc_checked(p, y, w, n, &t, ws, out, err);
    return rc;
}

int pf_metrics_auc_compare(const double *p1, const double *p2, const double *y, const double *w,
                           size_t n, pf_metrics_workspace *ws, pf_metrics_auc_diff *out,
                           pf_error *err)
{
    class_totals t;
    memset(out, 0, sizeof *out);
    int rc = check_yw(y, w, n, &t, err);
    if (rc == 0 && (!p1 || !p2))
        rc = pf_error_set(err, PF_EINVAL, "no probability array");
    if (rc == 0)
        rc = check_p(p1, n, "p1", err);
    if (rc == 0)
        rc = check_p(p2, n, "p2", err);
    if (rc == 0)
        rc = check_two_classes(&t, "AUC", err);
    pf_metrics_workspace *use = NULL, *own = NULL;
    if (rc == 0)
        rc = workspace_get(ws, n, &use, &own, err);
    if (rc != 0) {
        pf_metrics_workspace_free(own);
        return rc;
    }
    double *v1 = use->place, *v2 = use->place + n;
    placements(p1, y, w, n, use->keys, v1);
    placements(p2, y, w, n, use->keys, v2);
    auc_fill(v1, y, w, n, &t, &out->a1);
    auc_fill(v2, y, w, n, &t, &out->a2);

    out->diff = out->a1.auc - out->a2.auc;
    out->has_var = out->a1.has_var;
    out->z = 0.0;
    out->p_value = 1.0;
    out->ci_lo = -1.0;
    out->ci_hi = 1.0;
    if (!out->has_var) {
        pf_metrics_workspace_free(own);
        return 0;
    }
    double c12[2];
    place_cov(v1, out->a1.auc, v2, out->a2.auc, y, w, n, &t, c12);
    pf_metrics_workspace_free(own);
    /* var(A1 - A2) per class is var1 + var2 - 2 cov12 of the placement
     * values; rounding can push a near-zero difference of nearly equal
     * scores below 0. */
    double a1v = out->a1.var, a2v = out->a2.var;
    double v = a1v + a2v - 2.0 * (c12[0] / t.w_pos + c12[1] / t.w_neg);
    out->se = v > 0.0 ? sqrt(v) : 0.0;
    out->ci_lo = out->diff - PF_METRICS_Z95 * out->se;
    out->ci_hi = out->diff + PF_METRICS_Z95 * out->se;
    if (out->se > 0.0) {
        out->z = out->diff / out->se;
        out->p_value = erfc(fabs(out->z) / M_SQRT2);
    } else if (out->diff != 0.0) {
        out->z = copysign(HUGE_VAL, out->diff);
        out->p_value = 0.0;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Proper scores                                                            */

static double clip_p(double p)
{
    if (p < PF_METRICS_P_MIN)
        return PF_METRICS_P_MIN;
    if (p > 1.0 - PF_METRICS_P_MIN)
        return 1.0 - PF_METRICS_P_MIN;
    return p;
}

void pf_metrics_sums_init(pf_metrics_sums *s)
{
    memset(s, 0, sizeof *s);
}

int pf_metrics_sums_add(pf_metrics_sums *s, const double *p, const double *y, const double *w,
                        size_t n, pf_error *err)
{
    if (n == 0)
        return 0;
    /* A chunk whose rows all weigh 0 is valid here; only the finished sums
     * must hold a row. */
    class_totals t;
    int rc = check_yw_rows(y, w, n, &t, err);
    if (rc == 0 && !p)
        rc = pf_error_set(err, PF_EINVAL, "no probability array");
    if (rc == 0)
        rc = check_p(p, n, "p", err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double wi = weight(w, i);
        if (wi == 0.0)
            continue;
        double q = clip_p(p[i]);
        double ll = y[i] == 1.0 ? -log(q) : -log1p(-q);
        double d = p[i] - y[i];
        s->n++;
        s->sw += wi;
        s->swy += wi * y[i];
        s->swp += wi * p[i];
        s->swll += wi * ll;
        s->swbrier += wi * d * d;
    }
    return 0;
}

void pf_metrics_sums_merge(pf_metrics_sums *a, const pf_metrics_sums *b)
{
    a->n += b->n;
    a->sw += b->sw;
    a->swy += b->swy;
    a->swp += b->swp;
    a->swll += b->swll;
    a->swbrier += b->swbrier;
}

int pf_metrics_sums_finish(const pf_metrics_sums *s, pf_metrics_loss_est *out, pf_error *err)
{
    memset(out, 0, sizeof *out);
    if (s->n == 0 || !(s->sw > 0.0))
        return pf_error_set(err, PF_EINVAL, "no row has a positive weight");
    out->n = s->n;
    out->sum_w = s->sw;
    out->base_rate = s->swy / s->sw;
    out->mean_p = s->swp / s->sw;
    out->log_loss = s->swll / s->sw;
    out->brier = s->swbrier / s->sw;
    return 0;
}

int pf_metrics_loss(const double *p, const double *y, const double *w, size_t n,
                    pf_metrics_loss_est *out, pf_error *err)
{
    pf_metrics_sums s;
    class_totals t;
    memset(out, 0, sizeof *out);
    pf_metrics_sums_init(&s);
    int rc = check_rows(p, y, w, n, &t, err);
    if (rc == 0)
        rc = pf_metrics_sums_add(&s, p, y, w, n, err);
    if (rc == 0)
        rc = pf_metrics_sums_finish(&s, out, err);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Calibration fits                                                         */

static double logit_clipped(double p)
{
    double q = clip_p(p);
    return log(q / (1.0 - q));
}

/* Log-likelihood, score and information of logit P(y) = a + b x at (a, b),
 * x = logit(p): g = (d/da, d/db), h = (h_aa, h_ab, h_bb). */
static void calib_eval(const double *xs, const double *y, const double *w, size_t n, double a,
                       double b, double *ll, double g[2], double h[3])
{
    double l = 0.0, g0 = 0.0, g1 = 0.0, h0 = 0.0, h1 = 0.0, h2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = weight(w, i);
        if (wi == 0.0)
            continue;
        double x = xs[i];
        double eta = a + b * x;
        /* mu and mu (1 - mu) from exp(-|eta|), so neither loses its digits
         * when mu is close to 0 or 1. */
        double e = exp(-fabs(eta));
        double mu = eta >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
        double v = wi * e / ((1.0 + e) * (1.0 + e));
        double r = wi * (y[i] - mu);
        /* log(1 + exp(eta)) without overflow, from the e above. */
        l += wi * (y[i] * eta - ((eta > 0.0 ? eta : 0.0) + log1p(e)));
        g0 += r;
        g1 += r * x;
        h0 += v;
        h1 += v * x;
        h2 += v * x * x;
    }
    *ll = l;
    g[0] = g0;
    g[1] = g1;
    h[0] = h0;
    h[1] = h1;
    h[2] = h2;
}

/* Maximises the likelihood in a (two = 0, b fixed at 1) or in (a, b) by
 * Newton's method from the perfectly calibrated start (0, 1), halving a
 * step while it lowers the likelihood. It stops after the first step that is
 * below CALIB_STEP_TOL relative: quadratic convergence leaves that last
 * update accurate to rounding. The information at the solution is returned
 * in h for the standard errors. Returns 0, or -1 when the information is
 * singular or the iteration fails to converge. */
static int calib_newton(const double *x, const double *y, const double *w, size_t n, int two,
                        double theta[2], double h[3], int *iterations)
{
    double ll, g[2];
    theta[0] = 0.0;
    theta[1] = 1.0;
    calib_eval(x, y, w, n, theta[0], theta[1], &ll, g, h);
    for (int it = 1; it <= CALIB_MAX_ITER; it++) {
        *iterations = it;
        double s[2] = {0.0, 0.0};
        if (two) {
            double det = h[0] * h[2] - h[1] * h[1];
            if (!(det > 0.0) || !isfinite(det))
                return -1;
            s[0] = (h[2] * g[0] - h[1] * g[1]) / det;
            s[1] = (h[0] * g[1] - h[1] * g[0]) / det;
        } else {
            if (!(h[0] > 0.0))
                return -1;
            s[0] = g[0] / h[0];
        }
        if (!isfinite(s[0]) || !isfinite(s[1]))
            return -1;
        int small = fabs(s[0]) <= CALIB_STEP_TOL * (1.0 + fabs(theta[0])) &&
                    fabs(s[1]) <= CALIB_STEP_TOL * (1.0 + fabs(theta[1]));
        double t = 1.0, ll_new, g_new[2], h_new[3];
        for (int k = 0;; k++) {
            calib_eval(x, y, w, n, theta[0] + t * s[0], theta[1] + t * s[1], &ll_new, g_new, h_new);
            /* Near the optimum the likelihood is flat to rounding, so a
             * step that is already small is taken as it is. */
            if (small || ll_new >= ll - 1e-12 * (1.0 + fabs(ll)))
                break;
            if (k == CALIB_MAX_HALVE)
                return -1;
            t *= 0.5;
        }
        theta[0] += t * s[0];
        theta[1] += t * s[1];
        ll = ll_new;
        memcpy(g, g_new, sizeof g);
        memcpy(h, h_new, 3 * sizeof *h);
        if (small)
            return 0;
    }
    return -1;
}

/* Whether y ~ a + b logit(p) has a finite maximum: it has unless some
 * threshold on logit(p) puts every positive on one side and every negative
 * on the other (ties on the threshold allowed), which includes constant p. */
static int slope_exists(const double *xs, const double *y, const double *w, size_t n)
{
    double lo1 = HUGE_VAL, hi1 = -HUGE_VAL, lo0 = HUGE_VAL, hi0 = -HUGE_VAL;
    for (size_t i = 0; i < n; i++) {
        if (weight(w, i) == 0.0)
            continue;
        double x = xs[i];
        if (y[i] == 1.0) {
            lo1 = fmin(lo1, x);
            hi1 = fmax(hi1, x);
        } else {
            lo0 = fmin(lo0, x);
            hi0 = fmax(hi0, x);
        }
    }
    return lo1 < hi0 && lo0 < hi1;
}

/* The calibration fits on rows already checked, t their class totals. */
static int calib_checked(const double *p, const double *y, const double *w, size_t n,
                         const class_totals *t, pf_metrics_calib_est *out, pf_error *err)
{
    int rc = check_two_classes(t, "calibration", err);
    if (rc != 0)
        return rc;
    /* logit(p) once, not once per Newton step. */
    double *x = malloc((n ? n : 1) * sizeof *x);
    if (!x)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        x[i] = logit_clipped(p[i]);
    double theta[2], h[3];
    int it = 0;
    if (calib_newton(x, y, w, n, 0, theta, h, &it) != 0) {
        free(x);
        return pf_error_set(err, PF_EINVAL,
                            "calibration intercept: Newton's method failed after %d steps", it);
    }
    out->intercept = theta[0];
    out->intercept_se = 1.0 / sqrt(h[0]);
    out->iterations = it;

    int slope = slope_exists(x, y, w, n) && calib_newton(x, y, w, n, 1, theta, h, &it) == 0;
    free(x);
    if (!slope)
        return 0;
    double det = h[0] * h[2] - h[1] * h[1];
    out->has_slope = 1;
    out->iterations = it;
    out->slope_intercept = theta[0];
    out->slope = theta[1];
    out->slope_intercept_se = sqrt(h[2] / det);
    out->slope_se = sqrt(h[0] / det);
    out->slope_cov = -h[1] / det;
    return 0;
}

int pf_metrics_calib(const double *p, const double *y, const double *w, size_t n,
                     pf_metrics_calib_est *out, pf_error *err)
{
    class_totals t;
    memset(out, 0, sizeof *out);
    int rc = check_rows(p, y, w, n, &t, err);
    if (rc == 0)
        rc = calib_checked(p, y, w, n, &t, out, err);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Calibration table                                                        */

void pf_metrics_wilson(double rate, double size, double *lo, double *hi)
{
    if (!(size > 0.0)) {
        *lo = 0.0;
        *hi = 1.0;
        return;
    }
    const double z = PF_METRICS_Z95, z2 = z * z;
    double d = 1.0 + z2 / size;
    double centre = (rate + z2 / (2.0 * size)) / d;
    double half = z / d * sqrt(rate * (1.0 - rate) / size + z2 / (4.0 * size * size));
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
}

/* floor(g m / k) for g <= k <= MAX_BINS without overflowing g m. */
static size_t nominal_boundary(size_t g, size_t m, size_t k)
{
    return g * (m / k) + g * (m % k) / k;
}

int pf_metrics_calib_table(const double *p, const double *y, const double *w, size_t n, size_t k,
                           pf_metrics_workspace *ws, pf_metrics_bin *bins, size_t *nbins,
                           pf_error *err)
{
    class_totals t;
    *nbins = 0;
    int rc = check_rows(p, y, w, n, &t, err);
    if (rc == 0 && (k == 0 || k > MAX_BINS))
        rc = pf_error_set(err, PF_EINVAL, "calibration table: %zu groups (allowed 1 to %d)", k,
                          MAX_BINS);
    pf_metrics_workspace *use = NULL, *own = NULL;
    if (rc == 0)
        rc = workspace_get(ws, n, &use, &own, err);
    if (rc != 0)
        return rc;
    const sort_key *keys = use->keys;
    size_t m = sort_rows(p, w, n, use->keys);
    size_t start = 0;
    for (size_t g = 1; g <= k; g++) {
        size_t end = g == k ? m : nominal_boundary(g, m, k);
        if (end < start)
            end = start;
        while (end > 0 && end < m && keys[end - 1].p == keys[end].p)
            end++;
        if (end == start)
            continue;
        double sw = 0.0, swp = 0.0, swy = 0.0;
        for (size_t j = start; j < end; j++) {
            size_t i = keys[j].i;
            double wi = weight(w, i);
            sw += wi;
            swp += wi * p[i];
            swy += wi * y[i];
        }
        pf_metrics_bin *b = &bins[(*nbins)++];
        b->n = end - start;
        b->sum_w = sw;
        b->p_min = keys[start].p;
        b->p_max = keys[end - 1].p;
        b->mean_p = fmin(fmax(swp / sw, b->p_min), b->p_max);
        b->obs = swy / sw;
        pf_metrics_wilson(b->obs, sw, &b->obs_lo, &b->obs_hi);
        start = end;
    }
    pf_metrics_workspace_free(own);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Summary                                                                  */

int pf_metrics_summarize(const double *p, const double *y, const double *w, size_t n,
                         pf_metrics_workspace *ws, pf_metrics_summary *out, pf_error *err)
{
    class_totals t;
    pf_metrics_sums s;
    memset(out, 0, sizeof *out);
    pf_metrics_sums_init(&s);
    int rc = check_rows(p, y, w, n, &t, err);
    if (rc == 0)
        rc = pf_metrics_sums_add(&s, p, y, w, n, err);
    if (rc == 0)
        rc = pf_metrics_sums_finish(&s, &out->loss, err);
    if (rc != 0)
        return rc;
    if (t.n_pos == 0 || t.n_neg == 0) {
        out->flags |= PF_METRICS_ONE_CLASS;
        return 0;
    }
    rc = auc_checked(p, y, w, n, &t, ws, &out->auc, err);
    if (rc == 0)
        rc = calib_checked(p, y, w, n, &t, &out->calib, err);
    if (rc == 0 && !out->calib.has_slope)
        out->flags |= PF_METRICS_NO_SLOPE;
    return rc;
}
