/*
 * whatif.h - what-if scoring of one profile: the card, sweeps over one
 * feature, comparisons of two profiles and counterfactuals (the smallest
 * change that reaches a target group, level or track).
 *
 * A profile is one row of input: a text value for every input column
 * (every feature the schema reads, not the derived ones), each at the
 * default of the what-if settings until it is set from key=value pairs, a
 * JSON object or one row of a CSV file. A profile is scored by writing it
 * as a CSV row and reading it back through the reader (reader.h), so it is
 * validated, derived and encoded exactly as a row of a batch, and decided
 * by pf_decide (decide.h), the one decision function.
 *
 * The what-if settings (format "profil-whatif/1", data/whatif/, documented
 * in docs/whatif.md) are data: for every input column its default value
 * and whether it is protected (a ground the decision must not be changed
 * through: age, sex, birth country, disability), fixed (a fact of the
 * person's history or residence that cannot be changed now) or changeable,
 * and for a changeable one the values a counterfactual may move it to, in
 * order, and in which direction.
 *
 * Counterfactual distance: a change is better when it changes fewer
 * features; then when it takes fewer ordered steps in total (a step is one
 * position along the feature's value list; any change of an unordered
 * feature is one step); then when it moves p less; then by schema column
 * order and value-list order. The search is exhaustive: every combination
 * of the changeable features' values with one changed feature, then two,
 * ..., up to a limit, so the answer is the smallest under that order and
 * is deterministic. The best answer is verified by scoring the changed
 * profile anew.
 *
 * pf_whatif binds a decider (model + policy) and settings; it is
 * immutable and may be shared between threads. Profiles, cards, sweeps,
 * comparisons and counterfactuals belong to the caller. The *_json
 * functions give the JSON that `profil whatif --json` prints and the HTTP
 * service sends (docs/cli.md#profil-whatif).
 */
#ifndef PROFIL_WHATIF_H
#define PROFIL_WHATIF_H

#include <stddef.h>
#include <stdint.h>

#include "profil/decide.h"
#include "profil/hash.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PF_WHATIF_FORMAT "profil-whatif/1"

/* Most points of one sweep, and profiles one counterfactual search scores
 * unless told otherwise. */
#define PF_WHATIF_MAX_POINTS   2000
#define PF_WHATIF_MAX_PROFILES 1000000

struct json_t;

/* ------------------------------------------------------------------------ */
/* Settings                                                                   */

typedef enum pf_whatif_status {
    PF_WHATIF_PROTECTED, /* a protected ground: never changed by a counterfactual */
    PF_WHATIF_FIXED,     /* history or residence: not changeable now */
    PF_WHATIF_CHANGEABLE /* a counterfactual may change it */
} pf_whatif_status;

typedef enum pf_whatif_direction {
    PF_WHATIF_ANY,  /* to any value of the list */
    PF_WHATIF_UP,   /* only to values later in the list */
    PF_WHATIF_DOWN, /* only to values earlier in the list */
} pf_whatif_direction;

typedef struct pf_whatif_column {
    int col; /* schema column (an input column, never derived) */
    pf_whatif_status status;
    char *default_value; /* text as in input; "" = missing */
    char *note;          /* why the status (Swedish); may be NULL */
    size_t nvalues;      /* changeable: values a counterfactual may try, in order */
    char **values;       /* (0 = none tried) */
    int ordered;         /* steps are positions along values; else one per change */
    pf_whatif_direction direction;
} pf_whatif_column;

typedef struct pf_whatif_settings {
    char *path;
    char sha256[PF_SHA256_HEX]; /* of the file's bytes */
    const pf_schema *schema;    /* borrowed */
    size_t ncols;               /* every input feature column, schema order (a profile
                                   holds these and the id) */
    pf_whatif_column *cols;
} pf_whatif_settings;

/* Loads and strictly checks a settings file for schema s: every input
 * feature column must be listed once; defaults and values must be valid
 * values of their column (checked by the reader); unknown keys, columns,
 * statuses and directions are PF_EFORMAT errors naming the key. */
int pf_whatif_settings_load(pf_whatif_settings **out, const char *path, const pf_schema *s,
                            pf_error *err);

/* The same for a document in memory (n bytes), named name in messages. */
int pf_whatif_settings_load_text(pf_whatif_settings **out, const char *text, size_t n,
                                 const char *name, const pf_schema *s, pf_error *err);

/* Accepts NULL. */
void pf_whatif_settings_free(pf_whatif_settings *ws);

/* The settings of schema column col, or NULL (derived, label, ...). */
const pf_whatif_column *pf_whatif_settings_column(const pf_whatif_settings *ws, int col);

const char *pf_whatif_status_name(pf_whatif_status s); /* "protected", "fixed", "changeable" */

/* ------------------------------------------------------------------------ */
/* The what-if engine                                                         */

typedef struct pf_whatif pf_whatif;

/* Binds a decider and settings built on the same schema (both borrowed;
 * they must outlive w). */
int pf_whatif_new(pf_whatif **out, const pf_decider *d, const pf_whatif_settings *ws,
                  pf_error *err);

