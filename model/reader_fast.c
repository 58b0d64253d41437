/*
 * reader_fast.c - ordinary records of a block, straight into the frame.
 *
 * Nearly every record of a registry export is ordinary: no quotes, no CR
 * or other control bytes, the header's number of fields, no spaces around
 * values, and values that pass their checks. For those the general path
 * (a callback per value, a staging row, a copy into the frame) does work
 * the record does not need. Here one pass over the record, sixteen bytes
 * at a time, finds its delimiters and its line end; then each value is
 * checked and converted by a plan made once per input column and written
 * into the frame's row where it belongs.
 *
 * Whatever this path is not sure of (a value that would be rejected, a
 * record that is not ordinary) makes it decline the record, undoing
 * nothing but its strings; the general path then reads it. So what is
 * accepted, rejected and reported is always the general path's verdict.
 * The reader tests and the fuzz target compare block parsing, which takes
 * this path, with serial reading, which never does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "numparse.h"
#include "pnr.h"
#include "reader_impl.h"
#include "schema_impl.h"
#include "utf8.h"

enum { FF_IGNORE, FF_PASS, FF_NUMBER, FF_CATEGORY, FF_STRING };

/* What a column takes when its value is missing (or it is absent). */
typedef struct missing_value {
    double num;
    int32_t cat;
    const char *str; /* NULL: the missing string */
    uint32_t str_len;
} missing_value;

typedef struct fast_field {
    uint8_t kind;
    uint8_t integer;        /* FF_NUMBER: whole numbers only */
    uint8_t screen;         /* the identity-number screen applies */
    uint8_t screen_number;  /* ... as to a number: digits after a decimal separator do not count */
    uint8_t reject_missing; /* a missing value rejects the row */
    uint8_t has_re;
    int col; /* schema column; FF_PASS: passthrough column */
    double min, max;
    size_t max_length;
    const pf_strmap *levels;
    int32_t *byte_level; /* FF_CATEGORY: the level of each one-byte code, or -1 */
    missing_value miss;
} fast_field;

struct pf_fast_plan {
    uint64_t missing_lengths; /* bit n: some missing-value token is n bytes long (n < 64) */
    size_t nfields;
    fast_field *field;
    size_t nabsent;
    fast_field *absent; /* the columns the input lacks: kind, col and miss */
    uint32_t *ends;     /* scratch: where each field but the last ends */
};

static missing_value missing_of(const pf_column *col)
{
    missing_value m = {NAN, -1, NULL, 0};
    if (col->missing != PF_MISSING_DEFAULT)
        return m;
    m.num = col->default_num;
    m.cat = col->default_level;
    if (col->type == PF_TYPE_STRING) {
        m.str = col->default_value;
        m.str_len = (uint32_t) strlen(col->default_value);
    }
    return m;
}

static uint8_t kind_of(pf_type type)
{
    switch (type) {
    case PF_TYPE_INTEGER:
    case PF_TYPE_NUMBER:
        return FF_NUMBER;
    case PF_TYPE_CATEGORY:
    case PF_TYPE_BOOLEAN:
        return FF_CATEGORY;
    default:
        return FF_STRING;
    }
}

int pf_reader_fast_new(pf_reader *P)
{
    const pf_schema *S = P->s;
    struct pf_fast_plan *pl = calloc(1, sizeof *pl);
    if (!pl)
        return PF_ENOMEM;
    pl->nfields = P->nfields;
    pl->field = calloc(P->nfields ? P->nfields : 1, sizeof *pl->field);
    pl->absent = calloc(S->ncols ? S->ncols : 1, sizeof *pl->absent);
    pl->ends = calloc(P->nfields ? P->nfields : 1, sizeof *pl->ends);
    P->fast = pl;
    if (!pl->field || !pl->absent || !pl->ends)
        return PF_ENOMEM;
    for (size_t j = 0; j < P->nfields; j++) {
        fast_field *ff = &pl->field[j];
        int m = P->field_map[j];
        ff->screen = 1;
        if (m == MAP_IGNORE) {
            ff->kind = FF_IGNORE;
            continue;
        }
        if (m < 0) {
            ff->kind = FF_PASS;
            ff->col = (int) PASS_INDEX(m);
            continue;
        }
        const pf_column *col = &S->cols[m];
        ff->col = m;
        ff->screen = m != S->id_col;
        ff->reject_missing = col->missing == PF_MISSING_REJECT;
        ff->miss = missing_of(col);
        ff->kind = kind_of(col->type);
        switch (col->type) {
        case PF_TYPE_INTEGER:
        case PF_TYPE_NUMBER:
            ff->integer = col->type == PF_TYPE_INTEGER;
            ff->screen_number = 1;
            ff->min = col->min;
            ff->max = col->max;
            break;
        case PF_TYPE_CATEGORY:
        case PF_TYPE_BOOLEAN:
            /* Booleans and many codes are one byte: looked up in a table. */
            ff->levels = &col->impl->levels;
            if (!(ff->byte_level = malloc(256 * sizeof *ff->byte_level)))
                return PF_ENOMEM;
            for (int b = 0; b < 256; b++) {
                char key = (char) b;
                ff->byte_level[b] = pf_strmap_get(ff->levels, &key, 1);
            }
            break;
        case PF_TYPE_STRING:
            ff->max_length = col->max_length;
            ff->has_re = (uint8_t) col->impl->has_re;
            break;
        }
    }
    for (size_t k = 0; k < S->nmissing_tokens; k++)
        if (P->missing_len[k] < 64)
            pl->missing_lengths |= UINT64_C(1) << P->missing_len[k];
    for (size_t c = 0; c < S->ncols; c++)
        if (!P->present[c] && !S->cols[c].derived) {
            fast_field *a = &pl->absent[pl->nabsent++];
            a->kind = kind_of(S->cols[c].type);
            a->col = (int) c;
            a->miss = missing_of(&S->cols[c]);
        }
    return 0;
}

