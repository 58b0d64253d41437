/*
 * numparse.h - internal: strict, locale-independent number parsing for
 * CSV fields. Accepts an optional sign, digits, one decimal separator
 * (point and/or comma as the caller allows) and an exponent; rejects
 * thousands separators, inner spaces, hex, "inf" and "nan". Results are
 * correctly rounded (exact fast path, strtod in the C locale otherwise).
 */
#ifndef PROFIL_NUMPARSE_H
#define PROFIL_NUMPARSE_H

#include <stddef.h>

enum { PF_DEC_POINT = 1, PF_DEC_COMMA = 2 };

enum { PF_NUM_OK = 0, PF_NUM_SYNTAX = 1, PF_NUM_OVERFLOW = 2 };

/* Parses s[0..n) under the allowed decimal separators (PF_DEC_* mask).
 * Returns PF_NUM_OK and sets *out, or PF_NUM_SYNTAX / PF_NUM_OVERFLOW. */
int pf_parse_number(const char *s, size_t n, int decimal, double *out);

#endif
