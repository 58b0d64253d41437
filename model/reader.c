/*
 * reader.c - streaming, schema-checked CSV reader (see reader.h).
 *
 * Flow: pf_source (file, stdin, memory; gzip) → a 256 KiB buffer → libcsv
 * in pieces of at most 16 KiB → on_field() checks and converts each value
 * into a one-row staging area → on_record() derives columns and either
 * commits the staged row to the caller's frame or reports its problems.
 *
 * Staging keeps a row that spans two input pieces (or two frames) whole,
 * and makes rejection free: a rejected row never touches the frame. Pieces
 * are sized so that the rows they can complete always fit in the frame,
 * and their boundaries depend only on byte offsets in the input, so chunks
 * are the same on every run of the same input.
 */
#include "profil/reader.h"

#include <csv.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "numparse.h"
#include "pnr.h"
#include "reader_blocks.h"
#include "reader_impl.h"
#include "schema_impl.h"
#include "source.h"
#include "utf8.h"

#define BUF_SIZE          (256u << 10)
#define PIECE             (16u << 10)
#define HEADER_MAX        (1u << 20)
#define FIELD_HARD_MAX    (16u << 20) /* beyond this libcsv may not grow a field */
#define FIELD_DEFAULT_MAX (1u << 20)
#define MAX_FIELDS        100000
#define PATTERN_CACHE_MAX 65536

static const char *rule_names[PF_RULE_COUNT] = {
    "field_count",  "invalid_utf8", "missing_value", "not_a_number", "not_an_integer",
    "out_of_range", "unknown_code", "pattern",       "too_long",     "personnummer"};

const char *pf_rule_name(pf_rule rule)
{
    return (unsigned) rule < PF_RULE_COUNT ? rule_names[rule] : "?";
}

/* libcsv grows a field without bound; refusing past FIELD_HARD_MAX turns a
 * runaway quoted field into an error instead of exhausting memory. It also
 * grows by a fixed block, which copies quadratically wherever realloc cannot
 * extend in place, so the buffer is grown geometrically here instead. */
static void *capped_realloc(void *p, size_t n)
{
    if (n > FIELD_HARD_MAX)
        return NULL;
    size_t have = p ? malloc_usable_size(p) : 0;
    if (have >= n)
        return p;
    size_t want = have * 2 > n ? have * 2 : n;
    return realloc(p, want < FIELD_HARD_MAX ? want : FIELD_HARD_MAX);
}

/* Printable copy for messages: control characters and invalid bytes as
 * \xHH, cut after VALUE_SHOWN bytes. */
