/*
 * schema.c - loads and validates schema files (see schema.h and
 * docs/schema.md for the format).
 *
 * Loading is strict: an unknown key, a wrong type, a range with min > max,
 * a default that is not itself a valid value or a reference table without
 * the named column is an error that names the column and the key, so a
 * mistake in a schema is found when it is loaded, not rows later.
 */
#include "profil/schema.h"

#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"
#include "profil/hash.h"
#include "profil/jsonkeys.h"
#include "profil/table.h"
#include "schema_impl.h"

#define SCHEMA_FORMAT "profil-schema/1"

typedef struct ref {
    const char *name;
    pf_table *table;
    char *file;
    int key; /* key column index */
} ref;

typedef struct loadctx {
    const char *path;
    char *dir;
    pf_error *err;
    size_t nrefs;
    ref *refs;
} loadctx;

static const char *role_names[] = {"id", "feature", "label", "weight", "group", "passthrough"};
static const char *type_names[] = {"string", "integer", "number", "category", "boolean"};
static const char *missing_names[] = {"reject", "allow", "default"};

const char *pf_role_name(pf_role r)
{
    return (unsigned) r < 6 ? role_names[r] : "?";
}

const char *pf_type_name(pf_type t)
{
    return (unsigned) t < 5 ? type_names[t] : "?";
}

static int lookup_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

#define FAIL(ctx, ...) pf_error_set((ctx)->err, PF_ESCHEMA, __VA_ARGS__)

static int check_keys(loadctx *c, json_t *obj, const char *where, const char *const *allowed)
{
    return pf_json_check_keys(obj, allowed, c->path, where, PF_ESCHEMA, c->err);
}

/* Copies a required (or optional, when out may stay NULL) string member. */
static int get_string(loadctx *c, json_t *obj, const char *key, int required, const char *where,
                      char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required)
            return FAIL(c, "%s: %s: missing key '%s'", c->path, where, key);
        return 0;
    }
    if (!json_is_string(v))
        return FAIL(c, "%s: %s: '%s' must be a string", c->path, where, key);
    *out = strdup(json_string_value(v));
    return *out ? 0 : pf_error_set(c->err, PF_ENOMEM, "out of memory");
}

static int get_number(loadctx *c, json_t *obj, const char *key, const char *where, double dflt,
                      double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_number(v))
        return FAIL(c, "%s: %s: '%s' must be a number", c->path, where, key);
    *out = json_number_value(v);
    return 0;
}

static ref *find_ref(loadctx *c, const char *name)
{
    for (size_t i = 0; i < c->nrefs; i++)
        if (strcmp(c->refs[i].name, name) == 0)
            return &c->refs[i];
    return NULL;
}

static int load_references(loadctx *c, json_t *root)
{
    json_t *refs = json_object_get(root, "references");
    if (!refs)
        return 0;
    if (!json_is_object(refs))
        return FAIL(c, "%s: 'references' must be an object", c->path);
    c->refs = calloc(json_object_size(refs) + 1, sizeof *c->refs);
    if (!c->refs)
        return pf_error_set(c->err, PF_ENOMEM, "out of memory");
    const char *name;
    json_t *spec;
    json_object_foreach(refs, name, spec)
    {
        static const char *const keys[] = {"file", "key", "description", NULL};
        char where[256];
        snprintf(where, sizeof where, "reference '%s'", name);
        if (!json_is_object(spec))
            return FAIL(c, "%s: %s must be an object", c->path, where);
        int rc = check_keys(c, spec, where, keys);
        ref *r = &c->refs[c->nrefs];
        r->name = name;
        char *file = NULL, *key = NULL;
        if (!rc)
            rc = get_string(c, spec, "file", 1, where, &file);
        if (!rc)
            rc = get_string(c, spec, "key", 1, where, &key);
        if (!rc) {
            if (file[0] == '/')
                r->file = strdup(file);
            else if (asprintf(&r->file, "%s/%s", c->dir, file) < 0)
                r->file = NULL;
            c->nrefs++;
            if (!r->file)
                rc = pf_error_set(c->err, PF_ENOMEM, "out of memory");
        }
        if (!rc && (rc = pf_table_load(&r->table, r->file, c->err)) != 0 && rc != PF_ENOMEM) {
            /* A missing or malformed table is a schema error like any other. */
            char why[PF_ERROR_MAX];
            snprintf(why, sizeof why, "%s", c->err ? c->err->message : "cannot load the table");
            rc = FAIL(c, "%s: %s: %s", c->path, where, why);
        }
        if (!rc && (r->key = pf_table_column(r->table, key)) < 0)
            rc = FAIL(c, "%s: %s: table %s has no column '%s'", c->path, where, r->file, key);
        free(file);
        free(key);
        if (rc)
            return rc;
    }
    return 0;
}

