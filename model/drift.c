/*
 * drift.c - population stability index against the model's training
 * distributions (see drift.h).
 *
 * The training side comes from the model file's "distributions": category
 * shares by code, or numeric bins (upper edges and shares) with a missing
 * share. Each feature gets nbins + 1 counters, the last for missing values.
 */
#include "profil/drift.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOOR     1e-4
#define MAX_EDGES 32
#define SMALL     4096 /* whole numbers below this are binned by table */

typedef struct dfeature {
    int col;
    int numeric;
    size_t nbins; /* not counting the missing bin */
    double edge[MAX_EDGES];
    double *expected; /* nbins + 1 shares */
    int64_t *count;   /* nbins + 1 */
    int64_t *tally;   /* 4 (nbins + 1): scratch of pf_drift_add for categories */
    char **label;     /* nbins + 1 bin names */
    uint8_t *small;   /* numeric: the bin of each whole number 0..SMALL-1 */
} dfeature;

struct pf_drift {
    const pf_schema *s;
    size_t nf;
    dfeature *f;
};

static void feature_free(dfeature *f)
{
    if (f->label)
        for (size_t b = 0; b <= f->nbins; b++)
            free(f->label[b]);
    free(f->label);
    free(f->expected);
    free(f->count);
    free(f->tally);
    free(f->small);
}

void pf_drift_free(pf_drift *d)
{
    if (!d)
        return;
    for (size_t k = 0; k < d->nf; k++)
        feature_free(&d->f[k]);
    free(d->f);
    free(d);
}

static int alloc_bins(dfeature *f)
{
    f->expected = calloc(f->nbins + 1, sizeof *f->expected);
    f->count = calloc(f->nbins + 1, sizeof *f->count);
    f->tally = calloc(4 * (f->nbins + 1), sizeof *f->tally);
    f->label = calloc(f->nbins + 1, sizeof *f->label);
    return f->expected && f->count && f->tally && f->label ? 0 : -1;
}

/* The bin of a non-missing value: the number of edges below it, counted
 * without branches (edges ascend), which a scan's exit would miss. */
static size_t bin_of(const dfeature *f, double x)
{
    size_t b = 0;
    for (size_t e = 0; e + 1 < f->nbins; e++)
        b += x > f->edge[e];
    return b;
}

/* Counts of days and periods, most numeric features, are whole numbers:
 * their bins are looked up, computed once by bin_of. */
static int build_small(dfeature *f)
{
    if (!(f->small = malloc(SMALL)))
        return -1;
    for (int x = 0; x < SMALL; x++)
        f->small[x] = (uint8_t) bin_of(f, (double) x);
    return 0;
}

static char *label_of(const char *fmt, double a, double b)
{
    char buf[96];
    snprintf(buf, sizeof buf, fmt, a, b);
    return strdup(buf);
}

/* Reads one feature's training distribution; 1 when usable, 0 to skip,
 * -1 when out of memory. */
static int read_feature(const pf_schema *s, const char *name, json_t *dist, dfeature *f)
{
    int col = pf_schema_find(s, name);
    if (col < 0 || !json_is_object(dist))
        return 0;
    const pf_column *c = &s->cols[col];
    f->col = col;
    double missing = json_number_value(json_object_get(dist, "missing_share"));
    if (c->type == PF_TYPE_CATEGORY || c->type == PF_TYPE_BOOLEAN) {
        json_t *shares = json_object_get(dist, "shares");
        if (!json_is_object(shares))
            return 0;
        f->nbins = c->nlevels;
        if (alloc_bins(f))
            return -1;
        for (size_t l = 0; l < c->nlevels; l++) {
            f->expected[l] = json_number_value(json_object_get(shares, c->levels[l].code));
            if (!(f->label[l] = strdup(c->levels[l].code)))
                return -1;
        }
    } else {
        json_t *bins = json_object_get(dist, "bins");
        json_t *edges = json_object_get(bins, "edges"), *shares = json_object_get(bins, "shares");
        size_t ne = json_array_size(edges);
        if (!json_is_array(edges) || ne > MAX_EDGES || json_array_size(shares) != ne + 1)
            return 0; /* a model without bins: numeric drift is not checked */
        f->numeric = 1;
        f->nbins = ne + 1;
        if (alloc_bins(f))
            return -1;
        for (size_t b = 0; b < ne; b++)
            f->edge[b] = json_number_value(json_array_get(edges, b));
        if (build_small(f))
            return -1;
        for (size_t b = 0; b <= ne; b++) {
            f->expected[b] = json_number_value(json_array_get(shares, b));
            f->label[b] = b == 0    ? label_of("<= %g", f->edge[0], 0)
                          : b == ne ? label_of("> %g", f->edge[ne - 1], 0)
                                    : label_of("(%g, %g]", f->edge[b - 1], f->edge[b]);
            if (!f->label[b])
                return -1;
        }
    }
    f->expected[f->nbins] = missing;
    return (f->label[f->nbins] = strdup("missing")) ? 1 : -1;
}