static void escape_value(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    int utf8 = pf_utf8_valid(s, n);
    for (; i < n && i < VALUE_SHOWN && o + 8 < cap; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
            o += (size_t) snprintf(out + o, cap - o, "\\x%02X", c);
        else
            out[o++] = (char) c;
    }
    /* Never cut a UTF-8 sequence in half. */
    if (i < n && utf8)
        while (o > 0 && ((unsigned char) out[o - 1] & 0xC0) == 0x80)
            o--;
    if (i < n && o > 0 && ((unsigned char) out[o - 1] & 0xC0) == 0xC0)
        o--;
    if (i < n && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static void add_problem(pf_reader *R, const char *column, pf_rule rule, const char *s, size_t n,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add_problem(pf_reader *R, const char *column, pf_rule rule, const char *s, size_t n,
                        const char *fmt, ...)
{
    R->nprobs_total++;
    if (R->nprobs == MAX_PROBLEMS)
        return;
    problem *p = &R->probs[R->nprobs++];
    p->column = column;
    p->rule = rule;
    /* A value rejected for another reason (invalid UTF-8, too long, a
     * pattern on the id) may still hold an identity number. */
    if (rule == PF_RULE_PERSONNUMMER || (s && pf_pnr_contains(s, n)))
        strcpy(p->value, "<withheld>");
    else if (s)
        escape_value(p->value, sizeof p->value, s, n);
    else
        p->value[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
}

/* Whether a string matches the column's pattern. Registry codes repeat
 * (a few hundred occupation codes over millions of rows), so results are
 * remembered per column, up to PATTERN_CACHE_MAX distinct values. */
int pf_reader_pattern_ok(pf_reader *R, int c, const char *s, size_t n)
{
    pf_strmap *cache = &R->pattern_cache[c];
    int32_t hit = pf_strmap_get(cache, s, n);
    if (hit >= 0)
        return hit;
    int ok = regexec(&R->s->cols[c].impl->re, s, 0, NULL, 0) == 0;
    if (cache->size < PATTERN_CACHE_MAX)
        pf_strmap_put(cache, s, n, ok); /* a failed insert only costs speed */
    return ok;
}

/* One pass over a field for the checks every field needs: bytes >= 0x80
 * (then UTF-8 must be validated) and control bytes (NUL is invalid, LF
 * counts a line). Most fields are short ASCII and leave after the loop. */
static int field_text_ok(pf_reader *R, const char *s, size_t n)
{
    unsigned char any = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        any |= (unsigned char) ((c < 0x20) | (c >> 7));
    }
    if (!any)
        return 1;
    for (size_t i = 0; i < n; i++)
        R->line += s[i] == '\n';
    return pf_utf8_valid(s, n) && memchr(s, 0, n) == NULL;
}

static int stage_string(pf_reader *R, const char *s, size_t n, pf_strref *ref)
{
    if (R->sbuf_len + n + 1 > R->sbuf_cap) {
        size_t cap = R->sbuf_cap ? R->sbuf_cap : 4096;
        while (cap < R->sbuf_len + n + 1)
            cap *= 2;
        char *b = realloc(R->sbuf, cap);
        if (!b) {
            R->fatal = pf_error_set(R->err, PF_ENOMEM, "out of memory reading a row");
            return -1;
        }
        R->sbuf = b;
        R->sbuf_cap = cap;
    }
    memcpy(R->sbuf + R->sbuf_len, s, n);
    R->sbuf[R->sbuf_len + n] = '\0';
    ref->off = (uint32_t) R->sbuf_len;
    ref->len = (uint32_t) n;
    R->sbuf_len += n + 1;
    return 0;
}

/* The value a column takes when it is missing (or absent from the input). */
static void set_missing(pf_reader *R, int c)
{
    const pf_column *col = &R->s->cols[c];
    int dflt = col->missing == PF_MISSING_DEFAULT;
    switch (col->type) {
    case PF_TYPE_INTEGER:
    case PF_TYPE_NUMBER:
        R->st_num[c] = dflt ? col->default_num : NAN;
        break;
    case PF_TYPE_CATEGORY:
    case PF_TYPE_BOOLEAN:
        R->st_cat[c] = dflt ? col->default_level : -1;
        break;
    case PF_TYPE_STRING:
        if (dflt)
            stage_string(R, col->default_value, strlen(col->default_value), &R->st_str[c]);
        else
            R->st_str[c] = (pf_strref){PF_STR_MISSING, 0};
        break;
    }
}

static void describe_levels(const pf_column *col, char *out, size_t cap)
{
    const struct pf_column_impl *im = col->impl;
    if (col->nlevels <= 12) {
        size_t o = (size_t) snprintf(out, cap, "not an allowed code; allowed: ");
        for (size_t l = 0; l < col->nlevels && o < cap; l++)
            o += (size_t) snprintf(out + o, cap - o, "%s%s", l ? ", " : "", col->levels[l].code);
    } else if (col->reference) {
        const char *file = im->reference_file ? strrchr(im->reference_file, '/') : NULL;
        snprintf(out, cap, "not one of the %zu codes in reference '%s' (%s)", col->nlevels,
                 col->reference, file ? file + 1 : "");
    } else {
        snprintf(out, cap, "not one of the %zu allowed codes", col->nlevels);
    }
}

static void convert(pf_reader *R, int c, const char *s, size_t n)
{
    const pf_column *col = &R->s->cols[c];
    if (pf_reader_is_missing(R, s, n)) {
        if (col->missing == PF_MISSING_REJECT)
            add_problem(R, col->name, PF_RULE_MISSING, s, n, "a value is required");
        else
            set_missing(R, c);
        return;
    }
    switch (col->type) {
    case PF_TYPE_INTEGER:
    case PF_TYPE_NUMBER: {
        double v;
        int rc = pf_parse_number(s, n, R->decimal, &v);
        if (rc != PF_NUM_OK) {
            int comma = memchr(s, ',', n) != NULL && !(R->decimal & PF_DEC_COMMA);
            add_problem(R, col->name, PF_RULE_NOT_A_NUMBER, s, n, "not a number%s",
                        comma ? " (a decimal comma is accepted with --decimal comma or a ';' "
                                "delimiter)"
                              : "");
            return;
        }
        if (col->type == PF_TYPE_INTEGER && (v != floor(v) || fabs(v) > 9007199254740992.0)) {
            add_problem(R, col->name, PF_RULE_NOT_AN_INTEGER, s, n, "not a whole number");
            return;
        }
        if (v < col->min || v > col->max) {
            add_problem(R, col->name, PF_RULE_OUT_OF_RANGE, s, n,
                        "outside the allowed range %.15g to %.15g", col->min, col->max);
            return;
        }
        R->st_num[c] = v == 0 ? 0.0 : v; /* no negative zero */
        return;
    }
    case PF_TYPE_CATEGORY:
    case PF_TYPE_BOOLEAN: {
        int32_t lv = pf_strmap_get(&col->impl->levels, s, n);
        if (lv < 0) {
            char allowed[256];
            describe_levels(col, allowed, sizeof allowed);
            add_problem(R, col->name, PF_RULE_UNKNOWN_CODE, s, n, "%s", allowed);
            return;
        }
        R->st_cat[c] = lv;
        return;
    }
    case PF_TYPE_STRING:
        if (col->max_length && n > col->max_length) {
            add_problem(R, col->name, PF_RULE_TOO_LONG, s, n, "longer than %zu bytes",
                        col->max_length);
            return;
        }
        /* s is NUL-terminated (CSV_APPEND_NULL) and has no inner NUL. */
        if (col->impl->has_re && !pf_reader_pattern_ok(R, c, s, n)) {
            add_problem(R, col->name, PF_RULE_PATTERN, s, n, "does not match the pattern %s",
                        col->pattern);
            return;
        }
        stage_string(R, s, n, &R->st_str[c]);
        return;
    }
}

/* text_ok: field_text_ok()'s verdict on the name. */
static void header_field(pf_reader *R, const char *s, size_t n, int text_ok)
{
    if (R->fatal)
        return;
    if (R->nfields == MAX_FIELDS) {
        R->fatal = pf_error_set(R->err, PF_ELIMIT, "header has more than %d columns", MAX_FIELDS);
        return;
    }
    if (!text_ok) {
        R->fatal = pf_error_set(R->err, PF_EHEADER, "header column %zu is not valid UTF-8",
                                R->nfields + 1);
        return;
    }
    char **h = realloc(R->header, (R->nfields + 1) * sizeof *h);
    if (!h || !(h[R->nfields] = strndup(s, n))) {
        if (h)
            R->header = h;
        R->fatal = pf_error_set(R->err, PF_ENOMEM, "out of memory reading the header");
        return;
    }
    R->header = h;
    R->nfields++;
}

static void check_field(pf_reader *R, const char *name, int m, const char *s, size_t n,
                        int text_ok);

static void on_field(void *data, size_t n, void *ctx)
{
    pf_reader *R = ctx;
    const char *s = data ? data : "";
    if (R->fatal)
        return;
    size_t j = R->field++;
    if (j == 0) {
        R->row_line = R->line;
        R->prev_cr = 0;
    }
    /* Also counts the lines of quoted fields that span lines. */
    int text_ok = field_text_ok(R, s, n);
    if (!R->header_done) {
        header_field(R, s, n, text_ok);
        return;
    }
    if (j >= R->nfields)
        return; /* reported as field_count at the end of the record */
    check_field(R, R->header[j], R->field_map[j], s, n, text_ok);
}

/* The checks of one value of a record: name is its column's name in the
 * input, m its field_map entry, text_ok field_text_ok()'s verdict. */
static void check_field(pf_reader *R, const char *name, int m, const char *s, size_t n, int text_ok)
{
    if (!text_ok) {
        add_problem(R, name, PF_RULE_INVALID_UTF8, s, n, "not valid UTF-8 text");
        return;
    }
    if (n > R->opt.max_field_bytes) {
        add_problem(R, name, PF_RULE_TOO_LONG, s, n, "field longer than %zu bytes",
                    R->opt.max_field_bytes);
        return;
    }
    /* Every field but the id is scanned, ignored ones too (MAP_IGNORE is -1,
     * the same as id_col in a schema without an id). */
    int numeric =
        m >= 0 && (R->s->cols[m].type == PF_TYPE_NUMBER || R->s->cols[m].type == PF_TYPE_INTEGER);
    if (!(m >= 0 && m == R->s->id_col) &&
        (numeric ? pf_pnr_contains_number(s, n) : pf_pnr_contains(s, n))) {
        add_problem(R, name, PF_RULE_PERSONNUMMER, s, n,
                    "contains a personal identity number; only the id column may hold one");
        return;
    }
    if (m >= 0)
        convert(R, m, s, n);
    else if (m != MAP_IGNORE)
        stage_string(R, s, n, &R->st_pass[PASS_INDEX(m)]);
}

static int finish_header(pf_reader *R)
{
    const pf_schema *S = R->s;
    R->field_map = malloc((R->nfields ? R->nfields : 1) * sizeof *R->field_map);
    R->unknown = malloc((R->nfields ? R->nfields : 1) * sizeof *R->unknown);
    R->pass_names = malloc((R->nfields ? R->nfields : 1) * sizeof *R->pass_names);
    R->present = calloc(S->ncols, 1);
    if (!R->field_map || !R->unknown || !R->pass_names || !R->present)
        return pf_error_set(R->err, PF_ENOMEM, "out of memory reading the header");
    /* Duplicates by hash: a header may have up to MAX_FIELDS names, too
     * many to compare pairwise. */
    pf_strmap seen;
    pf_strmap_init(&seen);
    for (size_t j = 0; j < R->nfields; j++) {
        size_t len = strlen(R->header[j]);
        int put = pf_strmap_put(&seen, R->header[j], len, (int32_t) j);
        if (put == 0)
            continue;
        int32_t k = pf_strmap_get(&seen, R->header[j], len);
        pf_strmap_clear(&seen);
        if (put != 1)
            return pf_error_set(R->err, PF_ENOMEM, "out of memory reading the header");
        return pf_error_set(R->err, PF_EHEADER,
                            "column '%s' appears twice in the header (fields %d and %zu)",
                            R->header[j], (int) k + 1, j + 1);
    }
    pf_strmap_clear(&seen);
    for (size_t j = 0; j < R->nfields; j++) {
        int c = pf_schema_find(S, R->header[j]);
        /* A derived column in the input is not trusted: it is recomputed. */
        if (c >= 0 && !S->cols[c].derived) {
            R->field_map[j] = c;
            R->present[c] = 1;
            continue;
        }
        R->unknown[R->nunknown++] = R->header[j];
        /* A derived column is never passed through: its name is taken. */
        if (R->opt.passthrough_unknown && c < 0) {
            R->field_map[j] = MAP_PASS(R->npass);
            R->pass_names[R->npass++] = R->header[j];
        } else {
            R->field_map[j] = MAP_IGNORE;
        }
    }
    char missing[PF_ERROR_MAX - 64];
    size_t o = 0, nmissing = 0;
    missing[0] = '\0';
    for (size_t c = 0; c < S->ncols; c++)
        if (S->cols[c].required && !R->present[c]) {
            nmissing++;
            if (o < sizeof missing)
                o += (size_t) snprintf(missing + o, sizeof missing - o, "%s%s", o ? ", " : "",
                                       S->cols[c].name);
        }
    if (nmissing)
        return pf_error_set(R->err, PF_EHEADER, "%zu required column%s missing from the header: %s",
                            nmissing, nmissing == 1 ? " is" : "s are", missing);
    R->header_done = 1;
    return 0;
}

/* Starts every record with the values of columns the input lacks. */
static void reset_record(pf_reader *R)
{
    R->field = 0;
    R->nprobs = R->nprobs_total = 0;
    R->sbuf_len = 0;
    for (size_t c = 0; c < R->s->ncols; c++)
        if (!R->present[c] && !R->s->cols[c].derived)
            set_missing(R, (int) c);
}

/* The derived columns, in schema order. */
static int list_derived(pf_reader *R)
{
    R->derived = malloc((R->s->ncols ? R->s->ncols : 1) * sizeof *R->derived);
    if (!R->derived)
        return PF_ENOMEM;
    for (size_t c = 0; c < R->s->ncols; c++)
        if (R->s->cols[c].derived)
            R->derived[R->nderived++] = (int) c;
    return 0;
}

size_t pf_reader_derive_row(pf_reader *R, pf_frame *f, size_t i)
{
    const pf_schema *S = R->s;
    size_t before = R->nprobs_total;
    for (size_t k = 0; k < R->nderived; k++) {
        int c = R->derived[k];
        const pf_column *col = &S->cols[c];
        const pf_column *src = &S->cols[col->source];
        const struct pf_column_impl *im = col->impl;
        int32_t lv;
        const char *key = NULL;
        size_t klen = 0;
        if (src->type == PF_TYPE_CATEGORY) {
            int32_t sl = f->col[col->source].cat[i];
            if (sl < 0) {
                f->col[c].cat[i] = -1;
                continue;
            }
            lv = im->derive_map[sl];
            key = src->levels[sl].code;
            klen = lv == PF_DERIVE_NONE ? strlen(key) : 0; /* for the message */
        } else {
            pf_strref r = f->col[col->source].str[i];
            if (r.off == PF_STR_MISSING) {
                f->col[c].cat[i] = -1;
                continue;
            }
            key = f->arena + r.off;
            klen = im->prefix && r.len > im->prefix ? im->prefix : r.len;
            lv = pf_strmap_get(&im->derive_keys, key, klen);
            if (lv < 0)
                lv = im->derive_default;
        }
        if (lv == PF_DERIVE_NONE) {
            add_problem(R, src->name, PF_RULE_UNKNOWN_CODE, key, strlen(key),
                        "no entry for '%.*s' in reference '%s', needed for %s", (int) klen, key,
                        col->reference ? col->reference : "", col->name);
            continue;
        }
        f->col[c].cat[i] = lv;
    }
    return R->nprobs_total - before;
}

static void commit(pf_reader *R, int64_t row)
{
    pf_frame *f = R->f;
    const pf_schema *S = R->s;
    size_t i = f->n;
    f->row[i] = row;
    f->line[i] = R->row_line;
    for (size_t c = 0; c < S->ncols; c++) {
        switch (S->cols[c].type) {
        case PF_TYPE_INTEGER:
        case PF_TYPE_NUMBER:
            f->col[c].num[i] = R->st_num[c];
            break;
        case PF_TYPE_CATEGORY:
        case PF_TYPE_BOOLEAN:
            f->col[c].cat[i] = R->st_cat[c];
            break;
        case PF_TYPE_STRING: {
            pf_strref r = R->st_str[c];
            if (r.off == PF_STR_MISSING)
                f->col[c].str[i] = r;
            else if (pf_frame_store(f, R->sbuf + r.off, r.len, &f->col[c].str[i]))
                goto nomem;
            break;
        }
        }
    }
    for (size_t k = 0; k < R->npass; k++) {
        pf_strref r = R->st_pass[k];
        if (pf_frame_store(f, R->sbuf + r.off, r.len, &f->pass[k][i]))
            goto nomem;
    }
    f->n++;
    return;
nomem:
    R->fatal = pf_error_set(R->err, PF_ENOMEM, "out of memory storing row %lld", (long long) row);
}

static void report(pf_reader *R, int64_t row)
{
    const char *id = NULL;
    int idc = R->s->id_col;
    if (idc >= 0 && R->present[idc]) {
        pf_strref r = R->st_str[idc];
        /* Only an id that passed its own checks is shown. */
        int id_bad = 0;
        for (size_t k = 0; k < R->nprobs; k++)
            id_bad |= R->probs[k].column && strcmp(R->probs[k].column, R->s->cols[idc].name) == 0;
        if (!id_bad && r.off != PF_STR_MISSING && R->probs[0].rule != PF_RULE_FIELD_COUNT)
            id = R->sbuf + r.off;
    }
    R->stats.rows_rejected++;
    for (size_t k = 0; k < R->nprobs; k++)
        R->stats.problems[R->probs[k].rule]++;
    if (!R->opt.on_reject)
        return;
    for (size_t k = 0; k < R->nprobs; k++) {
        pf_problem p = {.row = row,
                        .line = R->row_line,
                        .id = id,
                        .column = R->probs[k].column,
                        .value = R->probs[k].value,
                        .rule = R->probs[k].rule,
                        .message = R->probs[k].message,
                        .first_of_row = k == 0};
        R->opt.on_reject(R->opt.reject_ctx, &p);
    }
}

/* A record whose values have all been checked: accepted into the frame or
 * reported. Derived columns are set on the frame's row, and only from
 * values that passed their own checks; a row they reject is taken back. */
static void end_record(pf_reader *R, int64_t row)
{
    if (R->nprobs == 0) {
        pf_frame *f = R->f;
        size_t arena = f->arena_len;
        commit(R, row);
        if (!R->fatal && pf_reader_derive_row(R, f, f->n - 1)) {
            f->n--;
            f->arena_len = arena;
        } else if (!R->fatal) {
            R->stats.rows_accepted++;
        }
    }
    if (R->nprobs)
        report(R, row);
    reset_record(R);
}

static void on_record(int c, void *ctx)
{
    pf_reader *R = ctx;
    if (R->fatal)
        return;
    if (R->field == 0) {
        /* No fields: the LF of a CRLF, or a blank line. */
        if (c == '\n' && R->prev_cr) {
            R->prev_cr = 0;
            return;
        }
        if (c == '\r' || c == '\n') {
            R->line++;
            R->stats.blank_lines++;
            R->prev_cr = c == '\r';
        }
        return;
    }
    if (c == '\r' || c == '\n')
        R->line++;
    R->prev_cr = c == '\r';
    if (!R->header_done) {
        R->fatal = finish_header(R);
        reset_record(R);
        return;
    }
    int64_t row = ++R->stats.rows_read;
    if (R->field != R->nfields) {
        R->nprobs = R->nprobs_total = 0;
        add_problem(R, NULL, PF_RULE_FIELD_COUNT, NULL, 0, "row has %zu fields, the header has %zu",
                    R->field, R->nfields);
    }
    end_record(R, row);
}

/* Reads until the buffer is full or the input ends, so that piece
 * boundaries depend only on input offsets. */
static int refill(pf_reader *R)
{
    size_t keep = R->len - R->pos;
    memmove(R->buf, R->buf + R->pos, keep);
    R->len = keep;
    R->pos = 0;
    while (!R->src_eof && R->len < R->bufcap) {
        ssize_t got = pf_source_read(R->src, R->buf + R->len, R->bufcap - R->len, R->err);
        if (got < 0)
            return (int) got;
        if (got == 0)
            R->src_eof = 1;
        R->len += (size_t) got;
    }
    return 0;
}

static int feed(pf_reader *R, size_t k)
{
    size_t done = csv_parse(&R->csv, R->buf + R->pos, k, on_field, on_record, R);
    R->stats.bytes_read += done;
    R->pos += done;
    if (R->fatal)
        return R->fatal;
    if (done != k)
        return pf_error_set(R->err, PF_ELIMIT,
                            "a field starting near line %lld is longer than %u MiB (an "
                            "unterminated quote?)",
                            (long long) R->line, FIELD_HARD_MAX >> 20);
    return 0;
}

static int finish_input(pf_reader *R)
{
    R->finished = 1;
    /* libcsv honours CSV_STRICT_FINI only together with CSV_STRICT, which
     * must stay off while parsing (a stray quote inside an unquoted field is
     * kept as text); switched on for the final check only. */
    csv_set_opts(&R->csv, (unsigned char) (csv_get_opts(&R->csv) | CSV_STRICT));
    if (csv_fini(&R->csv, on_field, on_record, R) != 0 && !R->fatal)
        return pf_error_set(R->err, PF_EFORMAT,
                            "the quoted field starting on line %lld is never closed",
                            (long long) R->line);
    return R->fatal;
}

static char detect_delimiter(const char *h, size_t n)
{
    size_t comma = 0, semi = 0, tab = 0;
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i] == '"')
            quoted = !quoted;
        else if (!quoted)
            comma += h[i] == ',', semi += h[i] == ';', tab += h[i] == '\t';
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

/* Length of the header record including its line end, or 0 when the
 * buffer holds no complete header line yet. */
static size_t header_length(const char *b, size_t n)
{
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '"')
            quoted = !quoted;
        else if (!quoted && (b[i] == '\n' || b[i] == '\r')) {
            if (b[i] == '\r') {
                if (i + 1 == n)
                    return 0; /* an LF may follow in the next read */
                if (b[i + 1] == '\n')
                    i++;
            }
            return i + 1;
        }
    }
    return 0;
}

