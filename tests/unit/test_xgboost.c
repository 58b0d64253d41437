/*
 * test_xgboost.c - XGBoost JSON models read into gbdt ensembles
 * (xgboost.h).
 *
 * pf_xgboost_threshold is checked against the compiler's own float
 * conversion: for many floats t (random bit patterns, zeros, denormals,
 * the extremes) and doubles x around the boundary (the threshold itself,
 * its neighbours, the float t and its neighbours, random values near t),
 * x < T must hold exactly when (float) x < t.
 *
 * A hand-written model (two trees, XGBoost's features in another order
 * than the schema's, children listed right before left, a pruned node left
 * in the arrays, a float split condition of 9.9) is scored on rows whose
 * leaves are worked out by hand below, including values that a double
 * comparison with the float threshold would send the wrong way. Then every
 * refusal: unknown or non-feature names, other objectives and boosters,
 * categorical splits, broken trees, a bad base score.
 */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "profil/gbdt.h"
#include "profil/schema.h"
#include "profil/xgboost.h"

static pf_schema *schema;

static int setup(void **state)
{
    (void) state;
    pf_error err;
    return pf_schema_load(&schema, PF_TEST_DATADIR "/schema/af-inskrivning.json", &err);
}

static int teardown(void **state)
{
    (void) state;
    pf_schema_free(schema);
    return 0;
}

static uint64_t rng = 42;

static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static void check_threshold(float t)
{
    double T = pf_xgboost_threshold(t), td = t;
    double xs[16] = {T,
                     nextafter(T, INFINITY),
                     nextafter(T, -INFINITY),
                     td,
                     nextafter(td, INFINITY),
                     nextafter(td, -INFINITY),
                     (double) nextafterf(t, -INFINITY),
                     (double) nextafterf(t, INFINITY),
                     td * (1 + 1e-9),
                     td * (1 - 1e-9),
                     -INFINITY,
                     INFINITY,
                     0.0,
                     -0.0,
                     td + ldexp((double) (rnd() % 1000) - 500.0, ilogb(td == 0 ? 1 : td) - 60),
                     td - 0x1p-150};
    for (int i = 0; i < 16; i++) {
        double x = xs[i];
        int want = (float) x < t, got = x < T;
        if (want != got)
            fail_msg("t = %a, x = %a: (float) x < t is %d, x < T (%a) is %d", (double) t, x, want,
                     T, got);
    }
}

static void test_threshold(void **state)
{
    (void) state;
    static const float special[] = {
        0.0f,  -0.0f, 0x1p-149f, -0x1p-149f, FLT_MIN, -FLT_MIN,    FLT_MAX,     -FLT_MAX,     1.0f,
        -1.0f, 9.9f,  0.1f,      326.0f,     0.5f,    16777216.0f, 16777217.0f, 0x1p-126f * 3};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        check_threshold(special[i]);
    for (int i = 0; i < 200000; i++) {
        uint32_t bits = (uint32_t) rnd();
        float t;
        memcpy(&t, &bits, sizeof t);
        if (isfinite(t))
            check_threshold(t);
    }
}

/* XGBoost features alder, omr_arbetsloshet, kon (schema order: alder,
 * kon, ..., omr_arbetsloshet). Tree 0, children listed right first:
 *
 *   node 0: f1 (omr_arbetsloshet) < 9.9f, missing left: left 2, right 1
 *     node 2: leaf 0.5
 *     node 1: f2 (kon) < 0.5, missing right: left 4, right 3
 *       node 4: leaf -0.25
 *       node 3: leaf 0.125
 *   node 5: a pruned leaf nobody points to
 *
 * Tree 1: one leaf, 0.0625. base_score 0.25: margin -ln 3. */
