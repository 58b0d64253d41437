/*
 * test_whatif.c - what-if scoring: settings files (strict loading, every
 * error naming its key), profiles (defaults, sources, conflicts, name
 * suggestions), the card's p, interval and contributions worked out here
 * from the model file's terms and covariance, sweeps, comparisons, and
 * counterfactuals that must hold when re-scored and never touch a
 * protected or fixed feature.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "profil/decide.h"
#include "profil/model.h"
#include "profil/policy.h"
#include "profil/schema.h"
#include "profil/whatif.h"

static struct {
    pf_schema *s;
    pf_model *m;
    pf_policy *pol;
    pf_decider *d;
    pf_whatif_settings *ws;
    pf_whatif *w;
    json_t *model_json;
} G;

static int setup(void **state)
{
    (void) state;
    pf_error err = {0};
    if (pf_schema_load(&G.s, PF_TEST_DATADIR "/schema/af-inskrivning.json", &err) ||
        pf_model_load(&G.m, PF_TEST_DATADIR "/models/af-logit.json", G.s, &err) ||
        pf_policy_load(&G.pol, PF_TEST_DATADIR "/policies/krom-2021-08.json", G.s, &err) ||
        pf_decider_new(&G.d, G.m, G.pol, NULL, &err) ||
        pf_whatif_settings_load(&G.ws, PF_TEST_DATADIR "/whatif/af-inskrivning.json", G.s, &err) ||
        pf_whatif_new(&G.w, G.d, G.ws, &err)) {
        fprintf(stderr, "setup: %s\n", err.message);
        return -1;
    }
    G.model_json = json_load_file(PF_TEST_DATADIR "/models/af-logit.json", 0, NULL);
    return G.model_json ? 0 : -1;
}

static int teardown(void **state)
{
    (void) state;
    json_decref(G.model_json);
    pf_whatif_free(G.w);
    pf_whatif_settings_free(G.ws);
    pf_decider_free(G.d);
    pf_policy_free(G.pol);
    pf_model_free(G.m);
    pf_schema_free(G.s);
    return 0;
}

static pf_profile *profile(const char *const *pairs)
{
    pf_profile *p = NULL;
    pf_error err = {0};
    assert_int_equal(pf_profile_new(&p, G.w, &err), 0);
    for (; pairs && *pairs; pairs++)
        if (pf_profile_set_pair(p, *pairs, &err))
            fail_msg("%s: %s", *pairs, err.message);
    return p;
}

/* The design value of one coefficient-table term for this profile, worked
 * out by hand for the kinds of terms the default model has. */
static double term_value(const char *term, const char *level, const pf_profile *p)
{
    if (!strcmp(term, "(Intercept)"))
        return 1;
    char name[128];
    double k = 0;
    const char *fn = NULL;
    if (sscanf(term, "hinge(%127[^,],%lf)", name, &k) == 2)
        fn = "hinge";
    else if (sscanf(term, "log1p(%127[^)])", name) == 1)
        fn = "log1p";
    else if (sscanf(term, "missing(%127[^)])", name) == 1)
        fn = "missing";
    else
        snprintf(name, sizeof name, "%s", term);
    int col = pf_schema_find(G.s, name);
    assert_true(col >= 0);
    if (!strcmp(name, "fodelseregion")) {
        /* the profiles here are born in SE or SY */
        const char *c = pf_profile_get(p, pf_schema_find(G.s, "fodelseland"), NULL);
        const char *region = !strcmp(c, "SE") ? "sverige" : "utanfor_europa";
        return !strcmp(region, level);
    }
    const char *v = pf_profile_get(p, col, NULL);
    assert_non_null(v);
    if (fn && !strcmp(fn, "missing"))
        return *v == 0;
    if (*level)
        return !strcmp(v, level);
    if (*v == 0)
        return 0;
    double x = atof(v);
    if (fn && !strcmp(fn, "hinge"))
        return x > k ? x - k : 0;
    if (fn && !strcmp(fn, "log1p"))
        return log1p(x);
    return x;
}

static void test_settings_bundled(void **state)
{
    (void) state;
    /* Every input feature is listed; the protected grounds are protected. */
    const char *protected_[] = {"alder", "kon", "fodelseland", "funktionsnedsattning",
                                "nedsatt_arbetsformaga"};
    for (size_t k = 0; k < 5; k++) {
        const pf_whatif_column *c =
            pf_whatif_settings_column(G.ws, pf_schema_find(G.s, protected_[k]));
        assert_non_null(c);
        assert_int_equal(c->status, PF_WHATIF_PROTECTED);
    }
    assert_null(pf_whatif_settings_column(G.ws, pf_schema_find(G.s, "fodelseregion")));
    const pf_whatif_column *u =
        pf_whatif_settings_column(G.ws, pf_schema_find(G.s, "utbildningsniva"));
    assert_int_equal(u->status, PF_WHATIF_CHANGEABLE);
    assert_int_equal(u->direction, PF_WHATIF_UP);
    assert_int_equal(u->nvalues, 7);
}