static int read_header(pf_reader *R)
{
    int rc = refill(R);
    if (rc)
        return rc;
    if (R->len >= 3 && memcmp(R->buf, "\xEF\xBB\xBF", 3) == 0)
        R->pos = 3;
    size_t hl;
    while ((hl = header_length(R->buf + R->pos, R->len - R->pos)) == 0 && !R->src_eof) {
        /* A header longer than the buffer: grow it, up to HEADER_MAX. */
        if (R->len - R->pos >= HEADER_MAX)
            return pf_error_set(R->err, PF_ELIMIT, "the header line is longer than 1 MiB");
        char *b = realloc(R->buf, R->bufcap * 2);
        if (!b)
            return pf_error_set(R->err, PF_ENOMEM, "out of memory reading the header");
        R->buf = b;
        R->bufcap *= 2;
        if ((rc = refill(R)))
            return rc;
    }
    if (hl == 0)
        hl = R->len - R->pos;
    if (hl == 0)
        return pf_error_set(R->err, PF_EHEADER, "the input is empty: no header line");
    if (!R->delim)
        R->delim = detect_delimiter(R->buf + R->pos, hl);
    csv_set_delim(&R->csv, (unsigned char) R->delim);
    if (R->opt.decimal == PF_DECIMAL_AUTO)
        R->decimal = PF_DEC_POINT | (R->delim == ',' ? 0 : PF_DEC_COMMA);
    else
        R->decimal = R->opt.decimal == PF_DECIMAL_COMMA ? PF_DEC_COMMA : PF_DEC_POINT;
    /* header_length() only estimates where libcsv ends the header record (a
     * quote inside an unquoted name fools it), so the header is fed a byte
     * at a time: no data row may complete before a frame is there to take it. */
    while (!R->header_done && R->pos < R->len)
        if ((rc = feed(R, 1)))
            return rc;
    if (!R->header_done && R->pos == R->len && R->src_eof && (rc = finish_input(R)))
        return rc;
    if (!R->header_done)
        return pf_error_set(R->err, PF_EHEADER, "the input has no header line");
    return 0;
}

