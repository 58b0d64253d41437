/*
 * synth.c - the synthetic population generator (see synth.h).
 *
 * A person is drawn in a fixed order: municipality (by population), postcode
 * area (by its size and unemployment), birth country (more often foreign-born
 * where the area has many foreign citizens), age, sex, education, disability,
 * registration history, language support, framework programme, occupations
 * and the rest; then the ground-truth model gives p and one uniform draw gives
 * both labels. Every number below is explained in docs/synthetic-population.md;
 * a change to any of them must bump PF_SYNTH_VERSION.
 *
 * Speed: the row loop draws from one gsl_rng (taus2, L'Ecuyer's maximally
 * equidistributed combined Tausworthe generator, period 2^88; about 1.4 times
 * as fast here as MT19937), samples categories with alias tables
 * (gsl_ran_discrete) prepared once, takes the binary traits' probabilities
 * from tables instead of calling exp(), and formats numbers by hand into a
 * 64 KiB block that goes to the output file in one call. Nothing is
 * allocated per row.
 */
/* Inline gsl_rng_uniform(): it is called about 40 times a row. */
#define HAVE_INLINE 1

#include "synth.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/day.h"

/* ------------------------------------------------------------------------ */
/* Fixed tables                                                              */

static const char *const region_names[PF_REGION_COUNT] = {"sverige", "norden", "eu_efta",
                                                          "europa_ovrigt", "utanfor_europa"};
static const char *const ram_names[PF_RAM_COUNT] = {"ingen", "JOB", "UGA", "ETP"};

/* Source columns of data/schema/af-inskrivning.json in schema order (the
 * derived ones, fodelseregion, lanskod and sokt_yrke_N_omrade, are not written). */
static const char *const columns[] = {"id",
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
                                      "arbete_studier_90d",
                                      "arbete_studier_180d"};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

typedef struct weighted_code {
    const char *code;
    double w;
} weighted_code;

/* Countries of birth by region, weights roughly proportional to the numbers of
 * registered job seekers born there (docs/synthetic-population.md). */
static const weighted_code countries_norden[] = {{"FI", 66}, {"DK", 15}, {"NO", 14}, {"IS", 5}};
static const weighted_code countries_eu[] = {
    {"PL", 30}, {"RO", 12}, {"DE", 10}, {"BG", 6}, {"LT", 6},   {"GR", 5},  {"IT", 5}, {"ES", 4},
    {"HU", 4},  {"HR", 4},  {"LV", 3},  {"FR", 3}, {"EE", 2},   {"NL", 2},  {"PT", 2}, {"CZ", 1},
    {"SK", 1},  {"AT", 1},  {"BE", 1},  {"IE", 1}, {"SI", 0.5}, {"CH", 0.5}};
static const weighted_code countries_europa[] = {{"BA", 25}, {"UA", 18}, {"RS", 12}, {"RU", 10},
                                                 {"GB", 8},  {"MK", 6},  {"AL", 5},  {"BY", 4},
                                                 {"MD", 3},  {"ME", 2}};
static const weighted_code countries_utanfor[] = {
    {"SY", 20},  {"IQ", 11},  {"SO", 10},  {"AF", 10},  {"ER", 7.5}, {"IR", 6},   {"TR", 4.5},
    {"TH", 3.5}, {"ET", 2.5}, {"IN", 2},   {"LB", 1.5}, {"PK", 1.5}, {"CN", 1.5}, {"PS", 1.2},
    {"CL", 1.2}, {"NG", 1.2}, {"SD", 1.2}, {"VN", 1},   {"PH", 1},   {"MA", 1},   {"BD", 0.8},
    {"EG", 0.8}, {"CO", 0.8}, {"GM", 0.8}, {"BR", 0.7}, {"US", 0.7}, {"KE", 0.6}, {"UG", 0.5},
    {"YE", 0.5}, {"CD", 0.5}, {"LY", 0.4}, {"TN", 0.4}, {"LK", 0.4}, {"PE", 0.4}, {"GH", 0.4},
    {"CM", 0.4}, {"GE", 0.4}, {"UZ", 0.4}, {"SS", 0.3}, {"DZ", 0.3}, {"MN", 0.3}, {"MM", 0.3},
    {"CU", 0.3}, {"MX", 0.3}, {"AZ", 0.3}, {"AM", 0.3}, {"ID", 0.3}, {"NP", 0.3}, {"JO", 0.3},
    {"VE", 0.3}, {"BO", 0.2}, {"KZ", 0.2}, {"BI", 0.2}, {"RW", 0.2}, {"DO", 0.2}, {"AR", 0.2},
    {"CA", 0.2}, {"KR", 0.2}, {"AU", 0.1}, {"JP", 0.1}};

static const struct {
    const weighted_code *list;
    size_t n;
} countries[PF_REGION_COUNT] = {
    {NULL, 0},
    {countries_norden, sizeof countries_norden / sizeof countries_norden[0]},
    {countries_eu, sizeof countries_eu / sizeof countries_eu[0]},
    {countries_europa, sizeof countries_europa / sizeof countries_europa[0]},
    {countries_utanfor, sizeof countries_utanfor / sizeof countries_utanfor[0]},
};

/* Region shares among the foreign-born. */
static const double foreign_region_w[PF_REGION_COUNT] = {0, 5, 12, 10, 73};

/* Age bands 16-17, 18-19, 20-24, ..., 60-64, 65-67: share (%) of each band. */
static const int age_band_lo[12] = {16, 18, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65};
static const int age_band_hi[12] = {17, 19, 24, 29, 34, 39, 44, 49, 54, 59, 64, 67};
enum { AGE_SWEDISH, AGE_FOREIGN, AGE_RECENT, AGE_NTABLES };
static const double age_band_w[AGE_NTABLES][12] = {
    {1.0, 3.0, 13, 12, 10, 9, 9, 9, 10, 11, 10, 3.0},
    {0.3, 1.2, 7, 12, 15, 15, 14, 12, 10, 7.5, 5, 1.0},
    {0, 0, 12, 18, 18, 16, 12, 10, 7, 5, 2, 0}, /* ETP is for ages 20-64 */
};

/* Education (SUN 2000 level 1..7, 9) by birth region, in %. */
static const int edu_levels[8] = {1, 2, 3, 4, 5, 6, 7, 9};
static const double edu_w[PF_REGION_COUNT][8] = {
    {1.0, 18, 14, 37, 13, 15, 0.4, 1.6}, {2.0, 20, 14, 33, 12, 14, 0.5, 4.5},
    {3.0, 10, 8, 30, 12, 27, 1.0, 9.0},  {4.0, 14, 12, 32, 11, 19, 0.5, 7.5},
    {22, 18, 7, 18, 9, 16, 0.5, 9.5},
};

/* Orientation (SUN inriktning 0..9) of upper-secondary and higher education,
 * women and men. */
static const double inriktning_w[2][10] = {
    {14, 8, 8, 22, 6, 7, 3, 22, 8, 2},
    {14, 2, 6, 18, 10, 33, 4, 4, 7, 2},
};

/* Disability codes 10..90 by age group (<30, 30-49, 50+). */
static const double funk_w[3][9] = {
    {3, 1, 6, 6, 22, 38, 10, 8, 6},
    {4, 2, 12, 16, 28, 20, 7, 4, 7},
    {7, 3, 22, 32, 20, 6, 3, 2, 5},
};

/* Sökandekategori outside framework programmes. */
static const int sokkat_codes[6] = {11, 21, 22, 31, 41, 68};
static const double sokkat_w[6] = {62, 10, 9, 7, 8, 4};

/* Experience in the sought occupation (0..4) by group. */
enum { ERF_YOUNG, ERF_MID, ERF_OLD, ERF_RECENT, ERF_NTABLES };
static const double erf_w[ERF_NTABLES][5] = {
    {45, 25, 18, 10, 2},
    {22, 14, 18, 24, 22},
    {15, 8, 12, 20, 45},
    {60, 15, 10, 8, 7},
};

