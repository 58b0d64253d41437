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

static pf_schema *schema;
static char file[96];

static void cleanup(void)
{
    unlink(file);
    pf_schema_free(schema);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(file, sizeof file, "%.40s/pf-fuzz-model-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(file);
    CHECK(fd >= 0);
    close(fd);
    pf_error err;
    CHECK(pf_schema_load(&schema, PF_FUZZ_DATADIR "/schema/af-inskrivning.json", &err) == 0);
    atexit(cleanup);
}

static void check_trees(const pf_gbdt *g)
{
    CHECK(g->nfeat > 0 && g->root[0] == 0 && g->root[g->ntrees] == g->nnodes);
    for (size_t t = 0; t < g->ntrees; t++) {
        size_t n = g->root[t + 1] - g->root[t];
        const pf_gbdt_node *nd = g->node + g->root[t];
        for (size_t k = 0; k < n; k++) {
            CHECK(g->cover[g->root[t] + k] > 0);
            if (nd[k].left < 0)
                continue;
            CHECK((size_t) nd[k].left > k && (size_t) nd[k].left + 1 < n);
            CHECK(nd[k].feature >= 0 && (size_t) nd[k].feature < g->nfeat);
        }
    }
    CHECK(g->max_depth <= PF_GBDT_MAX_DEPTH);
    size_t nf = g->nfeat;
    double *x = malloc(2 * nf * sizeof *x), *phi = malloc(nf * sizeof *phi), eta[2];
    double *ws = malloc(pf_gbdt_shap_workspace(g) * sizeof *ws);
    CHECK(x && phi && ws);
    for (size_t j = 0; j < nf; j++) {
        x[j] = NAN;
        x[nf + j] = (double) j - 1.5;
    }
    pf_gbdt_predict(g, x, 2, eta);
    double e = pf_gbdt_expected_value(g);
    for (int r = 0; r < 2; r++) {
        double logit = pf_gbdt_contributions(g, x + r * nf, phi, ws), sum = 0, mag = 0;
        CHECK(logit == eta[r] || (isnan(logit) && isnan(eta[r])));
        for (size_t j = 0; j < nf; j++) {
            sum += phi[j];
            mag += fabs(phi[j]);
        }
        if (isfinite(sum) && isfinite(logit) && isfinite(e) && isfinite(mag))
            CHECK(fabs(sum - (logit - e)) <= 1e-6 * (1 + mag + fabs(logit) + fabs(e)));
    }
    free(x);
    free(phi);
    free(ws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schema)
        setup();
    FILE *fp = fopen(file, "wb");
    CHECK(fp != NULL);
    CHECK(fwrite(data, 1, size, fp) == size);
    CHECK(fclose(fp) == 0);
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
