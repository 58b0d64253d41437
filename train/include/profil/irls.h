/*
 * irls.h - logistic regression by iteratively reweighted least squares.
 *
 * Fits P(y = 1 | x) = 1 / (1 + exp(-(x'b + offset))) to an encoded design
 * (design.h) by Newton's method in the form R's glm.fit uses: the same start
 * (mu = (w y + 0.5) / (w + 1)), the same working weights and responses, the
 * same stopping rule (|dev - dev_old| / (|dev| + 0.1) < tol) and the same
 * meaning of the standard errors (from the X'WX of the last iteration, with
 * dispersion 1). Coefficients, standard errors, deviance and AIC therefore
 * agree with glm(family = binomial) to far better than 1e-6 relative on a
 * full-rank design.
 *
 * Each iteration is one pass over the rows. Per chunk of
 * PF_DESIGN_CHUNK_ROWS rows, the linear predictor comes from dgemv and
 * X'WX together with X'Wz from one dsyrk on the sqrt(W)-scaled rows [x z];
 * chunk sums are added in chunk order and the p x p system is solved by
 * Cholesky (dpotrf/dpotrs). Chunks are spread over threads, but since each
 * chunk's sum is computed the same way whatever thread runs it and the sums
 * are combined in a fixed order, the result is byte-identical for every
 * thread count and block size (on one machine and BLAS build). Memory beyond
 * the design is a per-thread scratch of one chunk and a bounded number of
 * p x p chunk sums: it does not grow with the number of rows.
 *
 * Problems of the data are errors or warnings that name the columns
 * involved, never NaN coefficients: a design without rows of positive
 * weight, a label with one class, a constant column other than the intercept
 * and linearly dependent columns are errors (PF_EINVAL); separation (some
 * combination of columns predicts the outcome perfectly, so the maximum
 * likelihood estimate does not exist) is a warning, or an error on request.
 */
#ifndef PROFIL_IRLS_H
#define PROFIL_IRLS_H

#include <stddef.h>

#include "profil/design.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PF_IRLS_DEFAULT_MAX_ITER 25
#define PF_IRLS_DEFAULT_TOL      1e-8
#define PF_IRLS_MAX_THREADS      256

typedef struct pf_irls_options {
    int max_iter; /* iteration cap; 0 = PF_IRLS_DEFAULT_MAX_ITER */
    double tol;   /* relative deviance change that stops; 0 = PF_IRLS_DEFAULT_TOL */
    double l2;    /* lambda >= 0: minimise deviance / 2 + lambda / 2 * sum b_j^2 over the
                     penalised j (as scikit-learn's C = 1 / lambda); 0 = no penalty */
    const unsigned char *unpenalized; /* p flags, nonzero = not penalised; NULL = only the
                                         intercept (when the design has one) */
    int threads;                      /* 0 = one per online processor */
    int separation_is_error;          /* separation fails the fit instead of warning */
    const unsigned char *exclude;     /* one flag per design row, nonzero = leave the row out
                                         (as if its weight were 0), e.g. a cross-validation
                                         fold; NULL = every row */
    void (*progress)(void *ctx, int iter, double deviance); /* after each iteration, or NULL */
    void *progress_ctx;
} pf_irls_options;

/* Warning flags (pf_irls_result.flags); each comes with a text in warnings. */
enum {
    PF_IRLS_NOT_CONVERGED = 1u << 0, /* the iteration cap was reached */
    PF_IRLS_FITTED_0_1 = 1u << 1,    /* fitted probabilities numerically 0 or 1 (glm's test) */
    PF_IRLS_SEPARATION = 1u << 2,    /* (quasi-)complete separation confirmed */
    PF_IRLS_UNSTABLE = 1u << 3,      /* coefficients still moving at the end, cause unknown */
    PF_IRLS_COLLINEAR = 1u << 4      /* dependent columns, estimable only through the penalty */
};

typedef struct pf_irls_result {
    size_t p;             /* coefficients */
    char **names;         /* p column names */
    double *coef;         /* p estimates */
    double *se;           /* p standard errors */
    double *cov;          /* p x p covariance, row-major: the inverse of the last X'WX
                             (plus the penalty), dispersion 1 */
    double deviance;      /* -2 log-likelihood ratio against the saturated model */
    double null_deviance; /* the same for the intercept-only model (with the offset), or
                             for mu = 1/2 (with the offset) without an intercept */
    double penalty;       /* lambda * sum of the squared penalised coefficients */
    double aic;           /* as glm's binomial family computes it: prior weights are
                             rounded to whole trials; plus 2 * edf */
    double edf;           /* effective parameters: p, or trace((X'WX + L)^-1 X'WX) */
    size_t nobs;          /* rows with positive weight */
    double sum_weights;
    double df_residual; /* nobs - edf */
    double df_null;     /* nobs - (1 if intercept) */
    int iterations;
    int converged;
    unsigned flags; /* PF_IRLS_* warnings */
    size_t nwarnings;
    char **warnings; /* nwarnings messages naming the columns involved */
} pf_irls_result;

/* Fits the logistic model to d. opt may be NULL for the defaults. On success
 * *out holds a result the caller frees with pf_irls_result_free; warnings do
 * not fail the fit. Errors: PF_EINVAL for the data problems listed above
 * (the message names the columns) and for invalid options, PF_ENOMEM.
 * OpenBLAS's own threading is set to one thread for the duration of the call
 * (a process-wide setting, restored on return): the fit runs its own
 * threads. */
int pf_irls_fit(const pf_design *d, const pf_irls_options *opt, pf_irls_result **out,
                pf_error *err);

/* Accepts NULL. */
void pf_irls_result_free(pf_irls_result *r);

/* Linear predictor eta = x'b + offset for one design row x (p values) and
 * its delta-method standard error sqrt(x'Vx) (se may be NULL). A 95 %
 * interval of the probability is 1 / (1 + exp(-(eta -/+ 1.96 se))). */
void pf_irls_linpred(const pf_irls_result *r, const double *x, double offset, double *eta,
                     double *se);

/* Stops the thread pool that OpenBLAS's threaded build starts when it is
 * loaded; profil threads its own loops and calls BLAS with one thread.
 * OpenBLAS starts the pool again by itself if anything asks for threads.
 * Called once at the start of the executable. */
void pf_blas_release_threads(void);

#ifdef __cplusplus
}
#endif
#endif
