/*
 * encode.h - model terms, and the encoder that turns frames into design
 * rows and linear predictors.
 *
 * A term is one column of the design matrix: the product of one to three
 * factors, each a simple function of one schema column:
 *
 *   x                 the value (numbers; booleans as 0/1)
 *   log1p(x)          log(1 + x)
 *   hinge(x,k)        max(0, x - k): with x itself, a piecewise-linear spline
 *   bin(x,lo,hi)      1 when lo <= x < hi (lo may be -inf, hi inf)
 *   missing(x)        1 when x is missing
 *   x=L               1 when the category x has level L
 *
 * and "(Intercept)". Interactions join factors with ':'. The same terms
 * are written two ways: a display name ("sprakstod:utbildningsniva=6") and
 * the coefficient-table form used by `profil model from-table` and the
 * coefficient export, where category levels go in a separate column
 * (term "sprakstod:utbildningsniva", level "6").
 *
 * A missing value contributes 0 to every factor but missing(x), so a model
 * must hold missing(x) for each feature the schema lets be missing;
 * pf_encoder_check_missing() enforces that. The encoder is immutable once
 * built and may be shared between threads.
 */
#ifndef PROFIL_ENCODE_H
#define PROFIL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "profil/frame.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pf_factor_kind {
    PF_FACTOR_VALUE,   /* x */
    PF_FACTOR_LOG1P,   /* log1p(x) */
    PF_FACTOR_HINGE,   /* max(0, x - a) */
    PF_FACTOR_BIN,     /* a <= x < b */
    PF_FACTOR_MISSING, /* x is missing */
    PF_FACTOR_LEVEL    /* x == level */
} pf_factor_kind;

typedef struct pf_factor {
    pf_factor_kind kind;
    int col;       /* schema column */
    int32_t level; /* PF_FACTOR_LEVEL */
    double a, b;   /* hinge knot; bin bounds */
} pf_factor;

#define PF_TERM_MAX_FACTORS 3

typedef struct pf_term {
    char *name;      /* display name, "(Intercept)" for the intercept */
    char *expr;      /* coefficient-table term */
    char *level;     /* coefficient-table level ("" when no category factor) */
    size_t nfactors; /* 0 for the intercept */
    pf_factor factor[PF_TERM_MAX_FACTORS];
} pf_term;

typedef struct pf_encoder {
    const pf_schema *schema;
    size_t nterms;
    pf_term *terms;
    size_t cap;
} pf_encoder;

/* An encoder without terms. The schema must outlive it. */
int pf_encoder_new(pf_encoder **out, const pf_schema *s, pf_error *err);

/* Accepts NULL. */
void pf_encoder_free(pf_encoder *e);

/* Appends a term given in coefficient-table form: expr "(Intercept)",
 * "alder", "hinge(alder,35)", "kon" with level "K", "a:b" with level "L"
 * for its one category factor, "a:b" with level "L1:L2" for two, ...
 * Errors name the problem (unknown column, a category without level, a
 * transform on a category, a term given twice, ...). */
int pf_encoder_add(pf_encoder *e, const char *expr, const char *level, pf_error *err);

/* Index of the term with this display name, or -1. */
int pf_encoder_find(const pf_encoder *e, const char *name);

/* Removes the terms whose keep[j] is 0, keeping order. */
void pf_encoder_retain(pf_encoder *e, const uint8_t *keep);

/* Checks that every feature the schema lets be missing (missing "allow")
 * and that a term uses has a missing(x) term. */
int pf_encoder_check_missing(const pf_encoder *e, pf_error *err);

/* Writes rows [first, first + n) of f as design rows: x[i * ldx + j] is
 * term j of row first + i. */
void pf_encoder_rows(const pf_encoder *e, const pf_frame *f, size_t first, size_t n, double *x,
                     size_t ldx);

/* Value of one term for row i of f. */
double pf_encoder_value(const pf_encoder *e, size_t term, const pf_frame *f, size_t i);

/* Term `term` of rows first..first+n-1 of f into out[0..n): the values
 * pf_encoder_value gives, bit for bit, a factor at a time over the rows. */
void pf_encoder_column(const pf_encoder *e, size_t term, const pf_frame *f, size_t first, size_t n,
                       double *out);

/* The shortest text that reads back as v, without an exponent where one
 * is not needed ("50", "0.25", "inf"): how numbers appear in term names. */
void pf_format_number(char *buf, size_t n, double v);

/* Whether term j involves schema column col. */
int pf_term_uses(const pf_term *t, int col);

#ifdef __cplusplus
}
#endif
#endif
