/*
 * whatif_reach.c - counterfactuals: the smallest change of the changeable
 * features that gives a profile a target group, level or track (see
 * whatif.h for the order "smallest" means).
 *
 * The search is exhaustive by the number of changed features: every
 * combination of one changeable feature's values, then of two features'
 * values, and so on, stopping after the first number of changes at which
 * some profile meets the target (no profile with more changes can be
 * smaller). Only changeable features that the model or the policy reads
 * are tried; protected and fixed ones never change. Candidates are scored
 * in batches through the reader and pf_decide, like every other profile,
 * and the best one is scored again on its own to verify it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whatif_impl.h"

#define BATCH             4096
#define PF_WI_MAX_CHANGES 16

int pf_whatif_target_parse(pf_whatif_target *t, const pf_policy *pol, const char *text,
                           pf_error *err)
{
    const char *eq = strchr(text, '=');
    if (!eq)
        return pf_error_set(err, PF_EINVAL,
                            "a target is niva=A|B|C, grupp=1|2|3 or spar=1..4, "
                            "not '%s'",
                            text);
    size_t n = (size_t) (eq - text);
    const char *v = eq + 1;
#define IS(s) (n == strlen(s) && !strncmp(text, s, n))
    if (IS("niva") || IS("nivå")) {
        if (!pol->has_levels)
            return pf_error_set(err, PF_EINVAL, "policy %s has no levels (nivå); try spar=1..4",
                                pol->name);
        if (strlen(v) != 1 || v[0] < 'A' || v[0] > 'C')
            return pf_error_set(err, PF_EINVAL, "nivå is A, B or C, not '%s'", v);
        t->kind = PF_TARGET_LEVEL;
        t->value = v[0];
        return 0;
    }
    if (IS("grupp")) {
        if (strlen(v) != 1 || v[0] < '1' || v[0] > '3')
            return pf_error_set(err, PF_EINVAL, "grupp is 1, 2 or 3, not '%s'", v);
        t->kind = PF_TARGET_GROUP;
        t->value = v[0] - '0';
        return 0;
    }
    if (IS("spar") || IS("spår")) {
        if (!pol->has_tracks)
            return pf_error_set(err, PF_EINVAL, "policy %s has no tracks (spår); try niva=A|B|C",
                                pol->name);
        if (strlen(v) != 1 || v[0] < '1' || v[0] > '4')
            return pf_error_set(err, PF_EINVAL, "spår is 1 to 4, not '%s'", v);
        t->kind = PF_TARGET_TRACK;
        t->value = v[0] - '0';
        return 0;
    }
#undef IS
    return pf_error_set(err, PF_EINVAL, "unknown target '%.*s': niva (nivå), grupp or spar (spår)",
                        (int) n, text);
}

int pf_whatif_target_met(const pf_whatif_target *t, const pf_decision *d)
{
    switch (t->kind) {
    case PF_TARGET_GROUP:
        return d->group == t->value;
    case PF_TARGET_LEVEL:
        return d->level == t->value;
    case PF_TARGET_TRACK:
        return d->track == t->value;
    }
    return 0;
}

/* One searchable feature: its settings column and the values it may take. */
typedef struct cand {
    int k; /* settings column */
    size_t nv;
    int *vi; /* index into the column's values */
    int *steps;
} cand;

/* A found solution, while searching. */
typedef struct hit {
    int k;                                            /* changes */
    int fi[PF_WI_MAX_CHANGES], vi[PF_WI_MAX_CHANGES]; /* candidate feature, value */
    int steps;
    double dp;
    pf_whatif_score score;
} hit;

/* Whether a is smaller than b (same number of changes). */
static int hit_less(const hit *a, const hit *b)
{
    if (a->steps != b->steps)
        return a->steps < b->steps;
    if (a->dp != b->dp)
        return a->dp < b->dp;
    for (int q = 0; q < a->k; q++) {
        if (a->fi[q] != b->fi[q])
            return a->fi[q] < b->fi[q];
        if (a->vi[q] != b->vi[q])
            return a->vi[q] < b->vi[q];
    }
    return 0;
}

