/*
 * fuzz_reader.c - fuzz target for the CSV reader. The input bytes are a
 * whole input file (plain or gzip), read through the bundled
 * af-inskrivning schema frame by frame to the end.
 *
 * Besides what the sanitizers catch, it checks the reader's promises:
 * rows read = accepted + rejected, every problem reported once and counted
 * by rule, rows in input order, and every accepted value within its
 * column's rules. The options vary with the input's length, so one corpus
 * covers passthrough, the decimal modes, a small field limit and several
 * frame sizes.
 *
 * Built with -fsanitize=fuzzer by tests/fuzz/CMakeLists.txt, and with the
 * normal compiler together with replay.c for the corpus replay test.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/reader.h"
#include "profil/schema.h"
#include "utf8.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct tally {
    int64_t problems[PF_RULE_COUNT];
    int64_t rows_with_problems;
    int64_t last_row;
} tally;

static void on_reject(void *ctx, const pf_problem *p)
{
    tally *t = ctx;
    CHECK((unsigned) p->rule < PF_RULE_COUNT);
    CHECK(p->row >= 1 && p->line >= 2);
    if (p->first_of_row) {
        CHECK(p->row > t->last_row);
        t->rows_with_problems++;
    } else {
        CHECK(p->row == t->last_row);
    }
    t->last_row = p->row;
    CHECK(p->value && p->message && p->message[0]);
    CHECK((p->column == NULL) == (p->rule == PF_RULE_FIELD_COUNT));
    if (p->rule == PF_RULE_PERSONNUMMER)
        CHECK(strcmp(p->value, "<withheld>") == 0);
    size_t n = strlen(p->value);
    CHECK(n <= 1000 && pf_utf8_valid(p->value, n));
    CHECK(pf_utf8_valid(p->message, strlen(p->message)));
    if (p->id)
        CHECK(pf_utf8_valid(p->id, strlen(p->id)));
    t->problems[p->rule]++;
}

static void check_str(const pf_frame *f, pf_strref r, size_t max_length)
{
    if (r.off == PF_STR_MISSING)
        return;
    CHECK((size_t) r.off + r.len < f->arena_len);
    const char *s = f->arena + r.off;
    CHECK(s[r.len] == '\0' && strlen(s) == r.len);
    CHECK(pf_utf8_valid(s, r.len));
    CHECK(max_length == 0 || r.len <= max_length);
}

static void check_row(const pf_frame *f, size_t i)
{
    const pf_schema *s = f->schema;
    for (size_t c = 0; c < s->ncols; c++) {
        const pf_column *col = &s->cols[c];
        /* A required column that may not be missing always has a value. */
        int must = col->required && col->missing != PF_MISSING_ALLOW;
        switch (col->type) {
        case PF_TYPE_INTEGER:
        case PF_TYPE_NUMBER: {
            double v = f->col[c].num[i];
            if (isnan(v)) {
                CHECK(!must);
                break;
            }
            CHECK(v >= col->min && v <= col->max && !signbit(v + 0.0));
            if (col->type == PF_TYPE_INTEGER)
                CHECK(v == floor(v));
            break;
        }
        case PF_TYPE_CATEGORY:
        case PF_TYPE_BOOLEAN: {
            int32_t v = f->col[c].cat[i];
            CHECK(v >= -1 && (v < 0 || (size_t) v < col->nlevels));
            CHECK(v >= 0 || !must);
            break;
        }
        case PF_TYPE_STRING:
            check_str(f, f->col[c].str[i], col->max_length);
            CHECK(f->col[c].str[i].off != PF_STR_MISSING || !must);
            break;
        }
    }
    for (size_t k = 0; k < f->npass; k++) {
        CHECK(f->pass[k][i].off != PF_STR_MISSING);
        check_str(f, f->pass[k][i], 0);
    }
}

static pf_schema *schema; /* loaded once, kept for the life of the process */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_error err;
    if (!schema && pf_schema_load(&schema, PF_FUZZ_DATADIR "/schema/af-inskrivning.json", &err)) {
        fprintf(stderr, "%s\n", err.message);
        abort();
    }
    tally t = {{0}, 0, 0};
    pf_reader_options opt = {0};
    opt.passthrough_unknown = (int) (size & 1);
    opt.decimal = (int) ((size >> 1) % 3);
    opt.max_field_bytes = size % 7 == 0 ? 16 : 0;
    opt.on_reject = on_reject;
    opt.reject_ctx = &t;
    pf_reader *r = NULL;
    int rc = pf_reader_open_memory(&r, schema, data, size, &opt, &err);
    if (rc) {
        CHECK(rc < 0 && r == NULL && err.status == rc);
        return 0;
    }
    pf_frame *f;
    CHECK(pf_reader_frame_new(r, 1 + size % 13, &f, &err) == 0);
    int64_t rows = 0, last = 0;
    while ((rc = pf_reader_read(r, f, &err)) > 0) {
        CHECK(f->n >= 1 && f->n <= f->cap);
        for (size_t i = 0; i < f->n; i++) {
            CHECK(f->row[i] > last && f->line[i] >= 2);
            last = f->row[i];
            check_row(f, i);
        }
        rows += (int64_t) f->n;
    }
    const pf_reader_stats *st = pf_reader_stats_get(r);
    if (rc == 0) {
        CHECK(f->n == 0);
        CHECK(st->rows_read == st->rows_accepted + st->rows_rejected);
        CHECK(rows == st->rows_accepted);
        CHECK(t.rows_with_problems == st->rows_rejected);
        for (int k = 0; k < PF_RULE_COUNT; k++)
            CHECK(t.problems[k] == st->problems[k]);
        CHECK(pf_reader_read(r, f, &err) == 0);
    } else {
        CHECK(rc < 0 && err.status == rc);
    }
    pf_frame_free(f);
    pf_reader_close(r);
    return 0;
}
