/*
 * test_decide.c - pf_decide: every field of a decision, worked out in the
 * test itself.
 *
 * Nothing expected here comes from the library. The test reads the model's
 * terms (coefficient and reference value) from data/models/af-logit.json
 * with jansson and evaluates every term of a profile by hand (x, log1p(x),
 * hinge(x,k) = max(0, x - k), bin, missing(x), x=L, interactions);
 * p = 1 / (1 + exp(-logit)). The group, level and track follow from that p
 * and the thresholds read from the policy file; the delivery area and
 * compensation model from data/ref/leveransomraden-krom-2020.csv; the
 * maximum compensation from data/ref/ersattning-krom-2020.csv and
 * data/ref/ersattning-stom.csv; the target groups, eligibility rules and
 * reasons from their definitions (docs/policies.md, decide.h).
 * Thresholds are re-tuned from time to time, so expectations compare p with
 * the thresholds in force; policies written by the tests with thresholds
 * placed between the profiles' own p values make every group, level and
 * track happen deterministically.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "profil/decide.h"
#include "profil/drift.h"
#include "profil/encode.h"
#include "profil/model.h"
#include "profil/policy.h"
#include "profil/reader.h"
#include "readertest.h"
#include "policytest.h"
#include "synth.h"

/* ------------------------------------------------------------------------ */
/* Context for failure messages                                             */

static char CTX[256];

#define expect_int(got, want)                                                                      \
    do {                                                                                           \
        long long g_ = (long long) (got), w_ = (long long) (want);                                 \
        if (g_ != w_)                                                                              \
            fail_msg("%s: %s = %lld, expected %lld", CTX, #got, g_, w_);                           \
    } while (0)

#define expect_str(got, want)                                                                      \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!g_ || !w_ || strcmp(g_, w_))                                                          \
            fail_msg("%s: %s = '%s', expected '%s'", CTX, #got, g_ ? g_ : "(null)",                \
                     w_ ? w_ : "(null)");                                                          \
    } while (0)

/* |got - want| <= tol * max(1, |want|). */
#define expect_rel(got, want, tol)                                                                 \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(fabs(g_ - w_) <= (tol) *fmax(1.0, fabs(w_))))                                        \
            fail_msg("%s: %s = %.17g, expected %.17g (diff %.3g)", CTX, #got, g_, w_,              \
                     fabs(g_ - w_));                                                               \
    } while (0)

/* Equal, or both NaN. */
#define expect_amount(got, want)                                                                   \
    do {                                                                                           \
        double g_ = (got), w_ = (want);                                                            \
        if (!(g_ == w_ || (isnan(g_) && isnan(w_))))                                               \
            fail_msg("%s: %s = %.17g, expected %.17g", CTX, #got, g_, w_);                         \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Profiles: one input row, as text, in the columns of the schema           */

#define NCOL 31
static const char *const COLUMN[NCOL] = {
    "id",
    "alder",
    "kon",
    "fodelseland",
    "kommunkod",
    "utbildningsniva",
    "utbildningsinriktning",
    "sokt_yrke_1",
    "sokt_yrke_2",
    "sokt_yrke_3",
    "sokt_yrke_4",
    "erfarenhet_sokt_yrke",
    "utbildning_sokt_yrke",
    "akassa",
    "inskrivningsmanad",
    "inskrivningsdagar",
    "dagar_foregaende_period",
    "dagar_sedan_foregaende_period",
    "antal_tidigare_perioder",
    "dagar_tidigare_program",
    "funktionsnedsattning",
    "nedsatt_arbetsformaga",
    "sokandekategori",
    "kommunovergripande",
    "sprakstod",
    "ramprogram",
    "omr_arbetsloshet",
    "omr_medianinkomst",
    "omr_andel_eftergymnasial",
    "omr_andel_utrikes_medborgare",
    "omr_andel_ensamhushall",
};

typedef struct profile {
    char v[NCOL][32];
} profile;

static int column_index(const char *col)
{
    for (int k = 0; k < NCOL; k++)
        if (!strcmp(COLUMN[k], col))
            return k;
    fail_msg("the test profiles have no column '%s'", col);
    return -1;
}

__attribute__((format(printf, 3, 4))) static void pset(profile *p, const char *col, const char *fmt,
                                                       ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->v[column_index(col)], sizeof p->v[0], fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t) n < sizeof p->v[0]);
}

static const char *pget(const profile *p, const char *col)
{
    return p->v[column_index(col)];
}

/* A 40-year-old Swedish-born woman in Umeå with 3-year upper secondary
 * education, 200 days registered, no earlier period. */
static profile base_profile(const char *id)
{
    static const char *const v[NCOL] = {"",  "40",    "K", "SE",  "2480", "4",  "5",  "5120",
                                        "",  "",      "",  "2",   "0",    "1",  "3",  "200",
                                        "0", "",      "0", "0",   "00",   "0",  "11", "0",
                                        "0", "ingen", "7", "300", "40",   "10", "40"};
    profile p;
    for (int k = 0; k < NCOL; k++)
        snprintf(p.v[k], sizeof p.v[k], "%s", v[k]);
    pset(&p, "id", "%s", id);
    return p;
}

/* 58 years, only pre-secondary education (< 9 years), born in Somalia,
 * Umeå, no a-kassa, no experience in the occupation sought. */
static profile older_outside_europe_umea(void)
{
    profile p = base_profile("older");
    pset(&p, "alder", "58");
    pset(&p, "fodelseland", "SO");
    pset(&p, "utbildningsniva", "1");
    pset(&p, "akassa", "0");
    pset(&p, "erfarenhet_sokt_yrke", "0");
    return p;
}

/* 22 years, upper secondary of at most 2 years, Västerås, in the job and
 * development guarantee (JOB), 500 days registered. */
static profile young_vasteras_job(void)
{
    profile p = base_profile("young");
    pset(&p, "alder", "22");
    pset(&p, "kon", "M");
    pset(&p, "utbildningsniva", "3");
    pset(&p, "kommunkod", "1980");
    pset(&p, "ramprogram", "JOB");
    pset(&p, "inskrivningsdagar", "500");
    return p;
}

/* Lives in Stockholm (0180), in none of the pilot's delivery areas. */
static profile outside_delivery_areas(void)
{
    profile p = base_profile("stockholm");
    pset(&p, "kommunkod", "0180");
    pset(&p, "inskrivningsdagar", "450");
    pset(&p, "ramprogram", "UGA");
    return p;
}

/* 28 years, post-secondary education of 3 years or more, more than five
 * years' experience, 10 days registered, Lidköping, searching in several
 * municipalities, hourly employed. */
static profile close_graduate(void)
{
    profile p = base_profile("graduate");
    pset(&p, "alder", "28");
    pset(&p, "utbildningsniva", "6");
    pset(&p, "erfarenhet_sokt_yrke", "4");
    pset(&p, "inskrivningsdagar", "10");
    pset(&p, "kommunovergripande", "1");
    pset(&p, "kommunkod", "1494");
    pset(&p, "sokandekategori", "22");
    return p;
}

/* 35 years, man born in Syria, 9-year compulsory school, needs language
 * support, in the establishment programme (ETP), Trollhättan, 420 days, an
 * earlier period that ended 300 days ago, a reduced work capacity. */
static profile newly_arrived_etp(void)
{
    profile p = base_profile("etp");
    pset(&p, "alder", "35");
    pset(&p, "kon", "M");
    pset(&p, "fodelseland", "SY");
    pset(&p, "utbildningsniva", "2");
    pset(&p, "sprakstod", "1");
    pset(&p, "ramprogram", "ETP");
    pset(&p, "kommunkod", "1488");
    pset(&p, "inskrivningsdagar", "420");
    pset(&p, "dagar_sedan_foregaende_period", "300");
    pset(&p, "dagar_foregaende_period", "100");
    pset(&p, "antal_tidigare_perioder", "1");
    pset(&p, "dagar_tidigare_program", "60");
    pset(&p, "funktionsnedsattning", "30");
    pset(&p, "nedsatt_arbetsformaga", "1");
    pset(&p, "sokandekategori", "68");
    return p;
}

/* ------------------------------------------------------------------------ */
/* Profiles into a frame, through the reader                                */

typedef struct rows {
    tbuf csv;
    pf_reader *r;
    pf_frame *f;
} rows;

static void on_reject(void *ctx, const pf_problem *p)
{
    fail_msg("row %lld rejected: column %s, value '%s': %s", (long long) p->row,
             p->column ? p->column : "-", p->value ? p->value : "", p->message);
}

static pf_schema *S; /* the schema every policy and model here is loaded with */

static void rows_read(rows *R, const profile *pr, size_t n)
{
    memset(R, 0, sizeof *R);
    for (int k = 0; k < NCOL; k++)
        tbuf_printf(&R->csv, "%s%s", k ? "," : "", COLUMN[k]);
    tbuf_puts(&R->csv, "\n");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < NCOL; k++)
            tbuf_printf(&R->csv, "%s%s", pr[i].v[k], k == NCOL - 1 ? "\n" : ",");
    pf_reader_options opt = {.on_reject = on_reject};
    pf_error err;
    assert_int_equal(pf_reader_open_memory(&R->r, S, R->csv.p, R->csv.n, &opt, &err), 0);
    assert_int_equal(pf_reader_frame_new(R->r, n, &R->f, &err), 0);
    assert_int_equal(pf_reader_read(R->r, R->f, &err), 1);
    assert_int_equal(R->f->n, n);
}

static void rows_free(rows *R)
{
    pf_frame_free(R->f);
    pf_reader_close(R->r);
    tbuf_free(&R->csv);
}

/* ------------------------------------------------------------------------ */
/* Fixture: schema, model, the bundled policies and the reference tables    */

typedef struct tterm {
    char expr[128];
    char level[64];
    double coef, ref;
} tterm;

/* A policy as the test understands it: the thresholds read from its JSON
 * file, and which rules it has (by the bundled policy it derives from). */
typedef struct tpol {
    const pf_policy *pol;
    const char *rules; /* "krom-2020", "krom-2021-08" or "stom" */
    double close_min, far_below, a_min, b_min, enhanced_below;
} tpol;

enum { KROM2020, KROM2021, STOM, NPOL };
static const char *const POLICY_NAME[NPOL] = {"krom-2020", "krom-2021-08", "stom"};

static struct {
    pf_model *m;
    size_t nterms;
    tterm *terms;
    csvtab *region, *areas, *krom_comp, *stom_comp;
    pf_policy *bundled[NPOL];
    tpol tp[NPOL];
} G;

