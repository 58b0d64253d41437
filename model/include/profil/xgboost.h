/*
 * xgboost.h - XGBoost JSON models (Booster.save_model("m.json"), XGBoost
 * 1.x) read into a gbdt ensemble (gbdt.h), so that a model trained in
 * Python or R is scored by profil with the same logits.
 *
 * Supported: the gbtree booster (several parallel trees per round too),
 * objective binary:logistic, reg:logistic or binary:logitraw, numerical
 * splits. Refused with a message: other objectives (multi-class, ranking,
 * regression), the dart and gblinear boosters, categorical splits.
 *
 * XGBoost's features are named; every name must be a feature column of the
 * profil schema (not a string column), and the feature values XGBoost saw
 * must be the ones profil gives (gbdt.h): numbers as numbers, booleans as
 * 0/1, a category as its 0-based position in the schema's level list.
 *
 * XGBoost sends x left when (float) x < t, with t a float: each threshold
 * becomes the double T with x < T exactly when (float) x < t, for every
 * double x (pf_xgboost_threshold), so the same rows reach the same leaves.
 * Missing values go to each node's default side, as in XGBoost. Leaf
 * values and covers (sum_hessian) are XGBoost's floats. The base score is
 * XGBoost's base margin: -logf(1 / base_score - 1) in single precision for
 * the logistic objectives. profil sums the leaves in double precision,
 * XGBoost in single: logits agree to the float rounding of the sum (about
 * 1e-7 per tree at logits near 1).
 */
#ifndef PROFIL_XGBOOST_H
#define PROFIL_XGBOOST_H

#include <stddef.h>

#include "profil/gbdt.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;

/* What the XGBoost file said, for the imported model's metadata. */
typedef struct pf_xgboost_info {
    char objective[32];
    int version[3];     /* XGBoost version that saved the file; 0s when absent */
    size_t ntrees;      /* trees (rounds x parallel trees) */
    double base_score;  /* as given in the file (a probability for the logistic objectives) */
    double base_margin; /* the logit the trees are added to */
} pf_xgboost_info;

/* Reads the XGBoost model in root (a parsed JSON document) into *out, a
 * gbdt over the schema columns named by its features. names (nnames
 * entries) replace the file's feature_names when not NULL, e.g. for a
 * model saved without names. path names the file in messages. Fails with
 * PF_EFORMAT for a malformed or unsupported model and PF_ENOTFOUND when a
 * feature name is not a usable feature column of s (the message names it). */
int pf_xgboost_import(pf_gbdt **out, const struct json_t *root, const pf_schema *s,
                      const char *const *names, size_t nnames, const char *path,
                      pf_xgboost_info *info, pf_error *err);

/* The double T such that x < T exactly when (float) x < t (round to
 * nearest, ties to even), for every double x; t finite. */
double pf_xgboost_threshold(float t);

#ifdef __cplusplus
}
#endif
#endif
