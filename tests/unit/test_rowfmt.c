/*
 * test_rowfmt.c - the fixed-decimals number writer of the output rows
 * (pf_buf_fixed): cases worked out by hand, with binary fractions so that
 * halves are exact, and random values against glibc's printf, which
 * rounds the exact decimal value, wherever the value is not within a
 * hair of a tie (where rounding the scaled double may differ).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rowfmt.h"

static void expect_fixed(double v, int dec, const char *want)
{
    pf_buf b = {0};
    pf_buf_fixed(&b, v, dec);
    pf_buf_put(&b, "", 1);
    assert_false(b.failed);
    if (strcmp(b.p, want))
        fail_msg("%.17g with %d decimals: '%s', expected '%s'", v, dec, b.p, want);
    pf_buf_free(&b);
}

static void test_fixed_by_hand(void **state)
{
    expect_fixed(0.425031, 6, "0.425031");
    expect_fixed(-0.3022, 4, "-0.3022");
    expect_fixed(28770, 0, "28770");
    expect_fixed(0, 6, "0.000000");
    expect_fixed(0, 0, "0");
    expect_fixed(7, 3, "7.000");
    expect_fixed(123.25, 9, "123.250000000");
    /* Halves, exact in binary, round away from zero. */
    expect_fixed(2.5, 0, "3");
    expect_fixed(-2.5, 0, "-3");
    expect_fixed(0.5, 0, "1");
    expect_fixed(0.125, 2, "0.13");
    expect_fixed(-0.125, 2, "-0.13");
    expect_fixed(1.0625, 3, "1.063");
    /* The largest double below a half is not a half: floor(x + 0.5)
     * would give 1. Halves at 2^52, the last place doubles have them. */
    expect_fixed(0.49999999999999994, 0, "0");
    expect_fixed(4503599627370495.5, 0, "4503599627370496");
    expect_fixed(-4503599627370494.5, 0, "-4503599627370495");
    /* What rounds to zero has no sign. */
    expect_fixed(-0.00004, 4, "0.0000");
    expect_fixed(-0.4, 0, "0");
    /* Carries through every digit. */
    expect_fixed(9.99996, 4, "10.0000");
    expect_fixed(-999.9999996, 6, "-1000.000000");
    /* Beyond 9e15 after scaling, and not finite: printf's text. */
    expect_fixed(1e16, 2, "10000000000000000.00");
    expect_fixed(1e20, 3, "100000000000000000000.000");
    expect_fixed(-2.5e17, 0, "-250000000000000000");
    expect_fixed(INFINITY, 4, "inf");
    expect_fixed(-INFINITY, 0, "-inf");
    expect_fixed(NAN, 6, "nan");
    (void) state;
}

static uint64_t rng = 88172645463325252ULL;

static double uniform(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double) (rng >> 11) / 9007199254740992.0;
}

static void test_fixed_against_printf(void **state)
{
    static const double scale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    int compared = 0;
    for (int i = 0; i < 200000; i++) {
        int dec = (int) (uniform() * 10);
        double mag = pow(10, uniform() * 14 - 8);
        double v = (uniform() - 0.5) * 2 * mag;
        double x = fabs(v) * scale[dec];
        if (x >= 9e15 || fabs(x - floor(x) - 0.5) < 1e-6)
            continue;
        char want[512];
        snprintf(want, sizeof want, "%.*f", dec, v);
        /* printf keeps the sign of a value that rounds to zero. */
        if (want[0] == '-' && strspn(want + 1, "0.") == strlen(want + 1))
            memmove(want, want + 1, strlen(want));
        expect_fixed(v, dec, want);
        compared++;
    }
    assert_true(compared > 190000);
    (void) state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_by_hand),
        cmocka_unit_test(test_fixed_against_printf),
    };
    return cmocka_run_group_tests_name("rowfmt", tests, NULL, NULL);
}
