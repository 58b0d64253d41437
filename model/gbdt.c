/*
 * gbdt.c - gradient-boosted trees: the flattened ensemble, its scoring
 * kernel, exact TreeSHAP contributions and the model file's tree section
 * (see gbdt.h). Training lives in train/gbdt_train.c; model.c reads and
 * writes the rest of the file; decide.c calls the kernel.
 */
#include "profil/gbdt.h"

#include "gbdt_fast.h"
#include "gbdt_shap.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rows run through one tree before the next: enough to amortise loading
 * the tree, few enough that their feature rows stay in L1. */
#define PREDICT_BLOCK 64

int pf_gbdt_new(pf_gbdt **out, size_t nfeat, const int *cols, double base_score, pf_error *err)
{
    *out = NULL;
    pf_gbdt *g = calloc(1, sizeof *g);
    if (!g)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    g->nfeat = nfeat;
    g->base_score = base_score;
    g->feat_col = malloc((nfeat ? nfeat : 1) * sizeof *g->feat_col);
    g->monotone = calloc(nfeat ? nfeat : 1, sizeof *g->monotone);
    g->root = calloc(1, sizeof *g->root);
    if (!g->feat_col || !g->monotone || !g->root) {
        pf_gbdt_free(g);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < nfeat; j++)
        g->feat_col[j] = cols[j];
    *out = g;
    return 0;
}

void pf_gbdt_free(pf_gbdt *g)
{
    if (!g)
        return;
    free(g->feat_col);
    free(g->monotone);
    free(g->root);
    free(g->node);
    free(g->cover);
    free(g->step);
    free(g->depth);
    pf_gbdt_fast_free(g->fast);
    pf_gbdt_shap_free(g->shap);
    free(g);
}

static size_t tree_depth(const pf_gbdt_node *nd, size_t k)
{
    if (nd[k].left < 0)
        return 0;
    size_t a = tree_depth(nd, (size_t) nd[k].left), b = tree_depth(nd, (size_t) nd[k].left + 1);
    return 1 + (a > b ? a : b);
}