void pf_reader_fast_free(pf_reader *P)
{
    struct pf_fast_plan *pl = P->fast;
    if (!pl)
        return;
    for (size_t j = 0; pl->field && j < pl->nfields; j++)
        free(pl->field[j].byte_level);
    free(pl->field);
    free(pl->absent);
    free(pl->ends);
    free(pl);
    P->fast = NULL;
}

/* ---- finding the fields ------------------------------------------------ */

/* Where the record starting at b[from] ends and where its fields end:
 * fills ends[0, nends) with the delimiters' offsets and returns the offset
 * of its LF, or 0 when the record is not ordinary (a quote, CR or other
 * control byte before the LF; more than nends delimiters; invalid UTF-8)
 * or *found delimiters fall short. */
static size_t scan_record(const char *b, size_t from, size_t n, char d, uint32_t *ends,
                          size_t nends, size_t *found)
{
    size_t k = 0, i = from;
    int high = 0; /* bytes >= 0x80: UTF-8 to validate */
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8(d), vq = _mm_set1_epi8('"'), v20 = _mm_set1_epi8(0x20);
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *) (const void *) (b + i));
        unsigned dm = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(x, vd));
        unsigned qm = (unsigned) _mm_movemask_epi8(_mm_cmpeq_epi8(x, vq));
        unsigned hi = (unsigned) _mm_movemask_epi8(x);
        /* Signed: below 0x20 are the control bytes and those >= 0x80. */
        unsigned ctl = (unsigned) _mm_movemask_epi8(_mm_cmplt_epi8(x, v20)) & ~hi;
        unsigned stop = ctl | qm;
        if (stop) {
            unsigned before = (1u << __builtin_ctz(stop)) - 1;
            dm &= before;
            hi &= before;
        }
        high |= hi != 0;
        for (; dm; dm &= dm - 1) {
            if (k == nends)
                return 0;
            ends[k++] = (uint32_t) (i + (size_t) __builtin_ctz(dm));
        }
        if (stop) {
            i += (size_t) __builtin_ctz(stop);
            goto stopped;
        }
    }
#endif
    for (; i < n; i++) {
        unsigned char c = (unsigned char) b[i];
        if (c == (unsigned char) d) {
            if (k == nends)
                return 0;
            ends[k++] = (uint32_t) i;
        } else if (c < 0x20 || c == '"') {
            goto stopped;
        } else {
            high |= c >= 0x80;
        }
    }
    return 0;
stopped:
    if (b[i] != '\n' || i == from)
        return 0; /* a quote, CR or control byte; or a blank line */
    if (high && !pf_utf8_valid(b + from, i - from))
        return 0;
    *found = k;
    return i;
}

/* ---- values ------------------------------------------------------------ */

/* pf_frame_store for a value, most of which are a few bytes (ids, codes):
 * copied with fixed-size moves that stay within s[0, n), no call. */
static int store_string(pf_frame *f, const char *s, size_t n, pf_strref *ref)
{
    size_t need = f->arena_len + n + 1;
    if (n > 16 || need > f->arena_cap) /* the arena's capacity is below 4 GiB */
        return pf_frame_store(f, s, n, ref);
    char *d = f->arena + f->arena_len;
    if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else if (n) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
    d[n] = '\0';
    ref->off = (uint32_t) f->arena_len;
    ref->len = (uint32_t) n;
    f->arena_len = need;
    return 0;
}

