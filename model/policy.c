/*
 * policy.c - policy files: strict loading, the rules' small helpers, and
 * the choice of the policy in force on a date (see policy.h).
 *
 * Loading checks everything a decision will rely on, so that pf_decide()
 * never meets an inconsistent policy: thresholds in order, every level or
 * track with its compensation row under every compensation model in use,
 * the compensation arithmetic of every row, each municipality in at most
 * one delivery area, codes that exist in the schema.
 */
#include "profil/policy.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/jsonkeys.h"

/* ---- loading ---- */

typedef struct loader {
    const char *path;
    const pf_schema *s;
    pf_error *err;
} loader;

static int bad(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(loader *L, const char *fmt, ...)
{
    char msg[PF_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pf_error_set(L->err, PF_EFORMAT, "%s: %s", L->path, msg);
}

static int keys(loader *L, const json_t *obj, const char *where, const char *const *allowed)
{
    if (!json_is_object(obj))
        return bad(L, "%s must be an object", where);
    return pf_json_check_keys(obj, allowed, L->path, where, PF_EFORMAT, L->err);
}

static int get_string(loader *L, const json_t *obj, const char *key, const char *where, char **out)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v || !*v)
        return bad(L, "%s: '%s' must be a non-empty string", where, key);
    if (!(*out = strdup(v)))
        return pf_error_set(L->err, PF_ENOMEM, "out of memory");
    return 0;
}

static int get_prob(loader *L, const json_t *obj, const char *key, const char *where, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) < 1))
        return bad(L, "%s: '%s' must be a probability strictly between 0 and 1", where, key);
    *out = json_number_value(v);
    return 0;
}

static int get_money(loader *L, const json_t *obj, const char *key, const char *where, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_number(v) || !(json_number_value(v) >= 0) || !isfinite(json_number_value(v)))
        return bad(L, "%s: '%s' must be a number >= 0", where, key);
    *out = json_number_value(v);
    return 0;
}

/* A list of groups [1..3] as a bit set. */
static int get_groups(loader *L, const json_t *obj, const char *where, uint8_t *out)
{
    json_t *a = json_object_get(obj, "groups");
    *out = 0;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return bad(L, "%s: 'groups' must be a non-empty array of group numbers 1-3", where);
    size_t k;
    json_t *g;
    json_array_foreach(a, k, g)
    {
        json_int_t v = json_is_integer(g) ? json_integer_value(g) : 0;
        if (v < 1 || v > 3)
            return bad(L, "%s: 'groups' must hold group numbers 1-3", where);
        *out |= (uint8_t) (1u << (v - 1));
    }
    return 0;
}

static int parse_condition(loader *L, const json_t *c, const char *where, pf_condition *out)
{
    static const char *const ck[] = {"column", "in", "min", "max", NULL};
    int rc;
    if ((rc = keys(L, c, where, ck)))
        return rc;
    const char *name = json_string_value(json_object_get(c, "column"));
    int col = name ? pf_schema_find(L->s, name) : -1;
    if (col < 0)
        return bad(L, "%s: 'column' %s%s%s is not a column of schema %s", where, name ? "'" : "",
                   name ? name : "(missing)", name ? "'" : "", L->s->name);
    const pf_column *sc = &L->s->cols[col];
    out->col = col;
    json_t *in = json_object_get(c, "in");
    json_t *mn = json_object_get(c, "min"), *mx = json_object_get(c, "max");
    if (sc->type == PF_TYPE_CATEGORY || sc->type == PF_TYPE_BOOLEAN) {
        if (mn || mx)
            return bad(L, "%s: column '%s' is a %s: use 'in', not 'min'/'max'", where, name,
                       pf_type_name(sc->type));
        if (!json_is_array(in) || json_array_size(in) == 0)
            return bad(L, "%s: 'in' must be a non-empty array of codes of '%s'", where, name);
        out->in = calloc((sc->nlevels + 63) / 64 + 1, sizeof *out->in);
        if (!out->in)
            return pf_error_set(L->err, PF_ENOMEM, "out of memory");
        size_t k;
        json_t *v;
        json_array_foreach(in, k, v)
        {
            const char *code = json_string_value(v);
            int32_t lev = code ? pf_schema_level(L->s, col, code, strlen(code)) : -1;
            if (lev < 0)
                return bad(L, "%s: '%s' is not a code of column '%s'", where, code ? code : "?",
                           name);
            out->in[lev / 64] |= UINT64_C(1) << (lev % 64);
        }
        return 0;
    }
    if (sc->type != PF_TYPE_INTEGER && sc->type != PF_TYPE_NUMBER)
        return bad(L, "%s: column '%s' is a string; conditions need a number or a category", where,
                   name);
    if (in)
        return bad(L, "%s: column '%s' is numeric: use 'min'/'max', not 'in'", where, name);
    if (!mn && !mx)
        return bad(L, "%s: a condition on '%s' needs 'min', 'max' or both", where, name);
    if ((mn && !json_is_number(mn)) || (mx && !json_is_number(mx)))
        return bad(L, "%s: 'min' and 'max' must be numbers", where);
    out->is_range = 1;
    out->min = mn ? json_number_value(mn) : -INFINITY;
    out->max = mx ? json_number_value(mx) : INFINITY;
    if (out->min > out->max)
        return bad(L, "%s: 'min' %g is above 'max' %g", where, out->min, out->max);
    return 0;
}

