/*
 * whatif.c - what-if settings, profiles, scoring, cards, sweeps and
 * comparisons (see whatif.h; counterfactuals are in whatif_reach.c, the
 * JSON in whatif_json.c).
 *
 * Every score goes the batch's way: the profiles are written as CSV rows
 * (semicolon-delimited, so a decimal comma reads as in an export), read
 * back through the reader, which validates and derives, and decided by
 * pf_decide. Nothing here re-implements a check or a rule.
 */
#include "profil/whatif.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/csvout.h"
#include "profil/encode.h"
#include "profil/jsonkeys.h"
#include "profil/reader.h"
#include "whatif_impl.h"

/* ------------------------------------------------------------------------ */
/* Text buffers                                                               */

int pf_wi_buf_put(pf_wi_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return -1;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = 1;
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

static void put_field(pf_wi_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (!pf_csv_needs_quotes(s, n, PF_WI_DELIM)) {
        pf_wi_buf_put(b, s, n);
        return;
    }
    pf_wi_buf_put(b, "\"", 1);
    for (const char *q = s; *q; q++) {
        if (*q == '"')
            pf_wi_buf_put(b, "\"", 1); /* doubled */
        pf_wi_buf_put(b, q, 1);
    }
    pf_wi_buf_put(b, "\"", 1);
}

/* ------------------------------------------------------------------------ */
/* Rows through the reader                                                    */

static int is_input_feature(const pf_column *c)
{
    return c->role == PF_ROLE_FEATURE && !c->derived;
}

void pf_wi_header(const pf_schema *s, const pf_whatif_settings *ws, pf_wi_buf *b)
{
    const char d[2] = {PF_WI_DELIM, 0};
    if (s->id_col >= 0)
        put_field(b, s->cols[s->id_col].name);
    for (size_t k = 0; k < ws->ncols; k++) {
        if (k || s->id_col >= 0)
            pf_wi_buf_put(b, d, 1);
        put_field(b, s->cols[ws->cols[k].col].name);
    }
    pf_wi_buf_put(b, "\n", 1);
}

void pf_wi_row(const pf_schema *s, const pf_whatif_settings *ws, pf_wi_buf *b, const char *id,
               const char *const *val)
{
    const char d[2] = {PF_WI_DELIM, 0};
    if (s->id_col >= 0)
        put_field(b, id && *id ? id : "whatif");
    for (size_t k = 0; k < ws->ncols; k++) {
        if (k || s->id_col >= 0)
            pf_wi_buf_put(b, d, 1);
        put_field(b, val[k]);
    }
    pf_wi_buf_put(b, "\n", 1);
}

typedef struct reject_ctx {
    int64_t first_row; /* of the first problem */
    char text[600];
    int64_t rows, problems;
    int64_t *bad; /* per data row, optional: 1 when rejected */
    size_t nbad;
} reject_ctx;

static void on_reject(void *ctx, const pf_problem *p)
{
    reject_ctx *r = ctx;
    r->problems++;
    if (p->first_of_row)
        r->rows++;
    if (r->bad && p->row >= 1 && (size_t) p->row <= r->nbad)
        r->bad[p->row - 1] = 1;
    if (r->first_row)
        return;
    r->first_row = p->row;
    snprintf(r->text, sizeof r->text, "%s: %s '%s': %s", p->column ? p->column : "row",
             pf_rule_name(p->rule), p->value ? p->value : "", p->message);
}

int pf_wi_read(const pf_schema *s, const pf_wi_buf *csv, size_t nrows, pf_wi_frame_fn fn, void *ctx,
               int64_t *rejected_rows, char *first_problem, size_t fpn, int64_t *first_bad_row,
               pf_error *err)
{
    reject_ctx rc_ = {0};
    pf_reader_options o = {.delimiter = PF_WI_DELIM,
                           .decimal = PF_DECIMAL_AUTO,
                           .on_reject = on_reject,
                           .reject_ctx = &rc_};
    pf_reader *r = NULL;
    pf_frame *f = NULL;
    int rc = pf_reader_open_memory(&r, s, csv->p, csv->n, &o, err);
    if (!rc)
        rc = pf_reader_frame_new(r, nrows < 4096 ? nrows : 4096, &f, err);
    while (!rc) {
        int got = pf_reader_read(r, f, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        if ((rc = fn(ctx, f, err)))
            break;
    }
    if (rejected_rows)
        *rejected_rows = rc_.rows;
    if (first_problem && fpn)
        snprintf(first_problem, fpn, "%s", rc_.text);
    if (first_bad_row)
        *first_bad_row = rc_.first_row;
    pf_frame_free(f);
    pf_reader_close(r);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Settings                                                                   */

static const char *status_names[] = {"protected", "fixed", "changeable"};

const char *pf_whatif_status_name(pf_whatif_status s)
{
    return (unsigned) s < 3 ? status_names[s] : "?";
}

void pf_whatif_settings_free(pf_whatif_settings *ws)
{
    if (!ws)
        return;
    for (size_t k = 0; k < ws->ncols; k++) {
        pf_whatif_column *c = &ws->cols[k];
        free(c->default_value);
        free(c->note);
        for (size_t v = 0; v < c->nvalues; v++)
            free(c->values[v]);
        free(c->values);
    }
    free(ws->cols);
    free(ws->path);
    free(ws);
}

const pf_whatif_column *pf_whatif_settings_column(const pf_whatif_settings *ws, int col)
{
    for (size_t k = 0; k < ws->ncols; k++)
        if (ws->cols[k].col == col)
            return &ws->cols[k];
    return NULL;
}

/* A JSON scalar as input text: strings as they are, integers without a
 * fraction, reals in the shortest form that reads back, true/false as
 * 1/0, null as "" (missing). NULL for arrays and objects. */
char *pf_wi_json_text(const json_t *v)
{
    char tmp[64];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(tmp, sizeof tmp, "%lld", (long long) json_integer_value(v));
        return strdup(tmp);
    }
    if (json_is_real(v)) {
        pf_format_number(tmp, sizeof tmp, json_real_value(v));
        return strdup(tmp);
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "1" : "0");
    if (json_is_null(v))
        return strdup("");
    return NULL;
}

static int settings_column(pf_whatif_column *c, json_t *o, const char *name, const char *path,
                           pf_error *err)
{
    static const char *const keys[] = {"status",  "default",   "note", "values",
                                       "ordered", "direction", NULL};
    char where[160];
    snprintf(where, sizeof where, "columns.%s", name);
    if (!json_is_object(o))
        return pf_error_set(err, PF_EFORMAT, "%s: %s: must be an object", path, where);
    int rc = pf_json_check_keys(o, keys, path, where, PF_EFORMAT, err);
    if (rc)
        return rc;
    const char *st = json_string_value(json_object_get(o, "status"));
    int found = 0;
    for (int k = 0; k < 3 && st; k++)
        if (!strcmp(st, status_names[k])) {
            c->status = (pf_whatif_status) k;
            found = 1;
        }
    if (!found)
        return pf_error_set(err, PF_EFORMAT,
                            "%s: %s.status: must be \"protected\", \"fixed\" or \"changeable\"",
                            path, where);
    json_t *def = json_object_get(o, "default");
    if (!def || !(c->default_value = pf_wi_json_text(def)))
        return pf_error_set(err, PF_EFORMAT,
                            "%s: %s.default: must be given (a value, or null for missing)", path,
                            where);
    json_t *note = json_object_get(o, "note");
    if (note && !json_is_string(note))
        return pf_error_set(err, PF_EFORMAT, "%s: %s.note: must be a string", path, where);
    if (note && !(c->note = strdup(json_string_value(note))))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    json_t *vals = json_object_get(o, "values"), *ord = json_object_get(o, "ordered"),
           *dir = json_object_get(o, "direction");
    if ((vals || ord || dir) && c->status != PF_WHATIF_CHANGEABLE)
        return pf_error_set(err, PF_EFORMAT,
                            "%s: %s: values, ordered and direction belong to changeable columns",
                            path, where);
    if (vals) {
        if (!json_is_array(vals) || !json_array_size(vals))
            return pf_error_set(err, PF_EFORMAT, "%s: %s.values: must be a non-empty array", path,
                                where);
        size_t n = json_array_size(vals);
        if (n > PF_WHATIF_MAX_POINTS)
            return pf_error_set(err, PF_EFORMAT, "%s: %s.values: more than %d values", path, where,
                                PF_WHATIF_MAX_POINTS);
        if (!(c->values = calloc(n, sizeof *c->values)))
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        for (size_t k = 0; k < n; k++) {
            json_t *v = json_array_get(vals, k);
            if (json_is_array(v) || json_is_object(v) || json_is_null(v) ||
                !(c->values[k] = pf_wi_json_text(v)))
                return pf_error_set(err, PF_EFORMAT, "%s: %s.values[%zu]: must be a value", path,
                                    where, k);
            c->nvalues = k + 1;
            for (size_t q = 0; q < k; q++)
                if (!strcmp(c->values[q], c->values[k]))
                    return pf_error_set(err, PF_EFORMAT, "%s: %s.values: '%s' is listed twice",
                                        path, where, c->values[k]);
        }
    }
    if (ord && !json_is_boolean(ord))
        return pf_error_set(err, PF_EFORMAT, "%s: %s.ordered: must be true or false", path, where);
    c->ordered = ord ? json_is_true(ord) : 0;
    c->direction = PF_WHATIF_ANY;
    if (dir) {
        const char *d = json_string_value(dir);
        if (d && !strcmp(d, "up"))
            c->direction = PF_WHATIF_UP;
        else if (d && !strcmp(d, "down"))
            c->direction = PF_WHATIF_DOWN;
        else if (!d || strcmp(d, "any"))
            return pf_error_set(err, PF_EFORMAT,
                                "%s: %s.direction: must be \"any\", \"up\" or \"down\"", path,
                                where);
    }
    if (c->direction != PF_WHATIF_ANY && !c->ordered)
        return pf_error_set(err, PF_EFORMAT, "%s: %s.direction: needs \"ordered\": true", path,
                            where);
    if (c->ordered && !c->nvalues)
        return pf_error_set(err, PF_EFORMAT, "%s: %s.ordered: needs \"values\"", path, where);
    return 0;
}

typedef struct check_ctx {
    int dummy;
} check_ctx;

static int count_frame(void *ctx, const pf_frame *f, pf_error *err)
{
    (void) ctx;
    (void) f;
    (void) err;
    return 0;
}

/* Every default and every value, each in a row of defaults, must pass the
 * reader; the first that does not is named by its key. */
static int settings_check_values(pf_whatif_settings *ws, const char *path, pf_error *err)
{
    const pf_schema *s = ws->schema;
    size_t nrows = 1;
    for (size_t k = 0; k < ws->ncols; k++)
        nrows += ws->cols[k].nvalues;
    const char **val = malloc(ws->ncols * sizeof *val);
    int64_t *bad = calloc(nrows, sizeof *bad);
    pf_wi_buf b = {0};
    if (!val || !bad) {
        free(val);
        free(bad);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < ws->ncols; k++)
        val[k] = ws->cols[k].default_value;
    pf_wi_header(s, ws, &b);
    pf_wi_row(s, ws, &b, NULL, val);
    for (size_t k = 0; k < ws->ncols; k++)
        for (size_t v = 0; v < ws->cols[k].nvalues; v++) {
            val[k] = ws->cols[k].values[v];
            pf_wi_row(s, ws, &b, NULL, val);
            val[k] = ws->cols[k].default_value;
        }
    free(val);
    free(bad);
    if (b.failed) {
        free(b.p);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    int64_t rejected = 0, first = 0;
    char text[600];
    check_ctx cc = {0};
    int rc = pf_wi_read(s, &b, nrows, count_frame, &cc, &rejected, text, sizeof text, &first, err);
    free(b.p);
    if (rc)
        return rc < 0 ? rc : PF_EFORMAT;
    if (!rejected)
        return 0;
    /* Row 1 holds the defaults; then each column's values in turn. */
    int64_t row = 1;
    if (first == 1)
        return pf_error_set(err, PF_EFORMAT, "%s: a default is not a valid value: %s", path, text);
    for (size_t k = 0; k < ws->ncols; k++)
        for (size_t v = 0; v < ws->cols[k].nvalues; v++)
            if (++row == first)
                return pf_error_set(err, PF_EFORMAT, "%s: columns.%s.values[%zu]: %s", path,
                                    s->cols[ws->cols[k].col].name, v, text);
    return pf_error_set(err, PF_EFORMAT, "%s: %s", path, text);
}

int pf_whatif_settings_load_text(pf_whatif_settings **out, const char *text, size_t n,
                                 const char *name, const pf_schema *s, pf_error *err)
{
    static const char *const keys[] = {"format",        "schema",  "title",
                                       "defaults_from", "columns", NULL};
    *out = NULL;
    json_t *root = NULL;
    pf_whatif_settings *ws = calloc(1, sizeof *ws);
    if (!ws)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    ws->schema = s;
    int rc = pf_json_load_buffer(text, n, name, PF_EFORMAT, &root, ws->sha256, err);
    if (rc)
        goto out;
    if (!(ws->path = strdup(name))) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    if (!json_is_object(root)) {
        rc = pf_error_set(err, PF_EFORMAT, "%s: must be a JSON object", name);
        goto out;
    }
    if ((rc = pf_json_check_keys(root, keys, name, "top level", PF_EFORMAT, err)))
        goto out;
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, PF_WHATIF_FORMAT)) {
        rc = pf_error_set(err, PF_EFORMAT, "%s: not a what-if settings file (format %s)", name,
                          PF_WHATIF_FORMAT);
        goto out;
    }
    const char *sname = json_string_value(json_object_get(root, "schema"));
    if (!sname || strcmp(sname, s->name)) {
        rc = pf_error_set(err, PF_EINVAL, "%s: written for schema %s, not %s", name,
                          sname ? sname : "(none)", s->name);
        goto out;
    }
    json_t *cols = json_object_get(root, "columns");
    if (!json_is_object(cols)) {
        rc = pf_error_set(err, PF_EFORMAT, "%s: 'columns' must be an object", name);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(cols, key, v)
    {
        int c = pf_schema_find(s, key);
        if (c < 0 || !is_input_feature(&s->cols[c])) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: columns.%s: %s", name, key,
                              c < 0 ? "not a column of the schema"
                                    : "not an input feature (derived, id, label or other role)");
            goto out;
        }
    }
    for (size_t c = 0; c < s->ncols; c++)
        ws->ncols += is_input_feature(&s->cols[c]);
    if (!(ws->cols = calloc(ws->ncols ? ws->ncols : 1, sizeof *ws->cols))) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t c = 0; c < s->ncols; c++) {
        if (!is_input_feature(&s->cols[c]))
            continue;
        pf_whatif_column *wc = &ws->cols[k++];
        wc->col = (int) c;
        json_t *o = json_object_get(cols, s->cols[c].name);
        if (!o) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: columns: '%s' is missing (every input feature is listed)", name,
                              s->cols[c].name);
            goto out;
        }
        if ((rc = settings_column(wc, o, s->cols[c].name, name, err)))
            goto out;
    }
    rc = settings_check_values(ws, name, err);
