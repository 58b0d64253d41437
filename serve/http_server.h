/*
 * http_server.h - the HTTP scoring service behind `profil serve`
 * (docs/serve.md, docs/openapi.yaml): libmicrohttpd with a pool of
 * threads, each with its own epoll loop; routes, bearer-token
 * authentication, body limits, the audit log and the metrics; reload and
 * drain.
 *
 * Every decision goes through the same path as `profil score`: the
 * reader's checks (pf_reader_put_fields), pf_decide, and the JSON-lines
 * row formatter, so the service answers with exactly the batch path's
 * bytes for a profile.
 */
#ifndef PROFIL_HTTP_SERVER_H
#define PROFIL_HTTP_SERVER_H

#include <stddef.h>

#include "http_bundle.h"

typedef struct pf_server_config {
    const char *listen; /* IPv4 or IPv6 address */
    int port;           /* 0: any free port */
    int threads;
    size_t max_body;          /* bytes */
    unsigned timeout;         /* idle seconds before a connection is closed */
    unsigned max_connections; /* open at once */
    const char *tls_cert, *tls_key;
    const char *audit_log, *audit_salt;
    size_t whatif_max_profiles; /* profiles one counterfactual search may score */
    int quiet;
    pf_bundle_config bundle;
} pf_server_config;

typedef struct pf_server pf_server;

/* Loads the bundle and starts listening. Errors are printed; returns 0 or
 * -1. The config must outlive the server. */
int pf_server_start(pf_server **out, const pf_server_config *c);

/* The port it listens on. */
int pf_server_port(const pf_server *s);

/* Loads model, policy and tokens again and swaps them in; requests in
 * flight finish with the ones they started with. On failure the old ones
 * stay. Reopens the audit log. Returns 0 or -1. */
int pf_server_reload(pf_server *s);

/* Stops accepting connections, answers what is in flight (responses say
 * "Connection: close"), waits up to timeout seconds for the last request,
 * then stops and frees the server. Returns the requests cut off (0 when
 * the drain was complete). */
long pf_server_drain_and_stop(pf_server *s, double timeout);

#endif
