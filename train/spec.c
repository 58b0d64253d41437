/*
 * spec.c - model specifications and their expansion into terms (spec.h).
 *
 * A term entry of the specification expands into design columns written
 * in coefficient-table form (expr, level), which pf_encoder_add parses:
 * the specification is sugar over the same term language the model file
 * and `profil model from-table` use, so all three build identical encoders.
 */
#include "profil/spec.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/hash.h"
#include "profil/jsonkeys.h"

#define SPEC_FORMAT "profil-modelspec/1"
#define COL_TEXT    512

typedef struct column {
    char expr[COL_TEXT];
    char level[COL_TEXT];
    int is_missing_indicator;
} column;

typedef struct colset {
    size_t n, cap;
    column *c;
} colset;

typedef struct ctx {
    const pf_schema *s;
    const char *path;
    pf_error *err;
    json_t *terms; /* the specification's term array, to resolve interaction sides */
} ctx;

static int push(ctx *c, colset *cs, const char *expr, const char *level, int missing)
{
    if (cs->n == cs->cap) {
        size_t cap = cs->cap ? cs->cap * 2 : 16;
        column *n = realloc(cs->c, cap * sizeof *n);
        if (!n)
            return pf_error_set(c->err, PF_ENOMEM, "out of memory");
        cs->c = n;
        cs->cap = cap;
    }
    column *col = &cs->c[cs->n++];
    if (snprintf(col->expr, COL_TEXT, "%s", expr) >= COL_TEXT ||
        snprintf(col->level, COL_TEXT, "%s", level) >= COL_TEXT)
        return pf_error_set(c->err, PF_ELIMIT, "%s: term '%s' is too long", c->path, expr);
    col->is_missing_indicator = missing;
    return 0;
}

static int check_keys(ctx *c, json_t *obj, const char *where, const char *const *allowed)
{
    return pf_json_check_keys(obj, allowed, c->path, where, PF_EINVAL, c->err);
}

/* Reads an increasing array of finite numbers. */
static int knots_of(ctx *c, json_t *arr, const char *what, const char *feature, double **out,
                    size_t *n)
{
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return pf_error_set(c->err, PF_EINVAL, "%s: term '%s': '%s' must be a non-empty array",
                            c->path, feature, what);
    *n = json_array_size(arr);
    *out = malloc(*n * sizeof **out);
    if (!*out)
        return pf_error_set(c->err, PF_ENOMEM, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        json_t *v = json_array_get(arr, i);
        (*out)[i] = json_is_number(v) ? json_number_value(v) : NAN;
        if (!isfinite((*out)[i]) || (i > 0 && !((*out)[i] > (*out)[i - 1]))) {
            free(*out);
            return pf_error_set(c->err, PF_EINVAL,
                                "%s: term '%s': '%s' must be increasing finite numbers", c->path,
                                feature, what);
        }
    }
    return 0;
}

