/*
 * fuzzcheck.h - what every fuzz target shares: libFuzzer's entry point and
 * CHECK, which aborts (a finding for libFuzzer, a failure for the corpus
 * replay) when one of the target's promises does not hold.
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

#endif
