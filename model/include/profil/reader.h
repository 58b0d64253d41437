/*
 * reader.h - streams CSV input into frames of typed, validated rows.
 *
 * The reader is the single entrance of data into profil: training, batch
 * scoring, what-if and evaluation all read through it, so a row is
 * accepted or rejected the same way everywhere. It accepts what real
 * exports contain: comma, semicolon or tab delimiters (detected from the
 * header), decimal comma, UTF-8 with or without BOM, CRLF, quoted fields
 * with embedded delimiters and newlines, gzip, standard input. Columns are
 * matched by header name in any order.
 *
 * Nothing is silently coerced: every rejected row is reported through the
 * caller's callback with row number, line, column, value and rule, and
 * rows read = rows accepted + rows rejected, always.
 */
#ifndef PROFIL_READER_H
#define PROFIL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "profil/frame.h"
#include "profil/schema.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a value or a row was rejected. Names (pf_rule_name) are stable and
 * appear in rejects files and run manifests. */
typedef enum pf_rule {
    PF_RULE_FIELD_COUNT,    /* record has a different number of fields than the header */
    PF_RULE_INVALID_UTF8,   /* bytes are not valid UTF-8, or contain NUL */
    PF_RULE_MISSING,        /* a required value is empty */
    PF_RULE_NOT_A_NUMBER,   /* not a number (thousands separators, text, ...) */
    PF_RULE_NOT_AN_INTEGER, /* a number with a fractional part in an integer column */
    PF_RULE_OUT_OF_RANGE,   /* outside [min, max] */
    PF_RULE_UNKNOWN_CODE,   /* not one of the column's allowed codes */
    PF_RULE_PATTERN,        /* text does not match the column's pattern */
    PF_RULE_TOO_LONG,       /* text longer than max_length */
    PF_RULE_PERSONNUMMER,   /* a personal identity number outside the id column */
    PF_RULE_COUNT
} pf_rule;

const char *pf_rule_name(pf_rule rule);

/* One problem with one value (or with the whole row for field_count). */
typedef struct pf_problem {
    int64_t row;        /* 1-based data row number (the header is not a row) */
    int64_t line;       /* physical line where the row starts (header = line 1) */
    const char *id;     /* the row's id if it was read and valid, else NULL */
    const char *column; /* column name, NULL for whole-row problems */
    const char *value;  /* the offending value, escaped and truncated; withheld
                           ("<withheld>") for personal identity numbers */
    pf_rule rule;
    const char *message; /* what is wrong and what is allowed */
    int first_of_row;    /* 1 for the first problem reported for this row */
} pf_problem;

/* Called for every problem of every rejected row, in input order. */
typedef void (*pf_reject_fn)(void *ctx, const pf_problem *p);

enum { PF_DECIMAL_AUTO = 0, PF_DECIMAL_POINT = 1, PF_DECIMAL_COMMA = 2 };

typedef struct pf_reader_options {
    char delimiter;          /* ',', ';', '\t', or 0 to detect from the header */
    int decimal;             /* PF_DECIMAL_*: AUTO accepts '.' always and ',' when the
                                delimiter is ';' or tab */
    int passthrough_unknown; /* keep input columns the schema lacks (as strings) */
    size_t max_field_bytes;  /* longer fields reject their row (too_long); 0 = 1 MiB.
                                Whatever the setting, a field over 16 MiB stops
                                reading with PF_ELIMIT. */
    pf_reject_fn on_reject;  /* may be NULL */
    void *reject_ctx;
} pf_reader_options;

typedef struct pf_reader_stats {
    int64_t rows_read;
    int64_t rows_accepted;
    int64_t rows_rejected;
    int64_t blank_lines;             /* empty lines, skipped (not rows) */
    int64_t problems[PF_RULE_COUNT]; /* problems by rule (a row may have several) */
    uint64_t bytes_read;             /* decompressed bytes */
} pf_reader_stats;

typedef struct pf_reader pf_reader;

/* Opens path ("-" = standard input; gzip detected from content) and reads
 * its header. A header lacking required columns fails with PF_EHEADER and a
 * message listing every missing column. opt may be NULL for defaults.
 * The schema must outlive the reader. */
int pf_reader_open(pf_reader **out, const pf_schema *s, const char *path,
                   const pf_reader_options *opt, pf_error *err);

/* The same for input in memory (buf must outlive the reader). */
int pf_reader_open_memory(pf_reader **out, const pf_schema *s, const void *buf, size_t n,
                          const pf_reader_options *opt, pf_error *err);

/* One value of a row that does not come as CSV: its column name and its
 * text, as a CSV field would hold it. value[len] must be '\0'. */
typedef struct pf_field_text {
    const char *name;
    const char *value;
    size_t len;
} pf_field_text;

/* Opens a reader for rows given as named field texts instead of a CSV
 * stream (the HTTP service's JSON profiles). Each row is checked,
 * converted, derived and reported exactly as the same values in a CSV row
 * would be, with the same rules and messages. opt's delimiter and
 * passthrough are ignored; its decimal mode applies (AUTO: point only, as
 * for a comma-delimited file). Frames for it come from pf_frame_new with
 * no passthrough columns. */
int pf_reader_open_fields(pf_reader **out, const pf_schema *s, const pf_reader_options *opt,
                          pf_error *err);

/* Checks one row of n fields (names in any order; names the schema does
 * not know are ignored, but scanned for identity numbers as CSV fields
 * are) and appends it to f as row number `row` when it is accepted. A
 * required column absent from v is a missing_value problem, where a CSV
 * file would fail at its header. Returns 1 when the row was accepted, 0
 * when it was rejected (each problem went to the on_reject callback), or a
 * negative pf_status (a column given twice, a full frame, out of memory),
 * after which the reader is ready for the next row. Problems come in
 * schema column order. */
int pf_reader_put_fields(pf_reader *r, pf_frame *f, int64_t row, const pf_field_text *v, size_t n,
                         pf_error *err);

/* Allocates a frame shaped for this reader (schema columns plus any
 * passthrough columns) that receives about `rows` rows per chunk. */
int pf_reader_frame_new(pf_reader *r, size_t rows, pf_frame **out, pf_error *err);

/* Clears f and fills it with the next chunk of accepted rows. Returns 1
 * when f holds rows, 0 at the end of input (f empty), or a negative
 * pf_status on an input error that stops reading (I/O, corrupt gzip, a
 * field over 16 MiB, an unterminated quote). After an error the input
 * is unusable: the frame's rows are not to be used, the stats describe
 * what was parsed before the error, and further calls return 0. The
 * caller must treat the whole run as failed.
 *
 * Like most CSV readers, spaces and tabs around an unquoted field are
 * trimmed (" 34 " reads as 34); inside quotes they are kept. */
int pf_reader_read(pf_reader *r, pf_frame *f, pf_error *err);

const pf_reader_stats *pf_reader_stats_get(const pf_reader *r);

/* SHA-256 of the input's bytes as stored (compressed, for gzip), as
 * `sha256sum` prints it; complete once pf_reader_read has returned 0. */
void pf_reader_input_sha256(const pf_reader *r, char hex[65]);

/* The delimiter in use (detected or given). */
char pf_reader_delimiter(const pf_reader *r);

/* Input columns not in the schema (ignored, or passed through). */
size_t pf_reader_unknown_columns(const pf_reader *r, const char *const **names);

/* Accepts NULL. */
void pf_reader_close(pf_reader *r);

#ifdef __cplusplus
}
#endif
#endif
