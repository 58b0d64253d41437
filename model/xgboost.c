/*
 * xgboost.c - XGBoost JSON models read into a gbdt ensemble (see
 * xgboost.h). `profil model import-xgboost` (cli/xgboost_cmd.c) writes the
 * result as a profil model file, which score, whatif, serve and explain
 * then load like a trained one.
 *
 * The file's layout (XGBoost 1.7):
 *
 *   {"version": [1, 7, 4],
 *    "learner": {"feature_names": [...], "feature_types": [...],
 *      "learner_model_param": {"base_score": "5E-1", "num_class": "0", ...},
 *      "objective": {"name": "binary:logistic", ...},
 *      "gradient_booster": {"name": "gbtree", "model": {"trees": [
 *        {"left_children": [...], "right_children": [...],
 *         "split_indices": [...], "split_conditions": [...],
 *         "default_left": [...], "sum_hessian": [...], "split_type": [...],
 *         ...}, ...]}}}}
 *
 * A leaf has left child -1 and its value in split_conditions. Nodes are
 * reached from the root (node 0), so pruned nodes a file may still hold
 * are skipped; a node reached twice is an error, not a loop.
 */
#include "profil/xgboost.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

double pf_xgboost_threshold(float t)
{
    /* (float) x < t exactly when x rounds to the float below t or lower:
     * when x is below the midpoint m between that float and t, or equal
     * to m and m rounds down (the float below has an even significand).
     * m is exact in double. Below -FLT_MAX the next step is -2^128, where
     * rounding gives -inf, which counts as even. */
    double below;
    int even;
    if (t == -FLT_MAX) {
        below = -0x1p128;
        even = 1;
    } else {
        float p = nextafterf(t, -INFINITY);
        uint32_t bits;
        memcpy(&bits, &p, sizeof bits);
        below = p;
        even = (bits & 1) == 0;
    }
    double m = (below + (double) t) / 2;
    return even ? nextafter(m, INFINITY) : m;
}

static const json_t *path_get(const json_t *o, const char *a, const char *b, const char *c)
{
    o = json_object_get(o, a);
    if (b)
        o = json_object_get(o, b);
    if (c)
        o = json_object_get(o, c);
    return o;
}

/* A number given as a JSON number or as a string holding one (XGBoost
 * writes its parameters as strings). */
static int number_of(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    char *end;
    if (!s || !*s)
        return -1;
    *out = strtod(s, &end);
    return *end ? -1 : 0;
}

typedef struct tree_arrays {
    const json_t *left, *right, *feat, *cond, *dl, *hess, *type;
    size_t n;
} tree_arrays;

static int array_of(const json_t *tree, const char *key, size_t n, const json_t **out)
{
    *out = json_object_get(tree, key);
    return json_is_array(*out) && json_array_size(*out) == n ? 0 : -1;
}

static int int_at(const json_t *a, size_t k, long long *out)
{
    const json_t *v = json_array_get(a, k);
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 0;
    }
    return -1;
}

/* One XGBoost tree appended to g; xmap[i] is XGBoost feature i's index
 * among g's features. */