static const char *model_text =
    "{\"version\": [1, 7, 4], \"learner\": {"
    " \"feature_names\": [\"alder\", \"omr_arbetsloshet\", \"kon\"],"
    " \"feature_types\": [\"int\", \"float\", \"int\"],"
    " \"learner_model_param\": {\"base_score\": \"2.5E-1\", \"num_class\": \"0\","
    "   \"num_feature\": \"3\", \"num_target\": \"1\"},"
    " \"objective\": {\"name\": \"binary:logistic\"},"
    " \"gradient_booster\": {\"name\": \"gbtree\", \"model\": {\"trees\": ["
    "  {\"left_children\": [2, 4, -1, -1, -1, -1], \"right_children\": [1, 3, -1, -1, -1, -1],"
    "   \"split_indices\": [1, 2, 0, 0, 0, 0],"
    "   \"split_conditions\": [9.8999996185302734375, 0.5, 0.5, 0.125, -0.25, 7],"
    "   \"default_left\": [1, 0, 0, 0, 0, 0], \"split_type\": [0, 0, 0, 0, 0, 0],"
    "   \"sum_hessian\": [10, 6, 4, 2, 4, 1]},"
    "  {\"left_children\": [-1], \"right_children\": [-1], \"split_indices\": [0],"
    "   \"split_conditions\": [0.0625], \"default_left\": [0], \"sum_hessian\": [10]}"
    " ]}}}}";

static json_t *model_json(void)
{
    json_error_t je;
    json_t *root = json_loads(model_text, 0, &je);
    if (!root)
        fail_msg("test model: %s", je.text);
    return root;
}

static void test_hand_model(void **state)
{
    (void) state;
    json_t *root = model_json();
    pf_gbdt *g;
    pf_xgboost_info info;
    pf_error err;
    if (pf_xgboost_import(&g, root, schema, NULL, 0, "m.json", &info, &err))
        fail_msg("%s", err.message);
    assert_int_equal(g->nfeat, 3);
    assert_int_equal(g->feat_col[0], pf_schema_find(schema, "alder"));
    assert_int_equal(g->feat_col[1], pf_schema_find(schema, "kon"));
    assert_int_equal(g->feat_col[2], pf_schema_find(schema, "omr_arbetsloshet"));
    assert_int_equal(g->ntrees, 2);
    assert_int_equal(g->nnodes, 6); /* the pruned node left out */
    assert_string_equal(info.objective, "binary:logistic");
    assert_int_equal(info.version[1], 7);
    assert_true(fabs(g->base_score - -1.0986122886681098) < 1e-7);
    assert_true(g->base_score == (double) (float) g->base_score);

    /* Rows in profil's order (alder, kon, omr_arbetsloshet). */
    double f99 = 9.8999996185302734375;         /* 9.9f */
    double mid = (f99 + 9.899998664855957) / 2; /* to the float below (odd significand) */
    double x[][3] = {
        {30, 1, 9.9},                       /* (float) 9.9 = 9.9f: right; kon 1: right */
        {30, 1, f99},                       /* right */
        {30, 1, nextafter(f99, -INFINITY)}, /* rounds to 9.9f: right */
        {30, 1, mid},                       /* a tie, to the even 9.9f: right */
        {30, 1, nextafter(mid, -INFINITY)}, /* rounds down: left */
        {30, 1, 9.89999},                   /* left */
        {30, 1, NAN},                       /* missing: left */
        {30, NAN, 10},                      /* right; kon missing: right */
        {30, 0, 10},                        /* right; kon 0: left */
    };
    double want[] = {0.125, 0.125, 0.125, 0.125, 0.5, 0.5, 0.5, 0.125, -0.25};
    double eta[9];
    pf_gbdt_predict(g, &x[0][0], 9, eta);
    for (int i = 0; i < 9; i++) {
        double w = g->base_score + want[i] + 0.0625;
        if (fabs(eta[i] - w) > 1e-15)
            fail_msg("row %d: logit %.17g, expected %.17g", i, eta[i], w);
    }
    /* Covers are the sum_hessian values: expected value by hand. */
    double ev = g->base_score + 0.4 * 0.5 + 0.6 * (2.0 / 6 * 0.125 + 4.0 / 6 * -0.25) + 0.0625;
    assert_true(fabs(pf_gbdt_expected_value(g) - ev) < 1e-15);
    pf_gbdt_free(g);

    /* The names given instead of the file's. */
    json_object_del(json_object_get(root, "learner"), "feature_names");
    assert_int_equal(pf_xgboost_import(&g, root, schema, NULL, 0, "m.json", &info, &err),
                     PF_EFORMAT);
    assert_non_null(strstr(err.message, "no feature names"));
    const char *names[] = {"alder", "omr_arbetsloshet", "kon"};
    assert_int_equal(pf_xgboost_import(&g, root, schema, names, 3, "m.json", &info, &err), 0);
    assert_int_equal(g->ntrees, 2);
    pf_gbdt_free(g);
    json_decref(root);
}

