/*
 * test_reader.c - the CSV reader against the bundled af-inskrivning schema
 * (and the unrelated tests/unit/fixtures/kurs.json): header matching,
 * delimiters, decimal comma, BOM, CRLF, quoting, gzip, every reject rule
 * with its row, line, column and value, derived columns, chunking into
 * frames, and the row counts.
 *
 * Inputs are built here from one valid row (BASE) with some values
 * replaced. Expected values are worked out by hand from those inputs and
 * the reference tables in data/ref/ (1280 is Malmö in county 12, UA is in
 * "europa_ovrigt", ...), never taken from the reader's output.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/schema.h"
#include "readertest.h"

#define AF_SCHEMA   PF_TEST_DATADIR "/schema/af-inskrivning.json"
#define KURS_SCHEMA PF_TEST_SRCDIR "/unit/fixtures/kurs.json"
#define ZEROS10     "0000000000"
#define ID_64       "AF-" ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 "1"
#define ID_65       "AF-" ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 "01"

static pf_schema *S; /* af-inskrivning, loaded once */

/* One valid row: every input column of the schema, in schema order. */
static const char *const BASE[][2] = {
    {"id", "AF-000123"},
    {"alder", "34"},
    {"kon", "K"},
    {"fodelseland", "SE"},
    {"kommunkod", "1280"},
    {"utbildningsniva", "4"},
    {"utbildningsinriktning", "5"},
    {"sokt_yrke_1", "5120"},
    {"sokt_yrke_2", "9111"},
    {"sokt_yrke_3", ""},
    {"sokt_yrke_4", ""},
    {"erfarenhet_sokt_yrke", "2"},
    {"utbildning_sokt_yrke", "1"},
    {"akassa", "0"},
    {"inskrivningsmanad", "3"},
    {"inskrivningsdagar", "120"},
    {"dagar_foregaende_period", "45"},
    {"dagar_sedan_foregaende_period", "400"},
    {"antal_tidigare_perioder", "2"},
    {"dagar_tidigare_program", "30"},
    {"funktionsnedsattning", "00"},
    {"nedsatt_arbetsformaga", "0"},
    {"sokandekategori", "11"},
    {"kommunovergripande", "1"},
    {"sprakstod", "0"},
    {"ramprogram", "ingen"},
    {"omr_arbetsloshet", "7.4"},
    {"omr_medianinkomst", "265.5"},
    {"omr_andel_eftergymnasial", "38.25"},
    {"omr_andel_utrikes_medborgare", "12.5"},
    {"omr_andel_ensamhushall", "41.0"},
    {"arbete_studier_90d", "1"},
    {"arbete_studier_180d", ""},
};
#define NBASE (sizeof BASE / sizeof *BASE)

static const char *base_value(const char *name)
{
    for (size_t i = 0; i < NBASE; i++)
        if (strcmp(BASE[i][0], name) == 0)
            return BASE[i][1];
    return "";
}

/* ---- building inputs ----------------------------------------------------- */

typedef struct doc {
    tbuf b;
    char delim;
    const char *eol;
    size_t ncols;
    const char *cols[64];
} doc;

/* Writes v; a leading \x01 writes the rest verbatim (no quoting), and \x02
 * anywhere stands for a NUL byte. Otherwise v is quoted when it must be. */
static void put_value(doc *d, const char *v)
{
    int raw = v[0] == '\x01';
    if (raw)
        v++;
    int quote = !raw && (strchr(v, d->delim) || strpbrk(v, "\"\r\n"));
    if (quote)
        tbuf_add(&d->b, "\"", 1);
    for (const char *p = v; *p; p++) {
        if (*p == '\x02')
            tbuf_add(&d->b, "", 1);
        else if (*p == '"' && quote)
            tbuf_add(&d->b, "\"\"", 2);
        else
            tbuf_add(&d->b, p, 1);
    }
    if (quote)
        tbuf_add(&d->b, "\"", 1);
}

/* Starts an input with the given header (NULL: the BASE columns). */
static void doc_start(doc *d, char delim, const char *eol, const char *const *cols, size_t n)
{
    memset(d, 0, sizeof *d);
    d->delim = delim;
    d->eol = eol;
    if (!cols)
        for (n = 0; n < NBASE; n++)
            d->cols[n] = BASE[n][0];
    else
        memcpy(d->cols, cols, n * sizeof *cols);
    d->ncols = n;
    for (size_t i = 0; i < n; i++) {
        if (i)
            tbuf_add(&d->b, &delim, 1);
        put_value(d, d->cols[i]);
    }
    tbuf_puts(&d->b, eol);
}

/* A row of BASE values with name/value overrides (NULL-terminated list);
 * delta < 0 leaves off the last fields, delta > 0 adds fields. */
static void doc_rowv(doc *d, int delta, va_list ap)
{
    const char *names[32], *values[32];
    size_t k = 0;
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        assert_true(k < 32);
        names[k] = name;
        values[k++] = va_arg(ap, const char *);
    }
    size_t n = (size_t) ((int) d->ncols + (delta < 0 ? delta : 0));
    for (size_t i = 0; i < n; i++) {
        const char *v = base_value(d->cols[i]);
        for (size_t j = 0; j < k; j++)
            if (strcmp(names[j], d->cols[i]) == 0)
                v = values[j];
        if (i)
            tbuf_add(&d->b, &d->delim, 1);
        put_value(d, v);
    }
    for (int i = 0; i < delta; i++) {
        tbuf_add(&d->b, &d->delim, 1);
        tbuf_puts(&d->b, "extra");
    }
    tbuf_puts(&d->b, d->eol);
}

static void doc_row(doc *d, ...)
{
    va_list ap;
    va_start(ap, d);
    doc_rowv(d, 0, ap);
    va_end(ap);
}

static void doc_row_delta(doc *d, int delta, ...)
{
    va_list ap;
    va_start(ap, delta);
    doc_rowv(d, delta, ap);
    va_end(ap);
}

/* The BASE header with extra columns before and after (NULL: none). */
static void doc_start_extra(doc *d, char delim, const char *eol, const char *first,
                            const char *last)
{
    const char *cols[64];
    size_t n = 0;
    if (first)
        cols[n++] = first;
    for (size_t i = 0; i < NBASE; i++)
        cols[n++] = BASE[i][0];
    if (last)
        cols[n++] = last;
    doc_start(d, delim, eol, cols, n);
}

/* ---- reading ------------------------------------------------------------- */

#define MAXROWS  64
#define MAXCOLS  48
#define MAXPROBS 256

typedef struct prob {
    int64_t row, line;
    char *id, *column, *value, *message;
    pf_rule rule;
    int first;
} prob;

typedef struct result {
    const pf_schema *s;
    int open_rc, read_rc;
    pf_error err;
    size_t n;
    int64_t row[MAXROWS], line[MAXROWS];
    double num[MAXROWS][MAXCOLS];
    int32_t cat[MAXROWS][MAXCOLS];
    char *str[MAXROWS][MAXCOLS]; /* NULL: missing */
    size_t npass;
    char *pass_names[8];
    char *pass[MAXROWS][8];
    pf_reader_stats stats;
    char delim;
    size_t nunknown;
    char *unknown[16];
    size_t nprobs;
    prob probs[MAXPROBS];
} result;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void on_reject(void *ctx, const pf_problem *p)
{
    result *r = ctx;
    assert_true(r->nprobs < MAXPROBS);
    prob *q = &r->probs[r->nprobs++];
    q->row = p->row;
    q->line = p->line;
    q->id = dup_or_null(p->id);
    q->column = dup_or_null(p->column);
    q->value = dup_or_null(p->value);
    q->message = dup_or_null(p->message);
    q->rule = p->rule;
    q->first = p->first_of_row;
}

static void keep_rows(result *r, const pf_schema *s, const pf_frame *f)
{
    assert_true(f->n > 0 && f->n <= f->cap);
    for (size_t i = 0; i < f->n; i++) {
        size_t j = r->n++;
        assert_true(j < MAXROWS);
        r->row[j] = f->row[i];
        r->line[j] = f->line[i];
        for (size_t c = 0; c < s->ncols; c++) {
            switch (s->cols[c].type) {
            case PF_TYPE_INTEGER:
            case PF_TYPE_NUMBER:
                r->num[j][c] = f->col[c].num[i];
                break;
            case PF_TYPE_CATEGORY:
            case PF_TYPE_BOOLEAN:
                r->cat[j][c] = f->col[c].cat[i];
                break;
            case PF_TYPE_STRING: {
                pf_strref ref = f->col[c].str[i];
                if (ref.off != PF_STR_MISSING) {
                    assert_int_equal(strlen(pf_frame_str(f, ref)), ref.len);
                    r->str[j][c] = strdup(pf_frame_str(f, ref));
                }
                break;
            }
            }
        }
        for (size_t k = 0; k < f->npass && k < 8; k++)
            r->pass[j][k] = strdup(pf_frame_str(f, f->pass[k][i]));
    }
}

/* 0: run_schema reads with pf_reader_read; more: through pf_prefetch with
 * that many parsing threads and blocks of a few hundred bytes, so every
 * test also checks that parsing blocks, in parallel or not, gives the same
 * rows, numbers, problems and counts. */
static int reader_threads = 0;

/* Reads data[0..n) through schema s in frames of about frame_rows rows and
 * keeps everything: rows, problems, stats. opt's callback is replaced. */
static result *run_schema(const pf_schema *s, const void *data, size_t n,
                          const pf_reader_options *opt, size_t frame_rows)
{
    assert_true(s->ncols <= MAXCOLS);
    result *r = calloc(1, sizeof *r);
    assert_non_null(r);
    r->s = s;
    pf_reader_options o = {0};
    if (opt)
        o = *opt;
    o.on_reject = on_reject;
    o.reject_ctx = r;
    pf_reader *rd = (pf_reader *) 1;
    pf_error_clear(&r->err);
    r->open_rc = pf_reader_open_memory(&rd, s, data, n, &o, &r->err);
    if (r->open_rc) {
        assert_null(rd);
        assert_int_equal(r->err.status, r->open_rc);
        return r;
    }
    r->delim = pf_reader_delimiter(rd);
    const char *const *unknown;
    r->nunknown = pf_reader_unknown_columns(rd, &unknown);
    for (size_t i = 0; i < r->nunknown && i < 16; i++)
        r->unknown[i] = strdup(unknown[i]);
    pf_frame *f;
    assert_int_equal(pf_reader_frame_new(rd, frame_rows, &f, &r->err), 0);
    r->npass = f->npass;
    for (size_t k = 0; k < f->npass && k < 8; k++)
        r->pass_names[k] = strdup(f->pass_names[k]);
    int rc;
    if (reader_threads > 0) {
        pf_frame_free(f);
        pf_prefetch *pre;
        assert_int_equal(pf_prefetch_start(&pre, rd, 1, 2, reader_threads, &r->err), 0);
        while ((rc = pf_prefetch_next(pre, &f, &r->err)) > 0) {
            keep_rows(r, s, f);
            pf_prefetch_release(pre, f);
        }
        pf_prefetch_stop(pre);
        f = NULL;
    } else {
        while ((rc = pf_reader_read(rd, f, &r->err)) > 0)
            keep_rows(r, s, f);
        if (rc == 0)
            assert_int_equal(f->n, 0);
    }
    r->read_rc = rc;
    if (rc < 0)
        assert_int_equal(r->err.status, rc);
    r->stats = *pf_reader_stats_get(rd);
    pf_frame_free(f);
    pf_reader_close(rd);
    return r;
}