static int read_tree(pf_gbdt *g, const json_t *tree, size_t t, const int *xmap, size_t nx,
                     const char *path, pf_error *err)
{
    const json_t *left = json_object_get(tree, "left_children");
    if (!json_is_array(left) || json_array_size(left) == 0 ||
        json_array_size(left) > (size_t) 1 << 24)
        return pf_error_set(err, PF_EFORMAT,
                            "%s: tree %zu: 'left_children' must be an array of 1 to 16777216 "
                            "node indices",
                            path, t);
    tree_arrays a = {.left = left, .n = json_array_size(left)};
    size_t n = a.n;
    static const char *const keys[] = {"right_children", "split_indices", "split_conditions",
                                       "default_left", "sum_hessian"};
    const json_t **dst[] = {&a.right, &a.feat, &a.cond, &a.dl, &a.hess};
    for (int q = 0; q < 5; q++)
        if (array_of(tree, keys[q], n, dst[q]))
            return pf_error_set(err, PF_EFORMAT, "%s: tree %zu: '%s' must be an array of %zu", path,
                                t, keys[q], n);
    a.type = json_object_get(tree, "split_type");
    if (a.type && (!json_is_array(a.type) || json_array_size(a.type) != n))
        return pf_error_set(err, PF_EFORMAT, "%s: tree %zu: 'split_type' must be an array of %zu",
                            path, t, n);

    /* Reachable nodes, breadth first from the root: new index q holds
     * XGBoost node order[q]. */
    int32_t *order = malloc(n * sizeof *order), *newidx = malloc(n * sizeof *newidx);
    int32_t *right = malloc(n * sizeof *right);
    pf_gbdt_node *nodes = calloc(n, sizeof *nodes);
    double *cover = malloc(n * sizeof *cover);
    int rc = 0;
    if (!order || !newidx || !right || !nodes || !cover) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n; k++)
        newidx[k] = -1;
    size_t head = 0, tail = 0;
    order[tail++] = 0;
    newidx[0] = 0;
    while (head < tail) {
        int32_t k = order[head++];
        long long l, r;
        if (int_at(a.left, (size_t) k, &l) || int_at(a.right, (size_t) k, &r)) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: tree %zu, node %d: children must be integers",
                              path, t, k);
            goto out;
        }
        if (l == -1)
            continue;
        if (l < 0 || r < 0 || (size_t) l >= n || (size_t) r >= n || newidx[l] >= 0 ||
            newidx[r] >= 0 || l == r) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %d: children %lld and %lld do not make a tree "
                              "(out of range or reached twice)",
                              path, t, k, l, r);
            goto out;
        }
        newidx[l] = (int32_t) tail;
        order[tail++] = (int32_t) l;
        newidx[r] = (int32_t) tail;
        order[tail++] = (int32_t) r;
    }
    for (size_t q = 0; q < tail; q++) {
        size_t k = (size_t) order[q];
        long long l = -1, r = -1, f, dl, type = 0;
        double cond, hess;
        int_at(a.left, k, &l);
        int_at(a.right, k, &r);
        if (number_of(json_array_get(a.cond, k), &cond) ||
            number_of(json_array_get(a.hess, k), &hess) || !isfinite(cond) || !isfinite(hess)) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %zu: split condition and sum_hessian must be "
                              "finite numbers",
                              path, t, k);
            goto out;
        }
        if (!(hess > 0)) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %zu: sum_hessian %g is not positive (the "
                              "contributions need every node's cover)",
                              path, t, k, hess);
            goto out;
        }
        cover[q] = (double) (float) hess;
        if (l == -1) {
            nodes[q].left = -1;
            nodes[q].value = (double) (float) cond;
            right[q] = -1;
            continue;
        }
        if (int_at(a.feat, k, &f) || int_at(a.dl, k, &dl) || (a.type && int_at(a.type, k, &type))) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %zu: split index, default_left and split type "
                              "must be integers",
                              path, t, k);
            goto out;
        }
        if (type != 0) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %zu: a categorical split (not supported: "
                              "train with numerical features, categories as level indices)",
                              path, t, k);
            goto out;
        }
        if (f < 0 || (size_t) f >= nx) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %zu: split index %lld is not one of the %zu "
                              "features",
                              path, t, k, f, nx);
            goto out;
        }
        float tf = (float) cond;
        if (!isfinite(tf)) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %zu: split condition %g is out of float range",
                              path, t, k, cond);
            goto out;
        }
        nodes[q].left = newidx[l];
        right[q] = newidx[r];
        nodes[q].feature = (int16_t) xmap[f];
        nodes[q].threshold = pf_xgboost_threshold(tf);
        nodes[q].default_left = dl != 0;
    }
    /* A node's cover is its children's: XGBoost's sums agree to float
     * rounding; anything else is not a model's (and would break the
     * contributions' sum). The sums themselves are kept, so that the
     * contributions add up to the logit exactly. */
    for (size_t q = tail; q-- > 0;) {
        if (nodes[q].left < 0)
            continue;
        double sum = cover[nodes[q].left] + cover[right[q]];
        if (!(fabs(sum - cover[q]) <= 1e-3 * cover[q])) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %d: sum_hessian %g is not its children's sum "
                              "%g",
                              path, t, order[q], cover[q], sum);
            goto out;
        }
        cover[q] = sum;
    }
    char why[PF_ERROR_MAX];
    if ((rc = pf_gbdt_add_tree(g, tail, nodes, right, cover, err))) {
        snprintf(why, sizeof why, "%s", err ? err->message : "");
        rc = pf_error_set(err, PF_EFORMAT, "%s: %s", path, why);
    }