static int parse_clause(loader *L, const json_t *a, const char *where, pf_clause *out)
{
    if (!json_is_array(a) || json_array_size(a) == 0 ||
        json_array_size(a) > PF_POLICY_MAX_CONDITIONS)
        return bad(L, "%s: 'all' must be an array of 1 to %d conditions", where,
                   PF_POLICY_MAX_CONDITIONS);
    size_t k;
    json_t *c;
    json_array_foreach(a, k, c)
    {
        char w[256];
        snprintf(w, sizeof w, "%s condition %zu", where, k + 1);
        out->n = k + 1;
        int rc = parse_condition(L, c, w, &out->cond[k]);
        if (rc)
            return rc;
    }
    return 0;
}

static void clause_free(pf_clause *c)
{
    for (size_t k = 0; k < c->n; k++)
        free(c->cond[k].in);
    c->n = 0;
}

static int parse_dates(loader *L, const json_t *root, pf_policy *p)
{
    const char *from = json_string_value(json_object_get(root, "valid_from"));
    json_t *to = json_object_get(root, "valid_to");
    if (!from || pf_day_parse(from, &p->valid_from))
        return bad(L, "'valid_from' must be a date YYYY-MM-DD");
    p->valid_to = PF_DAY_NONE;
    if (!to)
        return bad(L, "'valid_to' must be a date YYYY-MM-DD or null (open)");
    if (!json_is_null(to) &&
        (!json_is_string(to) || pf_day_parse(json_string_value(to), &p->valid_to)))
        return bad(L, "'valid_to' must be a date YYYY-MM-DD or null (open)");
    if (p->valid_to < p->valid_from)
        return bad(L, "'valid_to' %s is before 'valid_from' %s", json_string_value(to), from);
    return 0;
}

