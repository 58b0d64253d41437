/*
 * fuzz_whatif.c - fuzz target for the what-if parsers. The first input
 * byte chooses what the rest is: 'S' a what-if settings file, loaded
 * against the bundled schema; anything else a profile as a JSON object,
 * set over the bundled settings' defaults and scored with the bundled
 * model and policy. A load or a profile either fails with an error message,
 * or gives settings whose defaults are set for every column, or a card
 * whose p lies inside its interval and that renders as JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/decide.h"
#include "profil/model.h"
#include "profil/policy.h"
#include "profil/schema.h"
#include "profil/whatif.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

#include "fuzzcheck.h"

static struct {
    pf_schema *s;
    pf_model *m;
    pf_policy *pol;
    pf_decider *d;
    pf_whatif_settings *ws;
    pf_whatif *w;
} G;

static void cleanup(void)
{
    pf_whatif_free(G.w);
    pf_whatif_settings_free(G.ws);
    pf_decider_free(G.d);
    pf_policy_free(G.pol);
    pf_model_free(G.m);
    pf_schema_free(G.s);
}

static void setup(void)
{
    pf_error err;
    CHECK(pf_schema_load(&G.s, PF_FUZZ_DATADIR "/schema/af-inskrivning.json", &err) == 0);
    CHECK(pf_model_load(&G.m, PF_FUZZ_DATADIR "/models/af-logit.json", G.s, &err) == 0);
    CHECK(pf_policy_load(&G.pol, PF_FUZZ_DATADIR "/policies/krom-2021-08.json", G.s, &err) == 0);
    CHECK(pf_decider_new(&G.d, G.m, G.pol, NULL, &err) == 0);
    CHECK(pf_whatif_settings_load(&G.ws, PF_FUZZ_DATADIR "/whatif/af-inskrivning.json", G.s,
                                  &err) == 0);
    CHECK(pf_whatif_new(&G.w, G.d, G.ws, &err) == 0);
    atexit(cleanup);
}

static void settings(const uint8_t *data, size_t size)
{
    pf_whatif_settings *ws = (pf_whatif_settings *) 1;
    pf_error err;
    int rc = pf_whatif_settings_load_text(&ws, (const char *) data, size, "fuzz.json", G.s, &err);
    if (rc) {
        CHECK(ws == NULL && rc < 0 && err.status == rc && err.message[0]);
        return;
    }
    for (size_t k = 0; k < ws->ncols; k++) {
        CHECK(ws->cols[k].default_value != NULL);
        CHECK(!ws->cols[k].ordered || ws->cols[k].nvalues > 0);
    }
    pf_whatif_settings_free(ws);
}

static void profile(const uint8_t *data, size_t size)
{
    json_t *o = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!o)
        return;
    pf_profile *p = NULL;
    pf_error err;
    CHECK(pf_profile_new(&p, G.w, &err) == 0);
    pf_whatif_card *c = NULL;
    if (!pf_profile_set_json(p, o, &err) && !pf_whatif_card_new(&c, G.w, p, &err)) {
        CHECK(c->s.d.p > 0 && c->s.d.p < 1);
        CHECK(c->s.p_lo <= c->s.d.p && c->s.d.p <= c->s.p_hi);
        json_t *j = pf_whatif_card_json(G.w, p, c);
        CHECK(j != NULL);
        json_decref(j);
    } else {
        CHECK(err.message[0]);
    }
    pf_whatif_card_free(c);
    pf_profile_free(p);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!G.w)
        setup();
    if (size && data[0] == 'S')
        settings(data + 1, size - 1);
    else if (size)
        profile(data + 1, size - 1);
    return 0;
}
