/*
 * fuzz_evaljson.c - fuzz target for the reading side of `profil report`:
 * the input bytes are an eval.json. It is parsed, checked
 * (pf_report_check) and, when the check passes, built into a notebook, an
 * HTML page and PNG figures (pf_report_build) in memory. Whatever the bytes,
 * this either fails with a message or gives a notebook that is valid JSON
 * and an HTML page, never a crash or a read out of bounds.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/jsonkeys.h"
#include "plot.h"
#include "report.h"

#include "fuzzcheck.h"

#ifdef PF_LIBFUZZER
/* Fontconfig's process-wide font cache is made on the first plot and hides
 * its pointers from LeakSanitizer, so libFuzzer's per-input leak check would
 * stop at once; leaks are checked by the corpus replay under ASan instead. */
const char *__lsan_default_options(void);
const char *__lsan_default_options(void)
{
    return "detect_leaks=0";
}
#else
/* The replay frees the font caches at exit, so LeakSanitizer sees only
 * real leaks. */
__attribute__((constructor)) static void release_at_exit(void)
{
    atexit(pf_plot_release);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = NULL;
    pf_error err = {0};
    if (size > (1u << 20))
        return 0; /* eval.json files of the corpus are small; bound the work */
    if (pf_json_load_buffer((const char *) data, size, "eval.json", PF_EFORMAT, &doc, NULL, &err)) {
        CHECK(err.message[0]);
        return 0;
    }
    if (pf_report_check(doc, &err) == 0) {
        pf_report r;
        if (pf_report_build(doc, &r, &err) == 0) {
            json_error_t je;
            json_t *nb = json_loads(r.notebook, 0, &je);
            CHECK(nb != NULL);
            CHECK(json_integer_value(json_object_get(nb, "nbformat")) == 4);
            json_decref(nb);
            CHECK(strstr(r.html, "</html>") != NULL);
            for (size_t k = 0; k < r.nfigures; k++)
                CHECK(r.figures[k].n > 8 && !memcmp(r.figures[k].png, "\x89PNG", 4));
            pf_report_free(&r);
        } else
            CHECK(err.message[0]);
    } else
        CHECK(err.message[0]);
    json_decref(doc);
    return 0;
}
