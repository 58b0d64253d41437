/*
 * metrics.h - how good are predicted probabilities of a binary outcome.
 *
 * `profil train` reports these on the holdout rows and stores them in the
 * model file; `profil eval` computes them per group for the fairness tables.
 * Every function takes the rows as parallel arrays: p[i] the predicted
 * probability, y[i] the outcome (exactly 0 or 1), w[i] a case weight (w may
 * be NULL for all 1), i = 0 .. n-1.
 *
 * Weights are frequency weights, as in glm(family = binomial): a row of
 * weight 2 is the same as the row twice, for the estimates and for their
 * standard errors and intervals alike (class sizes in DeLong's variance
 * become class weight totals, the size in a Wilson interval becomes a weight
 * total). Non-integer weights are allowed; they do not turn the intervals
 * into design-based (survey) intervals. A row of weight 0 takes no part at
 * all, not even in the row counts, but its values must still be valid.
 *
 * Invalid input is an error (PF_EINVAL, with the 1-based row and the value in
 * the message), never a NaN in the result: n = 0, p NaN or outside [0, 1],
 * y other than 0 or 1, a weight that is negative or not finite, no row of
 * positive weight. AUC and calibration need both outcomes among the rows of
 * positive weight and fail otherwise; pf_metrics_summarize instead leaves
 * them out and says so in its flags, so that a small group in a fairness
 * table still gets its log-loss and base rate.
 *
 * Results are deterministic: the same arrays give bit-identical results on
 * one machine. Rows are sorted by (p, row index), a total order, and every
 * sum is formed in a fixed order (row order, or sorted order where the
 * description says so).
 *
 * Sorting needs memory proportional to n. Pass a workspace made with
 * pf_metrics_workspace_new to reuse it across calls (one per thread: calls
 * sharing a workspace must not run at the same time), or NULL to have each
 * call allocate and free its own.
 */
#ifndef PROFIL_METRICS_H
#define PROFIL_METRICS_H

#include <stddef.h>

#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Probabilities are clipped to [PF_METRICS_P_MIN, 1 - PF_METRICS_P_MIN]
 * before a log or a logit, so that a confident wrong prediction costs a
 * large but finite loss (34.5 nats) instead of an infinite one. */
#define PF_METRICS_P_MIN 1e-15

/* The 97.5 % normal quantile: every interval here is a 95 % interval. */
#define PF_METRICS_Z95 1.959963984540054

typedef struct pf_metrics_workspace pf_metrics_workspace;

/* Creates a workspace for calls with up to n_max rows (32 bytes a row). The
 * caller frees it with pf_metrics_workspace_free. A call with more rows than
 * the workspace holds fails with PF_EINVAL. */
int pf_metrics_workspace_new(size_t n_max, pf_metrics_workspace **out, pf_error *err);

/* Accepts NULL. */
void pf_metrics_workspace_free(pf_metrics_workspace *ws);

/* ------------------------------------------------------------------------ */
/* AUC                                                                      */

typedef struct pf_metrics_auc_est {
    double auc;       /* P(score of a positive > score of a negative), ties 1/2 */
    double var;       /* DeLong's variance of auc */
    double se;        /* sqrt(var) */
    double ci_lo;     /* auc -/+ PF_METRICS_Z95 * se, clipped to [0, 1] */
    double ci_hi;     /*   (see has_var) */
    int has_var;      /* 0 when a class weighs 1 or less (one positive or one
                         negative row unweighted): var and se are then 0 and the
                         interval is [0, 1], since nothing is known */
    size_t n_pos;     /* rows of positive weight with y = 1 */
    size_t n_neg;     /* ... with y = 0 */
    double sum_w_pos; /* their weight totals */
    double sum_w_neg;
} pf_metrics_auc_est;

