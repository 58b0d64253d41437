/*
 * test_plot.c - the report's plotting layer and encoders: tick positions
 * worked out by hand, base64 against the test vectors of RFC 4648, a PNG
 * of the size asked for, and the same bytes for the same drawing.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plot.h"
#include "report.h"

static void expect_ticks(double lo, double hi, size_t max, size_t n, const double *want)
{
    double t[16];
    size_t got = pf_plot_ticks(lo, hi, max, t);
    assert_int_equal(got, n);
    for (size_t k = 0; k < n; k++)
        assert_true(fabs(t[k] - want[k]) <= 1e-12);
}

static void ticks(void **state)
{
    (void) state;
    /* range 1 in at most 7 ticks: raw step 1/6, rounded up to 0.2 */
    expect_ticks(0, 1, 7, 6, (const double[]){0, 0.2, 0.4, 0.6, 0.8, 1.0});
    /* 0.74 in at most 5: raw 0.185 -> 0.2; the ends 0.13 and 0.87 are not ticks */
    expect_ticks(0.13, 0.87, 5, 4, (const double[]){0.2, 0.4, 0.6, 0.8});
    /* 50 in at most 6: raw 10 -> 10; -3 gives no tick below 0, and 0 is not -0 */
    expect_ticks(-3, 47, 6, 5, (const double[]){0, 10, 20, 30, 40});
    /* a narrow range: raw 0.0005 -> 5e-4, both ends ticks within tolerance */
    expect_ticks(2.385, 2.386, 3, 3, (const double[]){2.385, 2.3855, 2.386});
    /* percent axis of shares: 0..0.35 in 7 -> 0.05 */
    expect_ticks(0, 0.35, 8, 8, (const double[]){0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35});
    double t[4];
    assert_int_equal(pf_plot_ticks(1, 1, 5, t), 0);
    assert_int_equal(pf_plot_ticks(2, 1, 5, t), 0);
    assert_int_equal(pf_plot_ticks(0, 1, 1, t), 0);
}

static void base64(void **state)
{
    (void) state;
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int k = 0; k < 7; k++) {
        char *s = pf_base64((const unsigned char *) in[k], strlen(in[k]));
        assert_non_null(s);
        assert_string_equal(s, out[k]);
        free(s);
    }
    const unsigned char hi[] = {0xff, 0xfe, 0x00};
    char *s = pf_base64(hi, 3);
    assert_string_equal(s, "//4A");
    free(s);
}

static unsigned char *draw(size_t *n)
{
    pf_plot *p;
    pf_error err;
    assert_int_equal(pf_plot_new(&p, 321, 123, "Å ä ö", PF_PLOT_LEGEND_RIGHT, &err), 0);
    pf_plot_axes(p, 0, 1, 0, 0.5, "x", "y", 0, 1);
    double x[] = {0, 0.5, 1}, y[] = {0.1, NAN, 0.4};
    pf_plot_line(p, x, y, 3, 0, 0, "a line with a long legend label that must be shortened");
    pf_plot_points(p, x, y, y, y, 3, 1, "points");
    unsigned char *png;
    assert_int_equal(pf_plot_png(p, &png, n, &err), 0);
    pf_plot_free(p);
    return png;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
}

static void png(void **state)
{
    (void) state;
    size_t n1, n2;
    unsigned char *a = draw(&n1), *b = draw(&n2);
    assert_true(n1 > 33);
    assert_memory_equal(a, "\x89PNG\r\n\x1a\n", 8);
    assert_memory_equal(a + 12, "IHDR", 4);
    assert_int_equal(be32(a + 16), 321); /* width */
    assert_int_equal(be32(a + 20), 123); /* height */
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1); /* the same drawing, the same bytes */
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ticks),
        cmocka_unit_test(base64),
        cmocka_unit_test(png),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    pf_plot_release();
    return failed;
}
