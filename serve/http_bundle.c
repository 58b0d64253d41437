/*
 * http_bundle.c - loading, sharing and freeing what the service decides
 * with (see http_bundle.h).
 */
#include "http_bundle.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/jsonkeys.h"
#include "profil/model.h"
#include "profil/policy.h"
#include "profil/schema.h"

static const char *const missing_names[] = {"reject", "allow", "default"};

/* The schema's columns as clients need them to build a profile. */
static json_t *columns_json(const pf_schema *s)
{
    json_t *cols = json_array();
    for (size_t c = 0; c < s->ncols; c++) {
        const pf_column *col = &s->cols[c];
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:s}", "name", col->name, "label",
                              col->label, "role", pf_role_name(col->role), "type",
                              pf_type_name(col->type), "required", col->required && !col->derived,
                              "derived", col->derived, "missing", missing_names[col->missing]);
        if (col->missing == PF_MISSING_DEFAULT)
            json_object_set_new(o, "default", json_string(col->default_value));
        if (col->type == PF_TYPE_INTEGER || col->type == PF_TYPE_NUMBER) {
            if (isfinite(col->min))
                json_object_set_new(o, "min", json_real(col->min));
            if (isfinite(col->max))
                json_object_set_new(o, "max", json_real(col->max));
        }
        if (col->max_length)
            json_object_set_new(o, "max_length", json_integer((json_int_t) col->max_length));
        if (col->pattern)
            json_object_set_new(o, "pattern", json_string(col->pattern));
        if (col->nlevels) {
            json_t *lv = json_array();
            for (size_t l = 0; l < col->nlevels; l++)
                json_array_append_new(lv, json_pack("{s:s,s:s}", "code", col->levels[l].code,
                                                    "label", col->levels[l].label));
            json_object_set_new(o, "levels", lv);
        }
        json_array_append_new(cols, o);
    }
    return cols;
}

static char *dump(json_t *doc, size_t *n)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(doc);
    *n = text ? strlen(text) : 0;
    return text;
}

/* GET /v1/model: the model file's description and coefficient table (the
 * covariance matrix and training distributions left out), the features it
 * uses and the schema's columns. */
static int model_doc(pf_bundle *b, const char *path)
{
    pf_error err = {0};
    json_t *root;
    char hex[PF_SHA256_HEX];
    if (pf_json_load_file(path, PF_EFORMAT, PF_EIO, &root, hex, &err)) {
        pf_cli_error("serve", "%s", err.message);
        return -1;
    }
    if (strcmp(hex, b->model->sha256)) {
        json_decref(root);
        pf_cli_error("serve", "%s: the file changed while it was loaded; try again", path);
        return -1;
    }
    json_t *doc = json_pack("{s:s,s:s}", "id", b->model->sha256, "short_id", b->rf.model_id);
    static const char *const keys[] = {"format",   "kind",    "software",         "schema", "label",
                                       "training", "holdout", "cross_validation", "terms"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        json_t *v = json_object_get(root, keys[k]);
        if (v)
            json_object_set(doc, keys[k], v);
    }
    size_t nf;
    const int *feat = pf_decider_features(b->decider, &nf);
    json_t *fj = json_array();
    for (size_t k = 0; k < nf; k++)
        json_array_append_new(fj, json_pack("{s:s,s:s}", "name", b->schema->cols[feat[k]].name,
                                            "label", b->schema->cols[feat[k]].label));
    json_object_set_new(doc, "features", fj);
    json_object_set_new(doc, "reference_logit", json_real(pf_decider_reference_logit(b->decider)));
    json_object_set_new(doc, "columns", columns_json(b->schema));
    json_decref(root);
    b->model_doc = dump(doc, &b->model_doc_len);
    return b->model_doc ? 0 : -1;
}

/* GET /v1/policy: the policy file as it was loaded, with its id. */
static int policy_doc(pf_bundle *b)
{
    pf_error err = {0};
    json_t *root;
    char hex[PF_SHA256_HEX], from[11], to[11] = "";
    const pf_policy *p = b->policy;
    if (pf_json_load_file(p->path, PF_EFORMAT, PF_EIO, &root, hex, &err)) {
        pf_cli_error("serve", "%s", err.message);
        return -1;
    }
    if (strcmp(hex, p->sha256)) {
        json_decref(root);
        pf_cli_error("serve", "%s: the file changed while it was loaded; try again", p->path);
        return -1;
    }
    pf_day_format(p->valid_from, from);
    if (p->valid_to != PF_DAY_NONE)
        pf_day_format(p->valid_to, to);
    json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:o}", "id", p->sha256, "short_id",
                            b->rf.policy_id, "name", p->name, "version", p->version, "title",
                            p->title, "service", p->service, "valid_from", from, "valid_to",
                            to[0] ? to : NULL, "document", root);
    b->policy_doc = dump(doc, &b->policy_doc_len);
    return b->policy_doc ? 0 : -1;
}