/* Accepts NULL. */
void pf_whatif_free(pf_whatif *w);

const pf_decider *pf_whatif_decider(const pf_whatif *w);
const pf_whatif_settings *pf_whatif_settings_of(const pf_whatif *w);

/* The schema column of a profile column named name. Unknown names fail
 * with PF_ENOTFOUND and a message suggesting the nearest name (edit
 * distance); derived columns with PF_EINVAL naming their source. */
int pf_whatif_find(const pf_whatif *w, const char *name, int *col, pf_error *err);

/* The Swedish label of a category or boolean value of column col, or
 * NULL (numbers, strings, unknown codes). */
const char *pf_whatif_value_label(const pf_whatif *w, int col, const char *value);

/* ------------------------------------------------------------------------ */
/* Profiles                                                                   */

typedef enum pf_profile_source {
    PF_PROFILE_DEFAULT, /* the settings' default */
    PF_PROFILE_FILE,    /* a JSON object or a CSV row */
    PF_PROFILE_SET      /* set explicitly (key=value); overrides a file's value */
} pf_profile_source;

typedef struct pf_profile pf_profile;

/* A profile with every column at its default. */
int pf_profile_new(pf_profile **out, const pf_whatif *w, pf_error *err);

int pf_profile_copy(pf_profile **out, const pf_profile *src, pf_error *err);

/* Accepts NULL. */
void pf_profile_free(pf_profile *p);

/* Sets a column by name. Values are checked when the profile is scored
 * (pf_profile_check). Setting one column twice from PF_PROFILE_SET with
 * different values is a conflict (PF_EINVAL); a set value overrides a
 * file's. */
int pf_profile_set(pf_profile *p, const char *name, const char *value, pf_profile_source src,
                   pf_error *err);

/* "name=value", as --set gives it (PF_PROFILE_SET). */
int pf_profile_set_pair(pf_profile *p, const char *pair, pf_error *err);

/* Every key of a JSON object (PF_PROFILE_FILE): strings, numbers,
 * true/false (1/0) and null (missing). A profile takes one file source:
 * a second one (JSON or CSV) is a conflict (PF_EINVAL). */
int pf_profile_set_json(pf_profile *p, const struct json_t *obj, pf_error *err);

/* The row with id `id` of a CSV file (PF_PROFILE_FILE), read with the
 * reader: no such row is PF_ENOTFOUND; the id on several rows, or the row
 * rejected, is PF_EINVAL with the row's problems. */
int pf_profile_set_csv_row(pf_profile *p, const char *path, const char *id, pf_error *err);

/* The text of column col ("" = missing) and where it came from; NULL when
 * col is not a profile column. */
const char *pf_profile_get(const pf_profile *p, int col, pf_profile_source *src);

/* Validates the profile as the reader validates a row: PF_EINVAL with
 * "COLUMN: RULE 'VALUE': what is allowed" for the first problem (and how
 * many more). */
int pf_profile_check(const pf_whatif *w, const pf_profile *p, pf_error *err);

/* ------------------------------------------------------------------------ */
/* Scores and cards                                                           */

/* z of a two-sided 95 % interval. */
#define PF_WHATIF_Z95 1.959963984540054

typedef struct pf_whatif_score {
    pf_decision d;     /* pf_decide's decision */
    double se_logit;   /* sqrt(x' V x), x the design row, V the model's covariance
                          (the delta method; exact for the linear predictor); NaN
                          when the model has no covariance */
    double se_p;       /* p (1 - p) se_logit: the delta method on the p scale */
    double p_lo, p_hi; /* 95 %: logistic(logit -/+ z se_logit), inside (0, 1) */
} pf_whatif_score;

/* Scores n profiles (validated as pf_profile_check does). */
int pf_whatif_score_profiles(const pf_whatif *w, const pf_profile *const *p, size_t n,
                             pf_whatif_score *out, pf_error *err);

typedef struct pf_whatif_card {
    pf_whatif_score s;
    double ref_logit;     /* logit of the reference profile (decide.h) */
    size_t nfeat;         /* every source feature of the model */
    int *col;             /* its schema column, largest |contribution| first
                             (ties: schema column order) */
    double *contribution; /* to the logit against the reference; > 0 raises p */
} pf_whatif_card;

int pf_whatif_card_new(pf_whatif_card **out, const pf_whatif *w, const pf_profile *p,
                       pf_error *err);

/* Accepts NULL. */
void pf_whatif_card_free(pf_whatif_card *c);

/* "höjer" (> 0), "sänker" (< 0) or "påverkar inte" (0): the direction of a
 * contribution on the chance of work or studies. */
const char *pf_whatif_direction_text(double contribution);

/* ------------------------------------------------------------------------ */
/* Sweeps                                                                     */

typedef struct pf_whatif_sweep {
    int col;      /* the column varied */
    size_t n;     /* points */
    char **value; /* text of each point */
    pf_whatif_score *score;
    long current; /* index of the profile's own value, or -1 */
} pf_whatif_sweep;

