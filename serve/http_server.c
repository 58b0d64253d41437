/*
 * http_server.c - the HTTP scoring service (see http_server.h).
 *
 * A request's life: libmicrohttpd calls handle() once with the headers
 * (the route is matched, the method, token, content type and declared
 * length are checked, and the current bundle is taken), then with each
 * piece of the body (kept up to --max-body), then once more at the end,
 * when the route's handler answers. done() runs when the response has been
 * sent or the connection dropped: it counts the request in the metrics and
 * lets go of the bundle.
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http_audit.h"
#include "http_body.h"
#include "http_metrics.h"
#include "http_whatif.h"
#include "profil/decide.h"

extern const unsigned char pf_openapi_yaml[];
extern const size_t pf_openapi_yaml_len;

struct pf_server {
    const pf_server_config *c;
    struct MHD_Daemon *d;
    _Atomic(pf_bundle *) current;
    atomic_int acquiring; /* requests between reading current and taking a reference */
    unsigned generation;
    pf_audit *audit;
    pf_http_metrics m;
    atomic_int draining;
    char *cert, *key; /* PEM text, for the daemon's lifetime */
    MHD_socket listen_fd;
};

typedef struct request {
    pf_bundle *b;
    pf_route route;
    unsigned status;
    struct timespec t0;
    char *body;
    size_t n, cap;
    int too_large;
} request;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) (t.tv_sec - t0->tv_sec) + (double) (t.tv_nsec - t0->tv_nsec) * 1e-9;
}

/* The current bundle with a reference taken. A reload swaps the pointer
 * and then waits until no request is between reading it and counting its
 * reference before it drops its own, so the bundle read here cannot be
 * freed before the count is raised. */
static pf_bundle *acquire(pf_server *S)
{
    atomic_fetch_add(&S->acquiring, 1);
    pf_bundle *b = atomic_load(&S->current);
    pf_bundle_ref(b);
    atomic_fetch_sub(&S->acquiring, 1);
    return b;
}

/* ---- responses ---- */

static enum MHD_Result send_response(pf_server *S, struct MHD_Connection *c, request *rq,
                                     unsigned status, const char *type, const void *data, size_t n,
                                     enum MHD_ResponseMemoryMode mode, const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *) data, mode);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"profil\"");
    if (atomic_load(&S->draining))
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    rq->status = status;
    return ret;
}

static const char JSON[] = "application/json";

/* {"error": code, "message": message} */
static enum MHD_Result send_error(pf_server *S, struct MHD_Connection *c, request *rq,
                                  unsigned status, const char *code, const char *message,
                                  const char *allow)
{
    pf_buf b = {0};
    pf_buf_puts(&b, "{\"error\":");
    pf_buf_json_str(&b, code, strlen(code));
    pf_buf_puts(&b, ",\"message\":");
    pf_buf_json_str(&b, message, strlen(message));
    pf_buf_puts(&b, "}\n");
    enum MHD_Result ret =
        b.failed ? MHD_NO
                 : send_response(S, c, rq, status, JSON, b.p, b.n, MHD_RESPMEM_MUST_COPY, allow);
    pf_buf_free(&b);
    return ret;
}

/* ---- POST /v1/score ---- */

static void problems_json(pf_buf *o, const pf_body *body)
{
    size_t np = pf_body_profiles(body), nr = pf_body_rejected(body);
    char msg[160];
    snprintf(msg, sizeof msg, "%zu of %zu profile%s rejected; nothing was scored", nr, np,
             np == 1 ? "" : "s");
    pf_buf_puts(o, "{\"error\":\"invalid_profile\",\"message\":");
    pf_buf_json_str(o, msg, strlen(msg));
    pf_buf_puts(o, ",\"profiles\":");
    pf_buf_uint(o, np);
    pf_buf_puts(o, ",\"rejected\":");
    pf_buf_uint(o, nr);
    pf_buf_puts(o, ",\"problems_total\":");
    pf_buf_uint(o, pf_body_problems_total(body));
    pf_buf_puts(o, ",\"problems\":[");
    for (size_t k = 0; k < pf_body_problems(body); k++) {
        pf_body_problem p;
        pf_body_problem_get(body, k, &p);
        pf_buf_puts(o, k ? ",{\"index\":" : "{\"index\":");
        pf_buf_uint(o, p.index);
        pf_buf_puts(o, ",\"column\":");
        if (p.column)
            pf_buf_json_str(o, p.column, strlen(p.column));
        else
            pf_buf_puts(o, "null");
        pf_buf_puts(o, ",\"rule\":");
        pf_buf_json_str(o, p.rule, strlen(p.rule));
        pf_buf_puts(o, ",\"value\":");
        pf_buf_json_str(o, p.value, strlen(p.value));
        pf_buf_puts(o, ",\"message\":");
        pf_buf_json_str(o, p.message, strlen(p.message));
        pf_buf_puts(o, "}");
    }
    pf_buf_puts(o, "]}\n");
}

