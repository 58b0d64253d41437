/*
 * design.c - the encoded training data (see design.h).
 *
 * Rows live in blocks of block_rows rows, each block one allocation per
 * array (x, y, w and, when present, offset), allocated when the first row
 * reaches it. The block table itself grows by doubling; it holds pointers
 * only, so row data never moves.
 */
#include "profil/design.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    double *x;
    double *y;
    double *w;
    double *offset;
} block;

struct pf_design {
    size_t n;
    size_t p;
    size_t block_rows;
    size_t max_rows;
    int has_intercept;
    int has_offset;
    char **names;
    block *blocks;
    size_t nblocks; /* allocated blocks */
    size_t cap;     /* entries of the block table */
};

int pf_design_new(pf_design **out, size_t p, const char *const *names, const pf_design_options *opt,
                  pf_error *err)
{
    pf_design_options o = {0};
    if (opt)
        o = *opt;
    *out = NULL;
    if (p == 0 || p > PF_DESIGN_MAX_COLS)
        return pf_error_set(err, PF_EINVAL, "design: %zu columns (must be 1 to %d)", p,
                            PF_DESIGN_MAX_COLS);
    if (o.block_rows == 0)
        o.block_rows = PF_DESIGN_DEFAULT_BLOCK_ROWS;
    if (o.block_rows % PF_DESIGN_CHUNK_ROWS != 0 || o.block_rows > SIZE_MAX / 8 / p)
        return pf_error_set(err, PF_EINVAL, "design: block size %zu is not a multiple of %d rows",
                            o.block_rows, PF_DESIGN_CHUNK_ROWS);
    if (o.max_rows == 0)
        o.max_rows = PF_DESIGN_DEFAULT_MAX_ROWS;
    if (!names)
        return pf_error_set(err, PF_EINVAL, "design: column names are required");
    for (size_t j = 0; j < p; j++) {
        if (!names[j] || !names[j][0])
            return pf_error_set(err, PF_EINVAL, "design: column %zu has no name", j + 1);
        for (size_t k = 0; k < j; k++)
            if (strcmp(names[k], names[j]) == 0)
                return pf_error_set(err, PF_EINVAL, "design: column name '%s' is repeated",
                                    names[j]);
    }

    pf_design *d = calloc(1, sizeof *d);
    if (!d)
        return pf_error_set(err, PF_ENOMEM, "design: out of memory");
    d->p = p;
    d->block_rows = o.block_rows;
    d->max_rows = o.max_rows;
    d->has_intercept = o.has_intercept != 0;
    d->has_offset = o.has_offset != 0;
    d->names = calloc(p, sizeof *d->names);
    if (!d->names)
        goto nomem;
    for (size_t j = 0; j < p; j++)
        if (!(d->names[j] = strdup(names[j])))
            goto nomem;
    *out = d;
    return 0;
nomem:
    pf_design_free(d);
    return pf_error_set(err, PF_ENOMEM, "design: out of memory");
}

void pf_design_free(pf_design *d)
{
    if (!d)
        return;
    for (size_t b = 0; b < d->nblocks; b++) {
        free(d->blocks[b].x);
        free(d->blocks[b].y);
        free(d->blocks[b].w);
        free(d->blocks[b].offset);
    }
    free(d->blocks);
    if (d->names)
        for (size_t j = 0; j < d->p; j++)
            free(d->names[j]);
    free(d->names);
    free(d);
}

/* Validates the rows before anything is stored, so that a rejected append
 * leaves the design unchanged. */
static int check_rows(const pf_design *d, size_t nrows, const double *x, const double *y,
                      const double *w, const double *offset, pf_error *err)
{
    for (size_t i = 0; i < nrows; i++) {
        size_t row = d->n + i + 1;
        if (!(y[i] >= 0.0 && y[i] <= 1.0))
            return pf_error_set(err, PF_EINVAL, "design row %zu: response y = %g is not in [0, 1]",
                                row, y[i]);
        if (w && !(w[i] >= 0.0 && isfinite(w[i])))
            return pf_error_set(err, PF_EINVAL,
                                "design row %zu: weight %g is not a finite number >= 0", row, w[i]);
        if (offset && !isfinite(offset[i]))
            return pf_error_set(err, PF_EINVAL, "design row %zu: offset %g is not finite", row,
                                offset[i]);
        const double *xi = x + i * d->p;
        if (d->has_intercept && xi[0] != 1.0)
            return pf_error_set(err, PF_EINVAL,
                                "design row %zu: intercept column '%s' is %g, not 1", row,
                                d->names[0], xi[0]);
        for (size_t j = 0; j < d->p; j++)
            if (!isfinite(xi[j]))
                return pf_error_set(err, PF_EINVAL, "design row %zu, column '%s': %g is not finite",
                                    row, d->names[j], xi[j]);
    }
    return 0;
}

