/*
 * decide.c - the one scoring function (see decide.h).
 *
 * For each row the model gives the logit and per-feature contributions
 * (category levels by table lookup, other terms one by one), and the
 * policy turns p into group, level or track, target groups, area,
 * compensation and eligibility. Each row's result depends on that row
 * alone and every sum runs in a fixed order, so the output is the same
 * whatever the chunking or thread count.
 *
 * A gbdt model (gbdt.h) is scored by its tree kernel a block of rows at a
 * time, and its contributions are TreeSHAP values against the expected
 * logit of the training population.
 */
#include "profil/decide.h"

#include "profil/gbdt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Where a term's contribution goes: up to three features, shared equally. */
typedef struct term_share {
    uint8_t nfeat;
    uint16_t feat[PF_TERM_MAX_FACTORS];
    double share;
} term_share;

/* The terms that are one category level each ("kommun=0180"), gathered by
 * column: a row matches at most one of them, found by a table lookup
 * instead of testing every level. Their joint contribution against the
 * reference is coef[matched] - sum_j coef_j * ref_j over the group. */
typedef struct level_group {
    int col;
    uint16_t feat;
    int32_t nlevels;
    int32_t *term_of_level; /* level -> term index, or -1 */
    double ref_sum;
} level_group;

struct pf_decider {
    const pf_model *m;
    const pf_policy *pol;
    int nreasons;
    size_t nterms;
    size_t nfeat;
    int *feat_col;     /* schema column of each feature */
    term_share *share; /* per term */
    double *ref;       /* per term reference value (zeros when the model has none) */
    double ref_logit;
    size_t ngeneric; /* the other terms, evaluated one by one */
    uint32_t *generic;
    size_t ngroups;
    level_group *groups;
    const pf_gbdt *gbdt; /* the trees of a gbdt model, else NULL */
};

static int build_groups(pf_decider *d, const int *slot)
{
    const pf_encoder *e = d->m->enc;
    const pf_schema *S = d->m->schema;
    d->generic = malloc((e->nterms ? e->nterms : 1) * sizeof *d->generic);
    d->groups = calloc(S->ncols ? S->ncols : 1, sizeof *d->groups);
    if (!d->generic || !d->groups)
        return -1;
    for (size_t j = 0; j < e->nterms; j++) {
        const pf_term *t = &e->terms[j];
        level_group *g = NULL;
        if (t->nfactors == 1 && t->factor[0].kind == PF_FACTOR_LEVEL) {
            int col = t->factor[0].col;
            for (size_t k = 0; k < d->ngroups; k++)
                if (d->groups[k].col == col)
                    g = &d->groups[k];
            if (!g) {
                g = &d->groups[d->ngroups++];
                g->col = col;
                g->feat = (uint16_t) slot[col];
                g->nlevels = (int32_t) S->cols[col].nlevels;
                if (!(g->term_of_level = malloc((S->cols[col].nlevels + 1) * sizeof(int32_t))))
                    return -1;
                for (int32_t l = 0; l < g->nlevels; l++)
                    g->term_of_level[l] = -1;
            }
            int32_t lev = t->factor[0].level;
            if (lev >= 0 && lev < g->nlevels && g->term_of_level[lev] < 0) {
                g->term_of_level[lev] = (int32_t) j;
                g->ref_sum += d->m->coef[j] * d->ref[j];
                continue;
            }
        }
        d->generic[d->ngeneric++] = (uint32_t) j;
    }
    return 0;
}

