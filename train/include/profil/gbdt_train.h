/*
 * gbdt_train.h - fitting gradient-boosted trees (gbdt.h) with logistic loss.
 *
 * Histogram-based boosting: every feature is binned once into at most 255
 * value bins by quantile edges (plus a bin for missing values); each tree
 * grows best split first from per-bin sums of gradients and hessians,
 * limited by depth, by leaves, or both; leaf values carry an L2 penalty and
 * are shrunk by the learning rate. Rows and features are subsampled per
 * tree by a counter-based hash of (seed, tree, row or feature), and the
 * histograms of a node are summed over fixed blocks of rows merged in block
 * order, so the model is the same bytes for every thread count.
 */
#ifndef PROFIL_GBDT_TRAIN_H
#define PROFIL_GBDT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "profil/gbdt.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_gbdt_params {
    int ntrees;              /* boosting rounds (at most, with early stopping) */
    int max_depth;           /* 0 = no limit (then max_leaves must be set) */
    int max_leaves;          /* 0 = no limit */
    double learning_rate;    /* shrinkage of every leaf value, (0, 1] */
    double subsample;        /* share of rows per tree, (0, 1] */
    double colsample;        /* share of features per tree, (0, 1] */
    double l2;               /* L2 penalty on leaf values (lambda) */
    double min_child_weight; /* least hessian sum in a child */
    double min_split_gain;   /* least loss reduction of a split (gamma) */
    int max_bins;            /* value bins per feature, 2 to 255 */
    int early_stopping;      /* stop after this many rounds without a better
                                validation log-loss and keep the best; 0 = off */
    uint64_t seed;           /* row and feature subsampling */
    int threads;             /* 0 = all cores; the result does not depend on it */
    const int8_t *monotone;  /* per feature +1, -1 or 0; NULL = none */
} pf_gbdt_params;

/* Defaults: 300 trees of depth 6, learning rate 0.1, no subsampling,
 * lambda 1, min child weight 1, 255 bins, early stopping after 20 rounds. */
void pf_gbdt_params_default(pf_gbdt_params *p);

/* Rows in memory: x row-major (n * nfeat, NaN = missing), labels 0/1 and
 * positive case weights. */
typedef struct pf_gbdt_data {
    size_t n;
    const double *x;
    const double *y;
    const double *w;
} pf_gbdt_data;

typedef struct pf_gbdt_report {
    int rounds;            /* trees built */
    int trees;             /* trees kept (the best round with early stopping) */
    double fit_log_loss;   /* weighted, after the trees kept */
    double valid_log_loss; /* at the trees kept; NaN without validation rows */
} pf_gbdt_report;

/* Fits trees to fit (valid may be NULL or empty: then no early stopping)
 * over nfeat features that are the schema columns cols (ascending). The
 * base score is the logit of fit's weighted label mean. On success *out
 * is a new ensemble the caller frees. Fails with PF_EINVAL on bad
 * parameters or when fit holds a single class. */
int pf_gbdt_train(const pf_gbdt_data *fit, const pf_gbdt_data *valid, size_t nfeat, const int *cols,
                  const pf_gbdt_params *p, pf_gbdt **out, pf_gbdt_report *rep, pf_error *err);

/* A uniform number in [0, 1) from (seed, stream, i) alone: the counter-
 * based generator behind the subsampling (streams 2t and 2t + 1 for the
 * rows and features of tree t), for splits that must not depend on order. */
double pf_gbdt_uniform(uint64_t seed, uint64_t stream, uint64_t i);

#ifdef __cplusplus
}
#endif
#endif