static void load_text_fails(const char *text, const char *part)
{
    pf_whatif_settings *ws = NULL;
    pf_error err = {0};
    assert_int_not_equal(pf_whatif_settings_load_text(&ws, text, strlen(text), "t.json", G.s, &err),
                         0);
    assert_null(ws);
    if (!strstr(err.message, part))
        fail_msg("'%s' not in: %s", part, err.message);
}

static void test_settings_errors(void **state)
{
    (void) state;
    load_text_fails("[]", "must be a JSON object");
    load_text_fails("{\"format\": \"x\"}", "format profil-whatif/1");
    load_text_fails("{\"format\": \"profil-whatif/1\", \"schema\": \"other\", \"columns\": {}}",
                    "written for schema other");
    load_text_fails("{\"format\": \"profil-whatif/1\", \"schema\": \"af-inskrivning\", \"colums\": "
                    "{}}",
                    "unknown key 'colums'");
    load_text_fails("{\"format\": \"profil-whatif/1\", \"schema\": \"af-inskrivning\", "
                    "\"columns\": {\"fodelseregion\": {}}}",
                    "columns.fodelseregion: not an input feature");
    load_text_fails("{\"format\": \"profil-whatif/1\", \"schema\": \"af-inskrivning\", "
                    "\"columns\": {}}",
                    "'alder' is missing");
    /* A bad value is found by the reader and named by its key: take the
     * bundled file and break one value. */
    FILE *fp = fopen(PF_TEST_DATADIR "/whatif/af-inskrivning.json", "rb");
    assert_non_null(fp);
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    char *at = strstr(buf, "\"values\": [\"0\", \"1\", \"2\", \"3\", \"4\"]");
    assert_non_null(at);
    memcpy(strstr(at, "\"4\""), "\"8\"", 3);
    load_text_fails(buf, "columns.erfarenhet_sokt_yrke.values[4]: erfarenhet_sokt_yrke: "
                         "unknown_code '8'");
}

static void test_card_by_hand(void **state)
{
    (void) state;
    const char *pairs[] = {"alder=58", "utbildningsniva=2",     "kommunkod=2480", "fodelseland=SY",
                           "akassa=1", "inskrivningsdagar=450", "ramprogram=JOB", NULL};
    pf_profile *p = profile(pairs);
    pf_whatif_card *c = NULL;
    pf_error err = {0};
    assert_int_equal(pf_whatif_card_new(&c, G.w, p, &err), 0);
    json_t *terms = json_object_get(G.model_json, "terms"),
           *cov = json_object_get(G.model_json, "covariance");
    size_t nt = json_array_size(terms);
    double eta = 0, ref = 0, x[64], var = 0;
    assert_true(nt <= 64);
    for (size_t j = 0; j < nt; j++) {
        json_t *t = json_array_get(terms, j);
        x[j] = term_value(json_string_value(json_object_get(t, "term")),
                          json_string_value(json_object_get(t, "level")), p);
        eta += json_real_value(json_object_get(t, "coefficient")) * x[j];
        ref += json_real_value(json_object_get(t, "coefficient")) *
               json_real_value(json_object_get(t, "reference_value"));
    }
    for (size_t i = 0; i < nt; i++)
        for (size_t j = 0; j < nt; j++)
            var += x[i] * x[j] * json_real_value(json_array_get(json_array_get(cov, i), j));
    double pr = 1 / (1 + exp(-eta)), se = sqrt(var);
    assert_float_equal(c->s.d.logit, eta, 1e-12);
    assert_float_equal(c->s.d.p, pr, 1e-12);
    assert_float_equal(c->s.se_logit, se, 1e-12);
    assert_float_equal(c->s.p_lo, 1 / (1 + exp(-(eta - 1.959963984540054 * se))), 1e-12);
    assert_float_equal(c->s.p_hi, 1 / (1 + exp(-(eta + 1.959963984540054 * se))), 1e-12);
    assert_true(c->s.p_lo < pr && pr < c->s.p_hi);
    assert_float_equal(c->ref_logit, ref, 1e-12);
    /* Contributions: every feature, largest first, summing to eta - ref. */
    double sum = 0;
    for (size_t k = 0; k < c->nfeat; k++) {
        sum += c->contribution[k];
        if (k)
            assert_true(fabs(c->contribution[k - 1]) >= fabs(c->contribution[k]));
    }
    assert_float_equal(sum, eta - ref, 1e-9);
    /* Umeå is in a delivery area under compensation model 2 (the policy). */
    assert_true(c->s.d.area >= 0);
    assert_string_equal(G.pol->areas[c->s.d.area].name, "Umeå");
    assert_int_equal(c->s.d.compensation_model, 2);
    /* JSON: the profile reads back as a profile with the same score. */
    json_t *j = pf_whatif_card_json(G.w, p, c);
    assert_non_null(j);
    pf_profile *q = NULL;
    assert_int_equal(pf_profile_new(&q, G.w, &err), 0);
    assert_int_equal(pf_profile_set_json(q, json_object_get(j, "profile"), &err), 0);
    pf_whatif_score sc;
    assert_int_equal(pf_whatif_score_profiles(G.w, (const pf_profile *const *) &q, 1, &sc, &err),
                     0);
    assert_true(sc.d.p == c->s.d.p);
    assert_float_equal(json_real_value(json_object_get(j, "p")), pr, 1e-12);
    json_decref(j);
    pf_profile_free(q);
    pf_whatif_card_free(c);
    pf_profile_free(p);
}