int pf_gbdt_add_tree(pf_gbdt *g, size_t n, const pf_gbdt_node *in, const int32_t *right,
                     const double *cover, pf_error *err)
{
    if (n == 0 || n > INT32_MAX / 2)
        return pf_error_set(err, PF_EINVAL, "tree %zu: %zu nodes", g->ntrees, n);
    pf_gbdt_fast_free(g->fast);
    pf_gbdt_shap_free(g->shap);
    g->fast = NULL;
    g->shap = NULL;
    int32_t *parents = calloc(n, sizeof *parents), *order = malloc(n * sizeof *order);
    int32_t *newidx = malloc(n * sizeof *newidx);
    int rc = 0;
    if (!parents || !order || !newidx) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        const pf_gbdt_node *x = &in[k];
        if (!(cover[k] > 0) || !isfinite(cover[k])) {
            rc = pf_error_set(err, PF_EINVAL, "tree %zu, node %zu: cover must be positive",
                              g->ntrees, k);
            goto out;
        }
        if (x->left < 0) {
            if (!isfinite(x->value)) {
                rc = pf_error_set(err, PF_EINVAL, "tree %zu, node %zu: leaf value not finite",
                                  g->ntrees, k);
                goto out;
            }
            continue;
        }
        int32_t l = x->left, r = right[k];
        if ((size_t) l <= k || (size_t) l >= n || r < 0 || (size_t) r <= k || (size_t) r >= n ||
            l == r || x->feature < 0 || (size_t) x->feature >= g->nfeat || isnan(x->threshold)) {
            rc = pf_error_set(err, PF_EINVAL,
                              "tree %zu, node %zu: bad split (children must come after their "
                              "parent, the feature must exist, the threshold must be a number)",
                              g->ntrees, k);
            goto out;
        }
        parents[l]++;
        parents[r]++;
    }
    for (size_t k = 1; k < n; k++)
        if (parents[k] != 1) {
            rc = pf_error_set(err, PF_EINVAL, "tree %zu, node %zu has %d parents", g->ntrees, k,
                              parents[k]);
            goto out;
        }
    if (parents[0]) {
        rc = pf_error_set(err, PF_EINVAL, "tree %zu: the root has a parent", g->ntrees);
        goto out;
    }
    /* Breadth first: order[] lists old indices in their new positions;
     * parents[] is reused for the depth of each new position. */
    size_t head = 0, tail = 0, depth = 0;
    order[tail++] = 0;
    newidx[0] = 0;
    parents[0] = 0;
    while (head < tail) {
        int32_t k = order[head], d = parents[head++];
        if ((size_t) d > depth)
            depth = (size_t) d;
        if (in[k].left >= 0) {
            parents[tail] = d + 1;
            newidx[in[k].left] = (int32_t) tail;
            order[tail++] = in[k].left;
            parents[tail] = d + 1;
            newidx[right[k]] = (int32_t) tail;
            order[tail++] = right[k];
        }
    }
    if (depth > PF_GBDT_MAX_DEPTH) {
        rc = pf_error_set(err, PF_EINVAL, "tree %zu is %zu levels deep (at most %d)", g->ntrees,
                          depth, PF_GBDT_MAX_DEPTH);
        goto out;
    }
    if (g->nnodes + n > g->cap) {
        size_t cap = g->cap ? g->cap : 1024;
        while (cap < g->nnodes + n)
            cap *= 2;
        pf_gbdt_node *nn = realloc(g->node, cap * sizeof *nn);
        if (nn)
            g->node = nn;
        double *nc = nn ? realloc(g->cover, cap * sizeof *nc) : NULL;
        if (nc)
            g->cover = nc;
        pf_gbdt_step *ns = nc ? realloc(g->step, cap * sizeof *ns) : NULL;
        if (ns)
            g->step = ns;
        if (!nn || !nc || !ns) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
            goto out;
        }
        g->cap = cap;
    }
    size_t *root = realloc(g->root, (g->ntrees + 2) * sizeof *root);
    if (root)
        g->root = root;
    uint16_t *tdepth = root ? realloc(g->depth, (g->ntrees + 1) * sizeof *tdepth) : NULL;
    if (tdepth)
        g->depth = tdepth;
    if (!root || !tdepth) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    pf_gbdt_node *dst = g->node + g->nnodes;
    for (size_t q = 0; q < n; q++) {
        const pf_gbdt_node *x = &in[order[q]];
        pf_gbdt_node *y = &dst[q];
        memset(y, 0, sizeof *y);
        g->cover[g->nnodes + q] = cover[order[q]];
        if (x->left < 0) {
            y->left = -1;
            y->feature = -1;
            y->value = x->value;
        } else {
            y->left = newidx[x->left];
            y->feature = x->feature;
            y->threshold = x->threshold;
            y->default_left = x->default_left ? 1 : 0;
            if (newidx[right[order[q]]] != y->left + 1) {
                /* Breadth first puts the right child next to the left. */
                rc = pf_error_set(err, PF_EINVAL, "tree %zu: internal layout error", g->ntrees);
                goto out;
            }
        }
    }
    for (size_t q = 0; q < n; q++) {
        pf_gbdt_step *st = &g->step[g->nnodes + q];
        memset(st, 0, sizeof *st);
        st->next = dst[q].left < 0 ? (int32_t) q : dst[q].left;
        st->inner = dst[q].left >= 0;
        st->feature = st->inner ? dst[q].feature : 0;
        st->threshold = dst[q].threshold;
        st->default_left = dst[q].default_left;
    }
    g->depth[g->ntrees] = (uint16_t) depth;
    if (depth > g->max_depth)
        g->max_depth = depth;
    g->nnodes += n;
    g->ntrees++;
    g->root[g->ntrees] = g->nnodes;
out:
    free(parents);
    free(order);
    free(newidx);
    return rc;
}

