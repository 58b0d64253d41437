/*
 * gbdt_fast.h - the byte-compare scoring layout of a gbdt ensemble
 * (private to gbdt.c; see gbdt_fast.c for why it gives the same leaves).
 */
#ifndef PROFIL_GBDT_FAST_H
#define PROFIL_GBDT_FAST_H

#include <stddef.h>

#include "profil/gbdt.h"

typedef struct pf_gbdt_fast pf_gbdt_fast;

/* The layout of g's trees, or NULL when g does not fit it (more than 254
 * distinct thresholds on a feature, a tree deeper than the layout allows)
 * or memory runs out: the caller then walks the nodes themselves. */
pf_gbdt_fast *pf_gbdt_fast_build(const pf_gbdt *g);

/* Accepts NULL. */
void pf_gbdt_fast_free(pf_gbdt_fast *fs);

/* The trees the layout was built from. */
size_t pf_gbdt_fast_ntrees(const pf_gbdt_fast *fs);

/* pf_gbdt_predict() by the layout: the same leaves, summed in the same
 * order, so the same bits. */
void pf_gbdt_fast_predict(const pf_gbdt_fast *fs, double base_score, const double *x, size_t n,
                          double *logit);

#endif