static void test_profile_sources(void **state)
{
    (void) state;
    pf_profile *p = profile(NULL);
    pf_error err = {0};
    pf_profile_source src;
    int alder = pf_schema_find(G.s, "alder");
    assert_string_equal(pf_profile_get(p, alder, &src), "40");
    assert_int_equal(src, PF_PROFILE_DEFAULT);
    assert_int_equal(pf_profile_set_pair(p, "alder=41", &err), 0);
    assert_int_equal(pf_profile_set_pair(p, "alder=41", &err), 0); /* the same twice is fine */
    assert_int_equal(pf_profile_set_pair(p, "alder=42", &err), PF_EINVAL);
    assert_non_null(strstr(err.message, "set twice"));
    json_t *o = json_pack("{sisb}", "alder", 30, "akassa", 1);
    assert_int_equal(pf_profile_set_json(p, o, &err), 0);
    assert_string_equal(pf_profile_get(p, alder, &src), "41"); /* set overrides the file */
    assert_int_equal(src, PF_PROFILE_SET);
    assert_string_equal(pf_profile_get(p, pf_schema_find(G.s, "akassa"), &src), "1");
    assert_int_equal(src, PF_PROFILE_FILE);
    assert_int_equal(pf_profile_set_json(p, o, &err), PF_EINVAL); /* a second file source */
    assert_non_null(strstr(err.message, "conflicting sources"));
    json_decref(o);
    assert_int_equal(pf_profile_set_pair(p, "utbildningsnivaa=4", &err), PF_ENOTFOUND);
    assert_non_null(strstr(err.message, "did you mean 'utbildningsniva'?"));
    assert_int_equal(pf_profile_set_pair(p, "lanskod=01", &err), PF_EINVAL);
    assert_non_null(strstr(err.message, "derived from 'kommunkod'"));
    assert_int_equal(pf_profile_set_pair(p, "alder", &err), PF_EINVAL);
    assert_int_equal(pf_profile_set_pair(p, "omr_arbetsloshet=7,25", &err), 0); /* decimal comma */
    assert_int_equal(pf_profile_check(G.w, p, &err), 0);
    assert_int_equal(pf_profile_set_pair(p, "utbildningsniva=8", &err), 0);
    assert_int_equal(pf_profile_check(G.w, p, &err), PF_EINVAL);
    assert_non_null(strstr(err.message, "utbildningsniva: unknown_code '8'"));
    pf_profile_free(p);
}

static void test_sweep(void **state)
{
    (void) state;
    pf_profile *p = profile((const char *[]){"alder=58", NULL});
    pf_whatif_sweep *sw = NULL;
    pf_error err = {0};
    assert_int_equal(pf_whatif_vary(&sw, G.w, p, "alder=20:64:4", &err), 0);
    assert_int_equal(sw->n, 12);
    assert_string_equal(sw->value[11], "64");
    assert_int_equal(sw->current, -1);
    /* Each point is the card of the profile with that value. */
    for (size_t k = 0; k < sw->n; k += 5) {
        char pair[32];
        snprintf(pair, sizeof pair, "alder=%s", sw->value[k]);
        pf_profile *q = profile((const char *[]){pair, NULL});
        pf_whatif_card *c = NULL;
        assert_int_equal(pf_whatif_card_new(&c, G.w, q, &err), 0);
        assert_true(c->s.d.p == sw->score[k].d.p);
        assert_true(c->s.se_logit == sw->score[k].se_logit);
        pf_whatif_card_free(c);
        pf_profile_free(q);
    }
    pf_whatif_sweep_free(sw);
    assert_int_equal(pf_whatif_vary(&sw, G.w, p, "kon", &err), 0);
    assert_int_equal(sw->n, 2);
    assert_int_equal(sw->current, 1); /* M, the default, is the second level */
    pf_whatif_sweep_free(sw);
    assert_int_equal(pf_whatif_vary(&sw, G.w, p, "alder=60:50", &err), PF_EINVAL);
    assert_int_equal(pf_whatif_vary(&sw, G.w, p, "inskrivningsdagar", &err), PF_ELIMIT);
    pf_profile_free(p);
}

