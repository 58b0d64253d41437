/*
 * outfile.h - output files that appear atomically.
 *
 * Every file profil writes (scored rows, rejects, manifests, synthetic data)
 * goes through a pf_outfile: bytes go to a temporary file in the target's
 * directory, and only pf_outfile_commit() flushes, fsyncs and renames it to
 * the final name. A run that fails or is killed never leaves a partial file
 * under the final name. A path ending in ".gz" is gzip-compressed; "-" is
 * standard output (not atomic: a pipe has no name to rename).
 */
#ifndef PROFIL_OUTFILE_H
#define PROFIL_OUTFILE_H

#include <stddef.h>

#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_outfile pf_outfile;

/* Opens path for writing through a temporary file. On success *out owns the
 * handle until pf_outfile_commit() or pf_outfile_abort(). */
int pf_outfile_open(pf_outfile **out, const char *path, pf_error *err);

/* For a large file that is written once and read later, if at all (scored
 * rows): each 8 MiB written has its write-back started and the window
 * before it, by then on disk, is dropped from the page cache. The file then
 * takes a few windows of cache instead of its size, and the kernel
 * recycles those pages instead of finding fresh ones for every byte. Off
 * by default; no effect on standard output. */
void pf_outfile_write_behind(pf_outfile *o);

/* Appends n bytes. Errors are sticky and reported again by commit. */
int pf_outfile_write(pf_outfile *o, const void *buf, size_t n);

/* Appends a NUL-terminated string. */
int pf_outfile_puts(pf_outfile *o, const char *s);

/* Appends printf-formatted text (at most 64 KiB per call). */
int pf_outfile_printf(pf_outfile *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Flushes, fsyncs and renames to the final name, then frees o (also on
 * failure, after removing the temporary file). */
int pf_outfile_commit(pf_outfile *o, pf_error *err);

/* Removes the temporary file and frees o. Accepts NULL. */
void pf_outfile_abort(pf_outfile *o);

/* The final path given to pf_outfile_open. */
const char *pf_outfile_path(const pf_outfile *o);

#ifdef __cplusplus
}
#endif
#endif
