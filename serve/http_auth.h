/*
 * http_auth.h - bearer tokens for the service's /v1/ routes.
 *
 * The token file holds one token per line (blank lines and lines starting
 * with '#' are skipped; spaces around a token are trimmed). Only the
 * SHA-256 of each token is kept, and a presented token is compared by its
 * hash with every stored hash, each comparison in constant time and none
 * skipped, so the time taken says nothing about how much of a token was
 * right or which one matched.
 */
#ifndef PROFIL_HTTP_AUTH_H
#define PROFIL_HTTP_AUTH_H

#include <stddef.h>

#include "profil/status.h"

typedef struct pf_tokens pf_tokens;

/* Loads a token file; a file with no token is an error (PF_EFORMAT). */
int pf_tokens_load(pf_tokens **out, const char *path, pf_error *err);

/* Accepts NULL. */
void pf_tokens_free(pf_tokens *t);

/* Whether an Authorization header value ("Bearer TOKEN"; NULL when the
 * request has none) carries one of the tokens. */
int pf_tokens_check(const pf_tokens *t, const char *authorization);

#endif
