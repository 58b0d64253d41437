/*
 * policytest.h - helpers shared by the policy and decision unit tests:
 * the bundled reference tables read as plain CSV (so expected values come
 * from the tables themselves, not from the policy loader), and policy files
 * edited with jansson and written to a scratch directory.
 *
 * Include after <cmocka.h> and "readertest.h". Everything is static.
 */
#ifndef PROFIL_POLICYTEST_H
#define PROFIL_POLICYTEST_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small CSV table without quoting: a header and rows of cells. */
typedef struct csvtab {
    size_t ncols, nrows;
    char **head;
    char **cell; /* nrows x ncols */
    char *text;
} csvtab;

static inline size_t csv_split(char *line, char **out, size_t max)
{
    size_t n = 0;
    char *s = line;
    for (;;) {
        assert_true(n < max);
        out[n++] = s;
        char *c = strchr(s, ',');
        if (!c)
            break;
        *c = '\0';
        s = c + 1;
    }
    return n;
}

/* Reads a reference table (no quoted fields, LF line ends). */
static inline csvtab *csv_load(const char *path)
{
    csvtab *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->text = read_file(path, NULL);
    assert_null(strchr(t->text, '"'));
    assert_null(strchr(t->text, '\r'));
    char *fields[64];
    char *save = NULL;
    char *line = strtok_r(t->text, "\n", &save);
    assert_non_null(line);
    t->ncols = csv_split(line, fields, 64);
    t->head = malloc(t->ncols * sizeof *t->head);
    assert_non_null(t->head);
    memcpy(t->head, fields, t->ncols * sizeof *t->head);
    size_t cap = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        size_t n = csv_split(line, fields, 64);
        if (n != t->ncols)
            fail_msg("%s: row %zu has %zu fields, expected %zu", path, t->nrows + 1, n, t->ncols);
        if (t->nrows == cap) {
            cap = cap ? 2 * cap : 64;
            t->cell = realloc(t->cell, cap * t->ncols * sizeof *t->cell);
            assert_non_null(t->cell);
        }
        memcpy(t->cell + t->nrows * t->ncols, fields, n * sizeof *fields);
        t->nrows++;
    }
    return t;
}

static inline const char *csv_get(const csvtab *t, size_t row, const char *col)
{
    assert_true(row < t->nrows);
    for (size_t c = 0; c < t->ncols; c++)
        if (!strcmp(t->head[c], col))
            return t->cell[row * t->ncols + c];
    fail_msg("no column '%s' in table", col);
    return NULL;
}

static inline double csv_num(const csvtab *t, size_t row, const char *col)
{
    const char *s = csv_get(t, row, col);
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end)
        fail_msg("column %s row %zu: '%s' is not a number", col, row + 1, s);
    return v;
}

static inline void csv_free(csvtab *t)
{
    if (!t)
        return;
    free(t->head);
    free(t->cell);
    free(t->text);
    free(t);
}

/* A bundled policy file as JSON (caller decrefs). */
static inline json_t *policy_json(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/policies/%s.json", PF_TEST_DATADIR, name);
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        fail_msg("%s: %s", path, jerr.text);
    return root;
}

/* Writes j to dir/file; returns the path (caller frees). */
static inline char *json_write_to(const char *dir, const char *file, const json_t *j)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir, file) > 0);
    assert_int_equal(json_dump_file(j, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)), 0);
    return path;
}

/* A number member of a JSON object, which must be there. */
static inline double json_num_at(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v))
        fail_msg("'%s' is not a number", key);
    return json_number_value(v);
}

#endif
