/*
 * fuzz_schema.c - fuzz target for the schema loader. The input bytes are a
 * schema file, written to a scratch directory beside a link to the bundled
 * reference tables (so "../ref/kommuner.csv" resolves as it does for the
 * bundled schema) and loaded. A load either succeeds with a consistent
 * schema or fails with PF_ESCHEMA and no schema.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profil/schema.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

#include "fuzzcheck.h"

static char dir[64], schema_dir[80], file[96], ref_link[80];

static void cleanup(void)
{
    unlink(file);
    rmdir(schema_dir);
    unlink(ref_link);
    rmdir(dir);
}

static void setup(void)
{
    fuzz_scratch_name(dir, sizeof dir, "pf-fuzz");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(schema_dir, sizeof schema_dir, "%s/schema", dir);
    snprintf(file, sizeof file, "%s/s.json", schema_dir);
    snprintf(ref_link, sizeof ref_link, "%s/ref", dir);
    CHECK(mkdir(schema_dir, 0700) == 0);
    CHECK(symlink(PF_FUZZ_DATADIR "/ref", ref_link) == 0);
    atexit(cleanup);
}

static int mentions(const uint8_t *data, size_t size, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(data + i, s, n) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Reference files are read whole: keep devices and pseudo-files
     * (endless or blocking) out of reach. */
    if (mentions(data, size, "/dev") || mentions(data, size, "/proc") ||
        mentions(data, size, "/sys") || mentions(data, size, "\\u"))
        return 0;
    /* glibc's regcomp takes exponential time on stacked repetitions such as
     * "a+*****"; schema patterns are trusted, so such inputs say nothing. */
    size_t reps = 0;
    for (size_t i = 0; i < size; i++)
        reps += data[i] == '*' || data[i] == '+' || data[i] == '?' || data[i] == '{';
    if (reps > 16)
        return 0;
    if (!dir[0])
        setup();
    fuzz_write_file(file, data, size);
    pf_schema *s = (pf_schema *) 1;
    pf_error err;
    int rc = pf_schema_load(&s, file, &err);
    if (rc) {
        CHECK(s == NULL && rc == PF_ESCHEMA && err.status == rc && err.message[0]);
        return 0;
    }
    CHECK(s->ncols > 0);
    for (size_t c = 0; c < s->ncols; c++) {
        const pf_column *col = &s->cols[c];
        CHECK(pf_schema_find(s, col->name) == (int) c);
        CHECK(col->min <= col->max);
        CHECK(!col->derived || ((size_t) col->source < c && !s->cols[col->source].derived));
        for (size_t l = 0; l < col->nlevels; l++)
            CHECK(pf_schema_level(s, (int) c, col->levels[l].code, strlen(col->levels[l].code)) ==
                  (int32_t) l);
        if (col->missing == PF_MISSING_DEFAULT)
            CHECK(col->default_value != NULL);
    }
    CHECK(s->id_col < 0 || s->cols[s->id_col].type == PF_TYPE_STRING);
    pf_schema_free(s);
    return 0;
}
