/*
 * eval_cmd.c - `profil eval`: how well and how fairly a model and a policy
 * assign a labelled population.
 *
 * The flow: reader → prefetched frames → pf_decide (the one scoring
 * function: no rule is applied here) → per row p, the outcome and the
 * decision, plus each row's group in every fairness dimension → the tables
 * (evaltab.h) → an output folder: eval.json with everything, one CSV per
 * table, and the rejects. Discrimination and calibration come from
 * model/metrics.c, overall and per group.
 *
 * Every table is computed on one thread in input order, so the output is
 * the same bytes on every run; nothing in it depends on time or on thread
 * scheduling (the reading thread only hands over frames in order).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "evaltab.h"
#include "profil/decide.h"
#include "profil/hash.h"
#include "profil/metrics.h"
#include "profil/model.h"
#include "profil/outfile.h"
#include "profil/policy.h"
#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/schema.h"

#define CHUNK_ROWS 8192
#define HIST_BINS  50 /* score histograms: bins of width 0.02 */
#define MAX_DIMS   32
#define MAX_BANDS  16

static const char *const cmd = "eval";

static const char *const default_dims =
    "kon,fodelseregion,aldersgrupp,funktionsnedsattning,nedsatt_arbetsformaga,utbildningsniva,"
    "kommunkod,leveransomrade";

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil eval -o DIR [OPTIONS] [FILE]\n"
            "\n"
            "Evaluate a model and a policy on a labelled population (CSV or CSV.gz; '-' or\n"
            "none for standard input): every row is decided with pf_decide as 'profil\n"
            "score' does and compared with its outcome. Writes into DIR: eval.json (all\n"
            "results), metrics.csv, calibration.csv, roc.csv, decisions.csv, fairness.csv,\n"
            "score_hist.csv and rejects.csv (docs/eval.md).\n"
            "\n"
            "Options:\n"
            "  -o, --output DIR          output folder (created when missing)\n"
            "  -m, --model FILE          model (default: the bundled %s)\n"
            "  -p, --policy FILE|NAME    policy file or bundled name (krom-2020, ...)\n"
            "  -d, --date YYYY-MM-DD     use the policy in force on this day (default: today)\n"
            "      --service S           %s (default) or stod_och_matchning\n"
            "      --policy-dir DIR      where --date looks (default: the bundled policies)\n"
            "  -s, --schema FILE         schema (default: the bundled one)\n"
            "  -l, --label COL           outcome column (default: the model's label)\n"
            "      --by LIST             fairness dimensions, comma-separated: category or\n"
            "                            boolean columns, 'aldersgrupp' (age bands) and\n"
            "                            'leveransomrade' (the policy's delivery areas)\n"
            "                            (default: %s)\n"
            "      --age-bands LIST      lower ends of the age bands after the first\n"
            "                            (default 25,35,45,55,65)\n"
            "      --bins K              groups of the calibration table (default 10)\n"
            "  -r, --rejects FILE        rejected rows (default: DIR/rejects.csv)\n"
            "      --max-reject-rate R   fail when more than this share of rows is rejected\n"
            "                            (default 0.01)\n"
            "  -q, --quiet               print no summary\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show version information and exit\n"
            "\n"
            "Exit status: 0 success; 1 failure (an input error, too many rejected rows, no\n"
            "labelled row): no table is left under its final name; 2 usage or setup error.\n",
            PF_DEFAULT_MODEL, PF_DEFAULT_SERVICE, default_dims);
}

/* ---- fairness dimensions ---- */

enum { DIM_COLUMN, DIM_AGE, DIM_AREA };

typedef struct dim {
    char *name;
    const char *label; /* Swedish */
    int kind;
    int col; /* DIM_COLUMN, DIM_AGE: the schema column */
    size_t ngroups;
    char **code; /* ngroups codes; "" for missing / outside the areas */
    char **glabel;
    uint16_t *key; /* per evaluated row: its group */
} dim;

typedef struct eval_opts {
    const char *model, *schema, *outdir, *rejects, *label, *by, *input;
    pf_cli_policy_choice policy;
    double bands[MAX_BANDS];
    size_t nbands;
    size_t bins;
    double max_reject_rate;
    int quiet;
} eval_opts;

/* The rows, as parallel arrays in input order. */
typedef struct rows {
    size_t n, cap;
    double *p, *y;
    int8_t *group, *track;
    char *level;
    int16_t *failed;
    uint32_t *target;
    int16_t *area;
    dim *dims;
    size_t ndims;
} rows;

static int grow(void **p, size_t size, size_t cap)
{
    void *q = realloc(*p, size * cap);
    if (!q)
        return -1;
    *p = q;
    return 0;
}

