/*
 * diff_cmd.c - `profil diff A B`: two scored outputs of one population.
 *
 * After a fault in the input, a new model or a new policy, the question is
 * whose decision changed. A and B are `profil score` CSV outputs (plain or
 * gzip), read through the same validating reader as every input, with the
 * decisions schema (data/schema/profil-decisions.json). Rows are matched by
 * id, not by position: A is held as a hash map from id to its decision
 * (about 60 bytes a row, so memory is proportional to the ids), B streams
 * past it. The result: transition matrices of grupp, nivå, spår and
 * eligibility (A in rows, B in columns), a summary of the change in p, and
 * the list of persons whose decision changed or who are on one side only,
 * in a CSV file.
 *
 * Ids are output data here (the caseworker needs them to reopen the cases)
 * but are written to the changes file only: never to standard error, and
 * not to the report on standard output.
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
#include "profil/outfile.h"
#include "profil/reader.h"
#include "profil/schema.h"

static const char *const cmd = "diff";

#define DECISIONS_SCHEMA "schema/profil-decisions.json"
#define MAX_CODES        64 /* distinct ineligible_rule codes, and delivery areas */
#define CHUNK            8192

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: profil diff [OPTIONS] A B\n"
                "\n"
                "Compare two `profil score` CSV outputs (plain or gzip) of the same population,\n"
                "matching rows by id: transition matrices of grupp, nivå, spår and eligibility,\n"
                "the change in p, and the persons whose decision changed (docs/cli.md).\n"
                "\n"
                "Options:\n"
                "  -o, --output FILE   the persons whose decision changed, or whose id is in one\n"
                "                      file only, as CSV (id, old and new values)\n"
                "      --json FILE     the report as JSON\n"
                "  -q, --quiet         print no report\n"
                "  -h, --help          show this help and exit\n"
                "  -V, --version       show version information and exit\n"
                "\n"
                "A decision is grupp, nivå, spår, eligibility (and the rule that failed), the\n"
                "delivery area and the maximum compensation; a change in p alone is not.\n"
                "\n"
                "Exit status: 0 no decision changed and both files hold the same ids; 1 some\n"
                "decision changed, an id is in one file only or twice in one, or rows were\n"
                "rejected; 2 usage error, or a file that cannot be read.\n");
}

/* ---- interned codes (rules, areas) ---- */

typedef struct codes {
    size_t n;
    char *s[MAX_CODES];
} codes;

/* Index of s (length n) in c, added when new; -1 when c is full. */
static int intern(codes *c, const char *s, size_t n)
{
    for (size_t k = 0; k < c->n; k++)
        if (strlen(c->s[k]) == n && !memcmp(c->s[k], s, n))
            return (int) k;
    if (c->n == MAX_CODES || !(c->s[c->n] = strndup(s, n)))
        return -1;
    return (int) c->n++;
}

static void codes_free(codes *c)
{
    for (size_t k = 0; k < c->n; k++)
        free(c->s[k]);
}

/* ---- the decision of one row ---- */

typedef struct decision {
    double p;
    float maxc;   /* NaN: none */
    int16_t elig; /* 0 eligible; 1 + interned rule code otherwise */
    int16_t area; /* interned area, -1: none */
    int8_t grupp; /* 1-3 */
    int8_t niva;  /* 0 none, 1-3 = A-C */
    int8_t spar;  /* 0 none, 1-4 */
} decision;

/* One id of A: 48 bytes, plus the id's bytes and 8 bytes of index. */
typedef struct entry {
    uint64_t key; /* offset of the id in the arena */
    uint32_t hash;
    uint32_t row; /* data row in A */
    uint8_t matched;
    decision d;
} entry;

typedef struct idmap {
    entry *e;
    size_t n, cap;
    uint32_t *slot; /* 1 + entry index; 0 empty */
    size_t nslots;  /* a power of 2, at least twice n */
    char *arena;
    size_t alen, acap;
} idmap;

static uint32_t hash_id(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char) s[i]) * 1099511628211ULL;
    return (uint32_t) (h ^ h >> 32);
}

static entry *idmap_find(const idmap *m, const char *s, size_t n, uint32_t h)
{
    if (!m->nslots)
        return NULL;
    for (size_t i = h & (m->nslots - 1);; i = (i + 1) & (m->nslots - 1)) {
        uint32_t k = m->slot[i];
        if (!k)
            return NULL;
        entry *e = &m->e[k - 1];
        const char *id = m->arena + e->key;
        if (e->hash == h && !memcmp(id, s, n) && !id[n])
            return e;
    }
}