/* A reader's state for schema s, without input: the staging area, the
 * problem list and the caches. NULL when out of memory. */
static pf_reader *new_reader(const pf_schema *s, const pf_reader_options *opt, int *rc,
                             pf_error *err)
{
    pf_reader *R = calloc(1, sizeof *R);
    if (!R) {
        *rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        return NULL;
    }
    R->s = s;
    R->err = err;
    R->line = 1;
    if (opt)
        R->opt = *opt;
    if (!R->opt.max_field_bytes)
        R->opt.max_field_bytes = FIELD_DEFAULT_MAX;
    R->st_num = calloc(s->ncols, sizeof *R->st_num);
    R->st_cat = calloc(s->ncols, sizeof *R->st_cat);
    R->st_str = calloc(s->ncols, sizeof *R->st_str);
    R->probs = malloc(MAX_PROBLEMS * sizeof *R->probs);
    R->pattern_cache = calloc(s->ncols, sizeof *R->pattern_cache);
    R->missing_len = calloc(s->nmissing_tokens + 1, sizeof *R->missing_len);
    for (size_t i = 0; R->missing_len && i < s->nmissing_tokens; i++) {
        R->missing_len[i] = strlen(s->missing_tokens[i]);
        if (R->missing_len[i] > R->missing_max_len)
            R->missing_max_len = R->missing_len[i];
    }
    *rc = 0;
    if (!R->st_num || !R->st_cat || !R->st_str || !R->probs || !R->pattern_cache ||
        !R->missing_len || list_derived(R))
        *rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    return R;
}

