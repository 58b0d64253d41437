/*
 * simulate_cmd.c - `profil simulate`: one population under several
 * policies or thresholds, in one pass over the input.
 *
 * Before a policy or a threshold changes, planners ask what it does: how
 * many people move between groups, levels or tracks, how many become
 * eligible, and what the maximum compensation adds up to in each delivery
 * area. Each variant is a policy (a file or bundled name) with optional
 * threshold overrides; every variant decides every accepted row with
 * pf_decide, the one decision function, through its own decider over the
 * one model. The input is read once; memory is one chunk of rows and the
 * counts, whatever the population's size.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare.h"
#include "profil/csvout.h"
#include "profil/decide.h"
#include "profil/jsonkeys.h"
#include "profil/model.h"
#include "profil/outfile.h"
#include "profil/policy.h"
#include "profil/reader.h"
#include "profil/schema.h"

static const char *const cmd = "simulate";

#define MAX_VARIANTS 16
#define CHUNK        8192
#define MAX_AREAS    64

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil simulate [OPTIONS] -p VARIANT [-p VARIANT ...] [FILE]\n"
            "\n"
            "Score one population (CSV or CSV.gz; '-' or none for standard input) under\n"
            "several policies or thresholds in one pass, and compare the shares per group,\n"
            "level and track, eligibility, and the total maximum compensation of the\n"
            "eligible per delivery area (docs/cli.md).\n"
            "\n"
            "A VARIANT is a policy file or bundled name, optionally with thresholds:\n"
            "  krom-2021-08\n"
            "  krom-2021-08:close_min_p=0.55,far_below_p=0.12\n"
            "Thresholds: close_min_p, far_below_p (groups), a_min_p, b_min_p (levels),\n"
            "enhanced_below_p (tracks).\n"
            "\n"
            "Options:\n"
            "  -p, --policy VARIANT  a variant (up to %d; the first is the baseline)\n"
            "  -m, --model FILE      model (default: the bundled %s)\n"
            "  -s, --schema FILE     schema (default: the bundled one)\n"
            "      --csv FILE        the table as CSV, one line per variant and cell\n"
            "      --json FILE       the table as JSON\n"
            "  -q, --quiet           print no table\n"
            "  -h, --help            show this help and exit\n"
            "  -V, --version         show version information and exit\n"
            "\n"
            "Exit status: 0 success; 1 the input could not be read or no row was accepted;\n"
            "2 usage or setup error (an unknown policy, a threshold the policy lacks or\n"
            "that breaks its order).\n",
            MAX_VARIANTS, PF_DEFAULT_MODEL);
}

/* What one variant counts: rows, eligible rows and the maximum compensation
 * of the eligible, per category. */
typedef struct cell {
    int64_t rows, eligible;
    double max_total;
} cell;

typedef struct variant {
    const char *spec;
    pf_policy *pol;
    pf_decider *d;
    cell group[4], level[4], track[5];
    cell elig[PF_POLICY_MAX_RULES + 1]; /* 0 eligible; 1 + the first rule that failed */
    cell area[MAX_AREAS + 1];           /* 1 + area index; 0 none */
    cell all;
} variant;

static void add(cell *c, const pf_decision *x)
{
    c->rows++;
    if (pf_decision_eligible(x)) {
        c->eligible++;
        if (x->max_compensation == x->max_compensation)
            c->max_total += x->max_compensation;
    }
}

static void tally(variant *v, const pf_decision *x, size_t n)
{
    for (size_t i = 0; i < n; i++, x++) {
        add(&v->all, x);
        add(&v->group[x->group], x);
        add(&v->level[x->level ? x->level - 'A' + 1 : 0], x);
        add(&v->track[x->track], x);
        add(&v->elig[x->failed_rule + 1], x);
        add(&v->area[x->area + 1 <= MAX_AREAS ? x->area + 1 : 0], x);
    }
}

/* ---- variants ---- */

static const struct {
    const char *key, *obj;
} thresholds[] = {{"close_min_p", "groups"},
                  {"far_below_p", "groups"},
                  {"a_min_p", "levels"},
                  {"b_min_p", "levels"},
                  {"enhanced_below_p", "tracks"}};