static int idmap_grow(idmap *m)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 65536;
        if (cap > UINT32_MAX - 1)
            return -1;
        entry *e = realloc(m->e, cap * sizeof *e);
        if (!e)
            return -1;
        m->e = e;
        m->cap = cap;
    }
    if (2 * (m->n + 1) > m->nslots) {
        size_t ns = m->nslots ? m->nslots * 2 : 131072;
        uint32_t *s = calloc(ns, sizeof *s);
        if (!s)
            return -1;
        for (size_t k = 0; k < m->n; k++) {
            size_t i = m->e[k].hash & (ns - 1);
            while (s[i])
                i = (i + 1) & (ns - 1);
            s[i] = (uint32_t) k + 1;
        }
        free(m->slot);
        m->slot = s;
        m->nslots = ns;
    }
    return 0;
}

/* Adds id s (n bytes) with hash h; NULL when out of memory. */
static entry *idmap_add(idmap *m, const char *s, size_t n, uint32_t h)
{
    if (idmap_grow(m))
        return NULL;
    if (m->alen + n + 1 > m->acap) {
        size_t cap = m->acap ? m->acap * 2 : 1 << 20;
        while (cap < m->alen + n + 1)
            cap *= 2;
        char *a = realloc(m->arena, cap);
        if (!a)
            return NULL;
        m->arena = a;
        m->acap = cap;
    }
    entry *e = &m->e[m->n];
    e->key = m->alen;
    e->hash = h;
    e->matched = 0;
    memcpy(m->arena + m->alen, s, n);
    m->arena[m->alen + n] = 0;
    m->alen += n + 1;
    size_t i = h & (m->nslots - 1);
    while (m->slot[i])
        i = (i + 1) & (m->nslots - 1);
    m->slot[i] = (uint32_t) ++m->n;
    return e;
}

static void idmap_free(idmap *m)
{
    free(m->e);
    free(m->slot);
    free(m->arena);
}

/* ---- the comparison ---- */

#define NBINS 7
static const double bin_upper[NBINS - 1] = {0, 0.001, 0.01, 0.05, 0.1, 0.2};
static const char *const bin_label[NBINS] = {
    "0", "(0, 0.001]", "(0.001, 0.01]", "(0.01, 0.05]", "(0.05, 0.1]", "(0.1, 0.2]", "> 0.2"};

typedef struct side {
    const char *path;
    pf_reader *r;
    pf_frame *f;
    int64_t rows_read, rows_rejected, duplicates, problems_shown;
} side;

typedef struct diff {
    const pf_schema *s;
    int c_id, c_p, c_grupp, c_niva, c_spar, c_area, c_maxc, c_elig, c_rule;
    codes rules, areas;
    idmap a;
    side A, B;
    int64_t matched, only_a, only_b, changed;
    int64_t by_field[6]; /* grupp, niva, spar, eligibility, area, max compensation */
    int64_t grupp[4][4], niva[4][4], spar[5][5];
    int64_t elig[MAX_CODES + 1][MAX_CODES + 1];
    int any_niva, any_spar;
    double sum_dp, sum_dp2, min_dp, max_dp;
    int64_t n_dp_changed, bins[NBINS];
    double maxc_a, maxc_b; /* total maximum compensation of the eligible */
    int64_t eligible_a, eligible_b;
    pf_outfile *out;
    int64_t written;
} diff;

static const char *const field_name[6] = {"grupp",       "niva",           "spar",
                                          "eligibility", "leveransomrade", "max_ersattning"};

static void on_reject(void *ctx, const pf_problem *p)
{
    side *sd = ctx;
    if (!p->first_of_row || sd->problems_shown >= 5)
        return;
    sd->problems_shown++;
    int is_id = p->column && !strcmp(p->column, "id");
    /* The id column's value may be a personal identity number: never shown. */
    fprintf(stderr, "profil diff: %s: row %lld (line %lld), %s: %s%s%s%s: %s\n", sd->path,
            (long long) p->row, (long long) p->line, p->column ? p->column : "whole row",
            pf_rule_name(p->rule), is_id ? "" : " '", is_id ? "" : p->value, is_id ? "" : "'",
            p->message);
}

