/*
 * records.h - reading back the decision files profil writes, record by
 * record, to compare two runs (`profil rerun`).
 *
 * A decisions file is CSV (RFC 4180: a field holding a comma, a quote or a
 * line break is quoted, quotes doubled) or JSON lines; plain or gzip. A
 * record is one CSV row (line breaks inside quotes belong to the row) or
 * one JSON line, without its line terminator. The reader also hashes the
 * decompressed text, which is what a run manifest records as the output's
 * SHA-256.
 */
#ifndef PROFIL_RECORDS_H
#define PROFIL_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "profil/hash.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest record accepted; a longer one stops reading with PF_ELIMIT. */
#define PF_RECORDS_MAX (16u << 20)

enum { PF_RECORDS_CSV, PF_RECORDS_LINES };

typedef struct pf_records pf_records;

/* Opens path (plain or gzip; "-" = standard input). mode PF_RECORDS_CSV
 * keeps quoted line breaks inside a record; PF_RECORDS_LINES splits at
 * every newline. */
int pf_records_open(pf_records **out, const char *path, int mode, pf_error *err);

/* The same for n bytes in memory (buf must outlive the reader). */
int pf_records_open_memory(pf_records **out, const void *buf, size_t n, int mode, pf_error *err);

/* The next record in (*rec, *n), valid until the next call: 1, or 0 at the
 * end, or a negative pf_status (I/O error, corrupt gzip, a record over
 * PF_RECORDS_MAX). A final record without a newline is returned too; a
 * CR before the newline is dropped. */
int pf_records_next(pf_records *r, const char **rec, size_t *n, pf_error *err);

/* Records returned so far (the first is 1). */
int64_t pf_records_count(const pf_records *r);

/* SHA-256 of the decompressed text read so far; of the whole text once
 * pf_records_next returned 0. */
void pf_records_sha256(const pf_records *r, char hex[PF_SHA256_HEX]);

/* Accepts NULL. */
void pf_records_close(pf_records *r);

/* Splits one CSV record at delim into at most max fields: field k is
 * (rec + start[k], len[k]) as written, quotes included. Returns the number
 * of fields, which may exceed max (the rest are not stored). */
size_t pf_csv_split(const char *rec, size_t n, char delim, size_t *start, size_t *len, size_t max);

/* The value of one field as written by pf_csv_split: surrounding quotes
 * removed and doubled quotes undone, into buf (NUL-terminated, truncated
 * to cap - 1 bytes). Returns the length written. */
size_t pf_csv_unquote(const char *s, size_t n, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