static void free_refs(loadctx *c)
{
    for (size_t i = 0; i < c->nrefs; i++) {
        pf_table_free(c->refs[i].table);
        free(c->refs[i].file);
    }
    free(c->refs);
}

static int add_level(loadctx *c, pf_column *col, const char *code, const char *label,
                     const char *where)
{
    struct pf_column_impl *im = col->impl;
    int32_t idx = (int32_t) col->nlevels;
    int rc = pf_strmap_put(&im->levels, code, strlen(code), idx);
    if (rc == 1)
        return FAIL(c, "%s: %s: level '%s' appears twice", c->path, where, code);
    if (rc)
        return pf_error_set(c->err, PF_ENOMEM, "out of memory");
    pf_level *lv = realloc(col->levels, (col->nlevels + 1) * sizeof *lv);
    if (!lv)
        return pf_error_set(c->err, PF_ENOMEM, "out of memory");
    col->levels = lv;
    lv[idx].code = strdup(code);
    lv[idx].label = strdup(label ? label : code);
    col->nlevels++;
    if (!lv[idx].code || !lv[idx].label)
        return pf_error_set(c->err, PF_ENOMEM, "out of memory");
    return 0;
}

static int add_alias(loadctx *c, pf_column *col, const char *alias, int32_t level,
                     const char *where)
{
    int rc = pf_strmap_put(&col->impl->levels, alias, strlen(alias), level);
    if (rc == 1)
        return FAIL(c, "%s: %s: value '%s' is given twice", c->path, where, alias);
    return rc ? pf_error_set(c->err, PF_ENOMEM, "out of memory") : 0;
}

/* "levels": [{"code": "K", "label": "Kvinna", "aliases": ["k"]}, ...] */
static int parse_levels(loadctx *c, pf_column *col, json_t *levels, const char *where)
{
    if (!json_is_array(levels) || json_array_size(levels) == 0)
        return FAIL(c, "%s: %s: 'levels' must be a non-empty array", c->path, where);
    size_t i;
    json_t *lv;
    json_array_foreach(levels, i, lv)
    {
        static const char *const keys[] = {"code", "label", "aliases", NULL};
        char *code = NULL, *label = NULL;
        int rc = json_is_object(lv)
                     ? check_keys(c, lv, where, keys)
                     : FAIL(c, "%s: %s: each level must be an object", c->path, where);
        if (!rc)
            rc = get_string(c, lv, "code", 1, where, &code);
        if (!rc)
            rc = get_string(c, lv, "label", 0, where, &label);
        if (!rc)
            rc = add_level(c, col, code, label, where);
        free(code);
        free(label);
        if (rc)
            return rc;
        json_t *aliases = json_object_get(lv, "aliases");
        if (aliases) {
            size_t k;
            json_t *a;
            if (!json_is_array(aliases))
                return FAIL(c, "%s: %s: 'aliases' must be an array of strings", c->path, where);
            json_array_foreach(aliases, k, a)
            {
                if (!json_is_string(a))
                    return FAIL(c, "%s: %s: 'aliases' must be an array of strings", c->path, where);
                if ((rc = add_alias(c, col, json_string_value(a), (int32_t) i, where)))
                    return rc;
            }
        }
    }
    return 0;
}

/* "levels_from": {"reference": "kommuner", "label": "kommun"}: the distinct
 * key values of the table, in file order, labelled from another column. */
