/*
 * http_body.c - JSON profiles into reader rows (see http_body.h).
 *
 * jansson parses the body (duplicate keys rejected); each profile's values
 * are turned into texts and handed with their names to
 * pf_reader_put_fields, whose reject callback copies every problem into
 * this request's problem list.
 */
#include "http_body.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM_TEXT 32 /* bytes for one number's text */

typedef struct problem_rec {
    size_t index;
    size_t column, value, message; /* offsets into text; column SIZE_MAX for none */
    const char *rule;
} problem_rec;

struct pf_body {
    const pf_schema *s;
    size_t max_profiles;
    pf_reader *r;
    pf_frame *f;
    pf_field_text *fields; /* PF_BODY_MAX_FIELDS */
    char *num;             /* PF_BODY_MAX_FIELDS * NUM_TEXT */
    int is_array;
    size_t nprofiles, nrejected;
    size_t nprobs, nprobs_total;
    problem_rec *probs; /* PF_BODY_MAX_PROBLEMS */
    char *text;
    size_t text_len, text_cap;
    int oom;
    int64_t by_rule[PF_RULE_COUNT + 1];
};

static size_t stash(pf_body *b, const char *s)
{
    size_t n = strlen(s) + 1;
    if (b->text_len + n > b->text_cap) {
        size_t cap = b->text_cap ? b->text_cap : 4096;
        while (cap < b->text_len + n)
            cap *= 2;
        char *t = realloc(b->text, cap);
        if (!t) {
            b->oom = 1;
            return SIZE_MAX;
        }
        b->text = t;
        b->text_cap = cap;
    }
    memcpy(b->text + b->text_len, s, n);
    b->text_len += n;
    return b->text_len - n;
}

static void add_problem(pf_body *b, size_t index, const char *column, const char *rule,
                        const char *value, const char *message)
{
    b->nprobs_total++;
    if (b->nprobs == PF_BODY_MAX_PROBLEMS)
        return;
    problem_rec *p = &b->probs[b->nprobs];
    p->index = index;
    p->rule = rule;
    p->column = column ? stash(b, column) : SIZE_MAX - 1;
    p->value = stash(b, value ? value : "");
    p->message = stash(b, message);
    if (p->column != SIZE_MAX && p->value != SIZE_MAX && p->message != SIZE_MAX)
        b->nprobs++;
}

static void on_reject(void *ctx, const pf_problem *p)
{
    pf_body *b = ctx;
    b->by_rule[p->rule]++;
    add_problem(b, (size_t) (p->row - 1), p->column, pf_rule_name(p->rule), p->value, p->message);
}