out:
    free(order);
    free(newidx);
    free(right);
    free(nodes);
    free(cover);
    return rc;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;
    return (x > y) - (x < y);
}

/* The schema columns of the nx XGBoost features (xcol), and each one's
 * index among the gbdt's features, which are those columns in schema
 * order (xmap, cols). */
static int map_features(const pf_schema *s, const json_t *fnames, const json_t *ftypes,
                        const char *const *names, size_t nx, const char *path, int *xcol, int *xmap,
                        int *cols, pf_error *err)
{
    for (size_t i = 0; i < nx; i++) {
        const char *name = names ? names[i] : json_string_value(json_array_get(fnames, i));
        if (!name)
            return pf_error_set(err, PF_EFORMAT, "%s: feature_names must be strings", path);
        const char *type = json_string_value(json_array_get(ftypes, i));
        if (type && strcmp(type, "c") == 0)
            return pf_error_set(err, PF_EFORMAT,
                                "%s: feature '%s' is categorical in XGBoost (not supported: "
                                "give it as its level index, a number)",
                                path, name);
        int c = pf_schema_find(s, name);
        if (c < 0 || s->cols[c].role != PF_ROLE_FEATURE || s->cols[c].type == PF_TYPE_STRING)
            return pf_error_set(err, PF_ENOTFOUND,
                                "%s: XGBoost feature %zu '%s' is not %s of schema %s (XGBoost's "
                                "feature names must be the schema's feature columns, see "
                                "docs/models.md)",
                                path, i, name,
                                c < 0 ? "a column"
                                : s->cols[c].role != PF_ROLE_FEATURE
                                    ? "a feature column"
                                    : "a number, integer, boolean or category column",
                                s->name);
        for (size_t q = 0; q < i; q++)
            if (xcol[q] == c)
                return pf_error_set(err, PF_EFORMAT, "%s: feature '%s' is named twice", path, name);
        xcol[i] = c;
        cols[i] = c;
    }
    qsort(cols, nx, sizeof *cols, cmp_int);
    for (size_t i = 0; i < nx; i++)
        for (size_t j = 0; j < nx; j++)
            if (cols[j] == xcol[i])
                xmap[i] = (int) j;
    return 0;
}

