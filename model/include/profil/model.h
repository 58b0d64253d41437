/*
 * model.h - a fitted model and its file (format "profil-model/1", JSON).
 *
 * A model file holds the kind ("logit" or "gbdt"), the schema it was built on (name,
 * version, SHA-256), the label, the terms in coefficient-table form, the
 * coefficients with standard errors and covariance, and metadata: how it
 * was trained (rows, data SHA-256, seed, options, software version,
 * deviance, warnings), holdout metrics and the training distribution of
 * every feature it uses (for input drift checks). Loaded once, immutable
 * after, shareable between threads. The model's id is the SHA-256 of its
 * file's bytes.
 *
 * A "gbdt" model (gradient-boosted trees, gbdt.h) holds its trees instead
 * of terms and coefficients: its encoder has no terms and gbdt is set.
 */
#ifndef PROFIL_MODEL_H
#define PROFIL_MODEL_H

#include <stddef.h>

#include "profil/encode.h"
#include "profil/hash.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PF_MODEL_FORMAT "profil-model/1"

struct json_t;

typedef struct pf_model {
    char *kind;                 /* "logit" or "gbdt" */
    const pf_schema *schema;    /* borrowed; must match the file's schema name and version */
    char *label;                /* label column the model predicts */
    pf_encoder *enc;            /* terms; coefficient j belongs to term j */
    double *coef;               /* enc->nterms */
    double *se;                 /* enc->nterms, or NULL when unknown */
    double *cov;                /* nterms x nterms row-major, or NULL when unknown */
    double *ref;                /* enc->nterms reference values: the weighted mean of each
                                   term over the training rows (the average profile that
                                   reasons are measured from), or NULL when unknown */
    char sha256[PF_SHA256_HEX]; /* of the file loaded or saved; "" before */
    struct json_t *meta;        /* training, holdout, distributions: owned JSON object */
    struct pf_gbdt *gbdt;       /* kind "gbdt": the trees (owned); NULL for "logit" */
} pf_model;

/* An empty model of the given kind over enc (taken over by the model). */
int pf_model_new(pf_model **out, const pf_schema *s, const char *kind, const char *label,
                 pf_encoder *enc, pf_error *err);

/* Loads a model file for schema s. The file's schema name and version must
 * be s's; every term must parse against s. */
int pf_model_load(pf_model **out, const char *path, const pf_schema *s, pf_error *err);

/* Writes the model atomically, and sets m->sha256 to the file's hash.
 * The output is canonical: the same model gives the same bytes. */
int pf_model_save(pf_model *m, const char *path, pf_error *err);

/* Accepts NULL. */
void pf_model_free(pf_model *m);

/* Logit of row i of a frame (the linear predictor, or the sum of trees). */
double pf_model_logit(const pf_model *m, const pf_frame *f, size_t i);

#ifdef __cplusplus
}
#endif
#endif
