/*
 * dist.h - training distributions of the features a model uses: category
 * shares and numeric quantiles, stored in the model file so that scoring
 * runs can detect input drift (population stability index per feature).
 */
#ifndef PROFIL_TRAIN_DIST_H
#define PROFIL_TRAIN_DIST_H

#include <jansson.h>
#include <stdint.h>

#include "profil/encode.h"
#include "profil/frame.h"

typedef struct pf_dist pf_dist;

/* Tracks every schema column the encoder's terms use. */
int pf_dist_new(pf_dist **out, const pf_encoder *e, pf_error *err);
/* Tracks the n schema columns cols (ascending, not string columns). */
int pf_dist_new_cols(pf_dist **out, const pf_schema *s, const int *cols, size_t n, pf_error *err);
void pf_dist_free(pf_dist *d);

/* Adds row i of f. */
void pf_dist_add(pf_dist *d, const pf_frame *f, size_t i);

/* {"feature": {"type": "category", "n": N, "shares": {...}} or
 *  {"type": "numeric", "n": N, "missing_share": m, "mean": x,
 *   "quantiles": {"probs": [...], "values": [...]}}} */
json_t *pf_dist_json(const pf_dist *d);

#endif
