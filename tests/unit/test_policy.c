/*
 * test_policy.c - policy files: calendar days, the choice of the policy in
 * force on a date, the compensation tables and delivery areas of the
 * bundled policies, and the loader's refusals.
 *
 * Expected values come from outside the code under test: the compensation
 * arithmetic of the procurement documents applied to the tables in
 * data/ref/ersattning-*.csv, the municipalities of
 * data/ref/leveransomraden-krom-2020.csv, the policy files read with
 * jansson, days counted with the Gregorian leap rule, and SHA-256 of the
 * files' bytes through Nettle. Broken policies are bundled
 * ones edited with jansson and written to a scratch directory.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <nettle/sha2.h>

#include "profil/day.h"
#include "profil/policy.h"
#include "profil/schema.h"
#include "readertest.h"
#include "policytest.h"

static pf_schema *S;

static int group_setup(void **state)
{
    pf_error err;
    assert_int_equal(pf_schema_load(&S, PF_TEST_DATADIR "/schema/af-inskrivning.json", &err), 0);
    return 0;
}

static int group_teardown(void **state)
{
    pf_schema_free(S);
    S = NULL;
    return 0;
}

static pf_policy *load_bundled(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/policies/%s.json", PF_TEST_DATADIR, name);
    pf_policy *p;
    pf_error err;
    if (pf_policy_load(&p, path, S, &err))
        fail_msg("%s", err.message);
    return p;
}

static pf_day day(const char *s)
{
    pf_day d;
    if (pf_day_parse(s, &d))
        fail_msg("'%s' does not parse", s);
    return d;
}

/* ------------------------------------------------------------------------ */
/* Calendar days                                                            */

static int leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static void test_day_epoch_and_known_days(void **state)
{
    assert_int_equal(pf_day_from_civil(1970, 1, 1), 0);
    assert_int_equal(pf_day_from_civil(2000, 3, 1), 11017);
    assert_int_equal(pf_day_from_civil(1969, 12, 31), -1);
    /* 70 years of 365 days and 17 leap days (1904-1968) before 1970. */
    assert_int_equal(pf_day_from_civil(1900, 1, 1), -(70 * 365 + 17));
    /* The KROM pilot's first day and the rules of 2021-08-01: 489 days on. */
    assert_int_equal(pf_day_from_civil(2021, 8, 1) - pf_day_from_civil(2020, 3, 30), 489);
}

/* Every day from 1900 to 2100, counted one by one. */
static void test_day_civil_round_trip_1900_2100(void **state)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    pf_day n = -(70 * 365 + 17);
    for (int y = 1900; y <= 2100; y++)
        for (int m = 1; m <= 12; m++) {
            int days = dm[m - 1] + (m == 2 && leap(y));
            for (int d = 1; d <= days; d++, n++) {
                if (pf_day_from_civil(y, m, d) != n)
                    fail_msg("%04d-%02d-%02d: %d, expected %d", y, m, d, pf_day_from_civil(y, m, d),
                             n);
                int yy, mm, dd;
                pf_day_to_civil(n, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d)
                    fail_msg("day %d: %04d-%02d-%02d, expected %04d-%02d-%02d", n, yy, mm, dd, y, m,
                             d);
                char text[32], buf[11];
                snprintf(text, sizeof text, "%04d-%02d-%02d", y, m, d);
                pf_day got;
                assert_int_equal(pf_day_parse(text, &got), 0);
                assert_int_equal(got, n);
                pf_day_format(n, buf);
                assert_string_equal(buf, text);
            }
        }
}

static void test_day_parse_rejects(void **state)
{
    static const char *const good[] = {"2020-02-29", "2000-02-29", "1900-01-01", "2021-07-31",
                                       "2021-08-01", "9999-12-31", NULL};
    static const char *const bad[] = {
        "2021-02-29", "1900-02-29", "2100-02-29",  "2020-04-31", "2020-13-01", "2020-00-10",
        "2020-01-00", "2020-01-32", "1899-12-31",  "2020-1-01",  "2020/01/01", "2020-01-01x",
        "20200101",   "",           " 2020-01-01", "2020-01-1 ", "202a-01-01", NULL};
    for (const char *const *s = good; *s; s++) {
        pf_day d;
        char buf[11];
        if (pf_day_parse(*s, &d))
            fail_msg("'%s' should parse", *s);
        pf_day_format(d, buf);
        assert_string_equal(buf, *s);
    }
    for (const char *const *s = bad; *s; s++) {
        pf_day d = 12345;
        if (pf_day_parse(*s, &d) == 0)
            fail_msg("'%s' should not parse", *s);
        assert_int_equal(d, 12345);
    }
    pf_day d;
    assert_int_equal(pf_day_parse(NULL, &d), -1);
    char buf[11];
    pf_day_format(PF_DAY_NONE, buf);
    assert_string_equal(buf, "open");
}

/* ------------------------------------------------------------------------ */
/* The bundled set and the policy in force on a date                        */

static pf_policy_set *bundled_set(void)
{
    pf_policy_set *set;
    pf_error err;
    if (pf_policy_set_load(&set, PF_TEST_DATADIR "/policies", S, &err))
        fail_msg("%s", err.message);
    return set;
}