int pf_drift_new(pf_drift **out, const pf_model *m, pf_error *err)
{
    *out = NULL;
    const pf_schema *s = m->schema;
    json_t *dists = json_object_get(m->meta, "distributions");
    pf_drift *d = calloc(1, sizeof *d);
    if (!d ||
        !(d->f = calloc(json_is_object(dists) ? json_object_size(dists) + 1 : 1, sizeof *d->f))) {
        free(d);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    d->s = s;
    /* In schema column order, whatever the order in the file. */
    for (size_t c = 0; json_is_object(dists) && c < s->ncols; c++) {
        json_t *dist = json_object_get(dists, s->cols[c].name);
        if (!dist)
            continue;
        int rc = read_feature(s, s->cols[c].name, dist, &d->f[d->nf]);
        if (rc < 0) {
            d->nf++;
            pf_drift_free(d);
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        }
        if (rc == 0) {
            feature_free(&d->f[d->nf]);
            memset(&d->f[d->nf], 0, sizeof d->f[d->nf]);
        } else {
            d->nf++;
        }
    }
    *out = d;
    return 0;
}

int pf_drift_clone_empty(const pf_drift *src, pf_drift **out, pf_error *err)
{
    *out = NULL;
    pf_drift *d = calloc(1, sizeof *d);
    if (!d || !(d->f = calloc(src->nf + 1, sizeof *d->f))) {
        free(d);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    d->s = src->s;
    for (size_t k = 0; k < src->nf; k++) {
        const dfeature *a = &src->f[k];
        dfeature *b = &d->f[k];
        d->nf = k + 1;
        b->col = a->col;
        b->numeric = a->numeric;
        b->nbins = a->nbins;
        memcpy(b->edge, a->edge, sizeof b->edge);
        if (alloc_bins(b) || (b->numeric && build_small(b)))
            goto oom;
        memcpy(b->expected, a->expected, (a->nbins + 1) * sizeof *a->expected);
        for (size_t i = 0; i <= a->nbins; i++)
            if (!(b->label[i] = strdup(a->label[i])))
                goto oom;
    }
    *out = d;
    return 0;
oom:
    pf_drift_free(d);
    return pf_error_set(err, PF_ENOMEM, "out of memory");
}

void pf_drift_add(pf_drift *d, const pf_frame *fr, size_t first, size_t n)
{
    for (size_t k = 0; k < d->nf; k++) {
        dfeature *f = &d->f[k];
        if (!f->numeric) {
            /* Consecutive rows mostly share a level (two for kon, akassa):
             * counted into four tallies in turn, so that each increment
             * does not wait for the one before it. */
            const int32_t *cat = fr->col[f->col].cat + first;
            int64_t *c = f->count, *t = f->tally;
            size_t nb = f->nbins + 1, i = 0;
            memset(t, 0, 4 * nb * sizeof *t);
            for (; i + 4 <= n; i += 4)
                for (size_t u = 0; u < 4; u++)
                    t[u * nb + (cat[i + u] < 0 ? f->nbins : (size_t) cat[i + u])]++;
            for (; i < n; i++)
                c[cat[i] < 0 ? f->nbins : (size_t) cat[i]]++;
            for (size_t b = 0; b < nb; b++)
                c[b] += t[b] + t[nb + b] + t[2 * nb + b] + t[3 * nb + b];
            continue;
        }
        const double *num = fr->col[f->col].num + first;
        for (size_t i = 0; i < n; i++) {
            double x = num[i];
            size_t b = f->nbins; /* missing */
            if (x >= 0 && x < SMALL && x == (double) (int) x)
                b = f->small[(int) x];
            else if (x == x)
                b = bin_of(f, x);
            f->count[b]++;
        }
    }
}

void pf_drift_merge(pf_drift *into, const pf_drift *from)
{
    for (size_t k = 0; k < into->nf && k < from->nf; k++)
        for (size_t b = 0; b <= into->f[k].nbins; b++)
            into->f[k].count[b] += from->f[k].count[b];
}

size_t pf_drift_features(const pf_drift *d)
{
    return d->nf;
}

void pf_drift_result_get(const pf_drift *d, size_t k, pf_drift_result *out)
{
    const dfeature *f = &d->f[k];
    int64_t total = 0;
    for (size_t b = 0; b <= f->nbins; b++)
        total += f->count[b];
    memset(out, 0, sizeof *out);
    out->feature = d->s->cols[f->col].name;
    out->rows = total;
    out->psi = NAN;
    if (!total)
        return;
    double psi = 0, worst = -1;
    int df = -1;
    for (size_t b = 0; b <= f->nbins; b++) {
        df += f->expected[b] > FLOOR || f->count[b] > 0;
        double e = f->expected[b] > FLOOR ? f->expected[b] : FLOOR;
        double a = (double) f->count[b] / (double) total;
        a = a > FLOOR ? a : FLOOR;
        double term = (a - e) * log(a / e);
        psi += term;
        if (term > worst) {
            worst = term;
            out->worst_bin = f->label[b];
            out->worst_expected = f->expected[b];
            out->worst_actual = (double) f->count[b] / (double) total;
        }
    }
    out->psi = psi;
    /* 0.999 quantile of chi-square(df) by Wilson and Hilferty's cube-root
     * approximation (within a few per cent from df = 1 on), over n. */
    if (df < 1)
        df = 1;
    double h = 2.0 / (9.0 * df), z = 3.090232;
    double q = df * pow(1 - h + z * sqrt(h), 3);
    out->noise = q / (double) total;
    /* Below PF_DRIFT_MIN_ROWS rows the approximation fails (bins expected to
     * hold fewer than a few rows, floored shares): too few rows to judge. */
    if (total < PF_DRIFT_MIN_ROWS)
        out->noise = INFINITY;
}
