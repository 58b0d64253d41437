/*
 * prefetch.h - reads frames on a background thread while the caller works
 * on earlier ones.
 *
 * Parsing and checking CSV is a third or more of a training or scoring
 * run and uses one core; with a prefetcher it overlaps with whatever the
 * caller does to each frame (encoding, scoring, writing). With several
 * threads the input is also parsed in parallel: cut into blocks of whole
 * records, each parsed on its own. Frames arrive in input order with the
 * same rows, row numbers, rejected rows and counts whatever the number of
 * threads, so results do not depend on threads or timing (only where
 * frames begin and end may differ from single-threaded reading).
 *
 * The reader belongs to the prefetcher until pf_prefetch_stop(). Its
 * reject callback runs either inside pf_prefetch_next() or on the
 * reading thread, never on two threads at once, and always in input
 * order.
 */
#ifndef PROFIL_PREFETCH_H
#define PROFIL_PREFETCH_H

#include <stddef.h>

#include "profil/frame.h"
#include "profil/reader.h"
#include "profil/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pf_prefetch pf_prefetch;

/* The number of online cores, 1 to 64: how many threads 0 stands for,
 * here and in the commands' --threads. */
int pf_default_threads(void);

/* Starts reading r into a ring of nframes frames (at least 2) of about
 * `rows` rows each, parsing on `threads` threads (1: one reading thread,
 * which also parses; more: that many parsers besides it, and threads
 * more frames; 0: as many as there are cores). */
int pf_prefetch_start(pf_prefetch **out, pf_reader *r, size_t rows, size_t nframes, int threads,
                      pf_error *err);

/* Waits for the next frame in input order. Returns 1 with *f set (hand it
 * back with pf_prefetch_release when done), 0 at the end of input, or the
 * reader's negative status with err filled. */
int pf_prefetch_next(pf_prefetch *p, pf_frame **f, pf_error *err);

/* Returns a frame obtained from pf_prefetch_next to the ring. */
void pf_prefetch_release(pf_prefetch *p, pf_frame *f);

/* Stops the thread (also midway), frees the frames. Accepts NULL. The
 * reader is the caller's again afterwards. */
void pf_prefetch_stop(pf_prefetch *p);

#ifdef __cplusplus
}
#endif
#endif
