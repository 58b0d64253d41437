/*
 * gbdt_shap.c - path-dependent TreeSHAP from per-leaf tables (the idea of
 * Fast TreeSHAP v2, Yang 2021): the same values as the path walk of
 * gbdt.c (Lundberg et al. 2020, algorithm 2), in O(leaves x depth) per row
 * instead of O(leaves x depth^2), after a one-off O(leaves x 3^d) table.
 *
 * A leaf with value v whose path splits on the distinct features P
 * (|P| = d) adds to feature i of P
 *
 *   v (o_i - z_i) sum over S in P\{i} of w(|S|) prod_{j in S} o_j prod_{j in P\S\{i}} z_j
 *
 * with w(s) = s! (d - s - 1)! / d!, z_j the product of the cover ratios
 * (child / parent) of the path's splits on j, and o_j = 1 when the row
 * follows every split on j along the path, else 0. Only S inside
 * Q = {j : o_j = 1} count, so with the table
 *
 *   H(Q) = sum over S in Q of w(|S|) prod_{j in P\S} z_j     (all Q in P)
 *
 * the leaf adds v (1 - z_i) / z_i * H(Q \ {i}) to i in Q and -v H(Q) to i
 * outside Q. For a row, one pass over a tree's nodes (children after
 * parents) carries down each node the features whose splits the row has
 * left on the way there (a feature's index on a path is the order of its
 * first split from the root, so it is the same for every leaf below a
 * node); at a leaf that gives Q, and d additions follow.
 */
#include "gbdt_shap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Most distinct features on one leaf's path (a table of 2^d entries). */
#define SHAP_MAX_D 10
/* Most table entries in all (8 bytes each). */
#define SHAP_MAX_TABLE ((size_t) 1 << 23)

typedef struct leafrec {
    uint32_t feat, table; /* offsets into the feature and table arrays */
    uint8_t d;
} leafrec;

struct pf_gbdt_shap {
    size_t ntrees;
    size_t *tree_leaf; /* ntrees + 1 offsets into leaf */
    leafrec *leaf;
    size_t nleaf, capleaf;
    int32_t *aux;  /* per node of g: internal, the local index of its feature on the
                      paths through it (first appearance from the root); leaf, its
                      record in leaf (-1 for a tree that is one leaf) */
    int16_t *feat; /* per leaf and local feature: the model's feature */
    double *coef;  /* ... v (1 - z_i) / z_i */
    size_t nfeat, capfeat, capcoef;
    double *table; /* per leaf: H over the 2^d subsets */
    size_t ntable, captable;
};

void pf_gbdt_shap_free(pf_gbdt_shap *sh)
{
    if (!sh)
        return;
    free(sh->tree_leaf);
    free(sh->leaf);
    free(sh->aux);
    free(sh->feat);
    free(sh->coef);
    free(sh->table);
    free(sh);
}

size_t pf_gbdt_shap_ntrees(const pf_gbdt_shap *sh)
{
    return sh->ntrees;
}