/* Loads a variant: the policy, then its overrides applied to the file's
 * JSON and loaded again by the same strict loader (so a threshold out of
 * order is refused as in a policy file). The variant's id is the SHA-256
 * of the changed document. */
static int load_variant(variant *v, const pf_schema *s, const pf_model *m)
{
    char name[1024];
    snprintf(name, sizeof name, "%s", v->spec);
    char *over = strchr(name, ':');
    if (over)
        *over++ = 0;
    pf_cli_policy_choice choice = {.policy = name};
    if (pf_cli_load_policy(cmd, &choice, s, &v->pol))
        return -1;
    pf_error err = {0};
    if (over && *over) {
        json_t *root;
        if (pf_json_load_file(v->pol->path, PF_EFORMAT, PF_EIO, &root, NULL, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            return -1;
        }
        char *save = NULL;
        for (char *kv = strtok_r(over, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '='), *end;
            size_t k = 0, nk = sizeof thresholds / sizeof *thresholds;
            if (eq)
                *eq = 0;
            while (k < nk && strcmp(thresholds[k].key, kv))
                k++;
            double val = eq ? strtod(eq + 1, &end) : NAN;
            if (!eq || k == nk || end == eq + 1 || *end || !(val >= 0 && val <= 1)) {
                if (eq)
                    *eq = '=';
                pf_cli_error(cmd,
                             "%s: '%s' is not THRESHOLD=P with a threshold of close_min_p, "
                             "far_below_p, a_min_p, b_min_p, enhanced_below_p and P in [0, 1]",
                             v->spec, kv);
                json_decref(root);
                return -1;
            }
            json_t *o = json_object_get(root, thresholds[k].obj);
            if (!json_is_object(o) || !json_object_get(o, thresholds[k].key)) {
                pf_cli_error(cmd, "%s: policy %s has no %s.%s", v->spec, v->pol->name,
                             thresholds[k].obj, thresholds[k].key);
                json_decref(root);
                return -1;
            }
            json_object_set_new(o, thresholds[k].key, json_real(val));
        }
        char *text =
            json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
        json_decref(root);
        pf_policy *changed = NULL;
        int rc = text ? pf_policy_load_text(&changed, text, strlen(text), v->spec, s, &err)
                      : pf_error_set(&err, PF_ENOMEM, "out of memory");
        free(text);
        if (rc) {
            pf_cli_error(cmd, "%s", err.message);
            return -1;
        }
        pf_policy_free(v->pol);
        v->pol = changed;
    }
    if (v->pol->nareas > MAX_AREAS) {
        pf_cli_error(cmd, "%s: more than %d delivery areas", v->spec, MAX_AREAS);
        return -1;
    }
    pf_decider_options o = {.reasons = 0};
    if (pf_decider_new(&v->d, m, v->pol, &o, &err)) {
        pf_cli_error(cmd, "%s: %s", v->spec, err.message);
        return -1;
    }
    return 0;
}

/* ---- the table ---- */

/* One line of the table: a measure and a category, and each variant's
 * cell (NULL where the variant has no such category). */
typedef struct line {
    char measure[24], category[160];
    const cell *c[MAX_VARIANTS];
} line;

typedef struct table {
    line *l;
    size_t n, cap;
} table;

static int put_cell(table *t, const char *measure, const char *category, int v, const cell *c)
{
    if (!c->rows && strcmp(measure, "grupp"))
        return 0; /* empty categories are left out, except the groups */
    for (size_t k = 0; k < t->n; k++)
        if (!strcmp(t->l[k].measure, measure) && !strcmp(t->l[k].category, category)) {
            t->l[k].c[v] = c;
            return 0;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        line *l = realloc(t->l, cap * sizeof *l);
        if (!l)
            return -1;
        t->l = l;
        t->cap = cap;
    }
    /* After the last line of the same measure, so a category that only a
     * later variant has stays with its measure. */
    size_t at = t->n;
    for (size_t k = t->n; k-- > 0;)
        if (!strcmp(t->l[k].measure, measure)) {
            at = k + 1;
            break;
        }
    memmove(&t->l[at + 1], &t->l[at], (t->n - at) * sizeof *t->l);
    t->n++;
    line *l = &t->l[at];
    memset(l, 0, sizeof *l);
    snprintf(l->measure, sizeof l->measure, "%s", measure);
    snprintf(l->category, sizeof l->category, "%s", category);
    l->c[v] = c;
    return 0;
}

/* Measure by measure, so each measure's lines stay together whichever
 * variant has a category first. */
static int build_table(table *t, variant *vs, int nv)
{
    char cat[160];
    int rc = 0;
    for (int v = 0; v < nv; v++)
        rc |= put_cell(t, "rows", "", v, &vs[v].all);
    for (int v = 0; v < nv; v++)
        for (int g = 1; g <= 3; g++) {
            snprintf(cat, sizeof cat, "%d", g);
            rc |= put_cell(t, "grupp", cat, v, &vs[v].group[g]);
        }
    for (int v = 0; v < nv; v++)
        for (int l = 1; l <= 3 && vs[v].pol->has_levels; l++) {
            snprintf(cat, sizeof cat, "%c", 'A' + l - 1);
            rc |= put_cell(t, "niva", cat, v, &vs[v].level[l]);
        }
    for (int v = 0; v < nv; v++)
        for (int k = 1; k <= 4 && vs[v].pol->has_tracks; k++) {
            snprintf(cat, sizeof cat, "%d", k);
            rc |= put_cell(t, "spar", cat, v, &vs[v].track[k]);
        }
    for (int v = 0; v < nv; v++) {
        const pf_policy *p = vs[v].pol;
        rc |= put_cell(t, "eligibility", "ja", v, &vs[v].elig[0]);
        for (size_t r = 0; r < p->nrules; r++)
            rc |= put_cell(t, "eligibility", p->rules[r].code, v, &vs[v].elig[r + 1]);
    }
    for (int v = 0; v < nv; v++) {
        const pf_policy *p = vs[v].pol;
        for (size_t a = 0; a < p->nareas; a++)
            rc |= put_cell(t, "leveransomrade", p->areas[a].name, v, &vs[v].area[a + 1]);
        rc |= put_cell(t, "leveransomrade", p->nareas ? "(utanför)" : "(hela landet)", v,
                       &vs[v].area[0]);
    }
    return rc;
}

/* The label column, then one column per variant, headed #1, #2, ... */
#define LABEL_W 34
#define COL_W   14

static void print_label(FILE *o, const char *a, const char *b)
{
    char lab[256];
    snprintf(lab, sizeof lab, "%s%s", a, b);
    fprintf(o, "%s%*s", lab, pf_cli_pad(lab, LABEL_W), "");
}

static void print_table(FILE *o, const table *t, const variant *vs, int nv)
{
    for (int v = 0; v < nv; v++)
        fprintf(o, "#%d %s: policy %s %s, id %.16s%s\n", v + 1, vs[v].spec, vs[v].pol->name,
                vs[v].pol->version, vs[v].pol->sha256, v ? "" : " (the baseline)");
    fprintf(o, "\n%*s", LABEL_W, "");
    for (int v = 0; v < nv; v++) {
        char h[16];
        snprintf(h, sizeof h, "#%d", v + 1);
        fprintf(o, " %*s", COL_W, h);
    }
    fprintf(o, "\n");
    const char *last = "";
    for (size_t k = 0; k < t->n; k++) {
        const line *l = &t->l[k];
        int area = !strcmp(l->measure, "leveransomrade"), rows = !strcmp(l->measure, "rows");
        if (strcmp(last, l->measure)) {
            if (area)
                fprintf(o, "%s: the eligible, and their maximum compensation (kr)\n", l->measure);
            else if (!rows)
                fprintf(o, "%s (%% of rows):\n", l->measure);
            last = l->measure;
        }
        for (int part = 0; part < 1 + area; part++) {
            if (area && part)
                print_label(o, "    kr", "");
            else
                print_label(o, rows ? "rows" : "  ", l->category);
            for (int v = 0; v < nv; v++) {
                const cell *c = l->c[v];
                if (!c)
                    fprintf(o, " %*s", COL_W, "-");
                else if (rows)
                    fprintf(o, " %*lld", COL_W, (long long) c->rows);
                else if (area && !part)
                    fprintf(o, " %*lld", COL_W, (long long) c->eligible);
                else if (area)
                    fprintf(o, " %*.0f", COL_W, c->max_total);
                else
                    fprintf(o, " %*.2f", COL_W,
                            vs[v].all.rows ? 100.0 * (double) c->rows / (double) vs[v].all.rows
                                           : 0.0);
            }
            fprintf(o, "\n");
        }
    }
    print_label(o, "eligible", "");
    for (int v = 0; v < nv; v++)
        fprintf(o, " %*lld", COL_W, (long long) vs[v].all.eligible);
    fprintf(o, "\n");
    print_label(o, "their maximum compensation", "");
    for (int v = 0; v < nv; v++)
        fprintf(o, " %*.0f", COL_W, vs[v].all.max_total);
    fprintf(o, "\n");
}

static int write_csv(const char *path, const table *t, const variant *vs, int nv, pf_error *err)
{
    pf_outfile *o;
    int rc = pf_outfile_open(&o, path, err);
    if (rc)
        return rc;
    pf_outfile_puts(o, "variant,policy,policy_id,measure,category,rows,share,eligible,"
                       "max_ersattning_eligible\n");
    for (int v = 0; v < nv; v++)
        for (size_t k = 0; k < t->n; k++) {
            const cell *c = t->l[k].c[v];
            if (!c)
                continue;
            pf_csv_put_str(o, vs[v].spec, ',');
            pf_outfile_puts(o, ",");
            pf_csv_put_str(o, vs[v].pol->name, ',');
            pf_outfile_printf(o, ",%.16s,%s,", vs[v].pol->sha256, t->l[k].measure);
            pf_csv_put_str(o, t->l[k].category, ',');
            pf_outfile_printf(o, ",%lld,%.6f,%lld,%.0f\n", (long long) c->rows,
                              vs[v].all.rows ? (double) c->rows / (double) vs[v].all.rows : 0.0,
                              (long long) c->eligible, c->max_total);
        }
    return pf_outfile_commit(o, err);
}

static int write_json(const char *path, const table *t, const variant *vs, int nv,
                      const char *input, const char *input_sha, const char *model_path,
                      const pf_model *m, pf_error *err)
{
    json_t *arr = json_array();
    for (int v = 0; v < nv; v++) {
        json_t *cells = json_array();
        for (size_t k = 0; k < t->n; k++) {
            const cell *c = t->l[k].c[v];
            if (c)
                json_array_append_new(
                    cells,
                    json_pack("{s:s,s:s,s:I,s:f,s:I,s:f}", "measure", t->l[k].measure, "category",
                              t->l[k].category, "rows", (json_int_t) c->rows, "share",
                              vs[v].all.rows ? (double) c->rows / (double) vs[v].all.rows : 0.0,
                              "eligible", (json_int_t) c->eligible, "max_ersattning_eligible",
                              c->max_total));
        }
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:s,s:s,s:o}", "variant", vs[v].spec, "policy",
                                        vs[v].pol->name, "policy_path", vs[v].pol->path,
                                        "policy_sha256", vs[v].pol->sha256, "cells", cells));
    }
    json_t *j = json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s},s:o}", "format", "profil-simulate/1",
                          "input", "path", input, "sha256", input_sha, "model", "path", model_path,
                          "sha256", m->sha256, "variants", arr);
    return pf_compare_write_json(path, j, err);
}