static void test_set_load_bundled(void **state)
{
    pf_policy_set *set = bundled_set();
    assert_int_equal(set->n, 3);
    /* Sorted by service, then start. */
    assert_string_equal(set->policy[0]->name, "krom-2020");
    assert_string_equal(set->policy[1]->name, "krom-2021-08");
    assert_string_equal(set->policy[2]->name, "stom");
    assert_string_equal(set->policy[0]->service, "rusta_och_matcha");
    assert_string_equal(set->policy[1]->service, "rusta_och_matcha");
    assert_string_equal(set->policy[2]->service, "stod_och_matchning");
    assert_int_equal(set->policy[0]->valid_from, pf_day_from_civil(2020, 3, 30));
    assert_int_equal(set->policy[0]->valid_to, pf_day_from_civil(2021, 7, 31));
    assert_int_equal(set->policy[1]->valid_from, pf_day_from_civil(2021, 8, 1));
    assert_int_equal(set->policy[1]->valid_to, PF_DAY_NONE);
    assert_int_equal(set->policy[2]->valid_from, pf_day_from_civil(2014, 1, 1));
    assert_int_equal(set->policy[2]->valid_to, PF_DAY_NONE);
    pf_policy_set_free(set);
}

static const char *selected(const pf_policy_set *set, const char *service, const char *date,
                            int *rc, pf_error *err)
{
    const pf_policy *p = (const pf_policy *) set; /* must be reset */
    *rc = pf_policy_set_select(set, service, day(date), &p, err);
    if (*rc) {
        assert_null(p);
        return NULL;
    }
    assert_non_null(p);
    return p->name;
}