/* Area under the ROC curve, which is the (weighted) Mann-Whitney statistic
 * sum_ij w_i w_j psi(p_i, p_j) / (W1 W0) over positives i and negatives j,
 * psi = 1 when p_i > p_j, 1/2 when equal, 0 otherwise. Its variance is
 * DeLong's from the placement values (DeLong, DeLong and Clarke-Pearson,
 * 1988): V10_i, the weighted share of negatives that positive i outranks,
 * and V01_j, the share of positives that outrank negative j;
 * var = S10 / W1 + S01 / W0 with S10 = sum_i w_i (V10_i - auc)^2 / (W1 - 1)
 * and S01 alike. Unweighted this is var(V10) / m + var(V01) / n. The
 * placement values come from one O(n log n) sort.
 *
 * When the classes are separated (auc 0 or 1) every placement value equals
 * the AUC, so DeLong's variance is 0 and the interval shrinks to the point:
 * it then says nothing about sampling error, and the row counts should be
 * reported with it. Errors: see the top of this file; PF_EINVAL when a
 * class is missing. */
int pf_metrics_auc(const double *p, const double *y, const double *w, size_t n,
                   pf_metrics_workspace *ws, pf_metrics_auc_est *out, pf_error *err);

typedef struct pf_metrics_auc_diff {
    pf_metrics_auc_est a1; /* p1 alone, bit-identical to pf_metrics_auc(p1, ...) */
    pf_metrics_auc_est a2; /* p2 alone */
    double diff;           /* a1.auc - a2.auc */
    double se;             /* its standard error (paired DeLong) */
    double z;              /* diff / se; 0 when diff = se = 0, +/-HUGE_VAL when only
                              se = 0 (both scores separate the classes) */
    double p_value;        /* two-sided, from the normal distribution; 1 when diff = se = 0 */
    double ci_lo;          /* diff -/+ PF_METRICS_Z95 * se */
    double ci_hi;
    int has_var; /* as in pf_metrics_auc_est; when 0, se = 0, z = 0, p_value = 1
                    and the interval is [-1, 1] */
} pf_metrics_auc_diff;

/* Compares the AUCs of two scores p1 and p2 on the same rows (same y and
 * w): DeLong's test for correlated ROC curves, with the covariance of the
 * two AUCs from the covariance of their placement values. Use it to compare
 * two models on one holdout set; for models evaluated on different rows the
 * AUCs are independent and their variances simply add. Errors as
 * pf_metrics_auc, for either score. */
int pf_metrics_auc_compare(const double *p1, const double *p2, const double *y, const double *w,
                           size_t n, pf_metrics_workspace *ws, pf_metrics_auc_diff *out,
                           pf_error *err);

/* ------------------------------------------------------------------------ */
/* Proper scores and means: sums, so they can be accumulated chunk by chunk  */

typedef struct pf_metrics_loss_est {
    size_t n;         /* rows of positive weight */
    double sum_w;     /* their weight total */
    double base_rate; /* weighted mean of y */
    double mean_p;    /* weighted mean of p */
    double log_loss;  /* weighted mean of -(y log p + (1 - y) log(1 - p)), natural log,
                         p clipped (PF_METRICS_P_MIN) */
    double brier;     /* weighted mean of (p - y)^2 */
} pf_metrics_loss_est;

/* Running sums behind pf_metrics_loss_est. Start with pf_metrics_sums_init
 * (or = {0}), add chunks in order, merge partial sums in a fixed order;
 * the result is bit-identical for the same sequence of calls, but adding
 * rows in one call or in several chunks may differ in the last bits. */
typedef struct pf_metrics_sums {
    size_t n;
    double sw, swy, swp, swll, swbrier;
} pf_metrics_sums;

void pf_metrics_sums_init(pf_metrics_sums *s);

/* Adds n rows (n = 0 is allowed). On an invalid row nothing is added. */
int pf_metrics_sums_add(pf_metrics_sums *s, const double *p, const double *y, const double *w,
                        size_t n, pf_error *err);

/* Adds b's sums to a. */
void pf_metrics_sums_merge(pf_metrics_sums *a, const pf_metrics_sums *b);

/* Means from the sums; PF_EINVAL when no row of positive weight was added. */
int pf_metrics_sums_finish(const pf_metrics_sums *s, pf_metrics_loss_est *out, pf_error *err);

/* The same in one call. */
int pf_metrics_loss(const double *p, const double *y, const double *w, size_t n,
                    pf_metrics_loss_est *out, pf_error *err);

/* ------------------------------------------------------------------------ */
/* Calibration                                                               */

