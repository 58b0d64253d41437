/*
 * design.h - the encoded training data: a dense design matrix held in memory.
 *
 * The encoder turns frames into numeric rows (one value per model column:
 * the intercept, dummies, spline bases, interactions) and appends them here;
 * the fitters (irls.h) pass over the rows once per iteration. This is the
 * only copy of the data that training keeps, so its size is the memory bound
 * of a fit: n * (p + 2) doubles (n * (p + 3) with offsets), stored in blocks
 * of a fixed number of rows so that appending never moves data already held.
 *
 * Rows are validated as they are appended (finite values, 0 <= y <= 1,
 * weights >= 0, the intercept exactly 1), so the fitters never meet a value
 * they cannot use.
 */
#ifndef PROFIL_DESIGN_H
#define PROFIL_DESIGN_H

#include <stddef.h>

#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Rows per unit of work of the fitters. Sums over rows are formed per chunk
 * of this many rows and the chunk sums are added in row order, so a fit's
 * result depends only on the data and the options, not on the block size or
 * the number of threads. Block sizes are multiples of it. */
#define PF_DESIGN_CHUNK_ROWS 256

#define PF_DESIGN_DEFAULT_BLOCK_ROWS 4096
#define PF_DESIGN_DEFAULT_MAX_ROWS   100000000 /* 10^8 */
#define PF_DESIGN_MAX_COLS           2048

typedef struct pf_design pf_design;

typedef struct pf_design_options {
    size_t block_rows; /* rows per storage block, a multiple of PF_DESIGN_CHUNK_ROWS;
                          0 = PF_DESIGN_DEFAULT_BLOCK_ROWS */
    size_t max_rows;   /* appending more rows fails with PF_ELIMIT;
                          0 = PF_DESIGN_DEFAULT_MAX_ROWS */
    int has_intercept; /* column 0 is the intercept: must be 1 in every row, and
                          the fitters leave it unpenalised by default */
    int has_offset;    /* rows carry an offset added to the linear predictor */
} pf_design_options;

/* A run of consecutive rows stored contiguously (pf_design_rows). */
typedef struct pf_design_view {
    size_t first;         /* index of the first row in the design */
    size_t n;             /* rows in the view */
    const double *x;      /* n * p values, row-major */
    const double *y;      /* n responses in [0, 1] */
    const double *w;      /* n case weights >= 0 */
    const double *offset; /* n offsets, or NULL when the design has none */
} pf_design_view;

/* Creates an empty design with p columns named names[0..p-1] (copied).
 * opt may be NULL for the defaults. Fails with PF_EINVAL for p = 0 or
 * p > PF_DESIGN_MAX_COLS, an empty or repeated name, or a block size that is
 * not a multiple of PF_DESIGN_CHUNK_ROWS. The caller frees *out with
 * pf_design_free. */
int pf_design_new(pf_design **out, size_t p, const char *const *names, const pf_design_options *opt,
                  pf_error *err);

/* Accepts NULL. */
void pf_design_free(pf_design *d);

/* Appends nrows rows: x holds nrows * p values row-major, y the responses
 * (0/1, or a proportion of successes with w the number of trials), w the case
 * weights (NULL = all 1), offset the offsets (NULL = all 0; must be NULL when
 * the design has no offset). All arrays are copied. Nothing is appended when
 * a value is rejected: PF_EINVAL with the row (1-based, counted over the
 * whole design), the column and the value in err. PF_ELIMIT when the design
 * would exceed max_rows, PF_ENOMEM when a block cannot be allocated. */
int pf_design_append(pf_design *d, size_t nrows, const double *x, const double *y, const double *w,
                     const double *offset, pf_error *err);

/* Rows held, columns, and the name of column j (owned by the design). */
size_t pf_design_rows(const pf_design *d);
size_t pf_design_cols(const pf_design *d);
const char *pf_design_name(const pf_design *d, size_t j);
int pf_design_has_intercept(const pf_design *d);
int pf_design_has_offset(const pf_design *d);

/* Bytes of row storage allocated (the memory a fit's data costs). */
size_t pf_design_bytes(const pf_design *d);

/* Fills v with the rows from first on, as many as are stored contiguously
 * there but at most max; returns v->n (0 when first >= the row count). The
 * pointers stay valid until the design is freed; appending does not move
 * stored rows. */
size_t pf_design_rows_at(const pf_design *d, size_t first, size_t max, pf_design_view *v);

#ifdef __cplusplus
}
#endif
#endif
