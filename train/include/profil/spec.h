/*
 * spec.h - a model specification: what to fit (format "profil-modelspec/1").
 *
 * A specification names the label, an optional weight column, the terms
 * in a compact form that expands against the schema (a category becomes
 * one term per non-reference level, a spline becomes x and its hinges, an
 * interaction crosses the columns of its two sides, a feature the schema
 * lets be missing gets its missing(x) indicator), the fit options and the
 * holdout split. See docs/model-spec.md.
 */
#ifndef PROFIL_SPEC_H
#define PROFIL_SPEC_H

#include <stdint.h>

#include "profil/encode.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_spec {
    char *name;
    int label_col;           /* schema column of the label */
    int weight_col;          /* schema column of case weights, -1 for none */
    int intercept;           /* the design has an intercept (term 0) */
    double l2;               /* ridge penalty lambda (0 = none) */
    int max_iter;            /* 0 = default */
    double tol;              /* 0 = default */
    double holdout_fraction; /* share of rows held out, 0 for none */
    uint64_t seed;           /* decides the holdout split */
    int holdout_col;         /* boolean column: 1 = holdout row (overrides the fraction) */
    int cv_folds;            /* k-fold cross-validation on the fit rows; 0 = none */
    pf_encoder *enc;         /* expanded terms, intercept first */
    char sha256[65];         /* of the specification file */
} pf_spec;

/* Loads and expands a specification against schema s (strict: unknown
 * keys, unknown features, bad knots are errors naming the term). */
int pf_spec_load(pf_spec **out, const char *path, const pf_schema *s, pf_error *err);

/* Accepts NULL. */
void pf_spec_free(pf_spec *spec);

/* Whether row number `row` (1-based data row) falls in the holdout under
 * the seeded split: a hash of (seed, row), so the split depends on neither
 * chunking nor thread count. */
int pf_spec_holdout_row(const pf_spec *spec, int64_t row);

/* Cross-validation fold (0..k-1) of row number `row`, from a hash of
 * (seed, row) independent of the holdout split's. */
int pf_spec_fold(const pf_spec *spec, int64_t row, int k);

#ifdef __cplusplus
}
#endif
#endif