static void on_reject(void *ctx, const pf_problem *p)
{
    int64_t *shown = ctx;
    if (!p->first_of_row || (*shown)++ >= 5)
        return;
    char text[1024];
    pf_problem q = *p;
    if (q.column && !strcmp(q.column, "id"))
        q.value = "<withheld>"; /* an id may be a personal identity number */
    pf_cli_problem_text(text, sizeof text, &q);
    fprintf(stderr, "profil simulate: %s\n", text);
}

int pf_cmd_simulate(int argc, char **argv)
{
    enum { O_CSV = 256, O_JSON };
    static const struct option longopts[] = {{"policy", required_argument, NULL, 'p'},
                                             {"model", required_argument, NULL, 'm'},
                                             {"schema", required_argument, NULL, 's'},
                                             {"csv", required_argument, NULL, O_CSV},
                                             {"json", required_argument, NULL, O_JSON},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    static variant vs[MAX_VARIANTS];
    memset(vs, 0, sizeof vs);
    const char *model_path = NULL, *schema_path = NULL, *csv = NULL, *json = NULL;
    int nv = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:m:s:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (nv == MAX_VARIANTS)
                return pf_cli_usage_error(cmd, "at most %d variants", MAX_VARIANTS);
            vs[nv++].spec = optarg;
            break;
        case 'm':
            model_path = optarg;
            break;
        case 's':
            schema_path = optarg;
            break;
        case O_CSV:
            csv = optarg;
            break;
        case O_JSON:
            json = optarg;
            break;
        case 'q':
            quiet = 1;
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
    if (!nv)
        return pf_cli_usage_error(cmd, "name at least one variant with -p");
    if (argc - optind > 1)
        return pf_cli_usage_error(cmd, "expected at most one input file");
    const char *input = optind < argc ? argv[optind] : "-";

    pf_schema *s = NULL;
    pf_model *m = NULL;
    pf_reader *r = NULL;
    pf_frame *f = NULL;
    pf_decision *dec = NULL;
    table t = {0};
    pf_error err = {0};
    int exit_code = PF_EXIT_USAGE, rc;
    int64_t shown = 0;
    if (pf_cli_load_schema(cmd, schema_path, &s) || pf_cli_load_model(cmd, model_path, s, &m))
        goto out;
    for (int v = 0; v < nv; v++)
        if (load_variant(&vs[v], s, m))
            goto out;
    pf_reader_options ro = {.on_reject = on_reject, .reject_ctx = &shown};
    if ((rc = pf_reader_open(&r, s, input, &ro, &err))) {
        pf_cli_input_error(cmd, input, err.message);
        exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
        goto out;
    }
    exit_code = PF_EXIT_FAIL;
    if ((rc = pf_reader_frame_new(r, CHUNK, &f, &err)) ||
        !(dec = malloc(2 * CHUNK * sizeof *dec))) {
        pf_cli_error(cmd, "%s", rc ? err.message : "out of memory");
        goto out;
    }
    while ((rc = pf_reader_read(r, f, &err)) > 0)
        for (int v = 0; v < nv; v++) {
            if ((rc = pf_decide(vs[v].d, f, 0, f->n, dec, &err)))
                break;
            tally(&vs[v], dec, f->n);
        }
    if (rc) {
        pf_cli_input_error(cmd, input, err.message);
        goto out;
    }
    const pf_reader_stats *st = pf_reader_stats_get(r);
    if (st->rows_rejected)
        pf_cli_error(cmd, "%lld of %lld rows rejected and left out (profil validate lists them)",
                     (long long) st->rows_rejected, (long long) st->rows_read);
    if (!st->rows_accepted) {
        pf_cli_error(cmd, "no row was accepted");
        goto out;
    }
    char in_sha[PF_SHA256_HEX], mbuf[4096];
    pf_reader_input_sha256(r, in_sha);
    const char *mp =
        model_path ? model_path : pf_cli_data_path(mbuf, sizeof mbuf, PF_DEFAULT_MODEL);
    if (build_table(&t, vs, nv)) {
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    if ((csv && (rc = write_csv(csv, &t, vs, nv, &err))) ||
        (json && (rc = write_json(json, &t, vs, nv, input, in_sha, mp, m, &err)))) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    if (!quiet) {
        printf("input:    %s: %lld rows read, %lld rejected, %lld scored under each variant\n",
               input, (long long) st->rows_read, (long long) st->rows_rejected,
               (long long) st->rows_accepted);
        printf("model:    %s (id %.16s)\n\n", mp, m->sha256);
        print_table(stdout, &t, vs, nv);
    }
    exit_code = PF_EXIT_OK;
out:
    free(t.l);
    free(dec);
    pf_frame_free(f);
    pf_reader_close(r);
    for (int v = 0; v < nv; v++) {
        pf_decider_free(vs[v].d);
        pf_policy_free(vs[v].pol);
    }
    pf_model_free(m);
    pf_schema_free(s);
    return exit_code;
}
