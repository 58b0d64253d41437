/*
 * csvout.h - writing CSV fields: quoted only when they must be (RFC 4180:
 * a field holding the delimiter, a quote, CR or LF), quotes doubled.
 */
#ifndef PROFIL_CSVOUT_H
#define PROFIL_CSVOUT_H

#include <stddef.h>

#include "profil/outfile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends s[0..n) as one CSV field (no delimiter). */
/* Whether a field of n bytes must be quoted (it holds the delimiter, a
 * quote or a line break). */
int pf_csv_needs_quotes(const char *s, size_t n, char delimiter);

int pf_csv_put_field(pf_outfile *o, const char *s, size_t n, char delimiter);

/* The same for a NUL-terminated string; NULL writes an empty field. */
int pf_csv_put_str(pf_outfile *o, const char *s, char delimiter);

#ifdef __cplusplus
}
#endif
#endif