static int rows_reserve(rows *r, size_t need)
{
    if (need <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap : 65536;
    while (cap < need)
        cap *= 2;
    if (grow((void **) &r->p, sizeof *r->p, cap) || grow((void **) &r->y, sizeof *r->y, cap) ||
        grow((void **) &r->group, 1, cap) || grow((void **) &r->track, 1, cap) ||
        grow((void **) &r->level, 1, cap) || grow((void **) &r->failed, 2, cap) ||
        grow((void **) &r->target, 4, cap) || grow((void **) &r->area, 2, cap))
        return -1;
    for (size_t d = 0; d < r->ndims; d++)
        if (grow((void **) &r->dims[d].key, 2, cap))
            return -1;
    r->cap = cap;
    return 0;
}

static void rows_free(rows *r)
{
    free(r->p), free(r->y), free(r->group), free(r->track), free(r->level);
    free(r->failed), free(r->target), free(r->area);
    for (size_t d = 0; d < r->ndims; d++) {
        dim *x = &r->dims[d];
        for (size_t g = 0; g < x->ngroups; g++)
            free(x->code[g]), free(x->glabel[g]);
        free(x->code), free(x->glabel), free(x->key), free(x->name);
    }
    free(r->dims);
}

static int dim_groups(dim *x, size_t n)
{
    x->ngroups = n;
    x->code = calloc(n, sizeof *x->code);
    x->glabel = calloc(n, sizeof *x->glabel);
    return x->code && x->glabel ? 0 : -1;
}

static int dim_set(dim *x, size_t g, const char *code, const char *label)
{
    x->code[g] = strdup(code);
    x->glabel[g] = strdup(label);
    return x->code[g] && x->glabel[g] ? 0 : -1;
}

/* Sets up one dimension by name. Returns 0, 1 when it does not apply (and
 * was only a default), or -1 with a message. */
static int dim_init(dim *x, const char *name, const pf_schema *s, const pf_policy *pol,
                    const eval_opts *o, int explicit_, char *why, size_t whyn)
{
    memset(x, 0, sizeof *x);
    if (!(x->name = strdup(name)))
        return snprintf(why, whyn, "out of memory"), -1;
    if (!strcmp(name, "leveransomrade")) {
        if (pol->nareas == 0) {
            snprintf(why, whyn, "--by leveransomrade: policy %s has no delivery areas", pol->name);
            return explicit_ ? -1 : 1;
        }
        x->kind = DIM_AREA;
        x->label = "Leveransområde";
        x->col = pol->area_col;
        if (dim_groups(x, pol->nareas + 1))
            return snprintf(why, whyn, "out of memory"), -1;
        for (size_t a = 0; a < pol->nareas; a++)
            if (dim_set(x, a, pol->areas[a].name, pol->areas[a].name))
                return snprintf(why, whyn, "out of memory"), -1;
        if (dim_set(x, pol->nareas, "", "utanför leveransområdena"))
            return snprintf(why, whyn, "out of memory"), -1;
        return 0;
    }
    if (!strcmp(name, "aldersgrupp")) {
        int c = pf_schema_find(s, "alder");
        if (c < 0 || s->cols[c].type != PF_TYPE_INTEGER) {
            snprintf(why, whyn, "--by aldersgrupp: the schema has no integer column 'alder'");
            return explicit_ ? -1 : 1;
        }
        x->kind = DIM_AGE;
        x->label = "Åldersgrupp";
        x->col = c;
        if (dim_groups(x, o->nbands + 2))
            return snprintf(why, whyn, "out of memory"), -1;
        double lo = isfinite(s->cols[c].min) ? s->cols[c].min : 0;
        double top = isfinite(s->cols[c].max) ? s->cols[c].max : -1;
        for (size_t b = 0; b <= o->nbands; b++) {
            double from = b ? o->bands[b - 1] : lo;
            char code[64], label[80];
            if (b < o->nbands)
                snprintf(code, sizeof code, "%.0f-%.0f", from, o->bands[b] - 1);
            else if (top >= from)
                snprintf(code, sizeof code, "%.0f-%.0f", from, top);
            else
                snprintf(code, sizeof code, "%.0f-", from);
            snprintf(label, sizeof label, "%s år", code);
            if (dim_set(x, b, code, label))
                return snprintf(why, whyn, "out of memory"), -1;
        }
        if (dim_set(x, o->nbands + 1, "", "uppgift saknas"))
            return snprintf(why, whyn, "out of memory"), -1;
        return 0;
    }
    int c = pf_schema_find(s, name);
    if (c < 0) {
        snprintf(why, whyn, "--by: no column '%s' in schema %s", name, s->name);
        return explicit_ ? -1 : 1;
    }
    const pf_column *col = &s->cols[c];
    if (col->type != PF_TYPE_CATEGORY && col->type != PF_TYPE_BOOLEAN) {
        snprintf(why, whyn, "--by %s: a %s column; dimensions are category or boolean columns",
                 name, pf_type_name(col->type));
        return -1;
    }
    if (col->role == PF_ROLE_ID || col->role == PF_ROLE_LABEL) {
        snprintf(why, whyn, "--by %s: an %s column cannot be a dimension", name,
                 pf_role_name(col->role));
        return -1;
    }
    if (col->nlevels >= UINT16_MAX) {
        snprintf(why, whyn, "--by %s: too many levels (%zu)", name, col->nlevels);
        return -1;
    }
    x->kind = DIM_COLUMN;
    x->label = col->label;
    x->col = c;
    if (dim_groups(x, col->nlevels + 1))
        return snprintf(why, whyn, "out of memory"), -1;
    for (size_t k = 0; k < col->nlevels; k++)
        if (dim_set(x, k, col->levels[k].code,
                    col->levels[k].label ? col->levels[k].label : col->levels[k].code))
            return snprintf(why, whyn, "out of memory"), -1;
    if (dim_set(x, col->nlevels, "", "uppgift saknas"))
        return snprintf(why, whyn, "out of memory"), -1;
    return 0;
}

static uint16_t dim_key(const dim *x, const eval_opts *o, const pf_frame *f, size_t i,
                        const pf_decision *dx)
{
    if (x->kind == DIM_AREA)
        return (uint16_t) (dx->area >= 0 ? (size_t) dx->area : x->ngroups - 1);
    if (x->kind == DIM_AGE) {
        double a = f->col[x->col].num[i];
        if (isnan(a))
            return (uint16_t) (x->ngroups - 1);
        size_t b = 0;
        while (b < o->nbands && a >= o->bands[b])
            b++;
        return (uint16_t) b;
    }
    int32_t lv = f->col[x->col].cat[i];
    return (uint16_t) (lv >= 0 ? (size_t) lv : x->ngroups - 1);
}

/* ---- counting ---- */

/* Rows of one cell: count, outcomes, sum of p. */
typedef struct cell {
    int64_t n, pos;
    double sum_p;
} cell;

static void cell_add(cell *c, double p, double y)
{
    c->n++;
    c->pos += y > 0.5;
    c->sum_p += p;
}

/* The common columns of a cell: n, share, outcomes, rate and its interval,
 * mean p, observed minus expected. */
static void cell_json(json_t *o, const cell *c, int64_t total)
{
    double rate = c->n ? (double) c->pos / (double) c->n : NAN;
    double lo = NAN, hi = NAN;
    if (c->n)
        pf_metrics_wilson(rate, (double) c->n, &lo, &hi);
    double mp = c->n ? c->sum_p / (double) c->n : NAN;
    json_object_set_new(o, "n", json_integer(c->n));
    json_object_set_new(o, "share", pf_evaltab_ratio((double) c->n, (double) total));
    json_object_set_new(o, "outcomes", json_integer(c->pos));
    json_object_set_new(o, "rate", pf_evaltab_real(rate));
    json_object_set_new(o, "rate_lo", pf_evaltab_real(lo));
    json_object_set_new(o, "rate_hi", pf_evaltab_real(hi));
    json_object_set_new(o, "mean_p", pf_evaltab_real(mp));
    json_object_set_new(o, "o_minus_e", pf_evaltab_real(rate - mp));
}

static const char *const decisions_cols[] = {"kind",    "code",     "label",     "n",
                                             "share",   "outcomes", "rate",      "rate_lo",
                                             "rate_hi", "mean_p",   "o_minus_e", NULL};

static int decision_row(pf_evaltab *t, const char *kind, const char *code, const char *label,
                        const cell *c, int64_t total, pf_error *err)
{
    json_t *o = json_pack("{s:s,s:s,s:s}", "kind", kind, "code", code, "label", label);
    if (o)
        cell_json(o, c, total);
    return pf_evaltab_add(t, o, err);
}

static int decisions_table(pf_evaltab *t, const rows *r, const pf_policy *pol, pf_error *err)
{
    cell grp[4] = {{0}}, lvl[4] = {{0}}, trk[5] = {{0}}, elig = {0};
    cell failed[PF_POLICY_MAX_RULES] = {{0}}, target[PF_POLICY_MAX_TARGET_GROUPS] = {{0}};
    for (size_t i = 0; i < r->n; i++) {
        double p = r->p[i], y = r->y[i];
        cell_add(&grp[r->group[i]], p, y);
        if (r->level[i])
            cell_add(&lvl[r->level[i] - 'A' + 1], p, y);
        if (r->track[i])
            cell_add(&trk[r->track[i]], p, y);
        cell_add(r->failed[i] < 0 ? &elig : &failed[r->failed[i]], p, y);
        for (size_t k = 0; k < pol->ntarget_groups; k++)
            if (r->target[i] >> k & 1)
                cell_add(&target[k], p, y);
    }
    int64_t n = (int64_t) r->n;
    int rc = 0;
    char code[16];
    for (int g = 1; g <= 3 && !rc; g++) {
        snprintf(code, sizeof code, "%d", g);
        rc = decision_row(t, "grupp", code, pol->group_label[g - 1], &grp[g], n, err);
    }
    if (pol->has_levels)
        for (int l = 1; l <= 3 && !rc; l++) {
            snprintf(code, sizeof code, "%c", 'A' + l - 1);
            char label[32];
            snprintf(label, sizeof label, "nivå %c", 'A' + l - 1);
            rc = decision_row(t, "niva", code, label, &lvl[l], n, err);
        }
    if (pol->has_tracks)
        for (int k = 1; k <= 4 && !rc; k++) {
            snprintf(code, sizeof code, "%d", k);
            rc = decision_row(t, "spar", code, pol->track_label[k - 1], &trk[k], n, err);
        }
    if (!rc)
        rc = decision_row(t, "behorighet", "behorig", "uppfyller alla villkor", &elig, n, err);
    for (size_t k = 0; k < pol->nrules && !rc; k++)
        rc = decision_row(t, "behorighet", pol->rules[k].code, pol->rules[k].reason, &failed[k], n,
                          err);
    for (size_t k = 0; k < pol->ntarget_groups && !rc; k++)
        rc = decision_row(t, "malgrupp", pol->target_groups[k].code, pol->target_groups[k].label,
                          &target[k], n, err);
    return rc;
}

/* ---- fairness ---- */

static const char *const fair_cols_levels[] = {"dimension",
                                               "group",
                                               "label",
                                               "n",
                                               "share",
                                               "grupp_1",
                                               "grupp_2",
                                               "grupp_3",
                                               "niva_A",
                                               "niva_B",
                                               "niva_C",
                                               "eligible",
                                               "outcomes",
                                               "rate",
                                               "rate_lo",
                                               "rate_hi",
                                               "mean_p",
                                               "o_minus_e",
                                               "calib_intercept",
                                               "calib_intercept_se",
                                               "auc",
                                               "auc_lo",
                                               "auc_hi",
                                               "log_loss",
                                               "brier",
                                               "n_pos",
                                               "n_neg",
                                               "fpr_at_close_min_p",
                                               "fnr_at_close_min_p",
                                               "fpr_at_far_below_p",
                                               "fnr_at_far_below_p",
                                               NULL};
static const char *const fair_cols_tracks[] = {"dimension",
                                               "group",
                                               "label",
                                               "n",
                                               "share",
                                               "grupp_1",
                                               "grupp_2",
                                               "grupp_3",
                                               "spar_1",
                                               "spar_2",
                                               "spar_3",
                                               "spar_4",
                                               "eligible",
                                               "outcomes",
                                               "rate",
                                               "rate_lo",
                                               "rate_hi",
                                               "mean_p",
                                               "o_minus_e",
                                               "calib_intercept",
                                               "calib_intercept_se",
                                               "auc",
                                               "auc_lo",
                                               "auc_hi",
                                               "log_loss",
                                               "brier",
                                               "n_pos",
                                               "n_neg",
                                               "fpr_at_close_min_p",
                                               "fnr_at_close_min_p",
                                               "fpr_at_far_below_p",
                                               "fnr_at_far_below_p",
                                               NULL};
static const char *const fair_cols_plain[] = {"dimension",
                                              "group",
                                              "label",
                                              "n",
                                              "share",
                                              "grupp_1",
                                              "grupp_2",
                                              "grupp_3",
                                              "eligible",
                                              "outcomes",
                                              "rate",
                                              "rate_lo",
                                              "rate_hi",
                                              "mean_p",
                                              "o_minus_e",
                                              "calib_intercept",
                                              "calib_intercept_se",
                                              "auc",
                                              "auc_lo",
                                              "auc_hi",
                                              "log_loss",
                                              "brier",
                                              "n_pos",
                                              "n_neg",
                                              "fpr_at_close_min_p",
                                              "fnr_at_close_min_p",
                                              "fpr_at_far_below_p",
                                              "fnr_at_far_below_p",
                                              NULL};

/* Scratch space for one group's rows. */
typedef struct scratch {
    double *p, *y;
    pf_metrics_workspace *ws;
} scratch;

/* One row of the fairness table for the rows idx[0..m-1]. */
static int fair_row(pf_evaltab *t, const rows *r, const pf_policy *pol, const char *dimname,
                    const char *code, const char *label, const uint32_t *idx, size_t m, scratch *sc,
                    pf_error *err)
{
    cell c = {0};
    int64_t grp[4] = {0}, lvl[4] = {0}, trk[5] = {0}, elig = 0;
    int64_t fp_close = 0, fn_close = 0, fp_far = 0, fn_far = 0;
    for (size_t k = 0; k < m; k++) {
        size_t i = idx ? idx[k] : k;
        double p = r->p[i], y = r->y[i];
        sc->p[k] = p;
        sc->y[k] = y;
        cell_add(&c, p, y);
        int g = r->group[i];
        grp[g]++;
        if (r->level[i])
            lvl[r->level[i] - 'A' + 1]++;
        trk[r->track[i]]++;
        elig += r->failed[i] < 0;
        /* Positive: predicted to reach work or studies at the threshold. */
        if (y > 0.5) {
            fn_close += g != 1;
            fn_far += g == 3;
        } else {
            fp_close += g == 1;
            fp_far += g != 3;
        }
    }
    pf_metrics_summary sm;
    int rc = pf_metrics_summarize(sc->p, sc->y, NULL, m, sc->ws, &sm, err);
    if (rc)
        return rc;
    double npos = (double) c.pos, nneg = (double) (c.n - c.pos), n = (double) m;
    int both = !(sm.flags & PF_METRICS_ONE_CLASS);
    json_t *o = json_pack("{s:s,s:s,s:s}", "dimension", dimname, "group", code, "label", label);
    if (!o)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    cell_json(o, &c, (int64_t) r->n);
    char key[16];
    for (int g = 1; g <= 3; g++) {
        snprintf(key, sizeof key, "grupp_%d", g);
        json_object_set_new(o, key, pf_evaltab_ratio((double) grp[g], n));
    }
    if (pol->has_levels)
        for (int l = 1; l <= 3; l++) {
            snprintf(key, sizeof key, "niva_%c", 'A' + l - 1);
            json_object_set_new(o, key, pf_evaltab_ratio((double) lvl[l], n));
        }
    if (pol->has_tracks)
        for (int k = 1; k <= 4; k++) {
            snprintf(key, sizeof key, "spar_%d", k);
            json_object_set_new(o, key, pf_evaltab_ratio((double) trk[k], n));
        }
    json_object_set_new(o, "eligible", pf_evaltab_ratio((double) elig, n));
    json_object_set_new(o, "calib_intercept", both ? json_real(sm.calib.intercept) : json_null());
    json_object_set_new(o, "calib_intercept_se",
                        both ? json_real(sm.calib.intercept_se) : json_null());
    json_object_set_new(o, "auc", both ? json_real(sm.auc.auc) : json_null());
    json_object_set_new(o, "auc_lo", both ? json_real(sm.auc.ci_lo) : json_null());
    json_object_set_new(o, "auc_hi", both ? json_real(sm.auc.ci_hi) : json_null());
    json_object_set_new(o, "log_loss", json_real(sm.loss.log_loss));
    json_object_set_new(o, "brier", json_real(sm.loss.brier));
    json_object_set_new(o, "n_pos", json_integer(c.pos));
    json_object_set_new(o, "n_neg", json_integer(c.n - c.pos));
    json_object_set_new(o, "fpr_at_close_min_p", pf_evaltab_ratio((double) fp_close, nneg));
    json_object_set_new(o, "fnr_at_close_min_p", pf_evaltab_ratio((double) fn_close, npos));
    json_object_set_new(o, "fpr_at_far_below_p", pf_evaltab_ratio((double) fp_far, nneg));
    json_object_set_new(o, "fnr_at_far_below_p", pf_evaltab_ratio((double) fn_far, npos));
    (void) trk;
    return pf_evaltab_add(t, o, err);
}

/* One dimension's rows of the fairness table and of the score histograms,
 * into tables of its own: rows grouped by a counting sort (stable, so every
 * group's rows stay in input order). */
typedef struct dim_job {
    const rows *r;
    const pf_policy *pol;
    const dim *x;
    pf_evaltab fair, hist;
    scratch sc;
    uint32_t *idx;
    int rc;
    pf_error err;
} dim_job;

static int dimension_tables(dim_job *j)
{
    const rows *r = j->r;
    const dim *x = j->x;
    pf_error *err = &j->err;
    size_t *start = calloc(x->ngroups + 1, sizeof *start);
    size_t *pos = calloc(x->ngroups, sizeof *pos);
    int64_t *h = calloc(x->ngroups * HIST_BINS, sizeof *h);
    int rc = 0;
    if (!start || !pos || !h) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r->n; i++) {
        start[x->key[i] + 1]++;
        int b = (int) (r->p[i] * HIST_BINS);
        h[x->key[i] * HIST_BINS + (b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b)]++;
    }
    for (size_t g = 0; g < x->ngroups; g++)
        start[g + 1] += start[g];
    memcpy(pos, start, x->ngroups * sizeof *pos);
    for (size_t i = 0; i < r->n; i++)
        j->idx[pos[x->key[i]]++] = (uint32_t) i;
    for (size_t g = 0; g < x->ngroups && !rc; g++) {
        size_t m = start[g + 1] - start[g];
        if (m == 0)
            continue; /* a level no row has */
        rc = fair_row(&j->fair, r, j->pol, x->name, x->code[g], x->glabel[g], j->idx + start[g], m,
                      &j->sc, err);
        for (int b = 0; b < HIST_BINS && !rc; b++)
            rc = pf_evaltab_add(&j->hist,
                                json_pack("{s:s,s:s,s:f,s:f,s:I}", "dimension", x->name, "group",
                                          x->code[g], "p_lo", (double) b / HIST_BINS, "p_hi",
                                          (double) (b + 1) / HIST_BINS, "n",
                                          (json_int_t) h[g * HIST_BINS + b]),
                                err);
    }
out:
    free(start);
    free(pos);
    free(h);
    return rc;
}

