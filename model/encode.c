/*
 * encode.c - model terms and design rows (see encode.h).
 *
 * Terms are parsed from their coefficient-table form once, when a model is
 * built or loaded; encoding is then a loop over terms and factors with no
 * lookups, shared by training (design rows for IRLS) and scoring.
 */
#include "profil/encode.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numparse.h"

#define NAME_MAX_LEN 1024

/* log1p of the whole numbers below LOG1P_TABLE, computed by log1p itself:
 * counts of days and periods, which most log1p terms take, are looked up
 * with the same result. */
#define LOG1P_TABLE 4096
static double log1p_table[LOG1P_TABLE];
static pthread_once_t log1p_once = PTHREAD_ONCE_INIT;

static void log1p_fill(void)
{
    for (int k = 0; k < LOG1P_TABLE; k++)
        log1p_table[k] = log1p((double) k);
}

int pf_encoder_new(pf_encoder **out, const pf_schema *s, pf_error *err)
{
    pthread_once(&log1p_once, log1p_fill);
    *out = calloc(1, sizeof **out);
    if (!*out)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    (*out)->schema = s;
    return 0;
}

static void term_free(pf_term *t)
{
    free(t->name);
    free(t->expr);
    free(t->level);
}

void pf_encoder_free(pf_encoder *e)
{
    if (!e)
        return;
    for (size_t j = 0; j < e->nterms; j++)
        term_free(&e->terms[j]);
    free(e->terms);
    free(e);
}

void pf_format_number(char *buf, size_t n, double v)
{
    if (isinf(v)) {
        snprintf(buf, n, v < 0 ? "-inf" : "inf");
        return;
    }
    /* Plain decimals first ("50", not "5e+01"), exponents only if needed. */
    for (int pass = 0; pass < 2; pass++)
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, n, "%.*g", prec, v);
            if ((pass || !strchr(buf, 'e')) && strtod(buf, NULL) == v)
                return;
        }
}

static int parse_bound(const char *s, size_t n, double *out)
{
    if (n == 3 && memcmp(s, "inf", 3) == 0) {
        *out = INFINITY;
        return 0;
    }
    if (n == 4 && memcmp(s, "-inf", 4) == 0) {
        *out = -INFINITY;
        return 0;
    }
    return pf_parse_number(s, n, PF_DEC_POINT, out) == PF_NUM_OK ? 0 : -1;
}

static int is_numeric(const pf_column *c)
{
    return c->type == PF_TYPE_INTEGER || c->type == PF_TYPE_NUMBER;
}

typedef struct parse_state {
    const pf_schema *s;
    const char *expr;   /* whole expression, for messages */
    const char *levels; /* remaining level tokens */
    pf_error *err;
    char name[NAME_MAX_LEN];
    size_t name_len;
} parse_state;

static int column_of(parse_state *ps, const char *name, size_t n, int *col)
{
    char buf[256];
    if (n >= sizeof buf)
        return pf_error_set(ps->err, PF_EINVAL, "term '%s': column name too long", ps->expr);
    memcpy(buf, name, n);
    buf[n] = '\0';
    int c = pf_schema_find(ps->s, buf);
    if (c < 0)
        return pf_error_set(ps->err, PF_ENOTFOUND, "term '%s': no column '%s' in schema %s",
                            ps->expr, buf, ps->s->name);
    const pf_column *colp = &ps->s->cols[c];
    if (colp->role != PF_ROLE_FEATURE)
        return pf_error_set(ps->err, PF_EINVAL,
                            "term '%s': column '%s' has role %s; only features enter a model",
                            ps->expr, buf, pf_role_name(colp->role));
    if (colp->type == PF_TYPE_STRING)
        return pf_error_set(ps->err, PF_EINVAL,
                            "term '%s': '%s' is a string column; use a category derived from it",
                            ps->expr, buf);
    *col = c;
    return 0;
}

static void name_append(parse_state *ps, const char *s, size_t n)
{
    if (ps->name_len + n + 1 > sizeof ps->name)
        n = sizeof ps->name - ps->name_len - 1;
    memcpy(ps->name + ps->name_len, s, n);
    ps->name_len += n;
    ps->name[ps->name_len] = '\0';
}