int pf_body_new(pf_body **out, const pf_schema *s, size_t max_profiles, pf_error *err)
{
    *out = NULL;
    pf_body *b = calloc(1, sizeof *b);
    if (!b)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    b->s = s;
    b->max_profiles = max_profiles ? max_profiles : 1;
    pf_reader_options opt = {.on_reject = on_reject, .reject_ctx = b};
    int rc = pf_reader_open_fields(&b->r, s, &opt, err);
    if (!rc)
        rc = pf_frame_new(&b->f, s, b->max_profiles, 0, NULL, err);
    if (!rc) {
        b->fields = malloc(PF_BODY_MAX_FIELDS * sizeof *b->fields);
        b->num = malloc(PF_BODY_MAX_FIELDS * NUM_TEXT);
        b->probs = malloc(PF_BODY_MAX_PROBLEMS * sizeof *b->probs);
        if (!b->fields || !b->num || !b->probs)
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    if (rc) {
        pf_body_free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void pf_body_free(pf_body *b)
{
    if (!b)
        return;
    pf_reader_close(b->r);
    pf_frame_free(b->f);
    free(b->fields);
    free(b->num);
    free(b->probs);
    free(b->text);
    free(b);
}

/* The shortest text that reads back as v ("%.17g" always does). */
static void real_text(char *buf, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, NUM_TEXT, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* The text of value v for column name; 0, or -1 when v has no text (an
 * object or an array). num is room for a number's text. */
static int value_text(const pf_body *b, const char *name, json_t *v, char *num, const char **s,
                      size_t *n)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *s = json_string_value(v);
        *n = json_string_length(v);
        return 0;
    case JSON_INTEGER:
        snprintf(num, NUM_TEXT, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        real_text(num, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE: {
        int c = pf_schema_find(b->s, name), t = json_is_true(v);
        if (c >= 0 && b->s->cols[c].type == PF_TYPE_BOOLEAN)
            strcpy(num, t ? "1" : "0");
        else
            strcpy(num, t ? "true" : "false");
        break;
    }
    case JSON_NULL:
        num[0] = '\0';
        break;
    default:
        return -1;
    }
    *s = num;
    *n = strlen(num);
    return 0;
}

static int put_profile(pf_body *b, size_t index, json_t *obj, pf_error *err)
{
    if (!json_is_object(obj)) {
        b->by_rule[PF_RULE_COUNT]++;
        add_problem(b, index, NULL, PF_BODY_RULE_JSON_TYPE, json_is_array(obj) ? "[...]" : "",
                    "a profile must be a JSON object");
        b->nrejected++;
        return 0;
    }
    if (json_object_size(obj) > PF_BODY_MAX_FIELDS) {
        char msg[96];
        snprintf(msg, sizeof msg, "the profile has %zu fields, more than %d", json_object_size(obj),
                 PF_BODY_MAX_FIELDS);
        b->by_rule[PF_RULE_FIELD_COUNT]++;
        add_problem(b, index, NULL, pf_rule_name(PF_RULE_FIELD_COUNT), "", msg);
        b->nrejected++;
        return 0;
    }
    size_t n = 0, bad = 0;
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        pf_field_text *ft = &b->fields[n];
        if (value_text(b, key, v, b->num + n * NUM_TEXT, &ft->value, &ft->len)) {
            b->by_rule[PF_RULE_COUNT]++;
            add_problem(b, index, key, PF_BODY_RULE_JSON_TYPE, json_is_array(v) ? "[...]" : "{...}",
                        "an object or array is not a value: give a string, number, true, false "
                        "or null");
            bad++;
            continue;
        }
        ft->name = key;
        n++;
    }
    if (bad) {
        b->nrejected++;
        return 0;
    }
    int rc = pf_reader_put_fields(b->r, b->f, (int64_t) index + 1, b->fields, n, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        b->nrejected++;
    return 0;
}

int pf_body_parse(pf_body *b, const char *text, size_t n, pf_error *err)
{
    pf_frame_clear(b->f);
    b->is_array = 0;
    b->nprofiles = b->nrejected = b->nprobs = b->nprobs_total = 0;
    b->text_len = 0;
    b->oom = 0;
    memset(b->by_rule, 0, sizeof b->by_rule);
    json_error_t je;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return pf_error_set(err, PF_EFORMAT, "invalid JSON at line %d, column %d: %s", je.line,
                            je.column, je.text);
    int rc = 0;
    if (json_is_object(root)) {
        b->nprofiles = 1;
        rc = put_profile(b, 0, root, err);
    } else if (json_is_array(root)) {
        b->is_array = 1;
        b->nprofiles = json_array_size(root);
        if (b->nprofiles == 0)
            rc = pf_error_set(err, PF_EFORMAT, "the array holds no profile");
        else if (b->nprofiles > b->max_profiles)
            rc = pf_error_set(err, PF_ELIMIT,
                              "%zu profiles in one request, more than the %zu "
                              "allowed (--max-profiles)",
                              b->nprofiles, b->max_profiles);
        for (size_t i = 0; !rc && i < b->nprofiles; i++)
            rc = put_profile(b, i, json_array_get(root, i), err);
    } else {
        rc = pf_error_set(err, PF_EFORMAT,
                          "the body must be a JSON object (one profile) or an array of profiles");
    }
    json_decref(root);
    if (!rc && b->oom)
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    return rc;
}

int pf_body_is_array(const pf_body *b)
{
    return b->is_array;
}

size_t pf_body_profiles(const pf_body *b)
{
    return b->nprofiles;
}

const pf_frame *pf_body_frame(const pf_body *b)
{
    return b->f;
}

size_t pf_body_rejected(const pf_body *b)
{
    return b->nrejected;
}

size_t pf_body_problems(const pf_body *b)
{
    return b->nprobs;
}

size_t pf_body_problems_total(const pf_body *b)
{
    return b->nprobs_total;
}

void pf_body_problem_get(const pf_body *b, size_t k, pf_body_problem *out)
{
    const problem_rec *p = &b->probs[k];
    out->index = p->index;
    out->rule = p->rule;
    out->column = p->column == SIZE_MAX - 1 ? NULL : b->text + p->column;
    out->value = b->text + p->value;
    out->message = b->text + p->message;
}

const int64_t *pf_body_problems_by_rule(const pf_body *b)
{
    return b->by_rule;
}