out:
    json_decref(root);
    if (rc) {
        pf_whatif_settings_free(ws);
        return rc;
    }
    *out = ws;
    return 0;
}

int pf_whatif_settings_load(pf_whatif_settings **out, const char *path, const pf_schema *s,
                            pf_error *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return pf_error_set(err, PF_EIO, "%s: cannot open", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            if (cap > (16u << 20)) {
                rc = pf_error_set(err, PF_ELIMIT, "%s: larger than 16 MiB", path);
                break;
            }
            char *p = realloc(buf, cap);
            if (!p) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                break;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (!got) {
            if (ferror(fp))
                rc = pf_error_set(err, PF_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(fp);
    if (!rc)
        rc = pf_whatif_settings_load_text(out, buf ? buf : "", n, path, s, err);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The engine                                                                 */

int pf_whatif_new(pf_whatif **out, const pf_decider *d, const pf_whatif_settings *ws, pf_error *err)
{
    *out = NULL;
    const pf_model *m = pf_decider_model(d);
    const pf_schema *s = m->schema;
    if (s != ws->schema &&
        (strcmp(s->name, ws->schema->name) || strcmp(s->sha256, ws->schema->sha256)))
        return pf_error_set(err, PF_EINVAL, "the what-if settings %s are for schema %s, not %s",
                            ws->path, ws->schema->name, s->name);
    pf_whatif *w = calloc(1, sizeof *w);
    if (!w || !(w->slot = malloc(s->ncols * sizeof *w->slot)) || !(w->used = calloc(s->ncols, 1))) {
        pf_whatif_free(w);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    w->d = d;
    w->ws = ws;
    w->s = s;
    for (size_t c = 0; c < s->ncols; c++)
        w->slot[c] = -1;
    for (size_t k = 0; k < ws->ncols; k++)
        w->slot[ws->cols[k].col] = (int) k;
    /* Which input columns the decision reads: the model's features and the
     * policy's conditions, each through its source column when derived. */
    size_t nf;
    const int *fc = pf_decider_features(d, &nf);
    for (size_t k = 0; k < nf; k++)
        pf_wi_mark_used(w, fc[k]);
    const pf_policy *pol = pf_decider_policy(d);
    const pf_clause *cl[PF_POLICY_MAX_TARGET_GROUPS + PF_POLICY_MAX_RULES + 1];
    size_t ncl = 0;
    cl[ncl++] = &pol->language_support;
    for (size_t k = 0; k < pol->ntarget_groups; k++)
        cl[ncl++] = &pol->target_groups[k].when;
    for (size_t k = 0; k < pol->nrules; k++)
        if (pol->rules[k].kind == PF_POLICY_RULE_CONDITION)
            cl[ncl++] = &pol->rules[k].when;
    for (size_t k = 0; k < ncl; k++)
        for (size_t q = 0; q < cl[k]->n; q++)
            pf_wi_mark_used(w, cl[k]->cond[q].col);
    if (pol->area_col >= 0)
        pf_wi_mark_used(w, pol->area_col);
    *out = w;
    return 0;
}

void pf_wi_mark_used(pf_whatif *w, int col)
{
    while (col >= 0 && w->s->cols[col].derived && w->s->cols[col].source >= 0)
        col = w->s->cols[col].source;
    if (col >= 0)
        w->used[col] = 1;
}

void pf_whatif_free(pf_whatif *w)
{
    if (!w)
        return;
    free(w->slot);
    free(w->used);
    free(w);
}

const pf_decider *pf_whatif_decider(const pf_whatif *w)
{
    return w->d;
}

const pf_whatif_settings *pf_whatif_settings_of(const pf_whatif *w)
{
    return w->ws;
}

/* Levenshtein distance of two short names. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64)
        return na > nb ? na : nb;
    size_t row[65];
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

int pf_whatif_find(const pf_whatif *w, const char *name, int *col, pf_error *err)
{
    const pf_schema *s = w->s;
    int c = pf_schema_find(s, name);
    if (c >= 0 && (w->slot[c] >= 0 || c == s->id_col)) {
        *col = c;
        return 0;
    }
    if (c >= 0 && s->cols[c].derived && s->cols[c].source >= 0)
        return pf_error_set(err, PF_EINVAL, "'%s' is derived from '%s': set or vary '%s'", name,
                            s->cols[s->cols[c].source].name, s->cols[s->cols[c].source].name);
    if (c >= 0)
        return pf_error_set(err, PF_EINVAL, "'%s' is not a feature of a profile (role %s)", name,
                            pf_role_name(s->cols[c].role));
    const char *best = NULL;
    size_t bd = (size_t) -1;
    for (size_t k = 0; k < w->ws->ncols; k++) {
        const char *cand = s->cols[w->ws->cols[k].col].name;
        size_t dist = edit_distance(name, cand);
        if (dist < bd) {
            bd = dist;
            best = cand;
        }
    }
    if (best)
        return pf_error_set(err, PF_ENOTFOUND, "unknown feature '%s'; did you mean '%s'?", name,
                            best);
    return pf_error_set(err, PF_ENOTFOUND, "unknown feature '%s'", name);
}

const char *pf_whatif_value_label(const pf_whatif *w, int col, const char *value)
{
    const pf_column *c = &w->s->cols[col];
    if (c->type != PF_TYPE_CATEGORY && c->type != PF_TYPE_BOOLEAN)
        return NULL;
    int32_t l = pf_schema_level(w->s, col, value, strlen(value));
    return l >= 0 ? c->levels[l].label : NULL;
}

/* ------------------------------------------------------------------------ */
/* Profiles                                                                   */

int pf_profile_new(pf_profile **out, const pf_whatif *w, pf_error *err)
{
    *out = NULL;
    const pf_whatif_settings *ws = w->ws;
    pf_profile *p = calloc(1, sizeof *p);
    if (!p || !(p->val = calloc(ws->ncols ? ws->ncols : 1, sizeof *p->val)) ||
        !(p->src = calloc(ws->ncols ? ws->ncols : 1, 1))) {
        pf_profile_free(p);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    p->w = w;
    p->n = ws->ncols;
    for (size_t k = 0; k < ws->ncols; k++)
        if (!(p->val[k] = strdup(ws->cols[k].default_value))) {
            pf_profile_free(p);
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        }
    *out = p;
    return 0;
}

int pf_profile_copy(pf_profile **out, const pf_profile *src, pf_error *err)
{
    int rc = pf_profile_new(out, src->w, err);
    if (rc)
        return rc;
    pf_profile *p = *out;
    for (size_t k = 0; k < p->n; k++) {
        free(p->val[k]);
        p->val[k] = strdup(src->val[k]);
        p->src[k] = src->src[k];
        if (!p->val[k])
            goto oom;
    }
    p->has_file = src->has_file;
    if (src->id && !(p->id = strdup(src->id)))
        goto oom;
    p->id_src = src->id_src;
    return 0;
oom:
    pf_profile_free(p);
    *out = NULL;
    return pf_error_set(err, PF_ENOMEM, "out of memory");
}

void pf_profile_free(pf_profile *p)
{
    if (!p)
        return;
    for (size_t k = 0; p->val && k < p->n; k++)
        free(p->val[k]);
    free(p->val);
    free(p->src);
    free(p->id);
    free(p);
}

static int set_col(pf_profile *p, int col, const char *value, pf_profile_source src, pf_error *err)
{
    const pf_schema *s = p->w->s;
    char **slot;
    uint8_t *ssrc;
    if (col == s->id_col) {
        slot = &p->id;
        ssrc = &p->id_src;
    } else {
        int k = p->w->slot[col];
        slot = &p->val[k];
        ssrc = &p->src[k];
    }
    if (src == PF_PROFILE_SET && *ssrc == PF_PROFILE_SET && *slot && strcmp(*slot, value))
        return pf_error_set(err, PF_EINVAL, "'%s' is set twice, to '%s' and to '%s'",
                            s->cols[col].name, *slot, value);
    if (src == PF_PROFILE_FILE && *ssrc == PF_PROFILE_SET)
        return 0; /* a set value overrides the file's, whichever came first */
    char *v = strdup(value);
    if (!v)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    free(*slot);
    *slot = v;
    *ssrc = (uint8_t) src;
    return 0;
}

int pf_profile_set(pf_profile *p, const char *name, const char *value, pf_profile_source src,
                   pf_error *err)
{
    int col;
    int rc = pf_whatif_find(p->w, name, &col, err);
    if (rc)
        return rc;
    return set_col(p, col, value, src, err);
}

int pf_profile_set_pair(pf_profile *p, const char *pair, pf_error *err)
{
    const char *eq = strchr(pair, '=');
    if (!eq || eq == pair)
        return pf_error_set(err, PF_EINVAL, "'%s' is not NAME=VALUE", pair);
    char name[256];
    size_t n = (size_t) (eq - pair);
    if (n >= sizeof name)
        return pf_error_set(err, PF_EINVAL, "'%.40s...' is not a feature name", pair);
    memcpy(name, pair, n);
    name[n] = 0;
    return pf_profile_set(p, name, eq + 1, PF_PROFILE_SET, err);
}

static int claim_file_source(pf_profile *p, const char *what, pf_error *err)
{
    if (p->has_file)
        return pf_error_set(err, PF_EINVAL,
                            "conflicting sources: a profile comes from one file (JSON or a CSV "
                            "row), and %s is a second",
                            what);
    p->has_file = 1;
    return 0;
}

int pf_profile_set_json(pf_profile *p, const json_t *obj, pf_error *err)
{
    if (!json_is_object(obj))
        return pf_error_set(err, PF_EINVAL, "a profile in JSON is an object of feature: value");
    int rc = claim_file_source(p, "a JSON object", err);
    if (rc)
        return rc;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) obj, key, v)
    {
        char *text = pf_wi_json_text(v);
        if (!text)
            return pf_error_set(err, PF_EINVAL,
                                "'%s': a value is a string, number, true, false or null", key);
        rc = pf_profile_set(p, key, text, PF_PROFILE_FILE, err);
        free(text);
        if (rc)
            return rc;
    }
    return 0;
}

/* The text of frame row i, column col, as it would appear in input. */
void pf_wi_frame_text(const pf_frame *f, size_t i, int col, char *buf, size_t n)
{
    const pf_column *c = &f->schema->cols[col];
    buf[0] = 0;
    switch (c->type) {
    case PF_TYPE_STRING:
        snprintf(buf, n, "%s", pf_frame_str(f, f->col[col].str[i]));
        break;
    case PF_TYPE_CATEGORY:
    case PF_TYPE_BOOLEAN: {
        int32_t l = f->col[col].cat[i];
        if (l >= 0)
            snprintf(buf, n, "%s", c->levels[l].code);
        break;
    }
    default: {
        double v = f->col[col].num[i];
        if (v != v)
            break;
        if (v == floor(v) && fabs(v) < 1e15)
            snprintf(buf, n, "%lld", (long long) v);
        else
            pf_format_number(buf, n, v);
    }
    }
}

typedef struct id_search {
    const char *id;
    pf_profile *p;
    int64_t found_row, second_row;
    int64_t rejected_row;
    char problem[600];
    int rc;
} id_search;

static void id_reject(void *ctx, const pf_problem *pr)
{
    id_search *q = ctx;
    if (!pr->id || strcmp(pr->id, q->id) || q->rejected_row)
        return;
    q->rejected_row = pr->row;
    snprintf(q->problem, sizeof q->problem, "%s: %s '%s': %s", pr->column ? pr->column : "row",
             pf_rule_name(pr->rule), pr->value ? pr->value : "", pr->message);
}

int pf_profile_set_csv_row(pf_profile *p, const char *path, const char *id, pf_error *err)
{
    const pf_schema *s = p->w->s;
    if (s->id_col < 0)
        return pf_error_set(err, PF_EINVAL, "the schema has no id column to find a row by");
    int rc = claim_file_source(p, "a CSV row", err);
    if (rc)
        return rc;
    id_search q = {.id = id, .p = p};
    pf_reader_options o = {.on_reject = id_reject, .reject_ctx = &q};
    pf_reader *r = NULL;
    pf_frame *f = NULL;
    rc = pf_reader_open(&r, s, path, &o, err);
    if (!rc)
        rc = pf_reader_frame_new(r, 4096, &f, err);
    char **vals = calloc(p->n ? p->n : 1, sizeof *vals);
    if (!rc && !vals)
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    while (!rc) {
        int got = pf_reader_read(r, f, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        for (size_t i = 0; i < f->n && !rc; i++) {
            if (strcmp(pf_frame_str(f, f->col[s->id_col].str[i]), id))
                continue;
            if (q.found_row) {
                if (!q.second_row)
                    q.second_row = f->row[i];
                continue;
            }
            q.found_row = f->row[i];
            for (size_t k = 0; k < p->n && !rc; k++) {
                char tmp[1024];
                pf_wi_frame_text(f, i, p->w->ws->cols[k].col, tmp, sizeof tmp);
                if (!(vals[k] = strdup(tmp)))
                    rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            }
        }
    }
    if (!rc) {
        if (q.rejected_row && (q.found_row || q.second_row))
            rc = pf_error_set(err, PF_EINVAL, "%s: id '%s' is on more than one row (%lld and %lld)",
                              path, id, (long long) (q.found_row ? q.found_row : q.rejected_row),
                              (long long) (q.found_row ? q.rejected_row : q.second_row));
        else if (q.rejected_row)
            rc = pf_error_set(err, PF_EINVAL, "%s: row %lld (id '%s') is rejected: %s", path,
                              (long long) q.rejected_row, id, q.problem);
        else if (q.second_row)
            rc = pf_error_set(err, PF_EINVAL, "%s: id '%s' is on more than one row (%lld and %lld)",
                              path, id, (long long) q.found_row, (long long) q.second_row);
        else if (!q.found_row)
            rc = pf_error_set(err, PF_ENOTFOUND, "%s: no row has id '%s'", path, id);
    }
    for (size_t k = 0; !rc && k < p->n; k++)
        rc = set_col(p, p->w->ws->cols[k].col, vals[k], PF_PROFILE_FILE, err);
    if (!rc)
        rc = set_col(p, s->id_col, id, PF_PROFILE_FILE, err);
    for (size_t k = 0; vals && k < p->n; k++)
        free(vals[k]);
    free(vals);
    pf_frame_free(f);
    pf_reader_close(r);
    return rc;
}

const char *pf_profile_get(const pf_profile *p, int col, pf_profile_source *src)
{
    const pf_schema *s = p->w->s;
    if (col < 0 || (size_t) col >= s->ncols)
        return NULL;
    if (col == s->id_col) {
        if (src)
            *src = (pf_profile_source) p->id_src;
        return p->id ? p->id : "";
    }
    int k = p->w->slot[col];
    if (k < 0)
        return NULL;
    if (src)
        *src = (pf_profile_source) p->src[k];
    return p->val[k];
}

/* ------------------------------------------------------------------------ */
/* Scoring                                                                    */

typedef struct score_ctx {
    const pf_whatif *w;
    pf_whatif_score *out;
    size_t n, next;
    double *x;            /* design row */
    pf_whatif_card *card; /* n == 1: also the contributions */
} score_ctx;

static double logistic(double eta)
{
    return eta >= 0 ? 1 / (1 + exp(-eta)) : exp(eta) / (1 + exp(eta));
}

void pf_wi_interval(const pf_model *m, const double *x, pf_whatif_score *sc)
{
    size_t p = m->enc->nterms;
    sc->se_logit = sc->se_p = sc->p_lo = sc->p_hi = NAN;
    if (!m->cov)
        return;
    double v = 0;
    for (size_t i = 0; i < p; i++) {
        double r = 0;
        for (size_t j = 0; j < p; j++)
            r += m->cov[i * p + j] * x[j];
        v += x[i] * r;
    }
    sc->se_logit = sqrt(v > 0 ? v : 0);
    sc->se_p = sc->d.p * (1 - sc->d.p) * sc->se_logit;
    sc->p_lo = logistic(sc->d.logit - PF_WHATIF_Z95 * sc->se_logit);
    sc->p_hi = logistic(sc->d.logit + PF_WHATIF_Z95 * sc->se_logit);
}

static int score_frame(void *ctx, const pf_frame *f, pf_error *err)
{
    score_ctx *c = ctx;
    const pf_model *m = pf_decider_model(c->w->d);
    for (size_t i = 0; i < f->n; i++) {
        size_t row = (size_t) f->row[i] - 1;
        if (row >= c->n)
            continue;
        pf_whatif_score *sc = &c->out[row];
        int rc = pf_decide(c->w->d, f, i, 1, &sc->d, err);
        if (rc)
            return rc;
        pf_encoder_rows(m->enc, f, i, 1, c->x, m->enc->nterms);
        pf_wi_interval(m, c->x, sc);
        if (c->card)
            pf_decider_contributions(c->w->d, f, i, c->card->contribution);
        c->next++;
    }
    return 0;
}

int pf_wi_score_rows(const pf_whatif *w, const pf_wi_buf *csv, size_t nrows, pf_whatif_score *out,
                     pf_whatif_card *card, int64_t *rejected, char *problem, size_t pn,
                     int64_t *first_bad, pf_error *err)
{
    const pf_model *m = pf_decider_model(w->d);
    score_ctx c = {.w = w, .out = out, .n = nrows, .card = card};
    if (!(c.x = malloc((m->enc->nterms ? m->enc->nterms : 1) * sizeof *c.x)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; i < nrows; i++)
        out[i].d.p = NAN; /* marks a rejected row */
    int rc = pf_wi_read(w->s, csv, nrows, score_frame, &c, rejected, problem, pn, first_bad, err);
    free(c.x);
    return rc;
}

/* Writes profiles as CSV; 0 or PF_ENOMEM. */
static int profiles_csv(const pf_whatif *w, const pf_profile *const *p, size_t n, pf_wi_buf *b,
                        pf_error *err)
{
    pf_wi_header(w->s, w->ws, b);
    for (size_t i = 0; i < n; i++)
        pf_wi_row(w->s, w->ws, b, p[i]->id, (const char *const *) p[i]->val);
    if (b->failed)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    return 0;
}

static int score_profiles(const pf_whatif *w, const pf_profile *const *p, size_t n,
                          pf_whatif_score *out, pf_whatif_card *card, pf_error *err)
{
    pf_wi_buf b = {0};
    int rc = profiles_csv(w, p, n, &b, err);
    int64_t rejected = 0, first = 0;
    char problem[600];
    if (!rc)
        rc = pf_wi_score_rows(w, &b, n, out, card, &rejected, problem, sizeof problem, &first, err);
    free(b.p);
    if (rc)
        return rc;
    if (rejected) {
        if (n == 1)
            return pf_error_set(err, PF_EINVAL, "%s", problem);
        return pf_error_set(err, PF_EINVAL, "profile %lld: %s", (long long) first, problem);
    }
    return 0;
}

int pf_whatif_score_profiles(const pf_whatif *w, const pf_profile *const *p, size_t n,
                             pf_whatif_score *out, pf_error *err)
{
    return score_profiles(w, p, n, out, NULL, err);
}

int pf_profile_check(const pf_whatif *w, const pf_profile *p, pf_error *err)
{
    pf_whatif_score sc;
    return score_profiles(w, &p, 1, &sc, NULL, err);
}

const char *pf_whatif_direction_text(double c)
{
    return c > 0 ? "höjer" : c < 0 ? "sänker" : "påverkar inte";
}

void pf_whatif_card_free(pf_whatif_card *c)
{
    if (!c)
        return;
    free(c->col);
    free(c->contribution);
    free(c);
}

int pf_whatif_card_new(pf_whatif_card **out, const pf_whatif *w, const pf_profile *p, pf_error *err)
{
    *out = NULL;
    size_t nf;
    const int *fc = pf_decider_features(w->d, &nf);
    pf_whatif_card *c = calloc(1, sizeof *c);
    if (!c || !(c->col = malloc((nf ? nf : 1) * sizeof *c->col)) ||
        !(c->contribution = calloc(nf ? nf : 1, sizeof *c->contribution))) {
        pf_whatif_card_free(c);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    c->nfeat = nf;
    c->ref_logit = pf_decider_reference_logit(w->d);
    int rc = score_profiles(w, &p, 1, &c->s, c, err);
    if (rc) {
        pf_whatif_card_free(c);
        return rc;
    }
    /* Largest |contribution| first; equal ones keep schema column order
     * (insertion sort is stable, and there are a few dozen features). */
    for (size_t k = 0; k < nf; k++)
        c->col[k] = fc[k];
    for (size_t k = 1; k < nf; k++) {
        double v = c->contribution[k];
        int col = c->col[k];
        size_t q = k;
        while (q > 0 && fabs(c->contribution[q - 1]) < fabs(v)) {
            c->contribution[q] = c->contribution[q - 1];
            c->col[q] = c->col[q - 1];
            q--;
        }
        c->contribution[q] = v;
        c->col[q] = col;
    }
    *out = c;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sweeps                                                                     */

void pf_whatif_sweep_free(pf_whatif_sweep *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->n; k++)
        free(s->value[k]);
    free(s->value);
    free(s->score);
    free(s);
}

static int parse_double(const char *s, double *v)
{
    char *end;
    if (!*s)
        return -1;
    *v = strtod(s, &end);
    return *end || !isfinite(*v) ? -1 : 0;
}

static int sweep_add(pf_whatif_sweep *sw, size_t *cap, const char *text, pf_error *err)
{
    if (sw->n >= PF_WHATIF_MAX_POINTS)
        return pf_error_set(err, PF_ELIMIT, "a sweep has at most %d points", PF_WHATIF_MAX_POINTS);
    if (sw->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **v = realloc(sw->value, nc * sizeof *v);
        if (!v)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        sw->value = v;
        *cap = nc;
    }
    if (!(sw->value[sw->n] = strdup(text)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    sw->n++;
    return 0;
}

/* The points of a spec's value part. */
static int sweep_points(pf_whatif_sweep *sw, const pf_column *c, const char *vals, pf_error *err)
{
    size_t cap = 0;
    int rc = 0;
    int numeric = c->type == PF_TYPE_INTEGER || c->type == PF_TYPE_NUMBER;
    if (!vals) {
        if (c->type == PF_TYPE_CATEGORY || c->type == PF_TYPE_BOOLEAN) {
            for (size_t l = 0; l < c->nlevels && !rc; l++)
                rc = sweep_add(sw, &cap, c->levels[l].code, err);
            return rc;
        }
        if (c->type == PF_TYPE_INTEGER && isfinite(c->min) && isfinite(c->max)) {
            if (c->max - c->min + 1 > PF_WHATIF_MAX_POINTS)
                return pf_error_set(err, PF_ELIMIT,
                                    "'%s' ranges over %.0f values: give FROM:TO:STEP", c->name,
                                    c->max - c->min + 1);
            for (double v = c->min; v <= c->max && !rc; v++) {
                char t[32];
                snprintf(t, sizeof t, "%.0f", v);
                rc = sweep_add(sw, &cap, t, err);
            }
            return rc;
        }
        return pf_error_set(err, PF_EINVAL, "vary '%s' over what? give %s=FROM:TO:STEP or %s=A,B,C",
                            c->name, c->name, c->name);
    }
    if (strchr(vals, ':')) {
        if (!numeric)
            return pf_error_set(err, PF_EINVAL,
                                "'%s' is not numeric: list its values (%s=A,B,C) or leave them "
                                "out for every level",
                                c->name, c->name);
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", vals);
        char *a = tmp, *b = strchr(a, ':'), *st = NULL;
        *b++ = 0;
        if ((st = strchr(b, ':')))
            *st++ = 0;
        double from, to, step = 1;
        if (parse_double(a, &from) || parse_double(b, &to) || (st && parse_double(st, &step)) ||
            !(step > 0) || to < from)
            return pf_error_set(err, PF_EINVAL,
                                "'%s': FROM:TO:STEP takes numbers with FROM <= TO and STEP > 0",
                                vals);
        double npts = floor((to - from) / step + 1e-9) + 1;
        if (npts > PF_WHATIF_MAX_POINTS)
            return pf_error_set(err, PF_ELIMIT, "'%s' gives %.0f points; at most %d", vals, npts,
                                PF_WHATIF_MAX_POINTS);
        for (long k = 0; k < (long) npts && !rc; k++) {
            char t[64];
            /* from + k * step, not a running sum: no drift in the last digits */
            pf_format_number(t, sizeof t, from + (double) k * step);
            rc = sweep_add(sw, &cap, t, err);
        }
        return rc;
    }
    const char *s = vals;
    for (;;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t) (e - s) : strlen(s);
        char t[256];
        if (n >= sizeof t)
            return pf_error_set(err, PF_EINVAL, "a value of '%s' is too long", c->name);
        memcpy(t, s, n);
        t[n] = 0;
        if ((rc = sweep_add(sw, &cap, t, err)))
            return rc;
        if (!e)
            break;
        s = e + 1;
    }
    return 0;
}

int pf_whatif_vary(pf_whatif_sweep **out, const pf_whatif *w, const pf_profile *p, const char *spec,
                   pf_error *err)
{
    *out = NULL;
    char name[256];
    const char *eq = strchr(spec, '=');
    size_t n = eq ? (size_t) (eq - spec) : strlen(spec);
    if (!n || n >= sizeof name)
        return pf_error_set(err, PF_EINVAL, "'%s' is not NAME, NAME=FROM:TO:STEP or NAME=A,B,C",
                            spec);
    memcpy(name, spec, n);
    name[n] = 0;
    int col;
    int rc = pf_whatif_find(w, name, &col, err);
    if (rc)
        return rc;
    if (col == w->s->id_col)
        return pf_error_set(err, PF_EINVAL, "the id is not a feature: it cannot be varied");
    pf_whatif_sweep *sw = calloc(1, sizeof *sw);
    if (!sw)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    sw->col = col;
    sw->current = -1;
    pf_profile **pp = NULL;
    rc = sweep_points(sw, &w->s->cols[col], eq ? eq + 1 : NULL, err);
    if (!rc && !sw->n)
        rc = pf_error_set(err, PF_EINVAL, "'%s' gives no points", spec);
    if (!rc &&
        (!(pp = calloc(sw->n, sizeof *pp)) || !(sw->score = calloc(sw->n, sizeof *sw->score))))
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    int k0 = w->slot[col];
    for (size_t k = 0; !rc && k < sw->n; k++) {
        if (!(rc = pf_profile_copy(&pp[k], p, err))) {
            char *v = strdup(sw->value[k]);
            if (!v) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                break;
            }
            free(pp[k]->val[k0]);
            pp[k]->val[k0] = v;
            pp[k]->src[k0] = PF_PROFILE_SET;
        }
        if (sw->current < 0 && !strcmp(sw->value[k], p->val[k0]))
            sw->current = (long) k;
    }
    if (!rc) {
        pf_wi_buf b = {0};
        int64_t rejected = 0, first = 0;
        char problem[600];
        rc = profiles_csv(w, (const pf_profile *const *) pp, sw->n, &b, err);
        if (!rc)
            rc = pf_wi_score_rows(w, &b, sw->n, sw->score, NULL, &rejected, problem, sizeof problem,
                                  &first, err);
        free(b.p);
        if (!rc && rejected) {
            /* A point the column does not allow, or the rest of the profile. */
            if (first >= 1 && (size_t) first <= sw->n)
                rc = pf_error_set(err, PF_EINVAL, "%s=%s: %s", name, sw->value[first - 1], problem);
            else
                rc = pf_error_set(err, PF_EINVAL, "%s", problem);
        }
    }
    for (size_t k = 0; pp && k < sw->n; k++)
        pf_profile_free(pp[k]);
    free(pp);
    if (rc) {
        pf_whatif_sweep_free(sw);
        return rc;
    }
    /* The profile's own value matched as a number too ("40" and "40.0"). */
    if (sw->current < 0) {
        double a, b;
        for (size_t k = 0; k < sw->n && sw->current < 0; k++)
            if (!parse_double(sw->value[k], &a) && !parse_double(p->val[k0], &b) && a == b)
                sw->current = (long) k;
    }
    *out = sw;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Comparisons                                                                */

void pf_whatif_comparison_free(pf_whatif_comparison *c)
{
    if (!c)
        return;
    pf_whatif_card_free(c->a);
    pf_whatif_card_free(c->b);
    free(c->diff_col);
    free(c);
}

int pf_whatif_compare(pf_whatif_comparison **out, const pf_whatif *w, const pf_profile *a,
                      const pf_profile *b, pf_error *err)
{
    *out = NULL;
    pf_whatif_comparison *c = calloc(1, sizeof *c);
    if (!c || !(c->diff_col = malloc((a->n ? a->n : 1) * sizeof *c->diff_col))) {
        pf_whatif_comparison_free(c);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    int rc = pf_whatif_card_new(&c->a, w, a, err);
    if (rc) {
        pf_whatif_comparison_free(c);
        return rc;
    }
    if ((rc = pf_whatif_card_new(&c->b, w, b, err))) {
        char msg[PF_ERROR_MAX];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        pf_whatif_comparison_free(c);
        return pf_error_set(err, rc, "the second profile: %s", msg);
    }
    for (size_t k = 0; k < a->n; k++)
        if (strcmp(a->val[k], b->val[k]))
            c->diff_col[c->ndiff++] = w->ws->cols[k].col;
    *out = c;
    return 0;
}