static void tpol_from_json(tpol *t, const json_t *root, const pf_policy *pol, const char *rules)
{
    memset(t, 0, sizeof *t);
    t->pol = pol;
    t->rules = rules;
    json_t *g = json_object_get(root, "groups");
    t->close_min = json_num_at(g, "close_min_p");
    t->far_below = json_num_at(g, "far_below_p");
    if (strncmp(rules, "krom", 4) == 0) {
        json_t *l = json_object_get(root, "levels");
        t->a_min = json_num_at(l, "a_min_p");
        t->b_min = json_num_at(l, "b_min_p");
    } else {
        t->enhanced_below = json_num_at(json_object_get(root, "tracks"), "enhanced_below_p");
    }
}

static int group_setup(void **state)
{
    pf_error err;
    assert_int_equal(pf_schema_load(&S, PF_TEST_DATADIR "/schema/af-inskrivning.json", &err), 0);
    if (pf_model_load(&G.m, PF_TEST_DATADIR "/models/af-logit.json", S, &err))
        fail_msg("%s", err.message);

    json_error_t jerr;
    json_t *mj = json_load_file(PF_TEST_DATADIR "/models/af-logit.json", 0, &jerr);
    assert_non_null(mj);
    json_t *terms = json_object_get(mj, "terms");
    G.nterms = json_array_size(terms);
    assert_true(G.nterms > 0);
    G.terms = calloc(G.nterms, sizeof *G.terms);
    for (size_t j = 0; j < G.nterms; j++) {
        json_t *t = json_array_get(terms, j);
        snprintf(G.terms[j].expr, sizeof G.terms[j].expr, "%s",
                 json_string_value(json_object_get(t, "term")));
        snprintf(G.terms[j].level, sizeof G.terms[j].level, "%s",
                 json_string_value(json_object_get(t, "level")));
        G.terms[j].coef = json_num_at(t, "coefficient");
        G.terms[j].ref = json_num_at(t, "reference_value");
    }
    json_decref(mj);

    G.region = csv_load(PF_TEST_DATADIR "/ref/fodelseland-region.csv");
    G.areas = csv_load(PF_TEST_DATADIR "/ref/leveransomraden-krom-2020.csv");
    G.krom_comp = csv_load(PF_TEST_DATADIR "/ref/ersattning-krom-2020.csv");
    G.stom_comp = csv_load(PF_TEST_DATADIR "/ref/ersattning-stom.csv");

    for (int k = 0; k < NPOL; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/policies/%s.json", PF_TEST_DATADIR, POLICY_NAME[k]);
        if (pf_policy_load(&G.bundled[k], path, S, &err))
            fail_msg("%s", err.message);
        json_t *root = policy_json(POLICY_NAME[k]);
        tpol_from_json(&G.tp[k], root, G.bundled[k], POLICY_NAME[k]);
        json_decref(root);
    }
    *state = NULL;
    return 0;
}

static int group_teardown(void **state)
{
    for (int k = 0; k < NPOL; k++)
        pf_policy_free(G.bundled[k]);
    csv_free(G.region);
    csv_free(G.areas);
    csv_free(G.krom_comp);
    csv_free(G.stom_comp);
    free(G.terms);
    pf_model_free(G.m);
    pf_schema_free(S);
    memset(&G, 0, sizeof G);
    S = NULL;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The hand evaluation of the model                                         */

static int is_missing(const char *v)
{
    return !*v || !strcmp(v, "NA");
}

static int is_category(const char *col)
{
    static const char *const cat[] = {"kon",
                                      "fodelseland",
                                      "fodelseregion",
                                      "kommunkod",
                                      "lanskod",
                                      "utbildningsniva",
                                      "utbildningsinriktning",
                                      "sokt_yrke_1_omrade",
                                      "sokt_yrke_2_omrade",
                                      "sokt_yrke_3_omrade",
                                      "sokt_yrke_4_omrade",
                                      "erfarenhet_sokt_yrke",
                                      "funktionsnedsattning",
                                      "sokandekategori",
                                      "ramprogram",
                                      NULL};
    for (const char *const *c = cat; *c; c++)
        if (!strcmp(*c, col))
            return 1;
    return 0;
}

/* Birth region of an ISO code: the region table, else outside Europe. */
static const char *region_of(const char *iso2)
{
    for (size_t r = 0; r < G.region->nrows; r++)
        if (!strcmp(csv_get(G.region, r, "iso2"), iso2))
            return csv_get(G.region, r, "fodelseregion");
    return "utanfor_europa";
}

/* A column's value as a decision sees it: derived and defaulted columns
 * worked out as the schema describes them. */
static const char *value_of(const profile *pr, const char *col)
{
    if (!strcmp(col, "fodelseregion"))
        return region_of(pget(pr, "fodelseland"));
    const char *v = pget(pr, col);
    if ((!strcmp(col, "utbildningsniva") || !strcmp(col, "utbildningsinriktning")) && is_missing(v))
        return "9"; /* missing "default": 9, uppgift saknas */
    return v;
}

static double number(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end)
        fail_msg("'%s' is not a number", s);
    return v;
}

/* One factor of a term ("alder", "log1p(x)", "hinge(x,k)", "bin(x,lo,hi)",
 * "missing(x)", a category "x" taking its level from *levels). */
static double factor_value(const profile *pr, const char *factor, const char **levels, char col[64])
{
    char fn[16] = "", args[128];
    const char *open = strchr(factor, '(');
    if (open) {
        size_t n = (size_t) (open - factor);
        assert_true(n < sizeof fn);
        memcpy(fn, factor, n);
        const char *close = strrchr(factor, ')');
        assert_true(close && close[1] == '\0');
        snprintf(args, sizeof args, "%.*s", (int) (close - open - 1), open + 1);
    } else {
        snprintf(args, sizeof args, "%s", factor);
    }
    char *arg[3] = {args, NULL, NULL};
    for (int k = 1; k < 3; k++) {
        char *c = arg[k - 1] ? strchr(arg[k - 1], ',') : NULL;
        if (c) {
            *c = '\0';
            arg[k] = c + 1;
        }
    }
    assert_true(strlen(arg[0]) < 64);
    memcpy(col, arg[0], strlen(arg[0]) + 1);
    const char *v = value_of(pr, arg[0]);
    if (!*fn && is_category(arg[0])) {
        const char *end = strchr(*levels, ':');
        size_t n = end ? (size_t) (end - *levels) : strlen(*levels);
        int hit = !is_missing(v) && strlen(v) == n && !strncmp(v, *levels, n);
        *levels += n + (end ? 1 : 0);
        return hit;
    }
    if (!strcmp(fn, "missing"))
        return is_missing(v);
    if (is_missing(v))
        return 0;
    double x = number(v);
    if (!*fn)
        return x;
    if (!strcmp(fn, "log1p"))
        return log1p(x);
    if (!strcmp(fn, "hinge")) {
        double k = number(arg[1]);
        return x > k ? x - k : 0;
    }
    if (!strcmp(fn, "bin")) {
        double lo = number(arg[1]), hi = number(arg[2]);
        return lo <= x && x < hi;
    }
    fail_msg("the test cannot evaluate factor '%s'", factor);
    return 0;
}

typedef struct tfeat {
    int col;
    double c;
} tfeat;

typedef struct hand {
    double logit, p, ref_logit;
    size_t nfeat;
    tfeat feat[64]; /* by schema column */
} hand;

static int by_col(const void *a, const void *b)
{
    const tfeat *x = a, *y = b;
    return (x->col > y->col) - (x->col < y->col);
}

/* Logit, p and each feature's contribution coef * (x - ref), summed over
 * the feature's terms (an interaction shared equally among its features). */
static void hand_logit(const profile *pr, hand *h)
{
    memset(h, 0, sizeof *h);
    for (size_t j = 0; j < G.nterms; j++) {
        const tterm *t = &G.terms[j];
        h->ref_logit += t->coef * t->ref;
        if (!strcmp(t->expr, "(Intercept)")) {
            h->logit += t->coef;
            continue;
        }
        char expr[128], cols[3][64];
        int ncols = 0;
        snprintf(expr, sizeof expr, "%s", t->expr);
        const char *levels = t->level;
        double x = 1;
        char *save = NULL;
        for (char *f = strtok_r(expr, ":", &save); f; f = strtok_r(NULL, ":", &save)) {
            char col[64];
            x *= factor_value(pr, f, &levels, col);
            int seen = 0;
            for (int k = 0; k < ncols; k++)
                seen |= !strcmp(cols[k], col);
            if (!seen) {
                assert_true(ncols < 3);
                snprintf(cols[ncols++], 64, "%s", col);
            }
        }
        h->logit += t->coef * x;
        double c = t->coef * (x - t->ref) / ncols;
        for (int k = 0; k < ncols; k++) {
            int col = pf_schema_find(S, cols[k]);
            assert_true(col >= 0);
            size_t q = 0;
            while (q < h->nfeat && h->feat[q].col != col)
                q++;
            if (q == h->nfeat) {
                assert_true(h->nfeat < 64);
                h->feat[h->nfeat++].col = col;
            }
            h->feat[q].c += c;
        }
    }
    qsort(h->feat, h->nfeat, sizeof *h->feat, by_col);
    h->p = 1 / (1 + exp(-h->logit));
}

/* Ranking of reasons: |contribution| descending, ties by schema column. */
static int by_reason(const void *a, const void *b)
{
    const tfeat *x = a, *y = b;
    double ax = fabs(x->c), ay = fabs(y->c);
    if (ax != ay)
        return ax < ay ? 1 : -1;
    return (x->col > y->col) - (x->col < y->col);
}

/* ------------------------------------------------------------------------ */
/* What a policy decides, worked out from docs/policies.md                  */

typedef struct texpect {
    int group;
    char level;
    int track;
    int model;
    const char *area; /* name, or NULL */
    double max_compensation;
    const char *failed; /* rule code, or NULL when eligible */
    const char *tg[8];  /* target-group codes that apply */
    int ntg;
} texpect;

static int in_list(const char *v, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(v, *list))
            return 1;
    return 0;
}