/* Varies one column of p: "alder=20:64:2" (from:to:step, step 1 when left
 * out), "alder=20,30,40" or "utbildningsniva=1,4,6" (a list),
 * "utbildningsniva" (a category or boolean: every level, schema order) or
 * "alder" (an integer: its whole range, step 1). At most
 * PF_WHATIF_MAX_POINTS points. A bad spec or value is PF_EINVAL. */
int pf_whatif_vary(pf_whatif_sweep **out, const pf_whatif *w, const pf_profile *p, const char *spec,
                   pf_error *err);

void pf_whatif_sweep_free(pf_whatif_sweep *s);

/* ------------------------------------------------------------------------ */
/* Comparisons                                                                */

typedef struct pf_whatif_comparison {
    pf_whatif_card *a, *b;
    size_t ndiff;
    int *diff_col; /* profile columns whose values differ, schema order */
} pf_whatif_comparison;

int pf_whatif_compare(pf_whatif_comparison **out, const pf_whatif *w, const pf_profile *a,
                      const pf_profile *b, pf_error *err);

void pf_whatif_comparison_free(pf_whatif_comparison *c);

/* ------------------------------------------------------------------------ */
/* Counterfactuals                                                            */

typedef enum pf_whatif_target_kind {
    PF_TARGET_GROUP, /* grupp 1-3 */
    PF_TARGET_LEVEL, /* nivå A-C */
    PF_TARGET_TRACK  /* spår 1-4 */
} pf_whatif_target_kind;

typedef struct pf_whatif_target {
    pf_whatif_target_kind kind;
    int value; /* group or track number, or the level letter */
} pf_whatif_target;

/* Parses "niva=B" / "nivå=B", "grupp=2", "spar=3" / "spår=3"; a target the
 * policy cannot give (a level under a policy without levels) is PF_EINVAL. */
int pf_whatif_target_parse(pf_whatif_target *t, const pf_policy *pol, const char *text,
                           pf_error *err);

/* Whether a decision meets the target. */
int pf_whatif_target_met(const pf_whatif_target *t, const pf_decision *d);

typedef struct pf_whatif_change {
    int col;
    char *from, *to; /* text values */
    int steps;
} pf_whatif_change;

typedef struct pf_whatif_solution {
    size_t nchanges;
    pf_whatif_change *change; /* schema column order */
    int steps;                /* total */
    pf_whatif_score score;    /* of the changed profile */
} pf_whatif_solution;

typedef enum pf_whatif_reach_status {
    PF_REACH_ALREADY, /* the profile already meets the target */
    PF_REACH_FOUND,   /* solutions found */
    PF_REACH_NONE,    /* no change of the changeable features reaches it */
    PF_REACH_LIMIT    /* none within the limits (max_changes, max_profiles) */
} pf_whatif_reach_status;

typedef struct pf_whatif_reach_options {
    int max_changes;     /* most features changed at once; 0 = all changeable (at most 16) */
    size_t max_profiles; /* most profiles scored; 0 = PF_WHATIF_MAX_PROFILES */
    int alternatives;    /* other solutions kept, after the best (-1: none; 0: 4) */
} pf_whatif_reach_options;

typedef struct pf_whatif_reach {
    pf_whatif_target target;
    pf_whatif_reach_status status;
    pf_whatif_score current; /* the profile as it is */
    size_t nsolutions;       /* best first; all change the same number of features */
    pf_whatif_solution *solution;
    size_t nfound;    /* solutions at that number of changes, kept or not */
    int verified;     /* the best solution scored anew meets the target, with
                         the same p and decision */
    size_t nsearched; /* changeable columns tried (those the model or the
                         policy reads and with values to try) */
    int *searched_col;
    int max_changes;  /* changes searched up to */
    size_t evaluated; /* profiles scored */
    int complete;     /* 0 when max_profiles cut the last number of changes short:
                         the solutions found may then not be the smallest */
} pf_whatif_reach;

int pf_whatif_reach_run(pf_whatif_reach **out, const pf_whatif *w, const pf_profile *p,
                        const pf_whatif_target *t, const pf_whatif_reach_options *opt,
                        pf_error *err);

void pf_whatif_reach_free(pf_whatif_reach *r);

/* The profile p with a solution's changes applied (PF_PROFILE_SET). */
int pf_whatif_apply(pf_profile **out, const pf_whatif *w, const pf_profile *p,
                    const pf_whatif_solution *s, pf_error *err);

/* ------------------------------------------------------------------------ */
/* JSON (a new reference, or NULL when out of memory)                         */

struct json_t *pf_whatif_card_json(const pf_whatif *w, const pf_profile *p,
                                   const pf_whatif_card *c);
struct json_t *pf_whatif_sweep_json(const pf_whatif *w, const pf_profile *p,
                                    const pf_whatif_sweep *s);
struct json_t *pf_whatif_comparison_json(const pf_whatif *w, const pf_profile *a,
                                         const pf_profile *b, const pf_whatif_comparison *c);
struct json_t *pf_whatif_reach_json(const pf_whatif *w, const pf_profile *p,
                                    const pf_whatif_reach *r);

#ifdef __cplusplus
}
#endif
#endif
