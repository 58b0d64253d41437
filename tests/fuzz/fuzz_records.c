/*
 * fuzz_records.c - fuzz target for the decision-file record reader and the
 * CSV field splitter `profil rerun` compares outputs with. The input bytes
 * are a decisions file, read from memory in both modes. Reading either
 * fails with a message or gives records that, with the line breaks between
 * them, account for every byte; each record splits into fields that tile
 * it, and unquoting a field never writes past its buffer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/records.h"

#include "fuzzcheck.h"

#define MAXF 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    for (int mode = PF_RECORDS_CSV; mode <= PF_RECORDS_LINES; mode++) {
        pf_records *r;
        pf_error err = {0};
        CHECK(pf_records_open_memory(&r, data, size, mode, &err) == 0);
        const char *rec;
        size_t n, total = 0;
        int rc;
        int64_t count = 0;
        while ((rc = pf_records_next(r, &rec, &n, &err)) > 0) {
            count++;
            CHECK(n < PF_RECORDS_MAX);
            total += n;
            size_t start[MAXF], len[MAXF];
            size_t nf = pf_csv_split(rec, n, ',', start, len, MAXF);
            CHECK(nf >= 1);
            size_t at = 0;
            for (size_t k = 0; k < nf && k < MAXF; k++) {
                CHECK(start[k] == at && start[k] + len[k] <= n);
                at = start[k] + len[k] + 1;
                char buf[16];
                size_t w = pf_csv_unquote(rec + start[k], len[k], buf, sizeof buf);
                CHECK(w < sizeof buf && buf[w] == 0 && w <= len[k]);
            }
            if (nf <= MAXF)
                CHECK(at == n + 1);
        }
        if (rc < 0) {
            CHECK(err.message[0]);
        } else {
            CHECK(count == pf_records_count(r));
            /* Plain text: the records and their terminators (a newline, an
             * optional CR before it) are every byte. */
            if (!gzip)
                CHECK(total <= size && total + (size_t) count * 2 >= size);
        }
        char hex[PF_SHA256_HEX];
        pf_records_sha256(r, hex);
        CHECK(strlen(hex) == 64);
        pf_records_close(r);
    }
    return 0;
}