static enum MHD_Result score(pf_server *S, struct MHD_Connection *c, request *rq)
{
    pf_bundle *b = rq->b;
    pf_scratch *w = pf_bundle_get_scratch(b);
    if (!w)
        return send_error(S, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "out_of_memory", "out of memory",
                          NULL);
    pf_error err = {0};
    enum MHD_Result ret;
    int rc = pf_body_parse(w->body, rq->body ? rq->body : "", rq->n, &err);
    const int64_t *by_rule = pf_body_problems_by_rule(w->body);
    for (int k = 0; k <= PF_RULE_COUNT; k++)
        if (by_rule[k])
            atomic_fetch_add_explicit(&S->m.problems[k], (uint_fast64_t) by_rule[k],
                                      memory_order_relaxed);
    if (rc == PF_EFORMAT) {
        ret = send_error(S, c, rq, MHD_HTTP_BAD_REQUEST, "invalid_json", err.message, NULL);
    } else if (rc == PF_ELIMIT) {
        ret = send_error(S, c, rq, MHD_HTTP_CONTENT_TOO_LARGE, "too_many_profiles", err.message,
                         NULL);
    } else if (rc) {
        ret = send_error(S, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", err.message, NULL);
    } else if (pf_body_rejected(w->body)) {
        atomic_fetch_add_explicit(&S->m.profiles_rejected, pf_body_rejected(w->body),
                                  memory_order_relaxed);
        problems_json(&w->out, w->body);
        ret = w->out.failed ? MHD_NO
                            : send_response(S, c, rq, MHD_HTTP_BAD_REQUEST, JSON, w->out.p,
                                            w->out.n, MHD_RESPMEM_MUST_COPY, NULL);
    } else if (pf_decide(b->decider, pf_body_frame(w->body), 0, pf_body_frame(w->body)->n, w->dec,
                         &err)) {
        ret = send_error(S, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", err.message, NULL);
    } else {
        const pf_frame *f = pf_body_frame(w->body);
        int array = pf_body_is_array(w->body);
        if (array)
            pf_buf_puts(&w->out, "[");
        for (size_t i = 0; i < f->n; i++) {
            if (i)
                w->out.p[w->out.n - 1] = ','; /* the previous row's newline */
            pf_rowfmt_row(&b->rf, &w->out, f, i, &w->dec[i]);
            if (S->audit)
                pf_audit_format(S->audit, &w->audit, "/v1/score", &b->rf, f, i, &w->dec[i]);
        }
        if (array && !w->out.failed)
            w->out.p[w->out.n - 1] = ']';
        if (array)
            pf_buf_puts(&w->out, "\n");
        atomic_fetch_add_explicit(&S->m.profiles_scored, f->n, memory_order_relaxed);
        if (S->audit && pf_audit_write(S->audit, &w->audit)) {
            /* A decision that cannot be audited is not given. */
            ret = send_error(S, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "audit_failed",
                             "the audit log could not be written", NULL);
        } else {
            ret = w->out.failed ? MHD_NO
                                : send_response(S, c, rq, MHD_HTTP_OK, JSON, w->out.p, w->out.n,
                                                MHD_RESPMEM_MUST_COPY, NULL);
        }
    }
    pf_bundle_put_scratch(b, w);
    return ret;
}

/* ---- POST /v1/whatif ---- */

static enum MHD_Result whatif(pf_server *S, struct MHD_Connection *c, request *rq)
{
    pf_buf out = {0};
    pf_error err = {0};
    enum MHD_Result ret;
    int rc = pf_http_whatif(rq->b->whatif, rq->body ? rq->body : "", rq->n,
                            S->c->whatif_max_profiles, &out, &err);
    if (rc == PF_EFORMAT)
        ret = send_error(S, c, rq, MHD_HTTP_BAD_REQUEST, "invalid_request", err.message, NULL);
    else if (rc == PF_EINVAL || rc == PF_ENOTFOUND)
        ret = send_error(S, c, rq, MHD_HTTP_BAD_REQUEST, "invalid_profile", err.message, NULL);
    else if (rc || out.failed)
        ret = send_error(S, c, rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                         rc ? err.message : "out of memory", NULL);
    else
        ret = send_response(S, c, rq, MHD_HTTP_OK, JSON, out.p, out.n, MHD_RESPMEM_MUST_COPY, NULL);
    pf_buf_free(&out);
    return ret;
}

/* ---- the other routes ---- */

static enum MHD_Result readyz(pf_server *S, struct MHD_Connection *c, request *rq)
{
    if (atomic_load(&S->draining))
        return send_error(S, c, rq, MHD_HTTP_SERVICE_UNAVAILABLE, "draining",
                          "the service is shutting down", NULL);
    char text[256];
    int n = snprintf(text, sizeof text,
                     "{\"status\":\"ready\",\"model_id\":\"%s\",\"policy_id\":\"%s\","
                     "\"generation\":%u}\n",
                     rq->b->rf.model_id, rq->b->rf.policy_id, rq->b->generation);
    return send_response(S, c, rq, MHD_HTTP_OK, JSON, text, (size_t) n, MHD_RESPMEM_MUST_COPY,
                         NULL);
}

static enum MHD_Result metrics(pf_server *S, struct MHD_Connection *c, request *rq)
{
    pf_buf b = {0};
    pf_http_metrics_render(&S->m, &b, rq->b->model->sha256, rq->b->policy->sha256,
                           rq->b->policy->name, rq->b->generation, atomic_load(&S->draining));
    enum MHD_Result ret =
        b.failed ? MHD_NO
                 : send_response(S, c, rq, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                 b.p, b.n, MHD_RESPMEM_MUST_COPY, NULL);
    pf_buf_free(&b);
    return ret;
}

static enum MHD_Result answer(pf_server *S, struct MHD_Connection *c, request *rq)
{
    pf_bundle *b = rq->b;
    switch (rq->route) {
    case PF_ROUTE_SCORE:
        return score(S, c, rq);
    case PF_ROUTE_WHATIF:
        return whatif(S, c, rq);
    case PF_ROUTE_MODEL:
        return send_response(S, c, rq, MHD_HTTP_OK, JSON, b->model_doc, b->model_doc_len,
                             MHD_RESPMEM_PERSISTENT, NULL);
    case PF_ROUTE_POLICY:
        return send_response(S, c, rq, MHD_HTTP_OK, JSON, b->policy_doc, b->policy_doc_len,
                             MHD_RESPMEM_PERSISTENT, NULL);
    case PF_ROUTE_HEALTHZ:
        return send_response(S, c, rq, MHD_HTTP_OK, JSON, "{\"status\":\"ok\"}\n", 16,
                             MHD_RESPMEM_PERSISTENT, NULL);
    case PF_ROUTE_READYZ:
        return readyz(S, c, rq);
    case PF_ROUTE_METRICS:
        return metrics(S, c, rq);
    case PF_ROUTE_OPENAPI:
        return send_response(S, c, rq, MHD_HTTP_OK, "application/yaml", pf_openapi_yaml,
                             pf_openapi_yaml_len, MHD_RESPMEM_PERSISTENT, NULL);
    default:
        return send_error(S, c, rq, MHD_HTTP_NOT_FOUND, "not_found", "no such path", NULL);
    }
}

/* ---- checks on the headers ---- */

static int is_post_route(pf_route r)
{
    return r == PF_ROUTE_SCORE || r == PF_ROUTE_WHATIF;
}

static int needs_token(pf_route r)
{
    return r == PF_ROUTE_SCORE || r == PF_ROUTE_WHATIF || r == PF_ROUTE_MODEL ||
           r == PF_ROUTE_POLICY;
}

/* application/json, with no parameter but charset=utf-8. */
static int json_content_type(const char *v)
{
    if (!v || strncasecmp(v, "application/json", 16))
        return 0;
    v += 16;
    while (*v == ' ' || *v == '\t')
        v++;
    if (!*v)
        return 1;
    if (*v++ != ';')
        return 0;
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, "charset=", 8))
        return 0;
    v += 8;
    if (*v == '"')
        v++;
    return !strncasecmp(v, "utf-8", 5) && (!v[5] || v[5] == '"' || v[5] == ' ' || v[5] == ';');
}