/* The id of row i of f, n bytes. */
static const char *row_id(const diff *df, const pf_frame *f, size_t i, size_t *n)
{
    pf_strref r = f->col[df->c_id].str[i];
    *n = r.off == PF_STR_MISSING ? 0 : r.len;
    return pf_frame_str(f, r);
}

static int too_many_codes(const side *sd, pf_error *err)
{
    return pf_error_set(err, PF_ELIMIT, "%s: more than %d distinct rules or delivery areas",
                        sd->path, MAX_CODES);
}

/* The decision of row i of f; -1 when the codes overflow. */
static int read_decision(diff *df, const pf_frame *f, size_t i, decision *d)
{
    d->p = f->col[df->c_p].num[i];
    d->grupp = (int8_t) (f->col[df->c_grupp].cat[i] + 1);
    d->niva = (int8_t) (f->col[df->c_niva].cat[i] + 1);
    d->spar = (int8_t) (f->col[df->c_spar].cat[i] + 1);
    double mc = f->col[df->c_maxc].num[i];
    d->maxc = (float) mc;
    pf_strref ar = f->col[df->c_area].str[i];
    d->area = -1;
    if (ar.off != PF_STR_MISSING && ar.len) {
        int k = intern(&df->areas, pf_frame_str(f, ar), ar.len);
        if (k < 0)
            return -1;
        d->area = (int16_t) k;
    }
    d->elig = 0;
    if (f->col[df->c_elig].cat[i] != 1) { /* boolean levels: 0 false, 1 true */
        pf_strref rr = f->col[df->c_rule].str[i];
        int k = intern(&df->rules, pf_frame_str(f, rr), rr.off == PF_STR_MISSING ? 0 : rr.len);
        if (k < 0)
            return -1;
        d->elig = (int16_t) (k + 1);
    }
    return 0;
}

static void put_num(pf_outfile *o, double v, int dec)
{
    if (v == v)
        pf_outfile_printf(o, ",%.*f", dec, v);
    else
        pf_outfile_puts(o, ",");
}

#define CHANGES_HEADER                                                                             \
    "id,change,fields,row_a,row_b,grupp_a,grupp_b,niva_a,niva_b,spar_a,spar_b,eligible_a,"         \
    "eligible_b,ineligible_rule_a,ineligible_rule_b,leveransomrade_a,leveransomrade_b,"            \
    "max_ersattning_a,max_ersattning_b,p_a,p_b\n"

/* One line of the changes file; a or b NULL for a side without the id. */
static void write_change(diff *df, const char *id, size_t idn, const char *change,
                         const char *fields, int64_t row_a, const decision *a, int64_t row_b,
                         const decision *b)
{
    pf_outfile *o = df->out;
    if (!o)
        return;
    df->written++;
    pf_csv_put_field(o, id, idn, ',');
    pf_outfile_printf(o, ",%s,%s,", change, fields);
    if (a)
        pf_outfile_printf(o, "%lld", (long long) row_a);
    pf_outfile_puts(o, ",");
    if (b)
        pf_outfile_printf(o, "%lld", (long long) row_b);
    const decision *ab[2] = {a, b};
    for (int k = 0; k < 2; k++)
        pf_outfile_printf(o, ",%s", ab[k] ? (char[]){(char) ('0' + ab[k]->grupp), 0} : "");
    for (int k = 0; k < 2; k++)
        pf_outfile_printf(o, ",%s",
                          ab[k] && ab[k]->niva ? (char[]){(char) ('A' + ab[k]->niva - 1), 0} : "");
    for (int k = 0; k < 2; k++)
        pf_outfile_printf(o, ",%s",
                          ab[k] && ab[k]->spar ? (char[]){(char) ('0' + ab[k]->spar), 0} : "");
    for (int k = 0; k < 2; k++)
        pf_outfile_printf(o, ",%s", ab[k] ? (ab[k]->elig ? "0" : "1") : "");
    for (int k = 0; k < 2; k++) {
        pf_outfile_puts(o, ",");
        if (ab[k] && ab[k]->elig)
            pf_csv_put_str(o, df->rules.s[ab[k]->elig - 1], ',');
    }
    for (int k = 0; k < 2; k++) {
        pf_outfile_puts(o, ",");
        if (ab[k] && ab[k]->area >= 0)
            pf_csv_put_str(o, df->areas.s[ab[k]->area], ',');
    }
    for (int k = 0; k < 2; k++)
        put_num(o, ab[k] ? ab[k]->maxc : NAN, 0);
    for (int k = 0; k < 2; k++)
        put_num(o, ab[k] ? ab[k]->p : NAN, 6);
    pf_outfile_puts(o, "\n");
}