static void test_select_by_date(void **state)
{
    pf_policy_set *set = bundled_set();
    pf_error err;
    int rc;
    static const struct {
        const char *service, *date, *want; /* want NULL: none in force */
    } cases[] = {
        {"rusta_och_matcha", "2020-03-29", NULL},
        {"rusta_och_matcha", "2020-03-30", "krom-2020"},
        {"rusta_och_matcha", "2021-07-31", "krom-2020"},
        {"rusta_och_matcha", "2021-08-01", "krom-2021-08"},
        {"rusta_och_matcha", "2030-01-01", "krom-2021-08"},
        {"stod_och_matchning", "2013-12-31", NULL},
        {"stod_och_matchning", "2014-01-01", "stom"},
        {"stod_och_matchning", "2021-08-01", "stom"},
        {"no_such_service", "2021-08-01", NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const char *got = selected(set, cases[k].service, cases[k].date, &rc, &err);
        if (cases[k].want) {
            if (!got || strcmp(got, cases[k].want))
                fail_msg("%s on %s: %s, expected %s", cases[k].service, cases[k].date,
                         got ? got : err.message, cases[k].want);
        } else {
            assert_int_equal(rc, PF_ENOTFOUND);
            assert_contains(err.message, cases[k].date);
        }
    }
    pf_policy_set_free(set);
}

/* Without a service: one in force is chosen; two in force is an error
 * listing both. */
static void test_select_without_service(void **state)
{
    pf_policy_set *set = bundled_set();
    pf_error err;
    int rc;
    assert_null(selected(set, NULL, "2021-08-01", &rc, &err));
    assert_int_equal(rc, PF_EINVAL);
    assert_contains(err.message, "krom-2021-08");
    assert_contains(err.message, "stom");
    assert_null(selected(set, NULL, "2020-03-30", &rc, &err));
    assert_int_equal(rc, PF_EINVAL);
    assert_contains(err.message, "krom-2020");
    assert_string_equal(selected(set, NULL, "2019-06-01", &rc, &err), "stom");
    assert_null(selected(set, NULL, "2013-12-31", &rc, &err));
    assert_int_equal(rc, PF_ENOTFOUND);
    pf_policy_set_free(set);
}

static void test_in_force_bounds(void **state)
{
    pf_policy *p = load_bundled("krom-2020");
    assert_false(pf_policy_in_force(p, day("2020-03-29")));
    assert_true(pf_policy_in_force(p, day("2020-03-30")));
    assert_true(pf_policy_in_force(p, day("2021-07-31")));
    assert_false(pf_policy_in_force(p, day("2021-08-01")));
    pf_policy_free(p);
    p = load_bundled("krom-2021-08");
    assert_false(pf_policy_in_force(p, day("2021-07-31")));
    assert_true(pf_policy_in_force(p, day("2021-08-01")));
    assert_true(pf_policy_in_force(p, day("9999-12-31")));
    pf_policy_free(p);
}

/* The policy id is the SHA-256 of the file's bytes. */
static void test_policy_id_is_file_sha256(void **state)
{
    static const char *const names[] = {"krom-2020", "krom-2021-08", "stom"};
    for (int k = 0; k < 3; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/policies/%s.json", PF_TEST_DATADIR, names[k]);
        size_t n;
        char *bytes = read_file(path, &n);
        struct sha256_ctx ctx;
        uint8_t digest[SHA256_DIGEST_SIZE];
        sha256_init(&ctx);
        sha256_update(&ctx, n, (const uint8_t *) bytes);
        sha256_digest(&ctx, sizeof digest, digest);
        char hex[65];
        for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        pf_policy *p = load_bundled(names[k]);
        assert_string_equal(p->sha256, hex);
        assert_string_equal(p->name, names[k]);
        pf_policy_free(p);
        free(bytes);
    }
}

/* ------------------------------------------------------------------------ */
/* Thresholds, groups, rules and target groups of the bundled policies      */

static void test_thresholds_as_in_file(void **state)
{
    static const char *const names[] = {"krom-2020", "krom-2021-08", "stom"};
    for (int k = 0; k < 3; k++) {
        json_t *root = policy_json(names[k]);
        pf_policy *p = load_bundled(names[k]);
        json_t *g = json_object_get(root, "groups");
        assert_num(p->close_min, json_num_at(g, "close_min_p"));
        assert_num(p->far_below, json_num_at(g, "far_below_p"));
        assert_true(0 < p->far_below && p->far_below <= p->close_min && p->close_min < 1);
        if (k < 2) {
            json_t *l = json_object_get(root, "levels");
            assert_true(p->has_levels);
            assert_false(p->has_tracks);
            assert_num(p->level_a_min, json_num_at(l, "a_min_p"));
            assert_num(p->level_b_min, json_num_at(l, "b_min_p"));
            assert_int_equal(p->level_groups, 1u << 1); /* group 2 */
            assert_true(p->far_below <= p->level_b_min && p->level_b_min <= p->level_a_min &&
                        p->level_a_min <= p->close_min);
        } else {
            json_t *t = json_object_get(root, "tracks");
            assert_true(p->has_tracks);
            assert_false(p->has_levels);
            assert_num(p->enhanced_below, json_num_at(t, "enhanced_below_p"));
            assert_int_equal(p->track_groups, (1u << 1) | (1u << 2)); /* groups 2, 3 */
            assert_true(p->enhanced_below <= p->close_min);
        }
        json_decref(root);
        pf_policy_free(p);
    }
}

/* p >= close_min_p: group 1; p < far_below_p: group 3; else 2. */
static void test_group_boundaries(void **state)
{
    static const char *const names[] = {"krom-2020", "krom-2021-08", "stom"};
    for (int k = 0; k < 3; k++) {
        pf_policy *p = load_bundled(names[k]);
        assert_int_equal(pf_policy_group(p, p->close_min), 1);
        assert_int_equal(pf_policy_group(p, nextafter(p->close_min, 0)), 2);
        assert_int_equal(pf_policy_group(p, p->far_below), 2);
        assert_int_equal(pf_policy_group(p, nextafter(p->far_below, 0)), 3);
        assert_int_equal(pf_policy_group(p, 0), 3);
        assert_int_equal(pf_policy_group(p, 1), 1);
        pf_policy_free(p);
    }
}

static void test_rules_in_order(void **state)
{
    pf_policy *p = load_bundled("krom-2020");
    assert_int_equal(p->nrules, 2);
    assert_string_equal(p->rules[0].code, "utanfor_leveransomrade");
    assert_int_equal(p->rules[0].kind, PF_POLICY_RULE_AREA);
    assert_string_equal(p->rules[1].code, "statistisk_bedomning");
    assert_int_equal(p->rules[1].kind, PF_POLICY_RULE_GROUP);
    assert_int_equal(p->rules[1].groups, 1u << 1);
    pf_policy_free(p);

    p = load_bundled("krom-2021-08");
    assert_int_equal(p->nrules, 4);
    assert_string_equal(p->rules[0].code, "utanfor_leveransomrade");
    assert_string_equal(p->rules[1].code, "statistisk_bedomning");
    assert_int_equal(p->rules[1].groups, 1u << 1);
    assert_string_equal(p->rules[2].code, "inskrivningstid");
    assert_int_equal(p->rules[2].kind, PF_POLICY_RULE_CONDITION);
    assert_int_equal(p->rules[2].when.n, 1);
    assert_int_equal(p->rules[2].when.cond[0].col, pf_schema_find(S, "inskrivningsdagar"));
    assert_true(p->rules[2].when.cond[0].is_range);
    assert_num(p->rules[2].when.cond[0].min, 400);
    assert_true(isinf(p->rules[2].when.cond[0].max));
    assert_string_equal(p->rules[3].code, "ramprogram");
    assert_int_equal(p->rules[3].kind, PF_POLICY_RULE_CONDITION);
    pf_policy_free(p);

    p = load_bundled("stom");
    assert_int_equal(p->nrules, 1);
    assert_string_equal(p->rules[0].code, "star_nara");
    assert_int_equal(p->rules[0].kind, PF_POLICY_RULE_GROUP);
    assert_int_equal(p->rules[0].groups, (1u << 1) | (1u << 2));
    pf_policy_free(p);
}

/* The five target groups of the procurement documents, in every bundled
 * policy. */
static void test_target_group_codes(void **state)
{
    static const char *const names[] = {"krom-2020", "krom-2021-08", "stom"};
    static const char *const codes[] = {"endast_forgymnasial", "ung_bristfallig_utbildning",
                                        "utomeuropeiskt_fodd", "nedsatt_arbetsformaga",
                                        "alder_55_64"};
    for (int k = 0; k < 3; k++) {
        pf_policy *p = load_bundled(names[k]);
        assert_int_equal(p->ntarget_groups, 5);
        for (int c = 0; c < 5; c++) {
            int found = 0;
            for (size_t q = 0; q < p->ntarget_groups; q++)
                found += !strcmp(p->target_groups[q].code, codes[c]);
            if (found != 1)
                fail_msg("%s: target group %s found %d times", names[k], codes[c], found);
        }
        pf_policy_free(p);
    }
}

/* ------------------------------------------------------------------------ */
/* Compensation (the procurement documents)                                 */

/* Rusta och matcha: per month = 22 x per day; speed premium = 6 x monthly;
 * maximum per participant = 7 x monthly + maximum result compensation. */
static void test_compensation_krom_table_arithmetic(void **state)
{
    csvtab *t = csv_load(PF_TEST_DATADIR "/ref/ersattning-krom-2020.csv");
    assert_int_equal(t->nrows, 6);
    for (size_t r = 0; r < t->nrows; r++) {
        double day = csv_num(t, r, "grund_per_dag"), month = csv_num(t, r, "grund_per_manad");
        assert_num(month, 22 * day);
        assert_num(csv_num(t, r, "snabbhetspremie_6man"), 6 * month);
        assert_num(csv_num(t, r, "max_per_deltagare"),
                   7 * month + csv_num(t, r, "max_resultatersattning"));
    }
    /* The figures of the procurement documents. */
    static const struct {
        char level;
        int model;
        double day, max_result;
    } seed[] = {{'A', 1, 55, 20300}, {'A', 2, 55, 20300}, {'B', 1, 62, 32400},
                {'B', 2, 75, 25000}, {'C', 1, 90, 38000}, {'C', 2, 90, 38000}};
    for (size_t k = 0; k < 6; k++) {
        int found = 0;
        for (size_t r = 0; r < t->nrows; r++)
            if (csv_get(t, r, "niva")[0] == seed[k].level &&
                csv_num(t, r, "ersattningsmodell") == seed[k].model) {
                assert_num(csv_num(t, r, "grund_per_dag"), seed[k].day);
                assert_num(csv_num(t, r, "max_resultatersattning"), seed[k].max_result);
                found++;
            }
        assert_int_equal(found, 1);
    }
    csv_free(t);
}

/* Stöd och matchning: per 90-day period = 65 x per day; maximum per
 * participant = that + maximum result compensation. */
static void test_compensation_stom_table_arithmetic(void **state)
{
    csvtab *t = csv_load(PF_TEST_DATADIR "/ref/ersattning-stom.csv");
    assert_int_equal(t->nrows, 4);
    static const double per_day[4] = {100, 200, 185, 280};
    for (size_t r = 0; r < t->nrows; r++) {
        assert_num(csv_num(t, r, "spar"), (double) r + 1);
        double d = csv_num(t, r, "grund_per_dag"), unit = csv_num(t, r, "grund_per_manad");
        assert_num(d, per_day[r]);
        assert_num(unit, 65 * d);
        assert_num(csv_num(t, r, "max_per_deltagare"),
                   unit + csv_num(t, r, "max_resultatersattning"));
    }
    csv_free(t);
}

/* The KROM policies hold exactly the rows of ersattning-krom-2020.csv. */
static void test_compensation_krom_policies_equal_table(void **state)
{
    csvtab *t = csv_load(PF_TEST_DATADIR "/ref/ersattning-krom-2020.csv");
    static const char *const names[] = {"krom-2020", "krom-2021-08"};
    for (int k = 0; k < 2; k++) {
        pf_policy *p = load_bundled(names[k]);
        assert_string_equal(p->compensation_unit, "month");
        assert_num(p->days_per_unit, 22);
        assert_num(p->units_in_maximum, 7);
        assert_num(p->speed_premium_units, 6);
        assert_int_equal(p->ncompensation, t->nrows);
        for (size_t r = 0; r < t->nrows; r++) {
            char level = csv_get(t, r, "niva")[0];
            int model = (int) csv_num(t, r, "ersattningsmodell");
            const pf_compensation *c = pf_policy_compensation(p, level, 0, model);
            if (!c)
                fail_msg("%s: no row for level %c model %d", names[k], level, model);
            assert_int_equal(c->level, level);
            assert_int_equal(c->track, 0);
            assert_int_equal(c->model, model);
            assert_num(c->per_day, csv_num(t, r, "grund_per_dag"));
            assert_num(c->per_unit, csv_num(t, r, "grund_per_manad"));
            assert_num(c->max_result, csv_num(t, r, "max_resultatersattning"));
            assert_num(c->speed_premium, csv_num(t, r, "snabbhetspremie_6man"));
            assert_num(c->max_per_participant, csv_num(t, r, "max_per_deltagare"));
        }
        /* No track rows, and no row for a level that does not exist. */
        for (int tr = 1; tr <= 4; tr++)
            assert_null(pf_policy_compensation(p, 0, tr, 1));
        assert_null(pf_policy_compensation(p, 'D', 0, 1));
        pf_policy_free(p);
    }
    csv_free(t);
}

static void test_compensation_stom_policy_equals_table(void **state)
{
    csvtab *t = csv_load(PF_TEST_DATADIR "/ref/ersattning-stom.csv");
    pf_policy *p = load_bundled("stom");
    assert_string_equal(p->compensation_unit, "period");
    assert_num(p->days_per_unit, 65);
    assert_num(p->units_in_maximum, 1);
    assert_true(isnan(p->speed_premium_units));
    assert_int_equal(p->ncompensation, t->nrows);
    for (size_t r = 0; r < t->nrows; r++) {
        int track = (int) csv_num(t, r, "spar");
        const pf_compensation *c = pf_policy_compensation(p, 0, track, 0);
        assert_non_null(c);
        assert_int_equal(c->track, track);
        assert_int_equal(c->level, 0);
        assert_int_equal(c->model, 0);
        assert_num(c->per_day, csv_num(t, r, "grund_per_dag"));
        assert_num(c->per_unit, csv_num(t, r, "grund_per_manad"));
        assert_num(c->max_result, csv_num(t, r, "max_resultatersattning"));
        assert_true(isnan(c->speed_premium));
        assert_num(c->max_per_participant, csv_num(t, r, "max_per_deltagare"));
    }
    assert_null(pf_policy_compensation(p, 'A', 0, 0));
    pf_policy_free(p);
    csv_free(t);
}

/* The 32 pilot municipalities, each in its area with its model; every
 * other municipality in none. */
static void test_delivery_areas_match_table(void **state)
{
    csvtab *t = csv_load(PF_TEST_DATADIR "/ref/leveransomraden-krom-2020.csv");
    assert_int_equal(t->nrows, 32);
    /* Model 1 in Lidköping, Blekinge, Västerås; model 2 in the others. */
    for (size_t r = 0; r < t->nrows; r++) {
        const char *a = csv_get(t, r, "leveransomrade");
        int one = !strcmp(a, "Lidköping") || !strcmp(a, "Blekinge") || !strcmp(a, "Västerås");
        int two = !strcmp(a, "Oskarshamn") || !strcmp(a, "Trollhättan") || !strcmp(a, "Umeå");
        assert_true(one || two);
        assert_num(csv_num(t, r, "ersattningsmodell"), one ? 1 : 2);
    }
    int col = pf_schema_find(S, "kommunkod");
    assert_true(col >= 0);
    static const char *const names[] = {"krom-2020", "krom-2021-08"};
    for (int k = 0; k < 2; k++) {
        pf_policy *p = load_bundled(names[k]);
        assert_int_equal(p->area_col, col);
        assert_int_equal(p->nareas, 6);
        for (size_t r = 0; r < t->nrows; r++) {
            const char *code = csv_get(t, r, "kommunkod");
            int32_t lev = pf_schema_level(S, col, code, strlen(code));
            assert_true(lev >= 0);
            int a = p->area_of_level[lev];
            if (a < 0)
                fail_msg("%s: %s (%s) is in no area", names[k], code, csv_get(t, r, "kommun"));
            assert_string_equal(p->areas[a].name, csv_get(t, r, "leveransomrade"));
            assert_int_equal(p->areas[a].compensation_model,
                             (int) csv_num(t, r, "ersattningsmodell"));
        }
        size_t mapped = 0;
        for (size_t lev = 0; lev < S->cols[col].nlevels; lev++)
            mapped += p->area_of_level[lev] >= 0;
        assert_int_equal(mapped, 32);
        pf_policy_free(p);
    }
    pf_policy *p = load_bundled("stom");
    assert_int_equal(p->area_col, -1);
    assert_int_equal(p->nareas, 0);
    pf_policy_free(p);
    csv_free(t);
}

/* ------------------------------------------------------------------------ */
/* Loading edited policies                                                  */

/* Writes root to a scratch file and loads it; returns the status. */
static int load_edited(const json_t *root, pf_error *err)
{
    char *dir = make_tmpdir();
    char *path = json_write_to(dir, "edited.json", root);
    pf_policy *p = (pf_policy *) dir; /* must be reset */
    pf_error_clear(err);
    int rc = pf_policy_load(&p, path, S, err);
    if (rc)
        assert_null(p);
    else
        pf_policy_free(p);
    free(path);
    rm_tmpdir(dir);
    return rc;
}

/* Loads root and expects PF_EFORMAT with a message holding every needle. */
static void expect_format_error(const json_t *root, const char *const *needles)
{
    pf_error err;
    int rc = load_edited(root, &err);
    if (rc != PF_EFORMAT)
        fail_msg("status %d (%s), expected PF_EFORMAT", rc, err.message);
    for (; *needles; needles++)
        assert_contains(err.message, *needles);
}

static json_t *area_named(json_t *root, const char *name)
{
    json_t *areas = json_object_get(json_object_get(root, "delivery_areas"), "areas");
    size_t k;
    json_t *a;
    json_array_foreach(areas, k, a)
    {
        if (!strcmp(json_string_value(json_object_get(a, "name")), name))
            return a;
    }
    fail_msg("no area %s", name);
    return NULL;
}

static size_t compensation_row(json_t *root, const char *level, int model)
{
    json_t *rows = json_object_get(json_object_get(root, "compensation"), "rows");
    size_t k;
    json_t *r;
    json_array_foreach(rows, k, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "level")), level) &&
            json_integer_value(json_object_get(r, "model")) == model)
            return k;
    }
    fail_msg("no compensation row %s/%d", level, model);
    return 0;
}