void pf_gbdt_truncate(pf_gbdt *g, size_t ntrees)
{
    if (ntrees >= g->ntrees)
        return;
    pf_gbdt_fast_free(g->fast);
    pf_gbdt_shap_free(g->shap);
    g->fast = NULL;
    g->shap = NULL;
    g->ntrees = ntrees;
    g->nnodes = g->root[ntrees];
    g->max_depth = 0;
    for (size_t t = 0; t < ntrees; t++) {
        size_t d = tree_depth(g->node + g->root[t], 0);
        if (d > g->max_depth)
            g->max_depth = d;
    }
}

void pf_gbdt_gather(const pf_gbdt *g, const pf_frame *f, size_t first, size_t n, double *x)
{
    size_t nf = g->nfeat;
    for (size_t j = 0; j < nf; j++) {
        const pf_colbuf *c = &f->col[g->feat_col[j]];
        if (c->cat) {
            const int32_t *v = c->cat + first;
            for (size_t i = 0; i < n; i++)
                x[i * nf + j] = v[i] < 0 ? NAN : (double) v[i];
        } else {
            const double *v = c->num + first;
            for (size_t i = 0; i < n; i++)
                x[i * nf + j] = v[i];
        }
    }
}

/* The leaf of row xr in the tree at nd. A NaN fails every "<", so it goes
 * right unless the node sends missing values left. */
static inline int32_t leaf_of(const pf_gbdt_node *nd, const double *xr)
{
    int32_t k = 0;
    while (nd[k].left >= 0) {
        const pf_gbdt_node *x = &nd[k];
        double v = xr[x->feature];
        int left = (v < x->threshold) | ((v != v) & x->default_left);
        k = x->left + !left;
    }
    return k;
}

/* Trees at most this deep are walked a fixed number of steps. */
#define LOCKSTEP_DEPTH 12
/* Rows walked together through such a tree. */
#define LANES 8

/* Rows xb[0..nb) through a tree of the given depth: every row takes depth
 * steps (a leaf steps onto itself), LANES rows at a time, so the walks are
 * independent chains the processor overlaps, with no branch per level. */
static void lockstep(const pf_gbdt_step *st, const pf_gbdt_node *nd, size_t depth, const double *xb,
                     size_t nf, size_t nb, double *acc)
{
    size_t r = 0;
    for (; r + LANES <= nb; r += LANES) {
        int32_t k[LANES] = {0};
        for (size_t d = 0; d < depth; d++)
            for (int q = 0; q < LANES; q++) {
                const pf_gbdt_step *p = &st[k[q]];
                double v = xb[(r + (size_t) q) * nf + (size_t) p->feature];
                int left = (v < p->threshold) | ((v != v) & p->default_left);
                k[q] = p->next + ((left ^ 1) & p->inner);
            }
        for (int q = 0; q < LANES; q++)
            acc[r + (size_t) q] += nd[k[q]].value;
    }
    for (; r < nb; r++) {
        int32_t k = 0;
        for (size_t d = 0; d < depth; d++) {
            const pf_gbdt_step *p = &st[k];
            double v = xb[r * nf + (size_t) p->feature];
            int left = (v < p->threshold) | ((v != v) & p->default_left);
            k = p->next + ((left ^ 1) & p->inner);
        }
        acc[r] += nd[k].value;
    }
}

void pf_gbdt_compile(pf_gbdt *g)
{
    pf_gbdt_fast_free(g->fast);
    pf_gbdt_shap_free(g->shap);
    g->fast = pf_gbdt_fast_build(g);
    g->shap = pf_gbdt_shap_build(g);
}

void pf_gbdt_predict(const pf_gbdt *g, const double *x, size_t n, double *logit)
{
    if (g->fast && pf_gbdt_fast_ntrees(g->fast) == g->ntrees) {
        pf_gbdt_fast_predict(g->fast, g->base_score, x, n, logit);
        return;
    }
    size_t nf = g->nfeat;
    for (size_t i0 = 0; i0 < n; i0 += PREDICT_BLOCK) {
        size_t nb = n - i0 < PREDICT_BLOCK ? n - i0 : PREDICT_BLOCK;
        double acc[PREDICT_BLOCK];
        const double *xb = x + i0 * nf;
        for (size_t r = 0; r < nb; r++)
            acc[r] = g->base_score;
        for (size_t t = 0; t < g->ntrees; t++) {
            const pf_gbdt_node *nd = g->node + g->root[t];
            if (g->depth[t] <= LOCKSTEP_DEPTH) {
                lockstep(g->step + g->root[t], nd, g->depth[t], xb, nf, nb, acc);
                continue;
            }
            for (size_t r = 0; r < nb; r++)
                acc[r] += nd[leaf_of(nd, xb + r * nf)].value;
        }
        for (size_t r = 0; r < nb; r++)
            logit[i0 + r] = acc[r];
    }
}

