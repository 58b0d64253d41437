/*
 * table.h - small reference tables (municipalities, country regions,
 * compensation tables) loaded whole from CSV as strings.
 *
 * Reference tables are read strictly: comma-delimited UTF-8 with a header,
 * every row with the header's field count. They are small (at most a few
 * thousand rows), so they live in memory as a row-major grid of strings.
 */
#ifndef PROFIL_TABLE_H
#define PROFIL_TABLE_H

#include <stddef.h>

#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_table {
    size_t nrows;
    size_t ncols;
    char **names; /* ncols header names */
    char **cells; /* nrows * ncols values, row-major */
} pf_table;

/* Loads path (at most 64 MiB). On success *out is owned by the caller. */
int pf_table_load(pf_table **out, const char *path, pf_error *err);

/* Accepts NULL. */
void pf_table_free(pf_table *t);

/* Index of the named column, or -1. */
int pf_table_column(const pf_table *t, const char *name);

static inline const char *pf_table_cell(const pf_table *t, size_t row, size_t col)
{
    return t->cells[row * t->ncols + col];
}

#ifdef __cplusplus
}
#endif
#endif