static json_t *rule_coded(json_t *root, const char *code)
{
    size_t k;
    json_t *r;
    json_array_foreach(json_object_get(root, "eligibility"), k, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "code")), code))
            return r;
    }
    fail_msg("no rule %s", code);
    return NULL;
}

/* The copies written by these tests load when unedited, so every refusal
 * below is the edit's doing. */
static void test_unedited_copies_load(void **state)
{
    static const char *const names[] = {"krom-2020", "krom-2021-08", "stom"};
    for (int k = 0; k < 3; k++) {
        json_t *root = policy_json(names[k]);
        pf_error err;
        if (load_edited(root, &err))
            fail_msg("%s", err.message);
        json_decref(root);
    }
}

static void test_load_unknown_key_top_level(void **state)
{
    json_t *root = policy_json("krom-2021-08");
    json_object_set_new(root, "anmarkning", json_string("x"));
    expect_format_error(root, (const char *const[]){"anmarkning", NULL});
    json_decref(root);
}

static void test_load_unknown_key_nested(void **state)
{
    /* In groups, levels, an area, a compensation row, a rule, a condition. */
    for (int k = 0; k < 6; k++) {
        json_t *root = policy_json("krom-2021-08");
        json_t *obj = NULL;
        switch (k) {
        case 0:
            obj = json_object_get(root, "groups");
            break;
        case 1:
            obj = json_object_get(root, "levels");
            break;
        case 2:
            obj = area_named(root, "Umeå");
            break;
        case 3:
            obj = json_array_get(json_object_get(json_object_get(root, "compensation"), "rows"), 2);
            break;
        case 4:
            obj = rule_coded(root, "ramprogram");
            break;
        case 5:
            obj = json_array_get(json_object_get(rule_coded(root, "inskrivningstid"), "all"), 0);
            break;
        }
        json_object_set_new(obj, "okand_nyckel", json_true());
        expect_format_error(root, (const char *const[]){"okand_nyckel", NULL});
        json_decref(root);
    }
    /* And in the tracks of Stöd och matchning. */
    json_t *root = policy_json("stom");
    json_object_set_new(json_object_get(root, "tracks"), "okand_nyckel", json_true());
    expect_format_error(root, (const char *const[]){"okand_nyckel", "tracks", NULL});
    json_decref(root);
}