/* The cover-weighted mean leaf value of the subtree at k. */
static double subtree_mean(const pf_gbdt_node *nd, const double *cover, int32_t k)
{
    if (nd[k].left < 0)
        return nd[k].value;
    int32_t l = nd[k].left, r = l + 1;
    return (cover[l] * subtree_mean(nd, cover, l) + cover[r] * subtree_mean(nd, cover, r)) /
           cover[k];
}

double pf_gbdt_expected_value(const pf_gbdt *g)
{
    double e = g->base_score;
    for (size_t t = 0; t < g->ntrees; t++)
        e += subtree_mean(g->node + g->root[t], g->cover + g->root[t], 0);
    return e;
}

/* ---- TreeSHAP ---------------------------------------------------------- */

/* One element of the path of unique features from the root to a node:
 * the fractions of the zero (feature unknown) and one (feature known)
 * paths that flow through, and the permutation weight. */
typedef struct path_elem {
    double zero, one, pweight;
    int64_t feature;
} path_elem;

/* 1/k for the path arithmetic: multiplications instead of the divisions
 * that would otherwise dominate the cost. */
static double recip(size_t k)
{
    static const double small[] = {0,       1,       1. / 2,  1. / 3,  1. / 4,  1. / 5,
                                   1. / 6,  1. / 7,  1. / 8,  1. / 9,  1. / 10, 1. / 11,
                                   1. / 12, 1. / 13, 1. / 14, 1. / 15, 1. / 16};
    return k < sizeof small / sizeof small[0] ? small[k] : 1.0 / (double) k;
}

static void extend_path(path_elem *p, size_t depth, double zero, double one, int64_t feature)
{
    p[depth].feature = feature;
    p[depth].zero = zero;
    p[depth].one = one;
    p[depth].pweight = depth == 0 ? 1.0 : 0.0;
    double r = recip(depth + 1);
    for (size_t i = depth; i-- > 0;) {
        p[i + 1].pweight += one * p[i].pweight * (double) (i + 1) * r;
        p[i].pweight = zero * p[i].pweight * (double) (depth - i) * r;
    }
}

static void unwind_path(path_elem *p, size_t depth, size_t index)
{
    double one = p[index].one, zero = p[index].zero, next = p[depth].pweight;
    double d1 = (double) (depth + 1), r = recip(depth + 1);
    if (one != 0) {
        double ro = 1 / one;
        for (size_t i = depth; i-- > 0;) {
            double tmp = p[i].pweight;
            p[i].pweight = next * d1 * recip(i + 1) * ro;
            next = tmp - p[i].pweight * zero * (double) (depth - i) * r;
        }
    } else {
        double rz = 1 / zero;
        for (size_t i = depth; i-- > 0;)
            p[i].pweight = p[i].pweight * d1 * rz * recip(depth - i);
    }
    for (size_t i = index; i < depth; i++) {
        p[i].feature = p[i + 1].feature;
        p[i].zero = p[i + 1].zero;
        p[i].one = p[i + 1].one;
    }
}

/* The total permutation weight of the path with element index unwound. */
static double unwound_sum(const path_elem *p, size_t depth, size_t index)
{
    double one = p[index].one, zero = p[index].zero, next = p[depth].pweight, total = 0;
    double d1 = (double) (depth + 1), r = recip(depth + 1);
    if (one != 0) {
        double ro = 1 / one;
        for (size_t i = depth; i-- > 0;) {
            double tmp = next * d1 * recip(i + 1) * ro;
            total += tmp;
            next = p[i].pweight - tmp * zero * (double) (depth - i) * r;
        }
    } else {
        double rz = 1 / zero;
        for (size_t i = depth; i-- > 0;)
            total += p[i].pweight * rz * d1 * recip(depth - i);
    }
    return total;
}

