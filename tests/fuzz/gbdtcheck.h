/*
 * gbdtcheck.h - the promises a gbdt ensemble from any loader keeps (the
 * model file's and XGBoost's fuzz targets share them): trees well formed
 * (children adjacent and after their parent, features in range, positive
 * covers), scoring and explaining a row reading nothing out of bounds, the
 * scoring kernel and the TreeSHAP walk reaching the same logit, and the
 * contributions summing to the logit minus the expected value.
 */
#ifndef PROFIL_GBDTCHECK_H
#define PROFIL_GBDTCHECK_H

#include <math.h>
#include <stdlib.h>

#include "fuzzcheck.h"
#include "profil/gbdt.h"

static inline void check_trees(const pf_gbdt *g)
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

#endif