static int add_block(pf_design *d)
{
    if (d->nblocks == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        block *t = realloc(d->blocks, cap * sizeof *t);
        if (!t)
            return PF_ENOMEM;
        d->blocks = t;
        d->cap = cap;
    }
    block *b = &d->blocks[d->nblocks];
    memset(b, 0, sizeof *b);
    size_t r = d->block_rows;
    b->x = malloc(r * d->p * sizeof(double));
    b->y = malloc(r * sizeof(double));
    b->w = malloc(r * sizeof(double));
    if (d->has_offset)
        b->offset = malloc(r * sizeof(double));
    if (!b->x || !b->y || !b->w || (d->has_offset && !b->offset)) {
        free(b->x);
        free(b->y);
        free(b->w);
        free(b->offset);
        return PF_ENOMEM;
    }
    d->nblocks++;
    return 0;
}

int pf_design_append(pf_design *d, size_t nrows, const double *x, const double *y, const double *w,
                     const double *offset, pf_error *err)
{
    if (nrows == 0)
        return 0;
    if (!x || !y)
        return pf_error_set(err, PF_EINVAL, "design: rows without x or y");
    if (offset && !d->has_offset)
        return pf_error_set(err, PF_EINVAL, "design: offsets given to a design without offset");
    if (nrows > d->max_rows - d->n)
        return pf_error_set(err, PF_ELIMIT, "design: more than %zu rows", d->max_rows);
    int rc = check_rows(d, nrows, x, y, w, offset, err);
    if (rc)
        return rc;

    size_t need = (d->n + nrows + d->block_rows - 1) / d->block_rows;
    size_t had = d->nblocks;
    while (d->nblocks < need)
        if (add_block(d)) {
            /* Give back what this call allocated: the design stays as it was. */
            while (d->nblocks > had) {
                block *b = &d->blocks[--d->nblocks];
                free(b->x);
                free(b->y);
                free(b->w);
                free(b->offset);
            }
            return pf_error_set(err, PF_ENOMEM, "design: out of memory at %zu rows", d->n + nrows);
        }

    size_t done = 0;
    while (done < nrows) {
        size_t bi = d->n / d->block_rows, at = d->n % d->block_rows;
        size_t k = d->block_rows - at;
        if (k > nrows - done)
            k = nrows - done;
        block *b = &d->blocks[bi];
        memcpy(b->x + at * d->p, x + done * d->p, k * d->p * sizeof(double));
        memcpy(b->y + at, y + done, k * sizeof(double));
        for (size_t i = 0; i < k; i++)
            b->w[at + i] = w ? w[done + i] : 1.0;
        if (d->has_offset)
            for (size_t i = 0; i < k; i++)
                b->offset[at + i] = offset ? offset[done + i] : 0.0;
        d->n += k;
        done += k;
    }
    return 0;
}

size_t pf_design_rows(const pf_design *d)
{
    return d->n;
}

size_t pf_design_cols(const pf_design *d)
{
    return d->p;
}

const char *pf_design_name(const pf_design *d, size_t j)
{
    return j < d->p ? d->names[j] : NULL;
}

int pf_design_has_intercept(const pf_design *d)
{
    return d->has_intercept;
}

int pf_design_has_offset(const pf_design *d)
{
    return d->has_offset;
}

size_t pf_design_bytes(const pf_design *d)
{
    size_t per_row = (d->p + 2 + (d->has_offset ? 1 : 0)) * sizeof(double);
    return d->nblocks * d->block_rows * per_row;
}

size_t pf_design_rows_at(const pf_design *d, size_t first, size_t max, pf_design_view *v)
{
    memset(v, 0, sizeof *v);
    v->first = first;
    if (first >= d->n)
        return 0;
    size_t bi = first / d->block_rows, at = first % d->block_rows;
    size_t k = d->block_rows - at;
    if (k > d->n - first)
        k = d->n - first;
    if (k > max)
        k = max;
    const block *b = &d->blocks[bi];
    v->n = k;
    v->x = b->x + at * d->p;
    v->y = b->y + at;
    v->w = b->w + at;
    v->offset = b->offset ? b->offset + at : NULL;
    return k;
}