static int parse_levels_from(loadctx *c, pf_column *col, json_t *spec, const char *where)
{
    static const char *const keys[] = {"reference", "label", NULL};
    char *refname = NULL, *labelcol = NULL;
    int rc = json_is_object(spec)
                 ? check_keys(c, spec, where, keys)
                 : FAIL(c, "%s: %s: 'levels_from' must be an object", c->path, where);
    if (!rc)
        rc = get_string(c, spec, "reference", 1, where, &refname);
    if (!rc)
        rc = get_string(c, spec, "label", 0, where, &labelcol);
    ref *r = rc ? NULL : find_ref(c, refname);
    if (!rc && !r)
        rc = FAIL(c, "%s: %s: unknown reference '%s'", c->path, where, refname);
    int lcol = -1;
    if (!rc && labelcol && (lcol = pf_table_column(r->table, labelcol)) < 0)
        rc = FAIL(c, "%s: %s: table %s has no column '%s'", c->path, where, r->file, labelcol);
    for (size_t i = 0; !rc && i < r->table->nrows; i++) {
        const char *code = pf_table_cell(r->table, i, (size_t) r->key);
        if (pf_strmap_get(&col->impl->levels, code, strlen(code)) >= 0)
            continue; /* the key repeats (e.g. county over municipalities) */
        if (!*code)
            rc = FAIL(c, "%s: %s: table %s has an empty key in row %zu", c->path, where, r->file,
                      i + 2);
        else
            rc = add_level(c, col, code,
                           lcol >= 0 ? pf_table_cell(r->table, i, (size_t) lcol) : code, where);
    }
    if (!rc && col->nlevels == 0)
        rc = FAIL(c, "%s: %s: reference '%s' has no rows", c->path, where, refname);
    if (!rc) {
        col->reference = strdup(refname);
        col->impl->reference_file = strdup(r->file);
    }
    free(refname);
    free(labelcol);
    return rc;
}

/* Parses a default value as the column's own type. */
static int parse_default(loadctx *c, pf_column *col, const char *where)
{
    const char *v = col->default_value;
    size_t n = strlen(v);
    switch (col->type) {
    case PF_TYPE_INTEGER:
    case PF_TYPE_NUMBER:
        if (pf_parse_number(v, n, PF_DEC_POINT, &col->default_num) != PF_NUM_OK ||
            col->default_num < col->min || col->default_num > col->max ||
            (col->type == PF_TYPE_INTEGER && col->default_num != floor(col->default_num)))
            return FAIL(c, "%s: %s: default '%s' is not a valid value", c->path, where, v);
        break;
    case PF_TYPE_CATEGORY:
    case PF_TYPE_BOOLEAN:
        if ((col->default_level = pf_strmap_get(&col->impl->levels, v, n)) < 0)
            return FAIL(c, "%s: %s: default '%s' is not an allowed value", c->path, where, v);
        break;
    case PF_TYPE_STRING:
        if (col->max_length && n > col->max_length)
            return FAIL(c, "%s: %s: default '%s' is too long", c->path, where, v);
        break;
    }
    return 0;
}