/* One factor: text[0..n) in table form. */
static int parse_factor(parse_state *ps, const char *text, size_t n, pf_factor *f)
{
    const pf_schema *S = ps->s;
    memset(f, 0, sizeof *f);
    const char *open = memchr(text, '(', n);
    if (!open) {
        int rc = column_of(ps, text, n, &f->col);
        if (rc)
            return rc;
        const pf_column *c = &S->cols[f->col];
        if (c->type != PF_TYPE_CATEGORY) {
            f->kind = PF_FACTOR_VALUE;
            name_append(ps, text, n);
            return 0;
        }
        /* A category takes the next level token. */
        if (!ps->levels || !*ps->levels)
            return pf_error_set(ps->err, PF_EINVAL,
                                "term '%s': category '%s' needs a level in the level column",
                                ps->expr, c->name);
        const char *end = strchr(ps->levels, ':');
        size_t ln = end ? (size_t) (end - ps->levels) : strlen(ps->levels);
        f->kind = PF_FACTOR_LEVEL;
        f->level = pf_schema_level(S, f->col, ps->levels, ln);
        if (f->level < 0)
            return pf_error_set(ps->err, PF_ENOTFOUND, "term '%s': '%.*s' is not a level of %s",
                                ps->expr, (int) ln, ps->levels, c->name);
        name_append(ps, text, n);
        name_append(ps, "=", 1);
        name_append(ps, c->levels[f->level].code, strlen(c->levels[f->level].code));
        ps->levels += ln + (end ? 1 : 0);
        return 0;
    }
    if (text[n - 1] != ')')
        return pf_error_set(ps->err, PF_EINVAL, "term '%s': '%.*s' lacks its closing ')'", ps->expr,
                            (int) n, text);
    size_t fn = (size_t) (open - text);
    const char *args = open + 1;
    size_t an = n - fn - 2;
    /* Split arguments at commas: column[,a[,b]]. */
    const char *arg[3] = {args, NULL, NULL};
    size_t alen[3] = {an, 0, 0};
    size_t nargs = 1;
    for (size_t i = 0; i < an; i++)
        if (args[i] == ',') {
            if (nargs == 3)
                return pf_error_set(ps->err, PF_EINVAL, "term '%s': too many arguments", ps->expr);
            alen[nargs - 1] = (size_t) (args + i - arg[nargs - 1]);
            arg[nargs] = args + i + 1;
            alen[nargs] = (size_t) (args + an - arg[nargs]);
            nargs++;
        }
    int rc = column_of(ps, arg[0], alen[0], &f->col);
    if (rc)
        return rc;
    const pf_column *c = &S->cols[f->col];
    size_t want;
    if (fn == 5 && memcmp(text, "log1p", 5) == 0) {
        f->kind = PF_FACTOR_LOG1P;
        want = 1;
    } else if (fn == 5 && memcmp(text, "hinge", 5) == 0) {
        f->kind = PF_FACTOR_HINGE;
        want = 2;
    } else if (fn == 3 && memcmp(text, "bin", 3) == 0) {
        f->kind = PF_FACTOR_BIN;
        want = 3;
    } else if (fn == 7 && memcmp(text, "missing", 7) == 0) {
        f->kind = PF_FACTOR_MISSING;
        want = 1;
    } else {
        return pf_error_set(ps->err, PF_EINVAL,
                            "term '%s': unknown function '%.*s' (log1p, hinge, bin, missing)",
                            ps->expr, (int) fn, text);
    }
    if (nargs != want)
        return pf_error_set(ps->err, PF_EINVAL, "term '%s': %.*s takes %zu argument%s", ps->expr,
                            (int) fn, text, want, want == 1 ? "" : "s");
    if (f->kind != PF_FACTOR_MISSING && !is_numeric(c))
        return pf_error_set(ps->err, PF_EINVAL, "term '%s': %.*s needs a numeric column, %s is %s",
                            ps->expr, (int) fn, text, c->name, pf_type_name(c->type));
    if (f->kind == PF_FACTOR_LOG1P && c->min <= -1)
        return pf_error_set(ps->err, PF_EINVAL,
                            "term '%s': log1p needs values above -1, the schema allows %g",
                            ps->expr, c->min);
    if (want >= 2 && (parse_bound(arg[1], alen[1], &f->a) || isnan(f->a)))
        return pf_error_set(ps->err, PF_EINVAL, "term '%s': '%.*s' is not a number", ps->expr,
                            (int) alen[1], arg[1]);
    if (want == 3 && (parse_bound(arg[2], alen[2], &f->b) || !(f->a < f->b)))
        return pf_error_set(ps->err, PF_EINVAL, "term '%s': bin bounds must satisfy lo < hi",
                            ps->expr);
    if (f->kind == PF_FACTOR_HINGE && !isfinite(f->a))
        return pf_error_set(ps->err, PF_EINVAL, "term '%s': a hinge knot must be finite", ps->expr);
    /* Canonical display: numbers in their shortest exact form. */
    char buf[128];
    name_append(ps, text, fn + 1);
    name_append(ps, c->name, strlen(c->name));
    for (size_t k = 1; k < want; k++) {
        pf_format_number(buf, sizeof buf, k == 1 ? f->a : f->b);
        name_append(ps, ",", 1);
        name_append(ps, buf, strlen(buf));
    }
    name_append(ps, ")", 1);
    return 0;
}