/* Number of sought occupations, 1..4. */
static const double nyrken_w[4] = {28, 24, 20, 28};

/* Sought occupations (SSYK 2012 unit groups) by education tier, with weights
 * for women and men: tier 0 short education (SUN 1-3, 9), tier 1 upper
 * secondary (SUN 4), tier 2 post-secondary (SUN 5-7). */
typedef struct occ {
    int code;
    double wk, wm;
} occ;
static const occ occ_tier0[] = {
    {9111, 10, 5},  {9412, 8, 6},    {5330, 8, 1.5}, {5343, 8, 3},   {4322, 3, 10},  {9332, 2, 6},
    {9320, 3, 4},   {5222, 6, 4},    {5230, 4, 1.5}, {5311, 6, 1},   {5312, 3, 1},   {9310, 0.3, 6},
    {8321, 0.3, 3}, {8329, 0.3, 3},  {8332, 0.3, 4}, {7111, 0.2, 3}, {9411, 0.5, 2}, {5120, 2, 3},
    {9622, 0.5, 2}, {6113, 0.5, 2},  {9210, 0.5, 1}, {9119, 2, 0.5}, {5413, 0.3, 2}, {9629, 1, 1.5},
    {8344, 0.3, 2}, {7531, 0.8, 0.3}};
static const occ occ_tier1[] = {
    {5321, 8, 2},     {5323, 3, 0.8},   {5343, 5, 3},    {5223, 6, 4},   {5222, 4, 3},
    {4222, 5, 3},     {4111, 4, 1},     {4119, 4, 1},    {4322, 2, 7},   {8332, 0.3, 5},
    {8331, 0.5, 2},   {7411, 0.2, 3},   {7231, 0.2, 3},  {7212, 0.1, 2}, {7111, 0.3, 4},
    {7125, 0.1, 1.5}, {7131, 0.3, 1.5}, {8211, 0.5, 2},  {8219, 1, 2},   {5120, 2, 2.5},
    {5131, 2, 1.5},   {5311, 5, 1},     {5342, 3, 2},    {5413, 0.5, 2}, {5141, 1.5, 0.3},
    {9111, 2, 1},     {3411, 1.5, 1},   {3322, 1, 2},    {5242, 1, 1},   {4420, 0.5, 1},
    {8344, 0.2, 2},   {6121, 0.5, 0.6}, {6210, 0.1, 0.8}};
static const occ occ_tier2[] = {
    {2512, 1.5, 5},   {2511, 0.5, 1.5}, {2514, 0.6, 1},   {3512, 0.5, 2},   {2341, 4, 1.5},
    {2343, 4, 0.5},   {2330, 1.5, 1.5}, {2221, 2.5, 0.5}, {2611, 0.4, 0.3}, {2614, 0.8, 0.6},
    {2423, 3, 0.8},   {2422, 2, 1.5},   {2431, 2.5, 1.5}, {2432, 2.5, 0.8}, {2411, 0.5, 0.3},
    {2412, 0.8, 0.7}, {2419, 1, 1},     {3313, 2.5, 1},   {3322, 1.5, 3},   {2142, 0.3, 1},
    {2144, 0.2, 1.5}, {3111, 0.3, 1.2}, {3114, 0.2, 1},   {2661, 2, 0.5},   {3411, 1.5, 1},
    {2172, 1.5, 1},   {2642, 0.8, 0.6}, {2643, 1, 0.6},   {2219, 0.3, 0.3}, {4111, 2, 0.5},
    {4222, 1.5, 1.2}, {5321, 1.5, 0.5}, {3341, 0.5, 0.3}, {2122, 0.2, 0.2}, {1292, 0.3, 0.4}};

static const struct {
    const occ *list;
    size_t n;
} occ_tiers[3] = {
    {occ_tier0, sizeof occ_tier0 / sizeof occ_tier0[0]},
    {occ_tier1, sizeof occ_tier1 / sizeof occ_tier1[0]},
    {occ_tier2, sizeof occ_tier2 / sizeof occ_tier2[0]},
};

/* Assessment date of the population: registration days count back from it,
 * which fixes inskrivningsmanad. */
#define REF_YEAR  2024
#define REF_MONTH 1
#define REF_DAY   31

/* ------------------------------------------------------------------------ */
/* The ground-truth model                                                    */

typedef enum feature {
    FE_ALDER,
    FE_INSKRIVNINGSDAGAR,
    FE_FUNKTIONSNEDSATTNING,
    FE_NEDSATT,
    FE_SPRAKSTOD,
    FE_UTBILDNINGSNIVA,
    FE_FODELSEREGION,
    FE_AKASSA,
    FE_OMR_ARBETSLOSHET,
    FE_ERFARENHET,
    FE_KOMMUNOVERGRIPANDE,
    FE_ANTAL_PERIODER,
    FE_RAMPROGRAM,
    FE_SOKANDEKATEGORI,
} feature;

static const char *const feature_names[] = {"alder",
                                            "inskrivningsdagar",
                                            "funktionsnedsattning",
                                            "nedsatt_arbetsformaga",
                                            "sprakstod",
                                            "utbildningsniva",
                                            "fodelseregion",
                                            "akassa",
                                            "omr_arbetsloshet",
                                            "erfarenhet_sokt_yrke",
                                            "kommunovergripande",
                                            "antal_tidigare_perioder",
                                            "ramprogram",
                                            "sokandekategori"};

typedef enum term_type { TT_LINEAR, TT_LOG1P, TT_HINGE, TT_INDICATOR } term_type;
static const char *const term_type_names[] = {"linear", "log1p", "hinge", "indicator"};

/* One factor of a term: a numeric transform of a feature or an indicator that
 * the feature's code is one of levels[0..nlev-1]. */
typedef struct factor {
    term_type type;
    feature feat;
    double knot;
    int nlev;
    int lev[9];
} factor;

typedef struct term {
    int nf; /* 1 = main effect, 2 = interaction (product of the factors) */
    factor f[2];
    double coef;
} term;

/* Tuned so that the true model's AUC for the 180-day label is about 0.75 and
 * its base rate about 35 % on the generated population. */
static const double truth_intercept = 1.04;
static const double truth_delta90 = 0.78;