static int same_maxc(float a, float b)
{
    return (a != a && b != b) || a == b;
}

/* Compares a matched pair; fills fields with the names of what changed. */
static int compare_pair(diff *df, const decision *a, const decision *b, char *fields, size_t cap)
{
    int diffs[6] = {a->grupp != b->grupp, a->niva != b->niva, a->spar != b->spar,
                    a->elig != b->elig,   a->area != b->area, !same_maxc(a->maxc, b->maxc)};
    size_t len = 0;
    int any = 0;
    fields[0] = 0;
    for (int k = 0; k < 6; k++)
        if (diffs[k]) {
            df->by_field[k]++;
            any = 1;
            len +=
                (size_t) snprintf(fields + len, cap - len, "%s%s", len ? " " : "", field_name[k]);
            if (len >= cap)
                len = cap - 1;
        }
    df->grupp[a->grupp][b->grupp]++;
    df->niva[a->niva][b->niva]++;
    df->spar[a->spar][b->spar]++;
    df->elig[a->elig][b->elig]++;
    double dp = b->p - a->p;
    df->sum_dp += dp;
    df->sum_dp2 += dp * dp;
    if (df->matched == 1 || dp < df->min_dp)
        df->min_dp = dp;
    if (df->matched == 1 || dp > df->max_dp)
        df->max_dp = dp;
    double ad = fabs(dp);
    int bin = 0;
    while (bin < NBINS - 1 && ad > bin_upper[bin])
        bin++;
    df->bins[bin]++;
    df->n_dp_changed += dp != 0;
    return any;
}

static void tally_side(diff *df, const decision *d, int is_b)
{
    if (!d->elig) {
        if (is_b) {
            df->eligible_b++;
            if (d->maxc == d->maxc)
                df->maxc_b += d->maxc;
        } else {
            df->eligible_a++;
            if (d->maxc == d->maxc)
                df->maxc_a += d->maxc;
        }
    }
    if (d->niva)
        df->any_niva = 1;
    if (d->spar)
        df->any_spar = 1;
}

static int open_side(diff *df, side *sd, pf_error *err)
{
    pf_reader_options ro = {.on_reject = on_reject, .reject_ctx = sd};
    int rc = pf_reader_open(&sd->r, df->s, sd->path, &ro, err);
    if (!rc)
        rc = pf_reader_frame_new(sd->r, CHUNK, &sd->f, err);
    return rc;
}

static void side_stats(side *sd)
{
    const pf_reader_stats *st = pf_reader_stats_get(sd->r);
    sd->rows_read = st->rows_read;
    sd->rows_rejected = st->rows_rejected;
}

/* Reads A into the map. */
static int load_a(diff *df, pf_error *err)
{
    side *sd = &df->A;
    int rc;
    while ((rc = pf_reader_read(sd->r, sd->f, err)) > 0) {
        const pf_frame *f = sd->f;
        for (size_t i = 0; i < f->n; i++) {
            size_t n;
            const char *id = row_id(df, f, i, &n);
            uint32_t h = hash_id(id, n);
            if (idmap_find(&df->a, id, n, h)) {
                sd->duplicates++;
                continue;
            }
            entry *e = idmap_add(&df->a, id, n, h);
            if (!e)
                return pf_error_set(err, PF_ENOMEM, "out of memory holding the ids of %s",
                                    sd->path);
            e->row = f->row[i] > UINT32_MAX ? UINT32_MAX : (uint32_t) f->row[i];
            if (read_decision(df, f, i, &e->d))
                return too_many_codes(sd, err);
            tally_side(df, &e->d, 0);
        }
    }
    side_stats(sd);
    return rc;
}

