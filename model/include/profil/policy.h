/*
 * policy.h - dated policy rules (format "profil-policy/1", JSON).
 *
 * A policy file says what a probability p of work or studies means for a
 * person on the days it is in force: the group (1 står nära, 2 aktuell för
 * tjänsten, 3 står långt ifrån) and, within the service, the level
 * (Rusta och matcha nivå A/B/C) or track (Stöd och matchning spår 1-4);
 * the target-group (målgrupp) flags; the delivery areas and their
 * compensation model; the compensation table; and the eligibility rules,
 * in the order they are checked. Files live in data/policies/ and are
 * documented in docs/policies.md.
 *
 * A policy is loaded strictly against the schema whose columns its
 * conditions name: an unknown key, an unknown column or code, thresholds out
 * of order, a compensation row whose arithmetic does not hold, a missing
 * table row: a PF_EFORMAT error naming the key (PF_EINVAL for a policy
 * written for another schema). A loaded policy is
 * immutable and may be shared between threads. Its id is the SHA-256 of
 * the file's bytes: every table it uses is inside the file.
 */
#ifndef PROFIL_POLICY_H
#define PROFIL_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "profil/day.h"
#include "profil/frame.h"
#include "profil/hash.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PF_POLICY_FORMAT "profil-policy/1"

/* At most this many target groups, eligibility rules, conditions per rule. */
#define PF_POLICY_MAX_TARGET_GROUPS 32
#define PF_POLICY_MAX_RULES         16
#define PF_POLICY_MAX_CONDITIONS    8

/* One test on one column of a row. A missing value never satisfies it. */
typedef struct pf_condition {
    int col;         /* schema column */
    int is_range;    /* numeric: min <= x <= max */
    double min, max; /* range bounds (inclusive; -inf/inf when open) */
    uint64_t *in;    /* category/boolean: bit set of accepted level indices */
} pf_condition;

/* A conjunction of conditions ("all"). */
typedef struct pf_clause {
    size_t n;
    pf_condition cond[PF_POLICY_MAX_CONDITIONS];
} pf_clause;

typedef struct pf_target_group {
    char *code;  /* e.g. "alder_55_64" */
    char *label; /* Swedish */
    pf_clause when;
} pf_target_group;

typedef enum pf_policy_rule_kind {
    PF_POLICY_RULE_AREA,     /* the person lives in a delivery area */
    PF_POLICY_RULE_GROUP,    /* the statistical assessment puts the person in one of the groups */
    PF_POLICY_RULE_CONDITION /* all conditions hold */
} pf_policy_rule_kind;

typedef struct pf_policy_rule {
    pf_policy_rule_kind kind;
    char *code;     /* machine name of the failure, e.g. "inskrivningstid" */
    char *reason;   /* Swedish text shown when the rule fails */
    uint8_t groups; /* PF_POLICY_RULE_GROUP: bit g-1 set for accepted group g */
    pf_clause when; /* PF_POLICY_RULE_CONDITION */
} pf_policy_rule;

typedef struct pf_area {
    char *name;             /* e.g. "Umeå" */
    int compensation_model; /* 1 or 2; 0 when the policy has one model */
} pf_area;

/* One row of the compensation table, in whole kronor. */
typedef struct pf_compensation {
    char level; /* 'A'..'C', or 0 for a track row */
    int track;  /* 1..4, or 0 for a level row */
    int model;  /* compensation model, 0 = any */
    double per_day;
    double per_unit;      /* per month (KROM) or per 90-day period (STOM) */
    double max_result;    /* maximum result compensation */
    double speed_premium; /* NaN when the service has none */
    double max_per_participant;
} pf_compensation;