static void expect_target_groups(const profile *pr, texpect *e)
{
    int age = (int) number(pget(pr, "alder"));
    const char *niva = value_of(pr, "utbildningsniva");
    static const char *const pre_secondary[] = {"1", "2", NULL};
    static const char *const no_upper_secondary[] = {"1", "2", "3", NULL};
    e->ntg = 0;
    if (in_list(niva, pre_secondary))
        e->tg[e->ntg++] = "endast_forgymnasial";
    if (age >= 16 && age <= 24 && in_list(niva, no_upper_secondary))
        e->tg[e->ntg++] = "ung_bristfallig_utbildning";
    if (!strcmp(value_of(pr, "fodelseregion"), "utanfor_europa"))
        e->tg[e->ntg++] = "utomeuropeiskt_fodd";
    if (!strcmp(pget(pr, "nedsatt_arbetsformaga"), "1"))
        e->tg[e->ntg++] = "nedsatt_arbetsformaga";
    if (age >= 55 && age <= 64)
        e->tg[e->ntg++] = "alder_55_64";
}

static void expect_policy(const tpol *t, const profile *pr, double p, texpect *e)
{
    memset(e, 0, sizeof *e);
    int krom = strncmp(t->rules, "krom", 4) == 0;
    e->group = p >= t->close_min ? 1 : p < t->far_below ? 3 : 2;
    if (krom && e->group == 2)
        e->level = p >= t->a_min ? 'A' : p >= t->b_min ? 'B' : 'C';
    if (!krom && e->group != 1)
        e->track = 1 + !strcmp(pget(pr, "sprakstod"), "1") + 2 * (p < t->enhanced_below);
    if (krom)
        for (size_t r = 0; r < G.areas->nrows; r++)
            if (!strcmp(csv_get(G.areas, r, "kommunkod"), pget(pr, "kommunkod"))) {
                e->area = csv_get(G.areas, r, "leveransomrade");
                e->model = (int) csv_num(G.areas, r, "ersattningsmodell");
            }
    int covered = !krom || e->area;
    e->max_compensation = NAN;
    if (covered && e->level) {
        int found = 0;
        for (size_t r = 0; r < G.krom_comp->nrows; r++)
            if (csv_get(G.krom_comp, r, "niva")[0] == e->level &&
                (int) csv_num(G.krom_comp, r, "ersattningsmodell") == e->model) {
                e->max_compensation = csv_num(G.krom_comp, r, "max_per_deltagare");
                found++;
            }
        assert_int_equal(found, 1);
    }
    if (covered && e->track) {
        int found = 0;
        for (size_t r = 0; r < G.stom_comp->nrows; r++)
            if ((int) csv_num(G.stom_comp, r, "spar") == e->track) {
                e->max_compensation = csv_num(G.stom_comp, r, "max_per_deltagare");
                found++;
            }
        assert_int_equal(found, 1);
    }
    static const char *const framework[] = {"JOB", "UGA", "ETP", NULL};
    if (krom) {
        if (!e->area)
            e->failed = "utanfor_leveransomrade";
        else if (e->group != 2)
            e->failed = "statistisk_bedomning";
        else if (!strcmp(t->rules, "krom-2021-08") && number(pget(pr, "inskrivningsdagar")) < 400)
            e->failed = "inskrivningstid";
        else if (!strcmp(t->rules, "krom-2021-08") && !in_list(pget(pr, "ramprogram"), framework))
            e->failed = "ramprogram";
    } else if (e->group == 1) {
        e->failed = "star_nara";
    }
    expect_target_groups(pr, e);
}

/* The bit of the target group with this code. */
static uint32_t target_group_bit(const pf_policy *pol, const char *code)
{
    for (size_t k = 0; k < pol->ntarget_groups; k++)
        if (!strcmp(pol->target_groups[k].code, code))
            return UINT32_C(1) << k;
    fail_msg("policy %s has no target group '%s'", pol->name, code);
    return 0;
}

/* Whether the target group with this code is flagged in x. */
static int flagged(const pf_policy *pol, const pf_decision *x, const char *code)
{
    return (x->target_groups & target_group_bit(pol, code)) != 0;
}

static const char *failed_code(const pf_policy *pol, const pf_decision *x)
{
    if (x->failed_rule < 0)
        return NULL;
    assert_true((size_t) x->failed_rule < pol->nrules);
    return pol->rules[x->failed_rule].code;
}

static pf_decider *decider(const pf_policy *pol, int reasons)
{
    pf_decider *d;
    pf_error err;
    pf_decider_options opt = {.reasons = reasons};
    if (pf_decider_new(&d, G.m, pol, &opt, &err))
        fail_msg("%s", err.message);
    return d;
}

/* Decides row i of R (profile pr) under t and checks every field of the
 * decision against the hand computation; *out gets the decision. */
static void check_row(const tpol *t, const rows *R, size_t i, const profile *pr, pf_decision *out)
{
    snprintf(CTX, sizeof CTX, "profile %s under %s", pget(pr, "id"), t->pol->name);
    hand h;
    hand_logit(pr, &h);
    texpect e;
    expect_policy(t, pr, h.p, &e);

    pf_decider *d8 = decider(t->pol, PF_DECISION_MAX_REASONS), *d3 = decider(t->pol, 3);
    pf_decision x, x3;
    pf_error err;
    memset(&x, 0xa5, sizeof x);
    assert_int_equal(pf_decide(d8, R->f, i, 1, &x, &err), 0);
    assert_int_equal(pf_decide(d3, R->f, i, 1, &x3, &err), 0);

    expect_rel(x.logit, h.logit, 1e-12);
    if (!(fabs(x.p - h.p) <= 1e-12 * h.p))
        fail_msg("%s: p = %.17g, expected %.17g", CTX, x.p, h.p);
    expect_int(x.group, e.group);
    expect_int(x.level, e.level);
    expect_int(x.track, e.track);
    expect_int(x.compensation_model, e.model);
    if (e.area) {
        assert_true(x.area >= 0 && (size_t) x.area < t->pol->nareas);
        expect_str(t->pol->areas[x.area].name, e.area);
    } else {
        expect_int(x.area, -1);
    }
    expect_amount(x.max_compensation, e.max_compensation);
    if (e.failed)
        expect_str(failed_code(t->pol, &x), e.failed);
    else if (x.failed_rule >= 0)
        fail_msg("%s: failed rule '%s', expected eligible", CTX, failed_code(t->pol, &x));
    expect_int(pf_decision_eligible(&x), e.failed == NULL);
    uint32_t want = 0;
    for (int k = 0; k < e.ntg; k++)
        want |= target_group_bit(t->pol, e.tg[k]);
    expect_int(x.target_groups, want);

    /* Reasons: the reference logit, every feature's contribution, their sum. */
    expect_rel(pf_decider_reference_logit(d8), h.ref_logit, 1e-12);
    size_t nf;
    const int *fc = pf_decider_features(d8, &nf);
    expect_int(nf, h.nfeat);
    double contrib[64], sum = 0;
    expect_rel(pf_decider_contributions(d8, R->f, i, contrib), h.logit, 1e-12);
    for (size_t q = 0; q < nf; q++) {
        expect_int(fc[q], h.feat[q].col);
        if (!(fabs(contrib[q] - h.feat[q].c) <= 1e-9))
            fail_msg("%s: contribution of %s = %.17g, expected %.17g", CTX, S->cols[fc[q]].name,
                     contrib[q], h.feat[q].c);
        sum += contrib[q];
    }
    if (!(fabs(sum - (x.logit - pf_decider_reference_logit(d8))) <= 1e-9))
        fail_msg("%s: contributions sum to %.17g, logit - reference logit is %.17g", CTX, sum,
                 x.logit - pf_decider_reference_logit(d8));

    /* The top reasons, as ranked by the test. */
    tfeat rank[64];
    size_t nr = 0;
    for (size_t q = 0; q < h.nfeat; q++)
        if (h.feat[q].c != 0)
            rank[nr++] = h.feat[q];
    qsort(rank, nr, sizeof *rank, by_reason);
    expect_int(x.nreasons, nr < PF_DECISION_MAX_REASONS ? nr : PF_DECISION_MAX_REASONS);
    expect_int(x3.nreasons, nr < 3 ? nr : 3);
    for (size_t r = 0; r < x.nreasons; r++) {
        if (x.reason[r].col != rank[r].col)
            fail_msg("%s: reason %zu is %s (%.6g), expected %s (%.6g)", CTX, r + 1,
                     S->cols[x.reason[r].col].name, x.reason[r].contribution,
                     S->cols[rank[r].col].name, rank[r].c);
        if (!(fabs(x.reason[r].contribution - rank[r].c) <= 1e-9))
            fail_msg("%s: reason %zu contribution %.17g, expected %.17g", CTX, r + 1,
                     x.reason[r].contribution, rank[r].c);
    }
    for (size_t r = 0; r < x3.nreasons; r++) {
        expect_int(x3.reason[r].col, x.reason[r].col);
        assert_num(x3.reason[r].contribution, x.reason[r].contribution);
    }
    /* The rest of the decision does not depend on how many reasons are kept. */
    assert_num(x3.logit, x.logit);
    expect_int(x3.group, x.group);
    expect_int(x3.level, x.level);
    expect_int(x3.track, x.track);
    expect_int(x3.failed_rule, x.failed_rule);
    expect_int(x3.target_groups, x.target_groups);
    pf_decider_free(d8);
    pf_decider_free(d3);
    if (out)
        *out = x;
}

/* Checks profile pr (alone in a frame) under t. */
static pf_decision check_profile(const tpol *t, const profile *pr)
{
    rows R;
    rows_read(&R, pr, 1);
    pf_decision x;
    check_row(t, &R, 0, pr, &x);
    rows_free(&R);
    return x;
}

/* ------------------------------------------------------------------------ */
/* Policies written by the tests                                            */

typedef struct custom {
    char *dir;
    pf_policy *pol;
    tpol tp;
} custom;

/* A copy of bundled policy base with the thresholds given (a, b for
 * levels, enh for tracks; the others ignored). */
static void custom_policy(custom *c, const char *base, double far_below, double b_min, double a_min,
                          double close_min, double enhanced_below)
{
    memset(c, 0, sizeof *c);
    c->dir = make_tmpdir();
    json_t *root = policy_json(base);
    json_t *g = json_object_get(root, "groups");
    json_object_set_new(g, "close_min_p", json_real(close_min));
    json_object_set_new(g, "far_below_p", json_real(far_below));
    json_t *l = json_object_get(root, "levels");
    if (l) {
        json_object_set_new(l, "a_min_p", json_real(a_min));
        json_object_set_new(l, "b_min_p", json_real(b_min));
    }
    json_t *t = json_object_get(root, "tracks");
    if (t)
        json_object_set_new(t, "enhanced_below_p", json_real(enhanced_below));
    char name[128];
    snprintf(name, sizeof name, "%s-test", base);
    json_object_set_new(root, "name", json_string(name));
    char *path = json_write_to(c->dir, "custom.json", root);
    pf_error err;
    if (pf_policy_load(&c->pol, path, S, &err))
        fail_msg("%s", err.message);
    tpol_from_json(&c->tp, root, c->pol, base);
    /* The thresholds survive the round trip through the file exactly. */
    assert_num(c->tp.close_min, close_min);
    assert_num(c->tp.far_below, far_below);
    free(path);
    json_decref(root);
}