static int open_common(pf_reader **out, const pf_schema *s, pf_source *src,
                       const pf_reader_options *opt, pf_error *err)
{
    *out = NULL;
    int rc;
    pf_reader *R = new_reader(s, opt, &rc, err);
    if (!R) {
        pf_source_close(src);
        return rc;
    }
    R->src = src;
    R->delim = R->opt.delimiter;
    if (!rc && R->delim && R->delim != ',' && R->delim != ';' && R->delim != '\t' &&
        R->delim != '|')
        rc = pf_error_set(err, PF_EINVAL, "unsupported delimiter '%c'", R->delim);
    R->buf = malloc(BUF_SIZE);
    R->bufcap = BUF_SIZE;
    if (!rc && !R->buf)
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    if (!rc) {
        /* Strict end (an open quote at EOF is an error), all line ends
         * reported (for line numbers), NUL-terminated fields (for regexec). */
        if (csv_init(&R->csv, CSV_STRICT_FINI | CSV_REPALL_NL | CSV_APPEND_NULL) != 0)
            rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        else
            R->csv_ready = 1;
    }
    if (!rc) {
        csv_set_realloc_func(&R->csv, capped_realloc);
        csv_set_blk_size(&R->csv, 4096);
        rc = read_header(R);
    }
    if (!rc && R->npass && !(R->st_pass = calloc(R->npass, sizeof *R->st_pass)))
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    if (rc) {
        pf_reader_close(R);
        return rc;
    }
    R->err = NULL;
    *out = R;
    return 0;
}

int pf_reader_open(pf_reader **out, const pf_schema *s, const char *path,
                   const pf_reader_options *opt, pf_error *err)
{
    pf_source *src;
    int rc = pf_source_open_file(&src, path, err);
    if (rc) {
        *out = NULL;
        return rc;
    }
    return open_common(out, s, src, opt, err);
}

int pf_reader_open_memory(pf_reader **out, const pf_schema *s, const void *buf, size_t n,
                          const pf_reader_options *opt, pf_error *err)
{
    pf_source *src;
    int rc = pf_source_open_memory(&src, buf, n, err);
    if (rc) {
        *out = NULL;
        return rc;
    }
    return open_common(out, s, src, opt, err);
}

/* nfields - 1 delimiters and a line end; a one-column row needs a byte of
 * content too, or it is a blank line. */
static size_t min_row_bytes(const pf_reader *r)
{
    return r->nfields < 2 ? 2 : r->nfields;
}

int pf_reader_frame_new(pf_reader *r, size_t rows, pf_frame **out, pf_error *err)
{
    /* Room for the rows one more piece can complete after the target. */
    size_t slack = PIECE / min_row_bytes(r) + 2;
    int rc = pf_frame_new(out, r->s, rows + slack, r->npass, r->pass_names, err);
    if (!rc)
        (*out)->target = rows ? rows : 1;
    return rc;
}

int pf_reader_read(pf_reader *R, pf_frame *f, pf_error *err)
{
    pf_frame_clear(f);
    if (f->schema != R->s || f->npass != R->npass)
        return pf_error_set(err, PF_EINVAL, "the frame was not made for this reader");
    if (!R->src)
        return pf_error_set(err, PF_EINVAL, "the reader takes rows as fields, not a stream");
    R->f = f;
    R->err = err;
    int rc = 0;
    while (!R->finished && f->n < f->target && !rc) {
        if (R->pos == R->len) {
            if (R->src_eof) {
                rc = finish_input(R);
                break;
            }
            if ((rc = refill(R)))
                break;
            continue;
        }
        /* An accepted row takes at least min_row_bytes, so a piece of k
         * bytes completes at most 1 + (k - 1) / min_row_bytes rows (the
         * first may have begun earlier): k <= room * min_row_bytes keeps
         * them within the frame. */
        size_t room = f->cap - f->n;
        size_t k = R->len - R->pos;
        if (k > PIECE)
            k = PIECE;
        if (k > room * min_row_bytes(R))
            k = room * min_row_bytes(R);
        rc = feed(R, k);
    }
    R->f = NULL;
    R->err = NULL;
    f->input_bytes = pf_source_raw_bytes(R->src);
    if (rc) {
        R->finished = 1;
        return rc;
    }
    return f->n > 0 ? 1 : 0;
}

int pf_reader_open_fields(pf_reader **out, const pf_schema *s, const pf_reader_options *opt,
                          pf_error *err)
{
    *out = NULL;
    int rc;
    pf_reader *R = new_reader(s, opt, &rc, err);
    if (!R)
        return rc;
    R->present = calloc(s->ncols ? s->ncols : 1, 1);
    R->field_map = malloc((s->ncols ? s->ncols : 1) * sizeof *R->field_map);
    if (!rc && (!R->present || !R->field_map))
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
    if (rc) {
        pf_reader_close(R);
        return rc;
    }
    R->decimal = R->opt.decimal == PF_DECIMAL_COMMA ? PF_DEC_COMMA : PF_DEC_POINT;
    R->header_done = 1;
    R->finished = 1; /* there is no stream to read */
    R->err = NULL;
    *out = R;
    return 0;
}