static result *run(const void *data, size_t n, const pf_reader_options *opt)
{
    return run_schema(S, data, n, opt, 5);
}

static result *run_doc(doc *d, const pf_reader_options *opt)
{
    result *r = run(d->b.p, d->b.n, opt);
    tbuf_free(&d->b);
    return r;
}

static void free_result(result *r)
{
    for (size_t j = 0; j < r->n; j++) {
        for (size_t c = 0; c < MAXCOLS; c++)
            free(r->str[j][c]);
        for (size_t k = 0; k < 8; k++)
            free(r->pass[j][k]);
    }
    for (size_t k = 0; k < 8; k++)
        free(r->pass_names[k]);
    for (size_t i = 0; i < 16; i++)
        free(r->unknown[i]);
    for (size_t i = 0; i < r->nprobs; i++) {
        free(r->probs[i].id);
        free(r->probs[i].column);
        free(r->probs[i].value);
        free(r->probs[i].message);
    }
    free(r);
}

static int colidx(const result *r, const char *name)
{
    int c = pf_schema_find(r->s, name);
    if (c < 0)
        fail_msg("no column '%s'", name);
    return c;
}

static double num(const result *r, size_t i, const char *name)
{
    assert_true(i < r->n);
    return r->num[i][colidx(r, name)];
}

/* The level code of a category or boolean value; NULL when missing. */
static const char *code(const result *r, size_t i, const char *name)
{
    assert_true(i < r->n);
    int c = colidx(r, name);
    int32_t lv = r->cat[i][c];
    if (lv < 0) {
        assert_int_equal(lv, -1);
        return NULL;
    }
    assert_true((size_t) lv < r->s->cols[c].nlevels);
    return r->s->cols[c].levels[lv].code;
}

static const char *str(const result *r, size_t i, const char *name)
{
    assert_true(i < r->n);
    return r->str[i][colidx(r, name)];
}

#define assert_code(r, i, name, want)                                                              \
    do {                                                                                           \
        const char *got_ = code(r, i, name);                                                       \
        const char *want_ = (want);                                                                \
        if (want_ == NULL ? got_ != NULL : (got_ == NULL || strcmp(got_, want_) != 0))             \
            fail_msg("row %zu %s: code %s, expected %s", (size_t) (i), name,                       \
                     got_ ? got_ : "(missing)", want_ ? want_ : "(missing)");                      \
    } while (0)

/* Problem k is (row, line, column, rule, value). */
static void check_problem(const result *r, size_t k, int64_t row, int64_t line, const char *column,
                          pf_rule rule, const char *value)
{
    if (k >= r->nprobs)
        fail_msg("problem %zu expected, only %zu reported", k, r->nprobs);
    const prob *p = &r->probs[k];
    if (p->row != row || p->line != line || p->rule != rule)
        fail_msg("problem %zu: row %lld line %lld rule %s, expected row %lld line %lld rule %s", k,
                 (long long) p->row, (long long) p->line, pf_rule_name(p->rule), (long long) row,
                 (long long) line, pf_rule_name(rule));
    if (column == NULL)
        assert_null(p->column);
    else
        assert_string_equal(p->column, column);
    assert_non_null(p->value);
    assert_string_equal(p->value, value);
    assert_non_null(p->message);
    assert_true(p->message[0] != '\0');
}

static void assert_counts(const result *r, int64_t read, int64_t accepted, int64_t rejected)
{
    assert_int_equal(r->stats.rows_read, read);
    assert_int_equal(r->stats.rows_accepted, accepted);
    assert_int_equal(r->stats.rows_rejected, rejected);
    assert_int_equal((int64_t) r->n, accepted);
    /* Every problem reported once through the callback, counted by rule. */
    int64_t total = 0, firsts = 0;
    for (int k = 0; k < PF_RULE_COUNT; k++)
        total += r->stats.problems[k];
    for (size_t i = 0; i < r->nprobs; i++)
        firsts += r->probs[i].first;
    assert_int_equal(total, (int64_t) r->nprobs);
    assert_int_equal(firsts, rejected);
}

/* ---- the base row and headers -------------------------------------------- */

static void check_base_values(const result *r, size_t i)
{
    assert_string_equal(str(r, i, "id"), "AF-000123");
    assert_num(num(r, i, "alder"), 34.0);
    assert_code(r, i, "kon", "K");
    assert_code(r, i, "fodelseland", "SE");
    assert_code(r, i, "fodelseregion", "sverige");
    assert_code(r, i, "kommunkod", "1280");
    assert_code(r, i, "lanskod", "12");
    assert_code(r, i, "utbildningsniva", "4");
    assert_code(r, i, "utbildningsinriktning", "5");
    assert_string_equal(str(r, i, "sokt_yrke_1"), "5120");
    assert_code(r, i, "sokt_yrke_1_omrade", "5");
    assert_string_equal(str(r, i, "sokt_yrke_2"), "9111");
    assert_code(r, i, "sokt_yrke_2_omrade", "9");
    assert_null(str(r, i, "sokt_yrke_3"));
    assert_code(r, i, "sokt_yrke_3_omrade", NULL);
    assert_null(str(r, i, "sokt_yrke_4"));
    assert_code(r, i, "sokt_yrke_4_omrade", NULL);
    assert_code(r, i, "erfarenhet_sokt_yrke", "2");
    assert_code(r, i, "utbildning_sokt_yrke", "1");
    assert_code(r, i, "akassa", "0");
    assert_num(num(r, i, "inskrivningsmanad"), 3.0);
    assert_num(num(r, i, "inskrivningsdagar"), 120.0);
    assert_num(num(r, i, "dagar_foregaende_period"), 45.0);
    assert_num(num(r, i, "dagar_sedan_foregaende_period"), 400.0);
    assert_num(num(r, i, "antal_tidigare_perioder"), 2.0);
    assert_num(num(r, i, "dagar_tidigare_program"), 30.0);
    assert_code(r, i, "funktionsnedsattning", "00");
    assert_code(r, i, "nedsatt_arbetsformaga", "0");
    assert_code(r, i, "sokandekategori", "11");
    assert_code(r, i, "kommunovergripande", "1");
    assert_code(r, i, "sprakstod", "0");
    assert_code(r, i, "ramprogram", "ingen");
    assert_num(num(r, i, "omr_arbetsloshet"), 7.4);
    assert_num(num(r, i, "omr_medianinkomst"), 265.5);
    assert_num(num(r, i, "omr_andel_eftergymnasial"), 38.25);
    assert_num(num(r, i, "omr_andel_utrikes_medborgare"), 12.5);
    assert_num(num(r, i, "omr_andel_ensamhushall"), 41.0);
    assert_code(r, i, "arbete_studier_90d", "1");
    assert_code(r, i, "arbete_studier_180d", NULL);
}

static void test_base_row(void **state)
{
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row(&d, NULL);
    size_t bytes = d.b.n;
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, 0);
    assert_counts(r, 1, 1, 0);
    assert_int_equal(r->stats.bytes_read, bytes);
    assert_int_equal(r->delim, ',');
    assert_int_equal(r->nunknown, 0);
    assert_int_equal(r->npass, 0);
    assert_int_equal(r->row[0], 1);
    assert_int_equal(r->line[0], 2);
    check_base_values(r, 0);
    free_result(r);
    (void) state;
}

static void test_header_any_order(void **state)
{
    const char *cols[NBASE];
    for (size_t i = 0; i < NBASE; i++)
        cols[i] = BASE[NBASE - 1 - i][0];
    doc d;
    doc_start(&d, ',', "\n", cols, NBASE);
    doc_row(&d, NULL);
    doc_row(&d, "alder", "59", "kommunkod", "2480", NULL);
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, 0);
    assert_counts(r, 2, 2, 0);
    check_base_values(r, 0);
    assert_num(num(r, 1, "alder"), 59.0);
    assert_code(r, 1, "kommunkod", "2480");
    assert_code(r, 1, "lanskod", "24");
    assert_int_equal(r->row[1], 2);
    assert_int_equal(r->line[1], 3);
    free_result(r);
    (void) state;
}

static void test_header_missing_required(void **state)
{
    /* Without alder, kommunkod and ramprogram (required) and sokt_yrke_2
     * (optional): one error naming exactly the three. */
    const char *cols[NBASE];
    size_t n = 0;
    for (size_t i = 0; i < NBASE; i++) {
        const char *c = BASE[i][0];
        if (strcmp(c, "alder") && strcmp(c, "kommunkod") && strcmp(c, "ramprogram") &&
            strcmp(c, "sokt_yrke_2"))
            cols[n++] = c;
    }
    doc d;
    doc_start(&d, ',', "\n", cols, n);
    doc_row(&d, NULL);
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, PF_EHEADER);
    assert_string_equal(r->err.message, "3 required columns are missing from the header: alder, "
                                        "kommunkod, ramprogram");
    assert_int_equal(r->nprobs, 0);
    free_result(r);

    /* Only the id: all 27 other required columns are listed. */
    const char *only_id[] = {"id"};
    doc_start(&d, ',', "\n", only_id, 1);
    tbuf_puts(&d.b, "AF-1\n");
    r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, PF_EHEADER);
    assert_contains(r->err.message, "27 required columns are missing");
    size_t listed = 0;
    for (size_t c = 1; c < S->ncols; c++) {
        char name[80];
        snprintf(name, sizeof name, " %s%s", S->cols[c].name,
                 strcmp(S->cols[c].name, "omr_andel_ensamhushall") ? "," : "");
        if (S->cols[c].required) {
            assert_contains(r->err.message, name);
            listed++;
        } else {
            assert_not_contains(r->err.message, name);
        }
    }
    assert_int_equal(listed, 27);
    free_result(r);
    (void) state;
}

static void test_header_duplicate(void **state)
{
    doc d;
    doc_start_extra(&d, ',', "\n", NULL, "alder");
    doc_row(&d, NULL);
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, PF_EHEADER);
    assert_contains(r->err.message, "column 'alder' appears twice in the header (fields 2 and 34)");
    free_result(r);
    (void) state;
}