/* The columns of one feature's main effect. */
static int expand_feature(ctx *c, json_t *t, const char *where, colset *out)
{
    static const char *const keys[] = {"feature",   "transform", "spline", "bins",
                                       "reference", "missing",   NULL};
    int rc = check_keys(c, t, where, keys);
    if (rc)
        return rc;
    const char *name = json_string_value(json_object_get(t, "feature"));
    if (!name)
        return pf_error_set(c->err, PF_EINVAL, "%s: %s needs 'feature' or 'interaction'", c->path,
                            where);
    int col = pf_schema_find(c->s, name);
    if (col < 0)
        return pf_error_set(c->err, PF_ENOTFOUND, "%s: term '%s': no such column in schema %s",
                            c->path, name, c->s->name);
    const pf_column *sc = &c->s->cols[col];
    const char *transform = json_string_value(json_object_get(t, "transform"));
    json_t *spline = json_object_get(t, "spline");
    json_t *bins = json_object_get(t, "bins");
    const char *reference = json_string_value(json_object_get(t, "reference"));
    const char *missing = json_string_value(json_object_get(t, "missing"));
    int numeric = sc->type == PF_TYPE_INTEGER || sc->type == PF_TYPE_NUMBER;
    if ((transform || spline || bins) && !numeric)
        return pf_error_set(c->err, PF_EINVAL,
                            "%s: term '%s': transform, spline and bins apply to numeric "
                            "features, %s is %s",
                            c->path, name, name, pf_type_name(sc->type));
    if (reference && sc->type != PF_TYPE_CATEGORY)
        return pf_error_set(c->err, PF_EINVAL, "%s: term '%s': 'reference' applies to categories",
                            c->path, name);
    if (!!spline + !!bins + !!transform > 1)
        return pf_error_set(c->err, PF_EINVAL,
                            "%s: term '%s': give one of 'transform', 'spline' and 'bins'", c->path,
                            name);
    if (missing && strcmp(missing, "indicator") != 0)
        return pf_error_set(c->err, PF_EINVAL, "%s: term '%s': missing must be \"indicator\"",
                            c->path, name);
    char expr[COL_TEXT], num[64], num2[64];
    if (sc->type == PF_TYPE_CATEGORY) {
        int32_t ref = 0;
        if (reference && (ref = pf_schema_level(c->s, col, reference, strlen(reference))) < 0)
            return pf_error_set(c->err, PF_ENOTFOUND,
                                "%s: term '%s': reference '%s' is not a level", c->path, name,
                                reference);
        for (size_t l = 0; l < sc->nlevels; l++)
            if ((int32_t) l != ref && (rc = push(c, out, name, sc->levels[l].code, 0)))
                return rc;
    } else if (sc->type == PF_TYPE_BOOLEAN) {
        if ((rc = push(c, out, name, "", 0)))
            return rc;
    } else if (!numeric) {
        return pf_error_set(c->err, PF_EINVAL,
                            "%s: term '%s': a string column cannot be a term; use a category "
                            "derived from it",
                            c->path, name);
    } else if (spline || bins) {
        double *k = NULL;
        size_t nk = 0;
        if ((rc = knots_of(c, spline ? spline : bins, spline ? "spline" : "bins", name, &k, &nk)))
            return rc;
        if (spline) {
            rc = push(c, out, name, "", 0);
            for (size_t i = 0; !rc && i < nk; i++) {
                pf_format_number(num, sizeof num, k[i]);
                snprintf(expr, sizeof expr, "hinge(%s,%s)", name, num);
                rc = push(c, out, expr, "", 0);
            }
        } else {
            /* Bins [k_i, k_{i+1}); the lowest, (-inf, k_0), is the reference. */
            for (size_t i = 0; !rc && i < nk; i++) {
                pf_format_number(num, sizeof num, k[i]);
                if (i + 1 < nk)
                    pf_format_number(num2, sizeof num2, k[i + 1]);
                snprintf(expr, sizeof expr, "bin(%s,%s,%s)", name, num, i + 1 < nk ? num2 : "inf");
                rc = push(c, out, expr, "", 0);
            }
        }
        free(k);
        if (rc)
            return rc;
    } else if (!transform || strcmp(transform, "identity") == 0) {
        if ((rc = push(c, out, name, "", 0)))
            return rc;
    } else if (strcmp(transform, "log1p") == 0) {
        snprintf(expr, sizeof expr, "log1p(%s)", name);
        if ((rc = push(c, out, expr, "", 0)))
            return rc;
    } else {
        return pf_error_set(c->err, PF_EINVAL,
                            "%s: term '%s': transform '%s' is not identity or log1p", c->path, name,
                            transform);
    }
    /* A feature that may be missing needs its indicator; one that may not
     * gets one only on request (it would be constant 0 otherwise). */
    if (sc->missing == PF_MISSING_ALLOW || missing) {
        snprintf(expr, sizeof expr, "missing(%s)", name);
        if ((rc = push(c, out, expr, "", 1)))
            return rc;
    }
    return 0;
}

/* An interaction side: a feature name (its main-effect entry in the
 * specification, or the default expansion) or a term object. */
static int expand_side(ctx *c, json_t *side, const char *where, colset *out)
{
    if (json_is_object(side))
        return expand_feature(c, side, where, out);
    const char *name = json_string_value(side);
    if (!name)
        return pf_error_set(c->err, PF_EINVAL,
                            "%s: %s: interaction sides are feature names or term objects", c->path,
                            where);
    size_t i;
    json_t *t;
    json_array_foreach(c->terms, i, t)
    {
        const char *f = json_string_value(json_object_get(t, "feature"));
        if (f && strcmp(f, name) == 0)
            return expand_feature(c, t, where, out);
    }
    json_t *tmp = json_pack("{s:s}", "feature", name);
    int rc = tmp ? expand_feature(c, tmp, where, out) : PF_ENOMEM;
    json_decref(tmp);
    return rc;
}

