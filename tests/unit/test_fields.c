/*
 * test_fields.c - rows given as named field texts (pf_reader_put_fields,
 * the entrance of the HTTP service's JSON profiles) against the bundled
 * af-inskrivning schema. Expected values are worked out by hand from the
 * inputs and data/ref/ (kommun 1280 is Malmö in county 12, SE is in region
 * "sverige"), never taken from the reader's output; where the CSV path is
 * the reference, the same values are read from CSV text here.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "profil/frame.h"
#include "profil/reader.h"
#include "profil/schema.h"

static pf_schema *S;

static const char *const BASE[][2] = {{"id", "AF-000123"},
                                      {"alder", "34"},
                                      {"kon", "K"},
                                      {"fodelseland", "SE"},
                                      {"kommunkod", "1280"},
                                      {"utbildningsniva", "4"},
                                      {"utbildningsinriktning", "5"},
                                      {"sokt_yrke_1", "5120"},
                                      {"sokt_yrke_2", ""},
                                      {"erfarenhet_sokt_yrke", "2"},
                                      {"utbildning_sokt_yrke", "1"},
                                      {"akassa", "0"},
                                      {"inskrivningsmanad", "3"},
                                      {"inskrivningsdagar", "120"},
                                      {"dagar_foregaende_period", "45"},
                                      {"dagar_sedan_foregaende_period", "400"},
                                      {"antal_tidigare_perioder", "2"},
                                      {"dagar_tidigare_program", "30"},
                                      {"funktionsnedsattning", "00"},
                                      {"nedsatt_arbetsformaga", "0"},
                                      {"sokandekategori", "11"},
                                      {"kommunovergripande", "1"},
                                      {"sprakstod", "0"},
                                      {"ramprogram", "ingen"},
                                      {"omr_arbetsloshet", "7.4"},
                                      {"omr_medianinkomst", "265.5"},
                                      {"omr_andel_eftergymnasial", "38.25"},
                                      {"omr_andel_utrikes_medborgare", "12.5"},
                                      {"omr_andel_ensamhushall", "41.0"}};
#define NBASE (sizeof BASE / sizeof *BASE)

typedef struct seen {
    int n;
    char column[8][64], rule[8][32], value[8][64], message[8][256];
} seen;

static void on_reject(void *ctx, const pf_problem *p)
{
    seen *s = ctx;
    if (s->n == 8)
        return;
    snprintf(s->column[s->n], 64, "%s", p->column ? p->column : "");
    snprintf(s->rule[s->n], 32, "%s", pf_rule_name(p->rule));
    snprintf(s->value[s->n], 64, "%s", p->value);
    snprintf(s->message[s->n], 256, "%s", p->message);
    s->n++;
}

/* The BASE row with name set to value (NULL: left out), in reverse order
 * (the order of names must not matter). */
static size_t fields(pf_field_text *v, const char *name, const char *value)
{
    size_t n = 0;
    for (size_t i = NBASE; i-- > 0;) {
        const char *val = strcmp(BASE[i][0], name) ? BASE[i][1] : value;
        if (!val)
            continue;
        v[n++] = (pf_field_text){BASE[i][0], val, strlen(val)};
    }
    return n;
}

static int setup(void **state)
{
    pf_error err;
    return pf_schema_load(&S, PF_TEST_DATADIR "/schema/af-inskrivning.json", &err);
}

static int teardown(void **state)
{
    pf_schema_free(S);
    return 0;
}

static void test_accepted_row(void **state)
{
    seen s = {0};
    pf_reader_options opt = {.on_reject = on_reject, .reject_ctx = &s};
    pf_reader *r;
    pf_frame *f;
    pf_error err;
    assert_int_equal(pf_reader_open_fields(&r, S, &opt, &err), 0);
    assert_int_equal(pf_frame_new(&f, S, 4, 0, NULL, &err), 0);
    pf_field_text v[64];
    size_t n = fields(v, "", NULL);
    assert_int_equal(pf_reader_put_fields(r, f, 7, v, n, &err), 1);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->row[0], 7);
    int c = pf_schema_find(S, "alder");
    assert_true(f->col[c].num[0] == 34.0);
    c = pf_schema_find(S, "omr_andel_eftergymnasial");
    assert_true(f->col[c].num[0] == 38.25);
    c = pf_schema_find(S, "lanskod"); /* derived: Malmö is in county 12 */
    assert_string_equal(S->cols[c].levels[f->col[c].cat[0]].code, "12");
    c = pf_schema_find(S, "sokt_yrke_2"); /* empty: missing allowed */
    assert_true(f->col[c].str[0].off == PF_STR_MISSING);
    c = pf_schema_find(S, "sokt_yrke_3"); /* absent, not required: missing */
    assert_true(f->col[c].str[0].off == PF_STR_MISSING);
    assert_int_equal(s.n, 0);
    pf_frame_free(f);
    pf_reader_close(r);
}