int pf_decider_new(pf_decider **out, const pf_model *m, const pf_policy *p,
                   const pf_decider_options *opt, pf_error *err)
{
    *out = NULL;
    if (m->schema != p->schema &&
        (strcmp(m->schema->name, p->schema->name) || strcmp(m->schema->sha256, p->schema->sha256)))
        return pf_error_set(err, PF_EINVAL,
                            "model %s and policy %s were loaded with different schemas (%s, %s)",
                            m->sha256, p->name, m->schema->name, p->schema->name);
    int nreasons = opt ? opt->reasons : 3;
    if (nreasons < 0 || nreasons > PF_DECISION_MAX_REASONS)
        return pf_error_set(err, PF_EINVAL, "reasons must be 0 to %d", PF_DECISION_MAX_REASONS);
    pf_decider *d = calloc(1, sizeof *d);
    const pf_encoder *e = m->enc;
    size_t ncols = m->schema->ncols;
    int *slot = malloc(ncols * sizeof *slot);
    if (!d || !slot || !(d->feat_col = malloc(ncols * sizeof *d->feat_col)))
        goto oom;
    d->m = m;
    d->pol = p;
    d->nreasons = nreasons;
    if (m->gbdt) {
        d->gbdt = m->gbdt;
        d->nfeat = m->gbdt->nfeat;
        memcpy(d->feat_col, m->gbdt->feat_col, d->nfeat * sizeof *d->feat_col);
        d->ref_logit = pf_gbdt_expected_value(m->gbdt);
        free(slot);
        *out = d;
        return 0;
    }
    d->nterms = e->nterms;
    d->share = calloc(e->nterms, sizeof *d->share);
    d->ref = calloc(e->nterms, sizeof *d->ref);
    if (!d->share || !d->ref)
        goto oom;
    /* Features in schema column order. */
    for (size_t c = 0; c < ncols; c++)
        slot[c] = -1;
    for (size_t c = 0; c < ncols; c++)
        for (size_t j = 0; j < e->nterms; j++)
            if (pf_term_uses(&e->terms[j], (int) c)) {
                slot[c] = (int) d->nfeat;
                d->feat_col[d->nfeat++] = (int) c;
                break;
            }
    for (size_t j = 0; j < e->nterms; j++) {
        term_share *ts = &d->share[j];
        const pf_term *t = &e->terms[j];
        for (size_t k = 0; k < t->nfactors; k++) {
            int s = slot[t->factor[k].col], seen = 0;
            for (size_t q = 0; q < ts->nfeat; q++)
                seen |= ts->feat[q] == s;
            if (!seen)
                ts->feat[ts->nfeat++] = (uint16_t) s;
        }
        ts->share = ts->nfeat ? 1.0 / ts->nfeat : 0;
        if (m->ref)
            d->ref[j] = m->ref[j];
        else if (!e->terms[j].nfactors)
            d->ref[j] = 1; /* the all-zero design row still has its intercept */
        d->ref_logit += m->coef[j] * d->ref[j];
    }
    if (build_groups(d, slot))
        goto oom;
    free(slot);
    *out = d;
    return 0;
oom:
    free(slot);
    pf_decider_free(d);
    return pf_error_set(err, PF_ENOMEM, "out of memory");
}

void pf_decider_free(pf_decider *d)
{
    if (!d)
        return;
    for (size_t k = 0; k < d->ngroups; k++)
        free(d->groups[k].term_of_level);
    free(d->groups);
    free(d->generic);
    free(d->feat_col);
    free(d->share);
    free(d->ref);
    free(d);
}

const pf_model *pf_decider_model(const pf_decider *d)
{
    return d->m;
}

const pf_policy *pf_decider_policy(const pf_decider *d)
{
    return d->pol;
}

const int *pf_decider_features(const pf_decider *d, size_t *n)
{
    *n = d->nfeat;
    return d->feat_col;
}

double pf_decider_reference_logit(const pf_decider *d)
{
    return d->ref_logit;
}

/* The logits of rows first..first+n-1 of f and each feature's
 * contribution against the reference, contrib[q * ld + r] (feature-major
 * for a block, ld = 1 for one row). Each term is evaluated over the rows
 * (pf_encoder_column), then added row by row, so every row's sums run in
 * the same fixed order whatever n: generic terms in term order, then the
 * level groups in the order their first term appears. xcol is scratch for
 * n values. */
/* A block's contributions are EXPLAIN_LD apart, not 256: a row's reads
 * 2 KiB apart would all fall in the same two sets of the L1 cache. */
enum { EXPLAIN_BLOCK = 256, EXPLAIN_LD = EXPLAIN_BLOCK + 8 };

static void explain_rows(const pf_decider *d, const pf_frame *f, size_t first, size_t n,
                         double *eta, double *contrib, size_t ld, double *xcol)
{
    const double *coef = d->m->coef;
    const pf_encoder *e = d->m->enc;
    memset(eta, 0, n * sizeof *eta);
    for (size_t q = 0; q < d->nfeat; q++)
        memset(contrib + q * ld, 0, n * sizeof *contrib);
    for (size_t k = 0; k < d->ngeneric; k++) {
        size_t j = d->generic[k];
        pf_encoder_column(e, j, f, first, n, xcol);
        double b = coef[j], ref = d->ref[j];
        for (size_t r = 0; r < n; r++)
            eta[r] += b * xcol[r];
        const term_share *ts = &d->share[j];
        for (size_t q = 0; q < ts->nfeat; q++) { /* none for the intercept */
            double *cq = contrib + ts->feat[q] * ld;
            for (size_t r = 0; r < n; r++)
                cq[r] += b * (xcol[r] - ref) * ts->share;
        }
    }
    for (size_t k = 0; k < d->ngroups; k++) {
        const level_group *g = &d->groups[k];
        const int32_t *cat = f->col[g->col].cat + first;
        double *cq = contrib + g->feat * ld;
        for (size_t r = 0; r < n; r++) {
            int32_t lev = cat[r];
            int32_t j = lev >= 0 && lev < g->nlevels ? g->term_of_level[lev] : -1;
            double b = j >= 0 ? coef[j] : 0;
            eta[r] += b;
            cq[r] += b - g->ref_sum;
        }
    }
}