#define IND(fe, ...)                                                                               \
    {                                                                                              \
        TT_INDICATOR, fe, 0, sizeof((int[]){__VA_ARGS__}) / sizeof(int),                           \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define NUM(tt, fe, k)                                                                             \
    {                                                                                              \
        tt, fe, k, 0,                                                                              \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

static const term truth_terms[] = {
    {1, {NUM(TT_LINEAR, FE_ALDER, 0)}, 0.043},
    {1, {NUM(TT_HINGE, FE_ALDER, 30)}, -0.049},
    {1, {NUM(TT_HINGE, FE_ALDER, 50)}, -0.065},
    {1, {NUM(TT_LOG1P, FE_INSKRIVNINGSDAGAR, 0)}, -0.43},
    {1, {IND(FE_FUNKTIONSNEDSATTNING, 10, 20, 30, 40, 50, 60, 70, 80, 90)}, -0.16},
    {1, {IND(FE_NEDSATT, 1)}, -0.60},
    {1, {IND(FE_SPRAKSTOD, 1)}, -0.49},
    {1, {IND(FE_UTBILDNINGSNIVA, 1)}, -0.60},
    {1, {IND(FE_UTBILDNINGSNIVA, 2)}, -0.38},
    {1, {IND(FE_UTBILDNINGSNIVA, 3)}, -0.16},
    {1, {IND(FE_UTBILDNINGSNIVA, 5)}, 0.16},
    {1, {IND(FE_UTBILDNINGSNIVA, 6)}, 0.32},
    {1, {IND(FE_UTBILDNINGSNIVA, 7)}, 0.32},
    {1, {IND(FE_UTBILDNINGSNIVA, 9)}, -0.32},
    {1, {IND(FE_FODELSEREGION, PF_REGION_NORDEN)}, -0.05},
    {1, {IND(FE_FODELSEREGION, PF_REGION_EU_EFTA)}, -0.16},
    {1, {IND(FE_FODELSEREGION, PF_REGION_EUROPA_OVRIGT)}, -0.22},
    {1, {IND(FE_FODELSEREGION, PF_REGION_UTANFOR_EUROPA)}, -0.32},
    {1, {IND(FE_AKASSA, 1)}, 0.32},
    {1, {NUM(TT_LINEAR, FE_OMR_ARBETSLOSHET, 0)}, -0.043},
    {1, {NUM(TT_LINEAR, FE_ERFARENHET, 0)}, 0.086},
    {1, {IND(FE_KOMMUNOVERGRIPANDE, 1)}, 0.22},
    {1, {NUM(TT_LOG1P, FE_ANTAL_PERIODER, 0)}, 0.16},
    {1, {IND(FE_RAMPROGRAM, PF_RAM_JOB)}, -0.27},
    {1, {IND(FE_SOKANDEKATEGORI, 21, 22, 31)}, 0.38},
    /* Language is the barrier for the highly educated: with language support
     * post-secondary education does not help, it hurts (over-qualification). */
    {2, {IND(FE_SPRAKSTOD, 1), IND(FE_UTBILDNINGSNIVA, 5, 6, 7)}, -1.40},
    /* A disability that reduces work capacity weighs more with every year
     * past 45. */
    {2, {IND(FE_NEDSATT, 1), NUM(TT_HINGE, FE_ALDER, 45)}, -0.080},
};
#define NTERMS (sizeof truth_terms / sizeof truth_terms[0])

#define NFEATURES (sizeof feature_names / sizeof feature_names[0])

/* Every feature the model reads, as a number (codes as their integer). */
static void feature_values(const pf_synth_row *r, double *v)
{
    v[FE_ALDER] = r->alder;
    v[FE_INSKRIVNINGSDAGAR] = r->inskrivningsdagar;
    v[FE_FUNKTIONSNEDSATTNING] = r->funktionsnedsattning;
    v[FE_NEDSATT] = r->nedsatt_arbetsformaga;
    v[FE_SPRAKSTOD] = r->sprakstod;
    v[FE_UTBILDNINGSNIVA] = r->utbildningsniva;
    v[FE_FODELSEREGION] = r->region;
    v[FE_AKASSA] = r->akassa;
    v[FE_OMR_ARBETSLOSHET] = r->omr[0] / 10.0;
    v[FE_ERFARENHET] = r->erfarenhet_sokt_yrke;
    v[FE_KOMMUNOVERGRIPANDE] = r->kommunovergripande;
    v[FE_ANTAL_PERIODER] = r->antal_tidigare_perioder;
    v[FE_RAMPROGRAM] = r->ramprogram;
    v[FE_SOKANDEKATEGORI] = r->sokandekategori;
}

static double factor_value(const double *v, const factor *f)
{
    double x = v[f->feat];
    switch (f->type) {
    case TT_LINEAR:
        return x;
    case TT_LOG1P:
        return log1p(x);
    case TT_HINGE:
        return x > f->knot ? x - f->knot : 0.0;
    case TT_INDICATOR:
        for (int i = 0; i < f->nlev; i++)
            if ((int) x == f->lev[i])
                return 1.0;
        return 0.0;
    }
    return 0;
}

double pf_synth_logit180(const pf_synth_row *r)
{
    double v[NFEATURES];
    feature_values(r, v);
    /* Summed in table order so that the result is reproducible to the bit. */
    double eta = truth_intercept;
    for (size_t i = 0; i < NTERMS; i++) {
        const term *t = &truth_terms[i];
        double x = factor_value(v, &t->f[0]);
        if (t->nf == 2 && x != 0.0)
            x *= factor_value(v, &t->f[1]);
        eta += t->coef * x;
    }
    return eta;
}

double pf_synth_delta90(void)
{
    return truth_delta90;
}

/* ------------------------------------------------------------------------ */
/* Generator state                                                           */

typedef struct area {
    int stat[5];      /* tenths, as in pf_synth_row.omr */
    double p_foreign; /* chance that a job seeker living here is foreign-born */
} area;

typedef struct kommun {
    char kod[5];
    double pop;
    int narea;
    area *areas;
    gsl_ran_discrete_t *pick_area;
} kommun;

typedef struct region_entry {
    char iso2[3];
    int region;
} region_entry;

#define MAX_KOMMUNER 400
#define MAX_REGION   400
#define AGE_MIN      16
#define AGE_MAX      67
#define NAGES        (AGE_MAX - AGE_MIN + 1)

struct pf_synth {
    pf_synth_options opt;
    gsl_rng *rng;
    uint64_t next_index;
    uint32_t id_key[4];

    int nkommun;
    kommun *kommuner;
    gsl_ran_discrete_t *pick_kommun;

    int nregion_map;
    region_entry region_map[MAX_REGION];

    gsl_ran_discrete_t *pick_foreign_region;
    gsl_ran_discrete_t *pick_country[PF_REGION_COUNT];
    gsl_ran_discrete_t *pick_age[AGE_NTABLES];
    gsl_ran_discrete_t *pick_edu[PF_REGION_COUNT];
    gsl_ran_discrete_t *pick_inriktning[2];
    gsl_ran_discrete_t *pick_funk[3];
    gsl_ran_discrete_t *pick_sokkat;
    gsl_ran_discrete_t *pick_erf[ERF_NTABLES];
    gsl_ran_discrete_t *pick_nyrken;
    gsl_ran_discrete_t *pick_occ[3][2]; /* tier, 0 = woman / 1 = man */

    /* Bernoulli probabilities that depend only on a few discrete traits,
     * computed once so the row loop needs no exp(): index [..][age - 16]. */
    double p_funk[PF_REGION_COUNT][NAGES];
    double p_nper[NAGES];
    double p_sprak[PF_REGION_COUNT][2][NAGES];     /* [region][short education] */
    double p_akassa[PF_REGION_COUNT][3][2][NAGES]; /* [region][edu class][recent] */
    double p_kommover[32];                         /* bits: see kommover_index() */
    double exp_delta90;
};

/* ------------------------------------------------------------------------ */
/* Small deterministic helpers                                               */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double sm_uniform(uint64_t *s)
{
    /* 53 random bits, in (0, 1) so that log() is finite. */
    return ((double) (splitmix64(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double sm_normal(uint64_t *s)
{
    double u1 = sm_uniform(s), u2 = sm_uniform(s);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static int clampi(int x, int lo, int hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* A bijection of [0, 2^30): multiply by an odd constant, xor-shift, add a
 * key; each step is invertible, so the composition is too. */
static uint32_t perm30(uint32_t x, const uint32_t key[4])
{
    const uint32_t mask = (1u << 30) - 1;
    static const uint32_t mul[4] = {0x2C1B3C6Du, 0x297A2D39u, 0x1B873593u, 0x0CC9E2D5u};
    for (int r = 0; r < 4; r++) {
        x = (x * (mul[r] | 1u)) & mask;
        x ^= x >> 15;
        x = (x + key[r]) & mask;
        x ^= x >> 11;
    }
    return x;
}

/* Row number -> nine-digit pseudonym. Cycle-walking restricts the 2^30
 * permutation to [0, 10^9), so distinct rows get distinct ids. */
static uint32_t pseudonym(uint64_t index, const uint32_t key[4])
{
    uint32_t x = (uint32_t) index;
    do
        x = perm30(x, key);
    while (x >= 1000000000u);
    return x;
}

static int month_from_days(long z)
{
    int y, m, d;
    pf_day_to_civil((pf_day) z, &y, &m, &d);
    return m;
}

/* ------------------------------------------------------------------------ */
/* Reference tables                                                          */

/* Reads a small CSV reference file: calls row() with the first ncol fields of
 * each data row. Fields needed here are never quoted. */
static int read_ref(const char *path, int ncol,
                    int (*row)(void *ctx, char **f, int lineno, pf_error *err), void *ctx,
                    pf_error *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return pf_error_set(err, PF_ENOTFOUND, "cannot open %s: %s", path, strerror(errno));
    char line[1024];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, fp)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        if (lineno == 1 || !line[0])
            continue;
        char *f[8];
        int k = 0;
        char *p = line;
        while (k < ncol) {
            f[k++] = p;
            char *c = strchr(p, ',');
            if (!c)
                break;
            *c = 0;
            p = c + 1;
        }
        if (k < ncol) {
            rc = pf_error_set(err, PF_EFORMAT, "%s:%d: expected %d fields", path, lineno, ncol);
            break;
        }
        if ((rc = row(ctx, f, lineno, err)) != 0)
            break;
    }
    fclose(fp);
    return rc;
}

static int kommun_row(void *ctx, char **f, int lineno, pf_error *err)
{
    pf_synth *g = ctx;
    if (strlen(f[0]) != 4 || g->nkommun >= MAX_KOMMUNER)
        return pf_error_set(err, PF_EFORMAT, "kommuner.csv:%d: bad kommunkod '%s'", lineno, f[0]);
    memcpy(g->kommuner[g->nkommun].kod, f[0], 5);
    g->kommuner[g->nkommun].pop = -1;
    g->nkommun++;
    return 0;
}

static int pop_row(void *ctx, char **f, int lineno, pf_error *err)
{
    pf_synth *g = ctx;
    char *end;
    double v = strtod(f[1], &end);
    if (*end || !(v > 0))
        return pf_error_set(err, PF_EFORMAT, "kommun-befolkning.csv:%d: bad folkmangd '%s'", lineno,
                            f[1]);
    for (int i = 0; i < g->nkommun; i++)
        if (!strcmp(g->kommuner[i].kod, f[0])) {
            g->kommuner[i].pop = v;
            return 0;
        }
    return pf_error_set(err, PF_EFORMAT, "kommun-befolkning.csv:%d: unknown kommunkod '%s'", lineno,
                        f[0]);
}

static int region_row(void *ctx, char **f, int lineno, pf_error *err)
{
    pf_synth *g = ctx;
    if (strlen(f[0]) != 2 || g->nregion_map >= MAX_REGION)
        return pf_error_set(err, PF_EFORMAT, "fodelseland-region.csv:%d: bad code", lineno);
    int reg = -1;
    for (int r = 0; r < PF_REGION_COUNT; r++)
        if (!strcmp(f[1], region_names[r]))
            reg = r;
    if (reg < 0)
        return pf_error_set(err, PF_EFORMAT, "fodelseland-region.csv:%d: unknown region '%s'",
                            lineno, f[1]);
    region_entry *e = &g->region_map[g->nregion_map++];
    memcpy(e->iso2, f[0], 3);
    e->region = reg;
    return 0;
}

typedef struct iso_set {
    int n;
    char codes[400][3];
} iso_set;

static int iso_row(void *ctx, char **f, int lineno, pf_error *err)
{
    iso_set *s = ctx;
    if (strlen(f[0]) != 2 || s->n >= 400)
        return pf_error_set(err, PF_EFORMAT, "iso3166-1.csv:%d: bad code", lineno);
    memcpy(s->codes[s->n++], f[0], 3);
    return 0;
}

static int region_of(const pf_synth *g, const char *iso2)
{
    for (int i = 0; i < g->nregion_map; i++)
        if (!strcmp(g->region_map[i].iso2, iso2))
            return g->region_map[i].region;
    return PF_REGION_UTANFOR_EUROPA;
}

/* ------------------------------------------------------------------------ */
/* Area statistics                                                           */

/* Postcode areas of municipality k. Everything here depends only on the
 * municipality code and size, never on the seed: the same person-independent
 * neighbourhood facts hold in every generated population. */
static int build_areas(kommun *k, pf_error *err)
{
    uint64_t s = 0x5EED0A5EA0000000ULL;
    for (const char *c = k->kod; *c; c++)
        s = s * 131 + (unsigned char) *c;
    (void) splitmix64(&s);

    double lp = log10(k->pop) - 4.3; /* 4.3: a municipality of 20 000 */
    double n1 = sm_normal(&s), n2 = sm_normal(&s), n3 = sm_normal(&s), n4 = sm_normal(&s),
           n5 = sm_normal(&s);
    double m_u = clampd(6.5 + 0.5 * lp + 1.7 * n1, 2.5, 14.0);
    double m_inc = clampd(330 + 18 * lp - 7 * (m_u - 6.5) + 22 * n2, 240, 480);
    double m_edu = clampd(40 + 9 * lp - 1.5 * (m_u - 6.5) + 6 * n3, 22, 75);
    double m_utr = clampd(8.5 * exp(0.25 * lp + 0.07 * (m_u - 6.5) + 0.35 * n4), 2, 25);
    double m_ens = clampd(39 + 4 * lp + 3 * n5, 28, 60);

    int na = 2 + (int) (k->pop / 10000);
    if (na > 120)
        na = 120;
    k->narea = na;
    k->areas = calloc((size_t) na, sizeof *k->areas);
    double *w = malloc((size_t) na * sizeof *w);
    if (!k->areas || !w) {
        free(w);
        return pf_error_set(err, PF_ENOMEM, "out of memory building areas");
    }
    for (int j = 0; j < na; j++) {
        double z = sm_normal(&s); /* the area's deprivation */
        double size = exp(0.5 * sm_normal(&s));
        double e1 = sm_normal(&s), e2 = sm_normal(&s), e3 = sm_normal(&s), e4 = sm_normal(&s);
        double u = clampd(m_u * exp(0.45 * z), 0.5, 40);
        double inc = clampd(m_inc * exp(-0.13 * z + 0.06 * e1), 150, 900);
        double edu = clampd(m_edu - 7 * z + 4 * e2, 5, 90);
        double utr = clampd(m_utr * exp(0.45 * z + 0.25 * e3), 0.3, 60);
        double ens = clampd(m_ens + 2 * z + 4 * e4, 15, 75);
        int *st = k->areas[j].stat;
        st[0] = (int) lround(u * 10);
        st[1] = (int) lround(inc * 10);
        st[2] = (int) lround(edu * 10);
        st[3] = (int) lround(utr * 10);
        st[4] = (int) lround(ens * 10);
        /* Job seekers live where unemployment is: weight by size x rate. */
        w[j] = size * u;
        /* More often foreign-born where foreign citizens are many. */
        k->areas[j].p_foreign = logistic(-0.30 + 0.9 * log(st[3] / 10.0 / 9.0));
    }
    k->pick_area = gsl_ran_discrete_preproc((size_t) na, w);
    free(w);
    if (!k->pick_area)
        return pf_error_set(err, PF_ENOMEM, "out of memory building areas");
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Construction                                                              */

static gsl_ran_discrete_t *table(const double *w, size_t n)
{
    return gsl_ran_discrete_preproc(n, w);
}

static int build_tables(pf_synth *g)
{
    double w[128];
    int ok = 1;

    ok &= (g->pick_foreign_region = table(foreign_region_w, PF_REGION_COUNT)) != NULL;
    for (int r = 1; r < PF_REGION_COUNT; r++) {
        for (size_t i = 0; i < countries[r].n; i++)
            w[i] = countries[r].list[i].w;
        ok &= (g->pick_country[r] = table(w, countries[r].n)) != NULL;
    }
    for (int t = 0; t < AGE_NTABLES; t++) {
        for (int a = AGE_MIN; a <= AGE_MAX; a++)
            for (int b = 0; b < 12; b++)
                if (a >= age_band_lo[b] && a <= age_band_hi[b])
                    w[a - AGE_MIN] = age_band_w[t][b] / (age_band_hi[b] - age_band_lo[b] + 1);
        ok &= (g->pick_age[t] = table(w, AGE_MAX - AGE_MIN + 1)) != NULL;
    }
    for (int r = 0; r < PF_REGION_COUNT; r++)
        ok &= (g->pick_edu[r] = table(edu_w[r], 8)) != NULL;
    for (int s = 0; s < 2; s++)
        ok &= (g->pick_inriktning[s] = table(inriktning_w[s], 10)) != NULL;
    for (int a = 0; a < 3; a++)
        ok &= (g->pick_funk[a] = table(funk_w[a], 9)) != NULL;
    ok &= (g->pick_sokkat = table(sokkat_w, 6)) != NULL;
    for (int e = 0; e < ERF_NTABLES; e++)
        ok &= (g->pick_erf[e] = table(erf_w[e], 5)) != NULL;
    ok &= (g->pick_nyrken = table(nyrken_w, 4)) != NULL;
    for (int t = 0; t < 3; t++)
        for (int s = 0; s < 2; s++) {
            for (size_t i = 0; i < occ_tiers[t].n; i++)
                w[i] = s == 0 ? occ_tiers[t].list[i].wk : occ_tiers[t].list[i].wm;
            ok &= (g->pick_occ[t][s] = table(w, occ_tiers[t].n)) != NULL;
        }
    return ok ? 0 : PF_ENOMEM;
}

static int kommover_index(int post_secondary, int young, int nedsatt, int sprakstod, int akassa)
{
    return post_secondary | young << 1 | nedsatt << 2 | sprakstod << 3 | akassa << 4;
}

/* The logistic models for the binary traits; see pf_synth_next() for why. */
static void build_probabilities(pf_synth *g)
{
    static const double funk_base[PF_REGION_COUNT] = {-0.95, -1.2, -1.9, -1.7, -2.0};
    static const double sprak_base[PF_REGION_COUNT] = {-6.0, -3.8, -1.9, -1.5, -0.85};
    static const double ak_base[PF_REGION_COUNT] = {0.35, 0.2, -0.35, -0.5, -0.9};
    for (int a = 0; a < NAGES; a++) {
        int age = AGE_MIN + a;
        g->p_nper[a] = logistic(-1.3 + 0.07 * (age - 16));
        for (int r = 0; r < PF_REGION_COUNT; r++) {
            g->p_funk[r][a] = logistic(funk_base[r] + 0.015 * (age - 40));
            for (int low = 0; low < 2; low++)
                g->p_sprak[r][low][a] = logistic(sprak_base[r] + 0.6 * low + 0.02 * (age - 40));
            /* edu class 0: SUN 1-2, 1: 3-4 or 9, 2: 5-7 */
            for (int ec = 0; ec < 3; ec++)
                for (int rec = 0; rec < 2; rec++)
                    g->p_akassa[r][ec][rec][a] =
                        logistic(ak_base[r] + 0.025 * (clampi(age, 25, 60) - 40) -
                                 1.0 * (age < 25) + 0.3 * (ec == 2) - 0.3 * (ec == 0) - 2.5 * rec);
        }
    }
    for (int i = 0; i < 32; i++)
        g->p_kommover[i] = logistic(-0.4 + 0.4 * (i & 1) + 0.3 * (i >> 1 & 1) - 0.5 * (i >> 2 & 1) -
                                    0.6 * (i >> 3 & 1) + 0.2 * (i >> 4 & 1));
}

static void seed_rng(pf_synth *g)
{
    uint64_t s = g->opt.seed;
    /* GSL seeds taus2 from 32 bits; fold the 64-bit seed in and keep
     * the remaining entropy in the pseudonym key. */
    unsigned long rs = (unsigned long) (splitmix64(&s) & 0xFFFFFFFFu);
    gsl_rng_set(g->rng, rs ? rs : 4357);
    for (int i = 0; i < 4; i++)
        g->id_key[i] = (uint32_t) (splitmix64(&s) & ((1u << 30) - 1));
    g->next_index = 0;
}

int pf_synth_new(pf_synth **out, const pf_synth_options *opt, pf_error *err)
{
    *out = NULL;
    if (opt->n < 1 || opt->n > PF_SYNTH_MAX_ROWS)
        return pf_error_set(err, PF_EINVAL, "number of rows must be 1..%llu",
                            (unsigned long long) PF_SYNTH_MAX_ROWS);
    if (opt->seed > (uint64_t) INT64_MAX)
        return pf_error_set(err, PF_EINVAL, "seed must be 0..%lld", (long long) INT64_MAX);
    if (!opt->datadir)
        return pf_error_set(err, PF_EINVAL, "no data directory given");

    pf_synth *g = calloc(1, sizeof *g);
    if (!g)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    g->opt = *opt;
    g->opt.datadir = NULL; /* not owned; not needed after construction */
    g->kommuner = calloc(MAX_KOMMUNER, sizeof *g->kommuner);
    g->rng = gsl_rng_alloc(gsl_rng_taus2);
    iso_set *iso = calloc(1, sizeof *iso);
    int rc = 0;
    char path[4096];
    if (!g->kommuner || !g->rng || !iso) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto fail;
    }

    snprintf(path, sizeof path, "%s/ref/kommuner.csv", opt->datadir);
    if ((rc = read_ref(path, 1, kommun_row, g, err)) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/ref/kommun-befolkning.csv", opt->datadir);
    if ((rc = read_ref(path, 2, pop_row, g, err)) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/ref/fodelseland-region.csv", opt->datadir);
    if ((rc = read_ref(path, 2, region_row, g, err)) != 0)
        goto fail;
    snprintf(path, sizeof path, "%s/ref/iso3166-1.csv", opt->datadir);
    if ((rc = read_ref(path, 1, iso_row, iso, err)) != 0)
        goto fail;

    if (g->nkommun == 0) {
        rc = pf_error_set(err, PF_EFORMAT, "kommuner.csv has no municipalities");
        goto fail;
    }
    double popw[MAX_KOMMUNER];
    for (int i = 0; i < g->nkommun; i++) {
        if (g->kommuner[i].pop <= 0) {
            rc = pf_error_set(err, PF_EFORMAT, "kommun-befolkning.csv lacks kommunkod %s",
                              g->kommuner[i].kod);
            goto fail;
        }
        popw[i] = g->kommuner[i].pop;
        if ((rc = build_areas(&g->kommuner[i], err)) != 0)
            goto fail;
    }
    if (!(g->pick_kommun = gsl_ran_discrete_preproc((size_t) g->nkommun, popw))) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto fail;
    }

    /* The country lists above must agree with the bundled reference tables:
     * every code valid, and each in the region it is drawn for. */
    for (int r = 1; r < PF_REGION_COUNT; r++)
        for (size_t i = 0; i < countries[r].n; i++) {
            const char *c = countries[r].list[i].code;
            int found = 0;
            for (int j = 0; j < iso->n && !found; j++)
                found = !strcmp(iso->codes[j], c);
            if (!found || region_of(g, c) != r) {
                rc = pf_error_set(err, PF_EFORMAT,
                                  "country %s is not a valid code of region %s in the "
                                  "reference tables",
                                  c, region_names[r]);
                goto fail;
            }
        }

    if (build_tables(g) != 0) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto fail;
    }
    build_probabilities(g);
    g->exp_delta90 = exp(truth_delta90);
    seed_rng(g);
    free(iso);
    *out = g;
    return 0;
fail:
    free(iso);
    pf_synth_free(g);
    return rc;
}

void pf_synth_free(pf_synth *g)
{
    if (!g)
        return;
    if (g->kommuner) {
        for (int i = 0; i < g->nkommun; i++) {
            free(g->kommuner[i].areas);
            if (g->kommuner[i].pick_area)
                gsl_ran_discrete_free(g->kommuner[i].pick_area);
        }
        free(g->kommuner);
    }
    gsl_ran_discrete_t **all[] = {&g->pick_kommun, &g->pick_foreign_region, &g->pick_sokkat,
                                  &g->pick_nyrken, &g->pick_inriktning[0],  &g->pick_inriktning[1]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i])
            gsl_ran_discrete_free(*all[i]);
    for (int i = 0; i < PF_REGION_COUNT; i++) {
        if (g->pick_country[i])
            gsl_ran_discrete_free(g->pick_country[i]);
        if (g->pick_edu[i])
            gsl_ran_discrete_free(g->pick_edu[i]);
    }
    for (int i = 0; i < AGE_NTABLES; i++)
        if (g->pick_age[i])
            gsl_ran_discrete_free(g->pick_age[i]);
    for (int i = 0; i < 3; i++)
        if (g->pick_funk[i])
            gsl_ran_discrete_free(g->pick_funk[i]);
    for (int i = 0; i < ERF_NTABLES; i++)
        if (g->pick_erf[i])
            gsl_ran_discrete_free(g->pick_erf[i]);
    for (int t = 0; t < 3; t++)
        for (int s = 0; s < 2; s++)
            if (g->pick_occ[t][s])
                gsl_ran_discrete_free(g->pick_occ[t][s]);
    if (g->rng)
        gsl_rng_free(g->rng);
    free(g);
}

/* ------------------------------------------------------------------------ */
/* Drawing one person                                                        */

/* Disability and language support for recent arrivals (logit -3.5 and 2.2). */
#define P_FUNK_RECENT  0.029312230751356319
#define P_SPRAK_RECENT 0.90024951088031502

static int bern(gsl_rng *r, double p)
{
    return gsl_rng_uniform(r) < p;
}

static int lognormal_days(gsl_rng *r, double median, double sigma)
{
    return (int) (median * exp(sigma * gsl_ran_gaussian_ziggurat(r, 1.0)));
}

/* Highest SUN level a person of this age can have completed. */
static int max_edu_for_age(int age)
{
    return age <= 17 ? 2 : age <= 18 ? 3 : age <= 20 ? 4 : age <= 21 ? 5 : age <= 25 ? 6 : 7;
}

void pf_synth_next(pf_synth *g, pf_synth_row *row)
{
    gsl_rng *r = g->rng;
    memset(row, 0, sizeof *row);
    row->index = g->next_index++;

    uint32_t pid = pseudonym(row->index, g->id_key);
    row->id[0] = 'P';
    for (int i = 9; i >= 1; i--, pid /= 10)
        row->id[i] = (char) ('0' + pid % 10);
    row->id[10] = 0;

    /* Where: municipality by population, area by size x unemployment. */
    int k = (int) gsl_ran_discrete(r, g->pick_kommun);
    const kommun *km = &g->kommuner[k];
    const area *ar = &km->areas[gsl_ran_discrete(r, km->pick_area)];
    row->kommun = k;
    memcpy(row->kommunkod, km->kod, 5);
    memcpy(row->omr, ar->stat, sizeof row->omr);

    /* Birth country. */
    int region = PF_REGION_SVERIGE;
    if (bern(r, ar->p_foreign))
        region = (int) gsl_ran_discrete(r, g->pick_foreign_region);
    row->region = region;
    if (region == PF_REGION_SVERIGE)
        memcpy(row->fodelseland, "SE", 3);
    else
        memcpy(row->fodelseland,
               countries[region].list[gsl_ran_discrete(r, g->pick_country[region])].code, 3);

    /* Recently arrived refugees and their families: the establishment
     * programme (ETP), at most two years registered. */
    int recent = (region == PF_REGION_UTANFOR_EUROPA && bern(r, 0.14)) ||
                 (region == PF_REGION_EUROPA_OVRIGT && bern(r, 0.06));

    int woman = bern(r, 0.47);
    row->kon = woman ? 'K' : 'M';
    int age = AGE_MIN +
              (int) gsl_ran_discrete(r, g->pick_age[recent                        ? AGE_RECENT
                                                    : region == PF_REGION_SVERIGE ? AGE_SWEDISH
                                                                                  : AGE_FOREIGN]);
    row->alder = age;

    /* Education: by birth region, capped by what the age allows; older
     * Swedish-born more often have the two-year upper secondary school. */
    int edu = edu_levels[gsl_ran_discrete(r, g->pick_edu[region])];
    if (edu != 9 && edu > max_edu_for_age(age))
        edu = max_edu_for_age(age);
    if (region == PF_REGION_SVERIGE && age >= 55 && edu == 4 && bern(r, 0.35))
        edu = 3;
    row->utbildningsniva = edu;
    if (edu == 9)
        row->utbildningsinriktning = 9;
    else if (edu <= 2)
        row->utbildningsinriktning = bern(r, 0.97) ? 0 : 9;
    else
        row->utbildningsinriktning = (int) gsl_ran_discrete(r, g->pick_inriktning[woman ? 0 : 1]);

    /* Disability: registered more often for the Swedish-born and with age;
     * the kind depends on age (neuropsychiatric young, somatic old). */
    if (bern(r, recent ? P_FUNK_RECENT : g->p_funk[region][age - AGE_MIN])) {
        int ag = age < 30 ? 0 : age < 50 ? 1 : 2;
        row->funktionsnedsattning = 10 * (1 + (int) gsl_ran_discrete(r, g->pick_funk[ag]));
        row->nedsatt_arbetsformaga = bern(r, 0.85);
    }
    int nedsatt = row->nedsatt_arbetsformaga;

    /* Days registered in the current period: log-normal, longer with reduced
     * work capacity, birth outside Europe, high age and short education;
     * never longer than the time since the 16th birthday. */
    int max_days = (age - 15) * 365 - 1;
    if (max_days > 7300)
        max_days = 7300;
    int days;
    if (recent) {
        days = (int) (gsl_rng_uniform(r) * 730);
    } else {
        double lm = log(230.0) + 0.55 * nedsatt + 0.30 * (region == PF_REGION_UTANFOR_EUROPA) +
                    0.15 * (region == PF_REGION_EUROPA_OVRIGT) + 0.45 * (age >= 55) +
                    0.20 * (age >= 50 && age < 55) - 0.60 * (age < 25) + 0.25 * (edu <= 2);
        double median = exp(lm);
        days = lognormal_days(r, median, 1.15);
        for (int tries = 0; days > max_days && tries < 8; tries++)
            days = lognormal_days(r, median, 1.15);
        if (days > max_days)
            days = max_days;
    }
    row->inskrivningsdagar = days;
    long reg_day = pf_day_from_civil(REF_YEAR, REF_MONTH, REF_DAY) - days;
    row->inskrivningsmanad = month_from_days(reg_day);

    /* Earlier periods: the chance of any grows with age; their number is
     * 1 + Poisson with a mean growing with age. */
    int nper = 0;
    if (!recent && bern(r, g->p_nper[age - AGE_MIN])) {
        double lambda = 0.06 * (age - 16) * exp(0.5 * gsl_ran_gaussian_ziggurat(r, 1.0));
        nper = 1 + (int) gsl_ran_poisson(r, lambda);
        if (nper > 99)
            nper = 99;
    }
    row->antal_tidigare_perioder = nper;
    row->dagar_sedan_foregaende_period = -1;
    if (nper > 0) {
        int prev = clampi(lognormal_days(r, 150, 1.0), 1, 7300);
        int since = clampi(lognormal_days(r, 500, 1.1), 0, 25000);
        /* The history must fit between the 16th birthday and today. */
        int room = (age - 15) * 365 - 1 - days;
        if (room < 1)
            room = 1;
        if (prev + since > room) {
            double f = (double) room / (prev + since);
            prev = (int) (prev * f);
            since = (int) (since * f);
            if (prev < 1)
                prev = 1;
        }
        row->dagar_foregaende_period = prev;
        row->dagar_sedan_foregaende_period = since;
        if (bern(r, 0.45 + 0.2 * nedsatt)) {
            int prog =
                (int) (120.0 * sqrt((double) nper) * exp(0.9 * gsl_ran_gaussian_ziggurat(r, 1.0)));
            row->dagar_tidigare_program = clampi(prog, 1, 7300);
        }
    }

    /* Language support: mostly the foreign-born, above all recent arrivals,
     * those with short education and older people. */
    row->sprakstod = bern(r, recent ? P_SPRAK_RECENT : g->p_sprak[region][edu <= 2][age - AGE_MIN]);

    /* Framework programmes: ETP for recent arrivals, UGA for the young after
     * 90 days, JOB after about 450 days (docs/synthetic-population.md). */
    int ram = PF_RAM_INGEN;
    if (recent)
        ram = PF_RAM_ETP;
    else if (age <= 24 && days >= 90 && bern(r, 0.75))
        ram = PF_RAM_UGA;
    else if (age >= 25 && days >= 450 && bern(r, 0.80))
        ram = PF_RAM_JOB;
    row->ramprogram = ram;
    if (ram != PF_RAM_INGEN)
        row->sokandekategori = bern(r, 0.9) ? 68 : 11;
    else
        row->sokandekategori = sokkat_codes[gsl_ran_discrete(r, g->pick_sokkat)];

    /* Unemployment insurance: membership is more common for the Swedish-born,
     * with age and with higher education, rare for the young and recent. */
    int edu_class = edu <= 2 ? 0 : (edu >= 5 && edu <= 7) ? 2 : 1;
    row->akassa = bern(r, g->p_akassa[region][edu_class][recent][age - AGE_MIN]);

    /* Sought occupations: by education tier and sex; later ones from the same
     * tier or from the short-education jobs anyone may seek. No gaps. */
    int tier = edu == 4 ? 1 : (edu >= 5 && edu <= 7) ? 2 : 0;
    int sex = woman ? 0 : 1;
    int ny = 1 + (int) gsl_ran_discrete(r, g->pick_nyrken);
    row->sokt_yrke[0] = occ_tiers[tier].list[gsl_ran_discrete(r, g->pick_occ[tier][sex])].code;
    for (int j = 1; j < ny; j++) {
        int code = 0;
        for (int tries = 0; tries < 4 && !code; tries++) {
            int t = bern(r, 0.65) ? tier : 0;
            int c = occ_tiers[t].list[gsl_ran_discrete(r, g->pick_occ[t][sex])].code;
            int dup = 0;
            for (int q = 0; q < j; q++)
                dup |= row->sokt_yrke[q] == c;
            if (!dup)
                code = c;
        }
        if (!code)
            break;
        row->sokt_yrke[j] = code;
    }

    int eg = recent ? ERF_RECENT : age < 25 ? ERF_YOUNG : age < 40 ? ERF_MID : ERF_OLD;
    row->erfarenhet_sokt_yrke = (int) gsl_ran_discrete(r, g->pick_erf[eg]);
    row->utbildning_sokt_yrke = bern(r, edu == 9 ? 0.05 : edu <= 2 ? 0.12 : edu <= 4 ? 0.35 : 0.55);
    row->kommunovergripande =
        bern(r, g->p_kommover[kommover_index(edu >= 5 && edu <= 7, age < 30, nedsatt,
                                             row->sprakstod, row->akassa)]);

    /* Labels: one uniform draw for both horizons, so y90 implies y180. */
    row->logit180 = pf_synth_logit180(row);
    /* One exp() for both: p90 = 1 / (1 + exp(-eta) * exp(delta)). */
    double e = exp(-row->logit180);
    row->p180 = 1.0 / (1.0 + e);
    row->p90 = 1.0 / (1.0 + e * g->exp_delta90);
    row->u = gsl_rng_uniform(r);
    row->y180 = row->u < row->p180;
    row->y90 = row->u < row->p90;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                                */

static const char digit_pairs[201] = "00010203040506070809"
                                     "10111213141516171819"
                                     "20212223242526272829"
                                     "30313233343536373839"
                                     "40414243444546474849"
                                     "50515253545556575859"
                                     "60616263646566676869"
                                     "70717273747576777879"
                                     "80818283848586878889"
                                     "90919293949596979899";

static char *put_uint(char *p, unsigned v)
{
    char tmp[12];
    char *t = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned q = v / 100;
        t -= 2;
        memcpy(t, digit_pairs + 2 * (v - q * 100), 2);
        v = q;
    }
    if (v >= 10) {
        t -= 2;
        memcpy(t, digit_pairs + 2 * v, 2);
    } else {
        *--t = (char) ('0' + v);
    }
    size_t n = (size_t) (tmp + sizeof tmp - t);
    memcpy(p, t, n);
    return p + n;
}

static char *put_tenths(char *p, int v)
{
    p = put_uint(p, (unsigned) (v / 10));
    *p++ = '.';
    *p++ = (char) ('0' + v % 10);
    return p;
}

/* p in [0, 1] with eleven decimals: p is recomputable to 1e-11, and a run of
 * eleven digits can never be mistaken for a personal identity number (10 or
 * 12 digits), which profil's reader rejects outside the id column. */
static char *put_prob(char *p, double x)
{
    long long v = llround(x * 1e11);
    if (v >= 100000000000LL) {
        memcpy(p, "1.00000000000", 13);
        return p + 13;
    }
    if (v < 0)
        v = 0;
    *p++ = '0';
    *p++ = '.';
    for (int i = 10; i >= 0; i--) {
        p[i] = (char) ('0' + v % 10);
        v /= 10;
    }
    return p + 11;
}

size_t pf_synth_header(const pf_synth *g, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < NCOLUMNS + 1; i++) {
        const char *name = i < NCOLUMNS ? columns[i] : g->opt.with_truth_p ? "p_sann_180d" : NULL;
        if (!name)
            break;
        size_t m = strlen(name);
        if (n + m + 2 > cap)
            return 0;
        if (i)
            buf[n++] = ',';
        memcpy(buf + n, name, m);
        n += m;
    }
    buf[n++] = '\n';
    return n;
}

size_t pf_synth_format(const pf_synth *g, const pf_synth_row *r, char *buf)
{
    char *p = buf;
    memcpy(p, r->id, 10);
    p += 10;
    *p++ = ',';
    p = put_uint(p, (unsigned) r->alder);
    *p++ = ',';
    *p++ = r->kon;
    *p++ = ',';
    *p++ = r->fodelseland[0];
    *p++ = r->fodelseland[1];
    *p++ = ',';
    memcpy(p, r->kommunkod, 4);
    p += 4;
    *p++ = ',';
    *p++ = (char) ('0' + r->utbildningsniva);
    *p++ = ',';
    *p++ = (char) ('0' + r->utbildningsinriktning);
    for (int j = 0; j < 4; j++) {
        *p++ = ',';
        if (r->sokt_yrke[j])
            p = put_uint(p, (unsigned) r->sokt_yrke[j]);
    }
    *p++ = ',';
    *p++ = (char) ('0' + r->erfarenhet_sokt_yrke);
    *p++ = ',';
    *p++ = (char) ('0' + r->utbildning_sokt_yrke);
    *p++ = ',';
    *p++ = (char) ('0' + r->akassa);
    *p++ = ',';
    p = put_uint(p, (unsigned) r->inskrivningsmanad);
    *p++ = ',';
    p = put_uint(p, (unsigned) r->inskrivningsdagar);
    *p++ = ',';
    p = put_uint(p, (unsigned) r->dagar_foregaende_period);
    *p++ = ',';
    if (r->dagar_sedan_foregaende_period >= 0)
        p = put_uint(p, (unsigned) r->dagar_sedan_foregaende_period);
    *p++ = ',';
    p = put_uint(p, (unsigned) r->antal_tidigare_perioder);
    *p++ = ',';
    p = put_uint(p, (unsigned) r->dagar_tidigare_program);
    *p++ = ',';
    *p++ = (char) ('0' + r->funktionsnedsattning / 10);
    *p++ = '0';
    *p++ = ',';
    *p++ = (char) ('0' + r->nedsatt_arbetsformaga);
    *p++ = ',';
    p = put_uint(p, (unsigned) r->sokandekategori);
    *p++ = ',';
    *p++ = (char) ('0' + r->kommunovergripande);
    *p++ = ',';
    *p++ = (char) ('0' + r->sprakstod);
    *p++ = ',';
    const char *ram = ram_names[r->ramprogram];
    size_t rl = strlen(ram);
    memcpy(p, ram, rl);
    p += rl;
    for (int j = 0; j < 5; j++) {
        *p++ = ',';
        p = put_tenths(p, r->omr[j]);
    }
    *p++ = ',';
    *p++ = (char) ('0' + r->y90);
    *p++ = ',';
    *p++ = (char) ('0' + r->y180);
    if (g->opt.with_truth_p) {
        *p++ = ',';
        p = put_prob(p, r->p180);
    }
    *p++ = '\n';
    return (size_t) (p - buf);
}

/* ------------------------------------------------------------------------ */
/* Truth file                                                                */

static json_t *level_json(feature f, int code)
{
    char b[16];
    switch (f) {
    case FE_FODELSEREGION:
        return json_string(region_names[code]);
    case FE_RAMPROGRAM:
        return json_string(ram_names[code]);
    case FE_FUNKTIONSNEDSATTNING:
        snprintf(b, sizeof b, "%02d", code);
        return json_string(b);
    default:
        snprintf(b, sizeof b, "%d", code);
        return json_string(b);
    }
}

static json_t *factor_json(const factor *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(term_type_names[f->type]));
    json_object_set_new(o, "feature", json_string(feature_names[f->feat]));
    if (f->type == TT_HINGE)
        json_object_set_new(o, "knot", json_real(f->knot));
    if (f->type == TT_INDICATOR) {
        json_t *lv = json_array();
        for (int i = 0; i < f->nlev; i++)
            json_array_append_new(lv, level_json(f->feat, f->lev[i]));
        json_object_set_new(o, "levels", lv);
    }
    return o;
}

char *pf_synth_truth_json(const pf_synth *g, const pf_synth_stats *st)
{
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string("profil-synth-truth/1"));
    json_object_set_new(root, "generator", json_string("profil synth"));
    json_object_set_new(root, "version", json_string(PF_SYNTH_VERSION));
    json_object_set_new(root, "seed", json_integer((json_int_t) g->opt.seed));
    json_object_set_new(root, "n", json_integer((json_int_t) g->opt.n));
    char date[16];
    snprintf(date, sizeof date, "%04d-%02d-%02d", REF_YEAR, REF_MONTH, REF_DAY);
    json_object_set_new(root, "reference_date", json_string(date));

    json_t *fm = json_object();
    json_object_set_new(fm, "label", json_string("arbete_studier_180d"));
    json_object_set_new(fm, "link", json_string("logit"));
    json_object_set_new(
        fm, "evaluation",
        json_string("eta = intercept + sum of coefficient * value over terms; the value of an "
                    "interaction is the product of its factors' values; linear: x, log1p: "
                    "log(1 + x), hinge: max(0, x - knot), indicator: 1 if the field's text is one "
                    "of levels else 0. p_180d = 1 / (1 + exp(-eta)); p_90d = 1 / (1 + exp(-(eta - "
                    "delta_90d))). With u uniform on [0, 1) per row: arbete_studier_180d = u < "
                    "p_180d, arbete_studier_90d = u < p_90d."));
    json_object_set_new(fm, "intercept", json_real(truth_intercept));
    json_t *terms = json_array();
    for (size_t i = 0; i < NTERMS; i++) {
        const term *t = &truth_terms[i];
        json_t *o;
        if (t->nf == 1) {
            o = factor_json(&t->f[0]);
        } else {
            o = json_object();
            json_object_set_new(o, "type", json_string("interaction"));
            json_t *fs = json_array();
            for (int j = 0; j < t->nf; j++)
                json_array_append_new(fs, factor_json(&t->f[j]));
            json_object_set_new(o, "factors", fs);
        }
        json_object_set_new(o, "coefficient", json_real(t->coef));
        json_array_append_new(terms, o);
    }
    json_object_set_new(fm, "terms", terms);
    json_object_set_new(fm, "delta_90d", json_real(truth_delta90));
    json_object_set_new(root, "formula", fm);

    json_t *map = json_object();
    for (int i = 0; i < g->nregion_map; i++)
        json_object_set_new(map, g->region_map[i].iso2,
                            json_string(region_names[g->region_map[i].region]));
    json_t *reg = json_object();
    json_object_set_new(reg, "source", json_string("fodelseland"));
    json_object_set_new(reg, "map", map);
    json_object_set_new(reg, "default", json_string(region_names[PF_REGION_UTANFOR_EUROPA]));
    json_t *derived = json_object();
    json_object_set_new(derived, "fodelseregion", reg);
    json_object_set_new(root, "derived", derived);

    if (st && st->n > 0) {
        json_t *re = json_object();
        double n = (double) st->n;
        json_object_set_new(re, "rows", json_integer((json_int_t) st->n));
        json_object_set_new(re, "rate_90d", json_real(st->y90 / n));
        json_object_set_new(re, "rate_180d", json_real(st->y180 / n));
        json_object_set_new(re, "mean_p_90d", json_real(st->sum_p90 / n));
        json_object_set_new(re, "mean_p_180d", json_real(st->sum_p180 / n));
        json_object_set_new(re, "auc_180d", json_real(st->auc180));
        json_object_set_new(root, "realised", re);
    }
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Streaming writer                                                          */

/* The AUC of the true p over the stream: p is binned finely enough that the
 * binning error is far below sampling noise, and memory stays constant. */
#define AUC_BINS 4096

int pf_synth_write(const pf_synth_options *opt, pf_outfile *out, pf_outfile *truth, pf_error *err)
{
    pf_synth *g;
    int rc = pf_synth_new(&g, opt, err);
    if (rc)
        return rc;
    enum { BLOCK = 1 << 16 };
    char *buf = malloc(BLOCK);
    uint64_t *pos = calloc(AUC_BINS, sizeof *pos);
    uint64_t *neg = calloc(AUC_BINS, sizeof *neg);
    if (!buf || !pos || !neg) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto done;
    }
    size_t used = pf_synth_header(g, buf, BLOCK);
    pf_synth_stats st = {0};
    pf_synth_row row;
    for (uint64_t i = 0; i < opt->n; i++) {
        pf_synth_next(g, &row);
        used += pf_synth_format(g, &row, buf + used);
        if (used > BLOCK - PF_SYNTH_LINE_MAX) {
            if (pf_outfile_write(out, buf, used) != 0) {
                rc = pf_error_set(err, PF_EIO, "cannot write %s", pf_outfile_path(out));
                goto done;
            }
            used = 0;
        }
        st.y90 += (uint64_t) row.y90;
        st.y180 += (uint64_t) row.y180;
        st.sum_p90 += row.p90;
        st.sum_p180 += row.p180;
        size_t b = (size_t) (row.p180 * AUC_BINS);
        if (b >= AUC_BINS)
            b = AUC_BINS - 1;
        if (row.y180)
            pos[b]++;
        else
            neg[b]++;
    }
    if (used && pf_outfile_write(out, buf, used) != 0) {
        rc = pf_error_set(err, PF_EIO, "cannot write %s", pf_outfile_path(out));
        goto done;
    }
    st.n = opt->n;
    /* Mann-Whitney over bins: a positive beats every negative in a lower bin
     * and ties half with those in its own bin. */
    double below = 0, wins = 0;
    for (size_t b = 0; b < AUC_BINS; b++) {
        wins += (double) pos[b] * (below + 0.5 * (double) neg[b]);
        below += (double) neg[b];
    }
    st.auc180 =
        st.y180 && st.y180 < st.n ? wins / ((double) st.y180 * (double) (st.n - st.y180)) : 0.5;
    if (truth) {
        char *js = pf_synth_truth_json(g, &st);
        if (!js) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory writing the truth file");
            goto done;
        }
        int wr = pf_outfile_puts(truth, js) || pf_outfile_write(truth, "\n", 1);
        free(js);
        if (wr) {
            rc = pf_error_set(err, PF_EIO, "cannot write %s", pf_outfile_path(truth));
            goto done;
        }
    }
done:
    free(buf);
    free(pos);
    free(neg);
    pf_synth_free(g);
    return rc;
}