static int expand_interaction(ctx *c, json_t *t, const char *where, colset *out)
{
    static const char *const keys[] = {"interaction", NULL};
    int rc = check_keys(c, t, where, keys);
    json_t *sides = json_object_get(t, "interaction");
    if (rc)
        return rc;
    if (!json_is_array(sides) || json_array_size(sides) != 2)
        return pf_error_set(c->err, PF_EINVAL, "%s: %s: 'interaction' takes two sides", c->path,
                            where);
    colset a = {0}, b = {0};
    rc = expand_side(c, json_array_get(sides, 0), where, &a);
    if (!rc)
        rc = expand_side(c, json_array_get(sides, 1), where, &b);
    for (size_t i = 0; !rc && i < a.n; i++)
        for (size_t j = 0; !rc && j < b.n; j++) {
            if (a.c[i].is_missing_indicator || b.c[j].is_missing_indicator)
                continue; /* missingness enters through the main effects */
            /* Room for both sides: push() refuses what is too long. */
            char expr[2 * COL_TEXT + 2], level[2 * COL_TEXT + 2];
            snprintf(expr, sizeof expr, "%s:%s", a.c[i].expr, b.c[j].expr);
            snprintf(level, sizeof level, "%s%s%s", a.c[i].level,
                     *a.c[i].level && *b.c[j].level ? ":" : "", b.c[j].level);
            rc = push(c, out, expr, level, 0);
        }
    free(a.c);
    free(b.c);
    return rc;
}

static int column_or_none(ctx *c, json_t *root, const char *key, int *out)
{
    json_t *v = json_object_get(root, key);
    *out = -1;
    if (!v || json_is_null(v))
        return 0;
    const char *name = json_string_value(v);
    if (!name || (*out = pf_schema_find(c->s, name)) < 0)
        return pf_error_set(c->err, PF_ENOTFOUND, "%s: '%s': no column '%s' in schema %s", c->path,
                            key, name ? name : "?", c->s->name);
    return 0;
}