static int parse_boolean_values(loadctx *c, pf_column *col, json_t *cj, const char *where)
{
    static const char *const names[2] = {"false_values", "true_values"};
    static const char *const dflt[2] = {"0", "1"};
    static const char *const labels[2] = {"Nej", "Ja"};
    for (int b = 0; b < 2; b++) {
        int rc = add_level(c, col, dflt[b], labels[b], where);
        if (rc)
            return rc;
    }
    for (int b = 0; b < 2; b++) {
        json_t *vals = json_object_get(cj, names[b]);
        if (!vals)
            continue;
        size_t i;
        json_t *v;
        if (!json_is_array(vals))
            return FAIL(c, "%s: %s: '%s' must be an array of strings", c->path, where, names[b]);
        json_array_foreach(vals, i, v)
        {
            if (!json_is_string(v))
                return FAIL(c, "%s: %s: '%s' must be an array of strings", c->path, where,
                            names[b]);
            if (strcmp(json_string_value(v), dflt[b]) == 0)
                continue;
            int rc = add_alias(c, col, json_string_value(v), b, where);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* "derive": {"source": "kommunkod", "reference": "kommuner", "value":
 * "lanskod", "prefix": 1, "default": "..."} */
static int parse_derive(loadctx *c, pf_schema *s, int ci, json_t *spec, const char *where)
{
    static const char *const keys[] = {"source", "reference", "value", "prefix", "default", NULL};
    pf_column *col = &s->cols[ci];
    struct pf_column_impl *im = col->impl;
    char *source = NULL, *refname = NULL, *valcol = NULL, *dflt = NULL;
    double prefix = 0;
    int rc = json_is_object(spec) ? check_keys(c, spec, where, keys)
                                  : FAIL(c, "%s: %s: 'derive' must be an object", c->path, where);
    if (!rc)
        rc = get_string(c, spec, "source", 1, where, &source);
    if (!rc)
        rc = get_string(c, spec, "reference", 1, where, &refname);
    if (!rc)
        rc = get_string(c, spec, "value", 1, where, &valcol);
    if (!rc)
        rc = get_string(c, spec, "default", 0, where, &dflt);
    if (!rc)
        rc = get_number(c, spec, "prefix", where, 0, &prefix);
    if (rc)
        goto out;
    if (prefix < 0 || prefix > 1000 || prefix != floor(prefix)) {
        rc = FAIL(c, "%s: %s: 'prefix' must be a small non-negative integer", c->path, where);
        goto out;
    }
    im->prefix = (size_t) prefix;
    col->derived = 1;
    col->required = 0;
    if (col->type != PF_TYPE_CATEGORY) {
        rc = FAIL(c, "%s: %s: a derived column must be of type category", c->path, where);
        goto out;
    }
    for (int j = 0; j < ci; j++)
        if (strcmp(s->cols[j].name, source) == 0)
            col->source = j;
    if (col->source < 0) {
        rc =
            FAIL(c, "%s: %s: source '%s' is not a column listed before it", c->path, where, source);
        goto out;
    }
    pf_column *src = &s->cols[col->source];
    if (src->derived || (src->type != PF_TYPE_CATEGORY && src->type != PF_TYPE_STRING)) {
        rc = FAIL(c, "%s: %s: source '%s' must be a category or string input column", c->path,
                  where, source);
        goto out;
    }
    ref *r = find_ref(c, refname);
    int vcol = r ? pf_table_column(r->table, valcol) : -1;
    if (!r) {
        rc = FAIL(c, "%s: %s: unknown reference '%s'", c->path, where, refname);
        goto out;
    }
    if (vcol < 0) {
        rc = FAIL(c, "%s: %s: table %s has no column '%s'", c->path, where, r->file, valcol);
        goto out;
    }
    im->derive_default = PF_DERIVE_NONE;
    if (dflt && (im->derive_default = pf_strmap_get(&im->levels, dflt, strlen(dflt))) < 0) {
        rc = FAIL(c, "%s: %s: default '%s' is not a level", c->path, where, dflt);
        goto out;
    }
    /* key → derived level, checked once here so rows never meet a value
     * that is not a level. */
    for (size_t i = 0; i < r->table->nrows; i++) {
        const char *key = pf_table_cell(r->table, i, (size_t) r->key);
        const char *val = pf_table_cell(r->table, i, (size_t) vcol);
        int32_t lv = pf_strmap_get(&im->levels, val, strlen(val));
        if (lv < 0) {
            rc = FAIL(c, "%s: %s: value '%s' (table %s, row %zu) is not a level", c->path, where,
                      val, r->file, i + 2);
            goto out;
        }
        int put = pf_strmap_put(&im->derive_keys, key, strlen(key), lv);
        if (put == 1) {
            rc =
                FAIL(c, "%s: %s: key '%s' appears twice in table %s", c->path, where, key, r->file);
            goto out;
        }
        if (put) {
            rc = pf_error_set(c->err, PF_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (!im->reference_file)
        im->reference_file = strdup(r->file);
    if (src->type == PF_TYPE_CATEGORY) {
        im->derive_map = malloc((src->nlevels ? src->nlevels : 1) * sizeof *im->derive_map);
        if (!im->derive_map) {
            rc = pf_error_set(c->err, PF_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t l = 0; l < src->nlevels; l++) {
            const char *code = src->levels[l].code;
            size_t n = strlen(code);
            if (im->prefix && n > im->prefix)
                n = im->prefix;
            int32_t lv = pf_strmap_get(&im->derive_keys, code, n);
            im->derive_map[l] = lv >= 0 ? lv : im->derive_default;
        }
    }
out:
    free(source);
    free(refname);
    free(valcol);
    free(dflt);
    return rc;
}

static int parse_column(loadctx *c, pf_schema *s, int ci, json_t *cj)
{
    static const char *const keys[] = {
        "name",    "role",        "type",        "label",        "description", "required",
        "missing", "default",     "min",         "max",          "max_length",  "pattern",
        "levels",  "levels_from", "true_values", "false_values", "derive",      NULL};
    pf_column *col = &s->cols[ci];
    char where[256];
    snprintf(where, sizeof where, "column %d", ci + 1);
    col->source = -1;
    col->default_level = -1;
    col->impl = calloc(1, sizeof *col->impl);
    if (!col->impl)
        return pf_error_set(c->err, PF_ENOMEM, "out of memory");
    col->impl->derive_default = PF_DERIVE_NONE;
    if (!json_is_object(cj))
        return FAIL(c, "%s: %s must be an object", c->path, where);
    int rc = get_string(c, cj, "name", 1, where, &col->name);
    if (rc)
        return rc;
    snprintf(where, sizeof where, "column '%s'", col->name);
    if (!*col->name)
        return FAIL(c, "%s: %s: empty name", c->path, where);
    for (int j = 0; j < ci; j++)
        if (strcmp(s->cols[j].name, col->name) == 0)
            return FAIL(c, "%s: %s: name used twice", c->path, where);
    if ((rc = check_keys(c, cj, where, keys)))
        return rc;

    char *role = NULL, *type = NULL, *missing = NULL;
    rc = get_string(c, cj, "role", 1, where, &role);
    if (!rc)
        rc = get_string(c, cj, "type", 1, where, &type);
    if (!rc)
        rc = get_string(c, cj, "missing", 0, where, &missing);
    if (!rc)
        rc = get_string(c, cj, "label", 1, where, &col->label);
    if (!rc)
        rc = get_string(c, cj, "description", 0, where, &col->description);
    if (!rc)
        rc = get_string(c, cj, "default", 0, where, &col->default_value);
    if (!rc)
        rc = get_string(c, cj, "pattern", 0, where, &col->pattern);
    int r = role ? lookup_name(role_names, 6, role) : -1;
    int t = type ? lookup_name(type_names, 5, type) : -1;
    int m = missing ? lookup_name(missing_names, 3, missing) : 0;
    if (!rc && r < 0)
        rc = FAIL(c,
                  "%s: %s: role '%s' is not one of id, feature, label, weight, group, "
                  "passthrough",
                  c->path, where, role);
    if (!rc && t < 0)
        rc = FAIL(c,
                  "%s: %s: type '%s' is not one of string, integer, number, category, "
                  "boolean",
                  c->path, where, type);
    if (!rc && m < 0)
        rc = FAIL(c, "%s: %s: missing '%s' is not one of reject, allow, default", c->path, where,
                  missing);
    free(role);
    free(type);
    free(missing);
    if (rc)
        return rc;
    col->role = (pf_role) r;
    col->type = (pf_type) t;
    col->missing = (pf_missing) m;

    json_t *req = json_object_get(cj, "required");
    if (req && !json_is_boolean(req))
        return FAIL(c, "%s: %s: 'required' must be true or false", c->path, where);
    col->required = req ? json_is_true(req) : col->role != PF_ROLE_LABEL;

    int numeric = col->type == PF_TYPE_INTEGER || col->type == PF_TYPE_NUMBER;
    int coded = col->type == PF_TYPE_CATEGORY || col->type == PF_TYPE_BOOLEAN;
    if (!numeric && (json_object_get(cj, "min") || json_object_get(cj, "max")))
        return FAIL(c, "%s: %s: 'min'/'max' apply to integer and number columns only", c->path,
                    where);
    if ((rc = get_number(c, cj, "min", where, -INFINITY, &col->min)) ||
        (rc = get_number(c, cj, "max", where, INFINITY, &col->max)))
        return rc;
    if (col->min > col->max)
        return FAIL(c, "%s: %s: min %g is greater than max %g", c->path, where, col->min, col->max);
    if (col->type != PF_TYPE_STRING &&
        (json_object_get(cj, "max_length") || json_object_get(cj, "pattern")))
        return FAIL(c, "%s: %s: 'max_length'/'pattern' apply to string columns only", c->path,
                    where);
    double maxlen = 0;
    if ((rc = get_number(c, cj, "max_length", where, 0, &maxlen)))
        return rc;
    if (maxlen < 0 || maxlen != floor(maxlen) || maxlen > 1e9)
        return FAIL(c, "%s: %s: 'max_length' must be a non-negative integer", c->path, where);
    col->max_length = (size_t) maxlen;
    if (col->pattern) {
        /* Anchored by the schema author; compiled once here. */
        if (regcomp(&col->impl->re, col->pattern, REG_EXTENDED | REG_NOSUB) != 0)
            return FAIL(c,
                        "%s: %s: pattern '%s' is not a valid POSIX extended regular "
                        "expression",
                        c->path, where, col->pattern);
        col->impl->has_re = 1;
    }

    json_t *levels = json_object_get(cj, "levels");
    json_t *levels_from = json_object_get(cj, "levels_from");
    if (!coded && (levels || levels_from))
        return FAIL(c, "%s: %s: levels apply to category columns only", c->path, where);
    if (col->type != PF_TYPE_BOOLEAN &&
        (json_object_get(cj, "true_values") || json_object_get(cj, "false_values")))
        return FAIL(c, "%s: %s: 'true_values'/'false_values' apply to boolean columns only",
                    c->path, where);
    if (col->type == PF_TYPE_BOOLEAN) {
        if (levels || levels_from)
            return FAIL(c, "%s: %s: a boolean column has fixed levels 0 and 1", c->path, where);
        rc = parse_boolean_values(c, col, cj, where);
    } else if (col->type == PF_TYPE_CATEGORY) {
        if (!!levels == !!levels_from)
            return FAIL(c,
                        "%s: %s: a category column needs exactly one of 'levels' and "
                        "'levels_from'",
                        c->path, where);
        rc = levels ? parse_levels(c, col, levels, where)
                    : parse_levels_from(c, col, levels_from, where);
    }
    if (rc)
        return rc;

    json_t *derive = json_object_get(cj, "derive");
    if (derive && (rc = parse_derive(c, s, ci, derive, where)))
        return rc;

    if (col->missing == PF_MISSING_DEFAULT && !col->default_value)
        return FAIL(c, "%s: %s: missing 'default' requires a 'default' value", c->path, where);
    if (col->missing != PF_MISSING_DEFAULT && col->default_value)
        return FAIL(c, "%s: %s: 'default' is given but missing is not 'default'", c->path, where);
    if (col->default_value && (rc = parse_default(c, col, where)))
        return rc;

    if (col->role == PF_ROLE_ID) {
        if (s->id_col >= 0)
            return FAIL(c, "%s: %s: only one column may have role id", c->path, where);
        if (col->type != PF_TYPE_STRING || col->derived)
            return FAIL(c, "%s: %s: the id column must be an input column of type string", c->path,
                        where);
        if (col->missing != PF_MISSING_REJECT)
            return FAIL(c, "%s: %s: the id may not be missing", c->path, where);
        s->id_col = ci;
    }
    return 0;
}

static int parse_missing_tokens(loadctx *c, pf_schema *s, json_t *root)
{
    json_t *mv = json_object_get(root, "missing_values");
    size_t n = mv ? json_array_size(mv) : 1;
    if (mv && !json_is_array(mv))
        return FAIL(c, "%s: 'missing_values' must be an array of strings", c->path);
    s->missing_tokens = calloc(n + 1, sizeof *s->missing_tokens);
    if (!s->missing_tokens)
        return pf_error_set(c->err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_t *v = mv ? json_array_get(mv, i) : NULL;
        if (mv && !json_is_string(v))
            return FAIL(c, "%s: 'missing_values' must be an array of strings", c->path);
        s->missing_tokens[i] = strdup(v ? json_string_value(v) : "");
        if (!s->missing_tokens[i])
            return pf_error_set(c->err, PF_ENOMEM, "out of memory");
        s->nmissing_tokens++;
    }
    return 0;
}

int pf_schema_load(pf_schema **out, const char *path, pf_error *err)
{
    static const char *const keys[] = {"format",     "name",        "version",
                                       "title",      "description", "missing_values",
                                       "references", "columns",     NULL};
    *out = NULL;
    json_t *root;
    char hex[PF_SHA256_HEX];
    int rc = pf_json_load_file(path, PF_ESCHEMA, PF_ESCHEMA, &root, hex, err);
    if (rc)
        return rc;
    pf_schema *s = calloc(1, sizeof *s);
    char *pathcopy = strdup(path);
    loadctx c = {.path = path, .err = err};
    if (!s || !pathcopy) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    s->id_col = -1;
    s->path = strdup(path);
    memcpy(s->sha256, hex, sizeof s->sha256);
    c.dir = strdup(dirname(pathcopy));
    if (!s->path || !c.dir) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    if (!json_is_object(root)) {
        rc = FAIL(&c, "%s: the top level must be an object", path);
        goto out;
    }
    if ((rc = check_keys(&c, root, "top level", keys)))
        goto out;
    char *format = NULL;
    if ((rc = get_string(&c, root, "format", 1, "top level", &format)))
        goto out;
    if (strcmp(format, SCHEMA_FORMAT) != 0)
        rc = FAIL(&c, "%s: format '%s' is not supported (expected '%s')", path, format,
                  SCHEMA_FORMAT);
    free(format);
    if (rc || (rc = get_string(&c, root, "name", 1, "top level", &s->name)) ||
        (rc = get_string(&c, root, "version", 1, "top level", &s->version)) ||
        (rc = get_string(&c, root, "title", 0, "top level", &s->title)) ||
        (rc = parse_missing_tokens(&c, s, root)) || (rc = load_references(&c, root)))
        goto out;
    json_t *cols = json_object_get(root, "columns");
    if (!json_is_array(cols) || json_array_size(cols) == 0) {
        rc = FAIL(&c, "%s: 'columns' must be a non-empty array", path);
        goto out;
    }
    s->cols = calloc(json_array_size(cols), sizeof *s->cols);
    if (!s->cols) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(cols); i++) {
        s->ncols = i + 1; /* so pf_schema_free sees the partly built column */
        if ((rc = parse_column(&c, s, (int) i, json_array_get(cols, i))))
            goto out;
    }
out:
    free_refs(&c);
    free(c.dir);
    free(pathcopy);
    json_decref(root);
    if (rc) {
        pf_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void pf_schema_free(pf_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncols; i++) {
        pf_column *col = &s->cols[i];
        for (size_t l = 0; l < col->nlevels; l++) {
            free(col->levels[l].code);
            free(col->levels[l].label);
        }
        free(col->levels);
        free(col->name);
        free(col->label);
        free(col->description);
        free(col->pattern);
        free(col->default_value);
        free(col->reference);
        if (col->impl) {
            pf_strmap_clear(&col->impl->levels);
            pf_strmap_clear(&col->impl->derive_keys);
            if (col->impl->has_re)
                regfree(&col->impl->re);
            free(col->impl->derive_map);
            free(col->impl->reference_file);
            free(col->impl);
        }
    }
    for (size_t i = 0; i < s->nmissing_tokens; i++)
        free(s->missing_tokens[i]);
    free(s->missing_tokens);
    free(s->cols);
    free(s->path);
    free(s->name);
    free(s->version);
    free(s->title);
    free(s);
}

int pf_schema_find(const pf_schema *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i].name, name) == 0)
            return (int) i;
    return -1;
}

int32_t pf_schema_level(const pf_schema *s, int col, const char *code, size_t len)
{
    if (col < 0 || (size_t) col >= s->ncols)
        return -1;
    return pf_strmap_get(&s->cols[col].impl->levels, code, len);
}