typedef struct shap_tree {
    const pf_gbdt_node *nd;
    const double *cover;
    const double *x;
    double *phi;
} shap_tree;

static void shap_recurse(const shap_tree *st, int32_t k, size_t depth, path_elem *parent,
                         double zero, double one, int64_t feature)
{
    path_elem *p = parent + depth + 1;
    memcpy(p, parent, (depth + 1) * sizeof *p);
    extend_path(p, depth, zero, one, feature);
    const pf_gbdt_node *x = &st->nd[k];
    if (x->left < 0) {
        for (size_t i = 1; i <= depth; i++) {
            double w = unwound_sum(p, depth, i);
            st->phi[p[i].feature] += w * (p[i].one - p[i].zero) * x->value;
        }
        return;
    }
    double v = st->x[x->feature];
    int left = (v < x->threshold) | ((v != v) & x->default_left);
    int32_t hot = x->left + !left, cold = x->left + left;
    double w = st->cover[k];
    double hot_zero = st->cover[hot] / w, cold_zero = st->cover[cold] / w;
    double in_zero = 1, in_one = 1;
    size_t idx = 0;
    for (; idx <= depth; idx++)
        if (p[idx].feature == x->feature)
            break;
    if (idx != depth + 1) {
        /* The feature is already on the path: undo that split to redo it here. */
        in_zero = p[idx].zero;
        in_one = p[idx].one;
        unwind_path(p, depth, idx);
        depth--;
    }
    shap_recurse(st, hot, depth + 1, p, hot_zero * in_zero, in_one, x->feature);
    shap_recurse(st, cold, depth + 1, p, cold_zero * in_zero, 0, x->feature);
}

size_t pf_gbdt_shap_workspace(const pf_gbdt *g)
{
    size_t d = g->max_depth + 2, maxn = 0;
    for (size_t t = 0; t < g->ntrees; t++)
        if (g->root[t + 1] - g->root[t] > maxn)
            maxn = g->root[t + 1] - g->root[t];
    size_t walk = (d * (d + 1) / 2 + d) * (sizeof(path_elem) / sizeof(double));
    size_t table = (maxn * sizeof(uint16_t) + sizeof(double) - 1) / sizeof(double);
    return walk > table ? walk : table;
}

double pf_gbdt_contributions(const pf_gbdt *g, const double *x, double *phi, double *ws)
{
    memset(phi, 0, g->nfeat * sizeof *phi);
    double logit = g->base_score;
    if (g->shap && pf_gbdt_shap_ntrees(g->shap) == g->ntrees) {
        for (size_t t = 0; t < g->ntrees; t++) {
            const pf_gbdt_node *nd = g->node + g->root[t];
            logit += nd[leaf_of(nd, x)].value;
        }
        pf_gbdt_shap_add(g->shap, g, x, phi, (uint16_t *) ws);
        return logit;
    }
    for (size_t t = 0; t < g->ntrees; t++) {
        const pf_gbdt_node *nd = g->node + g->root[t];
        logit += nd[leaf_of(nd, x)].value;
        if (nd[0].left < 0)
            continue; /* a single leaf adds the same to every row */
        shap_tree st = {nd, g->cover + g->root[t], x, phi};
        shap_recurse(&st, 0, 0, (path_elem *) ws, 1, 1, -1);
    }
    return logit;
}

/* ---- the model file's tree section ------------------------------------- */

