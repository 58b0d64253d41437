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
#include <stdint.h>

enum { PF_DEC_POINT = 1, PF_DEC_COMMA = 2 };

enum { PF_NUM_OK = 0, PF_NUM_SYNTAX = 1, PF_NUM_OVERFLOW = 2 };

/* Parses s[0..n) under the allowed decimal separators (PF_DEC_* mask).
 * Returns PF_NUM_OK and sets *out, or PF_NUM_SYNTAX / PF_NUM_OVERFLOW. */
int pf_parse_number(const char *s, size_t n, int decimal, double *out);

/* 10^0 .. 10^22, each exact as a double. */
extern const double pf_pow10_exact[23];

/* pf_parse_number for the reader's hot path, telling also the number's
 * form: returns 0 when s is not a number, 1 for a whole number by its form
 * (no fraction digits), 2 otherwise. Numbers as registry exports write
 * them, [-]digits[.digits] with at most fifteen digits, are assembled
 * exactly here and scaled by one exact division, the value
 * pf_parse_number gives; it takes everything else. */
static inline int pf_parse_number_form(const char *s, size_t n, int decimal, double *out)
{
    if (n == 0)
        return 0;
    size_t i = s[0] == '-', digits = 0, frac = 0;
    uint64_t m = 0;
    for (; i < n && (unsigned) (s[i] - '0') < 10; i++, digits++)
        m = m * 10 + (uint64_t) (s[i] - '0');
    if (i < n && digits &&
        ((s[i] == '.' && (decimal & PF_DEC_POINT)) || (s[i] == ',' && (decimal & PF_DEC_COMMA)))) {
        for (i++; i < n && (unsigned) (s[i] - '0') < 10; i++, frac++)
            m = m * 10 + (uint64_t) (s[i] - '0');
        if (frac == 0)
            return 0; /* "5." */
    }
    if (i == n && digits && digits + frac <= 15) {
        double v = frac ? (double) m / pf_pow10_exact[frac] : (double) m;
        *out = s[0] == '-' ? -v : v;
        return frac ? 2 : 1;
    }
    return pf_parse_number(s, n, decimal, out) == PF_NUM_OK ? 2 : 0;
}

#endif