static void test_load_thresholds_out_of_order(void **state)
{
    json_t *root = policy_json("krom-2021-08");
    json_t *g = json_object_get(root, "groups");
    json_object_set_new(g, "far_below_p", json_real(json_num_at(g, "close_min_p") + 0.01));
    expect_format_error(root, (const char *const[]){"far_below_p", NULL});
    json_decref(root);

    root = policy_json("krom-2021-08");
    json_t *l = json_object_get(root, "levels");
    json_object_set_new(l, "b_min_p", json_real(json_num_at(l, "a_min_p") + 0.01));
    expect_format_error(root, (const char *const[]){"b_min_p", NULL});
    json_decref(root);

    /* Level A above group 1's threshold, level B below group 3's. */
    root = policy_json("krom-2020");
    g = json_object_get(root, "groups");
    l = json_object_get(root, "levels");
    json_object_set_new(l, "a_min_p", json_real(json_num_at(g, "close_min_p") + 0.01));
    expect_format_error(root, (const char *const[]){"a_min_p", NULL});
    json_decref(root);
    root = policy_json("krom-2020");
    g = json_object_get(root, "groups");
    l = json_object_get(root, "levels");
    json_object_set_new(l, "b_min_p", json_real(json_num_at(g, "far_below_p") - 0.01));
    expect_format_error(root, (const char *const[]){"b_min_p", NULL});
    json_decref(root);

    /* Without levels, only the groups' own order catches it. */
    root = policy_json("stom");
    g = json_object_get(root, "groups");
    json_object_set_new(g, "far_below_p", json_real(json_num_at(g, "close_min_p") + 0.01));
    expect_format_error(root, (const char *const[]){"far_below_p", "close_min_p", NULL});
    json_decref(root);

    root = policy_json("stom");
    g = json_object_get(root, "groups");
    json_object_set_new(json_object_get(root, "tracks"), "enhanced_below_p",
                        json_real(json_num_at(g, "close_min_p") + 0.01));
    expect_format_error(root, (const char *const[]){"enhanced_below_p", NULL});
    json_decref(root);

    /* Not a probability. */
    static const double bad[] = {0, 1, -0.1, 1.5};
    for (size_t k = 0; k < 4; k++) {
        root = policy_json("krom-2020");
        json_object_set_new(json_object_get(root, "groups"), "close_min_p", json_real(bad[k]));
        expect_format_error(root, (const char *const[]){"close_min_p", NULL});
        json_decref(root);
    }
}