int pf_encoder_add(pf_encoder *e, const char *expr, const char *level, pf_error *err)
{
    pf_term t = {0};
    parse_state ps = {.s = e->schema, .expr = expr, .levels = level ? level : "", .err = err};
    if (strcmp(expr, "(Intercept)") == 0) {
        if (level && *level)
            return pf_error_set(err, PF_EINVAL, "the intercept takes no level");
        name_append(&ps, expr, strlen(expr));
    } else {
        const char *p = expr;
        for (;;) {
            const char *colon = strchr(p, ':');
            size_t n = colon ? (size_t) (colon - p) : strlen(p);
            if (n == 0)
                return pf_error_set(err, PF_EINVAL, "term '%s': empty factor", expr);
            if (t.nfactors == PF_TERM_MAX_FACTORS)
                return pf_error_set(err, PF_EINVAL, "term '%s': more than %d factors", expr,
                                    PF_TERM_MAX_FACTORS);
            if (t.nfactors)
                name_append(&ps, ":", 1);
            int rc = parse_factor(&ps, p, n, &t.factor[t.nfactors]);
            if (rc)
                return rc;
            t.nfactors++;
            if (!colon)
                break;
            p = colon + 1;
        }
        if (*ps.levels)
            return pf_error_set(err, PF_EINVAL, "term '%s': level '%s' is left over", expr, level);
    }
    if (pf_encoder_find(e, ps.name) >= 0)
        return pf_error_set(err, PF_EINVAL, "term '%s' appears twice", ps.name);
    if (e->nterms == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        pf_term *terms = realloc(e->terms, cap * sizeof *terms);
        if (!terms)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        e->terms = terms;
        e->cap = cap;
    }
    t.name = strdup(ps.name);
    t.expr = strdup(expr);
    t.level = strdup(level ? level : "");
    if (!t.name || !t.expr || !t.level) {
        term_free(&t);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    e->terms[e->nterms++] = t;
    return 0;
}

int pf_encoder_find(const pf_encoder *e, const char *name)
{
    for (size_t j = 0; j < e->nterms; j++)
        if (strcmp(e->terms[j].name, name) == 0)
            return (int) j;
    return -1;
}

void pf_encoder_retain(pf_encoder *e, const uint8_t *keep)
{
    size_t k = 0;
    for (size_t j = 0; j < e->nterms; j++) {
        if (keep[j])
            e->terms[k++] = e->terms[j];
        else
            term_free(&e->terms[j]);
    }
    e->nterms = k;
}

int pf_term_uses(const pf_term *t, int col)
{
    for (size_t k = 0; k < t->nfactors; k++)
        if (t->factor[k].col == col)
            return 1;
    return 0;
}

int pf_encoder_check_missing(const pf_encoder *e, pf_error *err)
{
    const pf_schema *S = e->schema;
    for (size_t c = 0; c < S->ncols; c++) {
        if (S->cols[c].missing != PF_MISSING_ALLOW)
            continue;
        int used = 0, indicator = 0;
        for (size_t j = 0; j < e->nterms; j++)
            for (size_t k = 0; k < e->terms[j].nfactors; k++)
                if (e->terms[j].factor[k].col == (int) c) {
                    used = 1;
                    indicator |= e->terms[j].factor[k].kind == PF_FACTOR_MISSING;
                }
        if (used && !indicator)
            return pf_error_set(err, PF_EINVAL,
                                "feature '%s' may be missing but the model has no term "
                                "missing(%s) to account for it",
                                S->cols[c].name, S->cols[c].name);
    }
    return 0;
}

/* A factor's value, kind by kind; NaN (missing) gives 0 where a value is
 * read, and compares false elsewhere. */
static inline double level_value(const pf_colbuf *cb, size_t i, int32_t level)
{
    return cb->cat[i] == level;
}

static inline double missing_value(const pf_colbuf *cb, size_t i)
{
    if (cb->num)
        return isnan(cb->num[i]);
    if (cb->cat)
        return cb->cat[i] < 0;
    return cb->str[i].off == PF_STR_MISSING;
}

static inline double plain_value(const pf_colbuf *cb, size_t i)
{
    if (cb->cat)
        return cb->cat[i] > 0 ? cb->cat[i] : 0; /* boolean: level 1 is true */
    double x = cb->num[i];
    return isnan(x) ? 0 : x;
}

static inline double log1p_value(double x)
{
    if (x >= 0 && x < LOG1P_TABLE && x == (double) (int) x)
        return log1p_table[(int) x];
    return isnan(x) ? 0 : log1p(x);
}

static inline double hinge_value(double x, double a)
{
    return x > a ? x - a : 0;
}

static inline double bin_value(double x, double a, double b)
{
    return x >= a && x < b;
}

static inline double factor_value(const pf_factor *f, const pf_frame *fr, size_t i)
{
    const pf_colbuf *cb = &fr->col[f->col];
    switch (f->kind) {
    case PF_FACTOR_LEVEL:
        return level_value(cb, i, f->level);
    case PF_FACTOR_MISSING:
        return missing_value(cb, i);
    case PF_FACTOR_VALUE:
        return plain_value(cb, i);
    case PF_FACTOR_LOG1P:
        return log1p_value(cb->num[i]);
    case PF_FACTOR_HINGE:
        return hinge_value(cb->num[i], f->a);
    case PF_FACTOR_BIN:
        return bin_value(cb->num[i], f->a, f->b);
    }
    return 0;
}

double pf_encoder_value(const pf_encoder *e, size_t term, const pf_frame *f, size_t i)
{
    const pf_term *t = &e->terms[term];
    double v = 1;
    for (size_t k = 0; k < t->nfactors; k++)
        v *= factor_value(&t->factor[k], f, i);
    return v;
}

void pf_encoder_column(const pf_encoder *e, size_t term, const pf_frame *f, size_t first, size_t n,
                       double *out)
{
    const pf_term *t = &e->terms[term];
    for (size_t r = 0; r < n; r++)
        out[r] = 1;
    /* Factor by factor in term order, as pf_encoder_value multiplies. */
    for (size_t k = 0; k < t->nfactors; k++) {
        const pf_factor *fa = &t->factor[k];
        const pf_colbuf *cb = &f->col[fa->col];
        const double *x = cb->num ? cb->num + first : NULL;
        switch (fa->kind) {
        case PF_FACTOR_LEVEL:
            for (size_t r = 0; r < n; r++)
                out[r] *= level_value(cb, first + r, fa->level);
            break;
        case PF_FACTOR_MISSING:
            for (size_t r = 0; r < n; r++)
                out[r] *= missing_value(cb, first + r);
            break;
        case PF_FACTOR_VALUE:
            for (size_t r = 0; r < n; r++)
                out[r] *= plain_value(cb, first + r);
            break;
        case PF_FACTOR_LOG1P:
            for (size_t r = 0; r < n; r++)
                out[r] *= log1p_value(x[r]);
            break;
        case PF_FACTOR_HINGE:
            for (size_t r = 0; r < n; r++)
                out[r] *= hinge_value(x[r], fa->a);
            break;
        case PF_FACTOR_BIN:
            for (size_t r = 0; r < n; r++)
                out[r] *= bin_value(x[r], fa->a, fa->b);
            break;
        }
    }
}

void pf_encoder_rows(const pf_encoder *e, const pf_frame *f, size_t first, size_t n, double *x,
                     size_t ldx)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < e->nterms; j++)
            x[i * ldx + j] = pf_encoder_value(e, j, f, first + i);
}
