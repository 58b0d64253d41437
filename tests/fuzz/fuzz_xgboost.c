/*
 * fuzz_xgboost.c - fuzz target for the XGBoost JSON model importer
 * (model/xgboost.c). The input bytes are an XGBoost model file, imported
 * against the bundled schema. An import either fails with an error message
 * and no ensemble, or gives one that keeps every promise of gbdtcheck.h.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "profil/schema.h"
#include "profil/xgboost.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

#include "fuzzcheck.h"
#include "gbdtcheck.h"

static pf_schema *schema;

static void cleanup(void)
{
    pf_schema_free(schema);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema) {
        pf_error err;
        CHECK(pf_schema_load(&schema, PF_FUZZ_DATADIR "/schema/af-inskrivning.json", &err) == 0);
        atexit(cleanup);
    }
    json_error_t je;
    json_t *root = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return 0;
    pf_gbdt *g = (pf_gbdt *) 1;
    pf_xgboost_info info;
    pf_error err;
    int rc = pf_xgboost_import(&g, root, schema, NULL, 0, "fuzz.json", &info, &err);
    json_decref(root);
    if (rc) {
        CHECK(g == NULL && rc < 0 && err.status == rc && err.message[0]);
        return 0;
    }
    CHECK(info.ntrees == g->ntrees);
    check_trees(g);
    pf_gbdt_free(g);
    return 0;
}