static void test_load_missing_compensation_row(void **state)
{
    json_t *root = policy_json("krom-2021-08");
    json_t *rows = json_object_get(json_object_get(root, "compensation"), "rows");
    assert_int_equal(json_array_remove(rows, compensation_row(root, "B", 2)), 0);
    expect_format_error(root, (const char *const[]){"level B", "model 2", NULL});
    json_decref(root);

    root = policy_json("stom");
    rows = json_object_get(json_object_get(root, "compensation"), "rows");
    assert_int_equal(json_array_remove(rows, 3), 0);
    expect_format_error(root, (const char *const[]){"track 4", NULL});
    json_decref(root);
}

/* A row without a model applies under every model. */
static void test_load_row_without_model_applies_to_all(void **state)
{
    json_t *root = policy_json("krom-2020");
    json_t *rows = json_object_get(json_object_get(root, "compensation"), "rows");
    assert_int_equal(json_array_remove(rows, compensation_row(root, "A", 2)), 0);
    json_object_del(json_array_get(rows, compensation_row(root, "A", 1)), "model");
    char *dir = make_tmpdir();
    char *path = json_write_to(dir, "a.json", root);
    pf_policy *p;
    pf_error err;
    if (pf_policy_load(&p, path, S, &err))
        fail_msg("%s", err.message);
    const pf_compensation *a1 = pf_policy_compensation(p, 'A', 0, 1),
                          *a2 = pf_policy_compensation(p, 'A', 0, 2);
    assert_non_null(a1);
    assert_ptr_equal(a1, a2);
    assert_int_equal(a1->model, 0);
    assert_num(a1->max_per_participant, 28770);
    /* A row for the model itself is preferred. */
    assert_int_equal(pf_policy_compensation(p, 'B', 0, 2)->model, 2);
    pf_policy_free(p);
    free(path);
    rm_tmpdir(dir);
    json_decref(root);
}

static void test_load_broken_arithmetic(void **state)
{
    /* One amount off by one krona; the message names the relation broken
     * (a per_day off by one breaks per_unit = per_day x days_per_unit
     * alone). */
    static const struct {
        const char *field, *named;
    } cases[] = {{"max_per_participant", "max_per_participant"},
                 {"per_unit", "per_unit"},
                 {"per_day", "per_unit"},
                 {"speed_premium", "speed_premium"},
                 {"max_result", "max_per_participant"}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        json_t *root = policy_json("krom-2020");
        json_t *rows = json_object_get(json_object_get(root, "compensation"), "rows");
        json_t *r = json_array_get(rows, compensation_row(root, "B", 1));
        json_object_set_new(r, cases[k].field, json_real(json_num_at(r, cases[k].field) + 1));
        expect_format_error(root, (const char *const[]){cases[k].named, NULL});
        json_decref(root);
    }
    json_t *root = policy_json("stom");
    json_t *r = json_array_get(json_object_get(json_object_get(root, "compensation"), "rows"), 2);
    json_object_set_new(r, "max_per_participant",
                        json_real(json_num_at(r, "max_per_participant") - 1));
    expect_format_error(root, (const char *const[]){"max_per_participant", NULL});
    json_decref(root);
    /* Stöd och matchning has no speed premium. */
    root = policy_json("stom");
    r = json_array_get(json_object_get(json_object_get(root, "compensation"), "rows"), 0);
    json_object_set_new(r, "speed_premium", json_integer(39000));
    expect_format_error(root, (const char *const[]){"speed_premium", NULL});
    json_decref(root);
}