static void test_unknown_columns_ignored(void **state)
{
    doc d;
    doc_start_extra(&d, ',', "\n", "kommentar", "extra2");
    doc_row(&d, "kommentar", "hej, d\xC3\xA4r", "extra2", "7", NULL);
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, 0);
    assert_counts(r, 1, 1, 0);
    assert_int_equal(r->nunknown, 2);
    assert_string_equal(r->unknown[0], "kommentar");
    assert_string_equal(r->unknown[1], "extra2");
    assert_int_equal(r->npass, 0);
    check_base_values(r, 0);
    free_result(r);
    (void) state;
}

static void test_unknown_columns_passthrough(void **state)
{
    doc d;
    doc_start_extra(&d, ',', "\n", "kommentar", "extra2");
    doc_row(&d, "kommentar", "hej, d\xC3\xA4r", "extra2", "7", NULL);
    doc_row(&d, "kommentar", "", "extra2", "NA", NULL);
    pf_reader_options o = {.passthrough_unknown = 1};
    result *r = run_doc(&d, &o);
    assert_int_equal(r->open_rc, 0);
    assert_counts(r, 2, 2, 0);
    assert_int_equal(r->nunknown, 2);
    assert_int_equal(r->npass, 2);
    assert_string_equal(r->pass_names[0], "kommentar");
    assert_string_equal(r->pass_names[1], "extra2");
    assert_string_equal(r->pass[0][0], "hej, d\xC3\xA4r");
    assert_string_equal(r->pass[0][1], "7");
    /* Passed through as text: a missing token is not interpreted. */
    assert_string_equal(r->pass[1][0], "");
    assert_string_equal(r->pass[1][1], "NA");
    check_base_values(r, 0);
    check_base_values(r, 1);
    free_result(r);
    (void) state;
}

/* ---- delimiters, decimal comma, BOM, line ends, quoting ------------------ */

static void test_delimiters(void **state)
{
    static const char delims[] = {',', ';', '\t'};
    for (size_t k = 0; k < sizeof delims; k++) {
        doc d;
        doc_start(&d, delims[k], "\n", NULL, 0);
        doc_row(&d, NULL);
        doc_row(&d, "kommentar", "x", "alder", "17", "id", "a;b,c\td", NULL);
        result *r = run_doc(&d, NULL);
        assert_int_equal(r->open_rc, 0);
        assert_int_equal(r->delim, delims[k]);
        assert_counts(r, 2, 2, 0);
        check_base_values(r, 0);
        assert_num(num(r, 1, "alder"), 17.0);
        assert_string_equal(str(r, 1, "id"), "a;b,c\td");
        free_result(r);
    }
    /* Given explicitly, including one that is never detected. */
    doc d;
    doc_start(&d, '|', "\n", NULL, 0);
    doc_row(&d, "id", "a,b;c", NULL);
    pf_reader_options o = {.delimiter = '|'};
    result *r = run_doc(&d, &o);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->delim, '|');
    assert_counts(r, 1, 1, 0);
    assert_string_equal(str(r, 0, "id"), "a,b;c");
    free_result(r);

    pf_reader_options bad = {.delimiter = 'x'};
    doc_start(&d, ',', "\n", NULL, 0);
    r = run_doc(&d, &bad);
    assert_int_equal(r->open_rc, PF_EINVAL);
    free_result(r);
    (void) state;
}

static void test_decimal_comma(void **state)
{
    /* ';' and tab: a decimal comma is accepted, a point too. */
    static const char delims[] = {';', '\t'};
    for (size_t k = 0; k < sizeof delims; k++) {
        doc d;
        doc_start(&d, delims[k], "\n", NULL, 0);
        doc_row(&d, "omr_arbetsloshet", "7,4", "omr_medianinkomst", "265,5", "alder", "34,0", NULL);
        doc_row(&d, NULL);
        doc_row(&d, "omr_arbetsloshet", "1.234,5", NULL);
        result *r = run_doc(&d, NULL);
        assert_int_equal(r->open_rc, 0);
        assert_counts(r, 3, 2, 1);
        assert_num(num(r, 0, "omr_arbetsloshet"), 7.4);
        assert_num(num(r, 0, "omr_medianinkomst"), 265.5);
        assert_num(num(r, 0, "alder"), 34.0);
        check_base_values(r, 1);
        check_problem(r, 0, 3, 4, "omr_arbetsloshet", PF_RULE_NOT_A_NUMBER, "1.234,5");
        free_result(r);
    }

    /* ',' delimiter: "7,4" (quoted) is not a number, and the message says
     * how to accept it. */
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row(&d, "omr_arbetsloshet", "7,4", NULL);
    doc_row(&d, "omr_arbetsloshet", "7.4", NULL);
    result *r = run_doc(&d, NULL);
    assert_counts(r, 2, 1, 1);
    check_problem(r, 0, 1, 2, "omr_arbetsloshet", PF_RULE_NOT_A_NUMBER, "7,4");
    assert_contains(r->probs[0].message, "decimal comma");
    assert_int_equal(r->row[0], 2);
    assert_num(num(r, 0, "omr_arbetsloshet"), 7.4);
    free_result(r);

    /* ...unless the caller says the decimal separator is a comma; then a
     * point is not one (so every decimal of BASE is given with a comma). */
#define COMMA_DECIMALS                                                                             \
    "omr_medianinkomst", "265,5", "omr_andel_eftergymnasial", "38,25",                             \
        "omr_andel_utrikes_medborgare", "12,5", "omr_andel_ensamhushall", "41,0"
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row(&d, "omr_arbetsloshet", "7,4", COMMA_DECIMALS, NULL);
    doc_row(&d, "omr_arbetsloshet", "7.4", COMMA_DECIMALS, NULL);
    pf_reader_options comma = {.decimal = PF_DECIMAL_COMMA};
    r = run_doc(&d, &comma);
    assert_counts(r, 2, 1, 1);
    assert_num(num(r, 0, "omr_arbetsloshet"), 7.4);
    assert_num(num(r, 0, "omr_andel_eftergymnasial"), 38.25);
    assert_num(num(r, 0, "omr_andel_ensamhushall"), 41.0);
    check_problem(r, 0, 2, 3, "omr_arbetsloshet", PF_RULE_NOT_A_NUMBER, "7.4");
    free_result(r);

    /* A point only, even with ';'. */
    doc_start(&d, ';', "\n", NULL, 0);
    doc_row(&d, "omr_arbetsloshet", "7,4", NULL);
    pf_reader_options point = {.decimal = PF_DECIMAL_POINT};
    r = run_doc(&d, &point);
    assert_counts(r, 1, 0, 1);
    check_problem(r, 0, 1, 2, "omr_arbetsloshet", PF_RULE_NOT_A_NUMBER, "7,4");
    free_result(r);
    (void) state;
}

static void test_bom(void **state)
{
    for (int crlf = 0; crlf < 2; crlf++) {
        doc d;
        doc_start(&d, ';', crlf ? "\r\n" : "\n", NULL, 0);
        doc_row(&d, NULL);
        tbuf in = {0};
        tbuf_add(&in, "\xEF\xBB\xBF", 3);
        tbuf_add(&in, d.b.p, d.b.n);
        tbuf_free(&d.b);
        result *r = run(in.p, in.n, NULL);
        tbuf_free(&in);
        /* Were the BOM kept, the first column would be "\xEF\xBB\xBFid"
         * and the required id missing. */
        assert_int_equal(r->open_rc, 0);
        assert_int_equal(r->nunknown, 0);
        assert_int_equal(r->delim, ';');
        assert_counts(r, 1, 1, 0);
        assert_int_equal(r->line[0], 2);
        check_base_values(r, 0);
        free_result(r);
    }
    (void) state;
}

static void test_crlf_and_line_numbers(void **state)
{
    doc d;
    doc_start_extra(&d, ',', "\r\n", NULL, "kommentar");
    doc_row(&d, NULL);                                           /* row 1, line 2 */
    doc_row(&d, "kommentar", "rad ett\r\nrad tv\xC3\xA5", NULL); /* row 2, lines 3-4 */
    doc_row(&d, "alder", "40", NULL);                            /* row 3, line 5 */
    doc_row(&d, "alder", "99", NULL);                            /* row 4, line 6: rejected */
    tbuf_puts(&d.b, "\r\n");                                     /* line 7: blank */
    doc_row(&d, "alder", "41", NULL);                            /* row 5, line 8 */
    doc_row(&d, "kommentar", "a\r\nb\r\nc", "kon", "X", NULL);   /* row 6, lines 9-11 */
    doc_row(&d, "alder", "42", NULL);                            /* row 7, line 12 */
    pf_reader_options o = {.passthrough_unknown = 1};
    result *r = run_doc(&d, &o);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, 0);
    assert_counts(r, 7, 5, 2);
    assert_int_equal(r->stats.blank_lines, 1);
    static const int64_t rows[] = {1, 2, 3, 5, 7}, lines[] = {2, 3, 5, 8, 12};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(r->row[i], rows[i]);
        assert_int_equal(r->line[i], lines[i]);
    }
    /* The CR of a CRLF line end is not part of the last field (kommentar);
     * a CRLF inside quotes is kept. */
    assert_string_equal(r->pass[0][0], "");
    assert_string_equal(r->pass[1][0], "rad ett\r\nrad tv\xC3\xA5");
    assert_num(num(r, 2, "alder"), 40.0);
    assert_string_equal(str(r, 0, "id"), "AF-000123");
    assert_code(r, 0, "arbete_studier_90d", "1");
    check_problem(r, 0, 4, 6, "alder", PF_RULE_OUT_OF_RANGE, "99");
    check_problem(r, 1, 6, 9, "kon", PF_RULE_UNKNOWN_CODE, "X");
    free_result(r);
    (void) state;
}

static void test_quoted_fields(void **state)
{
    doc d;
    doc_start_extra(&d, ',', "\n", "kommentar", NULL);
    doc_row(&d, "kommentar", "a,b", NULL);                                  /* row 1, line 2 */
    doc_row(&d, "kommentar", "rad1\nrad2\nrad3", NULL);                     /* row 2, lines 3-5 */
    doc_row(&d, "kommentar", "s\xC3\xA4g \"hej\"", NULL);                   /* row 3, line 6 */
    doc_row(&d, "kommentar", "\n", "alder", "x", NULL);                     /* row 4, lines 7-8 */
    doc_row(&d, "alder", "\x01\"35\"", "id", "\x01\"AF-\"\"9\"\"\"", NULL); /* row 5, line 9 */
    doc_row(&d, "kommentar", "\x01\"\"", NULL);                             /* row 6, line 10 */
    pf_reader_options o = {.passthrough_unknown = 1};
    result *r = run_doc(&d, &o);
    assert_int_equal(r->open_rc, 0);
    assert_counts(r, 6, 5, 1);
    assert_string_equal(r->pass[0][0], "a,b");
    assert_string_equal(r->pass[1][0], "rad1\nrad2\nrad3");
    assert_string_equal(r->pass[2][0], "s\xC3\xA4g \"hej\"");
    assert_int_equal(r->line[2], 6);
    check_problem(r, 0, 4, 7, "alder", PF_RULE_NOT_A_NUMBER, "x");
    assert_int_equal(r->row[3], 5);
    assert_int_equal(r->line[3], 9);
    assert_num(num(r, 3, "alder"), 35.0);
    assert_string_equal(str(r, 3, "id"), "AF-\"9\"");
    assert_string_equal(r->pass[4][0], "");
    assert_int_equal(r->line[4], 10);
    free_result(r);
    (void) state;
}