int pf_gbdt_to_json(const pf_gbdt *g, const pf_schema *s, json_t *root)
{
    json_t *feats = json_array(), *trees = json_array();
    for (size_t j = 0; j < g->nfeat; j++)
        json_array_append_new(feats, json_pack("{s:s,s:i}", "name", s->cols[g->feat_col[j]].name,
                                               "monotone", (int) g->monotone[j]));
    for (size_t t = 0; t < g->ntrees; t++) {
        const pf_gbdt_node *nd = g->node + g->root[t];
        const double *cv = g->cover + g->root[t];
        size_t n = g->root[t + 1] - g->root[t];
        json_t *left = json_array(), *right = json_array(), *feat = json_array();
        json_t *thr = json_array(), *dl = json_array(), *val = json_array(), *cov = json_array();
        for (size_t k = 0; k < n; k++) {
            int leaf = nd[k].left < 0;
            json_array_append_new(left, json_integer(leaf ? -1 : nd[k].left));
            json_array_append_new(right, json_integer(leaf ? -1 : nd[k].left + 1));
            json_array_append_new(feat, json_integer(leaf ? -1 : nd[k].feature));
            json_array_append_new(thr, leaf ? json_null() : json_real(nd[k].threshold));
            json_array_append_new(dl, json_integer(leaf ? 0 : nd[k].default_left));
            json_array_append_new(val, json_real(leaf ? nd[k].value : 0.0));
            json_array_append_new(cov, json_real(cv[k]));
        }
        json_t *o = json_object();
        json_object_set_new(o, "nodes", json_integer((json_int_t) n));
        json_object_set_new(o, "left", left);
        json_object_set_new(o, "right", right);
        json_object_set_new(o, "feature", feat);
        json_object_set_new(o, "threshold", thr);
        json_object_set_new(o, "default_left", dl);
        json_object_set_new(o, "value", val);
        json_object_set_new(o, "cover", cov);
        json_array_append_new(trees, o);
    }
    json_object_set_new(root, "features", feats);
    json_object_set_new(root, "base_score", json_real(g->base_score));
    json_object_set_new(root, "expected_value", json_real(pf_gbdt_expected_value(g)));
    json_object_set_new(root, "trees", trees);
    return 0;
}

/* Reads array a of n numbers (null = leaf threshold, read as 0). */
static int read_numbers(const json_t *o, const char *key, size_t n, double *out, int integer)
{
    const json_t *a = json_object_get(o, key);
    if (!json_is_array(a) || json_array_size(a) != n)
        return -1;
    for (size_t k = 0; k < n; k++) {
        const json_t *v = json_array_get(a, k);
        if (json_is_null(v) && !integer)
            out[k] = 0;
        else if (integer ? json_is_integer(v) : json_is_number(v))
            out[k] = json_number_value(v);
        else
            return -1;
    }
    return 0;
}

static int read_tree(pf_gbdt *g, const json_t *o, size_t t, const char *path, pf_error *err)
{
    static const char *const keys[] = {"nodes",        "left",  "right", "feature", "threshold",
                                       "default_left", "value", "cover", NULL};
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *) o, key, v)
    {
        int ok = 0;
        for (const char *const *q = keys; *q; q++)
            ok |= strcmp(*q, key) == 0;
        if (!ok)
            return pf_error_set(err, PF_EFORMAT, "%s: tree %zu: unknown key '%s'", path, t, key);
    }
    json_int_t nn = json_integer_value(json_object_get(o, "nodes"));
    if (!json_is_integer(json_object_get(o, "nodes")) || nn < 1 || nn > 1 << 24)
        return pf_error_set(err, PF_EFORMAT, "%s: tree %zu: 'nodes' must be 1 to 16777216", path,
                            t);
    size_t n = (size_t) nn;
    double *buf = malloc(7 * n * sizeof *buf);
    pf_gbdt_node *nodes = calloc(n, sizeof *nodes);
    int32_t *right = malloc(n * sizeof *right);
    int rc = 0;
    if (!buf || !nodes || !right) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    double *L = buf, *R = buf + n, *F = buf + 2 * n, *T = buf + 3 * n, *D = buf + 4 * n;
    double *V = buf + 5 * n, *C = buf + 6 * n;
    static const char *const names[] = {"left",         "right", "feature", "threshold",
                                        "default_left", "value", "cover"};
    for (int q = 0; q < 7; q++)
        if (read_numbers(o, names[q], n, buf + (size_t) q * n, q != 3 && q != 5 && q != 6)) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: tree %zu: '%s' must be %zu %s", path, t,
                              names[q], n, q == 3 || q == 5 || q == 6 ? "numbers" : "integers");
            goto out;
        }
    for (size_t k = 0; k < n; k++) {
        int leaf = L[k] < 0;
        if (!leaf && (L[k] >= (double) n || R[k] < 0 || R[k] >= (double) n || F[k] < 0 ||
                      F[k] >= (double) g->nfeat)) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: tree %zu, node %zu: child or feature out of range", path, t, k);
            goto out;
        }
        nodes[k].left = leaf ? -1 : (int32_t) L[k];
        right[k] = leaf ? -1 : (int32_t) R[k];
        nodes[k].feature = leaf ? -1 : (int16_t) F[k];
        nodes[k].threshold = T[k];
        nodes[k].default_left = D[k] != 0;
        nodes[k].value = V[k];
    }
    char why[PF_ERROR_MAX];
    if ((rc = pf_gbdt_add_tree(g, n, nodes, right, C, err))) {
        snprintf(why, sizeof why, "%s", err ? err->message : "");
        rc = pf_error_set(err, PF_EFORMAT, "%s: %s", path, why);
    }