/* Checks what the headers alone decide. Returns 1 when a response was
 * queued (an error), 0 to go on, -1 on failure. */
static int check_headers(pf_server *S, struct MHD_Connection *c, request *rq, const char *method)
{
    const char *allow = is_post_route(rq->route) ? "POST" : "GET, HEAD";
    int ok_method = is_post_route(rq->route) ? !strcmp(method, "POST")
                                             : !strcmp(method, "GET") || !strcmp(method, "HEAD");
    enum MHD_Result r = MHD_YES;
    char msg[160];
    if (rq->route == PF_ROUTE_OTHER) {
        r = send_error(S, c, rq, MHD_HTTP_NOT_FOUND, "not_found", "no such path", NULL);
    } else if (!ok_method) {
        snprintf(msg, sizeof msg, "%s takes %s", pf_route_path(rq->route), allow);
        r = send_error(S, c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", msg, allow);
    } else if (needs_token(rq->route) && rq->b->tokens &&
               !pf_tokens_check(rq->b->tokens,
                                MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                            MHD_HTTP_HEADER_AUTHORIZATION))) {
        r = send_error(S, c, rq, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                       "a valid bearer token is required (Authorization: Bearer TOKEN)", NULL);
    } else if (is_post_route(rq->route) && !json_content_type(MHD_lookup_connection_value(
                                               c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE))) {
        r = send_error(S, c, rq, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                       "the body must be JSON: Content-Type: application/json", NULL);
    } else if (is_post_route(rq->route)) {
        const char *len =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (len && strtoull(len, NULL, 10) > S->c->max_body) {
            snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes (--max-body)",
                     S->c->max_body);
            r = send_error(S, c, rq, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", msg, NULL);
        } else {
            return 0;
        }
    } else {
        return 0;
    }
    return r == MHD_YES ? 1 : -1;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    pf_server *S = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &rq->t0);
        *con_cls = rq;
        atomic_fetch_add_explicit(&S->m.in_flight, 1, memory_order_relaxed);
        rq->b = acquire(S);
        rq->route = pf_route_of(url);
        int rc = check_headers(S, c, rq, method);
        /* Even a GET is answered on the next call: a response queued
         * before the request is complete closes the connection. */
        return rc >= 0 ? MHD_YES : MHD_NO;
    }
    if (rq->status) { /* answered from the headers; the rest of the body is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t k = *upload_size;
        *upload_size = 0;
        if (rq->too_large || rq->n + k > S->c->max_body) {
            rq->too_large = 1; /* keep reading, to answer 413 at the end */
            return MHD_YES;
        }
        if (rq->n + k + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 4096;
            while (cap < rq->n + k + 1)
                cap *= 2;
            char *p = realloc(rq->body, cap);
            if (!p)
                return MHD_NO;
            rq->body = p;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->n, upload, k);
        rq->n += k;
        return MHD_YES;
    }
    if (rq->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes (--max-body)",
                 S->c->max_body);
        return send_error(S, c, rq, MHD_HTTP_CONTENT_TOO_LARGE, "body_too_large", msg, NULL);
    }
    return answer(S, c, rq);
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
    pf_server *S = cls;
    request *rq = *con_cls;
    if (!rq)
        return;
    *con_cls = NULL;
    if (rq->status)
        pf_http_metrics_request(&S->m, rq->route, rq->status, seconds_since(&rq->t0));
    pf_bundle_unref(rq->b);
    free(rq->body);
    free(rq);
    atomic_fetch_sub_explicit(&S->m.in_flight, 1, memory_order_relaxed);
}

