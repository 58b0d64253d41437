/*
 * fuzz_model.c - fuzz target for the model file loader (both kinds; the
 * gbdt trees most of all). The input bytes are a model file, loaded against
 * the bundled schema. A load either fails with an error message and no
 * model, or gives a model whose trees are well formed (children adjacent
 * and after their parent, features in range, positive covers) and which
 * scores and explains a row without reading out of bounds, its TreeSHAP
 * contributions summing to the logit minus the expected value.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profil/gbdt.h"
#include "profil/model.h"
#include "profil/schema.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

#include "fuzzcheck.h"
#include "gbdtcheck.h"

static pf_schema *schema;
static char file[96];

static void cleanup(void)
{
    unlink(file);
    pf_schema_free(schema);
}

static void setup(void)
{
    fuzz_scratch_name(file, sizeof file, "pf-fuzz-model");
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
    pf_model *m = (pf_model *) 1;
    pf_error err;
    int rc = pf_model_load(&m, file, schema, &err);
    if (rc) {
        CHECK(m == NULL && rc < 0 && err.status == rc && err.message[0]);
        return 0;
    }
    CHECK(strcmp(m->kind, "logit") == 0 || (strcmp(m->kind, "gbdt") == 0 && m->gbdt));
    if (m->gbdt)
        check_trees(m->gbdt);
    pf_model_free(m);
    return 0;
}