int pf_reader_put_fields(pf_reader *R, pf_frame *f, int64_t row, const pf_field_text *v, size_t n,
                         pf_error *err)
{
    const pf_schema *S = R->s;
    if (!R->field_map || R->src)
        return pf_error_set(err, PF_EINVAL, "the reader was not opened for fields");
    if (f->schema != S || f->npass)
        return pf_error_set(err, PF_EINVAL, "the frame was not made for this reader");
    if (f->n >= f->cap)
        return pf_error_set(err, PF_ELIMIT, "the frame is full (%zu rows)", f->cap);
    /* field_map[c]: the entry of v that holds column c, or -1. */
    memset(R->present, 0, S->ncols);
    for (size_t c = 0; c < S->ncols; c++)
        R->field_map[c] = -1;
    for (size_t k = 0; k < n; k++) {
        int c = pf_schema_find(S, v[k].name);
        if (c < 0 || S->cols[c].derived)
            continue;
        if (R->present[c])
            return pf_error_set(err, PF_EINVAL, "column '%s' is given twice", v[k].name);
        R->present[c] = 1;
        R->field_map[c] = (int) k;
    }
    R->f = f;
    R->err = err;
    R->row_line = row;
    reset_record(R);
    /* Schema order, so that problems come in the order a CSV file with
     * the schema's columns would give them; then the unknown fields, which
     * are only scanned for identity numbers. */
    for (size_t c = 0; c < S->ncols; c++) {
        int k = R->field_map[c];
        if (k >= 0) {
            check_field(R, S->cols[c].name, (int) c, v[k].value, v[k].len,
                        field_text_ok(R, v[k].value, v[k].len));
        } else if (S->cols[c].required && !S->cols[c].derived) {
            add_problem(R, S->cols[c].name, PF_RULE_MISSING, NULL, 0, "a value is required");
        }
    }
    for (size_t k = 0; k < n; k++) {
        int c = pf_schema_find(S, v[k].name);
        if (c < 0 || S->cols[c].derived)
            check_field(R, v[k].name, MAP_IGNORE, v[k].value, v[k].len,
                        field_text_ok(R, v[k].value, v[k].len));
    }
    R->stats.rows_read++;
    size_t before = f->n;
    end_record(R, row);
    R->f = NULL;
    R->err = NULL;
    if (R->fatal) {
        int rc = R->fatal;
        R->fatal = 0; /* the next row starts afresh */
        return rc;
    }
    return f->n > before;
}

const pf_reader_stats *pf_reader_stats_get(const pf_reader *r)
{
    return &r->stats;
}

void pf_reader_input_sha256(const pf_reader *r, char hex[65])
{
    if (!r->src) {
        hex[0] = '\0';
        return;
    }
    pf_source_sha256(r->src, hex);
}

char pf_reader_delimiter(const pf_reader *r)
{
    return r->delim;
}

size_t pf_reader_unknown_columns(const pf_reader *r, const char *const **names)
{
    if (names)
        *names = r->unknown;
    return r->nunknown;
}

void pf_reader_close(pf_reader *r)
{
    if (!r)
        return;
    if (r->csv_ready)
        csv_free(&r->csv);
    if (!r->parent) { /* a block parser borrows these from its reader */
        pf_source_close(r->src);
        for (size_t j = 0; j < r->nfields; j++)
            free(r->header[j]);
        free(r->header);
        free(r->field_map);
        free(r->unknown);
        free(r->pass_names);
        free(r->present);
        free(r->missing_len);
    }
    free(r->buf);
    free(r->stage);
    free(r->st_num);
    free(r->st_cat);
    free(r->st_str);
    free(r->st_pass);
    free(r->sbuf);
    free(r->probs);
    if (r->pattern_cache)
        for (size_t c = 0; c < r->s->ncols; c++)
            pf_strmap_clear(&r->pattern_cache[c]);
    free(r->pattern_cache);
    free(r->derived);
    pf_reader_fast_free(r);
    free(r);
}

/* ---- Blocks for parallel parsing (reader_blocks.h) ---------------------- */

#define SPLIT_READ   (256u << 10)
#define SPLIT_STEP   (16u << 10) /* scan window past `want` while no record end is found */
#define SPLIT_MAX    (8u << 20)  /* no record end within this: the rest is read serially */
#define SPLIT_NOPROB UINT32_MAX

/* A record end at b[t] (CR or LF) for a scan that stops at the first:
 * the record takes the LF of a CRLF with it. */
static void first_record_end(quote_scan *q, const char *b, size_t t, size_t to)
{
    size_t e = t + 1;
    if (b[t] == '\r' && e < to && b[e] == '\n')
        e++;
    q->mode = SPLIT_PLAIN;
    q->cut = q->pos = q->floor = e;
}

/* Follows libcsv's states over b[q->pos, to) as far as quoting goes,
 * remembering the last record end (first: stopping at the first one).
 * PLAIN stands for both "between fields" and "in an unquoted field": a
 * quote opens a quoted field only when nothing but spaces and tabs precede
 * it in its field, which a look back (no further than q->floor, where a
 * field is known to start) tells. So the scan jumps from quote to quote
 * with memchr and finds record ends with memrchr; only the bytes right
 * after a closing quote go one by one. Used to cut the input into blocks
 * (last record end) and, in a block, to find where a record with quotes
 * ends (first). */
static void quote_scan_run(quote_scan *q, const char *b, size_t to, char d, int first)
{
    size_t i = q->pos;
    while (i < to) {
        if (q->mode == SPLIT_PLAIN) {
            const char *qt = memchr(b + i, '"', to - i);
            size_t end = qt ? (size_t) (qt - b) : to;
            if (first) {
                for (size_t t = i; t < end; t++)
                    if (b[t] == '\n' || b[t] == '\r') {
                        first_record_end(q, b, t, to);
                        return;
                    }
            } else {
                const char *nl = memrchr(b + i, '\n', end - i);
                if (nl) {
                    q->cut = (size_t) (nl - b) + 1;
                } else {
                    /* Line ends of a lone CR: a cut when what follows is
                     * known not to be the LF of a CRLF. */
                    const char *cr = memrchr(b + i, '\r', end - i);
                    if (cr && (size_t) (cr - b) + 1 < to && cr[1] != '\n')
                        q->cut = (size_t) (cr - b) + 1;
                }
            }
            if (!qt)
                break;
            size_t k = end;
            while (k > q->floor && (b[k - 1] == ' ' || b[k - 1] == '\t') && b[k - 1] != d)
                k--;
            if (k == q->floor || b[k - 1] == d || b[k - 1] == '\n' || b[k - 1] == '\r')
                q->mode = SPLIT_QUOTED;
            i = end + 1;
        } else if (q->mode == SPLIT_QUOTED) {
            const char *qt = memchr(b + i, '"', to - i);
            if (!qt)
                break;
            i = (size_t) (qt - b) + 1;
            q->mode = SPLIT_MIGHT_END;
            q->spaces = 0;
        } else {
            char c = b[i++];
            if (c == d || c == '\n' || c == '\r') {
                if (first && c != d) {
                    first_record_end(q, b, i - 1, to);
                    return;
                }
                q->mode = SPLIT_PLAIN;
                q->floor = i;
                if (c == '\n' || (c == '\r' && i < to && b[i] != '\n'))
                    q->cut = i;
            } else if (c == ' ' || c == '\t') {
                q->spaces++;
            } else if (c == '"') {
                if (q->spaces)
                    q->spaces = 0; /* libcsv keeps it as text, still after a closing quote */
                else
                    q->mode = SPLIT_QUOTED; /* "" inside quotes */
            } else {
                q->mode = SPLIT_QUOTED; /* text after a closing quote: still quoted */
            }
        }
    }
    q->pos = to;
}

