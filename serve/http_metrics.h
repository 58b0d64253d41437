/*
 * http_metrics.h - the service's counters, shown at GET /metrics in the
 * Prometheus text format (version 0.0.4): requests by route and status, a
 * latency histogram per route, profiles scored and rejected, problems by
 * rule, reloads, requests in flight, and the loaded model and policy.
 *
 * Counters are relaxed atomics: request threads add to them without a
 * lock, and a scrape reads each one once (the figures of a scrape may be
 * a few requests apart from one another, never torn).
 */
#ifndef PROFIL_HTTP_METRICS_H
#define PROFIL_HTTP_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "profil/reader.h"
#include "rowfmt.h"

typedef enum pf_route {
    PF_ROUTE_SCORE,
    PF_ROUTE_WHATIF,
    PF_ROUTE_MODEL,
    PF_ROUTE_POLICY,
    PF_ROUTE_HEALTHZ,
    PF_ROUTE_READYZ,
    PF_ROUTE_METRICS,
    PF_ROUTE_OPENAPI,
    PF_ROUTE_OTHER, /* no such path */
    PF_ROUTE_COUNT
} pf_route;

/* The path of a route ("/v1/score"; "other" for PF_ROUTE_OTHER). */
const char *pf_route_path(pf_route r);

/* The route of a path, PF_ROUTE_OTHER when none. */
pf_route pf_route_of(const char *path);

#define PF_METRICS_NSTATUS  10 /* 200 400 401 404 405 413 415 500 503, other */
#define PF_METRICS_NBUCKETS 14

typedef struct pf_http_metrics {
    atomic_uint_fast64_t requests[PF_ROUTE_COUNT][PF_METRICS_NSTATUS];
    atomic_uint_fast64_t latency[PF_ROUTE_COUNT][PF_METRICS_NBUCKETS + 1]; /* last: +Inf */
    atomic_uint_fast64_t latency_ns[PF_ROUTE_COUNT];
    atomic_uint_fast64_t profiles_scored, profiles_rejected;
    atomic_uint_fast64_t problems[PF_RULE_COUNT + 1]; /* + json_type */
    atomic_uint_fast64_t reloads, reload_failures;
    atomic_int_fast64_t in_flight;
    double started; /* Unix time */
} pf_http_metrics;

void pf_http_metrics_init(pf_http_metrics *m);

/* Counts a finished request: its route, status and time taken. */
void pf_http_metrics_request(pf_http_metrics *m, pf_route r, unsigned status, double seconds);

/* Appends the exposition text. The model and policy lines describe the
 * loaded bundle: ids (SHA-256), policy name and bundle generation. */
void pf_http_metrics_render(const pf_http_metrics *m, pf_buf *out, const char *model_sha256,
                            const char *policy_sha256, const char *policy_name, unsigned generation,
                            int draining);

#endif