/* Grows *p (elements of size sz, capacity *cap) to hold need. */
static int reserve(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

typedef struct builder {
    pf_gbdt_shap *sh;
    const pf_gbdt_node *nd;
    const double *cover;
    int32_t *aux; /* the tree's part of sh->aux */
    int32_t path_node[PF_GBDT_MAX_DEPTH + 1];
    uint8_t path_right[PF_GBDT_MAX_DEPTH + 1];
} builder;

/* The leaf at the end of the path of n steps. */
static int add_leaf(builder *b, int32_t k, size_t n)
{
    pf_gbdt_shap *sh = b->sh;
    int16_t uniq[SHAP_MAX_D];
    double z[SHAP_MAX_D];
    uint8_t local[PF_GBDT_MAX_DEPTH + 1];
    size_t d = 0;
    for (size_t s = 0; s < n; s++) {
        const pf_gbdt_node *x = &b->nd[b->path_node[s]];
        size_t i = 0;
        while (i < d && uniq[i] != x->feature)
            i++;
        if (i == d) {
            if (d == SHAP_MAX_D)
                return -1;
            uniq[d] = x->feature;
            z[d++] = 1;
        }
        int32_t child = x->left + b->path_right[s];
        z[i] *= b->cover[child] / b->cover[b->path_node[s]];
        local[s] = (uint8_t) i;
    }
    if (d == 0) {
        b->aux[k] = -1; /* a tree that is one leaf adds nothing */
        return 0;
    }
    size_t nt = (size_t) 1 << d;
    if (sh->ntable + nt > SHAP_MAX_TABLE ||
        reserve((void **) &sh->leaf, &sh->capleaf, sh->nleaf + 1, sizeof *sh->leaf) ||
        reserve((void **) &sh->feat, &sh->capfeat, sh->nfeat + d, sizeof *sh->feat) ||
        reserve((void **) &sh->coef, &sh->capcoef, 2 * (sh->nfeat + d), sizeof *sh->coef) ||
        reserve((void **) &sh->table, &sh->captable, sh->ntable + nt, sizeof *sh->table))
        return -1;
    double v = b->nd[k].value;
    for (size_t i = 0; i < d; i++)
        if (!(z[i] >= 1e-200) || !isfinite(z[i]))
            return -1;
    /* w(s) for this d, and prod over j outside S of z_j for every S. */
    double w[SHAP_MAX_D], zc[1 << SHAP_MAX_D];
    for (size_t s = 0; s < d; s++) {
        double f = 1.0 / (double) d; /* s! (d - s - 1)! / d! = 1 / (d * C(d - 1, s)) */
        for (size_t q = 0; q < s; q++)
            f *= (double) (q + 1) / (double) (d - 1 - q);
        w[s] = f;
    }
    for (size_t S = 0; S < nt; S++) {
        double p = 1;
        for (size_t j = 0; j < d; j++)
            if (!(S >> j & 1))
                p *= z[j];
        zc[S] = p;
    }
    double *H = sh->table + sh->ntable;
    for (size_t Q = 0; Q < nt; Q++) {
        double h = 0;
        for (size_t S = Q;; S = (S - 1) & Q) {
            h += w[__builtin_popcountll(S)] * zc[S];
            if (S == 0)
                break;
        }
        H[Q] = h;
    }
    /* The internal nodes' local indices are those of the path (the same
     * for every leaf below them). */
    for (size_t s = 0; s < n; s++)
        b->aux[b->path_node[s]] = local[s];
    b->aux[k] = (int32_t) sh->nleaf;
    leafrec *L = &sh->leaf[sh->nleaf++];
    L->feat = (uint32_t) sh->nfeat;
    L->table = (uint32_t) sh->ntable;
    L->d = (uint8_t) d;
    for (size_t i = 0; i < d; i++) {
        sh->feat[sh->nfeat + i] = uniq[i];
        sh->coef[2 * (sh->nfeat + i)] = -v;
        sh->coef[2 * (sh->nfeat + i) + 1] = v * (1 - z[i]) / z[i];
    }
    sh->nfeat += d;
    sh->ntable += nt;
    return 0;
}

static int walk(builder *b, int32_t k, size_t depth)
{
    const pf_gbdt_node *x = &b->nd[k];
    if (x->left < 0)
        return add_leaf(b, k, depth);
    b->path_node[depth] = k;
    b->path_right[depth] = 0;
    if (walk(b, x->left, depth + 1))
        return -1;
    b->path_node[depth] = k;
    b->path_right[depth] = 1;
    return walk(b, x->left + 1, depth + 1);
}

pf_gbdt_shap *pf_gbdt_shap_build(const pf_gbdt *g)
{
    if (g->max_depth > PF_GBDT_MAX_DEPTH)
        return NULL;
    pf_gbdt_shap *sh = calloc(1, sizeof *sh);
    builder *b = malloc(sizeof *b);
    if (!sh || !b || !(sh->tree_leaf = malloc((g->ntrees + 1) * sizeof *sh->tree_leaf)) ||
        !(sh->aux = malloc((g->nnodes ? g->nnodes : 1) * sizeof *sh->aux)))
        goto fail;
    sh->ntrees = g->ntrees;
    b->sh = sh;
    for (size_t t = 0; t < g->ntrees; t++) {
        sh->tree_leaf[t] = sh->nleaf;
        b->nd = g->node + g->root[t];
        b->cover = g->cover + g->root[t];
        b->aux = sh->aux + g->root[t];
        if (walk(b, 0, 0))
            goto fail;
    }
    sh->tree_leaf[g->ntrees] = sh->nleaf;
    free(b);
    return sh;
fail:
    free(b);
    pf_gbdt_shap_free(sh);
    return NULL;
}

void pf_gbdt_shap_add(const pf_gbdt_shap *sh, const pf_gbdt *g, const double *x, double *phi,
                      uint16_t *failed)
{
    for (size_t t = 0; t < sh->ntrees; t++) {
        if (sh->tree_leaf[t] == sh->tree_leaf[t + 1])
            continue;
        const pf_gbdt_node *nd = g->node + g->root[t];
        const int32_t *aux = sh->aux + g->root[t];
        size_t n = g->root[t + 1] - g->root[t];
        /* failed[k]: the local features whose splits the row leaves on the
         * way to node k (children come after their parent). */
        failed[0] = 0;
        for (size_t k = 0; k < n; k++) {
            const pf_gbdt_node *p = &nd[k];
            if (p->left >= 0) {
                double v = x[p->feature];
                unsigned left = (v < p->threshold) | ((v != v) & p->default_left);
                unsigned bit = 1u << aux[k];
                failed[p->left] = (uint16_t) (failed[k] | (bit & (left - 1)));
                failed[p->left + 1] = (uint16_t) (failed[k] | (bit & -left));
                continue;
            }
            const leafrec *L = &sh->leaf[aux[k]];
            unsigned Q = ((1u << L->d) - 1) & ~(unsigned) failed[k];
            const double *H = sh->table + L->table;
            const int16_t *f = sh->feat + L->feat;
            const double *a = sh->coef + 2 * (size_t) L->feat;
            /* Without a branch: H(Q \ {i}) is H(Q) for i outside Q. */
            for (unsigned i = 0; i < L->d; i++)
                phi[f[i]] += a[2 * i + (Q >> i & 1)] * H[Q & ~(1u << i)];
        }
    }
}