typedef struct dim_worker {
    dim_job *jobs;
    size_t first, step, n;
} dim_worker;

static void *run_dimensions(void *arg)
{
    dim_worker *w = arg;
    for (size_t d = w->first; d < w->n; d += w->step) {
        w->jobs[d].rc = dimension_tables(&w->jobs[d]);
        if (w->jobs[d].rc)
            break;
    }
    return NULL;
}

/* The fairness table and the score histograms: everyone, then each
 * dimension. Dimensions are computed on their own threads, each into
 * tables of its own, and appended in dimension order, so the tables do not
 * depend on the number of threads. */
static int fairness_tables(pf_evaltab *fair, pf_evaltab *hist, const rows *r, const pf_policy *pol,
                           const char *label_col, scratch *sc, pf_error *err)
{
    int rc = fair_row(fair, r, pol, "alla", "alla", "alla", NULL, r->n, sc, err);
    /* Histograms by outcome first. */
    int64_t ho[2][HIST_BINS] = {{0}};
    for (size_t i = 0; i < r->n; i++) {
        int b = (int) (r->p[i] * HIST_BINS);
        ho[r->y[i] > 0.5][b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b]++;
    }
    for (int v = 0; v < 2 && !rc; v++)
        for (int b = 0; b < HIST_BINS && !rc; b++)
            rc = pf_evaltab_add(hist,
                                json_pack("{s:s,s:s,s:f,s:f,s:I}", "dimension", label_col, "group",
                                          v ? "1" : "0", "p_lo", (double) b / HIST_BINS, "p_hi",
                                          (double) (b + 1) / HIST_BINS, "n", (json_int_t) ho[v][b]),
                                err);
    if (rc || r->ndims == 0)
        return rc;

    size_t nthreads = (size_t) pf_default_threads();
    if (nthreads > r->ndims)
        nthreads = r->ndims;
    dim_job *jobs = calloc(r->ndims, sizeof *jobs);
    dim_worker *workers = calloc(nthreads, sizeof *workers);
    pthread_t *tid = calloc(nthreads, sizeof *tid);
    scratch *scr = calloc(nthreads, sizeof *scr);
    uint32_t **idx = calloc(nthreads, sizeof *idx);
    if (!jobs || !workers || !tid || !scr || !idx)
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    /* One scratch per thread; the caller's serves the first. */
    for (size_t t = 0; t < nthreads && !rc; t++) {
        if (t == 0)
            scr[t] = *sc;
        else if (!(scr[t].p = malloc(r->n * sizeof(double))) ||
                 !(scr[t].y = malloc(r->n * sizeof(double))) ||
                 pf_metrics_workspace_new(r->n, &scr[t].ws, err))
            rc = rc ? rc : pf_error_set(err, PF_ENOMEM, "out of memory");
        if (!rc && !(idx[t] = malloc((r->n ? r->n : 1) * sizeof *idx[t])))
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    for (size_t d = 0; d < r->ndims && !rc; d++) {
        dim_job *j = &jobs[d];
        j->r = r;
        j->pol = pol;
        j->x = &r->dims[d];
        j->sc = scr[d % nthreads];
        j->idx = idx[d % nthreads];
        if (pf_evaltab_init(&j->fair, fair->name, fair->columns, err) ||
            pf_evaltab_init(&j->hist, hist->name, hist->columns, err))
            rc = PF_ENOMEM;
    }
    size_t started = 0;
    for (size_t t = 0; t < nthreads && !rc; t++) {
        workers[t] = (dim_worker){jobs, t, nthreads, r->ndims};
        if (t > 0 && pthread_create(&tid[t], NULL, run_dimensions, &workers[t]) != 0) {
            rc = pf_error_set(err, PF_ENOMEM, "cannot start threads");
            break;
        }
        started = t + 1;
    }
    if (started)
        run_dimensions(&workers[0]);
    for (size_t t = 1; t < started; t++)
        pthread_join(tid[t], NULL);
    for (size_t d = 0; d < r->ndims && !rc && jobs; d++) {
        if (jobs[d].rc) {
            *err = jobs[d].err;
            rc = jobs[d].rc;
        } else if (json_array_extend(fair->rows, jobs[d].fair.rows) ||
                   json_array_extend(hist->rows, jobs[d].hist.rows)) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        }
    }
    for (size_t d = 0; jobs && d < r->ndims; d++) {
        json_decref(jobs[d].fair.rows);
        json_decref(jobs[d].hist.rows);
    }
    for (size_t t = 1; scr && t < nthreads; t++) {
        free(scr[t].p);
        free(scr[t].y);
        pf_metrics_workspace_free(scr[t].ws);
    }
    for (size_t t = 0; idx && t < nthreads; t++)
        free(idx[t]);
    free(idx);
    free(scr);
    free(tid);
    free(workers);
    free(jobs);
    return rc;
}

