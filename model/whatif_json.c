/*
 * whatif_json.c - cards, sweeps, comparisons and counterfactuals as JSON
 * (see whatif.h): what `profil whatif --json` prints and the HTTP service
 * sends. Keys follow the batch scorer's JSON lines (docs/score.md) where
 * they mean the same: p, logit, grupp, niva, spar, malgrupp,
 * leveransomrade, ersattningsmodell, max_ersattning, eligible,
 * ineligible_rule, ineligible_reason. Documented in docs/cli.md.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "whatif_impl.h"

static json_t *num_or_null(double v)
{
    return v == v && isfinite(v) ? json_real(v) : json_null();
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *value_json(const char *v)
{
    return v && *v ? json_string(v) : json_null();
}

static void set(json_t *o, const char *k, json_t *v)
{
    json_object_set_new(o, k, v ? v : json_null());
}

static const char *source_name(pf_profile_source s)
{
    return s == PF_PROFILE_SET ? "set" : s == PF_PROFILE_FILE ? "file" : "default";
}

/* The decision fields of a score into o. */
static void put_score(json_t *o, const pf_whatif *w, const pf_whatif_score *sc)
{
    const pf_policy *pol = pf_decider_policy(w->d);
    const pf_decision *x = &sc->d;
    set(o, "p", json_real(x->p));
    set(o, "p_ci95", json_pack("[oo]", num_or_null(sc->p_lo), num_or_null(sc->p_hi)));
    set(o, "se_p", num_or_null(sc->se_p));
    set(o, "logit", json_real(x->logit));
    set(o, "se_logit", num_or_null(sc->se_logit));
    set(o, "grupp", json_integer(x->group));
    set(o, "grupp_label",
        str_or_null(x->group >= 1 && x->group <= 3 ? pol->group_label[x->group - 1] : NULL));
    char lv[2] = {x->level, 0};
    set(o, "niva", x->level ? json_string(lv) : json_null());
    set(o, "spar", x->track ? json_integer(x->track) : json_null());
    set(o, "spar_label",
        x->track && pol->track_label[x->track - 1] ? json_string(pol->track_label[x->track - 1])
                                                   : json_null());
    json_t *tg = json_array();
    for (size_t k = 0; k < pol->ntarget_groups; k++)
        if (x->target_groups >> k & 1)
            json_array_append_new(tg, json_pack("{ssss}", "code", pol->target_groups[k].code,
                                                "label", pol->target_groups[k].label));
    set(o, "malgrupp", tg);
    set(o, "leveransomrade", x->area >= 0 ? json_string(pol->areas[x->area].name) : json_null());
    set(o, "ersattningsmodell",
        x->compensation_model ? json_integer(x->compensation_model) : json_null());
    set(o, "max_ersattning", num_or_null(x->max_compensation));
    set(o, "eligible", json_boolean(pf_decision_eligible(x)));
    const pf_policy_rule *r = pf_decision_eligible(x) ? NULL : &pol->rules[x->failed_rule];
    set(o, "ineligible_rule", str_or_null(r ? r->code : NULL));
    set(o, "ineligible_reason", str_or_null(r ? r->reason : NULL));
}

/* The model and policy a result comes from. */
static void put_origin(json_t *o, const pf_whatif *w)
{
    const pf_model *m = pf_decider_model(w->d);
    const pf_policy *pol = pf_decider_policy(w->d);
    char mid[17], pid[17], sid[17];
    snprintf(mid, sizeof mid, "%.16s", m->sha256);
    snprintf(pid, sizeof pid, "%.16s", pol->sha256);
    snprintf(sid, sizeof sid, "%.16s", w->ws->sha256);
    set(o, "model", json_pack("{ssss}", "id", mid, "label", m->label));
    set(o, "policy",
        json_pack("{ssssssss}", "name", pol->name, "version", pol->version, "service", pol->service,
                  "id", pid));
    set(o, "settings", json_pack("{ss}", "id", sid));
}

/* The profile as an object of column: text (null = missing), which reads
 * back as a profile (pf_profile_set_json), and each input in detail. */
