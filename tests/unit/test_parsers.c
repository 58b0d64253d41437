/*
 * test_parsers.c - the small parsers and writers under the reader: strict
 * number parsing, personal identity number detection, UTF-8 validation,
 * the string map, reference tables, CSV field quoting and atomic output
 * files.
 *
 * Expected values are worked out by hand (Luhn sums, UTF-8 byte patterns,
 * correctly rounded decimals as the C compiler reads them), not taken from
 * the code under test.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "profil/hash.h"
#include "numparse.h"
#include "pnr.h"
#include "profil/csvout.h"
#include "profil/outfile.h"
#include "profil/table.h"
#include "readertest.h"
#include "strmap.h"
#include "utf8.h"

/* ---- numbers ---------------------------------------------------------- */

static int parse(const char *s, int decimal, double *v)
{
    return pf_parse_number(s, strlen(s), decimal, v);
}

#define BOTH (PF_DEC_POINT | PF_DEC_COMMA)

static void test_number_plain(void **state)
{
    double v;
    assert_int_equal(parse("58", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 58.0);
    assert_int_equal(parse("-12", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, -12.0);
    assert_int_equal(parse("+3", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 3.0);
    assert_int_equal(parse("007", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 7.0);
    assert_int_equal(parse("2.385", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 2.385);
    assert_int_equal(parse("0.1", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 0.1);
    assert_int_equal(parse("-0.000125", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, -0.000125);
    assert_int_equal(parse("3.0", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 3.0);
    (void) state;
}

static void test_number_decimal_separators(void **state)
{
    double v;
    assert_int_equal(parse("7,4", PF_DEC_COMMA, &v), PF_NUM_OK);
    assert_num(v, 7.4);
    assert_int_equal(parse("7,4", BOTH, &v), PF_NUM_OK);
    assert_num(v, 7.4);
    assert_int_equal(parse("7.4", BOTH, &v), PF_NUM_OK);
    assert_num(v, 7.4);
    assert_int_equal(parse("2,5e1", PF_DEC_COMMA, &v), PF_NUM_OK);
    assert_num(v, 25.0);
    /* Only the allowed separator. */
    assert_int_equal(parse("7,4", PF_DEC_POINT, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("7.4", PF_DEC_COMMA, &v), PF_NUM_SYNTAX);
    /* Thousands separators in either convention. */
    assert_int_equal(parse("1.234,5", BOTH, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("1,234.5", BOTH, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("1,2,3", BOTH, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("1..2", BOTH, &v), PF_NUM_SYNTAX);
    /* Digits are required on both sides of the separator. */
    assert_int_equal(parse("5.", PF_DEC_POINT, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse(".5", PF_DEC_POINT, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("-.5", PF_DEC_POINT, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse(",5", PF_DEC_COMMA, &v), PF_NUM_SYNTAX);
    (void) state;
}

static void test_number_exponent(void **state)
{
    double v;
    assert_int_equal(parse("1e5", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 100000.0);
    assert_int_equal(parse("2.5E-3", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 0.0025);
    assert_int_equal(parse("-4.75e+2", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, -475.0);
    assert_int_equal(parse("1e", PF_DEC_POINT, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("1e+", PF_DEC_POINT, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("e5", PF_DEC_POINT, &v), PF_NUM_SYNTAX);
    assert_int_equal(parse("1e400", PF_DEC_POINT, &v), PF_NUM_OVERFLOW);
    assert_int_equal(parse("-1e400", PF_DEC_POINT, &v), PF_NUM_OVERFLOW);
    (void) state;
}

static void test_number_rejects_text(void **state)
{
    static const char *const bad[] = {"",         "-",   "+",    "4 5",  " 45",   "45 ",
                                      "0x10",     "inf", "-inf", "nan",  "NaN",   "Inf",
                                      "Infinity", "+-1", "--1",  "1-",   "12a",   "a12",
                                      "1_000",    "½",   "١٢",   "1e5x", "0b101", "1.5.2"};
    double v = 123.0;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (parse(bad[i], BOTH, &v) != PF_NUM_SYNTAX)
            fail_msg("'%s' was accepted as %.17g", bad[i], v);
    }
    assert_num(v, 123.0); /* never written on failure */
    (void) state;
}

static void test_number_rounding(void **state)
{
    double v;
    /* Longer than the exact fast path: the C compiler's correctly rounded
     * reading of the same literal is the reference. */
    assert_int_equal(parse("123456789012345678901234567890", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 123456789012345678901234567890.0);
    assert_int_equal(parse("0.30000000000000004", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 0.30000000000000004);
    /* 2^53 + 1 is a tie between 2^53 and 2^53 + 2: rounds to even. */
    assert_int_equal(parse("9007199254740993", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 9007199254740992.0);
    assert_int_equal(parse("3,14159265358979323846", PF_DEC_COMMA, &v), PF_NUM_OK);
    assert_num(v, 3.14159265358979323846);
    assert_int_equal(parse("1e-22", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 1e-22);
    assert_int_equal(parse("1.7976931348623157e308", PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 1.7976931348623157e308);
    /* Only the first n bytes count. */
    assert_int_equal(pf_parse_number("12345", 2, PF_DEC_POINT, &v), PF_NUM_OK);
    assert_num(v, 12.0);
    (void) state;
}

/* ---- personal identity numbers ------------------------------------------ */

static int pnr(const char *s)
{
    return pf_pnr_contains(s, strlen(s));
}

static void test_pnr_detected(void **state)
{
    /* 811218-9876: Luhn over 8112189876 with weights 2,1,2,...:
     * 16→7, 1, 2, 2, 2, 8, 18→9, 8, 14→5, 6 = 50, a multiple of 10. */
    assert_true(pnr("811218-9876"));
    assert_true(pnr("8112189876"));
    assert_true(pnr("811218+9876")); /* 100 years or older */
    assert_true(pnr("19811218-9876"));
    assert_true(pnr("198112189876"));
    assert_true(pnr("20811218-9876"));
    /* Coordination number: day 18 + 60 = 78; 7,1,2,2,5,8,9,8,5 = 47, so
     * the check digit is 3. */
    assert_true(pnr("811278-9873"));
    assert_true(pnr("198112789873"));
    /* Inside text. */
    assert_true(pnr("ring 811218-9876 idag"));
    assert_true(pnr("id:8112189876."));
    /* 29 February: 000229-1235 (0,0,0,2,4,9,2,2,6 = 25, check 5); without
     * a century any year may be a leap year; 2000 is one. */
    assert_true(pnr("000229-1235"));
    assert_true(pnr("20000229-1235"));
    (void) state;
}

static void test_pnr_not_detected(void **state)
{
    assert_false(pnr("811218-9875"));    /* Luhn sum 49 */
    assert_false(pnr("8112189875"));     /* Luhn sum 49 */
    assert_false(pnr("811318-9875"));    /* month 13 (its Luhn sum is 50) */
    assert_false(pnr("811200-9874"));    /* day 0 */
    assert_false(pnr("810231-9876"));    /* 31 February */
    assert_false(pnr("19000229-1235"));  /* 1900 was not a leap year */
    assert_false(pnr("17811218-9876"));  /* no such century */
    assert_false(pnr("81121898761"));    /* 11-digit run */
    assert_false(pnr("08112189876"));    /* 11-digit run holding a valid 10 */
    assert_false(pnr("1981121898760"));  /* 13-digit run */
    assert_false(pnr("81121898760000")); /* 14-digit account number */
    assert_false(pnr("811218-98761"));   /* five serial digits */
    assert_false(pnr("811218 9876"));    /* a space is not a separator */
    assert_false(pnr("811218--9876"));
    assert_false(pnr("123456789"));
    assert_false(pnr(""));
    /* Only the first n bytes are scanned. */
    assert_false(pf_pnr_contains("811218-9876", 10));
    (void) state;
}

/* SHA-256 test vectors from FIPS 180-2, appendix B. */
static void test_sha256(void **state)
{
    char hex[PF_SHA256_HEX];
    pf_sha256 h;
    pf_sha256_init(&h);
    pf_sha256_update(&h, "abc", 3);
    pf_sha256_hex(&h, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pf_sha256_init(&h);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    pf_sha256_update(&h, two, 20); /* in two pieces: the state carries over */
    pf_sha256_update(&h, two + 20, strlen(two) - 20);
    pf_sha256_hex(&h, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    (void) state;
}

/* In a numeric column a fraction's digits are not an identity number, but
 * the integer part still is scanned. 8112189876 passes the Luhn check. */
static void test_pnr_in_numbers(void **state)
{
    assert_true(pf_pnr_contains("0.8112189876", 12));
    assert_false(pf_pnr_contains_number("0.8112189876", 12));
    assert_false(pf_pnr_contains_number("0,198112189876", 14));
    assert_true(pf_pnr_contains_number("8112189876", 10));
    assert_true(pf_pnr_contains_number("8112189876.0", 12));
    assert_true(pf_pnr_contains_number("811218-9876", 11));
    (void) state;
}

/* ---- UTF-8 -------------------------------------------------------------- */

static int valid(const char *s)
{
    return pf_utf8_valid(s, strlen(s));
}

static void test_utf8_valid(void **state)
{
    assert_true(valid(""));
    assert_true(valid("Upplands Väsby"));
    assert_true(valid("\xC3\xA5\xC3\xA4\xC3\xB6"));       /* åäö */
    assert_true(valid("\xE2\x82\xAC"));                   /* € U+20AC */
    assert_true(valid("\xF0\x9D\x84\x9E"));               /* U+1D11E */
    assert_true(valid("\xF4\x8F\xBF\xBF"));               /* U+10FFFF, the last */
    assert_true(valid("\xED\x9F\xBF"));                   /* U+D7FF, before surrogates */
    assert_true(valid("\xEE\x80\x80"));                   /* U+E000, after them */
    assert_true(valid("\xC2\x80"));                       /* U+0080, shortest 2-byte */
    assert_true(valid("\xE0\xA0\x80"));                   /* U+0800, shortest 3-byte */
    assert_true(valid("\xF0\x90\x80\x80"));               /* U+10000, shortest 4-byte */
    assert_true(valid("abcdefgh\xC3\xA5ijklmnopqrstuv")); /* across the 8-byte path */
    assert_true(pf_utf8_valid("a\0b", 3));                /* NUL is valid UTF-8 */
    (void) state;
}

static void test_utf8_invalid(void **state)
{
    static const char *const bad[] = {
        "\xC0\xAF",         /* overlong '/' */
        "\xC1\xBF",         /* overlong */
        "\xE0\x80\xAF",     /* overlong 3-byte */
        "\xE0\x9F\xBF",     /* overlong 3-byte, top */
        "\xF0\x8F\xBF\xBF", /* overlong 4-byte */
        "\xED\xA0\x80",     /* surrogate U+D800 */
        "\xED\xBF\xBF",     /* surrogate U+DFFF */
        "\xF4\x90\x80\x80", /* U+110000 */
        "\xF5\x80\x80\x80", /* beyond Unicode */
        "\xFF",
        "\xFE",
        "\x80", /* lone continuation */
        "a\xBF",
        "\xC3",         /* truncated */
        "\xE2\x82",     /* truncated */
        "\xF0\x9D\x84", /* truncated */
        "\xC3\x28",     /* bad continuation */
        "\xE2\x28\xA1",
        "\xE2\x82\x28",
        "abcdefg\x80",         /* last byte of a word */
        "abcdefgh\x80",        /* first byte after a word */
        "abcdefghijklmno\xFF", /* end of the second word */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (valid(bad[i]))
            fail_msg("case %zu was accepted", i);
    /* A sequence cut by the length. */
    assert_false(pf_utf8_valid("\xC3\xA5", 1));
    (void) state;
}

/* ---- string map --------------------------------------------------------- */

static void test_strmap(void **state)
{
    pf_strmap m;
    pf_strmap_init(&m);
    assert_int_equal(pf_strmap_get(&m, "x", 1), -1); /* empty */
    assert_int_equal(pf_strmap_put(&m, "0114", 4, 7), 0);
    assert_int_equal(pf_strmap_put(&m, "01", 2, 3), 0);
    assert_int_equal(pf_strmap_put(&m, "", 0, 11), 0);
    assert_int_equal(pf_strmap_get(&m, "0114", 4), 7);
    assert_int_equal(pf_strmap_get(&m, "01", 2), 3);
    assert_int_equal(pf_strmap_get(&m, "0114", 2), 3); /* the length decides */
    assert_int_equal(pf_strmap_get(&m, "", 0), 11);
    assert_int_equal(pf_strmap_get(&m, "011", 3), -1);
    /* Keys are byte strings: NUL inside is part of the key. */
    assert_int_equal(pf_strmap_put(&m, "a\0b", 3, 5), 0);
    assert_int_equal(pf_strmap_get(&m, "a\0b", 3), 5);
    assert_int_equal(pf_strmap_get(&m, "a", 1), -1);
    /* A second put keeps the first value. */
    assert_int_equal(pf_strmap_put(&m, "0114", 4, 99), 1);
    assert_int_equal(pf_strmap_get(&m, "0114", 4), 7);
    assert_int_equal(m.size, 4);

    /* Enough keys to grow the table several times. */
    char key[16];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(pf_strmap_put(&m, key, (size_t) n, i * 3), 0);
    }
    assert_int_equal(m.size, 5004);
    assert_true(m.cap >= 2 * m.size); /* load factor at most one half */
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(pf_strmap_get(&m, key, (size_t) n), i * 3);
    }
    assert_int_equal(pf_strmap_get(&m, "k5000", 5), -1);
    assert_int_equal(pf_strmap_get(&m, "0114", 4), 7);

    /* Every length from 1 to 20, as prefixes of each other, and keys that
     * differ only in their last byte or only past their eighth: short keys
     * are compared as packed words, long ones also byte by byte. */
    pf_strmap p;
    pf_strmap_init(&p);
    const char *base = "abcdefghijklmnopqrst";
    char alt[24];
    for (size_t n = 1; n <= 20; n++) {
        memcpy(alt, base, n);
        alt[n - 1] = 'Z';
        assert_int_equal(pf_strmap_put(&p, base, n, (int32_t) n), 0);
        assert_int_equal(pf_strmap_put(&p, alt, n, (int32_t) (100 + n)), 0);
        alt[n - 1] = '\0';
        assert_int_equal(pf_strmap_put(&p, alt, n, (int32_t) (200 + n)), 0);
    }
    for (size_t n = 1; n <= 20; n++) {
        memcpy(alt, base, n);
        assert_int_equal(pf_strmap_get(&p, base, n), (int32_t) n);
        alt[n - 1] = 'Z';
        assert_int_equal(pf_strmap_get(&p, alt, n), (int32_t) (100 + n));
        alt[n - 1] = '\0';
        assert_int_equal(pf_strmap_get(&p, alt, n), (int32_t) (200 + n));
        alt[n - 1] = 'Y';
        assert_int_equal(pf_strmap_get(&p, alt, n), -1);
    }
    assert_int_equal(p.size, 60);
    pf_strmap_clear(&p);
    pf_strmap_clear(&m);
    assert_int_equal(m.size, 0);
    assert_int_equal(pf_strmap_get(&m, "0114", 4), -1);
    /* Usable again after clear. */
    assert_int_equal(pf_strmap_put(&m, "SE", 2, 0), 0);
    assert_int_equal(pf_strmap_get(&m, "SE", 2), 0);
    pf_strmap_clear(&m);
    (void) state;
}

/* ---- reference tables --------------------------------------------------- */

typedef struct dirstate {
    char *dir;
} dirstate;

static int dir_setup(void **state)
{
    dirstate *d = calloc(1, sizeof *d);
    d->dir = make_tmpdir();
    *state = d;
    return 0;
}

static int dir_teardown(void **state)
{
    dirstate *d = *state;
    rm_tmpdir(d->dir);
    free(d);
    return 0;
}

static char *path_in(void **state, const char *name)
{
    dirstate *d = *state;
    char *p;
    assert_true(asprintf(&p, "%s/%s", d->dir, name) > 0);
    return p;
}

static int load_table_text(void **state, const char *text, pf_table **t, pf_error *err)
{
    char *p = path_in(state, "t.csv");
    write_file(p, text, strlen(text));
    pf_error_clear(err);
    int rc = pf_table_load(t, p, err);
    free(p);
    return rc;
}

static void test_table_valid(void **state)
{
    pf_table *t;
    pf_error err;
    /* BOM, quoted field with the delimiter, CRLF, UTF-8, no final line end. */
    int rc = load_table_text(state,
                             "\xEF\xBB\xBFkod,namn,lan\r\n"
                             "0114,Upplands V\xC3\xA4sby,01\r\n"
                             "1280,\"Malm\xC3\xB6, stad\",12\r\n"
                             "2480,Ume\xC3\xA5,\"24\"",
                             &t, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(t->ncols, 3);
    assert_int_equal(t->nrows, 3);
    assert_string_equal(t->names[0], "kod");
    assert_int_equal(pf_table_column(t, "kod"), 0);
    assert_int_equal(pf_table_column(t, "lan"), 2);
    assert_int_equal(pf_table_column(t, "namn"), 1);
    assert_int_equal(pf_table_column(t, "Kod"), -1);
    assert_string_equal(pf_table_cell(t, 0, 1), "Upplands V\xC3\xA4sby");
    assert_string_equal(pf_table_cell(t, 1, 1), "Malm\xC3\xB6, stad");
    assert_string_equal(pf_table_cell(t, 2, 0), "2480");
    assert_string_equal(pf_table_cell(t, 2, 2), "24");
    pf_table_free(t);

    /* A header alone is a table of no rows. */
    assert_int_equal(load_table_text(state, "a,b\n", &t, &err), 0);
    assert_int_equal(t->ncols, 2);
    assert_int_equal(t->nrows, 0);
    pf_table_free(t);
    pf_table_free(NULL);
}

static void test_table_errors(void **state)
{
    pf_table *t = (pf_table *) 1;
    pf_error err;
    char *missing = path_in(state, "nope.csv");
    assert_int_equal(pf_table_load(&t, missing, &err), PF_ENOTFOUND);
    assert_null(t);
    assert_contains(err.message, "nope.csv");
    free(missing);

    assert_int_equal(load_table_text(state, "a,b,c\n1,2,3\n4,5\n", &t, &err), PF_EFORMAT);
    assert_null(t);
    assert_contains(err.message, "record 3 has 2 fields, header has 3");
    assert_int_equal(load_table_text(state, "a,b\n1,2,3\n", &t, &err), PF_EFORMAT);
    assert_contains(err.message, "record 2 has 3 fields, header has 2");
    /* Invalid UTF-8 after a good field of the same record (nothing leaks). */
    assert_int_equal(load_table_text(state, "a,b\n1,2\n3,\xC3\x28\n", &t, &err), PF_EFORMAT);
    assert_contains(err.message, "record 3 field 2: invalid UTF-8");
    assert_int_equal(load_table_text(state, "a,\xFF\n", &t, &err), PF_EFORMAT);
    assert_contains(err.message, "record 1 field 2");
    /* Strict quoting: unterminated, and a quote inside an unquoted field. */
    assert_int_equal(load_table_text(state, "a,b\n1,\"2\n", &t, &err), PF_EFORMAT);
    assert_int_equal(load_table_text(state, "a,b\n1,2\"x\"\n", &t, &err), PF_EFORMAT);
    assert_contains(err.message, "malformed CSV");
    assert_int_equal(load_table_text(state, "", &t, &err), PF_EFORMAT);
    assert_contains(err.message, "empty");
    assert_null(t);
}

/* ---- CSV fields and output files ---------------------------------------- */

static void test_csvout_quoting(void **state)
{
    char *p = path_in(state, "out.csv");
    pf_outfile *o;
    pf_error err;
    assert_int_equal(pf_outfile_open(&o, p, &err), 0);
    assert_string_equal(pf_outfile_path(o), p);
    const char *fields[] = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r",
                            "",      NULL,  "semi;colon", "\"",         "tab\there"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        if (i)
            assert_int_equal(pf_outfile_write(o, ",", 1), 0);
        assert_int_equal(pf_csv_put_str(o, fields[i], ','), 0);
    }
    assert_int_equal(pf_outfile_puts(o, "\n"), 0);
    /* With ';' as delimiter a comma needs no quotes but ';' does. */
    assert_int_equal(pf_csv_put_str(o, "1,5", ';'), 0);
    assert_int_equal(pf_outfile_write(o, ";", 1), 0);
    assert_int_equal(pf_csv_put_str(o, "a;b", ';'), 0);
    assert_int_equal(pf_outfile_write(o, "\n", 1), 0);
    /* Length-bounded: only the first 3 bytes of "x\"yz". */
    assert_int_equal(pf_csv_put_field(o, "x\"yz", 3, ','), 0);
    assert_int_equal(pf_outfile_printf(o, "|%d|%s\n", 42, "end"), 0);
    assert_int_equal(pf_outfile_commit(o, &err), 0);

    size_t n;
    char *got = read_file(p, &n);
    assert_string_equal(got, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"cr\r\",,,"
                             "semi;colon,\"\"\"\",tab\there\n"
                             "1,5;\"a;b\"\n"
                             "\"x\"\"y\"|42|end\n");
    free(got);
    free(p);
}

static size_t count_entries(void **state)
{
    dirstate *d = *state;
    DIR *dir = opendir(d->dir);
    assert_non_null(dir);
    size_t k = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        k += e->d_name[0] != '.';
    closedir(dir);
    return k;
}

/* Pieces small and large (past the buffer, written as they are) across
 * several write-behind windows, with write-behind and without: the file
 * holds exactly what was written. */
static void test_outfile_large_pieces(void **state)
{
    char *p = path_in(state, "big.csv");
    pf_outfile *o;
    pf_error err;
    enum { TOTAL = 20 << 20 };
    static const size_t piece[] = {1, 700000, 3, 1 << 20, 524288, 17, 524287, 2 << 20};
    unsigned char *want = malloc(TOTAL);
    assert_non_null(want);
    uint64_t x = 12345;
    for (size_t i = 0; i < TOTAL; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        want[i] = (unsigned char) (x >> 56);
    }
    for (int behind = 0; behind < 2; behind++) {
        assert_int_equal(pf_outfile_open(&o, p, &err), 0);
        if (behind)
            pf_outfile_write_behind(o);
        size_t at = 0;
        for (size_t k = 0; at < TOTAL; k++) {
            size_t n = piece[(k + (size_t) behind) % (sizeof piece / sizeof *piece)];
            if (n > TOTAL - at)
                n = TOTAL - at;
            assert_int_equal(pf_outfile_write(o, want + at, n), 0);
            at += n;
        }
        assert_int_equal(pf_outfile_commit(o, &err), 0);
        size_t n;
        char *got = read_file(p, &n);
        assert_int_equal(n, TOTAL);
        assert_memory_equal(got, want, TOTAL);
        free(got);
    }
    free(want);
    unlink(p);
    free(p);
}

static void test_outfile_atomic(void **state)
{
    char *p = path_in(state, "result.csv");
    pf_outfile *o;
    pf_error err;
    struct stat st;
    mode_t old = umask(022);

    assert_int_equal(count_entries(state), 0);
    assert_int_equal(pf_outfile_open(&o, p, &err), 0);
    assert_int_equal(pf_outfile_puts(o, "first version\n"), 0);
    /* Nothing under the final name until commit; a temporary beside it. */
    assert_int_equal(stat(p, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(count_entries(state), 1);
    assert_int_equal(pf_outfile_commit(o, &err), 0);
    assert_int_equal(count_entries(state), 1);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    char *got = read_file(p, NULL);
    assert_string_equal(got, "first version\n");
    free(got);

    /* Abort leaves the old file as it was and no temporary. */
    assert_int_equal(pf_outfile_open(&o, p, &err), 0);
    assert_int_equal(pf_outfile_puts(o, "second version\n"), 0);
    pf_outfile_abort(o);
    pf_outfile_abort(NULL);
    assert_int_equal(count_entries(state), 1);
    got = read_file(p, NULL);
    assert_string_equal(got, "first version\n");
    free(got);

    /* Commit replaces it. */
    assert_int_equal(pf_outfile_open(&o, p, &err), 0);
    assert_int_equal(pf_outfile_puts(o, "third\n"), 0);
    assert_int_equal(pf_outfile_commit(o, &err), 0);
    got = read_file(p, NULL);
    assert_string_equal(got, "third\n");
    free(got);
    umask(old);
    free(p);
}

static void test_outfile_large_and_gzip(void **state)
{
    /* 3 MiB of a known pattern: more than the 1 MiB buffer, several drains. */
    size_t n = 3u << 20;
    char *data = malloc(n);
    assert_non_null(data);
    for (size_t i = 0; i < n; i++)
        data[i] = (char) ('a' + (i * 7 + i / 1000) % 26);
    pf_error err;
    pf_outfile *o;

    char *plain = path_in(state, "big.csv");
    assert_int_equal(pf_outfile_open(&o, plain, &err), 0);
    assert_int_equal(pf_outfile_write(o, data, 1000), 0);
    assert_int_equal(pf_outfile_write(o, data + 1000, n - 1000), 0);
    assert_int_equal(pf_outfile_commit(o, &err), 0);
    size_t got_n;
    char *got = read_file(plain, &got_n);
    assert_int_equal(got_n, n);
    assert_memory_equal(got, data, n);
    free(got);

    char *gz = path_in(state, "big.csv.gz");
    assert_int_equal(pf_outfile_open(&o, gz, &err), 0);
    assert_int_equal(pf_outfile_write(o, data, n), 0);
    assert_int_equal(pf_outfile_commit(o, &err), 0);
    got = read_file(gz, &got_n);
    assert_true(got_n > 18 && got_n < n);
    assert_int_equal((unsigned char) got[0], 0x1f);
    assert_int_equal((unsigned char) got[1], 0x8b);
    free(got);
    gzFile zf = gzopen(gz, "rb");
    assert_non_null(zf);
    char *back = malloc(n + 1);
    assert_int_equal(gzread(zf, back, (unsigned) n + 1), (int) n);
    gzclose(zf);
    assert_memory_equal(back, data, n);
    free(back);
    free(data);
    free(plain);
    free(gz);
}

static void test_outfile_errors(void **state)
{
    pf_outfile *o = (pf_outfile *) 1;
    pf_error err;
    char *p = path_in(state, "no-such-dir/x.csv");
    assert_int_equal(pf_outfile_open(&o, p, &err), PF_EIO);
    assert_null(o);
    assert_contains(err.message, "no-such-dir/x.csv");
    free(p);

    /* printf is limited to 64 KiB per call. */
    p = path_in(state, "limit.csv");
    assert_int_equal(pf_outfile_open(&o, p, &err), 0);
    char *big = malloc(70000);
    memset(big, 'x', 69999);
    big[69999] = '\0';
    assert_int_equal(pf_outfile_printf(o, "%s", big), PF_ELIMIT);
    assert_int_equal(pf_outfile_printf(o, "%.10s", big), 0);
    assert_int_equal(pf_outfile_commit(o, &err), 0);
    char *got = read_file(p, NULL);
    assert_string_equal(got, "xxxxxxxxxx");
    free(got);
    free(big);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_plain),
        cmocka_unit_test(test_number_decimal_separators),
        cmocka_unit_test(test_number_exponent),
        cmocka_unit_test(test_number_rejects_text),
        cmocka_unit_test(test_number_rounding),
        cmocka_unit_test(test_pnr_detected),
        cmocka_unit_test(test_pnr_not_detected),
        cmocka_unit_test(test_pnr_in_numbers),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_strmap),
        cmocka_unit_test_setup_teardown(test_table_valid, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_table_errors, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_csvout_quoting, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_outfile_large_pieces, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_outfile_atomic, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_outfile_large_and_gzip, dir_setup, dir_teardown),
        cmocka_unit_test_setup_teardown(test_outfile_errors, dir_setup, dir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
