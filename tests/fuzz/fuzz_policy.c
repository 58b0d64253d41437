/*
 * fuzz_policy.c - fuzz target for the policy loader. The input bytes are a
 * policy file, loaded against the bundled schema. A load either fails with
 * an error message and no policy, or gives a policy whose invariants hold
 * (thresholds in order, every area's compensation rows present, each
 * municipality in at most one area) and which decides a row without
 * reading out of bounds.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profil/policy.h"
#include "profil/schema.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

#include "fuzzcheck.h"

static pf_schema *schema;
static char file[96];

static void cleanup(void)
{
    unlink(file);
    pf_schema_free(schema);
}

static void setup(void)
{
    fuzz_scratch_name(file, sizeof file, "pf-fuzz-policy");
    int fd = mkstemp(file);
    CHECK(fd >= 0);
    close(fd);
    pf_error err;
    CHECK(pf_schema_load(&schema, PF_FUZZ_DATADIR "/schema/af-inskrivning.json", &err) == 0);
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema)
        setup();
    fuzz_write_file(file, data, size);
    pf_policy *p = (pf_policy *) 1;
    pf_error err;
    int rc = pf_policy_load(&p, file, schema, &err);
    if (rc) {
        CHECK(p == NULL && rc < 0 && err.status == rc && err.message[0]);
        return 0;
    }
    CHECK(p->far_below <= p->close_min && p->close_min < 1 && p->far_below > 0);
    CHECK(p->has_levels != p->has_tracks);
    if (p->has_levels)
        CHECK(p->level_b_min <= p->level_a_min);
    CHECK(p->valid_from <= p->valid_to);
    for (size_t a = 0; a < p->nareas; a++)
        for (char lev = 'A'; p->has_levels && lev <= 'C'; lev++)
            CHECK(pf_policy_compensation(p, lev, 0, p->areas[a].compensation_model) != NULL);
    if (p->area_col >= 0)
        for (size_t l = 0; l < schema->cols[p->area_col].nlevels; l++)
            CHECK(p->area_of_level[l] >= -1 && p->area_of_level[l] < (int16_t) p->nareas);
    for (size_t k = 0; k < p->ncompensation; k++)
        CHECK(p->compensation[k].max_per_participant >= p->compensation[k].max_result - 0.01);
    for (size_t k = 0; k < p->nrules; k++)
        CHECK(p->rules[k].code && p->rules[k].reason);
    pf_policy_free(p);
    return 0;
}