static void test_load_municipality_in_two_areas(void **state)
{
    json_t *root = policy_json("krom-2020");
    json_array_append_new(json_object_get(area_named(root, "Västerås"), "municipalities"),
                          json_string("2480"));
    expect_format_error(root, (const char *const[]){"2480", "Umeå", NULL});
    json_decref(root);
}

static void test_load_unknown_column(void **state)
{
    json_t *root = policy_json("krom-2021-08");
    json_t *c = json_array_get(json_object_get(rule_coded(root, "inskrivningstid"), "all"), 0);
    json_object_set_new(c, "column", json_string("inskrivningstid_dagar"));
    expect_format_error(root, (const char *const[]){"inskrivningstid_dagar", NULL});
    json_decref(root);

    root = policy_json("stom");
    c = json_array_get(
        json_object_get(json_array_get(json_object_get(root, "target_groups"), 4), "all"), 0);
    json_object_set_new(c, "column", json_string("alder_ar"));
    expect_format_error(root, (const char *const[]){"alder_ar", NULL});
    json_decref(root);

    root = policy_json("krom-2020");
    json_object_set_new(json_object_get(root, "delivery_areas"), "column", json_string("kommun"));
    expect_format_error(root, (const char *const[]){"column", NULL});
    json_decref(root);
}

static void test_load_unknown_code(void **state)
{
    json_t *root = policy_json("krom-2021-08");
    json_t *c = json_array_get(json_object_get(rule_coded(root, "ramprogram"), "all"), 0);
    json_array_append_new(json_object_get(c, "in"), json_string("XYZ"));
    expect_format_error(root, (const char *const[]){"XYZ", "ramprogram", NULL});
    json_decref(root);

    root = policy_json("krom-2020");
    json_array_append_new(json_object_get(area_named(root, "Umeå"), "municipalities"),
                          json_string("2499"));
    expect_format_error(root, (const char *const[]){"2499", NULL});
    json_decref(root);

    root = policy_json("krom-2020");
    c = json_array_get(
        json_object_get(json_array_get(json_object_get(root, "target_groups"), 2), "all"), 0);
    json_array_append_new(json_object_get(c, "in"), json_string("asien"));
    expect_format_error(root, (const char *const[]){"asien", "fodelseregion", NULL});
    json_decref(root);
}

static void test_load_bad_dates(void **state)
{
    json_t *root = policy_json("krom-2020");
    json_object_set_new(root, "valid_to", json_string("2020-03-29"));
    expect_format_error(root, (const char *const[]){"valid_to", "2020-03-29", NULL});
    json_decref(root);

    /* One day is a valid range. */
    root = policy_json("krom-2020");
    json_object_set_new(root, "valid_to", json_string("2020-03-30"));
    pf_error err;
    assert_int_equal(load_edited(root, &err), 0);
    json_decref(root);

    root = policy_json("krom-2020");
    json_object_set_new(root, "valid_from", json_string("2021-02-29"));
    expect_format_error(root, (const char *const[]){"valid_from", NULL});
    json_decref(root);

    root = policy_json("krom-2020");
    json_object_del(root, "valid_to");
    expect_format_error(root, (const char *const[]){"valid_to", NULL});
    json_decref(root);
}

static void test_load_wrong_schema_or_format(void **state)
{
    json_t *root = policy_json("krom-2020");
    json_object_set_new(root, "schema", json_string("af-inskrivning-2"));
    pf_error err;
    int rc = load_edited(root, &err);
    assert_true(rc < 0);
    assert_contains(err.message, "af-inskrivning-2");
    json_decref(root);

    root = policy_json("krom-2020");
    json_object_set_new(root, "format", json_string("profil-policy/2"));
    expect_format_error(root, (const char *const[]){"format", NULL});
    json_decref(root);
}

/*
 * 'sources' must be an array of strings: they are what makes a policy
 * traceable to its documents, so [42] or [null] is a load error.
 */
static void test_load_sources_must_be_strings(void **state)
{
    json_t *root = policy_json("krom-2020");
    json_object_set_new(root, "sources", json_pack("[i]", 42));
    pf_error err;
    int rc = load_edited(root, &err);
    json_decref(root);
    assert_int_equal(rc, PF_EFORMAT);
    assert_contains(err.message, "sources");
}

static void test_load_missing_file(void **state)
{
    pf_policy *p;
    pf_error err;
    assert_int_equal(pf_policy_load(&p, "/nonexistent/policy.json", S, &err), PF_EIO);
    assert_null(p);
    assert_contains(err.message, "/nonexistent/policy.json");
}

/* ------------------------------------------------------------------------ */
/* Directories of policies                                                  */

static void test_set_overlap_same_service_fails(void **state)
{
    char *dir = make_tmpdir();
    json_t *a = policy_json("krom-2020"), *b = policy_json("krom-2021-08");
    /* krom-2021-08 starting a day before krom-2020 ends. */
    json_object_set_new(b, "valid_from", json_string("2021-07-31"));
    char *pa = json_write_to(dir, "forsta.json", a), *pb = json_write_to(dir, "andra.json", b);
    pf_policy_set *set = (pf_policy_set *) dir;
    pf_error err;
    assert_int_equal(pf_policy_set_load(&set, dir, S, &err), PF_EFORMAT);
    assert_null(set);
    assert_contains(err.message, "forsta.json");
    assert_contains(err.message, "andra.json");
    assert_contains(err.message, "2021-07-31");
    json_decref(a);
    json_decref(b);
    free(pa);
    free(pb);
    rm_tmpdir(dir);
}