static double explain_row(const pf_decider *d, const pf_frame *f, size_t i, double *contrib)
{
    double eta, x;
    explain_rows(d, f, i, 1, &eta, contrib, 1, &x);
    return eta;
}

/* TreeSHAP contributions of row i (pf_gbdt_contributions); NaN when out of memory. */
static double explain_trees(const pf_decider *d, const pf_frame *f, size_t i, double *contrib)
{
    double *x = malloc((d->nfeat + pf_gbdt_shap_workspace(d->gbdt)) * sizeof *x);
    if (!x)
        return NAN;
    pf_gbdt_gather(d->gbdt, f, i, 1, x);
    double eta = pf_gbdt_contributions(d->gbdt, x, contrib, x + d->nfeat);
    free(x);
    return eta;
}

double pf_decider_contributions(const pf_decider *d, const pf_frame *f, size_t i, double *contrib)
{
    return d->gbdt ? explain_trees(d, f, i, contrib) : explain_row(d, f, i, contrib);
}

static double logistic(double eta)
{
    if (eta >= 0)
        return 1 / (1 + exp(-eta));
    double e = exp(eta);
    return e / (1 + e);
}

/* The k largest |contribution| (ties: lower schema column first), feature
 * q's contribution being contrib[q * stride]: their features, largest
 * first, into top_q; returns how many (fewer than k when fewer are
 * nonzero). The best so far are kept by |c|, largest first; what a
 * contribution must exceed to get in is 0 (zero and NaN never do) until k
 * are held, then the k-th. Strictly: features come in column order, so an
 * equal |c| already held stays first. */
static int top_k(const double *contrib, size_t stride, size_t nfeat, int k, int *top_q)
{
    double top_a[PF_DECISION_MAX_REASONS];
    double floor_a = 0;
    int n = 0;
    if (k == 0)
        return 0;
    for (size_t q = 0; q < nfeat; q++) {
        double a = fabs(contrib[q * stride]);
        if (!(a > floor_a))
            continue;
        int pos = n < k ? n : k - 1; /* when full, the k-th gives way */
        for (; pos > 0 && top_a[pos - 1] < a; pos--) {
            top_a[pos] = top_a[pos - 1];
            top_q[pos] = top_q[pos - 1];
        }
        top_a[pos] = a;
        top_q[pos] = (int) q;
        if (n < k)
            n++;
        if (n == k)
            floor_a = top_a[k - 1];
    }
    return n;
}

/* top_k for k = 3, the default, with the three in registers: a third
 * faster than the arrays (test_decide compares the two). */
static int top_3(const double *contrib, size_t stride, size_t nfeat, int *top_q)
{
    double a0 = 0, a1 = 0, a2 = 0;
    int q0 = -1, q1 = -1, q2 = -1;
    for (size_t q = 0; q < nfeat; q++) {
        double a = fabs(contrib[q * stride]);
        if (!(a > a2))
            continue;
        if (!(a > a1)) {
            a2 = a, q2 = (int) q;
        } else {
            a2 = a1, q2 = q1;
            if (!(a > a0))
                a1 = a, q1 = (int) q;
            else
                a1 = a0, q1 = q0, a0 = a, q0 = (int) q;
        }
    }
    top_q[0] = q0, top_q[1] = q1, top_q[2] = q2;
    return (q0 >= 0) + (q1 >= 0) + (q2 >= 0);
}

static void top_reasons(const pf_decider *d, const double *contrib, size_t stride, pf_decision *out)
{
    int top_q[PF_DECISION_MAX_REASONS];
    int n = d->nreasons == 3 ? top_3(contrib, stride, d->nfeat, top_q)
                             : top_k(contrib, stride, d->nfeat, d->nreasons, top_q);
    for (int r = 0; r < n; r++) {
        out->reason[r].col = d->feat_col[top_q[r]];
        out->reason[r].contribution = contrib[(size_t) top_q[r] * stride];
    }
    out->nreasons = (uint8_t) n;
}

