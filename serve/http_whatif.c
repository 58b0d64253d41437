/*
 * http_whatif.c - POST /v1/whatif (see http_whatif.h).
 */
#include "http_whatif.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "profil/jsonkeys.h"

/* A profile from a JSON object, columns left out at their defaults. */
static int profile_of(const pf_whatif *w, json_t *obj, const char *key, pf_profile **out,
                      pf_error *err)
{
    *out = NULL;
    if (!json_is_object(obj))
        return pf_error_set(err, PF_EFORMAT, "'%s' must be a JSON object of column values", key);
    int rc = pf_profile_new(out, w, err);
    if (!rc)
        rc = pf_profile_set_json(*out, obj, err);
    if (!rc)
        rc = pf_profile_check(w, *out, err);
    if (rc) {
        pf_profile_free(*out);
        *out = NULL;
    }
    return rc;
}

static int int_member(json_t *root, const char *key, long lo, long hi, long *v, pf_error *err)
{
    json_t *j = json_object_get(root, key);
    if (!j)
        return 0;
    if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi)
        return pf_error_set(err, PF_EFORMAT, "'%s' must be an integer from %ld to %ld", key, lo,
                            hi);
    *v = (long) json_integer_value(j);
    return 0;
}

int pf_http_whatif(const pf_whatif *w, const char *body, size_t n, size_t max_profiles, pf_buf *out,
                   pf_error *err)
{
    static const char *const keys[] = {"profile",     "vary",         "compare", "reach",
                                       "max_changes", "alternatives", NULL};
    json_error_t je;
    json_t *root = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return pf_error_set(err, PF_EFORMAT, "invalid JSON at line %d, column %d: %s", je.line,
                            je.column, je.text);
    pf_profile *a = NULL, *b = NULL;
    json_t *doc = NULL;
    json_t *vary = json_object_get(root, "vary"), *cmp = json_object_get(root, "compare"),
           *reach = json_object_get(root, "reach");
    long max_changes = 0, alternatives = 0;
    int rc = 0;
    if (!json_is_object(root))
        rc = pf_error_set(err, PF_EFORMAT, "the body must be a JSON object with a 'profile'");
    else if ((rc = pf_json_check_keys(root, keys, "body", "what-if request", PF_EFORMAT, err)))
        ;
    else if ((vary != NULL) + (cmp != NULL) + (reach != NULL) > 1)
        rc = pf_error_set(err, PF_EFORMAT, "give at most one of 'vary', 'compare' and 'reach'");
    else if ((vary && !json_is_string(vary)) || (reach && !json_is_string(reach)))
        rc = pf_error_set(err, PF_EFORMAT,
                          "'vary' and 'reach' are strings (\"alder=20:64:2\", "
                          "\"niva=A\")");
    else if (!reach &&
             (json_object_get(root, "max_changes") || json_object_get(root, "alternatives")))
        rc = pf_error_set(err, PF_EFORMAT, "'max_changes' and 'alternatives' go with 'reach'");
    if (!rc)
        rc = int_member(root, "max_changes", 0, 16, &max_changes, err);
    if (!rc)
        rc = int_member(root, "alternatives", -1, 100, &alternatives, err);
    if (!rc && !json_object_get(root, "profile"))
        rc = pf_error_set(err, PF_EFORMAT, "the body has no 'profile'");
    if (!rc)
        rc = profile_of(w, json_object_get(root, "profile"), "profile", &a, err);
    if (!rc && cmp)
        rc = profile_of(w, cmp, "compare", &b, err);
    if (rc)
        goto out;
    if (vary) {
        pf_whatif_sweep *s;
        if (!(rc = pf_whatif_vary(&s, w, a, json_string_value(vary), err))) {
            doc = pf_whatif_sweep_json(w, a, s);
            pf_whatif_sweep_free(s);
        }
    } else if (cmp) {
        pf_whatif_comparison *c;
        if (!(rc = pf_whatif_compare(&c, w, a, b, err))) {
            doc = pf_whatif_comparison_json(w, a, b, c);
            pf_whatif_comparison_free(c);
        }
    } else if (reach) {
        pf_whatif_target t;
        pf_whatif_reach *r;
        pf_whatif_reach_options opt = {.max_changes = (int) max_changes,
                                       .max_profiles = max_profiles,
                                       .alternatives = (int) alternatives};
        rc = pf_whatif_target_parse(&t, pf_decider_policy(pf_whatif_decider(w)),
                                    json_string_value(reach), err);
        if (!rc && !(rc = pf_whatif_reach_run(&r, w, a, &t, &opt, err))) {
            doc = pf_whatif_reach_json(w, a, r);
            pf_whatif_reach_free(r);
        }
    } else {
        pf_whatif_card *c;
        if (!(rc = pf_whatif_card_new(&c, w, a, err))) {
            doc = pf_whatif_card_json(w, a, c);
            pf_whatif_card_free(c);
        }
    }
    if (!rc) {
        char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (!text) {
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        } else {
            pf_buf_puts(out, text);
            pf_buf_puts(out, "\n");
            free(text);
        }
    }
out:
    json_decref(doc);
    pf_profile_free(a);
    pf_profile_free(b);
    json_decref(root);
    return rc;
}