static void put_profile(json_t *o, const pf_whatif *w, const pf_profile *p)
{
    json_t *prof = json_object(), *inputs = json_array(), *defaults = json_array();
    if (p->id && *p->id)
        set(o, "id", json_string(p->id));
    else
        set(o, "id", json_null());
    for (size_t k = 0; k < p->n; k++) {
        const pf_whatif_column *wc = &w->ws->cols[k];
        const pf_column *c = &w->s->cols[wc->col];
        set(prof, c->name, value_json(p->val[k]));
        json_t *in = json_object();
        set(in, "feature", json_string(c->name));
        set(in, "label", json_string(c->label));
        set(in, "value", value_json(p->val[k]));
        set(in, "value_label", str_or_null(pf_whatif_value_label(w, wc->col, p->val[k])));
        set(in, "source", json_string(source_name((pf_profile_source) p->src[k])));
        set(in, "status", json_string(pf_whatif_status_name(wc->status)));
        json_array_append_new(inputs, in);
        if (p->src[k] == PF_PROFILE_DEFAULT)
            json_array_append_new(defaults, json_string(c->name));
    }
    set(o, "profile", prof);
    set(o, "defaults", defaults);
    set(o, "inputs", inputs);
}

/* The input text of a feature column (its source column when derived). */
static const char *feature_value(const pf_whatif *w, const pf_profile *p, int col)
{
    const pf_schema *s = w->s;
    int src = col;
    while (src >= 0 && s->cols[src].derived)
        src = s->cols[src].source;
    const char *v = src >= 0 ? pf_profile_get(p, src, NULL) : NULL;
    return v;
}

static json_t *contributions(const pf_whatif *w, const pf_profile *p, const pf_whatif_card *c)
{
    json_t *a = json_array();
    for (size_t k = 0; k < c->nfeat; k++) {
        const pf_column *col = &w->s->cols[c->col[k]];
        json_t *o = json_object();
        set(o, "feature", json_string(col->name));
        set(o, "label", json_string(col->label));
        const char *v = col->derived ? NULL : feature_value(w, p, c->col[k]);
        if (col->derived)
            set(o, "value", json_null());
        else
            set(o, "value", value_json(v));
        set(o, "value_label", str_or_null(v ? pf_whatif_value_label(w, c->col[k], v) : NULL));
        if (col->derived) {
            const pf_column *sc = &w->s->cols[col->source];
            set(o, "derived_from", json_string(sc->name));
        }
        set(o, "contribution", json_real(c->contribution[k]));
        set(o, "direction", json_string(pf_whatif_direction_text(c->contribution[k])));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *pf_whatif_card_json(const pf_whatif *w, const pf_profile *p, const pf_whatif_card *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "kind", json_string("card"));
    put_origin(o, w);
    put_profile(o, w, p);
    put_score(o, w, &c->s);
    set(o, "reference_logit", json_real(c->ref_logit));
    set(o, "contributions", contributions(w, p, c));
    return o;
}

json_t *pf_whatif_sweep_json(const pf_whatif *w, const pf_profile *p, const pf_whatif_sweep *s)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    const pf_column *c = &w->s->cols[s->col];
    set(o, "kind", json_string("sweep"));
    put_origin(o, w);
    put_profile(o, w, p);
    set(o, "feature", json_string(c->name));
    set(o, "label", json_string(c->label));
    set(o, "current", s->current >= 0 ? json_integer(s->current) : json_null());
    json_t *pts = json_array();
    for (size_t k = 0; k < s->n; k++) {
        json_t *pt = json_object();
        set(pt, "value", json_string(s->value[k]));
        set(pt, "value_label", str_or_null(pf_whatif_value_label(w, s->col, s->value[k])));
        put_score(pt, w, &s->score[k]);
        json_array_append_new(pts, pt);
    }
    set(o, "points", pts);
    return o;
}

json_t *pf_whatif_comparison_json(const pf_whatif *w, const pf_profile *a, const pf_profile *b,
                                  const pf_whatif_comparison *c)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "kind", json_string("comparison"));
    put_origin(o, w);
    set(o, "a", pf_whatif_card_json(w, a, c->a));
    set(o, "b", pf_whatif_card_json(w, b, c->b));
    json_t *diff = json_array();
    for (size_t k = 0; k < c->ndiff; k++) {
        int col = c->diff_col[k];
        const char *va = pf_profile_get(a, col, NULL), *vb = pf_profile_get(b, col, NULL);
        json_array_append_new(
            diff, json_pack("{ss ss so so so so}", "feature", w->s->cols[col].name, "label",
                            w->s->cols[col].label, "a", value_json(va), "b", value_json(vb),
                            "a_label", str_or_null(pf_whatif_value_label(w, col, va)), "b_label",
                            str_or_null(pf_whatif_value_label(w, col, vb))));
    }
    set(o, "differences", diff);
    set(o, "delta_p", json_real(c->b->s.d.p - c->a->s.d.p));
    set(o, "delta_logit", json_real(c->b->s.d.logit - c->a->s.d.logit));
    /* Per feature: a, b and b - a, largest |b - a| first (ties: schema order). */
    size_t n = c->a->nfeat;
    json_t *contrib = json_array();
    int *order = malloc((n ? n : 1) * sizeof *order);
    double *d = malloc((n ? n : 1) * sizeof *d), *ca = malloc((n ? n : 1) * sizeof *ca),
           *cb = malloc((n ? n : 1) * sizeof *cb);
    if (order && d && ca && cb) {
        size_t nf;
        const int *fc = pf_decider_features(w->d, &nf);
        for (size_t k = 0; k < n; k++) {
            ca[k] = cb[k] = 0;
            for (size_t q = 0; q < n; q++) {
                if (c->a->col[q] == fc[k])
                    ca[k] = c->a->contribution[q];
                if (c->b->col[q] == fc[k])
                    cb[k] = c->b->contribution[q];
            }
            d[k] = cb[k] - ca[k];
            size_t pos = k;
            while (pos > 0 && fabs(d[order[pos - 1]]) < fabs(d[k])) {
                order[pos] = order[pos - 1];
                pos--;
            }
            order[pos] = (int) k;
        }
        for (size_t q = 0; q < n; q++) {
            int k = order[q];
            const pf_column *col = &w->s->cols[fc[k]];
            json_array_append_new(contrib,
                                  json_pack("{ss ss so so so}", "feature", col->name, "label",
                                            col->label, "a", json_real(ca[k]), "b",
                                            json_real(cb[k]), "difference", json_real(d[k])));
        }
    }
    free(order);
    free(d);
    free(ca);
    free(cb);
    set(o, "contributions", contrib);
    return o;
}