static void scratch_free(pf_scratch *s)
{
    if (!s)
        return;
    pf_body_free(s->body);
    free(s->dec);
    pf_buf_free(&s->out);
    pf_buf_free(&s->audit);
    free(s);
}

static void bundle_free(pf_bundle *b)
{
    if (!b)
        return;
    while (b->pool) {
        pf_scratch *s = b->pool;
        b->pool = s->next;
        scratch_free(s);
    }
    pthread_mutex_destroy(&b->pool_mu);
    free(b->model_doc);
    free(b->policy_doc);
    pf_rowfmt_free(&b->rf);
    pf_tokens_free(b->tokens);
    pf_whatif_free(b->whatif);
    pf_whatif_settings_free(b->whatif_settings);
    pf_decider_free(b->decider);
    pf_policy_free(b->policy);
    pf_model_free(b->model);
    pf_schema_free(b->schema);
    free(b);
}

int pf_bundle_load(pf_bundle **out, const pf_bundle_config *c, unsigned generation)
{
    *out = NULL;
    pf_bundle *b = calloc(1, sizeof *b);
    if (!b) {
        pf_cli_error("serve", "out of memory");
        return -1;
    }
    pthread_mutex_init(&b->pool_mu, NULL);
    atomic_init(&b->refs, 1);
    b->generation = generation;
    b->max_profiles = c->max_profiles;
    char buf[4096];
    const char *model_path =
        c->model ? c->model : pf_cli_data_path(buf, sizeof buf, PF_DEFAULT_MODEL);
    pf_error err = {0};
    pf_decider_options dopt = {.reasons = c->reasons};
    int rc = pf_cli_load_schema("serve", c->schema, &b->schema);
    if (!rc)
        rc = pf_cli_load_model("serve", model_path, b->schema, &b->model);
    if (!rc)
        rc = pf_cli_load_policy("serve", &c->policy, b->schema, &b->policy);
    if (!rc && pf_decider_new(&b->decider, b->model, b->policy, &dopt, &err)) {
        pf_cli_error("serve", "%s", err.message);
        rc = -1;
    }
    if (!rc &&
        pf_rowfmt_init(&b->rf, PF_ROWFMT_JSONL, b->decider, c->reasons, NULL, 0, NULL, 0, &err)) {
        pf_cli_error("serve", "%s", err.message);
        rc = -1;
    }
    if (!rc) {
        char wbuf[4096], rel[512];
        snprintf(rel, sizeof rel, "whatif/%s.json", b->schema->name);
        const char *wpath = c->whatif ? c->whatif : pf_cli_data_path(wbuf, sizeof wbuf, rel);
        if (pf_whatif_settings_load(&b->whatif_settings, wpath, b->schema, &err) ||
            pf_whatif_new(&b->whatif, b->decider, b->whatif_settings, &err)) {
            pf_cli_error("serve", "%s", err.message);
            rc = -1;
        }
    }
    if (!rc && c->tokens && pf_tokens_load(&b->tokens, c->tokens, &err)) {
        pf_cli_error("serve", "%s", err.message);
        rc = -1;
    }
    if (!rc)
        rc = model_doc(b, model_path);
    if (!rc)
        rc = policy_doc(b);
    if (rc) {
        bundle_free(b);
        return -1;
    }
    *out = b;
    return 0;
}

void pf_bundle_ref(pf_bundle *b)
{
    atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
}

void pf_bundle_unref(pf_bundle *b)
{
    if (b && atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        bundle_free(b);
}

pf_scratch *pf_bundle_get_scratch(pf_bundle *b)
{
    pthread_mutex_lock(&b->pool_mu);
    pf_scratch *s = b->pool;
    if (s)
        b->pool = s->next;
    pthread_mutex_unlock(&b->pool_mu);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    pf_error err;
    if (!s || pf_body_new(&s->body, b->schema, b->max_profiles, &err) ||
        !(s->dec = malloc(b->max_profiles * sizeof *s->dec))) {
        scratch_free(s);
        return NULL;
    }
    return s;
}

void pf_bundle_put_scratch(pf_bundle *b, pf_scratch *s)
{
    s->out.n = s->audit.n = 0;
    s->out.failed = s->audit.failed = 0;
    pthread_mutex_lock(&b->pool_mu);
    s->next = b->pool;
    b->pool = s;
    pthread_mutex_unlock(&b->pool_mu);
}