/* ---- start, reload, stop ---- */

static char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 8192, n = 0, k;
    char *t = malloc(cap);
    while (t && (k = fread(t + n, 1, cap - n - 1, fp)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *u = cap < (1u << 24) ? realloc(t, cap * 2) : NULL;
            if (!u) {
                free(t);
                t = NULL;
                break;
            }
            t = u;
            cap *= 2;
        }
    }
    if (t && ferror(fp)) {
        free(t);
        t = NULL;
    }
    fclose(fp);
    if (t)
        t[n] = '\0';
    return t;
}

static void server_free(pf_server *S)
{
    if (!S)
        return;
    pf_bundle_unref(atomic_load(&S->current));
    pf_audit_close(S->audit);
    if (S->key)
        explicit_bzero(S->key, strlen(S->key));
    free(S->key);
    free(S->cert);
    free(S);
}

int pf_server_start(pf_server **out, const pf_server_config *c)
{
    *out = NULL;
    pf_server *S = calloc(1, sizeof *S);
    if (!S) {
        pf_cli_error("serve", "out of memory");
        return -1;
    }
    S->c = c;
    S->listen_fd = MHD_INVALID_SOCKET;
    pf_http_metrics_init(&S->m);
    S->m.started = (double) time(NULL);
    pf_bundle *b;
    if (pf_bundle_load(&b, &c->bundle, ++S->generation)) {
        free(S);
        return -1;
    }
    atomic_init(&S->current, b);
    pf_error err = {0};
    if (c->audit_log && pf_audit_open(&S->audit, c->audit_log, c->audit_salt, &err)) {
        pf_cli_error("serve", "%s", err.message);
        server_free(S);
        return -1;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (c->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            pf_cli_error("serve", "this libmicrohttpd has no TLS support");
            server_free(S);
            return -1;
        }
        if (!(S->cert = read_text(c->tls_cert)) || !(S->key = read_text(c->tls_key))) {
            pf_cli_error("serve", "cannot read %s", S->cert ? c->tls_key : c->tls_cert);
            server_free(S);
            return -1;
        }
        flags |= MHD_USE_TLS;
    }
    struct sockaddr_in a4 = {0};
    struct sockaddr_in6 a6 = {0};
    struct sockaddr *addr;
    if (inet_pton(AF_INET, c->listen, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t) c->port);
        addr = (struct sockaddr *) &a4;
    } else if (inet_pton(AF_INET6, c->listen, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t) c->port);
        addr = (struct sockaddr *) &a6;
        flags |= MHD_USE_IPv6;
    } else {
        pf_cli_error("serve", "--listen takes an IPv4 or IPv6 address, not '%s'", c->listen);
        server_free(S);
        return -1;
    }
    /* One thread: the internal polling thread alone (a pool of one is refused). */
    struct MHD_OptionItem pool[] = {
        {c->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, c->threads, NULL},
        {MHD_OPTION_END, 0, NULL}};
    struct MHD_OptionItem tls[] = {
        {S->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, S->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, S->key},
        {MHD_OPTION_END, 0, NULL}};
    S->d = MHD_start_daemon(flags, (uint16_t) c->port, NULL, NULL, handle, S, MHD_OPTION_SOCK_ADDR,
                            addr, MHD_OPTION_ARRAY, pool, MHD_OPTION_CONNECTION_TIMEOUT, c->timeout,
                            MHD_OPTION_CONNECTION_LIMIT, c->max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, done, S, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                            1024u, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!S->d) {
        pf_cli_error("serve", "cannot listen on %s port %d: %s", c->listen, c->port,
                     errno ? strerror(errno) : "libmicrohttpd refused the settings");
        server_free(S);
        return -1;
    }
    *out = S;
    return 0;
}