/* ---- discrimination and calibration ---- */

typedef struct py {
    double p, y;
} py;

static int cmp_desc(const void *a, const void *b)
{
    const py *x = a, *z = b;
    return x->p < z->p ? 1 : x->p > z->p ? -1 : 0;
}

/* The ROC curve: a point at every distinct p (predict positive when p is at
 * least it), kept when it moved at least 0.001 in either rate from the last
 * one kept; the ends are always kept. */
static int roc_table(pf_evaltab *t, const rows *r, pf_error *err)
{
    py *v = malloc(r->n * sizeof *v);
    if (!v)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    double P = 0, N = 0;
    for (size_t i = 0; i < r->n; i++) {
        v[i].p = r->p[i];
        v[i].y = r->y[i];
        P += r->y[i] > 0.5;
    }
    N = (double) r->n - P;
    qsort(v, r->n, sizeof *v, cmp_desc);
    int rc =
        pf_evaltab_add(t, json_pack("{s:n,s:f,s:f}", "threshold", "fpr", 0.0, "tpr", 0.0), err);
    double tp = 0, fp = 0, last_f = 0, last_t = 0;
    for (size_t i = 0; i < r->n && !rc; i++) {
        if (v[i].y > 0.5)
            tp++;
        else
            fp++;
        if (i + 1 < r->n && v[i + 1].p == v[i].p)
            continue;
        double fr = N > 0 ? fp / N : 0, tr = P > 0 ? tp / P : 0;
        if (i + 1 < r->n && fr - last_f < 0.001 && tr - last_t < 0.001)
            continue;
        last_f = fr, last_t = tr;
        rc = pf_evaltab_add(
            t, json_pack("{s:f,s:f,s:f}", "threshold", v[i].p, "fpr", fr, "tpr", tr), err);
    }
    free(v);
    return rc;
}