static int grow_buffer(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : SPLIT_READ;
    while (c < need)
        c *= 2;
    char *q = realloc(*p, c);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Splitting is over: what is left goes back to the buffer pf_reader_read
 * reads from, as if splitting had never happened. */
static int split_finish(pf_reader *R, pf_error *err)
{
    R->split_over = 1;
    if (grow_buffer(&R->buf, &R->bufcap, R->stage_n))
        return pf_error_set(err, PF_ENOMEM, "out of memory reading the input");
    memcpy(R->buf, R->stage, R->stage_n);
    R->pos = 0;
    R->len = R->stage_n;
    free(R->stage);
    R->stage = NULL;
    R->stage_n = R->stage_cap = 0;
    return 0;
}

int pf_reader_split(pf_reader *R, pf_reader_block *b, size_t want, pf_error *err)
{
    if (R->split_over || R->finished)
        return 0;
    if (!R->split_started) {
        /* Start with what reading the header left in the buffer. */
        R->split_started = 1;
        size_t left = R->len - R->pos;
        if (grow_buffer(&R->stage, &R->stage_cap, left + SPLIT_READ))
            return pf_error_set(err, PF_ENOMEM, "out of memory reading the input");
        memcpy(R->stage, R->buf + R->pos, left);
        R->stage_n = left;
        R->pos = R->len = 0;
        R->sp.mode = SPLIT_PLAIN;
    }
    if (want < 64)
        want = 64;
    for (;;) {
        /* The LF of a header ending in CRLF belongs to the header. */
        if (R->prev_cr && R->sp.pos == 0 && (R->stage_n > 0 || R->src_eof)) {
            if (R->stage_n > 0 && R->stage[0] == '\n') {
                memmove(R->stage, R->stage + 1, --R->stage_n);
                R->stats.bytes_read++;
            }
            R->prev_cr = 0;
        }
        /* The last record end within `want` bytes, else the first window
         * past it that has one: windows do not depend on read sizes. */
        size_t to = R->sp.pos < want ? want : R->sp.pos + SPLIT_STEP;
        if (to <= R->stage_n || R->src_eof) {
            if (to > R->stage_n)
                to = R->stage_n;
            quote_scan_run(&R->sp, R->stage, to, R->delim, 0);
            int at_end = R->src_eof && R->sp.pos == R->stage_n;
            if (R->sp.cut && (R->sp.pos >= want || at_end))
                break;
            if (at_end || R->sp.pos >= SPLIT_MAX)
                return split_finish(R, err);
            continue;
        }
        if (grow_buffer(&R->stage, &R->stage_cap, R->stage_n + SPLIT_READ))
            return pf_error_set(err, PF_ENOMEM, "out of memory reading the input");
        ssize_t got = pf_source_read(R->src, R->stage + R->stage_n, SPLIT_READ, err);
        if (got < 0)
            return (int) got;
        if (got == 0)
            R->src_eof = 1;
        R->stage_n += (size_t) got;
    }
    /* The block takes the stage buffer; the bytes after the cut move to
     * the block's old buffer, which becomes the stage. */
    size_t cut = R->sp.cut, rest = R->stage_n - cut;
    char *spare = b->p;
    size_t spare_cap = b->cap;
    if (grow_buffer(&spare, &spare_cap, rest + SPLIT_READ)) {
        b->p = spare;
        b->cap = spare_cap;
        return pf_error_set(err, PF_ENOMEM, "out of memory reading the input");
    }
    memcpy(spare, R->stage + cut, rest);
    b->p = R->stage;
    b->cap = R->stage_cap;
    b->n = cut;
    b->input_bytes = pf_source_raw_bytes(R->src);
    R->stage = spare;
    R->stage_cap = spare_cap;
    R->stage_n = rest;
    R->sp.pos -= cut;
    R->sp.floor = R->sp.floor > cut ? R->sp.floor - cut : 0; /* a record starts at the cut */
    R->sp.cut = 0;
    return 1;
}

static size_t text_put(pf_reader_batch *b, const char *s)
{
    size_t n = strlen(s) + 1;
    if (b->text_len + n > UINT32_MAX - 1 || grow_buffer(&b->text, &b->text_cap, b->text_len + n)) {
        b->failed = 1;
        return SPLIT_NOPROB;
    }
    memcpy(b->text + b->text_len, s, n);
    b->text_len += n;
    return b->text_len - n;
}

/* A block parser's reject callback: keeps the problem for delivery. */
static void collect_problem(void *ctx, const pf_problem *p)
{
    pf_reader_batch *b = ((pf_reader *) ctx)->batch;
    if (b->failed)
        return;
    if (b->nprobs == b->probs_cap) {
        size_t cap = b->probs_cap ? 2 * b->probs_cap : 64;
        pf_reader_batch_problem *q = realloc(b->probs, cap * sizeof *q);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->probs = q;
        b->probs_cap = cap;
    }
    pf_reader_batch_problem *e = &b->probs[b->nprobs];
    e->row = p->row;
    e->line = p->line;
    e->column = p->column;
    e->rule = p->rule;
    e->first_of_row = p->first_of_row;
    e->value = (uint32_t) text_put(b, p->value);
    e->message = (uint32_t) text_put(b, p->message);
    e->id = p->id ? (uint32_t) text_put(b, p->id) : SPLIT_NOPROB;
    if (!b->failed)
        b->nprobs++;
}

int pf_reader_parser_new(const pf_reader *r, pf_reader **out, pf_error *err)
{
    *out = NULL;
    pf_reader *P = calloc(1, sizeof *P);
    if (!P)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    const pf_schema *s = r->s;
    P->parent = r;
    P->s = s;
    P->opt = r->opt;
    if (r->opt.on_reject) {
        P->opt.on_reject = collect_problem;
        P->opt.reject_ctx = P;
    }
    P->delim = r->delim;
    P->decimal = r->decimal;
    P->header_done = 1;
    P->nfields = r->nfields;
    P->header = r->header;
    P->field_map = r->field_map;
    P->nunknown = r->nunknown;
    P->unknown = r->unknown;
    P->npass = r->npass;
    P->pass_names = r->pass_names;
    P->present = r->present;
    P->missing_max_len = r->missing_max_len;
    P->missing_len = r->missing_len;
    P->st_num = calloc(s->ncols, sizeof *P->st_num);
    P->st_cat = calloc(s->ncols, sizeof *P->st_cat);
    P->st_str = calloc(s->ncols, sizeof *P->st_str);
    P->st_pass = P->npass ? calloc(P->npass, sizeof *P->st_pass) : NULL;
    P->probs = malloc(MAX_PROBLEMS * sizeof *P->probs);
    P->pattern_cache = calloc(s->ncols, sizeof *P->pattern_cache);
    if (!P->st_num || !P->st_cat || !P->st_str || (P->npass && !P->st_pass) || !P->probs ||
        !P->pattern_cache || list_derived(P) ||
        csv_init(&P->csv, CSV_STRICT_FINI | CSV_REPALL_NL | CSV_APPEND_NULL) != 0) {
        pf_reader_close(P);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    P->csv_ready = 1;
    if (pf_reader_fast_new(P)) {
        pf_reader_close(P);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    csv_set_delim(&P->csv, (unsigned char) P->delim);
    csv_set_realloc_func(&P->csv, capped_realloc);
    csv_set_blk_size(&P->csv, 4096);
    P->err = err;
    reset_record(P);
    P->err = NULL;
    if (P->fatal) {
        pf_reader_close(P);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    *out = P;
    return 0;
}

void pf_reader_parser_free(pf_reader *p)
{
    pf_reader_close(p);
}

/* The CR and LF bytes of p[0, n), sixteen at a time: one pass, where a
 * memchr per line would be a call per row. */
static size_t count_line_ends(const char *p, size_t n)
{
    size_t k = 0, i = 0;
#if defined(__SSE2__)
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *) (const void *) (p + i));
        __m128i e = _mm_or_si128(_mm_cmpeq_epi8(x, lf), _mm_cmpeq_epi8(x, cr));
        k += (size_t) __builtin_popcount((unsigned) _mm_movemask_epi8(e));
    }
#endif
    for (; i < n; i++)
        k += p[i] == '\n' || p[i] == '\r';
    return k;
}

/* Where the record starting at b[from] (libcsv between records) ends:
 * after its CR or LF (and the LF of a CRLF); n when it runs to the end. */
static size_t record_end(const char *b, size_t from, size_t n, char d)
{
    quote_scan q = {SPLIT_PLAIN, from, from, 0, 0};
    quote_scan_run(&q, b, n, d, 1);
    return q.cut ? q.cut : n;
}

static int csv_space(char c, char d)
{
    return (c == ' ' || c == '\t') && c != d;
}

/* A record without quotes or CR, b[from, nl) with b[nl] its LF, split at
 * the delimiter as libcsv would: spaces and tabs around each field
 * dropped, and a record of nothing else a blank line. Each field is
 * NUL-terminated in place for the callbacks (as CSV_APPEND_NULL does) and
 * the byte restored. */
static void plain_record(pf_reader *P, char *b, size_t from, size_t nl)
{
    const char d = P->delim;
    size_t s = from;
    for (;;) {
        char *e = memchr(b + s, d, nl - s);
        size_t end = e ? (size_t) (e - b) : nl, lo = s, hi = end;
        while (lo < hi && csv_space(b[lo], d))
            lo++;
        while (hi > lo && csv_space(b[hi - 1], d))
            hi--;
        if (!e && s == from && lo == hi)
            break; /* a blank line: no field */
        char keep = b[hi];
        b[hi] = '\0';
        on_field(b + lo, hi - lo, P);
        b[hi] = keep;
        if (!e)
            break;
        s = end + 1;
    }
    on_record('\n', P);
}

int pf_reader_parse_block(pf_reader *P, const pf_reader_block *b, pf_frame *f,
                          pf_reader_batch *batch, pf_error *err)
{
    pf_frame_clear(f);
    batch->nprobs = 0;
    batch->text_len = 0;
    batch->failed = 0;
    memset(&P->stats, 0, sizeof P->stats);
    P->line = 0;
    P->prev_cr = 0;
    /* A row ends at a line end, so the block has at most one row per CR
     * or LF byte. */
    size_t ends = count_line_ends(b->p, b->n);
    if (pf_frame_reserve(f, ends + 1, err))
        return PF_ENOMEM;
    P->f = f;
    P->err = err;
    P->batch = batch;
    /* Records without quotes or CR, nearly all of them in registry exports,
     * are split here at a fraction of libcsv's cost per byte; the others go
     * through libcsv, which is between records at each of them. Both give
     * the same fields (the fuzz target compares this with serial reading). */
    char *p = b->p;
    size_t pos = 0;
    while (pos < b->n && !P->fatal) {
        size_t next = pf_reader_fast_record(P, p, pos, b->n);
        if (next) {
            pos = next;
            continue;
        }
        const char *nl = memchr(p + pos, '\n', b->n - pos);
        size_t end = nl ? (size_t) (nl - p) : b->n;
        if (nl && !memchr(p + pos, '"', end - pos) && !memchr(p + pos, '\r', end - pos)) {
            plain_record(P, p, pos, end);
            pos = end + 1;
            continue;
        }
        size_t len = record_end(p, pos, b->n, P->delim) - pos;
        size_t k = csv_parse(&P->csv, p + pos, len, on_field, on_record, P);
        pos += k;
        if (k != len)
            break;
    }
    P->stats.bytes_read = pos;
    int rc = P->fatal;
    if (!rc && pos != b->n)
        rc = pf_error_set(err, PF_ELIMIT, "a field is longer than %u MiB", FIELD_HARD_MAX >> 20);
    if (!rc && batch->failed)
        rc = pf_error_set(err, PF_ENOMEM, "out of memory collecting rejected rows");
    batch->stats = P->stats;
    batch->lines = P->line;
    f->input_bytes = b->input_bytes;
    P->f = NULL;
    P->err = NULL;
    P->batch = NULL;
    P->fatal = 0;
    return rc;
}

void pf_reader_deliver(pf_reader *R, pf_frame *f, const pf_reader_batch *b)
{
    int64_t row0 = R->stats.rows_read, line0 = R->line;
    for (size_t i = 0; i < f->n; i++) {
        f->row[i] += row0;
        f->line[i] += line0;
    }
    for (size_t k = 0; R->opt.on_reject && k < b->nprobs; k++) {
        const pf_reader_batch_problem *e = &b->probs[k];
        pf_problem p = {.row = row0 + e->row,
                        .line = line0 + e->line,
                        .id = e->id == SPLIT_NOPROB ? NULL : b->text + e->id,
                        .column = e->column,
                        .value = b->text + e->value,
                        .rule = e->rule,
                        .message = b->text + e->message,
                        .first_of_row = e->first_of_row};
        R->opt.on_reject(R->opt.reject_ctx, &p);
    }
    const pf_reader_stats *s = &b->stats;
    R->stats.rows_read += s->rows_read;
    R->stats.rows_accepted += s->rows_accepted;
    R->stats.rows_rejected += s->rows_rejected;
    R->stats.blank_lines += s->blank_lines;
    R->stats.bytes_read += s->bytes_read;
    for (int k = 0; k < PF_RULE_COUNT; k++)
        R->stats.problems[k] += s->problems[k];
    R->line += b->lines;
}

void pf_reader_batch_free(pf_reader_batch *b)
{
    free(b->probs);
    free(b->text);
    memset(b, 0, sizeof *b);
}