/* The same bad value through CSV text and through fields gives the same
 * column, rule, value and message. */
static void test_same_problem_as_csv(void **state)
{
    const char *bad[][2] = {{"alder", "15"},
                            {"kon", "X"},
                            {"sokt_yrke_1", "51a0"},
                            {"omr_arbetsloshet", "7,4"},
                            {"inskrivningsdagar", "12.5"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char csv[4096];
        size_t o = 0;
        for (size_t i = 0; i < NBASE; i++)
            o += (size_t) snprintf(csv + o, sizeof csv - o, "%s%s", i ? "," : "", BASE[i][0]);
        o += (size_t) snprintf(csv + o, sizeof csv - o, "\n");
        for (size_t i = 0; i < NBASE; i++) {
            const char *val = strcmp(BASE[i][0], bad[k][0]) ? BASE[i][1] : bad[k][1];
            o += (size_t) snprintf(csv + o, sizeof csv - o, "%s\"%s\"", i ? "," : "", val);
        }
        o += (size_t) snprintf(csv + o, sizeof csv - o, "\n");
        seen a = {0}, b = {0};
        pf_reader_options oa = {.on_reject = on_reject, .reject_ctx = &a};
        pf_reader_options ob = {.on_reject = on_reject, .reject_ctx = &b};
        pf_reader *r;
        pf_frame *f;
        pf_error err;
        assert_int_equal(pf_reader_open_memory(&r, S, csv, o, &oa, &err), 0);
        assert_int_equal(pf_reader_frame_new(r, 4, &f, &err), 0);
        assert_int_equal(pf_reader_read(r, f, &err), 0);
        pf_frame_free(f);
        pf_reader_close(r);
        assert_int_equal(pf_reader_open_fields(&r, S, &ob, &err), 0);
        assert_int_equal(pf_frame_new(&f, S, 4, 0, NULL, &err), 0);
        pf_field_text v[64];
        size_t n = fields(v, bad[k][0], bad[k][1]);
        assert_int_equal(pf_reader_put_fields(r, f, 1, v, n, &err), 0);
        assert_int_equal(f->n, 0);
        assert_int_equal(a.n, 1);
        assert_int_equal(b.n, 1);
        assert_string_equal(b.column[0], bad[k][0]);
        assert_string_equal(a.column[0], b.column[0]);
        assert_string_equal(a.rule[0], b.rule[0]);
        assert_string_equal(a.value[0], b.value[0]);
        assert_string_equal(a.message[0], b.message[0]);
        pf_frame_free(f);
        pf_reader_close(r);
    }
}

static void test_fields_only_problems(void **state)
{
    seen s = {0};
    pf_reader_options opt = {.on_reject = on_reject, .reject_ctx = &s};
    pf_reader *r;
    pf_frame *f;
    pf_error err;
    assert_int_equal(pf_reader_open_fields(&r, S, &opt, &err), 0);
    assert_int_equal(pf_frame_new(&f, S, 1, 0, NULL, &err), 0);
    pf_field_text v[64];
    /* A required column left out: missing_value for that column. */
    size_t n = fields(v, "kon", NULL);
    assert_int_equal(pf_reader_put_fields(r, f, 1, v, n, &err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.column[0], "kon");
    assert_string_equal(s.rule[0], "missing_value");
    /* An identity number in a column the schema does not know. */
    s.n = 0;
    n = fields(v, "", NULL);
    v[n++] = (pf_field_text){"anteckning", "pnr 19121212-1212", 17};
    assert_int_equal(pf_reader_put_fields(r, f, 2, v, n, &err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.rule[0], "personnummer");
    assert_string_equal(s.value[0], "<withheld>");
    /* A column given twice is the caller's error. */
    n = fields(v, "", NULL);
    v[n++] = (pf_field_text){"alder", "35", 2};
    assert_int_equal(pf_reader_put_fields(r, f, 3, v, n, &err), PF_EINVAL);
    /* The frame holds one row; the next one finds it full. */
    n = fields(v, "", NULL);
    assert_int_equal(pf_reader_put_fields(r, f, 4, v, n, &err), 1);
    assert_int_equal(pf_reader_put_fields(r, f, 5, v, n, &err), PF_ELIMIT);
    assert_int_equal(f->n, 1);
    assert_int_equal(f->row[0], 4);
    /* Not a stream. */
    assert_int_equal(pf_reader_read(r, f, &err), PF_EINVAL);
    pf_frame_free(f);
    pf_reader_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_row),
        cmocka_unit_test(test_same_problem_as_csv),
        cmocka_unit_test(test_fields_only_problems),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