typedef struct search {
    const pf_whatif *w;
    const pf_profile *p;
    const pf_whatif_target *t;
    double p0;
    cand *c;
    size_t nc;
    /* batch */
    pf_wi_buf buf;
    size_t nb;
    hit *meta; /* BATCH entries: the changes of each row */
    pf_whatif_score *sc;
    const char **val;
    /* results */
    hit *best;
    size_t keep, nbest, nfound;
    size_t evaluated;
} search;

static void keep_hit(search *S, const hit *h)
{
    S->nfound++;
    size_t pos = S->nbest;
    while (pos > 0 && hit_less(h, &S->best[pos - 1]))
        pos--;
    if (pos >= S->keep)
        return;
    size_t last = S->nbest < S->keep ? S->nbest : S->keep - 1;
    memmove(&S->best[pos + 1], &S->best[pos], (last - pos) * sizeof *S->best);
    S->best[pos] = *h;
    if (S->nbest < S->keep)
        S->nbest++;
}

static int flush(search *S, pf_error *err)
{
    if (!S->nb)
        return 0;
    if (S->buf.failed)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    int64_t rejected = 0, first = 0;
    char problem[600];
    int rc = pf_wi_score_rows(S->w, &S->buf, S->nb, S->sc, NULL, &rejected, problem, sizeof problem,
                              &first, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < S->nb; i++) {
        if (S->sc[i].d.p != S->sc[i].d.p)
            continue; /* rejected: a combination the schema does not allow */
        if (!pf_whatif_target_met(S->t, &S->sc[i].d))
            continue;
        hit *h = &S->meta[i];
        h->score = S->sc[i];
        h->dp = fabs(S->sc[i].d.p - S->p0);
        keep_hit(S, h);
    }
    S->evaluated += S->nb;
    S->nb = 0;
    S->buf.n = 0;
    pf_wi_header(S->w->s, S->w->ws, &S->buf);
    return 0;
}

static int add_row(search *S, int k, const int *fi, const int *vi, pf_error *err)
{
    const pf_profile *p = S->p;
    const pf_whatif_settings *ws = S->w->ws;
    hit *h = &S->meta[S->nb];
    h->k = k;
    h->steps = 0;
    for (int q = 0; q < k; q++) {
        const cand *c = &S->c[fi[q]];
        h->fi[q] = fi[q];
        h->vi[q] = vi[q];
        h->steps += c->steps[vi[q]];
        S->val[c->k] = ws->cols[c->k].values[c->vi[vi[q]]];
    }
    pf_wi_row(S->w->s, ws, &S->buf, p->id, S->val);
    for (int q = 0; q < k; q++)
        S->val[S->c[fi[q]].k] = p->val[S->c[fi[q]].k];
    if (++S->nb == BATCH)
        return flush(S, err);
    return 0;
}

/* Every value combination of the features fi[0..k). */
static int product(search *S, int k, const int *fi, size_t limit, int *limited, pf_error *err)
{
    int vi[PF_WI_MAX_CHANGES] = {0};
    for (int q = 0; q < k; q++)
        if (!S->c[fi[q]].nv)
            return 0;
    for (;;) {
        if (S->evaluated + S->nb >= limit) {
            *limited = 1;
            return 0;
        }
        int rc = add_row(S, k, fi, vi, err);
        if (rc)
            return rc;
        int q = k - 1;
        while (q >= 0 && (size_t) ++vi[q] == S->c[fi[q]].nv)
            vi[q--] = 0;
        if (q < 0)
            return 0;
    }
}

static void free_cands(cand *c, size_t n)
{
    for (size_t k = 0; c && k < n; k++) {
        free(c[k].vi);
        free(c[k].steps);
    }
    free(c);
}

/* The searchable features and their values, with steps from the current
 * value. A current value not in the list allows every value, one step
 * each. */
