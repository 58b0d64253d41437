/*
 * schema.h - the schema: what every input column is and how it is checked.
 *
 * A schema file (in data/schema/, format "profil-schema/1", documented
 * in docs/schema.md) lists every column with its role (id, feature, label,
 * weight, group, passthrough), type, allowed values or range, missing-value
 * rule and Swedish display label, and the reference tables that supply
 * allowed codes and derived columns (county from municipality, region from
 * country of birth). Validation, encoding, the generator and the docs all
 * read it, so another registry is a new schema file, not new code.
 *
 * A loaded schema is immutable and may be shared between threads.
 */
#ifndef PROFIL_SCHEMA_H
#define PROFIL_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pf_role {
    PF_ROLE_ID,         /* pseudonymous person key; never a feature */
    PF_ROLE_FEATURE,    /* model input */
    PF_ROLE_LABEL,      /* outcome to train or evaluate on */
    PF_ROLE_WEIGHT,     /* case weight */
    PF_ROLE_GROUP,      /* grouping for evaluation (not a feature) */
    PF_ROLE_PASSTHROUGH /* carried to outputs unchanged */
} pf_role;

typedef enum pf_type {
    PF_TYPE_STRING,   /* text, optionally with a pattern and maximum length */
    PF_TYPE_INTEGER,  /* whole number within [min, max] */
    PF_TYPE_NUMBER,   /* real number within [min, max] */
    PF_TYPE_CATEGORY, /* one of a fixed list of codes */
    PF_TYPE_BOOLEAN   /* two levels: 0 = false, 1 = true */
} pf_type;

typedef enum pf_missing {
    PF_MISSING_REJECT, /* a missing value rejects the row */
    PF_MISSING_ALLOW,  /* kept as missing (NaN, level -1, empty string) */
    PF_MISSING_DEFAULT /* replaced by the column's default value */
} pf_missing;

typedef struct pf_level {
    char *code;  /* the value as it appears in input */
    char *label; /* Swedish display label */
} pf_level;

struct pf_column_impl;

typedef struct pf_column {
    char *name;
    char *label;       /* Swedish display label */
    char *description; /* may be NULL */
    pf_role role;
    pf_type type;
    pf_missing missing;
    int required;      /* must appear in the input header */
    int derived;       /* computed from another column, never read */
    int source;        /* derived: index of the source column, else -1 */
    double min, max;   /* numeric range, inclusive; -inf/+inf when open */
    size_t max_length; /* string: maximum bytes; 0 = no limit */
    char *pattern;     /* string: POSIX extended regex, or NULL */
    size_t nlevels;
    pf_level *levels;            /* category and boolean levels, in code order */
    char *default_value;         /* PF_MISSING_DEFAULT: the value as text */
    double default_num;          /* ...parsed, for numbers */
    int32_t default_level;       /* ...parsed, for categories; else -1 */
    char *reference;             /* name of the reference table the levels come from */
    struct pf_column_impl *impl; /* lookup structures, private */
} pf_column;

typedef struct pf_schema {
    char *path;      /* file it was loaded from */
    char sha256[65]; /* of that file's bytes */
    char *name;      /* e.g. "af-inskrivning" */
    char *version;   /* schema version */
    char *title;
    size_t ncols;
    pf_column *cols;
    int id_col; /* index of the id column, -1 if none */
    size_t nmissing_tokens;
    char **missing_tokens; /* field values that mean "missing" (e.g. "", "NA") */
} pf_schema;

/* Loads and strictly validates a schema file and its reference tables
 * (paths relative to the schema file). Any problem is a PF_ESCHEMA error
 * naming the column and key. On success *out is owned by the caller. */
int pf_schema_load(pf_schema **out, const char *path, pf_error *err);

/* Accepts NULL. */
void pf_schema_free(pf_schema *s);

/* Index of the named column, or -1. */
int pf_schema_find(const pf_schema *s, const char *name);

/* Level index of code in a category or boolean column (aliases included),
 * or -1 when it is not an allowed value. */
int32_t pf_schema_level(const pf_schema *s, int col, const char *code, size_t len);

/* Static names for enums, as used in schema files. */
const char *pf_role_name(pf_role r);
const char *pf_type_name(pf_type t);

#ifdef __cplusplus
}
#endif
#endif
