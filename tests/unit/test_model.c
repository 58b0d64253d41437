/*
 * test_model.c - model terms (encoder), specifications and model files.
 *
 * Values are worked out by hand from the input rows: hinge(alder,35) of age
 * 45 is 10, log1p(120) is log(121), a missing value is 0 in every factor
 * but its missing() indicator, and so on.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "profil/encode.h"
#include "profil/model.h"
#include "profil/reader.h"
#include "profil/spec.h"
#include "readertest.h"

static const char *HEADER =
    "id,alder,kon,fodelseland,kommunkod,utbildningsniva,utbildningsinriktning,sokt_yrke_1,"
    "sokt_yrke_2,sokt_yrke_3,sokt_yrke_4,erfarenhet_sokt_yrke,utbildning_sokt_yrke,akassa,"
    "inskrivningsmanad,inskrivningsdagar,dagar_foregaende_period,dagar_sedan_foregaende_period,"
    "antal_tidigare_perioder,dagar_tidigare_program,funktionsnedsattning,nedsatt_arbetsformaga,"
    "sokandekategori,kommunovergripande,sprakstod,ramprogram,omr_arbetsloshet,omr_medianinkomst,"
    "omr_andel_eftergymnasial,omr_andel_utrikes_medborgare,omr_andel_ensamhushall\n";
/* Row 1: 45 years, woman, Syria, level 6, 120 days, no earlier period,
 * language support, 7.5 % unemployment. Row 2: 24 years, man, Sweden,
 * level 2, 0 days, an earlier period 300 days ago. */
static const char *ROWS =
    "P1,45,K,SY,0180,6,5,5120,,,,2,1,1,3,120,0,,0,0,00,0,11,0,1,ingen,7.5,310.2,45.1,12.3,40.0\n"
    "P2,24,M,SE,1480,2,5,9111,,,,0,0,0,3,0,40,300,1,0,50,1,21,1,0,UGA,4.25,250,30,5,35\n";

typedef struct fixture {
    pf_schema *s;
    pf_reader *r;
    pf_frame *f;
    char buf[4096];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    pf_error err;
    assert_int_equal(pf_schema_load(&fx->s, PF_TEST_DATADIR "/schema/af-inskrivning.json", &err),
                     0);
    snprintf(fx->buf, sizeof fx->buf, "%s%s", HEADER, ROWS);
    assert_int_equal(pf_reader_open_memory(&fx->r, fx->s, fx->buf, strlen(fx->buf), NULL, &err), 0);
    assert_int_equal(pf_reader_frame_new(fx->r, 16, &fx->f, &err), 0);
    assert_int_equal(pf_reader_read(fx->r, fx->f, &err), 1);
    assert_int_equal(fx->f->n, 2);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    pf_frame_free(fx->f);
    pf_reader_close(fx->r);
    pf_schema_free(fx->s);
    free(fx);
    return 0;
}

static pf_encoder *encoder(fixture *fx, const char *const *terms)
{
    pf_encoder *e;
    pf_error err;
    assert_int_equal(pf_encoder_new(&e, fx->s, &err), 0);
    for (const char *const *t = terms; *t; t += 2)
        if (pf_encoder_add(e, t[0], t[1], &err))
            fail_msg("adding %s: %s", t[0], err.message);
    return e;
}

static void test_values(void **state)
{
    fixture *fx = *state;
    static const char *const terms[] = {"(Intercept)",
                                        "",
                                        "alder",
                                        "",
                                        "hinge(alder,35)",
                                        "",
                                        "log1p(inskrivningsdagar)",
                                        "",
                                        "kon",
                                        "K",
                                        "sprakstod",
                                        "",
                                        "utbildningsniva",
                                        "6",
                                        "bin(omr_arbetsloshet,5,10)",
                                        "",
                                        "log1p(dagar_sedan_foregaende_period)",
                                        "",
                                        "missing(dagar_sedan_foregaende_period)",
                                        "",
                                        "sprakstod:utbildningsniva",
                                        "6",
                                        "fodelseregion",
                                        "utanfor_europa",
                                        "akassa:hinge(alder,20)",
                                        "",
                                        NULL};
    pf_encoder *e = encoder(fx, terms);
    assert_int_equal(e->nterms, 13);
    double x[2 * 13];
    pf_encoder_rows(e, fx->f, 0, 2, x, 13);
    const double row1[13] = {1, 45, 10, log(121), 1, 1, 1, 1, 0, 1, 1, 1, 25};
    const double row2[13] = {1, 24, 0, 0, 0, 0, 0, 0, log(301), 0, 0, 0, 0};
    for (int j = 0; j < 13; j++) {
        assert_num(x[j], row1[j]);
        assert_num(x[13 + j], row2[j]);
    }
    assert_string_equal(e->terms[10].name, "sprakstod:utbildningsniva=6");
    assert_string_equal(e->terms[10].expr, "sprakstod:utbildningsniva");
    assert_string_equal(e->terms[10].level, "6");
    pf_encoder_free(e);
}

