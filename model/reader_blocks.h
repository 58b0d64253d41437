/*
 * reader_blocks.h - parallel parsing support for the reader (private to
 * the library; pf_prefetch is its user).
 *
 * One thread splits the input into blocks of whole records
 * (pf_reader_split); any number of parsers, each a clone of the reader
 * sharing its header, turn blocks into frames (pf_reader_parse_block);
 * the frames are then handed out in input order through
 * pf_reader_deliver, which gives rows and lines their numbers in the whole
 * input, reports the block's rejected rows through the caller's callback
 * and adds the block's counts to the reader's statistics. The result is
 * the same rows, numbers, problems and counts as pf_reader_read gives.
 *
 * Splitting only ever cuts after a line end outside quotes, where libcsv
 * is between records, so every block parses on its own. Input that offers
 * no such place (a record of many megabytes, an unterminated quote, the
 * last record without a line end) is left to pf_reader_read, which picks
 * up exactly where splitting stopped.
 */
#ifndef PROFIL_READER_BLOCKS_H
#define PROFIL_READER_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "profil/reader.h"

typedef struct pf_reader_block {
    char *p;
    size_t n, cap;
    uint64_t input_bytes; /* input bytes as stored consumed when the block was cut */
} pf_reader_block;

typedef struct pf_reader_batch_problem {
    int64_t row, line; /* within the block: rows from 1, lines from 0 */
    const char *column;
    pf_rule rule;
    int first_of_row;
    uint32_t value, message, id; /* offsets into text; id UINT32_MAX when none */
} pf_reader_batch_problem;

/* What a block's parse leaves for delivery besides the frame. */
typedef struct pf_reader_batch {
    pf_reader_stats stats; /* the block's counts */
    int64_t lines;         /* line ends the block consumed */
    pf_reader_batch_problem *probs;
    size_t nprobs, probs_cap;
    char *text;
    size_t text_len, text_cap;
    int failed; /* out of memory collecting problems */
} pf_reader_batch;

/* Cuts the next block of about `want` bytes of whole records into b (its
 * buffer is reused and grown). Returns 1 with a block, 0 when splitting
 * is over (what remains, if anything, is for pf_reader_read), or a
 * negative pf_status (I/O, corrupt gzip). Where blocks end depends on the
 * input's bytes and `want` only. */
int pf_reader_split(pf_reader *r, pf_reader_block *b, size_t want, pf_error *err);

/* A parser for blocks of r's input; r must outlive it. */
int pf_reader_parser_new(const pf_reader *r, pf_reader **out, pf_error *err);
void pf_reader_parser_free(pf_reader *p);

/* Parses block b into frame f (cleared, grown as needed) and batch
 * (cleared first). Returns 0 or a negative pf_status (out of memory). */
int pf_reader_parse_block(pf_reader *p, const pf_reader_block *b, pf_frame *f,
                          pf_reader_batch *batch, pf_error *err);

/* Numbers f's rows in the whole input, reports the batch's problems and
 * counts it. Blocks must be delivered in input order. */
void pf_reader_deliver(pf_reader *r, pf_frame *f, const pf_reader_batch *batch);

void pf_reader_batch_free(pf_reader_batch *b);

#endif