int pf_spec_load(pf_spec **out, const char *path, const pf_schema *s, pf_error *err)
{
    static const char *const keys[] = {"format",  "name",      "description", "label",
                                       "weight",  "intercept", "terms",       "fit",
                                       "holdout", "cv_folds",  NULL};
    *out = NULL;
    json_t *root;
    char hex[PF_SHA256_HEX];
    int rc = pf_json_load_file(path, PF_EINVAL, PF_EINVAL, &root, hex, err);
    if (rc)
        return rc;
    ctx c = {.s = s, .path = path, .err = err};
    pf_spec *spec = calloc(1, sizeof *spec);
    colset cols = {0};
    if (!spec)
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    if (!rc && !json_is_object(root))
        rc = pf_error_set(err, PF_EINVAL, "%s: the top level must be an object", path);
    if (!rc)
        rc = check_keys(&c, root, "top level", keys);
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!rc && (!format || strcmp(format, SPEC_FORMAT) != 0))
        rc = pf_error_set(err, PF_EINVAL, "%s: format must be \"%s\"", path, SPEC_FORMAT);
    if (rc)
        goto out;
    const char *name = json_string_value(json_object_get(root, "name"));
    spec->name = strdup(name ? name : "");
    spec->holdout_col = -1;
    if ((rc = column_or_none(&c, root, "label", &spec->label_col)) ||
        (rc = column_or_none(&c, root, "weight", &spec->weight_col)))
        goto out;
    if (spec->label_col < 0) {
        rc = pf_error_set(err, PF_EINVAL, "%s: 'label' names the column to predict", path);
        goto out;
    }
    const pf_column *lc = &s->cols[spec->label_col];
    if (lc->type != PF_TYPE_BOOLEAN && lc->type != PF_TYPE_INTEGER && lc->type != PF_TYPE_NUMBER) {
        rc = pf_error_set(err, PF_EINVAL, "%s: label '%s' must be boolean or numeric 0/1", path,
                          lc->name);
        goto out;
    }
    json_t *cv = json_object_get(root, "cv_folds");
    if (cv && (!json_is_integer(cv) || json_integer_value(cv) < 0 || json_integer_value(cv) == 1 ||
               json_integer_value(cv) > 100)) {
        rc = pf_error_set(err, PF_EINVAL, "%s: cv_folds is 0 (none) or 2 to 100", path);
        goto out;
    }
    spec->cv_folds = cv ? (int) json_integer_value(cv) : 0;
    json_t *icpt = json_object_get(root, "intercept");
    spec->intercept = icpt ? json_is_true(icpt) : 1;

    json_t *fit = json_object_get(root, "fit");
    if (fit) {
        static const char *const fkeys[] = {"l2", "max_iter", "tol", NULL};
        if (!json_is_object(fit) || (rc = check_keys(&c, fit, "fit", fkeys)))
            goto out_bad_fit;
        spec->l2 = json_number_value(json_object_get(fit, "l2"));
        spec->max_iter = (int) json_integer_value(json_object_get(fit, "max_iter"));
        spec->tol = json_number_value(json_object_get(fit, "tol"));
        if (spec->l2 < 0 || spec->max_iter < 0 || spec->tol < 0) {
        out_bad_fit:
            if (!rc)
                rc = pf_error_set(err, PF_EINVAL,
                                  "%s: 'fit' holds l2 >= 0, max_iter >= 0, "
                                  "tol >= 0",
                                  path);
            goto out;
        }
    }
    json_t *ho = json_object_get(root, "holdout");
    if (ho) {
        static const char *const hkeys[] = {"fraction", "seed", "column", NULL};
        if (!json_is_object(ho) || (rc = check_keys(&c, ho, "holdout", hkeys))) {
            if (!rc)
                rc = pf_error_set(err, PF_EINVAL, "%s: 'holdout' must be an object", path);
            goto out;
        }
        spec->holdout_fraction = json_number_value(json_object_get(ho, "fraction"));
        spec->seed = (uint64_t) json_integer_value(json_object_get(ho, "seed"));
        if (!(spec->holdout_fraction >= 0 && spec->holdout_fraction < 1)) {
            rc = pf_error_set(err, PF_EINVAL, "%s: holdout fraction must be in [0, 1)", path);
            goto out;
        }
        if ((rc = column_or_none(&c, ho, "column", &spec->holdout_col)))
            goto out;
        if (spec->holdout_col >= 0 && s->cols[spec->holdout_col].type != PF_TYPE_BOOLEAN) {
            rc = pf_error_set(err, PF_EINVAL, "%s: holdout column must be boolean", path);
            goto out;
        }
    }

    c.terms = json_object_get(root, "terms");
    if (!json_is_array(c.terms) || json_array_size(c.terms) == 0) {
        rc = pf_error_set(err, PF_EINVAL, "%s: 'terms' must be a non-empty array", path);
        goto out;
    }
    size_t i;
    json_t *t;
    json_array_foreach(c.terms, i, t)
    {
        char where[64];
        snprintf(where, sizeof where, "term %zu", i + 1);
        if (!json_is_object(t)) {
            rc = pf_error_set(err, PF_EINVAL, "%s: %s must be an object", path, where);
            goto out;
        }
        rc = json_object_get(t, "interaction") ? expand_interaction(&c, t, where, &cols)
                                               : expand_feature(&c, t, where, &cols);
        if (rc)
            goto out;
    }
    if ((rc = pf_encoder_new(&spec->enc, s, err)))
        goto out;
    if (spec->intercept && (rc = pf_encoder_add(spec->enc, "(Intercept)", "", err)))
        goto out;
    for (size_t j = 0; j < cols.n; j++)
        if ((rc = pf_encoder_add(spec->enc, cols.c[j].expr, cols.c[j].level, err)))
            goto out;
    if ((rc = pf_encoder_check_missing(spec->enc, err)))
        goto out;
    memcpy(spec->sha256, hex, sizeof spec->sha256);
out:
    free(cols.c);
    json_decref(root);
    if (rc) {
        pf_spec_free(spec);
        return rc;
    }
    *out = spec;
    return 0;
}

void pf_spec_free(pf_spec *spec)
{
    if (!spec)
        return;
    pf_encoder_free(spec->enc);
    free(spec->name);
    free(spec);
}

/* splitmix64: a fixed, well-mixed function of (seed, row). */
static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

int pf_spec_fold(const pf_spec *spec, int64_t row, int k)
{
    uint64_t h = mix(mix(spec->seed ^ 0x5DEECE66DULL) ^ (uint64_t) row);
    return (int) (h % (uint64_t) k);
}

int pf_spec_holdout_row(const pf_spec *spec, int64_t row)
{
    if (spec->holdout_fraction <= 0)
        return 0;
    uint64_t h = mix(mix(spec->seed) ^ (uint64_t) row);
    return (double) (h >> 11) * 0x1.0p-53 < spec->holdout_fraction;
}