int pf_server_port(const pf_server *S)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(S->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : -1;
}

int pf_server_reload(pf_server *S)
{
    pf_error err = {0};
    if (S->audit && pf_audit_reopen(S->audit, &err))
        pf_cli_error("serve", "%s (the audit log stays open as it was)", err.message);
    pf_bundle *b;
    if (pf_bundle_load(&b, &S->c->bundle, S->generation + 1)) {
        atomic_fetch_add(&S->m.reload_failures, 1);
        pf_cli_error("serve", "reload failed; still serving model %s, policy %s",
                     atomic_load(&S->current)->rf.model_id, atomic_load(&S->current)->rf.policy_id);
        return -1;
    }
    S->generation++;
    pf_bundle *old = atomic_exchange(&S->current, b);
    while (atomic_load(&S->acquiring))
        sched_yield();
    pf_bundle_unref(old);
    atomic_fetch_add(&S->m.reloads, 1);
    if (!S->c->quiet)
        fprintf(stderr, "profil serve: reloaded: model %s, policy %s (%s), generation %u\n",
                b->rf.model_id, b->rf.policy_id, b->policy->name, b->generation);
    return 0;
}

long pf_server_drain_and_stop(pf_server *S, double timeout)
{
    atomic_store(&S->draining, 1);
    S->listen_fd = MHD_quiesce_daemon(S->d);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Twice idle in a row: a keep-alive connection may bring one more
     * request just after the count reached zero. */
    int idle = 0;
    while (idle < 2 && seconds_since(&t0) < timeout) {
        idle = atomic_load(&S->m.in_flight) == 0 ? idle + 1 : 0;
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    long left = (long) atomic_load(&S->m.in_flight);
    MHD_stop_daemon(S->d);
    if (S->listen_fd != MHD_INVALID_SOCKET)
        close(S->listen_fd);
    server_free(S);
    return left;
}