static int store_missing(pf_frame *f, const fast_field *ff, size_t row)
{
    pf_colbuf *cb = &f->col[ff->col];
    switch (ff->kind) {
    case FF_NUMBER:
        cb->num[row] = ff->miss.num;
        return 0;
    case FF_CATEGORY:
        cb->cat[row] = ff->miss.cat;
        return 0;
    default:
        if (!ff->miss.str) {
            cb->str[row] = (pf_strref){PF_STR_MISSING, 0};
            return 0;
        }
        return store_string(f, ff->miss.str, ff->miss.str_len, &cb->str[row]);
    }
}

static int fill_absent(pf_frame *f, const struct pf_fast_plan *pl, size_t row)
{
    for (size_t k = 0; k < pl->nabsent; k++)
        if (store_missing(f, &pl->absent[k], row))
            return -1;
    return 0;
}

/* Checks and stores one value; 0, or -1 to decline the record. s[n] may
 * be overwritten for a moment (a pattern needs a NUL-terminated value).
 * The record is no longer than the field limit. */
static int put_value(pf_reader *P, const struct pf_fast_plan *pl, const fast_field *ff, pf_frame *f,
                     size_t row, char *s, size_t n)
{
    if (n && (s[0] == ' ' || s[n - 1] == ' '))
        return -1; /* trimmed by the general path */
    if (ff->screen && n >= 10 &&
        (ff->screen_number ? pf_pnr_contains_number(s, n) : pf_pnr_contains(s, n)))
        return -1;
    if (ff->kind == FF_PASS)
        return store_string(f, s, n, &f->pass[ff->col][row]) ? -1 : 0;
    if (n < 64 && (pl->missing_lengths >> n & 1) && pf_reader_is_missing(P, s, n)) {
        if (ff->kind == FF_IGNORE)
            return 0;
        return ff->reject_missing || store_missing(f, ff, row) ? -1 : 0;
    }
    switch (ff->kind) {
    case FF_NUMBER: {
        double v;
        int form = pf_parse_number_form(s, n, P->decimal, &v);
        if (!form || v < ff->min || v > ff->max)
            return -1;
        if (ff->integer && form == 2 && (v != floor(v) || fabs(v) > 9007199254740992.0))
            return -1;
        f->col[ff->col].num[row] = v == 0 ? 0.0 : v; /* no negative zero */
        return 0;
    }
    case FF_CATEGORY: {
        int32_t lv =
            n == 1 ? ff->byte_level[(unsigned char) s[0]] : pf_strmap_get(ff->levels, s, n);
        if (lv < 0)
            return -1;
        f->col[ff->col].cat[row] = lv;
        return 0;
    }
    case FF_STRING: {
        if (ff->max_length && n > ff->max_length)
            return -1;
        if (ff->has_re) {
            char keep = s[n];
            s[n] = '\0';
            int ok = pf_reader_pattern_ok(P, ff->col, s, n);
            s[n] = keep;
            if (!ok)
                return -1;
        }
        return store_string(f, s, n, &f->col[ff->col].str[row]) ? -1 : 0;
    }
    default:
        return 0;
    }
}

size_t pf_reader_fast_record(pf_reader *P, char *b, size_t from, size_t n)
{
    const struct pf_fast_plan *pl = P->fast;
    if (!pl || pl->nfields == 0)
        return 0;
    size_t nf = pl->nfields, found = 0;
    size_t lf = scan_record(b, from, n, P->delim, pl->ends, nf - 1, &found);
    if (!lf || found != nf - 1 || lf - from > P->opt.max_field_bytes)
        return 0; /* the last: a field may be too long, which the general path reports */
    pf_frame *f = P->f;
    size_t row = f->n, arena = f->arena_len, start = from;
    for (size_t j = 0; j < nf; j++) {
        size_t end = j + 1 < nf ? pl->ends[j] : lf;
        if (put_value(P, pl, &pl->field[j], f, row, b + start, end - start))
            goto decline;
        start = end + 1;
    }
    if (fill_absent(f, pl, row))
        goto decline;
    if (pf_reader_derive_row(P, f, row)) {
        P->nprobs = P->nprobs_total = 0; /* the general path reports them */
        goto decline;
    }
    f->row[row] = ++P->stats.rows_read;
    f->line[row] = P->line++;
    f->n++;
    P->stats.rows_accepted++;
    P->prev_cr = 0;
    return lf + 1;
decline:
    f->arena_len = arena;
    return 0;
}
