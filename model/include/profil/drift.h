/*
 * drift.h - input drift: how far a batch's feature distributions are from
 * the training distributions stored in the model.
 *
 * The lesson of 2020 (wrong birth-country and disability values fed to the
 * tool for months) is that a scoring run must compare what it reads with
 * what the model was trained on. For each feature with a stored training
 * distribution, the batch is counted into the same categories (or numeric
 * bins, plus a missing bin) and compared by the population stability index
 *
 *     PSI = sum over bins of (a - e) * ln(a / e)
 *
 * with a and e the batch and training shares, each floored at 1e-4 so an
 * empty bin does not give infinity. Conventional reading: below 0.1 stable,
 * 0.1-0.25 a shift worth a look, above 0.25 a different population.
 *
 * On a small batch the index is noisy: n * PSI is about chi-square with
 * (bins - 1) degrees of freedom when nothing has changed, so a batch of 50
 * rows shows PSI near 0.2 by chance alone. Each result therefore carries
 * the PSI that sampling alone exceeds with probability 0.001 at this batch
 * size; a shift is reported only when the PSI is above both the
 * threshold and that noise level, and only from PF_DRIFT_MIN_ROWS rows on.
 *
 * Counts are integers, so accumulators filled by several threads and
 * merged give the same result in any order.
 */
#ifndef PROFIL_DRIFT_H
#define PROFIL_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "profil/frame.h"
#include "profil/model.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PF_DRIFT_WARN     0.1
#define PF_DRIFT_FAIL     0.25
#define PF_DRIFT_MIN_ROWS 1000 /* fewer rows are too few to judge drift */

typedef struct pf_drift pf_drift;

/* An empty accumulator for the features whose training distributions the
 * model holds (features without one are skipped). */
int pf_drift_new(pf_drift **out, const pf_model *m, pf_error *err);

/* Another empty accumulator over the same features. */
int pf_drift_clone_empty(const pf_drift *d, pf_drift **out, pf_error *err);

/* Accepts NULL. */
void pf_drift_free(pf_drift *d);

/* Counts rows [first, first + n) of f. */
void pf_drift_add(pf_drift *d, const pf_frame *f, size_t first, size_t n);

/* Adds from's counts to into (same model). */
void pf_drift_merge(pf_drift *into, const pf_drift *from);

/* Number of features compared. */
size_t pf_drift_features(const pf_drift *d);

typedef struct pf_drift_result {
    const char *feature; /* schema column name */
    double psi;          /* NaN when no row was counted */
    double noise;        /* PSI that chance alone exceeds with probability 0.001 here */
    int64_t rows;
    const char *worst_bin; /* the bin contributing most ("utanfor_europa", "<= 23", "missing") */
    double worst_expected, worst_actual; /* its training and batch shares */
} pf_drift_result;

/* The comparison for feature k (0 <= k < pf_drift_features). */
void pf_drift_result_get(const pf_drift *d, size_t k, pf_drift_result *out);

/* Whether a result shows a shift beyond limit (PF_DRIFT_WARN or
 * PF_DRIFT_FAIL) that sampling noise does not explain. */
static inline int pf_drift_beyond(const pf_drift_result *r, double limit)
{
    return r->psi > limit && r->psi > r->noise;
}

#ifdef __cplusplus
}
#endif
#endif