/* An open-ended policy overlaps every later one of its service. */
static void test_set_overlap_open_end_fails(void **state)
{
    char *dir = make_tmpdir();
    json_t *a = policy_json("krom-2020"), *b = policy_json("krom-2021-08");
    json_object_set_new(a, "valid_to", json_null());
    json_object_set_new(b, "valid_from", json_string("2030-01-01"));
    char *pa = json_write_to(dir, "a.json", a), *pb = json_write_to(dir, "b.json", b);
    pf_policy_set *set;
    pf_error err;
    assert_int_equal(pf_policy_set_load(&set, dir, S, &err), PF_EFORMAT);
    assert_contains(err.message, "a.json");
    assert_contains(err.message, "b.json");
    json_decref(a);
    json_decref(b);
    free(pa);
    free(pb);
    rm_tmpdir(dir);
}

static void test_set_overlap_other_services_loads(void **state)
{
    char *dir = make_tmpdir();
    json_t *a = policy_json("krom-2020"), *b = policy_json("stom");
    char *pa = json_write_to(dir, "krom.json", a), *pb = json_write_to(dir, "stom.json", b);
    pf_policy_set *set;
    pf_error err;
    if (pf_policy_set_load(&set, dir, S, &err))
        fail_msg("%s", err.message);
    assert_int_equal(set->n, 2);
    const pf_policy *p;
    assert_int_equal(pf_policy_set_select(set, "rusta_och_matcha", day("2020-06-01"), &p, &err), 0);
    assert_string_equal(p->name, "krom-2020");
    assert_int_equal(pf_policy_set_select(set, "stod_och_matchning", day("2020-06-01"), &p, &err),
                     0);
    assert_string_equal(p->name, "stom");
    assert_int_equal(pf_policy_set_select(set, NULL, day("2020-06-01"), &p, &err), PF_EINVAL);
    pf_policy_set_free(set);
    json_decref(a);
    json_decref(b);
    free(pa);
    free(pb);
    rm_tmpdir(dir);
}

/* Policy names are unique across services; a bad file fails the set. */
static void test_set_other_failures(void **state)
{
    char *dir = make_tmpdir();
    pf_policy_set *set;
    pf_error err;
    assert_int_equal(pf_policy_set_load(&set, dir, S, &err), PF_ENOTFOUND);

    json_t *a = policy_json("krom-2020"), *b = policy_json("stom");
    json_object_set_new(b, "name", json_string("krom-2020"));
    char *pa = json_write_to(dir, "a.json", a), *pb = json_write_to(dir, "b.json", b);
    assert_int_equal(pf_policy_set_load(&set, dir, S, &err), PF_EFORMAT);
    assert_contains(err.message, "krom-2020");

    json_object_set_new(b, "name", json_string("stom"));
    json_object_set_new(b, "okand_nyckel", json_true());
    free(json_write_to(dir, "b.json", b));
    assert_int_equal(pf_policy_set_load(&set, dir, S, &err), PF_EFORMAT);
    assert_null(set);
    assert_contains(err.message, "b.json");
    assert_contains(err.message, "okand_nyckel");

    /* Files not ending in .json are not policies. */
    json_object_del(b, "okand_nyckel");
    free(json_write_to(dir, "b.json", b));
    free(json_write_to(dir, "c.json.bak", a));
    if (pf_policy_set_load(&set, dir, S, &err))
        fail_msg("%s", err.message);
    assert_int_equal(set->n, 2);
    pf_policy_set_free(set);

    assert_int_equal(pf_policy_set_load(&set, "/nonexistent/policies", S, &err), PF_EIO);
    json_decref(a);
    json_decref(b);
    free(pa);
    free(pb);
    rm_tmpdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_epoch_and_known_days),
        cmocka_unit_test(test_day_civil_round_trip_1900_2100),
        cmocka_unit_test(test_day_parse_rejects),
        cmocka_unit_test(test_set_load_bundled),
        cmocka_unit_test(test_select_by_date),
        cmocka_unit_test(test_select_without_service),
        cmocka_unit_test(test_in_force_bounds),
        cmocka_unit_test(test_policy_id_is_file_sha256),
        cmocka_unit_test(test_thresholds_as_in_file),
        cmocka_unit_test(test_group_boundaries),
        cmocka_unit_test(test_rules_in_order),
        cmocka_unit_test(test_target_group_codes),
        cmocka_unit_test(test_compensation_krom_table_arithmetic),
        cmocka_unit_test(test_compensation_stom_table_arithmetic),
        cmocka_unit_test(test_compensation_krom_policies_equal_table),
        cmocka_unit_test(test_compensation_stom_policy_equals_table),
        cmocka_unit_test(test_delivery_areas_match_table),
        cmocka_unit_test(test_unedited_copies_load),
        cmocka_unit_test(test_load_unknown_key_top_level),
        cmocka_unit_test(test_load_unknown_key_nested),
        cmocka_unit_test(test_load_thresholds_out_of_order),
        cmocka_unit_test(test_load_missing_compensation_row),
        cmocka_unit_test(test_load_row_without_model_applies_to_all),
        cmocka_unit_test(test_load_broken_arithmetic),
        cmocka_unit_test(test_load_municipality_in_two_areas),
        cmocka_unit_test(test_load_unknown_column),
        cmocka_unit_test(test_load_unknown_code),
        cmocka_unit_test(test_load_bad_dates),
        cmocka_unit_test(test_load_wrong_schema_or_format),
        cmocka_unit_test(test_load_sources_must_be_strings),
        cmocka_unit_test(test_load_missing_file),
        cmocka_unit_test(test_set_overlap_same_service_fails),
        cmocka_unit_test(test_set_overlap_open_end_fails),
        cmocka_unit_test(test_set_overlap_other_services_loads),
        cmocka_unit_test(test_set_other_failures),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