static void test_canonical_names(void **state)
{
    fixture *fx = *state;
    static const char *const terms[] = {"hinge(alder,5e1)", "", "bin(omr_arbetsloshet,-inf,2.50)",
                                        "", NULL};
    pf_encoder *e = encoder(fx, terms);
    assert_string_equal(e->terms[0].name, "hinge(alder,50)");
    assert_string_equal(e->terms[1].name, "bin(omr_arbetsloshet,-inf,2.5)");
    pf_error err;
    /* The same term written differently is still the same term. */
    assert_int_equal(pf_encoder_add(e, "hinge(alder,50.0)", "", &err), PF_EINVAL);
    assert_contains(err.message, "appears twice");
    pf_encoder_free(e);
}

static void test_term_errors(void **state)
{
    fixture *fx = *state;
    static const struct {
        const char *expr, *level, *message;
    } cases[] = {
        {"nosuch", "", "no column 'nosuch'"},
        {"kon", "", "needs a level"},
        {"kon", "X", "'X' is not a level of kon"},
        {"log1p(kon)", "", "needs a numeric column"},
        {"id", "", "role id"},
        {"arbete_studier_180d", "", "role label"},
        {"sokt_yrke_1", "", "string column"},
        {"alder", "K", "left over"},
        {"hinge(alder)", "", "takes 2 arguments"},
        {"bin(alder,5,5)", "", "lo < hi"},
        {"hinge(alder,x)", "", "not a number"},
        {"sqrt(alder)", "", "unknown function"},
        {"alder:kon:sprakstod:akassa", "K", "more than 3 factors"},
        {"alder:", "", "empty factor"},
        {"(Intercept)", "1", "no level"},
    };
    pf_encoder *e;
    pf_error err;
    assert_int_equal(pf_encoder_new(&e, fx->s, &err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (pf_encoder_add(e, cases[i].expr, cases[i].level, &err) == 0)
            fail_msg("'%s' was accepted", cases[i].expr);
        assert_contains(err.message, cases[i].message);
    }
    assert_int_equal(e->nterms, 0);
    /* A feature that may be missing needs its indicator. */
    assert_int_equal(pf_encoder_add(e, "log1p(dagar_sedan_foregaende_period)", "", &err), 0);
    assert_int_equal(pf_encoder_check_missing(e, &err), PF_EINVAL);
    assert_contains(err.message, "missing(dagar_sedan_foregaende_period)");
    pf_encoder_free(e);
}

static const char *put_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", P_tmpdir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void test_spec_expansion(void **state)
{
    fixture *fx = *state;
    const char *path = put_file(
        "profil-test-spec.json",
        "{\"format\": \"profil-modelspec/1\", \"label\": \"arbete_studier_180d\",\n"
        " \"terms\": [{\"feature\": \"alder\", \"spline\": [30, 50]},\n"
        "            {\"feature\": \"fodelseregion\", \"reference\": \"sverige\"},\n"
        "            {\"feature\": \"dagar_sedan_foregaende_period\", \"transform\": \"log1p\"},\n"
        "            {\"feature\": \"omr_arbetsloshet\", \"bins\": [4, 8]},\n"
        "            {\"interaction\": [\"sprakstod\", \"kon\"]}],\n"
        " \"holdout\": {\"fraction\": 0.25, \"seed\": 7}}\n");
    pf_spec *spec;
    pf_error err;
    if (pf_spec_load(&spec, path, fx->s, &err))
        fail_msg("%s", err.message);
    static const char *const want[] = {"(Intercept)",
                                       "alder",
                                       "hinge(alder,30)",
                                       "hinge(alder,50)",
                                       "fodelseregion=norden",
                                       "fodelseregion=eu_efta",
                                       "fodelseregion=europa_ovrigt",
                                       "fodelseregion=utanfor_europa",
                                       "log1p(dagar_sedan_foregaende_period)",
                                       "missing(dagar_sedan_foregaende_period)",
                                       "bin(omr_arbetsloshet,4,8)",
                                       "bin(omr_arbetsloshet,8,inf)",
                                       "sprakstod:kon=M"};
    size_t n = sizeof want / sizeof want[0];
    assert_int_equal(spec->enc->nterms, n);
    for (size_t j = 0; j < n; j++)
        assert_string_equal(spec->enc->terms[j].name, want[j]);
    /* kon's default reference is its first level, K. */
    assert_int_equal(spec->label_col, pf_schema_find(fx->s, "arbete_studier_180d"));
    /* The seeded split holds out about a quarter, the same rows every time. */
    int held = 0;
    for (int64_t row = 1; row <= 100000; row++)
        held += pf_spec_holdout_row(spec, row);
    assert_true(held > 24500 && held < 25500);
    assert_int_equal(pf_spec_holdout_row(spec, 12345), pf_spec_holdout_row(spec, 12345));
    pf_spec_free(spec);

    static const struct {
        const char *terms, *message;
    } bad[] = {
        {"[{\"feature\": \"alder\", \"spline\": [50, 30]}]", "increasing"},
        {"[{\"feature\": \"alder\", \"spline\": [30], \"bins\": [3]}]", "one of"},
        {"[{\"feature\": \"kon\", \"reference\": \"X\"}]", "not a level"},
        {"[{\"feature\": \"kon\", \"transform\": \"log1p\"}]", "numeric features"},
        {"[{\"feature\": \"alder\", \"transform\": \"sqrt\"}]", "not identity or log1p"},
        {"[{\"feature\": \"nosuch\"}]", "no such column"},
        {"[{\"interaction\": [\"alder\"]}]", "two sides"},
        {"[{\"feature\": \"alder\", \"knots\": [1]}]", "unknown key 'knots'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text,
                 "{\"format\": \"profil-modelspec/1\", \"label\": \"arbete_studier_180d\", "
                 "\"terms\": %s}",
                 bad[i].terms);
        path = put_file("profil-test-spec.json", text);
        if (pf_spec_load(&spec, path, fx->s, &err) == 0)
            fail_msg("accepted %s", bad[i].terms);
        assert_contains(err.message, bad[i].message);
    }
}

static void test_model_file_round_trip(void **state)
{
    fixture *fx = *state;
    static const char *const terms[] = {"(Intercept)", "",  "hinge(alder,35)",           "",
                                        "kon",         "K", "sprakstod:utbildningsniva", "6",
                                        NULL};
    pf_encoder *e = encoder(fx, terms);
    pf_model *m;
    pf_error err;
    assert_int_equal(pf_model_new(&m, fx->s, "logit", "arbete_studier_180d", e, &err), 0);
    /* Values with long binary expansions must come back bit for bit. */
    const double coef[4] = {-0.1 / 3, 2.0 / 7, -1e-300, 0.30000000000000004};
    memcpy(m->coef, coef, sizeof coef);
    char path[512], path2[512];
    snprintf(path, sizeof path, "%s/profil-test-model.json", P_tmpdir);
    snprintf(path2, sizeof path2, "%s/profil-test-model2.json", P_tmpdir);
    assert_int_equal(pf_model_save(m, path, &err), 0);
    char sha[PF_SHA256_HEX];
    assert_int_equal(pf_sha256_file(path, sha, &err), 0);
    assert_string_equal(sha, m->sha256);

    pf_model *back;
    if (pf_model_load(&back, path, fx->s, &err))
        fail_msg("%s", err.message);
    assert_int_equal(back->enc->nterms, 4);
    for (int j = 0; j < 4; j++) {
        assert_memory_equal(&back->coef[j], &coef[j], sizeof(double));
        assert_string_equal(back->enc->terms[j].name, m->enc->terms[j].name);
    }
    assert_null(back->se);
    assert_string_equal(back->sha256, m->sha256);
    /* Saving the loaded model gives the same bytes. */
    assert_int_equal(pf_model_save(back, path2, &err), 0);
    assert_string_equal(back->sha256, m->sha256);
    /* logit of row 1: -0.1/3 + 10 * 2/7 - 1e-300 + 0.30000000000000004 */
    double want = -0.1 / 3 + 10 * (2.0 / 7) + -1e-300 + 0.30000000000000004;
    assert_true(fabs(pf_model_logit(back, fx->f, 0) - want) < 1e-15);
    assert_true(fabs(pf_model_logit(back, fx->f, 1) - (-0.1 / 3)) < 1e-15);
    pf_model_free(back);
    pf_model_free(m);

    /* A model built on another schema is refused with both names. */
    FILE *fp = fopen(path, "r+");
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose(fp);
    char *v = strstr(text, "\"version\": \"1.0.0\"");
    assert_non_null(v);
    memcpy(v, "\"version\": \"9.9.9\"", 18);
    put_file("profil-test-model.json", text);
    assert_int_equal(pf_model_load(&back, path, fx->s, &err), PF_EINVAL);
    assert_contains(err.message, "9.9.9");
    unlink(path);
    unlink(path2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_canonical_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_term_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spec_expansion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_file_round_trip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