/* Streams B past the map. */
static int stream_b(diff *df, pf_error *err)
{
    side *sd = &df->B;
    int rc;
    while ((rc = pf_reader_read(sd->r, sd->f, err)) > 0) {
        const pf_frame *f = sd->f;
        for (size_t i = 0; i < f->n; i++) {
            size_t n;
            const char *id = row_id(df, f, i, &n);
            decision b;
            if (read_decision(df, f, i, &b))
                return too_many_codes(sd, err);
            entry *e = idmap_find(&df->a, id, n, hash_id(id, n));
            if (e && e->matched) {
                sd->duplicates++;
                continue;
            }
            tally_side(df, &b, 1);
            if (!e) {
                df->only_b++;
                write_change(df, id, n, "only_b", "", 0, NULL, f->row[i], &b);
                continue;
            }
            e->matched = 1;
            df->matched++;
            char fields[96];
            if (compare_pair(df, &e->d, &b, fields, sizeof fields)) {
                df->changed++;
                write_change(df, id, n, "changed", fields, e->row, &e->d, f->row[i], &b);
            }
        }
    }
    side_stats(sd);
    if (rc)
        return rc;
    for (size_t k = 0; k < df->a.n; k++) {
        entry *e = &df->a.e[k];
        if (e->matched)
            continue;
        df->only_a++;
        const char *id = df->a.arena + e->key;
        write_change(df, id, strlen(id), "only_a", "", e->row, &e->d, 0, NULL);
    }
    return 0;
}

/* ---- the report ---- */

typedef const char *(*label_fn)(const diff *df, int k, char *buf);

static const char *lab_grupp(const diff *df, int k, char *buf)
{
    snprintf(buf, 8, "%d", k);
    return buf;
}
static const char *lab_niva(const diff *df, int k, char *buf)
{
    snprintf(buf, 8, "%c", k ? 'A' + k - 1 : '-');
    return buf;
}
static const char *lab_spar(const diff *df, int k, char *buf)
{
    if (k)
        snprintf(buf, 8, "%d", k);
    else
        snprintf(buf, 8, "-");
    return buf;
}
static const char *lab_elig(const diff *df, int k, char *buf)
{
    return k ? (*df->rules.s[k - 1] ? df->rules.s[k - 1] : "nej") : "ja";
}

/* Prints the matrix m (n x n, row stride `stride`) over categories
 * [first, n), skipping categories empty on both sides. */
static void print_matrix(FILE *o, const diff *df, const char *title, const int64_t *m, int stride,
                         int first, int n, label_fn lab)
{
    int used[MAX_CODES + 1] = {0};
    for (int i = first; i < n; i++)
        for (int j = first; j < n; j++)
            if (m[i * stride + j])
                used[i] = used[j] = 1;
    int w = 8;
    char buf[16];
    for (int k = first; k < n; k++)
        if (used[k] && (int) strlen(lab(df, k, buf)) + 1 > w)
            w = (int) strlen(lab(df, k, buf)) + 1;
    fprintf(o, "%s (rows: A, columns: B)\n  %-*s", title, w, "");
    for (int j = first; j < n; j++)
        if (used[j])
            fprintf(o, " %*s", w, lab(df, j, buf));
    fprintf(o, " %*s\n", w, "total");
    for (int i = first; i < n; i++) {
        if (!used[i])
            continue;
        const char *l = lab(df, i, buf);
        fprintf(o, "  %s%*s", l, pf_cli_pad(l, w), "");
        int64_t t = 0;
        for (int j = first; j < n; j++)
            if (used[j]) {
                fprintf(o, " %*lld", w, (long long) m[i * stride + j]);
                t += m[i * stride + j];
            }
        fprintf(o, " %*lld\n", w, (long long) t);
    }
}