static void custom_free(custom *c)
{
    pf_policy_free(c->pol);
    rm_tmpdir(c->dir);
}

static double mid(double a, double b)
{
    return (a + b) / 2;
}

static double hand_p(const profile *pr)
{
    hand h;
    hand_logit(pr, &h);
    return h.p;
}

/* ------------------------------------------------------------------------ */
/* Tests: the model by hand                                                 */

/* The reference logit is the sum of coef * reference_value over the
 * model's terms; the features are the columns the terms use, in schema
 * order. */
static void test_reference_logit_and_features(void **state)
{
    snprintf(CTX, sizeof CTX, "default model");
    pf_decider *d = decider(G.bundled[KROM2020], 3);
    double ref = 0;
    for (size_t j = 0; j < G.nterms; j++)
        ref += G.terms[j].coef * G.terms[j].ref;
    expect_rel(pf_decider_reference_logit(d), ref, 1e-12);
    profile pr = base_profile("any");
    hand h;
    hand_logit(&pr, &h);
    size_t nf;
    const int *fc = pf_decider_features(d, &nf);
    expect_int(nf, h.nfeat);
    for (size_t q = 0; q < nf; q++) {
        expect_int(fc[q], h.feat[q].col);
        if (q)
            assert_true(fc[q - 1] < fc[q]);
    }
    assert_ptr_equal(pf_decider_model(d), G.m);
    assert_ptr_equal(pf_decider_policy(d), G.bundled[KROM2020]);
    pf_decider_free(d);
}

/* 58, only pre-secondary, born outside Europe, in Umeå (model 2). */
static void test_profile_older_outside_europe_umea(void **state)
{
    profile pr = older_outside_europe_umea();
    for (int k = 0; k < NPOL; k++) {
        pf_decision x = check_profile(&G.tp[k], &pr);
        /* Facts of the profile whatever the thresholds. */
        assert_true(flagged(G.bundled[k], &x, "endast_forgymnasial"));
        assert_true(flagged(G.bundled[k], &x, "utomeuropeiskt_fodd"));
        assert_true(flagged(G.bundled[k], &x, "alder_55_64"));
        assert_false(flagged(G.bundled[k], &x, "ung_bristfallig_utbildning"));
        assert_false(flagged(G.bundled[k], &x, "nedsatt_arbetsformaga"));
        if (k != STOM) {
            assert_string_equal(G.bundled[k]->areas[x.area].name, "Umeå");
            assert_int_equal(x.compensation_model, 2);
        }
    }
}

/* 22, upper secondary short, Västerås (model 1), JOB, 500 days. */
static void test_profile_young_vasteras_job(void **state)
{
    profile pr = young_vasteras_job();
    for (int k = 0; k < NPOL; k++) {
        pf_decision x = check_profile(&G.tp[k], &pr);
        assert_true(flagged(G.bundled[k], &x, "ung_bristfallig_utbildning"));
        assert_false(flagged(G.bundled[k], &x, "endast_forgymnasial"));
        if (k != STOM) {
            assert_string_equal(G.bundled[k]->areas[x.area].name, "Västerås");
            assert_int_equal(x.compensation_model, 1);
        }
    }
}

/* Stockholm: no delivery area, no compensation model, no compensation;
 * the delivery-area rule fails first whatever p is. */
static void test_profile_outside_delivery_areas(void **state)
{
    profile pr = outside_delivery_areas();
    for (int k = 0; k < NPOL; k++) {
        pf_decision x = check_profile(&G.tp[k], &pr);
        assert_int_equal(x.target_groups, 0);
        if (k != STOM) {
            assert_int_equal(x.area, -1);
            assert_int_equal(x.compensation_model, 0);
            assert_true(isnan(x.max_compensation));
            assert_string_equal(failed_code(G.bundled[k], &x), "utanfor_leveransomrade");
        }
    }
}

/* 28, long post-secondary education, experienced, Lidköping (model 1). */
static void test_profile_close_graduate(void **state)
{
    profile pr = close_graduate();
    for (int k = 0; k < NPOL; k++) {
        pf_decision x = check_profile(&G.tp[k], &pr);
        assert_int_equal(x.target_groups, 0);
        if (k != STOM)
            assert_string_equal(G.bundled[k]->areas[x.area].name, "Lidköping");
    }
}

/* 35, born in Syria, language support, ETP, Trollhättan (model 2), an
 * earlier period (so missing(dagar_sedan_foregaende_period) is 0). */
static void test_profile_newly_arrived_etp(void **state)
{
    profile pr = newly_arrived_etp();
    for (int k = 0; k < NPOL; k++) {
        pf_decision x = check_profile(&G.tp[k], &pr);
        assert_true(flagged(G.bundled[k], &x, "endast_forgymnasial"));
        assert_true(flagged(G.bundled[k], &x, "utomeuropeiskt_fodd"));
        assert_true(flagged(G.bundled[k], &x, "nedsatt_arbetsformaga"));
        if (k != STOM)
            assert_int_equal(x.compensation_model, 2);
    }
}

/* Several profiles in one frame: each row's decision is its own. */
static void test_profiles_in_one_frame(void **state)
{
    profile pr[5] = {older_outside_europe_umea(), young_vasteras_job(), outside_delivery_areas(),
                     close_graduate(), newly_arrived_etp()};
    rows R;
    rows_read(&R, pr, 5);
    for (int k = 0; k < NPOL; k++)
        for (size_t i = 0; i < 5; i++)
            check_row(&G.tp[k], &R, i, &pr[i], NULL);
    rows_free(&R);
}

/* ------------------------------------------------------------------------ */
/* Tests: every group, level and track, with thresholds chosen by the test  */

/* The five profiles sorted by their hand-computed p. */
static void sorted_profiles(profile pr[5], double p[5])
{
    pr[0] = older_outside_europe_umea();
    pr[1] = young_vasteras_job();
    pr[2] = outside_delivery_areas();
    pr[3] = close_graduate();
    pr[4] = newly_arrived_etp();
    for (int k = 0; k < 5; k++) {
        /* Eligible but for the group: long registration, JOB. */
        pset(&pr[k], "inskrivningsdagar", "%s", "400");
        pset(&pr[k], "ramprogram", "%s", "JOB");
        p[k] = hand_p(&pr[k]);
    }
    for (int a = 1; a < 5; a++)
        for (int b = a; b > 0 && p[b] < p[b - 1]; b--) {
            profile tp = pr[b];
            pr[b] = pr[b - 1];
            pr[b - 1] = tp;
            double t = p[b];
            p[b] = p[b - 1];
            p[b - 1] = t;
        }
    for (int k = 1; k < 5; k++)
        if (!(p[k] - p[k - 1] > 1e-6))
            fail_msg("profiles %s and %s have nearly equal p (%.17g, %.17g)",
                     pget(&pr[k - 1], "id"), pget(&pr[k], "id"), p[k - 1], p[k]);
}

/* With thresholds between the five profiles' p values, they land in
 * group 3, level C, B, A and group 1; in every delivery area the maximum
 * compensation is the table's for that level and the area's model. */
static void test_custom_thresholds_groups_and_levels(void **state)
{
    profile pr[5];
    double p[5];
    sorted_profiles(pr, p);
    static const char *const base[] = {"krom-2020", "krom-2021-08"};
    static const char *const one_per_area[] = {"1080", "1494", "0882", "1488", "2480", "1980"};
    for (int b = 0; b < 2; b++) {
        custom c;
        custom_policy(&c, base[b], mid(p[0], p[1]), mid(p[1], p[2]), mid(p[2], p[3]),
                      mid(p[3], p[4]), 0);
        for (int a = 0; a < 6; a++) {
            static const int want_group[5] = {3, 2, 2, 2, 1};
            static const char want_level[5] = {0, 'C', 'B', 'A', 0};
            for (int k = 0; k < 5; k++) {
                profile q = pr[k];
                pset(&q, "kommunkod", "%s", one_per_area[a]);
                if (hand_p(&q) != p[k])
                    fail_msg("the municipality changes p: the thresholds no longer separate "
                             "the profiles");
                pf_decision x = check_profile(&c.tp, &q);
                assert_int_equal(x.group, want_group[k]);
                assert_int_equal(x.level, want_level[k]);
                assert_int_equal(x.track, 0);
                if (want_level[k])
                    assert_true(pf_decision_eligible(&x));
                else
                    assert_string_equal(failed_code(c.pol, &x), "statistisk_bedomning");
                if (!want_level[k])
                    assert_true(isnan(x.max_compensation));
            }
        }
        custom_free(&c);
    }
}

/* Stöd och matchning: a weak and a middling profile, each with and
 * without language support, land in spår 4, 3, 2 and 1; a strong profile
 * in group 1 gets no track and fails 'star_nara'. */
static void test_custom_thresholds_tracks(void **state)
{
    profile w0 = older_outside_europe_umea(), w1 = w0, s0 = base_profile("middling"), s1 = s0,
            g = close_graduate();
    pset(&w1, "sprakstod", "1");
    pset(&w1, "id", "older-sprakstod");
    pset(&s1, "sprakstod", "1");
    pset(&s1, "id", "middling-sprakstod");
    double pw0 = hand_p(&w0), pw1 = hand_p(&w1), ps0 = hand_p(&s0), ps1 = hand_p(&s1),
           pg = hand_p(&g);
    /* The order the thresholds rely on (language support lowers p). */
    assert_true(pw1 < pw0 && pw0 < ps1 && ps1 < ps0 && ps0 < pg);
    custom c;
    custom_policy(&c, "stom", mid(pw1, pw0), 0, 0, mid(ps0, pg), mid(pw0, ps1));
    struct {
        profile *pr;
        int group, track;
    } want[] = {{&w1, 3, 4}, {&w0, 2, 3}, {&s1, 2, 2}, {&s0, 2, 1}, {&g, 1, 0}};
    for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
        pf_decision x = check_profile(&c.tp, want[k].pr);
        assert_int_equal(x.group, want[k].group);
        assert_int_equal(x.track, want[k].track);
        assert_int_equal(x.level, 0);
        assert_int_equal(x.area, -1);
        assert_int_equal(x.compensation_model, 0);
        if (want[k].track) {
            assert_true(pf_decision_eligible(&x));
            /* max per participant = 65 x per day + max result, from the table */
            size_t r = (size_t) want[k].track - 1;
            assert_int_equal((int) csv_num(G.stom_comp, r, "spar"), want[k].track);
            assert_num(x.max_compensation, 65 * csv_num(G.stom_comp, r, "grund_per_dag") +
                                               csv_num(G.stom_comp, r, "max_resultatersattning"));
        } else {
            assert_true(isnan(x.max_compensation));
            assert_string_equal(failed_code(c.pol, &x), "star_nara");
        }
    }
    custom_free(&c);
}

