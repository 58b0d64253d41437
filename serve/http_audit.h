/*
 * http_audit.h - the optional audit log of the HTTP service: one JSON line
 * per decision with the time, the route, a salted hash of the person's id
 * (never the id itself), the model and policy ids, and the outputs
 * (p, group, level or track, target groups, eligibility and the failed
 * rule).
 *
 * The id hash is HMAC-SHA256 keyed with the salt, in hex (32 digits, the
 * first 128 bits): the same id gives the same hash under the same salt, so
 * an auditor holding the salt can find one person's decisions, and nobody
 * without it can test guessed identity numbers against the log. The salt
 * comes from a file (--audit-salt-file) or, without one, from the system's
 * random source at start: then hashes cannot be linked across restarts.
 *
 * Lines are appended (O_APPEND), each with one write(2), so concurrent
 * requests never interleave within a line. The file is reopened on
 * SIGHUP, for log rotation.
 */
#ifndef PROFIL_HTTP_AUDIT_H
#define PROFIL_HTTP_AUDIT_H

#include <stddef.h>

#include "profil/decide.h"
#include "profil/status.h"
#include "rowfmt.h"

typedef struct pf_audit pf_audit;

/* Opens (creates, mode 0600) the log at path for appending. salt_path may
 * be NULL for a random salt. */
int pf_audit_open(pf_audit **out, const char *path, const char *salt_path, pf_error *err);

/* Reopens the same path (after rotation). On failure the old file stays. */
int pf_audit_reopen(pf_audit *a, pf_error *err);

/* Accepts NULL. */
void pf_audit_close(pf_audit *a);

/* The id's hash: 32 hex digits and a NUL. */
void pf_audit_id_hash(const pf_audit *a, const char *id, size_t n, char out[33]);

/* Appends the line of row i of f, decided as x, to b: time, route and
 * id_hash first, then the members of the row's JSON-lines decision after
 * its id (rf must be a JSON-lines formatter). */
void pf_audit_format(const pf_audit *a, pf_buf *b, const char *route, const pf_rowfmt *rf,
                     const pf_frame *f, size_t i, const pf_decision *x);

/* Writes b's lines to the log with one write; 0 or -1. */
int pf_audit_write(pf_audit *a, const pf_buf *b);

#endif