/* A header whose unquoted name holds a quote: the header ends at its line
 * end, and later quotes do not pull data rows into it. */
static void test_header_with_stray_quote(void **state)
{
    doc d;
    const char *cols[NBASE + 1];
    for (size_t i = 0; i < NBASE; i++)
        cols[i] = BASE[i][0];
    cols[NBASE] = "\x01note\"s";
    doc_start(&d, ',', "\n", cols, NBASE + 1);
    doc_row(&d, "\x01note\"s", "1", NULL);
    doc_row(&d, "\x01note\"s", "\x01\"quoted\"", NULL);
    doc_row(&d, "\x01note\"s", "3", "alder", "50", NULL);
    pf_reader_options o = {.passthrough_unknown = 1};
    result *r = run_doc(&d, &o);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, 0);
    assert_int_equal(r->nunknown, 1);
    assert_string_equal(r->unknown[0], "note\"s");
    assert_counts(r, 3, 3, 0);
    assert_string_equal(r->pass[0][0], "1");
    assert_string_equal(r->pass[1][0], "quoted");
    assert_string_equal(r->pass[2][0], "3");
    assert_num(num(r, 2, "alder"), 50.0);
    assert_int_equal(r->line[2], 4);
    free_result(r);
    (void) state;
}

/* ---- gzip ----------------------------------------------------------------- */

static void make_small_doc(doc *d)
{
    doc_start(d, ',', "\n", NULL, 0);
    doc_row(d, NULL);
    doc_row(d, "alder", "61", "id", "AF-2", NULL);
    doc_row(d, "alder", "99", NULL);
    doc_row(d, "alder", "62", "id", "AF-4", NULL);
}

static void check_small_doc(const result *r)
{
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, 0);
    assert_counts(r, 4, 3, 1);
    check_base_values(r, 0);
    assert_string_equal(str(r, 1, "id"), "AF-2");
    assert_num(num(r, 1, "alder"), 61.0);
    assert_string_equal(str(r, 2, "id"), "AF-4");
    assert_int_equal(r->row[2], 4);
    assert_int_equal(r->line[2], 5);
    check_problem(r, 0, 3, 4, "alder", PF_RULE_OUT_OF_RANGE, "99");
}

static void test_gzip(void **state)
{
    doc d;
    make_small_doc(&d);
    /* One member. */
    tbuf z = {0};
    gzip_append(&z, d.b.p, d.b.n);
    result *r = run(z.p, z.n, NULL);
    check_small_doc(r);
    assert_int_equal(r->stats.bytes_read, d.b.n); /* decompressed bytes */
    free_result(r);
    tbuf_free(&z);

    /* Two members split inside a row, then an empty third member. */
    size_t cut = strlen(d.b.p) - 40;
    gzip_append(&z, d.b.p, cut);
    gzip_append(&z, d.b.p + cut, d.b.n - cut);
    gzip_append(&z, "", 0);
    r = run(z.p, z.n, NULL);
    check_small_doc(r);
    free_result(r);
    tbuf_free(&z);

    /* From a file, plain and compressed. */
    char *dir = make_tmpdir(), *plain, *gz;
    assert_true(asprintf(&plain, "%s/in.csv", dir) > 0);
    assert_true(asprintf(&gz, "%s/in.csv.gz", dir) > 0);
    write_file(plain, d.b.p, d.b.n);
    gzip_append(&z, d.b.p, d.b.n);
    write_file(gz, z.p, z.n);
    tbuf_free(&z);
    const char *paths[] = {plain, gz};
    for (int k = 0; k < 2; k++) {
        pf_reader *rd;
        pf_error err;
        assert_int_equal(pf_reader_open(&rd, S, paths[k], NULL, &err), 0);
        pf_frame *f;
        assert_int_equal(pf_reader_frame_new(rd, 100, &f, &err), 0);
        assert_int_equal(pf_reader_read(rd, f, &err), 1);
        assert_int_equal(f->n, 3);
        assert_int_equal(f->row[2], 4);
        assert_int_equal(pf_reader_read(rd, f, &err), 0);
        const pf_reader_stats *st = pf_reader_stats_get(rd);
        assert_int_equal(st->rows_read, 4);
        assert_int_equal(st->rows_rejected, 1);
        pf_frame_free(f);
        pf_reader_close(rd);
    }
    pf_reader *rd = (pf_reader *) 1;
    pf_error err;
    char *none;
    assert_true(asprintf(&none, "%s/none.csv", dir) > 0);
    assert_int_equal(pf_reader_open(&rd, S, none, NULL, &err), PF_ENOTFOUND);
    assert_null(rd);
    assert_contains(err.message, "none.csv");
    free(none);
    free(plain);
    free(gz);
    rm_tmpdir(dir);
    tbuf_free(&d.b);
    pf_reader_close(NULL);
    (void) state;
}

static void test_gzip_damaged(void **state)
{
    doc d;
    make_small_doc(&d);
    tbuf z = {0};
    gzip_append(&z, d.b.p, d.b.n);

    /* Truncated: a small input is decompressed whole while the header is
     * read, so open reports it. */
    result *r = run(z.p, z.n - 10, NULL);
    assert_int_equal(r->open_rc, PF_EFORMAT);
    assert_contains(r->err.message, "truncated gzip stream");
    free_result(r);
    /* Only the magic bytes. */
    r = run(z.p, 2, NULL);
    assert_int_equal(r->open_rc, PF_EFORMAT);
    free_result(r);
    /* An unknown compression method (byte 2 must be 8). */
    z.p[2] = 7;
    r = run(z.p, z.n, NULL);
    assert_int_equal(r->open_rc, PF_EFORMAT);
    assert_contains(r->err.message, "corrupt gzip data");
    free_result(r);
    tbuf_free(&z);
    tbuf_free(&d.b);

    /* A long input (more than the reader's first buffer) truncated half-way:
     * rows come, then the error. */
    doc_start(&d, ',', "\n", NULL, 0);
    for (int i = 0; i < 6000; i++)
        doc_row(&d, NULL);
    gzip_append(&z, d.b.p, d.b.n);
    pf_reader *rd;
    pf_error err;
    assert_int_equal(pf_reader_open_memory(&rd, S, z.p, z.n / 2, NULL, &err), 0);
    pf_frame *f;
    assert_int_equal(pf_reader_frame_new(rd, 1000, &f, &err), 0);
    int rc, frames = 0;
    while ((rc = pf_reader_read(rd, f, &err)) > 0)
        frames++;
    assert_int_equal(rc, PF_EFORMAT);
    assert_contains(err.message, "truncated gzip stream");
    assert_true(frames >= 1);
    assert_true(pf_reader_stats_get(rd)->rows_read < 6000);
    pf_frame_free(f);
    pf_reader_close(rd);
    tbuf_free(&z);
    tbuf_free(&d.b);
    (void) state;
}

/* ---- reject rules ---------------------------------------------------------- */

/* One row per case with one value replaced; each must be rejected with
 * exactly one problem naming that column and value. */
typedef struct reject_case {
    const char *column, *value;
    pf_rule rule;
    const char *shown;   /* value in the problem (escaped) */
    const char *message; /* part of the message, or NULL */
} reject_case;

static void run_reject_cases(const reject_case *cases, size_t n, char delim,
                             const pf_reader_options *opt)
{
    doc d;
    doc_start(&d, delim, "\n", NULL, 0);
    for (size_t i = 0; i < n; i++) {
        doc_row(&d, NULL); /* a good row between the bad ones */
        doc_row(&d, cases[i].column, cases[i].value, NULL);
    }
    result *r = run_doc(&d, opt);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, 0);
    assert_counts(r, (int64_t) (2 * n), (int64_t) n, (int64_t) n);
    assert_int_equal(r->nprobs, n);
    for (size_t i = 0; i < n; i++) {
        int64_t row = (int64_t) (2 * i + 2);
        check_problem(r, i, row, row + 1, cases[i].column, cases[i].rule, cases[i].shown);
        assert_true(r->probs[i].first);
        if (cases[i].message)
            assert_contains(r->probs[i].message, cases[i].message);
        /* The id is shown unless it is the offending value. */
        if (strcmp(cases[i].column, "id") == 0)
            assert_null(r->probs[i].id);
        else
            assert_string_equal(r->probs[i].id, "AF-000123");
        assert_int_equal(r->row[i], row - 1);
        check_base_values(r, i);
    }
    free_result(r);
}

static void test_reject_codes_and_ranges(void **state)
{
    static const reject_case cases[] = {
        {"kommunkod", "9999", PF_RULE_UNKNOWN_CODE, "9999",
         "not one of the 290 codes in reference 'kommuner' (kommuner.csv)"},
        {"kommunkod", "128", PF_RULE_UNKNOWN_CODE, "128", NULL},
        {"fodelseland", "XX", PF_RULE_UNKNOWN_CODE, "XX", "reference 'iso3166'"},
        {"fodelseland", "se", PF_RULE_UNKNOWN_CODE, "se", NULL},
        {"kon", "k", PF_RULE_UNKNOWN_CODE, "k", "not an allowed code; allowed: K, M"},
        {"akassa", "2", PF_RULE_UNKNOWN_CODE, "2", "allowed: 0, 1"},
        {"akassa", "ja", PF_RULE_UNKNOWN_CODE, "ja", NULL},
        {"ramprogram", "JOBB", PF_RULE_UNKNOWN_CODE, "JOBB", "allowed: ingen, JOB, UGA, ETP"},
        {"funktionsnedsattning", "0", PF_RULE_UNKNOWN_CODE, "0", NULL},
        {"alder", "15", PF_RULE_OUT_OF_RANGE, "15", "outside the allowed range 16 to 67"},
        {"alder", "68", PF_RULE_OUT_OF_RANGE, "68", NULL},
        {"alder", "-34", PF_RULE_OUT_OF_RANGE, "-34", NULL},
        {"inskrivningsmanad", "13", PF_RULE_OUT_OF_RANGE, "13", "1 to 12"},
        {"omr_arbetsloshet", "100.5", PF_RULE_OUT_OF_RANGE, "100.5", "0 to 100"},
        {"omr_arbetsloshet", "-0.1", PF_RULE_OUT_OF_RANGE, "-0.1", NULL},
        {"sokt_yrke_1", "512", PF_RULE_PATTERN, "512", "^[0-9]{4}$"},
        {"sokt_yrke_2", "51200", PF_RULE_PATTERN, "51200", NULL},
        {"id", ID_65, PF_RULE_TOO_LONG, ID_65, "longer than 64 bytes"},
    };
    run_reject_cases(cases, sizeof cases / sizeof *cases, ',', NULL);

    /* The boundaries themselves are allowed. */
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row(&d, "alder", "16", "omr_arbetsloshet", "100", NULL);
    doc_row(&d, "alder", "67", "omr_arbetsloshet", "0", NULL);
    doc_row(&d, "alder", "16", "omr_arbetsloshet", "-0", "id", ID_64, NULL);
    result *r = run_doc(&d, NULL);
    assert_counts(r, 3, 3, 0);
    assert_num(num(r, 0, "alder"), 16.0);
    assert_num(num(r, 0, "omr_arbetsloshet"), 100.0);
    assert_num(num(r, 1, "alder"), 67.0);
    assert_num(num(r, 1, "omr_arbetsloshet"), 0.0);
    assert_false(signbit(num(r, 2, "omr_arbetsloshet"))); /* "-0" stored as +0 */
    assert_int_equal(strlen(str(r, 2, "id")), 64);
    free_result(r);
    (void) state;
}

