/*
 * gbdt.h - gradient-boosted trees: the second model kind ("gbdt"), its
 * vectorised scoring kernel and its exact per-feature contributions.
 *
 * A gbdt model is a sum of regression trees on the logit scale:
 *
 *   logit(x) = base_score + sum over trees t of value(leaf of x in t)
 *
 * over a fixed list of features (schema columns, in column order). A
 * feature's value is the number for integer and number columns and the
 * level index for category and boolean columns (so a category split is a
 * split on its level order); a missing value is NaN. An internal node
 * sends x left when x < threshold, and a missing x to its default side.
 *
 * The trees are flattened into one node array: the two children of a node
 * are adjacent (right = left + 1) and every child comes after its parent,
 * so a row walks a tree with one compare and one add per level, and
 * pf_gbdt_predict() runs blocks of rows through one tree at a time while
 * that tree stays in cache.
 *
 * Contributions are exact SHAP values by path-dependent TreeSHAP (Lundberg
 * et al. 2020, algorithm 2): the value of a coalition S of features is the
 * expected logit when the features in S take the row's values and the
 * others follow the training population, as each tree's node covers (the
 * case weight of the training rows through a node) describe it. They sum
 * to logit(x) - pf_gbdt_expected_value(), the cover-weighted mean logit
 * of the training population: that is the reference a gbdt's reasons are
 * measured from, as the mean profile is for the logistic model.
 *
 * A loaded model is immutable; threads may share it.
 */
#ifndef PROFIL_GBDT_H
#define PROFIL_GBDT_H

#include <stddef.h>
#include <stdint.h>

#include "profil/frame.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_t;

/* The deepest leaf a tree may have (edges from the root). */
#define PF_GBDT_MAX_DEPTH 256

/* One node. A leaf has left < 0 and its value in value. */
typedef struct pf_gbdt_node {
    double threshold;     /* internal: x < threshold goes left */
    double value;         /* leaf: added to the logit */
    int32_t left;         /* internal: index of the left child (right = left + 1); leaf: -1 */
    int16_t feature;      /* internal: index into the model's features */
    uint8_t default_left; /* internal: a missing value goes left */
    uint8_t pad;
} pf_gbdt_node;

/* The scoring layout of a node (private to gbdt.c): a leaf points to
 * itself, so a row can take a fixed number of steps through a shallow tree
 * without testing for leaves. */
typedef struct pf_gbdt_step {
    double threshold;
    int32_t next;    /* the left child; a leaf: itself */
    int16_t feature; /* a leaf: 0 */
    uint8_t default_left;
    uint8_t inner; /* 0 for a leaf */
} pf_gbdt_step;

typedef struct pf_gbdt {
    size_t nfeat;
    int *feat_col;     /* schema column of each feature, ascending */
    int8_t *monotone;  /* per feature: +1 increasing, -1 decreasing, 0 free (as trained) */
    double base_score; /* logit before the first tree */
    size_t ntrees;
    size_t *root; /* ntrees + 1 offsets into node: tree t is [root[t], root[t + 1]) */
    size_t nnodes;
    pf_gbdt_node *node;
    double *cover;             /* per node: case weight of the training rows through it */
    size_t max_depth;          /* deepest leaf (edges from the root) */
    size_t cap;                /* nodes allocated */
    pf_gbdt_step *step;        /* per node: the scoring layout */
    uint16_t *depth;           /* per tree: its deepest leaf */
    struct pf_gbdt_fast *fast; /* the byte-compare layout (gbdt.c), or NULL */
    struct pf_gbdt_shap *shap; /* per-leaf TreeSHAP tables (gbdt.c), or NULL */
} pf_gbdt;

/* An empty ensemble (no trees, logit = base_score) over nfeat features,
 * the schema columns cols (ascending). */
int pf_gbdt_new(pf_gbdt **out, size_t nfeat, const int *cols, double base_score, pf_error *err);

/* Accepts NULL. */
void pf_gbdt_free(pf_gbdt *g);

/* Appends a tree given as n nodes in any order with node 0 its root and
 * children anywhere after their parent (right child index in right[k];
 * ignored for leaves). It is stored flattened (children adjacent, breadth
 * first). Fails with PF_EINVAL when the nodes do not form one tree or it
 * is deeper than PF_GBDT_MAX_DEPTH. */
int pf_gbdt_add_tree(pf_gbdt *g, size_t n, const pf_gbdt_node *nodes, const int32_t *right,
                     const double *cover, pf_error *err);

/* Builds the byte-compare scoring layout of the trees added so far, which
 * pf_gbdt_predict() then walks (the same logits, bit for bit, several
 * times faster), and the per-leaf TreeSHAP tables pf_gbdt_contributions()
 * then uses (the same values to rounding, in O(leaves x depth) per tree
 * instead of O(leaves x depth^2)). Call it once the ensemble is complete:
 * adding or dropping trees discards both. An ensemble the layout cannot
 * hold (more than 254 distinct thresholds on one feature, trees over 10
 * levels deep) is scored by walking the nodes; one the tables cannot hold
 * (a leaf with over 10 distinct features on its path, over 2^23 entries)
 * is explained by walking the paths; so is one never compiled. */
void pf_gbdt_compile(pf_gbdt *g);

/* Drops all trees after the first ntrees. */
void pf_gbdt_truncate(pf_gbdt *g, size_t ntrees);

/* The feature values of rows [first, first + n) of f, row-major into x
 * (n * nfeat doubles; NaN for a missing value). */
void pf_gbdt_gather(const pf_gbdt *g, const pf_frame *f, size_t first, size_t n, double *x);

/* Logits of n rows given row-major in x (as pf_gbdt_gather writes them).
 * Each row's trees are summed in tree order, so the result does not
 * depend on n or on how rows are split between calls. */
void pf_gbdt_predict(const pf_gbdt *g, const double *x, size_t n, double *logit);

/* The expected logit under the node covers (the contributions' reference). */
double pf_gbdt_expected_value(const pf_gbdt *g);

/* Doubles of workspace pf_gbdt_contributions() needs. */
size_t pf_gbdt_shap_workspace(const pf_gbdt *g);

/* Exact TreeSHAP contributions of one row x (nfeat values) into phi
 * (nfeat entries), using ws (pf_gbdt_shap_workspace() doubles); returns
 * the row's logit. sum(phi) = logit - pf_gbdt_expected_value(). */
double pf_gbdt_contributions(const pf_gbdt *g, const double *x, double *phi, double *ws);

/* Adds "features", "base_score", "expected_value" and "trees" to a model
 * file's root object. */
int pf_gbdt_to_json(const pf_gbdt *g, const pf_schema *s, struct json_t *root);

/* Reads those keys back (path for messages). Every feature must be a
 * feature column of s; every tree must be a well-formed tree. */
int pf_gbdt_from_json(pf_gbdt **out, const struct json_t *root, const pf_schema *s,
                      const char *path, pf_error *err);

#ifdef __cplusplus
}
#endif
#endif