static void report(FILE *o, const diff *df, const char *changes_path)
{
    const side *sd[2] = {&df->A, &df->B};
    for (int k = 0; k < 2; k++)
        fprintf(o, "%s:          %s: %lld rows read, %lld rejected, %lld duplicate ids\n",
                k ? "B" : "A", sd[k]->path, (long long) sd[k]->rows_read,
                (long long) sd[k]->rows_rejected, (long long) sd[k]->duplicates);
    fprintf(o, "ids:        %lld in both, %lld only in A, %lld only in B\n",
            (long long) df->matched, (long long) df->only_a, (long long) df->only_b);
    fprintf(o, "changed:    %lld decisions (", (long long) df->changed);
    for (int k = 0; k < 6; k++)
        fprintf(o, "%s%s %lld", k ? ", " : "", field_name[k], (long long) df->by_field[k]);
    fprintf(o, ")\n");
    fprintf(o, "eligible:   A %lld, B %lld; their maximum compensation A %.0f kr, B %.0f kr\n\n",
            (long long) df->eligible_a, (long long) df->eligible_b, df->maxc_a, df->maxc_b);
    print_matrix(o, df, "grupp", &df->grupp[0][0], 4, 1, 4, lab_grupp);
    if (df->any_niva)
        print_matrix(o, df, "nivå", &df->niva[0][0], 4, 0, 4, lab_niva);
    if (df->any_spar)
        print_matrix(o, df, "spår", &df->spar[0][0], 5, 0, 5, lab_spar);
    print_matrix(o, df, "eligibility", &df->elig[0][0], MAX_CODES + 1, 0, (int) df->rules.n + 1,
                 lab_elig);
    if (df->matched) {
        double n = (double) df->matched, mean = df->sum_dp / n;
        double var = df->sum_dp2 / n - mean * mean;
        fprintf(o,
                "\np, B - A:   mean %+.6f, sd %.6f, min %+.6f, max %+.6f; changed for %lld of "
                "%lld\n",
                mean, var > 0 ? sqrt(var) : 0.0, df->min_dp, df->max_dp,
                (long long) df->n_dp_changed, (long long) df->matched);
        for (int k = 0; k < NBINS; k++)
            fprintf(o, "  |change| %-14s %12lld\n", bin_label[k], (long long) df->bins[k]);
    }
    if (changes_path)
        fprintf(o, "\nchanges:    %s (%lld persons)\n", changes_path, (long long) df->written);
}

static json_t *matrix_json(const diff *df, const int64_t *m, int stride, int first, int n,
                           label_fn lab)
{
    json_t *out = json_array();
    char b1[16], b2[16];
    for (int i = first; i < n; i++)
        for (int j = first; j < n; j++)
            if (m[i * stride + j])
                json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "a", lab(df, i, b1), "b",
                                                     lab(df, j, b2), "rows",
                                                     (json_int_t) m[i * stride + j]));
    return out;
}

static int write_json(const char *path, const diff *df, pf_error *err)
{
    json_t *bins = json_array();
    for (int k = 0; k < NBINS; k++)
        json_array_append_new(bins, json_pack("{s:s,s:I}", "abs_change", bin_label[k], "rows",
                                              (json_int_t) df->bins[k]));
    json_t *by = json_object();
    for (int k = 0; k < 6; k++)
        json_object_set_new(by, field_name[k], json_integer(df->by_field[k]));
    double n = df->matched ? (double) df->matched : 1, mean = df->sum_dp / n;
    double var = df->sum_dp2 / n - mean * mean;
    json_t *j = json_pack(
        "{s:s,s:{s:s,s:I,s:I,s:I},s:{s:s,s:I,s:I,s:I},s:{s:I,s:I,s:I},s:I,s:o,s:{s:I,s:I,s:f,s:"
        "f},s:{s:o,s:o,s:o,s:o},s:{s:I,s:f,s:f,s:f,s:f,s:I,s:o}}",
        "format", "profil-diff/1", "a", "path", df->A.path, "rows_read",
        (json_int_t) df->A.rows_read, "rows_rejected", (json_int_t) df->A.rows_rejected,
        "duplicate_ids", (json_int_t) df->A.duplicates, "b", "path", df->B.path, "rows_read",
        (json_int_t) df->B.rows_read, "rows_rejected", (json_int_t) df->B.rows_rejected,
        "duplicate_ids", (json_int_t) df->B.duplicates, "ids", "both", (json_int_t) df->matched,
        "only_a", (json_int_t) df->only_a, "only_b", (json_int_t) df->only_b, "changed",
        (json_int_t) df->changed, "changed_by_field", by, "eligible", "a",
        (json_int_t) df->eligible_a, "b", (json_int_t) df->eligible_b, "max_ersattning_a",
        df->maxc_a, "max_ersattning_b", df->maxc_b, "transitions", "grupp",
        matrix_json(df, &df->grupp[0][0], 4, 1, 4, lab_grupp), "niva",
        matrix_json(df, &df->niva[0][0], 4, 0, 4, lab_niva), "spar",
        matrix_json(df, &df->spar[0][0], 5, 0, 5, lab_spar), "eligibility",
        matrix_json(df, &df->elig[0][0], MAX_CODES + 1, 0, (int) df->rules.n + 1, lab_elig),
        "p_change", "rows", (json_int_t) df->matched, "mean", df->matched ? mean : 0.0, "sd",
        var > 0 ? sqrt(var) : 0.0, "min", df->matched ? df->min_dp : 0.0, "max",
        df->matched ? df->max_dp : 0.0, "changed", (json_int_t) df->n_dp_changed, "abs_change_bins",
        bins);
    return pf_compare_write_json(path, j, err);
}

