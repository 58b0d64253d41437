/*
 * fuzz_request.c - fuzz target for the request-body parser of the HTTP
 * service (serve/http_body.c): the input bytes are a POST /v1/score body,
 * parsed against the bundled schema. Either the parse fails with a message,
 * or every profile is accounted for: accepted rows + rejected profiles =
 * profiles, rows keep the request's order, and every problem names a
 * profile of the request and a known rule.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_body.h"
#include "profil/schema.h"

#ifndef PF_FUZZ_DATADIR
#error "PF_FUZZ_DATADIR must name the data/ directory"
#endif

#include "fuzzcheck.h"

static pf_schema *schema;
static pf_body *body;

static void cleanup(void)
{
    pf_body_free(body);
    pf_schema_free(schema);
}

static int known_rule(const char *r)
{
    for (int k = 0; k < PF_RULE_COUNT; k++)
        if (!strcmp(r, pf_rule_name((pf_rule) k)))
            return 1;
    return !strcmp(r, PF_BODY_RULE_JSON_TYPE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pf_error err = {0};
    if (!schema) {
        CHECK(pf_schema_load(&schema, PF_FUZZ_DATADIR "/schema/af-inskrivning.json", &err) == 0);
        CHECK(pf_body_new(&body, schema, 64, &err) == 0);
        atexit(cleanup);
    }
    int rc = pf_body_parse(body, (const char *) data, size, &err);
    if (rc) {
        CHECK(rc < 0 && err.status == rc && err.message[0]);
        return 0;
    }
    size_t np = pf_body_profiles(body);
    const pf_frame *f = pf_body_frame(body);
    CHECK(np >= 1 && np <= 64);
    CHECK(f->n + pf_body_rejected(body) == np);
    CHECK(pf_body_problems(body) <= pf_body_problems_total(body));
    CHECK(pf_body_rejected(body) == 0 || pf_body_problems_total(body) > 0);
    for (size_t i = 0; i < f->n; i++)
        CHECK(f->row[i] >= 1 && (size_t) f->row[i] <= np && (i == 0 || f->row[i] > f->row[i - 1]));
    for (size_t k = 0; k < pf_body_problems(body); k++) {
        pf_body_problem p;
        pf_body_problem_get(body, k, &p);
        CHECK(p.index < np && known_rule(p.rule) && p.message[0]);
        CHECK(!p.column || strlen(p.column) < (1u << 20));
    }
    if (!pf_body_is_array(body))
        CHECK(np == 1);
    return 0;
}
