/*
 * decide.h - the one scoring function: from validated rows, a model and a
 * policy, the decision support a caseworker sees.
 *
 * Every front-end (batch scoring, what-if, the HTTP service, evaluation,
 * threshold planning) calls pf_decide() on a chunk of frame rows; none of
 * them re-implements a rule. For each row it gives p and the logit; the
 * group, level or track; the target-group flags; the delivery area, the
 * compensation model and the maximum compensation for the person's level
 * or track; eligibility with the first rule that failed; and the reasons.
 *
 * Reasons. The logit is split exactly into one contribution per source
 * feature (schema column the model uses): for each term j,
 * coef_j * (x_j - ref_j), where ref_j is the term's reference value stored
 * in the model (the weighted mean of the term over the training rows, so
 * the reference is the training population's average profile; for a
 * model without reference values, the all-zero design row, where only the
 * intercept is 1). A term over several features (an
 * interaction) is shared equally among them. The contributions sum to
 * logit - reference logit. The top reasons are the features with the
 * largest absolute nonzero contributions, ties broken by schema column
 * order, so the order is deterministic.
 *
 * For a gbdt model (gbdt.h) the contributions are exact TreeSHAP values
 * and the reference logit is the expected logit of the training population
 * under the trees' node covers; they too sum to logit - reference logit,
 * and the same ranking applies. They are computed only when reasons are
 * kept (options reasons > 0).
 *
 * A decider binds one model to one policy (checked to share a schema) and
 * is immutable: threads may call pf_decide() on it concurrently.
 */
#ifndef PROFIL_DECIDE_H
#define PROFIL_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "profil/frame.h"
#include "profil/model.h"
#include "profil/policy.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* At most this many reasons are kept per decision. */
#define PF_DECISION_MAX_REASONS 8

typedef struct pf_reason {
    int32_t col;         /* schema column of the feature */
    double contribution; /* to the logit, relative to the reference */
} pf_reason;

typedef struct pf_decision {
    double p; /* probability of work or studies */
    double logit;
    double max_compensation;   /* for the person's level or track; NaN when none */
    int8_t group;              /* 1 står nära, 2 aktuell, 3 står långt ifrån */
    char level;                /* 'A', 'B', 'C', or 0 */
    int8_t track;              /* 1-4, or 0 */
    int8_t compensation_model; /* 1 or 2; 0 when none */
    int16_t area;              /* delivery area index in the policy, or -1 */
    int16_t failed_rule;       /* first eligibility rule that failed, or -1 (eligible) */
    uint32_t target_groups;    /* bit k: the policy's target group k applies */
    uint8_t nreasons;
    pf_reason reason[PF_DECISION_MAX_REASONS];
} pf_decision;

typedef struct pf_decider_options {
    int reasons; /* top reasons kept, 0..PF_DECISION_MAX_REASONS (without options: 3) */
} pf_decider_options;

typedef struct pf_decider pf_decider;

/* Binds a model and a policy (both borrowed; they must outlive the decider).
 * Fails with PF_EINVAL when they were built on different schemas. opt may
 * be NULL. */
int pf_decider_new(pf_decider **out, const pf_model *m, const pf_policy *p,
                   const pf_decider_options *opt, pf_error *err);

/* Accepts NULL. */
void pf_decider_free(pf_decider *d);

const pf_model *pf_decider_model(const pf_decider *d);
const pf_policy *pf_decider_policy(const pf_decider *d);

/* Decides rows [first, first + n) of f into out[0..n-1]. Returns 0, or
 * PF_ENOMEM. The result for a row depends on that row alone. */
int pf_decide(const pf_decider *d, const pf_frame *f, size_t first, size_t n, pf_decision *out,
              pf_error *err);

/* Decides every row of f into *buf, growing *buf (of *cap decisions) as
 * needed: for front-ends that take frames of any size. Returns 0, or
 * PF_ENOMEM (then *buf is unchanged). */
int pf_decide_frame(const pf_decider *d, const pf_frame *f, pf_decision **buf, size_t *cap,
                    pf_error *err);

/* The source features, in schema column order: *n entries. */
const int *pf_decider_features(const pf_decider *d, size_t *n);

/* The logit of the reference profile. */
double pf_decider_reference_logit(const pf_decider *d);

/* Every feature's contribution for row i of f, in pf_decider_features()
 * order (contrib has that many entries); returns the logit. */
double pf_decider_contributions(const pf_decider *d, const pf_frame *f, size_t i, double *contrib);

/* Whether the decision is eligible (no rule failed). */
static inline int pf_decision_eligible(const pf_decision *x)
{
    return x->failed_rule < 0;
}

#ifdef __cplusplus
}
#endif
#endif