static void test_reject_numbers(void **state)
{
    static const reject_case cases[] = {
        {"omr_arbetsloshet", "4 5", PF_RULE_NOT_A_NUMBER, "4 5", NULL},
        {"omr_arbetsloshet", "1,5", PF_RULE_NOT_A_NUMBER, "1,5", "decimal comma"},
        {"omr_arbetsloshet", "1.234,5", PF_RULE_NOT_A_NUMBER, "1.234,5", NULL},
        {"omr_arbetsloshet", "0x10", PF_RULE_NOT_A_NUMBER, "0x10", NULL},
        {"omr_arbetsloshet", "inf", PF_RULE_NOT_A_NUMBER, "inf", NULL},
        {"omr_arbetsloshet", "nan", PF_RULE_NOT_A_NUMBER, "nan", NULL},
        {"omr_arbetsloshet", "1e400", PF_RULE_NOT_A_NUMBER, "1e400", NULL},
        {"omr_arbetsloshet", "7%", PF_RULE_NOT_A_NUMBER, "7%", NULL},
        {"omr_arbetsloshet", "5.", PF_RULE_NOT_A_NUMBER, "5.", NULL},
        {"alder", "trettio", PF_RULE_NOT_A_NUMBER, "trettio", NULL},
        {"alder", "3.5e1x", PF_RULE_NOT_A_NUMBER, "3.5e1x", NULL},
        {"inskrivningsmanad", "3.5", PF_RULE_NOT_AN_INTEGER, "3.5", "not a whole number"},
        {"alder", "34.01", PF_RULE_NOT_AN_INTEGER, "34.01", NULL},
        {"dagar_tidigare_program", "1e-1", PF_RULE_NOT_AN_INTEGER, "1e-1", NULL},
    };
    run_reject_cases(cases, sizeof cases / sizeof *cases, ',', NULL);

    /* Accepted forms, with their values worked out by hand. */
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row(&d, "omr_arbetsloshet", "1e1", "inskrivningsmanad", "3.0", "alder", "3.4e1", NULL);
    doc_row(&d, "omr_arbetsloshet", "2.5E1", "omr_medianinkomst", "1e3", "alder", "+35", NULL);
    doc_row(&d, "omr_arbetsloshet", "+7.25", "inskrivningsdagar", "0120", NULL);
    result *r = run_doc(&d, NULL);
    assert_counts(r, 3, 3, 0);
    assert_num(num(r, 0, "omr_arbetsloshet"), 10.0);
    assert_num(num(r, 0, "inskrivningsmanad"), 3.0);
    assert_num(num(r, 0, "alder"), 34.0);
    assert_num(num(r, 1, "omr_arbetsloshet"), 25.0);
    assert_num(num(r, 1, "omr_medianinkomst"), 1000.0);
    assert_num(num(r, 1, "alder"), 35.0);
    assert_num(num(r, 2, "omr_arbetsloshet"), 7.25);
    assert_num(num(r, 2, "inskrivningsdagar"), 120.0);
    free_result(r);
    (void) state;
}

static void test_reject_field_count(void **state)
{
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row_delta(&d, -1, "alder", "99", NULL); /* also a bad value: one problem only */
    doc_row(&d, NULL);
    doc_row_delta(&d, 1, NULL);
    doc_row_delta(&d, -32, NULL); /* a single field */
    result *r = run_doc(&d, NULL);
    assert_counts(r, 4, 1, 3);
    assert_int_equal(r->nprobs, 3);
    check_problem(r, 0, 1, 2, NULL, PF_RULE_FIELD_COUNT, "");
    assert_contains(r->probs[0].message, "row has 32 fields, the header has 33");
    assert_null(r->probs[0].id);
    check_problem(r, 1, 3, 4, NULL, PF_RULE_FIELD_COUNT, "");
    assert_contains(r->probs[1].message, "row has 34 fields, the header has 33");
    check_problem(r, 2, 4, 5, NULL, PF_RULE_FIELD_COUNT, "");
    assert_contains(r->probs[2].message, "row has 1 fields");
    assert_int_equal(r->stats.problems[PF_RULE_FIELD_COUNT], 3);
    assert_int_equal(r->stats.problems[PF_RULE_OUT_OF_RANGE], 0);
    assert_int_equal(r->row[0], 2);
    free_result(r);
    (void) state;
}

static void test_reject_invalid_utf8(void **state)
{
    /* kommentar is an input column the schema does not know: ignored, but
     * still checked. */
    doc d;
    doc_start_extra(&d, ',', "\n", NULL, "kommentar");
    doc_row(&d, "id", "AF-\xC0\xAF", NULL); /* overlong '/' */
    doc_row(&d, "kommentar",
            "\x80"
            "abc",
            NULL);                                    /* lone continuation */
    doc_row(&d, "kommentar", "x\xED\xA0\x80y", NULL); /* surrogate U+D800 */
    doc_row(&d, "id", "AF\x02X", NULL);               /* NUL byte */
    doc_row(&d, "kommentar", "tab\there\x02", NULL);  /* control characters shown escaped */
    doc_row(&d, "id", "AF-\xC3\xA5\xC3\xA4\xC3\xB6", "kommentar", "\xE2\x82\xAC", NULL);
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, 0);
    assert_counts(r, 6, 1, 5);
    check_problem(r, 0, 1, 2, "id", PF_RULE_INVALID_UTF8, "AF-\\xC0\\xAF");
    assert_null(r->probs[0].id);
    check_problem(r, 1, 2, 3, "kommentar", PF_RULE_INVALID_UTF8, "\\x80abc");
    assert_string_equal(r->probs[1].id, "AF-000123");
    check_problem(r, 2, 3, 4, "kommentar", PF_RULE_INVALID_UTF8, "x\\xED\\xA0\\x80y");
    check_problem(r, 3, 4, 5, "id", PF_RULE_INVALID_UTF8, "AF\\x00X");
    check_problem(r, 4, 5, 6, "kommentar", PF_RULE_INVALID_UTF8, "tab\\x09here\\x00");
    assert_string_equal(str(r, 0, "id"), "AF-\xC3\xA5\xC3\xA4\xC3\xB6");
    assert_int_equal(r->row[0], 6);
    free_result(r);
    (void) state;
}

static void test_missing_values(void **state)
{
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    /* Rejected: required values. */
    doc_row(&d, "alder", "", NULL);   /* row 1 */
    doc_row(&d, "alder", "NA", NULL); /* row 2 */
    doc_row(&d, "kon", "NA", NULL);   /* row 3 */
    doc_row(&d, "id", "", NULL);      /* row 4 */
    /* Allowed: kept as missing. */
    doc_row(&d, "dagar_sedan_foregaende_period", "", "sokt_yrke_1", "", "arbete_studier_90d", "NA",
            NULL);                                                                      /* row 5 */
    doc_row(&d, "dagar_sedan_foregaende_period", "NA", "arbete_studier_90d", "", NULL); /* row 6 */
    /* Defaults: SUN level and direction "9". */
    doc_row(&d, "utbildningsniva", "", "utbildningsinriktning", "NA", NULL); /* row 7 */
    doc_row(&d, "utbildningsniva", "NA", "utbildningsinriktning", "", NULL); /* row 8 */
    /* Missing tokens match exactly. */
    doc_row(&d, "kon", "na", NULL); /* row 9 */
    result *r = run_doc(&d, NULL);
    assert_counts(r, 9, 4, 5);
    check_problem(r, 0, 1, 2, "alder", PF_RULE_MISSING, "");
    assert_contains(r->probs[0].message, "required");
    check_problem(r, 1, 2, 3, "alder", PF_RULE_MISSING, "NA");
    check_problem(r, 2, 3, 4, "kon", PF_RULE_MISSING, "NA");
    check_problem(r, 3, 4, 5, "id", PF_RULE_MISSING, "");
    assert_null(r->probs[3].id);
    check_problem(r, 4, 9, 10, "kon", PF_RULE_UNKNOWN_CODE, "na");

    assert_true(isnan(num(r, 0, "dagar_sedan_foregaende_period")));
    assert_null(str(r, 0, "sokt_yrke_1"));
    assert_code(r, 0, "sokt_yrke_1_omrade", NULL);
    assert_code(r, 0, "arbete_studier_90d", NULL);
    assert_true(isnan(num(r, 1, "dagar_sedan_foregaende_period")));
    assert_code(r, 1, "arbete_studier_90d", NULL);
    assert_code(r, 2, "utbildningsniva", "9");
    assert_code(r, 2, "utbildningsinriktning", "9");
    assert_code(r, 3, "utbildningsniva", "9");
    assert_code(r, 3, "utbildningsinriktning", "9");
    assert_int_equal(r->stats.problems[PF_RULE_MISSING], 4);
    free_result(r);

    /* Optional columns absent from the header are missing in every row. */
    const char *cols[NBASE];
    size_t n = 0;
    for (size_t i = 0; i < NBASE; i++)
        if (strncmp(BASE[i][0], "sokt_yrke_", 10) != 0 || strcmp(BASE[i][0], "sokt_yrke_1") == 0)
            if (strncmp(BASE[i][0], "arbete_studier", 14) != 0)
                cols[n++] = BASE[i][0];
    assert_int_equal(n, NBASE - 5);
    doc_start(&d, ',', "\n", cols, n);
    doc_row(&d, NULL);
    doc_row(&d, NULL);
    r = run_doc(&d, NULL);
    assert_counts(r, 2, 2, 0);
    for (size_t i = 0; i < 2; i++) {
        assert_null(str(r, i, "sokt_yrke_2"));
        assert_code(r, i, "sokt_yrke_2_omrade", NULL);
        assert_null(str(r, i, "sokt_yrke_4"));
        assert_code(r, i, "arbete_studier_90d", NULL);
        assert_code(r, i, "arbete_studier_180d", NULL);
        assert_code(r, i, "sokt_yrke_1_omrade", "5");
    }
    free_result(r);
    (void) state;
}