out:
    free(buf);
    free(nodes);
    free(right);
    return rc;
}

int pf_gbdt_from_json(pf_gbdt **out, const json_t *root, const pf_schema *s, const char *path,
                      pf_error *err)
{
    *out = NULL;
    const json_t *feats = json_object_get(root, "features");
    const json_t *trees = json_object_get(root, "trees");
    const json_t *base = json_object_get(root, "base_score");
    if (!json_is_array(feats) || json_array_size(feats) == 0 || json_array_size(feats) > 32767)
        return pf_error_set(err, PF_EFORMAT, "%s: 'features' must be a non-empty array", path);
    if (!json_is_array(trees))
        return pf_error_set(err, PF_EFORMAT, "%s: 'trees' must be an array", path);
    if (!json_is_number(base) || !isfinite(json_number_value(base)))
        return pf_error_set(err, PF_EFORMAT, "%s: 'base_score' must be a finite number", path);
    size_t nf = json_array_size(feats);
    int *cols = malloc(nf * sizeof *cols);
    int8_t *mono = malloc(nf);
    pf_gbdt *g = NULL;
    int rc = 0;
    if (!cols || !mono) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < nf; j++) {
        const json_t *o = json_array_get(feats, j);
        const char *name = json_string_value(json_object_get(o, "name"));
        const json_t *m = json_object_get(o, "monotone");
        int c = name ? pf_schema_find(s, name) : -1;
        if (c < 0 || s->cols[c].role != PF_ROLE_FEATURE) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: feature %zu ('%s') is not a feature column of %s", path, j + 1,
                              name ? name : "?", s->name);
            goto out;
        }
        if (s->cols[c].type == PF_TYPE_STRING) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: feature '%s' is a string column", path, name);
            goto out;
        }
        if (j > 0 && c <= cols[j - 1]) {
            rc = pf_error_set(err, PF_EFORMAT,
                              "%s: features must be listed once each, in schema column order "
                              "('%s')",
                              path, name);
            goto out;
        }
        json_int_t mv = m ? json_integer_value(m) : 0;
        if ((m && !json_is_integer(m)) || mv < -1 || mv > 1) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: feature '%s': monotone must be -1, 0 or 1",
                              path, name);
            goto out;
        }
        cols[j] = c;
        mono[j] = (int8_t) mv;
    }
    if ((rc = pf_gbdt_new(&g, nf, cols, json_number_value(base), err)))
        goto out;
    memcpy(g->monotone, mono, nf);
    for (size_t t = 0; t < json_array_size(trees); t++)
        if ((rc = read_tree(g, json_array_get(trees, t), t, path, err)))
            goto out;
    pf_gbdt_compile(g);
out:
    free(cols);
    free(mono);
    if (rc) {
        pf_gbdt_free(g);
        return rc;
    }
    *out = g;
    return 0;
}