static const char *const metrics_cols[] = {"metric", "value", "se", "ci_lo", "ci_hi", NULL};
static const char *const calib_cols[] = {
    "bin", "n", "p_min", "p_max", "mean_p", "observed", "observed_lo", "observed_hi", NULL};
static const char *const roc_cols[] = {"threshold", "fpr", "tpr", NULL};
static const char *const hist_cols[] = {"dimension", "group", "p_lo", "p_hi", "n", NULL};

static int metric_row(pf_evaltab *t, const char *name, double v, double se, double lo, double hi,
                      pf_error *err)
{
    json_t *o =
        json_pack("{s:s,s:o,s:o,s:o,s:o}", "metric", name, "value", pf_evaltab_real(v), "se",
                  pf_evaltab_real(se), "ci_lo", pf_evaltab_real(lo), "ci_hi", pf_evaltab_real(hi));
    return pf_evaltab_add(t, o, err);
}

static int overall_tables(pf_evaltab *met, pf_evaltab *cal, const rows *r, size_t bins, scratch *sc,
                          json_t *summary, pf_error *err)
{
    pf_metrics_summary sm;
    int rc = pf_metrics_summarize(r->p, r->y, NULL, r->n, sc->ws, &sm, err);
    if (rc)
        return rc;
    int both = !(sm.flags & PF_METRICS_ONE_CLASS);
    const pf_metrics_auc_est *a = &sm.auc;
    const pf_metrics_calib_est *c = &sm.calib;
    double z = PF_METRICS_Z95;
    if (both) {
        rc = metric_row(met, "auc", a->auc, a->has_var ? a->se : NAN, a->ci_lo, a->ci_hi, err);
        if (!rc)
            rc = metric_row(met, "calib_intercept", c->intercept, c->intercept_se,
                            c->intercept - z * c->intercept_se, c->intercept + z * c->intercept_se,
                            err);
        if (!rc && c->has_slope)
            rc = metric_row(met, "calib_slope", c->slope, c->slope_se, c->slope - z * c->slope_se,
                            c->slope + z * c->slope_se, err);
    }
    double lo, hi;
    pf_metrics_wilson(sm.loss.base_rate, sm.loss.sum_w, &lo, &hi);
    if (!rc)
        rc = metric_row(met, "log_loss", sm.loss.log_loss, NAN, NAN, NAN, err);
    if (!rc)
        rc = metric_row(met, "brier", sm.loss.brier, NAN, NAN, NAN, err);
    if (!rc)
        rc = metric_row(met, "base_rate", sm.loss.base_rate, NAN, lo, hi, err);
    if (!rc)
        rc = metric_row(met, "mean_p", sm.loss.mean_p, NAN, NAN, NAN, err);
    if (rc)
        return rc;
    json_object_set_new(summary, "rows", json_integer((json_int_t) sm.loss.n));
    json_object_set_new(summary, "positives", json_integer((json_int_t) a->n_pos));
    json_object_set_new(summary, "one_class", json_boolean(!both));
    if (both)
        json_object_set_new(summary, "auc",
                            json_pack("{s:f,s:f,s:f,s:f,s:b,s:s}", "value", a->auc, "se", a->se,
                                      "ci_lo", a->ci_lo, "ci_hi", a->ci_hi, "has_var", a->has_var,
                                      "method", "DeLong"));
    json_object_set_new(summary, "log_loss", json_real(sm.loss.log_loss));
    json_object_set_new(summary, "brier", json_real(sm.loss.brier));
    json_object_set_new(summary, "base_rate", json_real(sm.loss.base_rate));
    json_object_set_new(summary, "mean_p", json_real(sm.loss.mean_p));
    if (both) {
        json_t *cj =
            json_pack("{s:f,s:f}", "intercept", c->intercept, "intercept_se", c->intercept_se);
        if (c->has_slope) {
            json_object_set_new(cj, "slope", json_real(c->slope));
            json_object_set_new(cj, "slope_se", json_real(c->slope_se));
        }
        json_object_set_new(summary, "calibration", cj);
    }

    pf_metrics_bin *b = calloc(bins, sizeof *b);
    size_t nb = 0;
    if (!b)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    rc = pf_metrics_calib_table(r->p, r->y, NULL, r->n, bins, sc->ws, b, &nb, err);
    for (size_t k = 0; k < nb && !rc; k++)
        rc = pf_evaltab_add(cal,
                            json_pack("{s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "bin",
                                      (json_int_t) (k + 1), "n", (json_int_t) b[k].n, "p_min",
                                      b[k].p_min, "p_max", b[k].p_max, "mean_p", b[k].mean_p,
                                      "observed", b[k].obs, "observed_lo", b[k].obs_lo,
                                      "observed_hi", b[k].obs_hi),
                            err);
    free(b);
    return rc;
}