int pf_xgboost_import(pf_gbdt **out, const json_t *root, const pf_schema *s,
                      const char *const *names, size_t nnames, const char *path,
                      pf_xgboost_info *info, pf_error *err)
{
    *out = NULL;
    memset(info, 0, sizeof *info);
    const json_t *learner = json_object_get(root, "learner");
    if (!json_is_object(learner))
        return pf_error_set(err, PF_EFORMAT,
                            "%s: not an XGBoost JSON model (no 'learner' object; save it with "
                            "Booster.save_model(\"model.json\"))",
                            path);
    const json_t *ver = json_object_get(root, "version");
    for (size_t i = 0; i < 3 && json_is_array(ver); i++)
        info->version[i] = (int) json_integer_value(json_array_get(ver, i));
    const char *obj = json_string_value(path_get(learner, "objective", "name", NULL));
    if (!obj)
        return pf_error_set(err, PF_EFORMAT, "%s: no objective name", path);
    snprintf(info->objective, sizeof info->objective, "%s", obj);
    int logistic = strcmp(obj, "binary:logistic") == 0 || strcmp(obj, "reg:logistic") == 0;
    if (!logistic && strcmp(obj, "binary:logitraw") != 0)
        return pf_error_set(err, PF_EFORMAT,
                            "%s: objective '%s' is not supported (binary:logistic, "
                            "reg:logistic or binary:logitraw: profil models a probability)",
                            path, obj);
    const json_t *mp = json_object_get(learner, "learner_model_param");
    double v;
    if (json_object_get(mp, "num_class") &&
        (number_of(json_object_get(mp, "num_class"), &v) || v > 1))
        return pf_error_set(err, PF_EFORMAT, "%s: a multi-class model is not supported", path);
    if (json_object_get(mp, "num_target") &&
        (number_of(json_object_get(mp, "num_target"), &v) || v != 1))
        return pf_error_set(err, PF_EFORMAT, "%s: a multi-target model is not supported", path);
    if (number_of(json_object_get(mp, "base_score"), &info->base_score) ||
        !isfinite((float) info->base_score))
        return pf_error_set(err, PF_EFORMAT, "%s: 'base_score' must be a number", path);
    float bs = (float) info->base_score;
    if (logistic) {
        if (!(bs > 0 && bs < 1))
            return pf_error_set(err, PF_EFORMAT,
                                "%s: base_score %g must be a probability strictly between 0 and 1",
                                path, info->base_score);
        info->base_margin = (double) -logf(1.0f / bs - 1.0f);
    } else {
        info->base_margin = (double) bs;
    }
    const json_t *booster = json_object_get(learner, "gradient_booster");
    const char *bname = json_string_value(json_object_get(booster, "name"));
    if (!bname || strcmp(bname, "gbtree") != 0)
        return pf_error_set(err, PF_EFORMAT, "%s: booster '%s' is not supported (gbtree only)",
                            path, bname ? bname : "?");
    const json_t *trees = path_get(booster, "model", "trees", NULL);
    if (!json_is_array(trees))
        return pf_error_set(err, PF_EFORMAT, "%s: no trees (gradient_booster.model.trees)", path);
    const json_t *fnames = json_object_get(learner, "feature_names");
    const json_t *ftypes = json_object_get(learner, "feature_types");
    size_t nx = names ? nnames : json_is_array(fnames) ? json_array_size(fnames) : 0;
    if (nx == 0)
        return pf_error_set(err, PF_EFORMAT,
                            "%s: the model has no feature names (give them with "
                            "--feature-names, or name the DMatrix's columns when training)",
                            path);
    if (nx > 32767)
        return pf_error_set(err, PF_EFORMAT, "%s: %zu features (at most 32767)", path, nx);
    if (json_object_get(mp, "num_feature") &&
        (number_of(json_object_get(mp, "num_feature"), &v) || v != (double) nx))
        return pf_error_set(err, PF_EFORMAT, "%s: %zu feature names, but num_feature is not %zu",
                            path, nx, nx);
    int *xcol = malloc(nx * sizeof *xcol), *xmap = malloc(nx * sizeof *xmap);
    int *cols = malloc(nx * sizeof *cols);
    pf_gbdt *g = NULL;
    int rc = 0;
    if (!xcol || !xmap || !cols) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = map_features(s, fnames, ftypes, names, nx, path, xcol, xmap, cols, err)) ||
        (rc = pf_gbdt_new(&g, nx, cols, info->base_margin, err)))
        goto out;
    for (size_t t = 0; t < json_array_size(trees); t++)
        if ((rc = read_tree(g, json_array_get(trees, t), t, xmap, nx, path, err)))
            goto out;
    info->ntrees = g->ntrees;
    pf_gbdt_compile(g);
out:
    free(xcol);
    free(xmap);
    free(cols);
    if (rc) {
        pf_gbdt_free(g);
        return rc;
    }
    *out = g;
    return 0;
}
