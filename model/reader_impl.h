/*
 * reader_impl.h - the reader's state, shared by the files that make up
 * the reader (private to the library): reader.c (streams, checks, the
 * serial path, blocks) and reader_fast.c (ordinary records of a block,
 * straight into the frame).
 */
#ifndef PROFIL_READER_IMPL_H
#define PROFIL_READER_IMPL_H

#include <csv.h>
#include <stddef.h>
#include <stdint.h>

#include "profil/frame.h"
#include "profil/reader.h"
#include "reader_blocks.h"
#include "source.h"
#include "strmap.h"

#define MAX_PROBLEMS 64  /* kept per row; more are counted, not detailed */
#define VALUE_SHOWN  200 /* bytes of an offending value shown in messages */

/* field_map entries: >= 0 schema column, MAP_IGNORE, or pass column k as
 * MAP_PASS(k). */
#define MAP_IGNORE    (-1)
#define MAP_PASS(k)   (-2 - (int) (k))
#define PASS_INDEX(m) ((size_t) (-2 - (m)))

typedef struct problem {
    const char *column;
    pf_rule rule;
    char value[VALUE_SHOWN * 4 + 8];
    char message[320];
} problem;

/* How far a scan for record ends has come (see quote_scan_run). */
typedef struct quote_scan {
    int mode;      /* SPLIT_PLAIN, SPLIT_QUOTED or SPLIT_MIGHT_END */
    size_t pos;    /* bytes before this are scanned */
    size_t floor;  /* a field is known to start here (for the look back) */
    size_t cut;    /* after the last record end found; 0: none yet */
    size_t spaces; /* spaces and tabs after a closing quote */
} quote_scan;

enum { SPLIT_PLAIN, SPLIT_QUOTED, SPLIT_MIGHT_END };

struct pf_reader {
    const pf_schema *s;
    pf_reader_options opt;
    pf_source *src;
    struct csv_parser csv;
    int csv_ready;
    char *buf;
    size_t bufcap, len, pos;
    int src_eof, finished;
    char delim;
    int decimal;

    /* header */
    int header_done;
    size_t nfields;
    char **header;
    int *field_map;
    size_t nunknown;
    const char **unknown;
    size_t npass;
    const char **pass_names;
    uint8_t *present; /* per schema column: in the header */

    /* the record being read */
    size_t field;
    int64_t line;     /* physical line of the parse position */
    int64_t row_line; /* line where the current record started */
    int prev_cr;
    double *st_num;
    int32_t *st_cat;
    pf_strref *st_str; /* offsets into sbuf */
    pf_strref *st_pass;
    char *sbuf;
    size_t sbuf_len, sbuf_cap;
    problem *probs;
    size_t nprobs, nprobs_total;
    size_t missing_max_len;   /* longest missing-value token */
    size_t *missing_len;      /* length of each missing-value token */
    pf_strmap *pattern_cache; /* per schema column */
    int *derived;             /* the derived columns */
    size_t nderived;

    pf_frame *f;
    int fatal; /* a pf_status that stops reading */
    pf_error *err;
    pf_reader_stats stats;

    /* Splitting into blocks (reader_blocks.h): bytes read ahead in stage,
     * of which [0, sp.pos) are scanned; the scan's state; sp.cut is the
     * last record end found (0: none yet). */
    char *stage;
    size_t stage_n, stage_cap;
    int split_started, split_over;
    quote_scan sp;

    /* A block parser: the reader whose header it shares, and where it
     * collects the problems of the block being parsed. */
    const pf_reader *parent;
    pf_reader_batch *batch;
    struct pf_fast_plan *fast; /* reader_fast.c's plan; NULL: every record the long way */
};

static inline int pf_reader_is_missing(const pf_reader *R, const char *s, size_t n)
{
    if (n > R->missing_max_len)
        return 0;
    /* Tokens are a few bytes ("", "NA"): compared inline, not by a call. */
    for (size_t i = 0; i < R->s->nmissing_tokens; i++) {
        if (R->missing_len[i] != n)
            continue;
        const char *t = R->s->missing_tokens[i];
        size_t k = 0;
        while (k < n && t[k] == s[k])
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* Whether string column c accepts s[0..n) (NUL-terminated) by its
 * pattern; results are cached per column. */
int pf_reader_pattern_ok(pf_reader *R, int c, const char *s, size_t n);

/* Sets the derived columns of frame row i from the row's other columns.
 * Returns 0, or the number of problems it added to the record (the row
 * must then be rejected). */
size_t pf_reader_derive_row(pf_reader *R, pf_frame *f, size_t i);

/* The plan for block parser P's ordinary records; 0 or PF_ENOMEM. */
int pf_reader_fast_new(pf_reader *P);
void pf_reader_fast_free(pf_reader *P);

/* Reads the record that starts at b[from] (the block holds b[0, n)) when
 * it is ordinary: no quote, CR or control byte before its LF, the
 * header's number of fields, none with spaces around it, and every value
 * accepted as it stands. The row then goes straight into P's frame and
 * the offset after the LF is returned. Bytes of b are changed only for a
 * moment. Otherwise nothing has changed and
 * 0 is returned: the record is left to the general path, which gives the
 * same row or the reasons it is rejected. */
size_t pf_reader_fast_record(pf_reader *P, char *b, size_t from, size_t n);

#endif