/* ---- the run ---- */

typedef struct reject_ctx {
    pf_outfile *o;
    int write_failed;
} reject_ctx;

static void on_reject(void *ctx, const pf_problem *p)
{
    reject_ctx *rc = ctx;
    if (rc->o && !rc->write_failed)
        rc->write_failed = pf_cli_write_problem(rc->o, p) != 0;
}

static char *join_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int make_dir(const char *dir, pf_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode)
                   ? 0
                   : pf_error_set(err, PF_EINVAL, "%s exists and is not a directory", dir);
    if (mkdir(dir, 0777) && errno != EEXIST)
        return pf_error_set(err, PF_EIO, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

#define NTABLES 6

static json_t *thresholds_json(const pf_policy *pol)
{
    json_t *t =
        json_pack("{s:f,s:f}", "close_min_p", pol->close_min, "far_below_p", pol->far_below);
    if (pol->has_levels) {
        json_object_set_new(t, "a_min_p", json_real(pol->level_a_min));
        json_object_set_new(t, "b_min_p", json_real(pol->level_b_min));
    }
    if (pol->has_tracks)
        json_object_set_new(t, "enhanced_below_p", json_real(pol->enhanced_below));
    return t;
}

static int run(eval_opts *o)
{
    pf_error err = {0};
    pf_schema *schema = NULL;
    pf_model *model = NULL;
    pf_policy *policy = NULL;
    pf_decider *decider = NULL;
    pf_reader *r = NULL;
    pf_prefetch *pre = NULL;
    pf_frame *f = NULL;
    pf_decision *dx = NULL;
    rows R = {0};
    scratch sc = {0};
    reject_ctx rej = {0};
    pf_evaltab tabs[NTABLES] = {{0}};
    pf_outfile *outs[NTABLES + 1] = {0};
    json_t *root = NULL;
    char *rejects_path = NULL;
    int exit_code = PF_EXIT_USAGE, rc = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    char model_buf[4096];
    const char *model_path =
        o->model ? o->model : pf_cli_data_path(model_buf, sizeof model_buf, PF_DEFAULT_MODEL);
    if (pf_cli_load_schema(cmd, o->schema, &schema) ||
        pf_cli_load_model(cmd, o->model, schema, &model) ||
        pf_cli_load_policy(cmd, &o->policy, schema, &policy))
        goto out;
    pf_decider_options dopt = {.reasons = 0};
    if (pf_decider_new(&decider, model, policy, &dopt, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    const char *label = o->label ? o->label : model->label;
    int label_col = pf_schema_find(schema, label);
    if (label_col < 0 || schema->cols[label_col].type != PF_TYPE_BOOLEAN) {
        pf_cli_usage_error(cmd, "--label: '%s' is not a boolean column of schema %s", label,
                           schema->name);
        goto out;
    }

    /* Dimensions. */
    char *list = strdup(o->by ? o->by : default_dims);
    if (!list || !(R.dims = calloc(MAX_DIMS, sizeof *R.dims))) {
        free(list);
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    char *save = NULL, why[512];
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!*tok)
            continue;
        for (size_t d = 0; d < R.ndims; d++)
            if (!strcmp(R.dims[d].name, tok)) {
                free(list);
                pf_cli_usage_error(cmd, "--by names '%s' twice", tok);
                goto out;
            }
        if (R.ndims == MAX_DIMS) {
            free(list);
            pf_cli_usage_error(cmd, "--by: at most %d dimensions", MAX_DIMS);
            goto out;
        }
        dim *x = &R.dims[R.ndims];
        int k = dim_init(x, tok, schema, policy, o, o->by != NULL, why, sizeof why);
        if (k != 0) {
            free(x->name);
            for (size_t g = 0; g < x->ngroups; g++)
                free(x->code ? x->code[g] : NULL), free(x->glabel ? x->glabel[g] : NULL);
            free(x->code), free(x->glabel);
            memset(x, 0, sizeof *x);
        }
        if (k < 0) {
            free(list);
            pf_cli_usage_error(cmd, "%s", why);
            goto out;
        }
        if (k == 0)
            R.ndims++;
    }
    free(list);

    exit_code = PF_EXIT_FAIL;
    if (make_dir(o->outdir, &err))
        goto fail;
    rejects_path = o->rejects ? strdup(o->rejects) : join_path(o->outdir, "rejects.csv");
    if (!rejects_path || pf_outfile_open(&rej.o, rejects_path, &err))
        goto fail;
    pf_outfile_puts(rej.o, PF_CLI_REJECTS_HEADER);

    pf_reader_options ropt = {.on_reject = on_reject, .reject_ctx = &rej};
    if ((rc = pf_reader_open(&r, schema, o->input, &ropt, &err))) {
        pf_cli_input_error(cmd, o->input, err.message);
        exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
        goto out;
    }
    size_t dx_cap = 0;
    int64_t unlabelled = 0;
    if ((rc = pf_prefetch_start(&pre, r, CHUNK_ROWS, 4, 0, &err)))
        goto fail;
    while ((rc = pf_prefetch_next(pre, &f, &err)) > 0) {
        if ((rc = pf_decide_frame(decider, f, &dx, &dx_cap, &err)))
            goto fail;
        if (R.n + f->n > UINT32_MAX || rows_reserve(&R, R.n + f->n)) {
            rc = pf_error_set(&err, PF_ENOMEM, "out of memory (%zu rows kept)", R.n);
            goto fail;
        }
        const int32_t *lab = f->col[label_col].cat;
        for (size_t i = 0; i < f->n; i++) {
            if (lab[i] < 0) {
                unlabelled++;
                continue;
            }
            if (!(dx[i].p >= 0 && dx[i].p <= 1)) {
                rc = pf_error_set(&err, PF_EINVAL, "row %lld: p is %g", (long long) f->row[i],
                                  dx[i].p);
                goto fail;
            }
            size_t k = R.n++;
            R.p[k] = dx[i].p;
            R.y[k] = lab[i] == 1;
            R.group[k] = dx[i].group;
            R.level[k] = dx[i].level;
            R.track[k] = dx[i].track;
            R.failed[k] = dx[i].failed_rule;
            R.target[k] = dx[i].target_groups;
            R.area[k] = dx[i].area;
            for (size_t d = 0; d < R.ndims; d++)
                R.dims[d].key[k] = dim_key(&R.dims[d], o, f, i, &dx[i]);
        }
        pf_prefetch_release(pre, f);
        f = NULL;
    }
    pf_prefetch_stop(pre); /* the reader's statistics are ours again */
    pre = NULL;
    if (rc < 0)
        goto fail;
    rc = 0;
    const pf_reader_stats *st = pf_reader_stats_get(r);

    /* The rejects explain a failure too: commit them first. */
    if (rej.write_failed) {
        rc = pf_error_set(&err, PF_EIO, "%s: write failed", rejects_path);
        goto fail;
    }
    rc = pf_outfile_commit(rej.o, &err);
    rej.o = NULL;
    if (rc)
        goto fail;
    double reject_rate = st->rows_read ? (double) st->rows_rejected / (double) st->rows_read : 0;
    if (reject_rate > o->max_reject_rate) {
        pf_cli_error(cmd, "%lld of %lld rows rejected (%.2f %%), over --max-reject-rate %g; see %s",
                     (long long) st->rows_rejected, (long long) st->rows_read, 100 * reject_rate,
                     o->max_reject_rate, rejects_path);
        goto out;
    }
    if (R.n == 0) {
        pf_cli_error(cmd,
                     "%s: no labelled row to evaluate (%lld read, %lld rejected, %lld without "
                     "'%s'; does the input have that column?)",
                     o->input, (long long) st->rows_read, (long long) st->rows_rejected,
                     (long long) unlabelled, label);
        goto out;
    }

    /* The tables. */
    if (!(sc.p = malloc(R.n * sizeof *sc.p)) || !(sc.y = malloc(R.n * sizeof *sc.y)) ||
        (rc = pf_metrics_workspace_new(R.n, &sc.ws, &err))) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    const char *const *fair_cols = policy->has_levels   ? fair_cols_levels
                                   : policy->has_tracks ? fair_cols_tracks
                                                        : fair_cols_plain;
    static const char *const names[NTABLES] = {"metrics",   "calibration", "roc",
                                               "decisions", "fairness",    "score_hist"};
    const char *const *cols[NTABLES] = {metrics_cols,   calib_cols, roc_cols,
                                        decisions_cols, fair_cols,  hist_cols};
    for (int k = 0; k < NTABLES; k++)
        if ((rc = pf_evaltab_init(&tabs[k], names[k], cols[k], &err)))
            goto fail;
    json_t *summary = json_object();
    if (!summary) {
        rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    root = json_object();
    json_object_set_new(root, "format", json_string("profil-eval/1"));
    json_object_set_new(root, "overall", summary);
    if ((rc = overall_tables(&tabs[0], &tabs[1], &R, o->bins, &sc, summary, &err)) ||
        (rc = roc_table(&tabs[2], &R, &err)) ||
        (rc = decisions_table(&tabs[3], &R, policy, &err)) ||
        (rc = fairness_tables(&tabs[4], &tabs[5], &R, policy, label, &sc, &err)))
        goto fail;

    /* Write the CSV tables, then eval.json with their hashes. Every file is
     * committed only after all were written. */
    json_t *files = json_object(), *tables = json_object();
    json_object_set_new(root, "files", files);
    for (int k = 0; k < NTABLES; k++) {
        char fname[64];
        snprintf(fname, sizeof fname, "%s.csv", names[k]);
        char *path = join_path(o->outdir, fname);
        if (!path) {
            rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
            goto fail;
        }
        rc = pf_outfile_open(&outs[k], path, &err);
        free(path);
        if (rc)
            goto fail;
        pf_sha256 h;
        pf_sha256_init(&h);
        pf_evaltab_write_csv(&tabs[k], outs[k], &h);
        char hex[PF_SHA256_HEX];
        pf_sha256_hex(&h, hex);
        json_t *cl = json_array();
        for (size_t c = 0; cols[k][c]; c++)
            json_array_append_new(cl, json_string(cols[k][c]));
        json_object_set_new(files, fname, json_string(hex));
        json_object_set_new(
            tables, names[k],
            json_pack("{s:s,s:o,s:O}", "file", fname, "columns", cl, "rows", tabs[k].rows));
    }

    char in_sha[PF_SHA256_HEX], from[11], to[11];
    pf_reader_input_sha256(r, in_sha);
    pf_day_format(policy->valid_from, from);
    pf_day_format(policy->valid_to, to);
    json_t *rules = json_object();
    for (int k = 0; k < PF_RULE_COUNT; k++)
        json_object_set_new(rules, pf_rule_name((pf_rule) k), json_integer(st->problems[k]));
    json_t *dims = json_array(), *bands = json_array();
    for (size_t k = 0; k < o->nbands; k++)
        json_array_append_new(bands, json_real(o->bands[k]));
    for (size_t d = 0; d < R.ndims; d++) {
        const dim *x = &R.dims[d];
        json_t *g = json_array();
        for (size_t k = 0; k < x->ngroups; k++)
            json_array_append_new(
                g, json_pack("{s:s,s:s}", "code", x->code[k], "label", x->glabel[k]));
        json_array_append_new(dims, json_pack("{s:s,s:s,s:s,s:o}", "name", x->name, "label",
                                              x->label, "source",
                                              x->kind == DIM_AREA  ? "policy delivery areas"
                                              : x->kind == DIM_AGE ? "alder"
                                                                   : schema->cols[x->col].name,
                                              "groups", g));
    }
    json_object_set_new(root, "software", json_string("profil " PROFIL_VERSION));
    json_object_set_new(root, "input",
                        json_pack("{s:s,s:s,s:I}", "path", o->input, "sha256", in_sha, "bytes",
                                  (json_int_t) st->bytes_read));
    json_object_set_new(root, "schema",
                        json_pack("{s:s,s:s,s:s}", "name", schema->name, "version", schema->version,
                                  "sha256", schema->sha256));
    json_object_set_new(root, "model",
                        json_pack("{s:s,s:s,s:s,s:s}", "path", model_path, "sha256", model->sha256,
                                  "kind", model->kind, "label", model->label));
    json_object_set_new(root, "policy",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "path", policy->path, "name",
                                  policy->name, "version", policy->version, "sha256",
                                  policy->sha256, "service", policy->service, "valid_from", from,
                                  "valid_to", to, "thresholds", thresholds_json(policy)));
    if (o->policy.date)
        json_object_set_new(json_object_get(root, "policy"), "chosen_for_date",
                            json_string(o->policy.date));
    json_object_set_new(
        root, "label",
        json_pack("{s:s,s:s}", "column", label, "label", schema->cols[label_col].label));
    json_object_set_new(
        root, "positive",
        json_pack("{s:s,s:s,s:s}", "outcome",
                  "the label is 1: work or studies within the model's horizon", "close_min_p",
                  "predicted positive = grupp 1 (står nära): p >= close_min_p", "far_below_p",
                  "predicted positive = grupp 1 or 2: p >= far_below_p"));
    json_object_set_new(root, "options",
                        json_pack("{s:I,s:o,s:f,s:I}", "bins", (json_int_t) o->bins, "age_bands",
                                  bands, "max_reject_rate", o->max_reject_rate, "hist_bins",
                                  (json_int_t) HIST_BINS));
    json_object_set_new(
        root, "counts",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:o}", "rows_read", (json_int_t) st->rows_read,
                  "rows_rejected", (json_int_t) st->rows_rejected, "rows_unlabelled",
                  (json_int_t) unlabelled, "rows_evaluated", (json_int_t) R.n, "blank_lines",
                  (json_int_t) st->blank_lines, "rejects_by_rule", rules));
    /* Named relative to the folder when it is in it, so the folder can move. */
    json_object_set_new(root, "rejects", json_string(o->rejects ? rejects_path : "rejects.csv"));
    json_object_set_new(root, "dimensions", dims);
    json_object_set_new(root, "tables", tables);
    /* Put the keys in reading order: provenance first, tables last. */
    static const char *const order[] = {
        "format",  "software", "input",   "schema",  "model",      "policy", "label",  "positive",
        "options", "counts",   "rejects", "overall", "dimensions", "files",  "tables", NULL};
    json_t *ordered = json_object();
    for (int k = 0; order[k]; k++)
        json_object_set(ordered, order[k], json_object_get(root, order[k]));
    json_decref(root);
    root = ordered;
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    char *jpath = join_path(o->outdir, "eval.json");
    if (!text || !jpath || (rc = pf_outfile_open(&outs[NTABLES], jpath, &err))) {
        free(text);
        free(jpath);
        if (!rc)
            rc = pf_error_set(&err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    free(jpath);
    pf_outfile_puts(outs[NTABLES], text);
    pf_outfile_puts(outs[NTABLES], "\n");
    free(text);
    for (int k = 0; k <= NTABLES; k++) {
        rc = pf_outfile_commit(outs[k], &err);
        outs[k] = NULL;
        if (rc)
            goto fail;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!o->quiet) {
        double secs = (double) (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
        json_t *auc = json_object_get(summary, "auc");
        printf("rows:      %lld read, %lld rejected, %lld without %s, %zu evaluated in %.2f s\n",
               (long long) st->rows_read, (long long) st->rows_rejected, (long long) unlabelled,
               label, R.n, secs);
        printf("model:     %s (label %s)\npolicy:    %s %s\n", model_path, model->label,
               policy->name, policy->version);
        printf("base rate: %.4f, mean p %.4f\n",
               json_real_value(json_object_get(summary, "base_rate")),
               json_real_value(json_object_get(summary, "mean_p")));
        if (auc)
            printf("AUC:       %.4f (95 %% CI %.4f-%.4f, DeLong)\n",
                   json_real_value(json_object_get(auc, "value")),
                   json_real_value(json_object_get(auc, "ci_lo")),
                   json_real_value(json_object_get(auc, "ci_hi")));
        else
            printf("AUC:       none (only one outcome among the rows)\n");
        printf("log-loss:  %.4f, Brier %.4f\n",
               json_real_value(json_object_get(summary, "log_loss")),
               json_real_value(json_object_get(summary, "brier")));
        json_t *cal = json_object_get(summary, "calibration");
        if (cal)
            printf("calibration: intercept %.4f, slope %.4f\n",
                   json_real_value(json_object_get(cal, "intercept")),
                   json_real_value(json_object_get(cal, "slope")));
        printf("output:    %s/ (eval.json and %d CSV tables)\n", o->outdir, NTABLES);
        printf("rejects:   %s\n", rejects_path);
    }
    exit_code = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
    exit_code = PF_EXIT_FAIL;
out:
    if (pre) {
        if (f)
            pf_prefetch_release(pre, f);
        pf_prefetch_stop(pre);
    }
    for (int k = 0; k <= NTABLES; k++)
        pf_outfile_abort(outs[k]);
    for (int k = 0; k < NTABLES; k++)
        json_decref(tabs[k].rows);
    json_decref(root);
    pf_outfile_abort(rej.o);
    free(sc.p);
    free(sc.y);
    pf_metrics_workspace_free(sc.ws);
    rows_free(&R);
    free(dx);
    free(rejects_path);
    pf_reader_close(r);
    pf_decider_free(decider);
    pf_policy_free(policy);
    pf_model_free(model);
    pf_schema_free(schema);
    return exit_code;
}

static int parse_bands(const char *s, eval_opts *o)
{
    o->nbands = 0;
    const char *c = s;
    while (*c) {
        char *end;
        errno = 0;
        double v = strtod(c, &end);
        if (end == c || errno || v != floor(v) || o->nbands == MAX_BANDS ||
            (o->nbands && v <= o->bands[o->nbands - 1]))
            return -1;
        o->bands[o->nbands++] = v;
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        c = end;
    }
    return 0;
}

int pf_cmd_eval(int argc, char **argv)
{
    enum { O_SERVICE = 256, O_POLICY_DIR, O_BY, O_BANDS, O_BINS, O_MAXREJ };
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"model", required_argument, NULL, 'm'},
                                             {"policy", required_argument, NULL, 'p'},
                                             {"date", required_argument, NULL, 'd'},
                                             {"service", required_argument, NULL, O_SERVICE},
                                             {"policy-dir", required_argument, NULL, O_POLICY_DIR},
                                             {"schema", required_argument, NULL, 's'},
                                             {"label", required_argument, NULL, 'l'},
                                             {"by", required_argument, NULL, O_BY},
                                             {"age-bands", required_argument, NULL, O_BANDS},
                                             {"bins", required_argument, NULL, O_BINS},
                                             {"rejects", required_argument, NULL, 'r'},
                                             {"max-reject-rate", required_argument, NULL, O_MAXREJ},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    eval_opts o = {.bins = 10, .max_reject_rate = 0.01};
    parse_bands("25,35,45,55,65", &o);
    long long v;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:m:p:d:s:l:r:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            o.outdir = optarg;
            break;
        case 'm':
            o.model = optarg;
            break;
        case 'p':
            o.policy.policy = optarg;
            break;
        case 'd':
            o.policy.date = optarg;
            break;
        case O_SERVICE:
            o.policy.service = optarg;
            break;
        case O_POLICY_DIR:
            o.policy.dir = optarg;
            break;
        case 's':
            o.schema = optarg;
            break;
        case 'l':
            o.label = optarg;
            break;
        case O_BY:
            o.by = optarg;
            break;
        case O_BANDS:
            if (parse_bands(optarg, &o))
                return pf_cli_usage_error(cmd,
                                          "--age-bands takes up to %d increasing whole ages, "
                                          "comma-separated",
                                          MAX_BANDS);
            break;
        case O_BINS:
            if (pf_cli_parse_count(optarg, &v) || v < 1 || v > 1000)
                return pf_cli_usage_error(cmd, "--bins takes 1 to 1000");
            o.bins = (size_t) v;
            break;
        case 'r':
            o.rejects = optarg;
            break;
        case O_MAXREJ:
            o.max_reject_rate = strtod(optarg, &end);
            if (*end || !(o.max_reject_rate >= 0 && o.max_reject_rate <= 1))
                return pf_cli_usage_error(cmd, "--max-reject-rate takes a share in [0, 1]");
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return PF_EXIT_OK;
        case 'V':
            pf_cli_print_version(stdout);
            return PF_EXIT_OK;
        default:
            return pf_cli_usage_error(cmd, "invalid option");
        }
    }
    if (!o.outdir)
        return pf_cli_usage_error(cmd, "-o DIR names the output folder");
    if (argc - optind > 1)
        return pf_cli_usage_error(cmd, "expected at most one input file");
    o.input = optind < argc ? argv[optind] : "-";
    return run(&o);
}