/* ------------------------------------------------------------------------ */
/* Tests: eligibility rules                                                 */

/* A policy derived from base where every profile here is in group 2. */
static void wide_policy(custom *c, const char *base)
{
    custom_policy(c, base, 0.01, 0.3, 0.5, 0.99, 0.3);
}

/* Every one of the 32 municipalities is inside; others are outside. */
static void test_rule_delivery_area(void **state)
{
    for (int b = 0; b < 2; b++) {
        custom c;
        wide_policy(&c, b ? "krom-2021-08" : "krom-2020");
        for (size_t r = 0; r < G.areas->nrows; r++) {
            profile pr = young_vasteras_job();
            pset(&pr, "kommunkod", "%s", csv_get(G.areas, r, "kommunkod"));
            pf_decision x = check_profile(&c.tp, &pr);
            assert_true(pf_decision_eligible(&x));
        }
        static const char *const outside[] = {"0180", "1480", "1280", "2584", "0114"};
        for (size_t k = 0; k < sizeof outside / sizeof *outside; k++) {
            profile pr = young_vasteras_job();
            pset(&pr, "kommunkod", "%s", outside[k]);
            pf_decision x = check_profile(&c.tp, &pr);
            assert_string_equal(failed_code(c.pol, &x), "utanfor_leveransomrade");
            assert_int_equal(x.area, -1);
            assert_true(isnan(x.max_compensation));
            /* The level is still given: eligibility is reported beside it. */
            assert_true(x.level != 0);
        }
        custom_free(&c);
    }
}

/* From 2021-08-01: at least 400 days registered. */
static void test_rule_inskrivningstid_399_400(void **state)
{
    custom c, c0;
    wide_policy(&c, "krom-2021-08");
    wide_policy(&c0, "krom-2020");
    static const struct {
        const char *days;
        int ok;
    } cases[] = {{"0", 0}, {"399", 0}, {"400", 1}, {"401", 1}, {"7300", 1}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        profile pr = young_vasteras_job();
        pset(&pr, "inskrivningsdagar", "%s", cases[k].days);
        pf_decision x = check_profile(&c.tp, &pr);
        if (cases[k].ok)
            assert_true(pf_decision_eligible(&x));
        else
            assert_string_equal(failed_code(c.pol, &x), "inskrivningstid");
        /* The 2020 pilot has no such rule. */
        x = check_profile(&c0.tp, &pr);
        assert_true(pf_decision_eligible(&x));
    }
    custom_free(&c);
    custom_free(&c0);
}

/* From 2021-08-01: taking part in JOB, UGA or ETP. */
static void test_rule_ramprogram(void **state)
{
    custom c;
    wide_policy(&c, "krom-2021-08");
    static const struct {
        const char *code;
        int ok;
    } cases[] = {{"JOB", 1}, {"UGA", 1}, {"ETP", 1}, {"ingen", 0}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        profile pr = young_vasteras_job();
        pset(&pr, "ramprogram", "%s", cases[k].code);
        pf_decision x = check_profile(&c.tp, &pr);
        if (cases[k].ok)
            assert_true(pf_decision_eligible(&x));
        else
            assert_string_equal(failed_code(c.pol, &x), "ramprogram");
    }
    custom_free(&c);
}

/* The statistical "yes" is group 2 only: groups 1 and 3 fail it. */
static void test_rule_statistical_assessment(void **state)
{
    profile pr = young_vasteras_job();
    double p = hand_p(&pr);
    static const char *const base[] = {"krom-2020", "krom-2021-08"};
    for (int b = 0; b < 2; b++) {
        custom c1, c3;
        /* All thresholds below p: group 1. */
        custom_policy(&c1, base[b], p / 16, p / 8, p / 4, p / 2, 0);
        pf_decision x = check_profile(&c1.tp, &pr);
        assert_int_equal(x.group, 1);
        assert_string_equal(failed_code(c1.pol, &x), "statistisk_bedomning");
        /* All thresholds above p: group 3. */
        double q = (1 - p) / 16;
        custom_policy(&c3, base[b], p + q, p + 2 * q, p + 3 * q, p + 4 * q, 0);
        x = check_profile(&c3.tp, &pr);
        assert_int_equal(x.group, 3);
        assert_string_equal(failed_code(c3.pol, &x), "statistisk_bedomning");
        custom_free(&c1);
        custom_free(&c3);
    }
}

/* When several rules fail, the first in the file's order is reported. */
static void test_first_failing_rule_is_reported(void **state)
{
    custom wide;
    wide_policy(&wide, "krom-2021-08");
    profile pr = young_vasteras_job();
    pset(&pr, "kommunkod", "0180");
    pset(&pr, "inskrivningsdagar", "100");
    pset(&pr, "ramprogram", "ingen");
    /* Outside every area, short registration, no programme. */
    pf_decision x = check_profile(&wide.tp, &pr);
    assert_string_equal(failed_code(wide.pol, &x), "utanfor_leveransomrade");
    assert_int_equal(x.failed_rule, 0);
    /* Inside, short registration, no programme. */
    pset(&pr, "kommunkod", "1980");
    x = check_profile(&wide.tp, &pr);
    assert_string_equal(failed_code(wide.pol, &x), "inskrivningstid");
    /* Long registration, no programme. */
    pset(&pr, "inskrivningsdagar", "500");
    x = check_profile(&wide.tp, &pr);
    assert_string_equal(failed_code(wide.pol, &x), "ramprogram");
    custom_free(&wide);

    /* In group 1, short registration, no programme: the statistical rule. */
    pset(&pr, "inskrivningsdagar", "100");
    double p = hand_p(&pr);
    custom c1;
    custom_policy(&c1, "krom-2021-08", p / 16, p / 8, p / 4, p / 2, 0);
    x = check_profile(&c1.tp, &pr);
    assert_int_equal(x.group, 1);
    assert_string_equal(failed_code(c1.pol, &x), "statistisk_bedomning");
    /* Outside as well: still the delivery-area rule. */
    pset(&pr, "kommunkod", "0180");
    x = check_profile(&c1.tp, &pr);
    assert_string_equal(failed_code(c1.pol, &x), "utanfor_leveransomrade");
    custom_free(&c1);
}

/* ------------------------------------------------------------------------ */
/* Tests: target groups                                                     */

/* Checks one profile under every bundled policy and returns whether the
 * target group `code` is flagged (the same in all three). */
static int flag_everywhere(const profile *pr, const char *code)
{
    int v = -1;
    for (int k = 0; k < NPOL; k++) {
        pf_decision x = check_profile(&G.tp[k], pr);
        int f = flagged(G.bundled[k], &x, code);
        if (v >= 0)
            assert_int_equal(f, v);
        v = f;
    }
    return v;
}

/* Age 15 is not a valid row (the schema's minimum is 16). */
static void test_target_group_age_15_rejected(void **state)
{
    profile pr = base_profile("fifteen");
    pset(&pr, "alder", "15");
    tbuf csv = {0};
    for (int k = 0; k < NCOL; k++)
        tbuf_printf(&csv, "%s%s", k ? "," : "", COLUMN[k]);
    tbuf_puts(&csv, "\n");
    for (int k = 0; k < NCOL; k++)
        tbuf_printf(&csv, "%s%s", pr.v[k], k == NCOL - 1 ? "\n" : ",");
    pf_reader *r;
    pf_frame *f;
    pf_error err;
    assert_int_equal(pf_reader_open_memory(&r, S, csv.p, csv.n, NULL, &err), 0);
    assert_int_equal(pf_reader_frame_new(r, 4, &f, &err), 0);
    assert_int_equal(pf_reader_read(r, f, &err), 0);
    assert_int_equal(pf_reader_stats_get(r)->rows_rejected, 1);
    pf_frame_free(f);
    pf_reader_close(r);
    tbuf_free(&csv);
}

