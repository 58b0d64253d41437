/*
 * gbdt_shap.h - per-leaf tables for path-dependent TreeSHAP in O(leaves x
 * depth) per row (private to gbdt.c; see gbdt_shap.c).
 */
#ifndef PROFIL_GBDT_SHAP_H
#define PROFIL_GBDT_SHAP_H

#include <stddef.h>
#include <stdint.h>

#include "profil/gbdt.h"

typedef struct pf_gbdt_shap pf_gbdt_shap;

/* The tables of g's trees, or NULL when they would be too large (a leaf
 * with more than 10 distinct features on its path, more than 2^23 table
 * entries in all), a cover ratio is too small to divide by, or memory
 * runs out: contributions are then computed by walking the paths. */
pf_gbdt_shap *pf_gbdt_shap_build(const pf_gbdt *g);

/* Accepts NULL. */
void pf_gbdt_shap_free(pf_gbdt_shap *sh);

/* The trees the tables were built from. */
size_t pf_gbdt_shap_ntrees(const pf_gbdt_shap *sh);

/* Adds the TreeSHAP contributions of row x (nfeat values) to phi, tree by
 * tree in tree order; failed is a workspace of 16 bits per node of the
 * largest tree. */
void pf_gbdt_shap_add(const pf_gbdt_shap *sh, const pf_gbdt *g, const double *x, double *phi,
                      uint16_t *failed);

#endif
