/*
 * fuzzcheck.h - what every fuzz target shares: libFuzzer's entry point and
 * CHECK, which aborts (a finding for libFuzzer, a failure for the corpus
 * replay) when one of the target's promises does not hold; and, for the
 * targets whose parser reads a file, a scratch name and the writing of
 * each input to it.
 */
#ifndef PROFIL_FUZZCHECK_H
#define PROFIL_FUZZCHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* "$TMPDIR/<stem>-XXXXXX" (or under /tmp) into buf, for mkstemp or
 * mkdtemp. */
static inline void fuzz_scratch_name(char *buf, size_t n, const char *stem)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, n, "%.40s/%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", stem);
}

/* Replaces the file at path with the input's bytes. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    CHECK(fwrite(data, 1, size, fp) == size);
    CHECK(fclose(fp) == 0);
}

#endif