static void test_target_group_age_boundaries(void **state)
{
    static const struct {
        int age, young, older;
    } cases[] = {{16, 1, 0}, {17, 1, 0}, {24, 1, 0}, {25, 0, 0}, {54, 0, 0},
                 {55, 0, 1}, {60, 0, 1}, {64, 0, 1}, {65, 0, 0}, {67, 0, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        profile pr = base_profile("age");
        pset(&pr, "alder", "%d", cases[k].age);
        pset(&pr, "utbildningsniva", "3");
        assert_int_equal(flag_everywhere(&pr, "ung_bristfallig_utbildning"), cases[k].young);
        assert_int_equal(flag_everywhere(&pr, "alder_55_64"), cases[k].older);
    }
}

static void test_target_group_education_levels(void **state)
{
    static const struct {
        const char *niva;
        int pre_secondary, young_deficient;
    } cases[] = {{"1", 1, 1}, {"2", 1, 1}, {"3", 0, 1}, {"4", 0, 0}, {"5", 0, 0},
                 {"6", 0, 0}, {"7", 0, 0}, {"9", 0, 0}, {"", 0, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        for (int age = 20; age <= 40; age += 20) {
            profile pr = base_profile("education");
            pset(&pr, "alder", "%d", age);
            pset(&pr, "utbildningsniva", "%s", cases[k].niva);
            assert_int_equal(flag_everywhere(&pr, "endast_forgymnasial"), cases[k].pre_secondary);
            assert_int_equal(flag_everywhere(&pr, "ung_bristfallig_utbildning"),
                             age <= 24 && cases[k].young_deficient);
        }
    }
}

static void test_target_group_born_outside_europe(void **state)
{
    static const struct {
        const char *land;
        int outside;
    } cases[] = {{"SE", 0}, {"NO", 0}, {"FI", 0}, {"DE", 0}, {"PL", 0}, {"CH", 0}, {"RS", 0},
                 {"UA", 0}, {"BA", 0}, {"SY", 1}, {"SO", 1}, {"US", 1}, {"IQ", 1}, {"CN", 1}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        profile pr = base_profile("born");
        pset(&pr, "fodelseland", "%s", cases[k].land);
        assert_int_equal(flag_everywhere(&pr, "utomeuropeiskt_fodd"), cases[k].outside);
    }
}

static void test_target_group_reduced_work_capacity(void **state)
{
    for (int v = 0; v <= 1; v++) {
        profile pr = base_profile("capacity");
        pset(&pr, "funktionsnedsattning", "%s", v ? "40" : "00");
        pset(&pr, "nedsatt_arbetsformaga", "%d", v);
        assert_int_equal(flag_everywhere(&pr, "nedsatt_arbetsformaga"), v);
    }
}

/* A missing value never satisfies a condition: a target group on the
 * days since an earlier period (missing without one) and one on the
 * occupational field of a second occupation sought (missing when only one
 * is sought). */
static void test_missing_value_never_satisfies_condition(void **state)
{
    char *dir = make_tmpdir();
    json_t *root = policy_json("stom");
    json_t *tg = json_object_get(root, "target_groups");
    json_array_append_new(tg, json_pack("{s:s, s:s, s:[{s:s, s:i}]}", "code", "tidigare_period",
                                        "label", "Har haft en tidigare period", "all", "column",
                                        "dagar_sedan_foregaende_period", "min", 0));
    json_array_append_new(tg, json_pack("{s:s, s:s, s:[{s:s, s:[s,s,s,s,s,s,s,s,s,s]}]}", "code",
                                        "andra_yrke", "label", "Söker ett andra yrke", "all",
                                        "column", "sokt_yrke_2_omrade", "in", "0", "1", "2", "3",
                                        "4", "5", "6", "7", "8", "9"));
    assert_non_null(json_array_get(tg, 6));
    char *path = json_write_to(dir, "missing.json", root);
    pf_policy *pol;
    pf_error err;
    if (pf_policy_load(&pol, path, S, &err))
        fail_msg("%s", err.message);
    profile pr[2] = {base_profile("without"), base_profile("with")};
    pset(&pr[1], "dagar_sedan_foregaende_period", "0");
    pset(&pr[1], "sokt_yrke_2", "9111");
    rows R;
    rows_read(&R, pr, 2);
    pf_decider *d = decider(pol, 3);
    pf_decision x[2];
    assert_int_equal(pf_decide(d, R.f, 0, 2, x, &err), 0);
    assert_false(flagged(pol, &x[0], "tidigare_period"));
    assert_false(flagged(pol, &x[0], "andra_yrke"));
    assert_true(flagged(pol, &x[1], "tidigare_period"));
    assert_true(flagged(pol, &x[1], "andra_yrke"));
    pf_decider_free(d);
    rows_free(&R);
    pf_policy_free(pol);
    free(path);
    json_decref(root);
    rm_tmpdir(dir);
}

/* ------------------------------------------------------------------------ */
/* Tests: reasons with a model built in the test                            */

/* A model over the given terms (coefficient-table form) and coefficients,
 * without reference values. */
static pf_model *small_model(const char *const *terms, const double *coef, size_t n)
{
    pf_encoder *e;
    pf_error err;
    assert_int_equal(pf_encoder_new(&e, S, &err), 0);
    for (size_t j = 0; j < n; j++)
        if (pf_encoder_add(e, terms[2 * j], terms[2 * j + 1], &err))
            fail_msg("%s", err.message);
    pf_model *m;
    assert_int_equal(pf_model_new(&m, S, "logit", "arbete_studier_180d", e, &err), 0);
    for (size_t j = 0; j < n; j++)
        m->coef[j] = coef[j];
    return m;
}

/* A p exactly on a threshold: p >= close_min_p is group 1, p >= a_min_p
 * level A, p >= b_min_p level B, p < far_below_p group 3, and
 * p < enhanced_below_p enhanced. A model of a zero intercept gives
 * p = 1 / (1 + e^0) = 0.5 exactly. */
static void test_thresholds_exactly_at_p(void **state)
{
    static const char *const terms[] = {"(Intercept)", ""};
    static const double coef[] = {0};
    pf_model *m = small_model(terms, coef, 1);
    profile pr = base_profile("half");
    rows R;
    rows_read(&R, &pr, 1);
    const double above = nextafter(0.5, 1);
    static const struct {
        const char *base;
        double far, b, a, close, enh;
        int group;
        char level;
        int track;
    } cases[] = {
        {"krom-2020", 0.1, 0.2, 0.3, 0.5, 0, 1, 0, 0},
        {"krom-2020", 0.1, 0.2, 0.5, 0.9, 0, 2, 'A', 0},
        {"krom-2020", 0.1, 0.5, 0.6, 0.9, 0, 2, 'B', 0},
        {"krom-2020", 0.1, 0.6, 0.7, 0.9, 0, 2, 'C', 0},
        {"krom-2020", 0.5, 0.5, 0.5, 0.5, 0, 1, 0, 0},
        {"krom-2020", 0.5, 0.6, 0.7, 0.9, 0, 2, 'C', 0},
        {"krom-2020", 0, 0.6, 0.7, 0.9, 0, 3, 0, 0}, /* far: just above 0.5 */
        {"stom", 0.1, 0, 0, 0.9, 0.5, 2, 0, 1},
        {"stom", 0.1, 0, 0, 0.9, 0, 2, 0, 3}, /* enhanced: just above 0.5 */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        custom c;
        double far = cases[k].far ? cases[k].far : above;
        double enh = cases[k].enh ? cases[k].enh : above;
        custom_policy(&c, cases[k].base, far, cases[k].b, cases[k].a, cases[k].close, enh);
        pf_decider *d;
        pf_error err;
        assert_int_equal(pf_decider_new(&d, m, c.pol, NULL, &err), 0);
        pf_decision x;
        assert_int_equal(pf_decide(d, R.f, 0, 1, &x, &err), 0);
        assert_num(x.p, 0.5);
        if (x.group != cases[k].group || x.level != cases[k].level || x.track != cases[k].track)
            fail_msg("case %zu: group %d level %c track %d, expected %d %c %d", k + 1, x.group,
                     x.level ? x.level : '-', x.track, cases[k].group,
                     cases[k].level ? cases[k].level : '-', cases[k].track);
        pf_decider_free(d);
        custom_free(&c);
    }
    rows_free(&R);
    pf_model_free(m);
}

/* Equal |contribution|: the lower schema column first, whatever the order
 * of the terms; zero contributions are not reasons. */
static void test_reasons_ties_by_schema_column(void **state)
{
    static const char *const terms[] = {"sprakstod", "", "kommunovergripande", "", "akassa", ""};
    static const double coef[] = {-0.5, 0.5, 0.5};
    pf_model *m = small_model(terms, coef, 3);
    pf_decider *d;
    pf_error err;
    assert_int_equal(pf_decider_new(&d, m, G.bundled[STOM], NULL, &err), 0);
    int akassa = pf_schema_find(S, "akassa"), komm = pf_schema_find(S, "kommunovergripande"),
        sprak = pf_schema_find(S, "sprakstod");
    assert_true(akassa < komm && komm < sprak);

    profile pr[2] = {base_profile("all-three"), base_profile("two")};
    pset(&pr[0], "akassa", "1");
    pset(&pr[0], "kommunovergripande", "1");
    pset(&pr[0], "sprakstod", "1");
    pset(&pr[1], "akassa", "0");
    pset(&pr[1], "kommunovergripande", "1");
    pset(&pr[1], "sprakstod", "1");
    rows R;
    rows_read(&R, pr, 2);
    pf_decision x[2];
    assert_int_equal(pf_decide(d, R.f, 0, 2, x, &err), 0);
    assert_num(x[0].logit, 0.5);
    assert_num(x[0].p, 1 / (1 + exp(-0.5)));
    assert_int_equal(x[0].nreasons, 3);
    assert_int_equal(x[0].reason[0].col, akassa);
    assert_int_equal(x[0].reason[1].col, komm);
    assert_int_equal(x[0].reason[2].col, sprak);
    assert_num(x[0].reason[0].contribution, 0.5);
    assert_num(x[0].reason[1].contribution, 0.5);
    assert_num(x[0].reason[2].contribution, -0.5);
    assert_num(x[1].logit, 0);
    assert_num(x[1].p, 0.5);
    assert_int_equal(x[1].nreasons, 2);
    assert_int_equal(x[1].reason[0].col, komm);
    assert_int_equal(x[1].reason[1].col, sprak);
    /* One reason kept: the first of the tie. */
    pf_decider *d1;
    pf_decider_options one = {.reasons = 1};
    assert_int_equal(pf_decider_new(&d1, m, G.bundled[STOM], &one, &err), 0);
    assert_int_equal(pf_decide(d1, R.f, 0, 1, x, &err), 0);
    assert_int_equal(x[0].nreasons, 1);
    assert_int_equal(x[0].reason[0].col, akassa);
    pf_decider_free(d1);
    rows_free(&R);
    pf_decider_free(d);
    pf_model_free(m);
}

/* An interaction's contribution is shared equally by its features. */
static void test_reasons_interaction_shared(void **state)
{
    static const char *const terms[] = {"(Intercept)", "", "akassa:hinge(alder,30)", "",
                                        "alder",       ""};
    static const double coef[] = {0.25, 0.1, -0.01};
    pf_model *m = small_model(terms, coef, 3);
    static const double ref[] = {1, 2, 40};
    m->ref = malloc(sizeof ref);
    memcpy(m->ref, ref, sizeof ref);
    pf_decider *d;
    pf_error err;
    assert_int_equal(pf_decider_new(&d, m, G.bundled[STOM], NULL, &err), 0);
    profile pr = base_profile("interaction");
    pset(&pr, "alder", "45");
    pset(&pr, "akassa", "1");
    rows R;
    rows_read(&R, &pr, 1);
    size_t nf;
    const int *fc = pf_decider_features(d, &nf);
    assert_int_equal(nf, 2);
    assert_int_equal(fc[0], pf_schema_find(S, "alder"));
    assert_int_equal(fc[1], pf_schema_find(S, "akassa"));
    double c[2];
    /* akassa:hinge(alder,30) = 1 * 15; its part (0.1 * (15 - 2)) is halved. */
    double inter = 0.1 * (15 - 2) / 2;
    double logit = pf_decider_contributions(d, R.f, 0, c);
    assert_true(fabs(logit - (0.25 + 0.1 * 15 - 0.01 * 45)) < 1e-15);
    assert_true(fabs(c[0] - (inter + -0.01 * (45 - 40))) < 1e-15);
    assert_true(fabs(c[1] - inter) < 1e-15);
    assert_true(fabs(pf_decider_reference_logit(d) - (0.25 + 0.1 * 2 - 0.01 * 40)) < 1e-15);
    assert_true(fabs(c[0] + c[1] - (logit - pf_decider_reference_logit(d))) < 1e-12);
    rows_free(&R);
    pf_decider_free(d);
    pf_model_free(m);
}

/* Category levels: the level a row has contributes its coefficient, every
 * level term its -coef * ref; a level without a term, or a missing value,
 * contributes only the latter. */
static void test_reasons_category_levels_and_missing(void **state)
{
    static const char *const terms[] = {"(Intercept)",
                                        "",
                                        "sokt_yrke_2_omrade",
                                        "5",
                                        "sokt_yrke_2_omrade",
                                        "2",
                                        "sokt_yrke_2_omrade",
                                        "0",
                                        "alder",
                                        ""};
    static const double coef[] = {0.125, 0.375, -0.25, 0.5, 0.015625};
    pf_model *m = small_model(terms, coef, 5);
    static const double ref[] = {1, 0.25, 0.125, 0.0625, 40};
    m->ref = malloc(sizeof ref);
    memcpy(m->ref, ref, sizeof ref);
    pf_decider *d;
    pf_error err;
    assert_int_equal(pf_decider_new(&d, m, G.bundled[STOM], NULL, &err), 0);
    /* sokt_yrke_2 (its first digit is the field) and the coefficient of the
     * row's level: field 9 has no term, and a missing value no level. */
    static const struct {
        const char *yrke;
        double b;
    } cases[] = {{"5120", 0.375}, {"2111", -0.25}, {"0110", 0.5}, {"9111", 0}, {"", 0}};
    enum { NC = sizeof cases / sizeof *cases };
    profile pr[NC];
    for (int k = 0; k < NC; k++) {
        pr[k] = base_profile("field");
        pset(&pr[k], "sokt_yrke_2", "%s", cases[k].yrke);
        pset(&pr[k], "alder", "48");
    }
    rows R;
    rows_read(&R, pr, NC);
    size_t nf;
    const int *fc = pf_decider_features(d, &nf);
    assert_int_equal(nf, 2);
    assert_int_equal(fc[0], pf_schema_find(S, "alder"));
    assert_int_equal(fc[1], pf_schema_find(S, "sokt_yrke_2_omrade"));
    double ref_levels = 0.375 * 0.25 - 0.25 * 0.125 + 0.5 * 0.0625;
    double ref_logit = 0.125 + ref_levels + 0.015625 * 40;
    assert_true(fabs(pf_decider_reference_logit(d) - ref_logit) < 1e-15);
    for (int k = 0; k < NC; k++) {
        double c[2];
        double logit = pf_decider_contributions(d, R.f, (size_t) k, c);
        assert_true(fabs(logit - (0.125 + cases[k].b + 0.015625 * 48)) < 1e-15);
        assert_true(fabs(c[0] - 0.015625 * (48 - 40)) < 1e-15);
        assert_true(fabs(c[1] - (cases[k].b - ref_levels)) < 1e-15);
        pf_decision x;
        assert_int_equal(pf_decide(d, R.f, (size_t) k, 1, &x, &err), 0);
        assert_true(fabs(x.logit - logit) < 1e-15);
        assert_int_equal(x.nreasons, 2);
        int big = fabs(c[1]) > fabs(c[0]);
        assert_int_equal(x.reason[0].col, fc[big ? 1 : 0]);
        assert_int_equal(x.reason[1].col, fc[big ? 0 : 1]);
    }
    rows_free(&R);
    pf_decider_free(d);
    pf_model_free(m);
}

/*
 * A model without reference values measures from the all-zero design row
 * (docs/policies.md), whose logit is the intercept: the reference logit is
 * 0.7 here, and the contributions sum to logit - 0.7.
 */
static void test_reasons_without_reference_values(void **state)
{
    static const char *const terms[] = {"(Intercept)", "", "akassa", ""};
    static const double coef[] = {0.7, 0.5};
    pf_model *m = small_model(terms, coef, 2);
    assert_null(m->ref);
    pf_decider *d;
    pf_error err;
    assert_int_equal(pf_decider_new(&d, m, G.bundled[STOM], NULL, &err), 0);
    profile pr = base_profile("no-ref");
    pset(&pr, "akassa", "1");
    rows R;
    rows_read(&R, &pr, 1);
    double c[1];
    double logit = pf_decider_contributions(d, R.f, 0, c);
    assert_num(logit, 1.2);
    assert_num(c[0], 0.5);
    pf_decision x;
    assert_int_equal(pf_decide(d, R.f, 0, 1, &x, &err), 0);
    assert_int_equal(x.nreasons, 1);
    assert_num(x.reason[0].contribution, 0.5);
    /* The invariant of decide.h: contributions sum to logit - reference logit. */
    double ref = pf_decider_reference_logit(d);
    rows_free(&R);
    pf_decider_free(d);
    pf_model_free(m);
    assert_num(ref, 0.7);
    assert_num(c[0], logit - ref);
}

static void test_decider_options(void **state)
{
    pf_decider *d;
    pf_error err;
    static const struct {
        int reasons, rc;
    } cases[] = {{0, 0},
                 {1, 0},
                 {PF_DECISION_MAX_REASONS, 0},
                 {PF_DECISION_MAX_REASONS + 1, PF_EINVAL},
                 {-1, PF_EINVAL}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        pf_decider_options o = {.reasons = cases[k].reasons};
        assert_int_equal(pf_decider_new(&d, G.m, G.bundled[KROM2020], &o, &err), cases[k].rc);
        if (cases[k].rc)
            assert_null(d);
        pf_decider_free(d);
    }
    assert_int_equal(pf_decider_new(&d, G.m, G.bundled[KROM2020], NULL, &err), 0);
    pf_decider_free(d);
}

/* A model and a policy loaded with different schemas are refused; the same
 * schema file loaded twice is the same schema. */
static void test_decider_schema_mismatch(void **state)
{
    char *dir = make_tmpdir();
    char sub[1024], link[1024];
    snprintf(sub, sizeof sub, "%s/schema", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(link, sizeof link, "%s/ref", dir);
    assert_int_equal(symlink(PF_TEST_DATADIR "/ref", link), 0);
    json_error_t jerr;
    json_t *sj = json_load_file(PF_TEST_DATADIR "/schema/af-inskrivning.json", 0, &jerr);
    assert_non_null(sj);
    char *same = json_write_to(sub, "same.json", sj);
    json_object_set_new(sj, "name", json_string("af-inskrivning-annan"));
    char *other = json_write_to(sub, "other.json", sj);
    json_decref(sj);
    pf_schema *s2, *s3;
    pf_error err;
    if (pf_schema_load(&s2, other, &err) || pf_schema_load(&s3, same, &err))
        fail_msg("%s", err.message);

    pf_model *m2;
    assert_int_equal(pf_model_load(&m2, PF_TEST_DATADIR "/models/af-logit.json", s3, &err), 0);
    pf_decider *d;
    /* Same name, same bytes (written differently, so compare by content). */
    int rc = pf_decider_new(&d, m2, G.bundled[KROM2020], NULL, &err);
    if (strcmp(s3->sha256, S->sha256) == 0)
        assert_int_equal(rc, 0);
    else
        assert_int_equal(rc, PF_EINVAL);
    pf_decider_free(d);
    pf_model_free(m2);

    static const char *const terms[] = {"akassa", ""};
    pf_encoder *e;
    assert_int_equal(pf_encoder_new(&e, s2, &err), 0);
    assert_int_equal(pf_encoder_add(e, terms[0], terms[1], &err), 0);
    pf_model *m;
    assert_int_equal(pf_model_new(&m, s2, "logit", "arbete_studier_180d", e, &err), 0);
    assert_int_equal(pf_decider_new(&d, m, G.bundled[KROM2020], NULL, &err), PF_EINVAL);
    assert_null(d);
    assert_contains(err.message, "af-inskrivning-annan");
    assert_contains(err.message, "krom-2020");
    pf_model_free(m);
    pf_schema_free(s2);
    pf_schema_free(s3);
    free(same);
    free(other);
    rm_tmpdir(dir);
}

/* ------------------------------------------------------------------------ */
/* Tests: the result for a row depends on that row alone                    */

static void same_decision(const pf_decision *a, const pf_decision *b, size_t row)
{
    snprintf(CTX, sizeof CTX, "synthetic row %zu", row);
    /* Bit for bit (NaN compensation included). */
    if (memcmp(&a->p, &b->p, sizeof a->p) || memcmp(&a->logit, &b->logit, sizeof a->logit) ||
        memcmp(&a->max_compensation, &b->max_compensation, sizeof a->max_compensation))
        fail_msg("%s: p, logit or compensation differ", CTX);
    expect_int(a->group, b->group);
    expect_int(a->level, b->level);
    expect_int(a->track, b->track);
    expect_int(a->compensation_model, b->compensation_model);
    expect_int(a->area, b->area);
    expect_int(a->failed_rule, b->failed_rule);
    expect_int(a->target_groups, b->target_groups);
    expect_int(a->nreasons, b->nreasons);
    for (size_t r = 0; r < a->nreasons; r++) {
        expect_int(a->reason[r].col, b->reason[r].col);
        if (memcmp(&a->reason[r].contribution, &b->reason[r].contribution, sizeof(double)))
            fail_msg("%s: reason %zu differs", CTX, r + 1);
    }
}

/* The PSI of a batch of 1000 rows that all hold x in `feature` (every
 * other column missing), from the drift accumulator. */
static double drift_psi_of(pf_drift *proto, const char *feature, double x)
{
    enum { N = 1000 };
    pf_error err;
    pf_frame *f;
    assert_int_equal(pf_frame_new(&f, S, N, 0, NULL, &err), 0);
    for (size_t c = 0; c < S->ncols; c++)
        for (size_t i = 0; i < N; i++) {
            if (f->col[c].num)
                f->col[c].num[i] = NAN;
            if (f->col[c].cat)
                f->col[c].cat[i] = -1;
            if (f->col[c].str)
                f->col[c].str[i] = (pf_strref){PF_STR_MISSING, 0};
        }
    int col = pf_schema_find(S, feature);
    assert_true(col >= 0);
    for (size_t i = 0; i < N; i++)
        f->col[col].num[i] = x;
    f->n = N;
    pf_drift *d;
    assert_int_equal(pf_drift_clone_empty(proto, &d, &err), 0);
    pf_drift_add(d, f, 0, N);
    double psi = NAN;
    for (size_t k = 0; k < pf_drift_features(d); k++) {
        pf_drift_result r;
        pf_drift_result_get(d, k, &r);
        if (!strcmp(r.feature, feature))
            psi = r.psi;
    }
    pf_drift_free(d);
    pf_frame_free(f);
    return psi;
}

/* The PSI of a batch entirely in bin `bin` (the last index: missing) by
 * the formula of drift.h, from the shares in the model file. */
static double psi_all_in(const char *feature, size_t bin)
{
    json_t *dist = json_object_get(json_object_get(G.m->meta, "distributions"), feature);
    json_t *shares = json_object_get(json_object_get(dist, "bins"), "shares");
    size_t nb = json_array_size(shares);
    assert_true(nb > 0 && bin <= nb);
    double psi = 0;
    for (size_t b = 0; b <= nb; b++) {
        double e = b < nb ? json_number_value(json_array_get(shares, b))
                          : json_number_value(json_object_get(dist, "missing_share"));
        e = e > 1e-4 ? e : 1e-4;
        double a = b == bin ? 1 : 1e-4;
        psi += (a - e) * log(a / e);
    }
    return psi;
}

/* Numeric drift bins are (a, b] between the stored edges, for whole
 * numbers (looked up) and others, below the table's range and above it.
 * The edges are the bundled model's: alder 23, 27, 31, 35, 39, 44, 49,
 * 54, 59; antal_tidigare_perioder 0, 1, 2, 3, 5. */
static void test_drift_bins(void **state)
{
    pf_drift *d;
    pf_error err;
    assert_int_equal(pf_drift_new(&d, G.m, &err), 0);
    static const struct {
        const char *feature;
        double x;
        size_t bin; /* 0: <= first edge; 10 for alder: missing */
    } cases[] = {
        {"alder", 23, 0},
        {"alder", 22.5, 0},
        {"alder", -1, 0},
        {"alder", -0.0, 0},
        {"alder", 23.5, 1},
        {"alder", 27, 1},
        {"alder", 27.25, 2},
        {"alder", 59, 8},
        {"alder", 60, 9},
        {"alder", 4095, 9},
        {"alder", 4096, 9},
        {"alder", 1e6, 9},
        {"alder", NAN, 10},
        {"antal_tidigare_perioder", 0, 0},
        {"antal_tidigare_perioder", 0.5, 1},
        {"antal_tidigare_perioder", 1, 1},
        {"antal_tidigare_perioder", 4, 4},
        {"antal_tidigare_perioder", 5, 4},
        {"antal_tidigare_perioder", 6, 5},
        {"antal_tidigare_perioder", NAN, 6},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        double got = drift_psi_of(d, cases[k].feature, cases[k].x);
        double want = psi_all_in(cases[k].feature, cases[k].bin);
        if (!(fabs(got - want) <= 1e-12 * want))
            fail_msg("%s = %g: PSI %.17g, %.17g with all rows in bin %zu", cases[k].feature,
                     cases[k].x, got, want, cases[k].bin);
    }
    pf_drift_free(d);
    (void) state;
}

static void test_chunking_does_not_matter(void **state)
{
    enum { N = 1000 };
    pf_synth_options o = {.n = N, .seed = 7, .datadir = PF_TEST_DATADIR};
    pf_synth *g;
    pf_error err;
    assert_int_equal(pf_synth_new(&g, &o, &err), 0);
    tbuf csv = {0};
    char line[PF_SYNTH_LINE_MAX + 4096];
    size_t n = pf_synth_header(g, line, sizeof line);
    assert_true(n > 0);
    tbuf_add(&csv, line, n);
    pf_synth_row row;
    for (int i = 0; i < N; i++) {
        pf_synth_next(g, &row);
        tbuf_add(&csv, line, pf_synth_format(g, &row, line));
    }
    pf_synth_free(g);

    pf_reader *r;
    pf_frame *f;
    pf_reader_options ro = {.on_reject = on_reject};
    assert_int_equal(pf_reader_open_memory(&r, S, csv.p, csv.n, &ro, &err), 0);
    assert_int_equal(pf_reader_frame_new(r, N, &f, &err), 0);
    assert_int_equal(pf_reader_read(r, f, &err), 1);
    assert_int_equal(f->n, N);

    pf_decision *all = calloc(N, sizeof *all), *part = calloc(N, sizeof *part);
    assert_non_null(all);
    assert_non_null(part);
    for (int k = 0; k < NPOL; k++) {
        pf_decider *d = decider(G.bundled[k], PF_DECISION_MAX_REASONS);
        assert_int_equal(pf_decide(d, f, 0, N, all, &err), 0);
        static const size_t chunk[] = {1, 7, 64, 65, 999};
        for (size_t c = 0; c < sizeof chunk / sizeof *chunk; c++) {
            memset(part, 0x5a, N * sizeof *part);
            for (size_t first = 0; first < N; first += chunk[c]) {
                size_t m = N - first < chunk[c] ? N - first : chunk[c];
                assert_int_equal(pf_decide(d, f, first, m, part + first, &err), 0);
            }
            for (size_t i = 0; i < N; i++)
                same_decision(&all[i], &part[i], i);
        }
        /* Each row: contributions add up; reasons ranked as documented. */
        size_t nf;
        const int *fcol = pf_decider_features(d, &nf);
        double *contrib = malloc(nf * sizeof *contrib);
        for (size_t i = 0; i < N; i++) {
            double logit = pf_decider_contributions(d, f, i, contrib), sum = 0;
            for (size_t q = 0; q < nf; q++)
                sum += contrib[q];
            assert_true(fabs(sum - (logit - pf_decider_reference_logit(d))) < 1e-9);
            assert_num(logit, all[i].logit);
            /* pf_decide takes rows a block at a time, one row by itself:
             * the same sums in the same order, so the same bits. */
            if (memcmp(&logit, &all[i].logit, sizeof logit))
                fail_msg("row %zu: logit %.17g one by one, %.17g in a block", i, logit,
                         all[i].logit);
            for (size_t q = 0; q < all[i].nreasons; q++) {
                size_t slot = 0;
                while (slot < nf && fcol[slot] != all[i].reason[q].col)
                    slot++;
                assert_true(slot < nf);
                if (memcmp(&contrib[slot], &all[i].reason[q].contribution, sizeof(double)))
                    fail_msg("row %zu: reason %zu differs", i, q + 1);
            }
            assert_true(fabs(all[i].p - 1 / (1 + exp(-logit))) <= 1e-12 * all[i].p);
            assert_true(fabs(all[i].logit - pf_model_logit(G.m, f, i)) <=
                        1e-12 * fmax(1, fabs(all[i].logit)));
            for (size_t q = 1; q < all[i].nreasons; q++) {
                double a = fabs(all[i].reason[q - 1].contribution),
                       b = fabs(all[i].reason[q].contribution);
                assert_true(a > b || (a == b && all[i].reason[q - 1].col < all[i].reason[q].col));
            }
        }
        free(contrib);
        pf_decider_free(d);
    }

    /* The same rows read in frames of 100 decide the same. */
    pf_reader_close(r);
    pf_frame_free(f);
    pf_decider *d = decider(G.bundled[KROM2021], PF_DECISION_MAX_REASONS);
    assert_int_equal(pf_reader_open_memory(&r, S, csv.p, csv.n, &ro, &err), 0);
    assert_int_equal(pf_reader_frame_new(r, 100, &f, &err), 0);
    pf_decider *d0 = decider(G.bundled[KROM2021], PF_DECISION_MAX_REASONS);
    size_t done = 0;
    while (pf_reader_read(r, f, &err) == 1) {
        assert_int_equal(pf_decide(d0, f, 0, f->n, part + done, &err), 0);
        done += f->n;
    }
    assert_int_equal(done, N);
    pf_reader_close(r);
    assert_int_equal(pf_reader_open_memory(&r, S, csv.p, csv.n, &ro, &err), 0);
    pf_frame_free(f);
    assert_int_equal(pf_reader_frame_new(r, N, &f, &err), 0);
    assert_int_equal(pf_reader_read(r, f, &err), 1);
    assert_int_equal(pf_decide(d, f, 0, N, all, &err), 0);
    for (size_t i = 0; i < N; i++)
        same_decision(&all[i], &part[i], i);
    pf_decider_free(d);
    pf_decider_free(d0);
    pf_reader_close(r);
    pf_frame_free(f);
    free(all);
    free(part);
    tbuf_free(&csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drift_bins),
        cmocka_unit_test(test_reference_logit_and_features),
        cmocka_unit_test(test_profile_older_outside_europe_umea),
        cmocka_unit_test(test_profile_young_vasteras_job),
        cmocka_unit_test(test_profile_outside_delivery_areas),
        cmocka_unit_test(test_profile_close_graduate),
        cmocka_unit_test(test_profile_newly_arrived_etp),
        cmocka_unit_test(test_profiles_in_one_frame),
        cmocka_unit_test(test_custom_thresholds_groups_and_levels),
        cmocka_unit_test(test_custom_thresholds_tracks),
        cmocka_unit_test(test_rule_delivery_area),
        cmocka_unit_test(test_rule_inskrivningstid_399_400),
        cmocka_unit_test(test_rule_ramprogram),
        cmocka_unit_test(test_rule_statistical_assessment),
        cmocka_unit_test(test_first_failing_rule_is_reported),
        cmocka_unit_test(test_target_group_age_15_rejected),
        cmocka_unit_test(test_target_group_age_boundaries),
        cmocka_unit_test(test_target_group_education_levels),
        cmocka_unit_test(test_target_group_born_outside_europe),
        cmocka_unit_test(test_target_group_reduced_work_capacity),
        cmocka_unit_test(test_thresholds_exactly_at_p),
        cmocka_unit_test(test_missing_value_never_satisfies_condition),
        cmocka_unit_test(test_reasons_ties_by_schema_column),
        cmocka_unit_test(test_reasons_interaction_shared),
        cmocka_unit_test(test_reasons_category_levels_and_missing),
        cmocka_unit_test(test_reasons_without_reference_values),
        cmocka_unit_test(test_decider_options),
        cmocka_unit_test(test_decider_schema_mismatch),
        cmocka_unit_test(test_chunking_does_not_matter),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