static int build_cands(search *S, pf_error *err)
{
    const pf_whatif *w = S->w;
    const pf_whatif_settings *ws = w->ws;
    if (!(S->c = calloc(ws->ncols ? ws->ncols : 1, sizeof *S->c)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (size_t k = 0; k < ws->ncols; k++) {
        const pf_whatif_column *wc = &ws->cols[k];
        if (wc->status != PF_WHATIF_CHANGEABLE || !wc->nvalues || !w->used[wc->col])
            continue;
        cand *c = &S->c[S->nc++];
        c->k = (int) k;
        if (!(c->vi = malloc(wc->nvalues * sizeof *c->vi)) ||
            !(c->steps = malloc(wc->nvalues * sizeof *c->steps)))
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        const char *cur = S->p->val[k];
        long ci = -1;
        for (size_t v = 0; v < wc->nvalues; v++)
            if (!strcmp(wc->values[v], cur))
                ci = (long) v;
        for (size_t v = 0; v < wc->nvalues; v++) {
            if ((long) v == ci)
                continue;
            if (ci >= 0 && wc->direction == PF_WHATIF_UP && (long) v < ci)
                continue;
            if (ci >= 0 && wc->direction == PF_WHATIF_DOWN && (long) v > ci)
                continue;
            c->vi[c->nv] = (int) v;
            c->steps[c->nv] = ci >= 0 && wc->ordered ? abs((int) ((long) v - ci)) : 1;
            c->nv++;
        }
    }
    return 0;
}

void pf_whatif_reach_free(pf_whatif_reach *r)
{
    if (!r)
        return;
    for (size_t s = 0; s < r->nsolutions; s++) {
        for (size_t q = 0; q < r->solution[s].nchanges; q++) {
            free(r->solution[s].change[q].from);
            free(r->solution[s].change[q].to);
        }
        free(r->solution[s].change);
    }
    free(r->solution);
    free(r->searched_col);
    free(r);
}

int pf_whatif_apply(pf_profile **out, const pf_whatif *w, const pf_profile *p,
                    const pf_whatif_solution *s, pf_error *err)
{
    int rc = pf_profile_copy(out, p, err);
    for (size_t q = 0; !rc && q < s->nchanges; q++) {
        int k = w->slot[s->change[q].col];
        char *v = strdup(s->change[q].to);
        if (!v) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            break;
        }
        free((*out)->val[k]);
        (*out)->val[k] = v;
        (*out)->src[k] = PF_PROFILE_SET;
    }
    if (rc) {
        pf_profile_free(*out);
        *out = NULL;
    }
    return rc;
}

static int to_solution(search *S, const hit *h, pf_whatif_solution *s, pf_error *err)
{
    const pf_whatif_settings *ws = S->w->ws;
    s->nchanges = (size_t) h->k;
    s->steps = h->steps;
    s->score = h->score;
    if (!(s->change = calloc((size_t) h->k, sizeof *s->change)))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    for (int q = 0; q < h->k; q++) {
        const cand *c = &S->c[h->fi[q]];
        pf_whatif_change *ch = &s->change[q];
        ch->col = ws->cols[c->k].col;
        ch->steps = c->steps[h->vi[q]];
        ch->from = strdup(S->p->val[c->k]);
        ch->to = strdup(ws->cols[c->k].values[c->vi[h->vi[q]]]);
        if (!ch->from || !ch->to)
            return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    return 0;
}

/* The best solution scored anew as a profile of its own. */
static int verify(search *S, pf_whatif_reach *r, pf_error *err)
{
    pf_profile *q = NULL;
    int rc = pf_whatif_apply(&q, S->w, S->p, &r->solution[0], err);
    if (rc)
        return rc;
    pf_whatif_score sc;
    rc = pf_whatif_score_profiles(S->w, (const pf_profile *const *) &q, 1, &sc, err);
    pf_profile_free(q);
    if (rc)
        return rc;
    const pf_decision *a = &sc.d, *b = &r->solution[0].score.d;
    r->verified = pf_whatif_target_met(S->t, a) && a->p == b->p && a->group == b->group &&
                  a->level == b->level && a->track == b->track;
    return 0;
}

int pf_whatif_reach_run(pf_whatif_reach **out, const pf_whatif *w, const pf_profile *p,
                        const pf_whatif_target *t, const pf_whatif_reach_options *opt,
                        pf_error *err)
{
    *out = NULL;
    pf_whatif_reach *r = calloc(1, sizeof *r);
    if (!r)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    r->target = *t;
    search S = {.w = w, .p = p, .t = t};
    int alternatives = opt && opt->alternatives ? opt->alternatives : 4;
    S.keep = 1 + (size_t) (alternatives < 0 ? 0 : alternatives);
    size_t limit = opt && opt->max_profiles ? opt->max_profiles : PF_WHATIF_MAX_PROFILES;
    int rc = pf_whatif_score_profiles(w, &p, 1, &r->current, err);
    if (rc)
        goto out;
    S.p0 = r->current.d.p;
    if (pf_whatif_target_met(t, &r->current.d)) {
        r->status = PF_REACH_ALREADY;
        r->complete = 1;
        r->verified = 1;
        goto out;
    }
    if ((rc = build_cands(&S, err)))
        goto out;
    if (!(r->searched_col = malloc((S.nc ? S.nc : 1) * sizeof *r->searched_col))) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < S.nc; k++)
        r->searched_col[r->nsearched++] = w->ws->cols[S.c[k].k].col;
    int kmax = (int) S.nc;
    if (kmax > PF_WI_MAX_CHANGES)
        kmax = PF_WI_MAX_CHANGES;
    if (opt && opt->max_changes > 0 && opt->max_changes < kmax)
        kmax = opt->max_changes;
    S.meta = malloc(BATCH * sizeof *S.meta);
    S.sc = malloc(BATCH * sizeof *S.sc);
    S.best = malloc(S.keep * sizeof *S.best);
    S.val = malloc((p->n ? p->n : 1) * sizeof *S.val);
    if (!S.meta || !S.sc || !S.best || !S.val) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < p->n; k++)
        S.val[k] = p->val[k];
    pf_wi_header(w->s, w->ws, &S.buf);
    int limited = 0;
    for (int k = 1; k <= kmax && !S.nfound && !limited; k++) {
        /* Subsets of k features in lexicographic order. */
        int fi[PF_WI_MAX_CHANGES];
        for (int q = 0; q < k; q++)
            fi[q] = q;
        for (;;) {
            if ((rc = product(&S, k, fi, limit, &limited, err)))
                goto out;
            if (limited)
                break;
            int q = k - 1;
            while (q >= 0 && fi[q] == (int) S.nc - k + q)
                q--;
            if (q < 0)
                break;
            fi[q]++;
            for (int j = q + 1; j < k; j++)
                fi[j] = fi[j - 1] + 1;
        }
        if ((rc = flush(&S, err)))
            goto out;
        r->max_changes = k;
    }
    r->evaluated = S.evaluated;
    r->complete = !limited;
    r->nfound = S.nfound;
    if (S.nbest) {
        r->status = PF_REACH_FOUND;
        if (!(r->solution = calloc(S.nbest, sizeof *r->solution))) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t s = 0; s < S.nbest; s++) {
            r->nsolutions = s + 1;
            if ((rc = to_solution(&S, &S.best[s], &r->solution[s], err)))
                goto out;
        }
        rc = verify(&S, r, err);
    } else {
        r->status = limited || kmax < (int) S.nc ? PF_REACH_LIMIT : PF_REACH_NONE;
    }
out:
    free(S.buf.p);
    free(S.meta);
    free(S.sc);
    free(S.best);
    free(S.val);
    free_cands(S.c, S.nc);
    if (rc) {
        pf_whatif_reach_free(r);
        return rc;
    }
    *out = r;
    return 0;
}