static void apply_policy(const pf_policy *pol, const pf_frame *f, size_t i, pf_decision *x)
{
    double p = x->p;
    x->group = (int8_t) pf_policy_group(pol, p);
    uint8_t gbit = (uint8_t) (1u << (x->group - 1));
    x->level = 0;
    x->track = 0;
    if (pol->has_levels && (pol->level_groups & gbit))
        x->level = p >= pol->level_a_min ? 'A' : p >= pol->level_b_min ? 'B' : 'C';
    if (pol->has_tracks && (pol->track_groups & gbit)) {
        int enhanced = p < pol->enhanced_below;
        int language = pf_clause_holds(&pol->language_support, f, i);
        x->track = (int8_t) (1 + language + 2 * enhanced);
    }
    x->target_groups = 0;
    for (size_t k = 0; k < pol->ntarget_groups; k++)
        if (pf_clause_holds(&pol->target_groups[k].when, f, i))
            x->target_groups |= UINT32_C(1) << k;
    x->area = -1;
    x->compensation_model = 0;
    int covered = 1; /* a policy without areas covers the whole country */
    if (pol->area_col >= 0) {
        int32_t lev = f->col[pol->area_col].cat[i];
        x->area = lev >= 0 ? pol->area_of_level[lev] : -1;
        covered = x->area >= 0;
        if (covered)
            x->compensation_model = (int8_t) pol->areas[x->area].compensation_model;
    }
    x->max_compensation = NAN;
    if (covered && (x->level || x->track)) {
        const pf_compensation *c =
            pf_policy_compensation(pol, x->level, x->track, x->compensation_model);
        if (c) /* always found: the loader checked every level and model */
            x->max_compensation = c->max_per_participant;
    }
    x->failed_rule = -1;
    for (size_t k = 0; k < pol->nrules; k++) {
        const pf_policy_rule *r = &pol->rules[k];
        int ok = r->kind == PF_POLICY_RULE_AREA    ? covered
                 : r->kind == PF_POLICY_RULE_GROUP ? (r->groups & gbit) != 0
                                                   : pf_clause_holds(&r->when, f, i);
        if (!ok) {
            x->failed_rule = (int16_t) k;
            break;
        }
    }
}

/* Rows of a gbdt model: logits by the tree kernel a block at a time, then
 * TreeSHAP contributions only when reasons are wanted (they cost far more
 * than the logit). */
static int decide_trees(const pf_decider *d, const pf_frame *f, size_t first, size_t n,
                        pf_decision *out, pf_error *err)
{
    enum { BLOCK = 256 };
    size_t nf = d->nfeat, nws = pf_gbdt_shap_workspace(d->gbdt);
    double *x = malloc((BLOCK * nf + BLOCK + nf + nws) * sizeof *x);
    if (!x)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    double *eta = x + BLOCK * nf, *contrib = eta + BLOCK, *ws = contrib + nf;
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t nb = n - i0 < BLOCK ? n - i0 : BLOCK;
        pf_gbdt_gather(d->gbdt, f, first + i0, nb, x);
        pf_gbdt_predict(d->gbdt, x, nb, eta);
        for (size_t r = 0; r < nb; r++) {
            pf_decision *o = &out[i0 + r];
            o->logit = eta[r];
            o->p = logistic(eta[r]);
            o->nreasons = 0;
            if (d->nreasons) {
                pf_gbdt_contributions(d->gbdt, x + r * nf, contrib, ws);
                top_reasons(d, contrib, 1, o);
            }
            apply_policy(d->pol, f, first + i0 + r, o);
        }
    }
    free(x);
    return 0;
}

int pf_decide(const pf_decider *d, const pf_frame *f, size_t first, size_t n, pf_decision *out,
              pf_error *err)
{
    if (d->gbdt)
        return decide_trees(d, f, first, n, out, err);
    size_t nf = d->nfeat;
    double *eta = malloc((EXPLAIN_BLOCK * 2 + EXPLAIN_LD * nf) * sizeof *eta);
    if (!eta)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    double *xcol = eta + EXPLAIN_BLOCK, *contrib = xcol + EXPLAIN_BLOCK;
    for (size_t i0 = 0; i0 < n; i0 += EXPLAIN_BLOCK) {
        size_t nb = n - i0 < EXPLAIN_BLOCK ? n - i0 : EXPLAIN_BLOCK;
        explain_rows(d, f, first + i0, nb, eta, contrib, EXPLAIN_LD, xcol);
        for (size_t r = 0; r < nb; r++) {
            pf_decision *o = &out[i0 + r];
            o->logit = eta[r];
            o->p = logistic(eta[r]);
            top_reasons(d, contrib + r, EXPLAIN_LD, o);
            apply_policy(d->pol, f, first + i0 + r, o);
        }
    }
    free(eta);
    return 0;
}

int pf_decide_frame(const pf_decider *d, const pf_frame *f, pf_decision **buf, size_t *cap,
                    pf_error *err)
{
    if (f->n > *cap) {
        pf_decision *nb = realloc(*buf, f->n * sizeof *nb);
        if (!nb)
            return pf_error_set(err, PF_ENOMEM, "out of memory deciding %zu rows", f->n);
        *buf = nb;
        *cap = f->n;
    }
    return pf_decide(d, f, 0, f->n, *buf, err);
}
