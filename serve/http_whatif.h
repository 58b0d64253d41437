/*
 * http_whatif.h - POST /v1/whatif: the what-if library (profil/whatif.h)
 * over HTTP, answering with the same JSON documents it gives
 * `profil whatif --json` (pf_whatif_*_json).
 *
 * The body is a JSON object:
 *   {"profile": {...}}                          the card of one profile
 *   {"profile": {...}, "vary": "alder=20:64:2"} a sweep over one column
 *   {"profile": {...}, "compare": {...}}        two profiles side by side
 *   {"profile": {...}, "reach": "niva=A",       the smallest change that
 *    "max_changes": 2, "alternatives": 4}       reaches a group, level or track
 * A profile is a JSON object of column values as in POST /v1/score; the
 * columns it leaves out take the what-if settings' defaults.
 */
#ifndef PROFIL_HTTP_WHATIF_H
#define PROFIL_HTTP_WHATIF_H

#include <stddef.h>

#include "profil/status.h"
#include "profil/whatif.h"
#include "rowfmt.h"

/* Answers one request: 0 with the JSON document in out, or a negative
 * status with err's message: PF_EFORMAT (not JSON, unknown keys, wrong
 * types), PF_EINVAL and PF_ENOTFOUND (a profile or a spec the library
 * rejects: a 400 either way), PF_ENOMEM. max_profiles bounds a
 * counterfactual search. */
int pf_http_whatif(const pf_whatif *w, const char *body, size_t n, size_t max_profiles, pf_buf *out,
                   pf_error *err);

#endif