static int parse_labels(loader *L, const json_t *obj, const char *where, char **label, int n)
{
    json_t *labels = json_object_get(obj, "labels");
    if (!json_is_object(labels) || json_object_size(labels) != (size_t) n)
        return bad(L, "%s: 'labels' must give a label for each of 1-%d", where, n);
    for (int k = 0; k < n; k++) {
        char key[4];
        snprintf(key, sizeof key, "%d", k + 1);
        const char *v = json_string_value(json_object_get(labels, key));
        if (!v || !*v)
            return bad(L, "%s: 'labels' has no label for \"%s\"", where, key);
        if (!(label[k] = strdup(v)))
            return pf_error_set(L->err, PF_ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_groups(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const gk[] = {"close_min_p", "far_below_p", "labels", NULL};
    json_t *g = json_object_get(root, "groups");
    int rc;
    if ((rc = keys(L, g, "groups", gk)) ||
        (rc = get_prob(L, g, "close_min_p", "groups", &p->close_min)) ||
        (rc = get_prob(L, g, "far_below_p", "groups", &p->far_below)) ||
        (rc = parse_labels(L, g, "groups", p->group_label, 3)))
        return rc;
    if (p->far_below > p->close_min)
        return bad(L, "groups: thresholds out of order: far_below_p %g is above close_min_p %g",
                   p->far_below, p->close_min);
    return 0;
}

static int parse_levels(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const lk[] = {"groups", "a_min_p", "b_min_p", NULL};
    json_t *l = json_object_get(root, "levels");
    if (!l)
        return 0;
    int rc;
    if ((rc = keys(L, l, "levels", lk)) || (rc = get_groups(L, l, "levels", &p->level_groups)) ||
        (rc = get_prob(L, l, "a_min_p", "levels", &p->level_a_min)) ||
        (rc = get_prob(L, l, "b_min_p", "levels", &p->level_b_min)))
        return rc;
    if (p->level_b_min > p->level_a_min)
        return bad(L, "levels: thresholds out of order: b_min_p %g is above a_min_p %g",
                   p->level_b_min, p->level_a_min);
    /* Level A is the closest to the labour market of the service's group 2:
     * its thresholds lie within that group's band. */
    if (p->level_groups == 2 && (p->level_b_min < p->far_below || p->level_a_min > p->close_min))
        return bad(L,
                   "levels: thresholds out of order: need far_below_p %g <= b_min_p %g <= "
                   "a_min_p %g <= close_min_p %g",
                   p->far_below, p->level_b_min, p->level_a_min, p->close_min);
    p->has_levels = 1;
    return 0;
}

static int parse_tracks(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const tk[] = {"groups", "enhanced_below_p", "language_support", "labels",
                                     NULL};
    json_t *t = json_object_get(root, "tracks");
    if (!t)
        return 0;
    int rc;
    if ((rc = keys(L, t, "tracks", tk)) || (rc = get_groups(L, t, "tracks", &p->track_groups)) ||
        (rc = get_prob(L, t, "enhanced_below_p", "tracks", &p->enhanced_below)) ||
        (rc = parse_clause(L, json_object_get(t, "language_support"), "tracks.language_support",
                           &p->language_support)) ||
        (rc = parse_labels(L, t, "tracks", p->track_label, 4)))
        return rc;
    if (p->enhanced_below > p->close_min)
        return bad(L,
                   "tracks: thresholds out of order: enhanced_below_p %g is above "
                   "groups.close_min_p %g",
                   p->enhanced_below, p->close_min);
    p->has_tracks = 1;
    return 0;
}

static int parse_target_groups(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const tk[] = {"code", "label", "all", NULL};
    json_t *a = json_object_get(root, "target_groups");
    if (!json_is_array(a) || json_array_size(a) > PF_POLICY_MAX_TARGET_GROUPS)
        return bad(L, "'target_groups' must be an array of at most %d groups",
                   PF_POLICY_MAX_TARGET_GROUPS);
    size_t n = json_array_size(a);
    if (n && !(p->target_groups = calloc(n, sizeof *p->target_groups)))
        return pf_error_set(L->err, PF_ENOMEM, "out of memory");
    size_t k;
    json_t *g;
    json_array_foreach(a, k, g)
    {
        char w[64];
        snprintf(w, sizeof w, "target_groups[%zu]", k + 1);
        pf_target_group *t = &p->target_groups[k];
        p->ntarget_groups = k + 1;
        int rc;
        if ((rc = keys(L, g, w, tk)) || (rc = get_string(L, g, "code", w, &t->code)) ||
            (rc = get_string(L, g, "label", w, &t->label)) ||
            (rc = parse_clause(L, json_object_get(g, "all"), w, &t->when)))
            return rc;
        for (size_t j = 0; j < k; j++)
            if (!strcmp(p->target_groups[j].code, t->code))
                return bad(L, "%s: code '%s' is given twice", w, t->code);
    }
    return 0;
}

static int parse_areas(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const dk[] = {"column", "areas", NULL};
    static const char *const ak[] = {"name", "compensation_model", "municipalities", NULL};
    json_t *d = json_object_get(root, "delivery_areas");
    p->area_col = -1;
    if (!d)
        return 0;
    int rc;
    if ((rc = keys(L, d, "delivery_areas", dk)))
        return rc;
    const char *cname = json_string_value(json_object_get(d, "column"));
    int col = cname ? pf_schema_find(L->s, cname) : -1;
    if (col < 0 || L->s->cols[col].type != PF_TYPE_CATEGORY)
        return bad(L, "delivery_areas: 'column' must name a category column of schema %s",
                   L->s->name);
    json_t *areas = json_object_get(d, "areas");
    if (!json_is_array(areas) || json_array_size(areas) == 0 || json_array_size(areas) > 1000)
        return bad(L, "delivery_areas: 'areas' must be a non-empty array");
    size_t nlev = L->s->cols[col].nlevels;
    p->area_col = col;
    p->areas = calloc(json_array_size(areas), sizeof *p->areas);
    p->area_of_level = malloc((nlev ? nlev : 1) * sizeof *p->area_of_level);
    if (!p->areas || !p->area_of_level)
        return pf_error_set(L->err, PF_ENOMEM, "out of memory");
    for (size_t k = 0; k < nlev; k++)
        p->area_of_level[k] = -1;
    size_t k;
    json_t *a;
    json_array_foreach(areas, k, a)
    {
        char w[64];
        snprintf(w, sizeof w, "delivery_areas.areas[%zu]", k + 1);
        pf_area *ar = &p->areas[k];
        p->nareas = k + 1;
        if ((rc = keys(L, a, w, ak)) || (rc = get_string(L, a, "name", w, &ar->name)))
            return rc;
        json_t *m = json_object_get(a, "compensation_model");
        if (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 9)
            return bad(L, "%s: 'compensation_model' must be an integer 1-9", w);
        ar->compensation_model = (int) json_integer_value(m);
        for (size_t j = 0; j < k; j++)
            if (!strcmp(p->areas[j].name, ar->name))
                return bad(L, "%s: area '%s' is given twice", w, ar->name);
        json_t *mun = json_object_get(a, "municipalities");
        if (!json_is_array(mun) || json_array_size(mun) == 0)
            return bad(L, "%s: 'municipalities' must be a non-empty array of codes", w);
        size_t i;
        json_t *c;
        json_array_foreach(mun, i, c)
        {
            const char *code = json_string_value(c);
            int32_t lev = code ? pf_schema_level(L->s, col, code, strlen(code)) : -1;
            if (lev < 0)
                return bad(L, "%s: '%s' is not a code of column '%s'", w, code ? code : "?", cname);
            if (p->area_of_level[lev] >= 0)
                return bad(L, "%s: %s '%s' is already in area '%s'", w, cname, code,
                           p->areas[p->area_of_level[lev]].name);
            p->area_of_level[lev] = (int16_t) k;
        }
    }
    return 0;
}

/* Equality for amounts in kronor: the tables hold whole kronor, and the
 * products involved are exact in double precision. */
static int same_amount(double a, double b)
{
    return fabs(a - b) < 0.005;
}

static int parse_compensation(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const ck[] = {
        "unit", "days_per_unit", "units_in_maximum", "speed_premium_units", "rows", NULL};
    static const char *const rk[] = {
        "level",    "track",      "model",         "per_day",
        "per_unit", "max_result", "speed_premium", "max_per_participant",
        NULL};
    json_t *c = json_object_get(root, "compensation");
    int rc;
    if ((rc = keys(L, c, "compensation", ck)) ||
        (rc = get_string(L, c, "unit", "compensation", &p->compensation_unit)))
        return rc;
    if (strcmp(p->compensation_unit, "month") && strcmp(p->compensation_unit, "period"))
        return bad(L, "compensation: 'unit' must be \"month\" or \"period\"");
    if ((rc = get_money(L, c, "days_per_unit", "compensation", &p->days_per_unit)) ||
        (rc = get_money(L, c, "units_in_maximum", "compensation", &p->units_in_maximum)))
        return rc;
    json_t *spu = json_object_get(c, "speed_premium_units");
    if (!spu || json_is_null(spu))
        p->speed_premium_units = NAN;
    else if ((rc = get_money(L, c, "speed_premium_units", "compensation", &p->speed_premium_units)))
        return rc;
    json_t *rows = json_object_get(c, "rows");
    if (!json_is_array(rows) || json_array_size(rows) == 0 || json_array_size(rows) > 256)
        return bad(L, "compensation: 'rows' must be a non-empty array");
    p->compensation = calloc(json_array_size(rows), sizeof *p->compensation);
    if (!p->compensation)
        return pf_error_set(L->err, PF_ENOMEM, "out of memory");
    size_t k;
    json_t *r;
    json_array_foreach(rows, k, r)
    {
        char w[64];
        snprintf(w, sizeof w, "compensation.rows[%zu]", k + 1);
        pf_compensation *x = &p->compensation[k];
        p->ncompensation = k + 1;
        if ((rc = keys(L, r, w, rk)))
            return rc;
        const char *lev = json_string_value(json_object_get(r, "level"));
        json_t *tr = json_object_get(r, "track");
        json_t *mo = json_object_get(r, "model");
        if (lev) {
            if (strlen(lev) != 1 || lev[0] < 'A' || lev[0] > 'C' || tr)
                return bad(L, "%s: 'level' must be \"A\", \"B\" or \"C\" (and no 'track')", w);
            x->level = lev[0];
        } else if (json_is_integer(tr) && json_integer_value(tr) >= 1 &&
                   json_integer_value(tr) <= 4) {
            x->track = (int) json_integer_value(tr);
        } else {
            return bad(L, "%s: a row needs 'level' (A-C) or 'track' (1-4)", w);
        }
        if (mo &&
            (!json_is_integer(mo) || json_integer_value(mo) < 1 || json_integer_value(mo) > 9))
            return bad(L, "%s: 'model' must be an integer 1-9", w);
        x->model = mo ? (int) json_integer_value(mo) : 0;
        if ((rc = get_money(L, r, "per_day", w, &x->per_day)) ||
            (rc = get_money(L, r, "per_unit", w, &x->per_unit)) ||
            (rc = get_money(L, r, "max_result", w, &x->max_result)) ||
            (rc = get_money(L, r, "max_per_participant", w, &x->max_per_participant)))
            return rc;
        if (isnan(p->speed_premium_units)) {
            if (json_object_get(r, "speed_premium"))
                return bad(L, "%s: 'speed_premium' given but the service has none", w);
            x->speed_premium = NAN;
        } else if ((rc = get_money(L, r, "speed_premium", w, &x->speed_premium))) {
            return rc;
        }
        /* The arithmetic of the published tables, checked row by row. */
        if (!same_amount(x->per_unit, x->per_day * p->days_per_unit))
            return bad(L, "%s: per_unit %g is not per_day %g x days_per_unit %g", w, x->per_unit,
                       x->per_day, p->days_per_unit);
        if (!isnan(x->speed_premium) &&
            !same_amount(x->speed_premium, x->per_unit * p->speed_premium_units))
            return bad(L, "%s: speed_premium %g is not per_unit %g x speed_premium_units %g", w,
                       x->speed_premium, x->per_unit, p->speed_premium_units);
        if (!same_amount(x->max_per_participant, x->per_unit * p->units_in_maximum + x->max_result))
            return bad(L,
                       "%s: max_per_participant %g is not per_unit %g x units_in_maximum %g + "
                       "max_result %g",
                       w, x->max_per_participant, x->per_unit, p->units_in_maximum, x->max_result);
        for (size_t j = 0; j < k; j++) {
            const pf_compensation *y = &p->compensation[j];
            if (y->level == x->level && y->track == x->track && y->model == x->model)
                return bad(L, "%s: the same level or track and model as row %zu", w, j + 1);
        }
    }
    return 0;
}

/* Every level or track the policy can assign has a compensation row under
 * every compensation model a delivery area uses. */
static int check_tables(loader *L, pf_policy *p)
{
    int models[16], nmodels = 0;
    for (size_t a = 0; a < p->nareas; a++) {
        int m = p->areas[a].compensation_model, seen = 0;
        for (int k = 0; k < nmodels; k++)
            seen |= models[k] == m;
        if (!seen && nmodels < 16)
            models[nmodels++] = m;
    }
    if (nmodels == 0)
        models[nmodels++] = 0;
    for (int k = 0; k < nmodels; k++) {
        if (p->has_levels)
            for (char lev = 'A'; lev <= 'C'; lev++)
                if (!pf_policy_compensation(p, lev, 0, models[k]))
                    return bad(L, "compensation: no row for level %c under model %d", lev,
                               models[k]);
        if (p->has_tracks)
            for (int t = 1; t <= 4; t++)
                if (!pf_policy_compensation(p, 0, t, models[k]))
                    return bad(L, "compensation: no row for track %d%s", t,
                               models[k] ? " under the areas' model" : "");
    }
    for (size_t k = 0; k < p->ncompensation; k++) {
        const pf_compensation *x = &p->compensation[k];
        if ((x->level && !p->has_levels) || (x->track && !p->has_tracks))
            return bad(L, "compensation.rows[%zu]: a %s row, but the policy has no %s", k + 1,
                       x->level ? "level" : "track", x->level ? "levels" : "tracks");
        if (x->model && p->area_col < 0)
            return bad(L,
                       "compensation.rows[%zu]: 'model' given but the policy has no "
                       "delivery areas",
                       k + 1);
    }
    return 0;
}

static int parse_rules(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const rk[] = {"rule", "code", "reason", "groups", "all", NULL};
    json_t *a = json_object_get(root, "eligibility");
    if (!json_is_array(a) || json_array_size(a) > PF_POLICY_MAX_RULES)
        return bad(L, "'eligibility' must be an array of at most %d rules", PF_POLICY_MAX_RULES);
    if (json_array_size(a) && !(p->rules = calloc(json_array_size(a), sizeof *p->rules)))
        return pf_error_set(L->err, PF_ENOMEM, "out of memory");
    size_t k;
    json_t *r;
    json_array_foreach(a, k, r)
    {
        char w[64];
        snprintf(w, sizeof w, "eligibility[%zu]", k + 1);
        pf_policy_rule *x = &p->rules[k];
        p->nrules = k + 1;
        int rc;
        if ((rc = keys(L, r, w, rk)) || (rc = get_string(L, r, "code", w, &x->code)) ||
            (rc = get_string(L, r, "reason", w, &x->reason)))
            return rc;
        for (size_t j = 0; j < k; j++)
            if (!strcmp(p->rules[j].code, x->code))
                return bad(L, "%s: code '%s' is given twice", w, x->code);
        const char *kind = json_string_value(json_object_get(r, "rule"));
        int has_groups = json_object_get(r, "groups") != NULL;
        int has_all = json_object_get(r, "all") != NULL;
        if (kind && !strcmp(kind, "delivery_area")) {
            x->kind = PF_POLICY_RULE_AREA;
            if (p->area_col < 0)
                return bad(L, "%s: a delivery_area rule, but the policy has no delivery_areas", w);
            if (has_groups || has_all)
                return bad(L, "%s: a delivery_area rule takes no 'groups' or 'all'", w);
        } else if (kind && !strcmp(kind, "group")) {
            x->kind = PF_POLICY_RULE_GROUP;
            if (has_all)
                return bad(L, "%s: a group rule takes 'groups', not 'all'", w);
            if ((rc = get_groups(L, r, w, &x->groups)))
                return rc;
        } else if (kind && !strcmp(kind, "condition")) {
            x->kind = PF_POLICY_RULE_CONDITION;
            if (has_groups)
                return bad(L, "%s: a condition rule takes 'all', not 'groups'", w);
            if ((rc = parse_clause(L, json_object_get(r, "all"), w, &x->when)))
                return rc;
        } else {
            return bad(L, "%s: 'rule' must be \"delivery_area\", \"group\" or \"condition\"", w);
        }
    }
    return 0;
}

static int parse_policy(loader *L, const json_t *root, pf_policy *p)
{
    static const char *const top[] = {
        "format",        "name",           "version",      "title",       "service", "valid_from",
        "valid_to",      "schema",         "sources",      "groups",      "levels",  "tracks",
        "target_groups", "delivery_areas", "compensation", "eligibility", NULL};
    int rc;
    if ((rc = keys(L, root, "policy", top)))
        return rc;
    const char *format = json_string_value(json_object_get(root, "format"));
    if (!format || strcmp(format, PF_POLICY_FORMAT))
        return bad(L, "not a policy file (format must be \"" PF_POLICY_FORMAT "\")");
    if ((rc = get_string(L, root, "name", "policy", &p->name)) ||
        (rc = get_string(L, root, "version", "policy", &p->version)) ||
        (rc = get_string(L, root, "title", "policy", &p->title)) ||
        (rc = get_string(L, root, "service", "policy", &p->service)))
        return rc;
    const char *schema = json_string_value(json_object_get(root, "schema"));
    if (!schema || strcmp(schema, L->s->name))
        return pf_error_set(L->err, PF_EINVAL, "%s: the policy is for schema '%s', not '%s'",
                            L->path, schema ? schema : "(none)", L->s->name);
    json_t *sources = json_object_get(root, "sources");
    if (sources && !json_is_array(sources))
        return bad(L, "'sources' must be an array of strings");
    for (size_t k = 0; k < json_array_size(sources); k++)
        if (!json_is_string(json_array_get(sources, k)))
            return bad(L, "'sources' must be an array of strings (entry %zu is not)", k + 1);
    if ((rc = parse_dates(L, root, p)) || (rc = parse_groups(L, root, p)) ||
        (rc = parse_levels(L, root, p)) || (rc = parse_tracks(L, root, p)))
        return rc;
    if (p->has_levels == p->has_tracks)
        return bad(L, "a policy has either 'levels' (Rusta och matcha) or 'tracks' (Stöd och "
                      "matchning)");
    if ((rc = parse_target_groups(L, root, p)) || (rc = parse_areas(L, root, p)) ||
        (rc = parse_compensation(L, root, p)) || (rc = check_tables(L, p)) ||
        (rc = parse_rules(L, root, p)))
        return rc;
    return 0;
}

/* Builds the policy from a parsed document; name is its path, hex its id. */
static int policy_from_json(pf_policy **out, const char *name, json_t *root, const char *hex,
                            const pf_schema *s, pf_error *err)
{
    pf_policy *p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(name))) {
        free(p);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    p->schema = s;
    p->area_col = -1;
    snprintf(p->sha256, sizeof p->sha256, "%s", hex);
    loader L = {name, s, err};
    int rc = parse_policy(&L, root, p);
    if (rc) {
        pf_policy_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int pf_policy_load(pf_policy **out, const char *path, const pf_schema *s, pf_error *err)
{
    *out = NULL;
    json_t *root;
    char hex[PF_SHA256_HEX];
    int rc = pf_json_load_file(path, PF_EFORMAT, PF_EIO, &root, hex, err);
    if (!rc)
        rc = policy_from_json(out, path, root, hex, s, err);
    json_decref(root);
    return rc;
}

int pf_policy_load_text(pf_policy **out, const char *text, size_t n, const char *name,
                        const pf_schema *s, pf_error *err)
{
    *out = NULL;
    json_t *root;
    char hex[PF_SHA256_HEX];
    int rc = pf_json_load_buffer(text, n, name, PF_EFORMAT, &root, hex, err);
    if (!rc)
        rc = policy_from_json(out, name, root, hex, s, err);
    json_decref(root);
    return rc;
}

void pf_policy_free(pf_policy *p)
{
    if (!p)
        return;
    for (size_t k = 0; k < p->ntarget_groups; k++) {
        free(p->target_groups[k].code);
        free(p->target_groups[k].label);
        clause_free(&p->target_groups[k].when);
    }
    free(p->target_groups);
    for (size_t k = 0; k < p->nrules; k++) {
        free(p->rules[k].code);
        free(p->rules[k].reason);
        clause_free(&p->rules[k].when);
    }
    free(p->rules);
    for (size_t k = 0; k < p->nareas; k++)
        free(p->areas[k].name);
    free(p->areas);
    free(p->area_of_level);
    for (int k = 0; k < 3; k++)
        free(p->group_label[k]);
    for (int k = 0; k < 4; k++)
        free(p->track_label[k]);
    clause_free(&p->language_support);
    free(p->compensation);
    free(p->compensation_unit);
    free(p->path);
    free(p->name);
    free(p->version);
    free(p->title);
    free(p->service);
    free(p);
}

/* ---- rules ---- */

int pf_policy_in_force(const pf_policy *p, pf_day d)
{
    return d >= p->valid_from && d <= p->valid_to;
}

int pf_policy_group(const pf_policy *p, double prob)
{
    if (prob >= p->close_min)
        return 1;
    if (prob < p->far_below)
        return 3;
    return 2;
}

int pf_clause_holds(const pf_clause *c, const pf_frame *f, size_t i)
{
    for (size_t k = 0; k < c->n; k++) {
        const pf_condition *x = &c->cond[k];
        if (x->is_range) {
            double v = f->col[x->col].num[i]; /* NaN (missing) fails both tests */
            if (!(v >= x->min && v <= x->max))
                return 0;
        } else {
            int32_t lev = f->col[x->col].cat[i];
            if (lev < 0 || !(x->in[lev / 64] >> (lev % 64) & 1))
                return 0;
        }
    }
    return 1;
}

const pf_compensation *pf_policy_compensation(const pf_policy *p, char level, int track, int model)
{
    const pf_compensation *any = NULL;
    for (size_t k = 0; k < p->ncompensation; k++) {
        const pf_compensation *x = &p->compensation[k];
        if (x->level != level || x->track != track)
            continue;
        if (x->model == model)
            return x;
        if (x->model == 0)
            any = x;
    }
    return any;
}

/* ---- sets ---- */

static int cmp_policy(const void *a, const void *b)
{
    const pf_policy *x = *(pf_policy *const *) a, *y = *(pf_policy *const *) b;
    int c = strcmp(x->service, y->service);
    if (c)
        return c;
    return (x->valid_from > y->valid_from) - (x->valid_from < y->valid_from);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

void pf_policy_set_free(pf_policy_set *set)
{
    if (!set)
        return;
    for (size_t k = 0; k < set->n; k++)
        pf_policy_free(set->policy[k]);
    free(set->policy);
    free(set);
}

int pf_policy_set_load(pf_policy_set **out, const char *dir, const pf_schema *s, pf_error *err)
{
    *out = NULL;
    DIR *dp = opendir(dir);
    if (!dp)
        return pf_error_set(err, PF_EIO, "%s: cannot open the policy directory", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") || de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(dp);
    pf_policy_set *set = NULL;
    if (!rc && n == 0)
        rc = pf_error_set(err, PF_ENOTFOUND, "%s: no policy files (*.json)", dir);
    if (!rc && (!(set = calloc(1, sizeof *set)) || !(set->policy = calloc(n, sizeof *set->policy))))
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    if (!rc) {
        qsort(names, n, sizeof *names, cmp_name);
        for (size_t k = 0; k < n && !rc; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, names[k]);
            rc = pf_policy_load(&set->policy[set->n], path, s, err);
            if (!rc)
                set->n++;
        }
    }
    if (!rc) {
        qsort(set->policy, set->n, sizeof *set->policy, cmp_policy);
        for (size_t k = 1; k < set->n && !rc; k++) {
            const pf_policy *a = set->policy[k - 1], *b = set->policy[k];
            if (!strcmp(a->service, b->service) && b->valid_from <= a->valid_to) {
                char d[11];
                pf_day_format(b->valid_from, d);
                rc = pf_error_set(err, PF_EFORMAT,
                                  "%s and %s: overlapping date ranges: both are in force for "
                                  "%s on %s",
                                  a->path, b->path, a->service, d);
            }
        }
        /* Names must be unique across services too. */
        for (size_t k = 0; k < set->n && !rc; k++)
            for (size_t j = k + 1; j < set->n && !rc; j++)
                if (!strcmp(set->policy[k]->name, set->policy[j]->name))
                    rc = pf_error_set(err, PF_EFORMAT, "%s and %s: both are named '%s'",
                                      set->policy[k]->path, set->policy[j]->path,
                                      set->policy[k]->name);
    }
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    if (rc) {
        pf_policy_set_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

int pf_policy_set_select(const pf_policy_set *set, const char *service, pf_day d,
                         const pf_policy **out, pf_error *err)
{
    *out = NULL;
    const pf_policy *found = NULL;
    char list[512] = "";
    size_t nfound = 0;
    for (size_t k = 0; k < set->n; k++) {
        const pf_policy *p = set->policy[k];
        if ((service && strcmp(service, p->service)) || !pf_policy_in_force(p, d))
            continue;
        nfound++;
        found = p;
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s (%s)", len ? ", " : "", p->name, p->service);
    }
    char day[11];
    pf_day_format(d, day);
    if (nfound == 0) {
        char known[512] = "";
        for (size_t k = 0; k < set->n; k++) {
            const pf_policy *p = set->policy[k];
            char a[11], b[11];
            pf_day_format(p->valid_from, a);
            pf_day_format(p->valid_to, b);
            size_t len = strlen(known);
            snprintf(known + len, sizeof known - len, "%s%s %s..%s", len ? ", " : "", p->name, a,
                     b);
        }
        return pf_error_set(err, PF_ENOTFOUND, "no %s%spolicy is in force on %s (%s)",
                            service ? service : "", service ? " " : "", day, known);
    }
    if (nfound > 1)
        return pf_error_set(err, PF_EINVAL, "%zu policies are in force on %s: %s; choose a service",
                            nfound, day, list);
    *out = found;
    return 0;
}

pf_policy *pf_policy_set_take(pf_policy_set *set, const pf_policy *p)
{
    for (size_t k = 0; k < set->n; k++)
        if (set->policy[k] == p) {
            pf_policy *taken = set->policy[k];
            memmove(set->policy + k, set->policy + k + 1, (set->n - k - 1) * sizeof *set->policy);
            set->n--;
            return taken;
        }
    return NULL;
}
