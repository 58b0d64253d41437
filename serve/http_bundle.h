/*
 * http_bundle.h - what the HTTP service decides with: schema, model,
 * policy, decider and row formatter, loaded together into one immutable,
 * reference-counted bundle, with the documents GET /v1/model and
 * GET /v1/policy return, made once at load, and the bearer tokens.
 *
 * The service holds the current bundle behind an atomic pointer. A request
 * takes a reference when it starts and drops it when its response has been
 * sent, so a reload (SIGHUP) that swaps in a new bundle never changes the
 * model or policy under a request in flight; the old bundle is freed by
 * whichever request drops the last reference.
 *
 * Each bundle keeps a pool of request workspaces (the body parser with its
 * reader and frame, the decisions, the output buffer), so a request
 * allocates nothing for them once the pool is warm.
 */
#ifndef PROFIL_HTTP_BUNDLE_H
#define PROFIL_HTTP_BUNDLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "cli.h"
#include "http_auth.h"
#include "http_body.h"
#include "profil/decide.h"
#include "profil/whatif.h"
#include "rowfmt.h"

typedef struct pf_bundle_config {
    const char *schema; /* NULL: the bundled schema */
    const char *model;  /* NULL: the bundled model */
    const char *tokens; /* bearer token file; NULL: no authentication */
    const char *whatif; /* what-if settings; NULL: the bundled ones for the schema */
    pf_cli_policy_choice policy;
    int reasons;         /* reasons per decision */
    size_t max_profiles; /* per request */
} pf_bundle_config;

/* One request's workspace. */
typedef struct pf_scratch {
    pf_body *body;
    pf_decision *dec; /* max_profiles */
    pf_buf out;
    pf_buf audit;
    struct pf_scratch *next; /* in the pool */
} pf_scratch;

typedef struct pf_bundle {
    atomic_int refs;
    unsigned generation; /* 1 for the first load, +1 per reload */
    pf_schema *schema;
    pf_model *model;
    pf_policy *policy;
    pf_decider *decider;
    pf_rowfmt rf;      /* JSON lines, as `profil score --format jsonl` */
    pf_tokens *tokens; /* NULL: no authentication */
    pf_whatif_settings *whatif_settings;
    pf_whatif *whatif;
    char *model_doc; /* GET /v1/model */
    size_t model_doc_len;
    char *policy_doc; /* GET /v1/policy */
    size_t policy_doc_len;
    size_t max_profiles;
    pthread_mutex_t pool_mu;
    pf_scratch *pool;
} pf_bundle;

/* Loads a bundle (one reference, the caller's). Errors are printed as
 * "profil serve: ..."; returns 0 or -1. */
int pf_bundle_load(pf_bundle **out, const pf_bundle_config *c, unsigned generation);

void pf_bundle_ref(pf_bundle *b);

/* Drops a reference; the last one frees the bundle. Accepts NULL. */
void pf_bundle_unref(pf_bundle *b);

/* A workspace from the pool, or a new one (NULL when out of memory); give
 * it back with pf_bundle_put_scratch to the same bundle. */
pf_scratch *pf_bundle_get_scratch(pf_bundle *b);
void pf_bundle_put_scratch(pf_bundle *b, pf_scratch *s);

#endif