typedef struct pf_metrics_calib_est {
    double intercept;    /* calibration in the large: a in logit P(y) = a + logit(p) */
    double intercept_se; /*   0 when the mean prediction matches the data */
    int has_slope;       /* 0 when the slope fit has no finite solution: p is constant,
                            or logit(p) separates the outcomes (no positive scored below
                            a negative, or none above); the slope fields are then 0 */
    double slope;        /* b in logit P(y) = a + b logit(p); 1 is ideal, below 1 means
                            predictions too extreme (overfitting) */
    double slope_se;
    double slope_intercept; /* a of that same fit */
    double slope_intercept_se;
    double slope_cov; /* covariance of slope_intercept and slope */
    int iterations;   /* Newton steps of the slope fit (or of the intercept fit alone) */
} pf_metrics_calib_est;

/* Calibration intercept and slope: the logistic regressions of y on the
 * offset logit(p) (one parameter, the slope fixed at 1) and on logit(p) (two
 * parameters), with p clipped (PF_METRICS_P_MIN). Both are fitted by
 * Newton's method with step halving to full convergence, so they agree with
 * glm(y ~ offset(qlogis(p)), binomial, weights = w) and
 * glm(y ~ qlogis(p), binomial, weights = w) far beyond glm's own default
 * tolerance; standard errors come from the observed information at the
 * solution (dispersion 1). Errors: see the top of this file; PF_EINVAL when
 * a class is missing (the intercept is then infinite). */
int pf_metrics_calib(const double *p, const double *y, const double *w, size_t n,
                     pf_metrics_calib_est *out, pf_error *err);

typedef struct pf_metrics_bin {
    size_t n;     /* rows of positive weight in the group */
    double sum_w; /* their weight total */
    double p_min; /* smallest and largest p in the group */
    double p_max;
    double mean_p; /* weighted mean of p */
    double obs;    /* weighted mean of y: the observed rate */
    double obs_lo; /* 95 % Wilson interval of obs with size sum_w */
    double obs_hi;
} pf_metrics_bin;

/* Calibration table of k groups of (nearly) equal row count, k = 10 for
 * deciles. The rows of positive weight (say n of them) are sorted by p;
 * group g (0-based) would hold the sorted rows from floor(g n / k) up to
 * floor((g + 1) n / k). Rows with equal p are never split: a boundary that
 * falls inside a run of equal p moves forward to the end of that run. A
 * group left empty by such moves is dropped, so *nbins (the groups written
 * to bins, in increasing p) may be less than k. Because tied rows stay
 * together, the table does not depend on the order of the rows. bins must
 * hold k entries. Errors: see the top of this file; PF_EINVAL for k = 0 or
 * k > 65536. */
int pf_metrics_calib_table(const double *p, const double *y, const double *w, size_t n, size_t k,
                           pf_metrics_workspace *ws, pf_metrics_bin *bins, size_t *nbins,
                           pf_error *err);

/* Wilson score interval for a proportion rate out of a size total (a weight
 * total may be fractional), at 95 %. For size <= 0 the interval is [0, 1]. */
void pf_metrics_wilson(double rate, double size, double *lo, double *hi);

/* ------------------------------------------------------------------------ */
/* Everything at once                                                       */

/* Flags of pf_metrics_summary: what could not be computed and why. */
enum {
    PF_METRICS_ONE_CLASS = 1u << 0, /* only one outcome among the rows: no AUC, no
                                       calibration (auc and calib are zero) */
    PF_METRICS_NO_SLOPE = 1u << 1   /* calib.has_slope = 0 */
};

typedef struct pf_metrics_summary {
    pf_metrics_loss_est loss;
    pf_metrics_auc_est auc;
    pf_metrics_calib_est calib;
    unsigned flags; /* PF_METRICS_* */
} pf_metrics_summary;

/* The holdout summary of `profil train` and one group's row of `profil
 * eval`: loss, AUC and calibration. A single outcome class is not an error
 * here but a flag. Errors: invalid input as described at the top of this
 * file, PF_ENOMEM. */
int pf_metrics_summarize(const double *p, const double *y, const double *w, size_t n,
                         pf_metrics_workspace *ws, pf_metrics_summary *out, pf_error *err);

#ifdef __cplusplus
}
#endif
#endif