typedef struct pf_policy {
    char *path;
    char sha256[PF_SHA256_HEX]; /* of the file's bytes: the policy id */
    char *name;                 /* e.g. "krom-2021-08" */
    char *version;
    char *title;
    char *service; /* "rusta_och_matcha" or "stod_och_matchning" */
    pf_day valid_from;
    pf_day valid_to;         /* inclusive; PF_DAY_NONE when open */
    const pf_schema *schema; /* borrowed */

    /* Groups on p: p >= close_min -> 1; p < far_below -> 3; else 2. */
    double close_min, far_below;
    char *group_label[3]; /* Swedish, groups 1-3 */

    /* Levels (Rusta och matcha), for persons in the level groups:
     * p >= level_a_min -> A; p >= level_b_min -> B; else C. has_levels = 0
     * when the service has no levels. */
    int has_levels;
    uint8_t level_groups;
    double level_a_min, level_b_min;

    /* Tracks (Stöd och matchning), for persons in the track groups:
     * enhanced when p < enhanced_below, language support when the clause
     * holds; spår = 1 + language + 2 * enhanced. */
    int has_tracks;
    uint8_t track_groups;
    double enhanced_below;
    pf_clause language_support;
    char *track_label[4]; /* Swedish, spår 1-4 */

    size_t ntarget_groups;
    pf_target_group *target_groups;

    /* Delivery areas: area_of_level[k] is the area index of level k of
     * area_col, or -1. With no areas (area_col = -1) the service covers
     * the whole country. */
    int area_col;
    size_t nareas;
    pf_area *areas;
    int16_t *area_of_level; /* schema->cols[area_col].nlevels entries */

    /* Compensation arithmetic, checked for every row at load. */
    char *compensation_unit;    /* "month" or "period" */
    double days_per_unit;       /* 22 (month) or 65 (90-day period) */
    double units_in_maximum;    /* 7 or 1 */
    double speed_premium_units; /* 6, or NaN when none */
    size_t ncompensation;
    pf_compensation *compensation;

    size_t nrules;
    pf_policy_rule *rules;
} pf_policy;

/* Loads and strictly validates a policy file for schema s. */
int pf_policy_load(pf_policy **out, const char *path, const pf_schema *s, pf_error *err);

/* The same for a policy document in memory (n bytes), named name in
 * messages and in p->path; its id is the SHA-256 of those bytes, as it will
 * be once they are written to a file. */
int pf_policy_load_text(pf_policy **out, const char *text, size_t n, const char *name,
                        const pf_schema *s, pf_error *err);

/* Accepts NULL. */
void pf_policy_free(pf_policy *p);

/* Whether the policy is in force on day d. */
int pf_policy_in_force(const pf_policy *p, pf_day d);

/* Group (1-3) of a probability. */
int pf_policy_group(const pf_policy *p, double prob);

/* Whether row i of f meets a clause. */
int pf_clause_holds(const pf_clause *c, const pf_frame *f, size_t i);

/* The compensation row for a level ('A'..'C') or a track (1..4) under a
 * compensation model (0 when the policy has one), or NULL. */
const pf_compensation *pf_policy_compensation(const pf_policy *p, char level, int track, int model);

/*
 * A set of policies (a directory of policy files) and the choice of the
 * one in force on a date. Within one service no two policies may be in
 * force on the same day; across services they may (Stöd och matchning
 * ran beside the Rusta och matcha pilot).
 */
typedef struct pf_policy_set {
    size_t n;
    pf_policy **policy; /* sorted by service, then valid_from */
} pf_policy_set;

/* Loads every *.json file in dir (sorted by name). Overlapping date ranges
 * within a service are an error naming both files. */
int pf_policy_set_load(pf_policy_set **out, const char *dir, const pf_schema *s, pf_error *err);

/* Accepts NULL. */
void pf_policy_set_free(pf_policy_set *set);

/* The policy of service (NULL = any) in force on day d, borrowed from the
 * set. PF_ENOTFOUND when none is in force; PF_EINVAL when service is NULL
 * and policies of several services are in force (the message lists them). */
int pf_policy_set_select(const pf_policy_set *set, const char *service, pf_day d,
                         const pf_policy **out, pf_error *err);

/* Removes p (a policy of the set, as pf_policy_set_select gave it) from the
 * set and hands it to the caller, who frees it with pf_policy_free. */
pf_policy *pf_policy_set_take(pf_policy_set *set, const pf_policy *p);

#ifdef __cplusplus
}
#endif
#endif