int pf_cmd_diff(int argc, char **argv)
{
    enum { O_JSON = 256 };
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'}, {"json", required_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, 'q'},        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
    const char *output = NULL, *json = NULL;
    int quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            output = optarg;
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
    if (argc - optind != 2)
        return pf_cli_usage_error(cmd, "expected two scored files, A and B");
    if (!strcmp(argv[optind], "-") && !strcmp(argv[optind + 1], "-"))
        return pf_cli_usage_error(cmd, "only one of A and B can be standard input");

    static diff df; /* large matrices: not on the stack */
    memset(&df, 0, sizeof df);
    df.A.path = argv[optind];
    df.B.path = argv[optind + 1];
    pf_error err = {0};
    pf_schema *s = NULL;
    char sp[4096];
    int exit_code = PF_EXIT_USAGE, rc;
    if (pf_cli_load_schema(cmd, pf_cli_data_path(sp, sizeof sp, DECISIONS_SCHEMA), &s))
        return PF_EXIT_USAGE;
    df.s = s;
    df.c_id = pf_schema_find(s, "id");
    df.c_p = pf_schema_find(s, "p");
    df.c_grupp = pf_schema_find(s, "grupp");
    df.c_niva = pf_schema_find(s, "niva");
    df.c_spar = pf_schema_find(s, "spar");
    df.c_area = pf_schema_find(s, "leveransomrade");
    df.c_maxc = pf_schema_find(s, "max_ersattning");
    df.c_elig = pf_schema_find(s, "eligible");
    df.c_rule = pf_schema_find(s, "ineligible_rule");
    side *sides[2] = {&df.A, &df.B};
    for (int k = 0; k < 2; k++)
        if ((rc = open_side(&df, sides[k], &err))) {
            pf_cli_input_error(cmd, sides[k]->path, err.message);
            exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
            goto out;
        }
    if (output) {
        if ((rc = pf_outfile_open(&df.out, output, &err))) {
            pf_cli_error(cmd, "%s", err.message);
            goto out;
        }
        pf_outfile_puts(df.out, CHANGES_HEADER);
    }
    exit_code = PF_EXIT_FAIL;
    if ((rc = load_a(&df, &err))) {
        pf_cli_input_error(cmd, df.A.path, err.message);
        goto out;
    }
    if ((rc = stream_b(&df, &err))) {
        pf_cli_input_error(cmd, df.B.path, err.message);
        goto out;
    }
    if (df.out) {
        rc = pf_outfile_commit(df.out, &err);
        df.out = NULL;
        if (rc) {
            pf_cli_error(cmd, "%s", err.message);
            goto out;
        }
    }
    if (json && (rc = write_json(json, &df, &err))) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    if (!quiet)
        report(stdout, &df, output);
    for (int k = 0; k < 2; k++) {
        if (sides[k]->rows_rejected)
            pf_cli_error(cmd, "%s: %lld rows rejected (profil validate --schema %s lists them)",
                         sides[k]->path, (long long) sides[k]->rows_rejected, sp);
        if (sides[k]->duplicates)
            pf_cli_error(cmd, "%s: %lld rows repeat an id seen before (the first is compared)",
                         sides[k]->path, (long long) sides[k]->duplicates);
    }
    int same = !df.changed && !df.only_a && !df.only_b && !df.A.rows_rejected &&
               !df.B.rows_rejected && !df.A.duplicates && !df.B.duplicates;
    exit_code = same ? PF_EXIT_OK : PF_EXIT_FAIL;
out:
    pf_outfile_abort(df.out);
    for (int k = 0; k < 2; k++) {
        pf_frame_free(sides[k]->f);
        pf_reader_close(sides[k]->r);
    }
    idmap_free(&df.a);
    codes_free(&df.rules);
    codes_free(&df.areas);
    pf_schema_free(s);
    return exit_code;
}