static const char *reach_status_name(pf_whatif_reach_status s)
{
    switch (s) {
    case PF_REACH_ALREADY:
        return "already";
    case PF_REACH_FOUND:
        return "found";
    case PF_REACH_NONE:
        return "none";
    case PF_REACH_LIMIT:
        return "limit";
    }
    return "?";
}

static json_t *target_json(const pf_whatif_target *t)
{
    char v[2] = {(char) t->value, 0};
    switch (t->kind) {
    case PF_TARGET_GROUP:
        return json_pack("{sssi}", "kind", "grupp", "value", t->value);
    case PF_TARGET_LEVEL:
        return json_pack("{ssss}", "kind", "niva", "value", v);
    case PF_TARGET_TRACK:
        return json_pack("{sssi}", "kind", "spar", "value", t->value);
    }
    return json_null();
}

json_t *pf_whatif_reach_json(const pf_whatif *w, const pf_profile *p, const pf_whatif_reach *r)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set(o, "kind", json_string("counterfactual"));
    put_origin(o, w);
    put_profile(o, w, p);
    set(o, "target", target_json(&r->target));
    set(o, "status", json_string(reach_status_name(r->status)));
    json_t *cur = json_object();
    put_score(cur, w, &r->current);
    set(o, "current", cur);
    json_t *searched = json_array(), *held = json_array();
    for (size_t k = 0; k < r->nsearched; k++)
        json_array_append_new(searched, json_string(w->s->cols[r->searched_col[k]].name));
    for (size_t k = 0; k < w->ws->ncols; k++) {
        const pf_whatif_column *wc = &w->ws->cols[k];
        if (wc->status != PF_WHATIF_CHANGEABLE && w->used[wc->col])
            json_array_append_new(held, json_pack("{ssss}", "feature", w->s->cols[wc->col].name,
                                                  "status", pf_whatif_status_name(wc->status)));
    }
    set(o, "searched", searched);
    set(o, "held", held);
    set(o, "max_changes", json_integer(r->max_changes));
    set(o, "evaluated", json_integer((json_int_t) r->evaluated));
    set(o, "found", json_integer((json_int_t) r->nfound));
    set(o, "complete", json_boolean(r->complete));
    set(o, "verified", json_boolean(r->verified));
    json_t *sols = json_array();
    for (size_t s = 0; s < r->nsolutions; s++) {
        const pf_whatif_solution *sol = &r->solution[s];
        json_t *so = json_object(), *ch = json_array();
        for (size_t q = 0; q < sol->nchanges; q++) {
            const pf_whatif_change *c = &sol->change[q];
            json_array_append_new(
                ch,
                json_pack("{ss ss so so so so si}", "feature", w->s->cols[c->col].name, "label",
                          w->s->cols[c->col].label, "from", value_json(c->from), "to",
                          value_json(c->to), "from_label",
                          str_or_null(pf_whatif_value_label(w, c->col, c->from)), "to_label",
                          str_or_null(pf_whatif_value_label(w, c->col, c->to)), "steps", c->steps));
        }
        set(so, "changes", ch);
        set(so, "steps", json_integer(sol->steps));
        put_score(so, w, &sol->score);
        json_array_append_new(sols, so);
    }
    set(o, "solutions", sols);
    return o;
}