/* Imports root (and frees it), expecting status and a message containing want. */
static void expect_refusal(json_t *root, int status, const char *want)
{
    pf_gbdt *g = (pf_gbdt *) 1;
    pf_xgboost_info info;
    pf_error err;
    int rc = pf_xgboost_import(&g, root, schema, NULL, 0, "m.json", &info, &err);
    if (rc != status || g != NULL || !strstr(err.message, want))
        fail_msg("expected %d '%s', got %d '%s'", status, want, rc, rc ? err.message : "");
    json_decref(root);
}

/* Edits the hand model with the JSON patch (path of keys, then value) and
 * expects the import to fail with status and a message containing want. */
static void refused(const char *a, const char *b, const char *c, int idx, json_t *value, int status,
                    const char *want)
{
    json_t *root = model_json();
    json_t *o = json_object_get(root, "learner");
    const char *keys[3] = {a, b, c};
    const char *last = NULL;
    for (int k = 0; k < 3 && keys[k]; k++) {
        if (k + 1 < 3 && keys[k + 1]) {
            o = json_object_get(o, keys[k]);
            if (json_is_array(o))
                o = json_array_get(o, 0);
        } else {
            last = keys[k];
        }
    }
    if (idx >= 0)
        json_array_set_new(json_object_get(o, last), (size_t) idx, value);
    else
        json_object_set_new(o, last, value);
    expect_refusal(root, status, want);
}

static void test_refusals(void **state)
{
    (void) state;
    refused("feature_names", NULL, NULL, 1, json_string("age"), PF_ENOTFOUND, "'age'");
    refused("feature_names", NULL, NULL, 1, json_string("id"), PF_ENOTFOUND,
            "'id' is not a feature column");
    refused("feature_names", NULL, NULL, 1, json_string("sokt_yrke_1"), PF_ENOTFOUND,
            "'sokt_yrke_1'");
    refused("feature_names", NULL, NULL, 1, json_string("kon"), PF_EFORMAT, "named twice");
    refused("feature_types", NULL, NULL, 2, json_string("c"), PF_EFORMAT, "categorical");
    refused("objective", "name", NULL, -1, json_string("multi:softprob"), PF_EFORMAT,
            "'multi:softprob' is not supported");
    refused("objective", "name", NULL, -1, json_string("reg:squarederror"), PF_EFORMAT,
            "not supported");
    refused("gradient_booster", "name", NULL, -1, json_string("dart"), PF_EFORMAT,
            "booster 'dart'");
    refused("learner_model_param", "base_score", NULL, -1, json_string("1"), PF_EFORMAT,
            "between 0 and 1");
    refused("learner_model_param", "num_class", NULL, -1, json_string("3"), PF_EFORMAT,
            "multi-class");
    refused("learner_model_param", "num_feature", NULL, -1, json_string("4"), PF_EFORMAT,
            "num_feature");
    refused("gradient_booster", "model", "trees", -1, json_string("x"), PF_EFORMAT, "no trees");
}

/* Patches tree 0's array key at index idx with value. */
static void tree_refused(const char *key, size_t idx, json_t *value, const char *want)
{
    json_t *root = model_json();
    json_t *tree = json_array_get(
        json_object_get(
            json_object_get(json_object_get(json_object_get(root, "learner"), "gradient_booster"),
                            "model"),
            "trees"),
        0);
    json_array_set_new(json_object_get(tree, key), idx, value);
    expect_refusal(root, PF_EFORMAT, want);
}

static void test_bad_trees(void **state)
{
    (void) state;
    tree_refused("split_type", 0, json_integer(1), "categorical split");
    tree_refused("left_children", 1, json_integer(0), "reached twice");
    tree_refused("left_children", 1, json_integer(2), "reached twice");
    tree_refused("right_children", 0, json_integer(9), "do not make a tree");
    tree_refused("split_indices", 0, json_integer(3), "split index 3");
    tree_refused("split_conditions", 0, json_real(1e39), "out of float range");
    tree_refused("split_conditions", 0, json_string("x"), "finite numbers");
    tree_refused("sum_hessian", 2, json_real(0), "not positive");
    tree_refused("sum_hessian", 3, json_real(2.5),
                 "node 1: sum_hessian 6 is not its children's sum 6.5");
    tree_refused("default_left", 0, json_string("yes"), "must be integers");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threshold),
        cmocka_unit_test(test_hand_model),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_bad_trees),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
