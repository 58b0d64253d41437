/*
 * http_body.h - the body of POST /v1/score: one profile (a JSON object
 * from column name to value) or an array of profiles, turned into the
 * field texts a CSV row would hold and checked by the reader
 * (pf_reader_put_fields), so a profile is accepted or rejected exactly as
 * the same values in a CSV file are, with the same rules and messages.
 *
 * A value becomes text as follows: a string as it is; a number as its
 * shortest decimal form that reads back to the same double (integers as
 * integers); true and false as "1" and "0" in a boolean column, else as
 * "true" and "false" (which the column's checks then reject); null as the
 * empty text, a missing value. An object or an array as a value, or an
 * array element that is not an object, is a problem with rule json_type.
 *
 * A pf_body is reusable: it keeps a reader, a frame of up to max_profiles
 * rows and its buffers between requests. One request at a time.
 */
#ifndef PROFIL_HTTP_BODY_H
#define PROFIL_HTTP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "profil/frame.h"
#include "profil/reader.h"
#include "profil/schema.h"
#include "profil/status.h"

/* Rule of a value that is an object or an array (not a reader rule). */
#define PF_BODY_RULE_JSON_TYPE "json_type"

/* Most fields one profile may have, and problems kept per request. */
#define PF_BODY_MAX_FIELDS   1024
#define PF_BODY_MAX_PROBLEMS 1000

typedef struct pf_body_problem {
    size_t index;        /* the profile's position in the request, from 0 */
    const char *column;  /* NULL for a problem with the whole profile */
    const char *rule;    /* pf_rule_name() or PF_BODY_RULE_JSON_TYPE */
    const char *value;   /* escaped and truncated; "<withheld>" for an identity number */
    const char *message; /* what is wrong and what is allowed */
} pf_body_problem;

typedef struct pf_body pf_body;

/* A parser for profiles of schema s, at most max_profiles per request. */
int pf_body_new(pf_body **out, const pf_schema *s, size_t max_profiles, pf_error *err);

/* Accepts NULL. */
void pf_body_free(pf_body *b);

/* Parses a request body of n bytes. Returns 0 when it holds profiles (each
 * accepted or rejected: see the accessors), PF_EFORMAT when it is not JSON
 * or not an object or a non-empty array, PF_ELIMIT when it has more than
 * max_profiles profiles, PF_ENOMEM; err says why. */
int pf_body_parse(pf_body *b, const char *text, size_t n, pf_error *err);

/* After a successful parse: whether the body was an array, the number of
 * profiles, the accepted rows (row[i] is the profile's index + 1), the
 * number of rejected profiles and their problems (at most
 * PF_BODY_MAX_PROBLEMS are kept; pf_body_problems_total counts all). */
int pf_body_is_array(const pf_body *b);
size_t pf_body_profiles(const pf_body *b);
const pf_frame *pf_body_frame(const pf_body *b);
size_t pf_body_rejected(const pf_body *b);
size_t pf_body_problems(const pf_body *b);
size_t pf_body_problems_total(const pf_body *b);
void pf_body_problem_get(const pf_body *b, size_t k, pf_body_problem *out);

/* Problems by rule over the last parse: index pf_rule, and PF_RULE_COUNT
 * for json_type. */
const int64_t *pf_body_problems_by_rule(const pf_body *b);

#endif