static void test_personnummer(void **state)
{
    /* Check digits worked out by hand (Luhn, weights 2,1,2,...):
     * 8112189876 sums to 50; 8112789873 (day 18 + 60) sums to 50. */
    static const reject_case cases[] = {
        {"anteckning", "811218-9876", PF_RULE_PERSONNUMMER, "<withheld>", "id column"},
        {"anteckning", "8112189876", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        {"anteckning", "198112189876", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        {"anteckning", "19811218-9876", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        {"anteckning", "811218+9876", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        {"anteckning", "811278-9873", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        {"anteckning", "ring 811218-9876 i morgon", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        /* In a schema column, before its own checks (the pattern). */
        {"sokt_yrke_1", "8112189876", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        {"alder", "8112189876", PF_RULE_PERSONNUMMER, "<withheld>", NULL},
        /* Rejected for another reason: the value is still withheld. */
        {"anteckning", "811218-9876\xFF", PF_RULE_INVALID_UTF8, "<withheld>", NULL},
        {"id", "811218-9876\xC0", PF_RULE_INVALID_UTF8, "<withheld>", NULL},
        {"id", "19811218-9876 " ZEROS10 ZEROS10 ZEROS10 ZEROS10 ZEROS10 "00", PF_RULE_TOO_LONG,
         "<withheld>", NULL},
    };
    doc d;
    doc_start_extra(&d, ',', "\n", "anteckning", NULL);
    size_t n = sizeof cases / sizeof *cases;
    for (size_t i = 0; i < n; i++) {
        doc_row(&d, NULL);
        doc_row(&d, cases[i].column, cases[i].value, NULL);
    }
    /* Not identity numbers: accepted. */
    doc_row(&d, "anteckning", "811218-9875", NULL);   /* Luhn sum 49 */
    doc_row(&d, "anteckning", "811318-9875", NULL);   /* month 13, Luhn sum 50 */
    doc_row(&d, "anteckning", "81121898761", NULL);   /* 11 digits */
    doc_row(&d, "anteckning", "19000229-1235", NULL); /* 1900 not a leap year */
    /* In the id column an identity number is allowed. */
    doc_row(&d, "id", "811218-9876", NULL);
    doc_row(&d, "id", "198112189876", NULL);
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, 0);
    assert_counts(r, (int64_t) (2 * n + 6), (int64_t) (n + 6), (int64_t) n);
    for (size_t i = 0; i < n; i++) {
        int64_t row = (int64_t) (2 * i + 2);
        check_problem(r, i, row, row + 1, cases[i].column, cases[i].rule, cases[i].shown);
        if (cases[i].message)
            assert_contains(r->probs[i].message, cases[i].message);
        /* Neither the value nor its digits appear anywhere. */
        assert_not_contains(r->probs[i].message, "9876");
        assert_not_contains(r->probs[i].message, "9873");
    }
    assert_int_equal(r->stats.problems[PF_RULE_PERSONNUMMER], 9);
    assert_string_equal(str(r, n + 4, "id"), "811218-9876");
    assert_string_equal(str(r, n + 5, "id"), "198112189876");
    free_result(r);
    (void) state;
}

/* ---- derived columns -------------------------------------------------------- */

static void test_derived_columns(void **state)
{
    static const struct {
        const char *land, *region, *kommun, *lan, *yrke, *omrade;
    } rows[] = {
        {"SE", "sverige", "1280", "12", "5120", "5"},
        {"NO", "norden", "0180", "01", "2512", "2"},
        {"DE", "eu_efta", "2480", "24", "0110", "0"},
        {"UA", "europa_ovrigt", "0380", "03", "9111", "9"},
        {"SY", "utanfor_europa", "0114", "01", "", NULL},
        {"GB", "europa_ovrigt", "1280", "12", "7411", "7"},
        {"IS", "norden", "1280", "12", "1111", "1"},
        {"CH", "eu_efta", "1280", "12", "3311", "3"},
        {"AF", "utanfor_europa", "1280", "12", "4111", "4"},
    };
    size_t n = sizeof rows / sizeof *rows;
    for (int variant = 0; variant < 3; variant++) {
        /* 0: plain; 1 and 2: the input carries its own (wrong) derived
         * columns, which are ignored and recomputed, also with passthrough. */
        doc d;
        if (variant == 0)
            doc_start(&d, ',', "\n", NULL, 0);
        else
            doc_start_extra(&d, ',', "\n", "fodelseregion", "lanskod");
        for (size_t i = 0; i < n; i++)
            doc_row(&d, "fodelseland", rows[i].land, "kommunkod", rows[i].kommun, "sokt_yrke_1",
                    rows[i].yrke, "fodelseregion", "norden", "lanskod", "99", NULL);
        pf_reader_options o = {.passthrough_unknown = variant == 2};
        result *r = run_doc(&d, &o);
        assert_int_equal(r->open_rc, 0);
        assert_counts(r, (int64_t) n, (int64_t) n, 0);
        for (size_t i = 0; i < n; i++) {
            assert_code(r, i, "fodelseland", rows[i].land);
            assert_code(r, i, "fodelseregion", rows[i].region);
            assert_code(r, i, "lanskod", rows[i].lan);
            assert_code(r, i, "sokt_yrke_1_omrade", rows[i].omrade);
        }
        if (variant) {
            assert_int_equal(r->nunknown, 2);
            assert_string_equal(r->unknown[0], "fodelseregion");
            assert_string_equal(r->unknown[1], "lanskod");
        }
        /* A derived column's name is taken: it is never passed through. */
        assert_int_equal(r->npass, 0);
        free_result(r);
    }
    (void) state;
}

/* ---- counts, chunking, limits ----------------------------------------------- */

static void test_counts_reconcile(void **state)
{
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row(&d, NULL);                                                  /* 1 */
    doc_row(&d, "alder", "99", NULL);                                   /* 2: out_of_range */
    doc_row(&d, NULL);                                                  /* 3 */
    doc_row(&d, "alder", "15", "kon", "X", "kommunkod", "9999", NULL);  /* 4: three */
    doc_row(&d, NULL);                                                  /* 5 */
    doc_row_delta(&d, 2, NULL);                                         /* 6: field_count */
    doc_row(&d, NULL);                                                  /* 7 */
    doc_row(&d, "omr_medianinkomst", "abc", "sokt_yrke_1", "12", NULL); /* 8: two */
    doc_row(&d, NULL);                                                  /* 9 */
    doc_row(&d, NULL);                                                  /* 10 */
    result *r = run_doc(&d, NULL);
    assert_counts(r, 10, 6, 4);
    assert_int_equal(r->nprobs, 7);
    assert_int_equal(r->stats.problems[PF_RULE_OUT_OF_RANGE], 2);
    assert_int_equal(r->stats.problems[PF_RULE_UNKNOWN_CODE], 2);
    assert_int_equal(r->stats.problems[PF_RULE_FIELD_COUNT], 1);
    assert_int_equal(r->stats.problems[PF_RULE_NOT_A_NUMBER], 1);
    assert_int_equal(r->stats.problems[PF_RULE_PATTERN], 1);
    /* Problems of a row in column order; only the first is marked. */
    check_problem(r, 1, 4, 5, "alder", PF_RULE_OUT_OF_RANGE, "15");
    check_problem(r, 2, 4, 5, "kon", PF_RULE_UNKNOWN_CODE, "X");
    check_problem(r, 3, 4, 5, "kommunkod", PF_RULE_UNKNOWN_CODE, "9999");
    assert_true(r->probs[1].first);
    assert_false(r->probs[2].first);
    assert_false(r->probs[3].first);
    check_problem(r, 5, 8, 9, "sokt_yrke_1", PF_RULE_PATTERN, "12");
    check_problem(r, 6, 8, 9, "omr_medianinkomst", PF_RULE_NOT_A_NUMBER, "abc");
    static const int64_t rows[] = {1, 3, 5, 7, 9, 10};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(r->row[i], rows[i]);
    free_result(r);
    (void) state;
}

/* 10 000 rows, every 13th rejected, read in frames of 7: all accepted rows
 * arrive once, in order, with their own values. */
static void read_many(pf_reader *rd, pf_frame *f, int exact)
{
    pf_error err;
    int rc;
    int64_t expect = 1, frames = 0, rows = 0;
    size_t last_n = 0;
    int alder = pf_schema_find(S, "alder"), id = pf_schema_find(S, "id");
    while ((rc = pf_reader_read(rd, f, &err)) > 0) {
        /* Every frame but the last is full (exact: the frame's own size). */
        if (frames > 0) {
            if (exact)
                assert_int_equal(last_n, 7);
            else
                assert_true(last_n >= 7);
        }
        assert_true(f->n >= 1 && f->n <= f->cap);
        for (size_t i = 0; i < f->n; i++) {
            if (expect % 13 == 0)
                expect++;
            assert_int_equal(f->row[i], expect);
            assert_int_equal(f->line[i], expect + 1);
            assert_num(f->col[alder].num[i], (double) (16 + expect % 50));
            char want[24];
            snprintf(want, sizeof want, "P%05lld", (long long) expect);
            assert_string_equal(pf_frame_str(f, f->col[id].str[i]), want);
            expect++;
            rows++;
        }
        last_n = f->n;
        frames++;
    }
    assert_int_equal(rc, 0);
    /* 13, 26, ..., 9997: 769 rejected. */
    assert_int_equal(rows, 10000 - 769);
    const pf_reader_stats *st = pf_reader_stats_get(rd);
    assert_int_equal(st->rows_read, 10000);
    assert_int_equal(st->rows_accepted, 9231);
    assert_int_equal(st->rows_rejected, 769);
    assert_int_equal(st->problems[PF_RULE_OUT_OF_RANGE], 769);
    assert_true(frames >= (exact ? 9231 / 7 : 10));
}

static void test_many_frames(void **state)
{
    doc d;
    doc_start(&d, ',', "\n", NULL, 0);
    for (int i = 1; i <= 10000; i++) {
        char id[16], alder[8];
        snprintf(id, sizeof id, "P%05d", i);
        snprintf(alder, sizeof alder, "%d", i % 13 == 0 ? 99 : 16 + i % 50);
        doc_row(&d, "id", id, "alder", alder, NULL);
    }
    pf_error err;
    for (int exact = 0; exact < 2; exact++) {
        pf_reader *rd;
        assert_int_equal(pf_reader_open_memory(&rd, S, d.b.p, d.b.n, NULL, &err), 0);
        pf_frame *f;
        if (exact)
            assert_int_equal(pf_frame_new(&f, S, 7, 0, NULL, &err), 0);
        else
            assert_int_equal(pf_reader_frame_new(rd, 7, &f, &err), 0);
        read_many(rd, f, exact);
        /* At the end, reading again keeps returning 0. */
        assert_int_equal(pf_reader_read(rd, f, &err), 0);
        assert_int_equal(f->n, 0);
        pf_frame_free(f);
        pf_reader_close(rd);
    }
    tbuf_free(&d.b);
    (void) state;
}

static void test_field_limits(void **state)
{
    char v32[33], v33[34], v300[301];
    memset(v32, 'a', 32);
    v32[32] = '\0';
    memset(v33, 'b', 33);
    v33[33] = '\0';
    memset(v300, 'c', 300);
    v300[300] = '\0';
    doc d;
    doc_start_extra(&d, ',', "\n", NULL, "kommentar");
    doc_row(&d, "kommentar", v32, NULL);
    doc_row(&d, "kommentar", v33, NULL);
    doc_row(&d, "kommentar", v300, NULL);
    doc_row(&d, NULL);
    pf_reader_options o = {.max_field_bytes = 32};
    result *r = run_doc(&d, &o);
    assert_int_equal(r->read_rc, 0);
    assert_counts(r, 4, 2, 2);
    check_problem(r, 0, 2, 3, "kommentar", PF_RULE_TOO_LONG, v33);
    assert_contains(r->probs[0].message, "longer than 32 bytes");
    /* Shown values are cut at 200 bytes. */
    char shown[210];
    memset(shown, 'c', 200);
    memcpy(shown + 200, "...", 4);
    check_problem(r, 1, 3, 4, "kommentar", PF_RULE_TOO_LONG, shown);
    assert_int_equal(r->row[1], 4);
    free_result(r);

    /* Beyond the hard limit of 16 MiB (a runaway quote): reading stops. */
    doc_start_extra(&d, ',', "\n", NULL, "kommentar");
    doc_row(&d, NULL);
    tbuf_puts(&d.b, "\"");
    size_t big = (16u << 20) + 100;
    char *x = malloc(big);
    memset(x, 'x', big);
    tbuf_add(&d.b, x, big);
    free(x);
    tbuf_puts(&d.b, "\"\n");
    r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, PF_ELIMIT);
    assert_contains(r->err.message, "longer than 16 MiB");
    free_result(r);
    (void) state;
}

static void test_unterminated_quote(void **state)
{
    doc d;
    doc_start_extra(&d, ',', "\n", NULL, "kommentar");
    doc_row(&d, NULL);
    doc_row(&d, "kommentar", "\x01\"never closed", NULL);
    doc_row(&d, NULL);
    doc_row(&d, NULL);
    result *r = run_doc(&d, NULL);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, PF_EFORMAT);
    assert_contains(r->err.message, "the quoted field starting on line 3 is never closed");
    assert_int_equal(r->stats.rows_read, 1);
    free_result(r);

    /* At the very end of the input, without a line end. */
    doc_start(&d, ',', "\n", NULL, 0);
    doc_row(&d, NULL);
    d.b.n--; /* drop the final LF */
    tbuf_puts(&d.b, "\"");
    r = run_doc(&d, NULL);
    assert_int_equal(r->read_rc, PF_EFORMAT);
    assert_contains(r->err.message, "line 2");
    free_result(r);

    /* In the header. */
    r = run("\"id,alder\n1,2\n", 14, NULL);
    assert_int_equal(r->open_rc, PF_EFORMAT);
    assert_contains(r->err.message, "line 1 is never closed");
    free_result(r);
    (void) state;
}

static void test_empty_and_header_only(void **state)
{
    result *r = run("", 0, NULL);
    assert_int_equal(r->open_rc, PF_EHEADER);
    assert_contains(r->err.message, "empty");
    free_result(r);
    r = run("\xEF\xBB\xBF", 3, NULL);
    assert_int_equal(r->open_rc, PF_EHEADER);
    free_result(r);
    r = run(NULL, 0, NULL); /* no buffer at all */
    assert_int_equal(r->open_rc, PF_EHEADER);
    free_result(r);

    for (int variant = 0; variant < 4; variant++) {
        doc d;
        doc_start(&d, variant == 3 ? '\t' : ',', variant == 1 ? "\r\n" : "\n", NULL, 0);
        if (variant == 0)
            d.b.n--; /* no line end at all */
        if (variant == 2)
            tbuf_puts(&d.b, "\n\n\n");
        result *h = run_doc(&d, NULL);
        assert_int_equal(h->open_rc, 0);
        assert_int_equal(h->read_rc, 0);
        assert_counts(h, 0, 0, 0);
        assert_int_equal(h->stats.blank_lines, variant == 2 ? 3 : 0);
        assert_int_equal(h->delim, variant == 3 ? '\t' : ',');
        free_result(h);
    }
    (void) state;
}

/* ---- parallel parsing against serial parsing on random inputs ------------------ */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t) ((rng_state >> 33) % n);
}

static void same_results(const result *a, const result *b, unsigned seed)
{
    if (a->open_rc != b->open_rc || a->read_rc != b->read_rc || a->n != b->n ||
        a->nprobs != b->nprobs || memcmp(&a->stats, &b->stats, sizeof a->stats) != 0)
        fail_msg("seed %u: rc %d/%d %d/%d, rows %zu/%zu, problems %zu/%zu, read %lld/%lld, "
                 "blank %lld/%lld, bytes %llu/%llu",
                 seed, a->open_rc, b->open_rc, a->read_rc, b->read_rc, a->n, b->n, a->nprobs,
                 b->nprobs, (long long) a->stats.rows_read, (long long) b->stats.rows_read,
                 (long long) a->stats.blank_lines, (long long) b->stats.blank_lines,
                 (unsigned long long) a->stats.bytes_read,
                 (unsigned long long) b->stats.bytes_read);
    if (a->read_rc)
        assert_string_equal(a->err.message, b->err.message);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->row[i], b->row[i]);
        assert_int_equal(a->line[i], b->line[i]);
        for (size_t c = 0; c < a->s->ncols; c++) {
            assert_memory_equal(&a->num[i][c], &b->num[i][c], sizeof(double));
            assert_int_equal(a->cat[i][c], b->cat[i][c]);
            assert_true((a->str[i][c] == NULL) == (b->str[i][c] == NULL));
            if (a->str[i][c])
                assert_string_equal(a->str[i][c], b->str[i][c]);
        }
        for (size_t k = 0; k < a->npass && k < 8; k++)
            assert_string_equal(a->pass[i][k], b->pass[i][k]);
    }
    for (size_t k = 0; k < a->nprobs; k++) {
        const prob *p = &a->probs[k], *q = &b->probs[k];
        if (p->row != q->row || p->line != q->line || p->rule != q->rule || p->first != q->first)
            fail_msg("seed %u problem %zu: row %lld/%lld line %lld/%lld", seed, k,
                     (long long) p->row, (long long) q->row, (long long) p->line,
                     (long long) q->line);
        assert_true((p->id == NULL) == (q->id == NULL));
        if (p->id)
            assert_string_equal(p->id, q->id);
        assert_true((p->column == NULL) == (q->column == NULL));
        if (p->column)
            assert_string_equal(p->column, q->column);
        assert_string_equal(p->value, q->value);
        assert_string_equal(p->message, q->message);
    }
}

