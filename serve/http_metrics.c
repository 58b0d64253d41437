/*
 * http_metrics.c - request counters and their Prometheus text (see
 * http_metrics.h).
 */
#include "http_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "http_body.h"

static const char *const route_paths[PF_ROUTE_COUNT] = {"/v1/score",  "/v1/whatif",    "/v1/model",
                                                        "/v1/policy", "/healthz",      "/readyz",
                                                        "/metrics",   "/openapi.yaml", "other"};

static const unsigned statuses[PF_METRICS_NSTATUS - 1] = {200, 400, 401, 404, 405,
                                                          413, 415, 500, 503};

/* Upper bounds of the latency buckets, in seconds. */
static const double bounds[PF_METRICS_NBUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

const char *pf_route_path(pf_route r)
{
    return (unsigned) r < PF_ROUTE_COUNT ? route_paths[r] : "other";
}

pf_route pf_route_of(const char *path)
{
    for (int r = 0; r < PF_ROUTE_OTHER; r++)
        if (!strcmp(path, route_paths[r]))
            return (pf_route) r;
    return PF_ROUTE_OTHER;
}

void pf_http_metrics_init(pf_http_metrics *m)
{
    memset(m, 0, sizeof *m);
}

void pf_http_metrics_request(pf_http_metrics *m, pf_route r, unsigned status, double seconds)
{
    int s = PF_METRICS_NSTATUS - 1;
    for (int k = 0; k < PF_METRICS_NSTATUS - 1; k++)
        if (statuses[k] == status)
            s = k;
    int b = 0;
    while (b < PF_METRICS_NBUCKETS && seconds > bounds[b])
        b++;
    atomic_fetch_add_explicit(&m->requests[r][s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->latency_ns[r], (uint_fast64_t) (seconds * 1e9),
                              memory_order_relaxed);
}

static uint64_t get(const atomic_uint_fast64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void line(pf_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(pf_buf *out, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    pf_buf_puts(out, tmp);
}

void pf_http_metrics_render(const pf_http_metrics *m, pf_buf *out, const char *model_sha256,
                            const char *policy_sha256, const char *policy_name, unsigned generation,
                            int draining)
{
    pf_buf_puts(out, "# HELP profil_http_requests_total HTTP requests by route and status.\n"
                     "# TYPE profil_http_requests_total counter\n");
    for (int r = 0; r < PF_ROUTE_COUNT; r++)
        for (int s = 0; s < PF_METRICS_NSTATUS; s++) {
            uint64_t n = get(&m->requests[r][s]);
            if (!n)
                continue;
            char code[8] = "other";
            if (s < PF_METRICS_NSTATUS - 1)
                snprintf(code, sizeof code, "%u", statuses[s]);
            line(out, "profil_http_requests_total{route=\"%s\",status=\"%s\"} %llu\n",
                 route_paths[r], code, (unsigned long long) n);
        }
    pf_buf_puts(out, "# HELP profil_http_request_duration_seconds Time from the request's "
                     "headers to its response sent.\n"
                     "# TYPE profil_http_request_duration_seconds histogram\n");
    for (int r = 0; r < PF_ROUTE_COUNT; r++) {
        uint64_t cum = 0;
        for (int b = 0; b <= PF_METRICS_NBUCKETS; b++)
            cum += get(&m->latency[r][b]);
        if (!cum)
            continue;
        uint64_t total = cum;
        cum = 0;
        for (int b = 0; b < PF_METRICS_NBUCKETS; b++) {
            cum += get(&m->latency[r][b]);
            line(out, "profil_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                 route_paths[r], bounds[b], (unsigned long long) cum);
        }
        line(out, "profil_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
             route_paths[r], (unsigned long long) total);
        line(out, "profil_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route_paths[r],
             (double) get(&m->latency_ns[r]) * 1e-9);
        line(out, "profil_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_paths[r],
             (unsigned long long) total);
    }
    line(out,
         "# HELP profil_profiles_scored_total Profiles decided.\n"
         "# TYPE profil_profiles_scored_total counter\n"
         "profil_profiles_scored_total %llu\n"
         "# HELP profil_profiles_rejected_total Profiles rejected by the schema's checks.\n"
         "# TYPE profil_profiles_rejected_total counter\n"
         "profil_profiles_rejected_total %llu\n",
         (unsigned long long) get(&m->profiles_scored),
         (unsigned long long) get(&m->profiles_rejected));
    pf_buf_puts(out, "# HELP profil_rejects_total Problems found in rejected profiles, by rule.\n"
                     "# TYPE profil_rejects_total counter\n");
    for (int k = 0; k <= PF_RULE_COUNT; k++)
        line(out, "profil_rejects_total{rule=\"%s\"} %llu\n",
             k < PF_RULE_COUNT ? pf_rule_name((pf_rule) k) : PF_BODY_RULE_JSON_TYPE,
             (unsigned long long) get(&m->problems[k]));
    line(out,
         "# HELP profil_reloads_total Reloads of model and policy (SIGHUP), by result.\n"
         "# TYPE profil_reloads_total counter\n"
         "profil_reloads_total{result=\"ok\"} %llu\n"
         "profil_reloads_total{result=\"failed\"} %llu\n",
         (unsigned long long) get(&m->reloads), (unsigned long long) get(&m->reload_failures));
    line(out,
         "# HELP profil_http_requests_in_flight Requests received and not yet answered.\n"
         "# TYPE profil_http_requests_in_flight gauge\n"
         "profil_http_requests_in_flight %lld\n"
         "# HELP profil_draining 1 while the service drains before exiting (SIGTERM).\n"
         "# TYPE profil_draining gauge\n"
         "profil_draining %d\n"
         "# HELP profil_start_time_seconds When the service started (Unix time).\n"
         "# TYPE profil_start_time_seconds gauge\n"
         "profil_start_time_seconds %.3f\n",
         (long long) atomic_load_explicit(&m->in_flight, memory_order_relaxed), draining,
         m->started);
    char name[256];
    size_t o = 0;
    for (const char *c = policy_name; *c && o + 3 < sizeof name; c++) {
        if (*c == '\\' || *c == '"' || *c == '\n')
            name[o++] = '\\';
        name[o++] = *c == '\n' ? 'n' : *c;
    }
    name[o] = '\0';
    line(out,
         "# HELP profil_model_info The loaded model and policy (SHA-256 of their files).\n"
         "# TYPE profil_model_info gauge\n"
         "profil_model_info{model_sha256=\"%s\",policy_sha256=\"%s\",policy=\"%s\","
         "generation=\"%u\"} 1\n",
         model_sha256, policy_sha256, name, generation);
}
