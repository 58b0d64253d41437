/*
 * numparse.c - strict number parsing (see numparse.h).
 *
 * Registry exports are mostly short integers ("58", "412") and short
 * decimals ("7,4"). Those are assembled exactly in a uint64 mantissa and
 * scaled by an exact power of ten (Clinger's fast path: both operands are
 * exact doubles, so one IEEE operation rounds correctly). Anything longer
 * is rewritten with '.' and handed to strtod, which rounds correctly in
 * the C locale profil always runs in.
 */
#include "numparse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

const double pf_pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int pf_parse_number(const char *s, size_t n, int decimal, double *out)
{
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    uint64_t mant = 0;
    int sig = 0;     /* significant digits collected in mant */
    int dropped = 0; /* integer digits beyond 19 significant */
    int frac_digits = 0;
    int ndigits = 0;
    int exact = 1;
    for (; i < n && is_digit(s[i]); i++, ndigits++) {
        if (sig < 19) {
            if (mant || s[i] != '0') {
                mant = mant * 10 + (uint64_t) (s[i] - '0');
                sig++;
            }
        } else {
            dropped++;
            exact = 0;
        }
    }
    if (i < n &&
        ((s[i] == '.' && (decimal & PF_DEC_POINT)) || (s[i] == ',' && (decimal & PF_DEC_COMMA)))) {
        size_t dot = i++;
        size_t start = i;
        for (; i < n && is_digit(s[i]); i++, ndigits++) {
            if (sig < 19) {
                if (mant || s[i] != '0')
                    sig++;
                mant = mant * 10 + (uint64_t) (s[i] - '0');
                frac_digits++;
            } else {
                exact = 0;
            }
        }
        /* "5." and ".5" are accepted by strtod but are not what a registry
         * export writes; require digits on both sides of the separator. */
        if (i == start || dot == 0 || !is_digit(s[dot - 1]))
            return PF_NUM_SYNTAX;
    }
    if (ndigits == 0)
        return PF_NUM_SYNTAX;
    long exp10 = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        size_t start = i;
        for (; i < n && is_digit(s[i]); i++)
            if (exp10 < 100000)
                exp10 = exp10 * 10 + (s[i] - '0');
        if (i == start)
            return PF_NUM_SYNTAX;
        if (eneg)
            exp10 = -exp10;
    }
    if (i != n)
        return PF_NUM_SYNTAX;

    long scale = exp10 - frac_digits + dropped;
    double v;
    if (exact && mant < (1ULL << 53) && scale >= -22 && scale <= 22) {
        v = (double) mant;
        v = scale < 0 ? v / pf_pow10_exact[-scale] : v * pf_pow10_exact[scale];
    } else {
        char buf[512];
        if (n >= sizeof buf)
            return PF_NUM_SYNTAX;
        memcpy(buf, s, n);
        buf[n] = '\0';
        char *comma = memchr(buf, ',', n);
        if (comma)
            *comma = '.';
        v = fabs(strtod(buf, NULL));
    }
    if (!isfinite(v))
        return PF_NUM_OVERFLOW;
    *out = neg ? -v : v;
    return PF_NUM_OK;
}