/* Reads `in` serially and through pf_prefetch (1 to max_threads threads,
 * frames of 1 to 3 rows, so blocks of a few hundred bytes): everything
 * must agree. */
static void serial_and_blocks_agree(const pf_schema *k, const tbuf *in, const pf_reader_options *o,
                                    unsigned max_threads, unsigned seed)
{
    reader_threads = 0;
    result *a = run_schema(k, in->p, in->n, o, 5);
    reader_threads = 1 + (int) rnd(max_threads);
    result *b = run_schema(k, in->p, in->n, o, 1 + rnd(3));
    reader_threads = 0;
    same_results(a, b, seed);
    free_result(a);
    free_result(b);
}

/* Random inputs made of what upsets record splitting: quoted fields with
 * delimiters, line ends and doubled quotes inside, spaces before an
 * opening quote, text after a closing quote, stray quotes in unquoted
 * fields, blank lines, CR, LF and CRLF line ends, a missing last line
 * end, an unterminated quote, a CRLF header. Read serially and through
 * pf_prefetch with tiny blocks, everything must agree. */
static void test_parallel_matches_serial(void **state)
{
    pf_schema *k;
    pf_error err;
    if (pf_schema_load(&k, KURS_SCHEMA, &err))
        fail_msg("%s", err.message);
    static const char *const fields[] = {
        "12",         "3,5",      "U1",         "S1",          "AB123",    "grund",
        "ja",         "1",        "",           "-",           "\"S1\"",   "\"a;b\"",
        "\"a,b\"",    "\"x\ny\"", "\"x\r\ny\"", "\"q\"\"q\"",  "  \"G1\"", "ab\"c",
        "\"AB123\" ", "\"x\"y",   "\"\"",       "\"x\" \"y\"", "\"x\" \"", " 7 ",
        "\t\"\n\"",   "\"\r\"",   "\"\n\n\"",   "811218-9876"};
    static const char *const ends[] = {"\n", "\n", "\n", "\r\n", "\r"};
    for (unsigned seed = 1; seed <= 400; seed++) {
        rng_state = seed;
        tbuf in = {0};
        char d = rnd(2) ? ';' : ',';
        const char *eol = ends[rnd(5)];
        tbuf_puts(&in, d == ';' ? "timmar;ort;kurskod;niva;klar;vikt;extra"
                                : "timmar,ort,kurskod,niva,klar,vikt,extra");
        tbuf_puts(&in, rnd(4) ? eol : "\r\n");
        unsigned rows = 1 + rnd(40);
        for (unsigned i = 0; i < rows; i++) {
            unsigned nf = rnd(8) ? 7 : 1 + rnd(9);
            for (unsigned j = 0; j < nf; j++) {
                if (j)
                    tbuf_add(&in, &d, 1);
                tbuf_puts(&in, fields[rnd(sizeof fields / sizeof *fields)]);
            }
            tbuf_puts(&in, rnd(10) ? eol : ends[rnd(5)]);
            if (!rnd(12))
                tbuf_puts(&in, eol); /* a blank line */
        }
        if (!rnd(5))
            in.n--; /* no line end after the last record */
        if (!rnd(20))
            tbuf_puts(&in, "\"never closed");
        serial_and_blocks_agree(k, &in, NULL, 4, seed);
        tbuf_free(&in);
    }
    pf_schema_free(k);
    (void) state;
}