static void test_compare(void **state)
{
    (void) state;
    pf_profile *a = profile((const char *[]){"alder=45", NULL});
    pf_profile *b = profile((const char *[]){"alder=45", "utbildningsniva=6", NULL});
    pf_whatif_comparison *c = NULL;
    pf_error err = {0};
    assert_int_equal(pf_whatif_compare(&c, G.w, a, b, &err), 0);
    assert_int_equal(c->ndiff, 1);
    assert_int_equal(c->diff_col[0], pf_schema_find(G.s, "utbildningsniva"));
    /* Only the education contribution differs: coef(=6) - coef(=4 is the reference level, 0). */
    json_t *terms = json_object_get(G.model_json, "terms");
    double c6 = 0;
    for (size_t j = 0; j < json_array_size(terms); j++) {
        json_t *t = json_array_get(terms, j);
        if (!strcmp(json_string_value(json_object_get(t, "name")), "utbildningsniva=6"))
            c6 = json_real_value(json_object_get(t, "coefficient"));
    }
    assert_float_equal(c->b->s.d.logit - c->a->s.d.logit, c6, 1e-12);
    pf_whatif_comparison_free(c);
    pf_profile_free(a);
    pf_profile_free(b);
}

static void test_reach(void **state)
{
    (void) state;
    pf_error err = {0};
    pf_whatif_target t;
    assert_int_equal(pf_whatif_target_parse(&t, G.pol, "nivå=A", &err), 0);
    assert_int_equal(t.kind, PF_TARGET_LEVEL);
    assert_int_equal(t.value, 'A');
    assert_int_equal(pf_whatif_target_parse(&t, G.pol, "spar=1", &err), PF_EINVAL);
    assert_int_equal(pf_whatif_target_parse(&t, G.pol, "grupp=4", &err), PF_EINVAL);
    assert_int_equal(pf_whatif_target_parse(&t, G.pol, "grupp=1", &err), 0);
    pf_profile *p = profile((const char *[]){"alder=55", "kommunkod=2480", NULL});
    pf_whatif_reach *r = NULL;
    assert_int_equal(pf_whatif_reach_run(&r, G.w, p, &t, NULL, &err), 0);
    assert_int_equal(r->status, PF_REACH_FOUND);
    assert_true(r->verified && r->complete);
    assert_true(r->nsolutions >= 1);
    /* Nothing with fewer changes reaches it: every single change fails. */
    size_t k = r->solution[0].nchanges;
    pf_whatif_reach_options one = {.max_changes = (int) k - 1};
    if (k > 1) {
        pf_whatif_reach *r1 = NULL;
        assert_int_equal(pf_whatif_reach_run(&r1, G.w, p, &t, &one, &err), 0);
        assert_int_equal(r1->status, PF_REACH_LIMIT);
        pf_whatif_reach_free(r1);
    }
    for (size_t s = 0; s < r->nsolutions; s++) {
        const pf_whatif_solution *sol = &r->solution[s];
        assert_int_equal(sol->nchanges, k);
        if (s)
            assert_true(sol->steps >= r->solution[s - 1].steps);
        for (size_t q = 0; q < sol->nchanges; q++)
            assert_int_equal(pf_whatif_settings_column(G.ws, sol->change[q].col)->status,
                             PF_WHATIF_CHANGEABLE);
        /* Re-scored here: the solution reaches the target. */
        pf_profile *q = NULL;
        assert_int_equal(pf_whatif_apply(&q, G.w, p, sol, &err), 0);
        pf_whatif_score sc;
        assert_int_equal(
            pf_whatif_score_profiles(G.w, (const pf_profile *const *) &q, 1, &sc, &err), 0);
        assert_true(pf_whatif_target_met(&t, &sc.d));
        assert_true(sc.d.p == sol->score.d.p);
        pf_profile_free(q);
    }
    pf_whatif_reach_free(r);
    pf_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings_bundled),
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_card_by_hand),
        cmocka_unit_test(test_profile_sources),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_reach),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
