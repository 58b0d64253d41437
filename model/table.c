/*
 * table.c - strict loader for small reference CSV tables (see table.h).
 */
#include "profil/table.h"

#include <csv.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define TABLE_MAX_BYTES (64u << 20)

typedef struct loader {
    pf_table *t;
    size_t field; /* field index within the current record */
    size_t cap;   /* capacity of t->cells */
    size_t line;  /* record number, 1 = header */
    int header_done;
    int failed; /* pf_status of the first problem */
    pf_error *err;
    const char *path;
} loader;

static void on_field(void *data, size_t len, void *ctx)
{
    loader *L = ctx;
    pf_table *t = L->t;
    if (L->failed)
        return;
    const char *s = data ? data : "";
    if (!pf_utf8_valid(s, len)) {
        L->failed = pf_error_set(L->err, PF_EFORMAT, "%s: record %zu field %zu: invalid UTF-8",
                                 L->path, L->line, L->field + 1);
        return;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        L->failed = pf_error_set(L->err, PF_ENOMEM, "out of memory reading %s", L->path);
        return;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    if (!L->header_done) {
        char **n = realloc(t->names, (t->ncols + 1) * sizeof *n);
        if (!n) {
            free(copy);
            L->failed = pf_error_set(L->err, PF_ENOMEM, "out of memory reading %s", L->path);
            return;
        }
        t->names = n;
        t->names[t->ncols++] = copy;
    } else {
        if (L->field >= t->ncols) {
            free(copy);
            L->field++;
            return; /* reported at record end */
        }
        size_t need = (t->nrows + 1) * t->ncols;
        if (need > L->cap) {
            size_t cap = L->cap ? L->cap * 2 : 64 * t->ncols;
            while (cap < need)
                cap *= 2;
            char **c = realloc(t->cells, cap * sizeof *c);
            if (!c) {
                free(copy);
                L->failed = pf_error_set(L->err, PF_ENOMEM, "out of memory reading %s", L->path);
                return;
            }
            t->cells = c;
            L->cap = cap;
        }
        t->cells[t->nrows * t->ncols + L->field] = copy;
    }
    L->field++;
}

static void on_record(int c, void *ctx)
{
    loader *L = ctx;
    pf_table *t = L->t;
    if (L->failed)
        return;
    if (!L->header_done) {
        L->header_done = 1;
    } else if (L->field != t->ncols) {
        L->failed =
            pf_error_set(L->err, PF_EFORMAT, "%s: record %zu has %zu fields, header has %zu",
                         L->path, L->line, L->field, t->ncols);
        return;
    } else {
        t->nrows++;
    }
    L->field = 0;
    L->line++;
}

int pf_table_load(pf_table **out, const char *path, pf_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return pf_error_set(err, PF_ENOTFOUND, "cannot open reference table %s: %s", path,
                            strerror(errno));
    pf_table *t = calloc(1, sizeof *t);
    char *buf = malloc(TABLE_MAX_BYTES);
    struct csv_parser p;
    int rc = 0;
    if (!t || !buf || csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fclose(fp);
        free(buf);
        free(t);
        return pf_error_set(err, PF_ENOMEM, "out of memory reading %s", path);
    }
    size_t n = fread(buf, 1, TABLE_MAX_BYTES, fp);
    int too_big = n == TABLE_MAX_BYTES && fgetc(fp) != EOF;
    int read_err = ferror(fp);
    fclose(fp);
    loader L = {.t = t, .line = 1, .err = err, .path = path};
    if (too_big) {
        rc = pf_error_set(err, PF_ELIMIT, "reference table %s is larger than 64 MiB", path);
    } else if (read_err) {
        rc = pf_error_set(err, PF_EIO, "cannot read reference table %s", path);
    } else {
        size_t skip = (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) ? 3 : 0;
        if (csv_parse(&p, buf + skip, n - skip, on_field, on_record, &L) != n - skip ||
            csv_fini(&p, on_field, on_record, &L) != 0) {
            if (!L.failed)
                L.failed = pf_error_set(err, PF_EFORMAT, "%s: malformed CSV near record %zu: %s",
                                        path, L.line, csv_strerror(csv_error(&p)));
        }
        rc = L.failed;
        /* A record that failed part-way holds cells beyond nrows, which
         * pf_table_free does not see. */
        for (size_t j = 0; rc && L.header_done && j < L.field && j < t->ncols; j++)
            free(t->cells[t->nrows * t->ncols + j]);
        if (!rc && t->ncols == 0)
            rc = pf_error_set(err, PF_EFORMAT, "reference table %s is empty", path);
    }
    csv_free(&p);
    free(buf);
    if (rc) {
        pf_table_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void pf_table_free(pf_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncols; i++)
        free(t->names[i]);
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->names);
    free(t->cells);
    free(t);
}

int pf_table_column(const pf_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (int) i;
    return -1;
}