/* Random inputs of mostly ordinary records, whose values sit on either
 * side of every check: ranges and their bounds, whole numbers, decimal
 * separators, digits past what is assembled exactly, codes and aliases,
 * patterns and lengths, missing tokens and defaults, spaces around values,
 * UTF-8 valid and not, identity numbers, a column absent from the header,
 * unknown columns ignored or passed through, field counts off by one.
 * Block parsing reads most records straight into the frame and must give
 * what serial reading gives, value for value and problem for problem. */
static void test_ordinary_records_match_serial(void **state)
{
    pf_schema *k;
    pf_error err;
    if (pf_schema_load(&k, KURS_SCHEMA, &err))
        fail_msg("%s", err.message);
    static const char *const timmar[] = {"12",
                                         "3,5",
                                         "0",
                                         "-0",
                                         "0,0",
                                         "-1",
                                         "1e3",
                                         "12345678901234567",
                                         "007",
                                         "1,",
                                         ",5",
                                         " 7",
                                         "7 ",
                                         "1.5",
                                         "x",
                                         "-",
                                         "123456789012345",
                                         "",
                                         "0,1",
                                         "99,99",
                                         "1,05",
                                         "1234,5",
                                         "+3",
                                         "-0,0",
                                         "9,000000000000001"};
    static const char *const ort[] = {"U1", "S1", "G1", "M1", "XX", "u1", "", "S1 "};
    static const char *const kurskod[] = {"AB123", "ZZ999", "ab123", "AB1234", "", "-", "A123"};
    static const char *const niva[] = {
        "grund", "G", "F", "fortsattning", "grundläggande", "x", "saknas", "fortsätt", ""};
    static const char *const klar[] = {"ja", "J", "nej", "N", "", "maybe", "JA"};
    static const char *const vikt[] = {"0,5", "2", "2,0000001", "1,25", "", "saknas", "0,49", "1"};
    static const char *const extra[] = {"anything",
                                        "811218-9876",
                                        "19811218-9876",
                                        "\xc3\x85\xc3\x84",
                                        "\xff",
                                        "8112189876",
                                        "a\tb",
                                        "",
                                        "1234567890",
                                        " lead",
                                        "trail ",
                                        "z",
                                        "ab",
                                        "abc",
                                        "seventy",
                                        "ninechars",
                                        "sixteen-chars-xy",
                                        "seventeen-chars-x"};
    const char *const *cols[] = {timmar, ort, kurskod, niva, klar, vikt, extra};
    const size_t ncol[] = {sizeof timmar / sizeof *timmar,   sizeof ort / sizeof *ort,
                           sizeof kurskod / sizeof *kurskod, sizeof niva / sizeof *niva,
                           sizeof klar / sizeof *klar,       sizeof vikt / sizeof *vikt,
                           sizeof extra / sizeof *extra};
    for (unsigned seed = 1; seed <= 300; seed++) {
        rng_state = seed;
        tbuf in = {0};
        char d = rnd(2) ? ';' : ',';
        tbuf_puts(&in, d == ';' ? "timmar;ort;kurskod;niva;klar;vikt;extra\n"
                                : "timmar,ort,kurskod,niva,klar,vikt,extra\n");
        unsigned rows = 1 + rnd(60);
        for (unsigned i = 0; i < rows; i++) {
            unsigned nf = rnd(15) ? 7 : 6 + rnd(3);
            for (unsigned j = 0; j < nf; j++) {
                if (j)
                    tbuf_add(&in, &d, 1);
                size_t c = j < 7 ? j : 6;
                /* Mostly the first, ordinary, values; now and then any. */
                size_t pick = rnd(4) ? rnd(ncol[c] < 3 ? ncol[c] : 3) : rnd((unsigned) ncol[c]);
                const char *v = cols[c][pick];
                if (d == ',' && strchr(v, ','))
                    v = "4"; /* a comma value would be split, or need quotes */
                tbuf_puts(&in, v);
            }
            tbuf_puts(&in, rnd(40) ? "\n" : "\r\n");
            if (!rnd(30))
                tbuf_puts(&in, "\n"); /* a blank line */
        }
        pf_reader_options o = {0};
        o.passthrough_unknown = (int) rnd(2);
        o.decimal = d == ',' ? PF_DECIMAL_POINT : PF_DECIMAL_COMMA;
        serial_and_blocks_agree(k, &in, &o, 3, seed);
        tbuf_free(&in);
    }
    pf_schema_free(k);
    (void) state;
}

/* ---- another schema ---------------------------------------------------------- */

static void test_other_schema(void **state)
{
    pf_schema *k;
    pf_error err;
    if (pf_schema_load(&k, KURS_SCHEMA, &err))
        fail_msg("%s", err.message);
    const char *in = "timmar;ort;kurskod;niva;klar;vikt;extra\n"
                     "12,5;U1;AB123;G;ja;;anything\n"       /* 1 */
                     "1e5;M1;CD456;fortsattning;N;0,75;x\n" /* 2 */
                     "saknas;S1;EF789;-;;2;y\n"             /* 3: timmar missing */
                     "3;G1;ab123;F;J;1;z\n"                 /* 4: pattern */
                     "4;G1;AB1234;F;J;1;z\n"                /* 5: too long */
                     "5;X9;AB123;F;J;1;z\n"                 /* 6: unknown ort */
                     "6;S1;AB123;F;J;1;811218-9876\n"       /* 7: identity number */
                     "7;S1;AB123;grund;nej;2,5;z\n"         /* 8: vikt above 2 */
                     "-;S1;AB123;grund;nej;2;z\n"           /* 9: timmar missing */
                     "8;S1;GH012;saknas;saknas;saknas;z\n"; /* 10 */
    result *r = run_schema(k, in, strlen(in), NULL, 3);
    assert_int_equal(r->open_rc, 0);
    assert_int_equal(r->read_rc, 0);
    assert_int_equal(r->delim, ';');
    assert_int_equal(r->nunknown, 1);
    assert_string_equal(r->unknown[0], "extra");
    assert_counts(r, 10, 3, 7);

    assert_num(num(r, 0, "timmar"), 12.5);
    assert_code(r, 0, "ort", "U1");
    assert_code(r, 0, "landsdel", "N");
    assert_string_equal(str(r, 0, "kurskod"), "AB123");
    assert_code(r, 0, "niva", "grund");
    assert_code(r, 0, "klar", "1");
    assert_num(num(r, 0, "vikt"), 1.25);
    assert_true(isnan(num(r, 0, "kursdag")));

    assert_num(num(r, 1, "timmar"), 100000.0);
    assert_code(r, 1, "ort", "M1");
    assert_code(r, 1, "landsdel", "G");
    assert_code(r, 1, "niva", "fortsattning");
    assert_code(r, 1, "klar", "0");
    assert_num(num(r, 1, "vikt"), 0.75);

    assert_int_equal(r->row[2], 10);
    assert_code(r, 2, "landsdel", "S");
    assert_code(r, 2, "niva", "grund");
    assert_code(r, 2, "klar", NULL);
    assert_num(num(r, 2, "vikt"), 1.25);

    check_problem(r, 0, 3, 4, "timmar", PF_RULE_MISSING, "saknas");
    check_problem(r, 1, 4, 5, "kurskod", PF_RULE_PATTERN, "ab123");
    check_problem(r, 2, 5, 6, "kurskod", PF_RULE_TOO_LONG, "AB1234");
    check_problem(r, 3, 6, 7, "ort", PF_RULE_UNKNOWN_CODE, "X9");
    check_problem(r, 4, 7, 8, "extra", PF_RULE_PERSONNUMMER, "<withheld>");
    check_problem(r, 5, 8, 9, "vikt", PF_RULE_OUT_OF_RANGE, "2,5");
    check_problem(r, 6, 9, 10, "timmar", PF_RULE_MISSING, "-");
    for (size_t i = 0; i < r->nprobs; i++)
        assert_null(r->probs[i].id); /* this schema has no id column */
    free_result(r);
    pf_schema_free(k);
    (void) state;
}

static void test_frame_mismatch(void **state)
{
    doc d;
    doc_start_extra(&d, ',', "\n", NULL, "kommentar");
    doc_row(&d, NULL);
    pf_reader_options pass = {.passthrough_unknown = 1};
    pf_reader *a, *b;
    pf_error err;
    assert_int_equal(pf_reader_open_memory(&a, S, d.b.p, d.b.n, &pass, &err), 0);
    assert_int_equal(pf_reader_open_memory(&b, S, d.b.p, d.b.n, NULL, &err), 0);
    pf_frame *fb;
    assert_int_equal(pf_reader_frame_new(b, 10, &fb, &err), 0);
    /* b's frame has no passthrough column; a needs one. */
    assert_int_equal(pf_reader_read(a, fb, &err), PF_EINVAL);
    assert_int_equal(pf_reader_read(b, fb, &err), 1);
    assert_int_equal(fb->n, 1);
    pf_frame_free(fb);
    pf_reader_close(a);
    pf_reader_close(b);
    tbuf_free(&d.b);
    (void) state;
}

static int load_schema(void **state)
{
    pf_error err;
    if (pf_schema_load(&S, AF_SCHEMA, &err)) {
        print_error("%s\n", err.message);
        return -1;
    }
    (void) state;
    return 0;
}

static int free_schema(void **state)
{
    pf_schema_free(S);
    (void) state;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_row),
        cmocka_unit_test(test_header_any_order),
        cmocka_unit_test(test_header_missing_required),
        cmocka_unit_test(test_header_duplicate),
        cmocka_unit_test(test_unknown_columns_ignored),
        cmocka_unit_test(test_unknown_columns_passthrough),
        cmocka_unit_test(test_delimiters),
        cmocka_unit_test(test_decimal_comma),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_crlf_and_line_numbers),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_header_with_stray_quote),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_gzip_damaged),
        cmocka_unit_test(test_reject_codes_and_ranges),
        cmocka_unit_test(test_reject_numbers),
        cmocka_unit_test(test_reject_field_count),
        cmocka_unit_test(test_reject_invalid_utf8),
        cmocka_unit_test(test_missing_values),
        cmocka_unit_test(test_personnummer),
        cmocka_unit_test(test_derived_columns),
        cmocka_unit_test(test_counts_reconcile),
        cmocka_unit_test(test_many_frames),
        cmocka_unit_test(test_field_limits),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_empty_and_header_only),
        cmocka_unit_test(test_other_schema),
        cmocka_unit_test(test_frame_mismatch),
        cmocka_unit_test(test_parallel_matches_serial),
        cmocka_unit_test(test_ordinary_records_match_serial),
    };
    int failed = cmocka_run_group_tests_name("read", tests, load_schema, free_schema);
    reader_threads = 1;
    failed += cmocka_run_group_tests_name("read in blocks", tests, load_schema, free_schema);
    reader_threads = 3;
    failed += cmocka_run_group_tests_name("read in parallel", tests, load_schema, free_schema);
    return failed;
}
