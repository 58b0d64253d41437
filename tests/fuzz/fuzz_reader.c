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
 * frame sizes. Then the same input is read again through pf_prefetch,
 * parsing blocks of a few hundred bytes on two threads, and everything
 * must be the same: rows and their values, numbers, problems, counts and
 * the error, if any.
 *
 * Built with -fsanitize=fuzzer by tests/fuzz/CMakeLists.txt, and with the
 * normal compiler together with replay.c for the corpus replay test.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/prefetch.h"
#include "profil/reader.h"
#include "profil/schema.h"
#include "utf8.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

#include "fuzzcheck.h"

static pf_schema *schema; /* loaded once, kept for the life of the process */

typedef struct tally {
    int64_t problems[PF_RULE_COUNT];
    int64_t rows_with_problems;
    int64_t last_row;
    /* Of the problems reported and of the rows read, each in order (how
     * the two interleave depends on where frames end). */
    uint64_t problem_digest, row_digest;
} tally;

static void mix(uint64_t *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *d = (*d ^ b[i]) * 1099511628211ULL;
}

static void mix_str(uint64_t *d, const char *s)
{
    mix(d, s ? s : "\1null", s ? strlen(s) + 1 : 6);
}

static void digest_problem(tally *t, const pf_problem *p)
{
    uint64_t *d = &t->problem_digest;
    mix(d, &p->row, sizeof p->row);
    mix(d, &p->line, sizeof p->line);
    mix(d, &p->rule, sizeof p->rule);
    mix(d, &p->first_of_row, sizeof p->first_of_row);
    mix_str(d, p->id);
    mix_str(d, p->column);
    mix_str(d, p->value);
    mix_str(d, p->message);
}

static void digest_row(tally *t, const pf_frame *f, size_t i)
{
    uint64_t *d = &t->row_digest;
    mix(d, &f->row[i], sizeof f->row[i]);
    mix(d, &f->line[i], sizeof f->line[i]);
    for (size_t c = 0; c < f->schema->ncols; c++) {
        if (f->col[c].num)
            mix(d, &f->col[c].num[i], sizeof(double));
        else if (f->col[c].cat)
            mix(d, &f->col[c].cat[i], sizeof(int32_t));
        else
            mix_str(d, f->col[c].str[i].off == PF_STR_MISSING ? NULL
                                                              : pf_frame_str(f, f->col[c].str[i]));
    }
    for (size_t k = 0; k < f->npass; k++)
        mix_str(d, pf_frame_str(f, f->pass[k][i]));
}

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
    digest_problem(t, p);
}

#define DIGEST_START 1469598103934665603ULL

/* Reads the input again through the prefetcher parsing in parallel, into
 * t, with its status, error and counts. */
static void read_in_parallel(const uint8_t *data, size_t size, const pf_reader_options *opt0,
                             tally *tp, int *rc_out, pf_error *err, pf_reader_stats *st)
{
    tally t = {{0}, 0, 0, DIGEST_START, DIGEST_START};
    pf_reader_options opt = *opt0;
    opt.reject_ctx = &t;
    pf_reader *r = NULL;
    CHECK(pf_reader_open_memory(&r, schema, data, size, &opt, err) == 0);
    pf_prefetch *pre;
    CHECK(pf_prefetch_start(&pre, r, 1 + size % 3, 2, 2, err) == 0);
    pf_frame *f;
    int rc;
    while ((rc = pf_prefetch_next(pre, &f, err)) > 0) {
        CHECK(f->n >= 1);
        for (size_t i = 0; i < f->n; i++)
            digest_row(&t, f, i);
        pf_prefetch_release(pre, f);
    }
    pf_prefetch_stop(pre);
    *rc_out = rc;
    *st = *pf_reader_stats_get(r);
    pf_reader_close(r);
    *tp = t;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_error err;
    if (!schema && pf_schema_load(&schema, PF_FUZZ_DATADIR "/schema/af-inskrivning.json", &err)) {
        fprintf(stderr, "%s\n", err.message);
        abort();
    }
    tally t = {{0}, 0, 0, DIGEST_START, DIGEST_START};
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
            digest_row(&t, f, i);
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
    /* Stats of a failed read describe what was parsed before the error;
     * serially that may include part of a frame not delivered. */
    pf_reader_stats serial = *st;
    pf_frame_free(f);
    pf_reader_close(r);

    int prc;
    pf_error perr;
    pf_reader_stats pst;
    tally pt;
    read_in_parallel(data, size, &opt, &pt, &prc, &perr, &pst);
    CHECK(prc == rc);
    if (rc == 0) {
        CHECK(pt.row_digest == t.row_digest && pt.problem_digest == t.problem_digest);
        CHECK(memcmp(&pst, &serial, sizeof pst) == 0);
    } else {
        CHECK(strcmp(perr.message, err.message) == 0);
    }
    return 0;
}
