/*
 * explain_cmd.c - `profil model explain MODEL DATA`: every accepted row's
 * logit and the exact contribution of every feature the model uses, at
 * full precision, as CSV. The same numbers pf_decide ranks into reasons
 * (decide.h): terms against the reference profile for a logistic model,
 * TreeSHAP values against the expected logit for a gbdt. For audits and
 * for checking the explanations against an independent computation.
 *
 * Output: row,logit,reference_logit,<feature>... (the row's 1-based data
 * row number; never the id). Contributions sum to logit - reference_logit.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "profil/csvout.h"
#include "profil/decide.h"
#include "profil/model.h"
#include "profil/outfile.h"
#include "profil/policy.h"
#include "profil/reader.h"

int pf_cli_model_explain(const char *model_path, const char *input, const char *out_path,
                         const pf_schema *s)
{
    const char *cmd = "model explain";
    pf_error err = {0};
    pf_model *m = NULL;
    pf_policy *pol = NULL;
    pf_decider *d = NULL;
    pf_reader *r = NULL;
    pf_frame *f = NULL;
    pf_outfile *o = NULL;
    double *contrib = NULL;
    int exit_code = PF_EXIT_USAGE, rc = 0;
    pf_cli_policy_choice pc = {0};
    if (pf_cli_load_model(cmd, model_path, s, &m) || pf_cli_load_policy(cmd, &pc, s, &pol))
        goto out;
    if (pf_decider_new(&d, m, pol, NULL, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        goto out;
    }
    exit_code = PF_EXIT_FAIL;
    size_t nf;
    const int *cols = pf_decider_features(d, &nf);
    if (!(contrib = malloc((nf ? nf : 1) * sizeof *contrib))) {
        pf_cli_error(cmd, "out of memory");
        goto out;
    }
    if ((rc = pf_reader_open(&r, s, input, NULL, &err))) {
        pf_cli_input_error(cmd, input, err.message);
        exit_code = rc == PF_EHEADER ? PF_EXIT_USAGE : PF_EXIT_FAIL;
        goto out;
    }
    if ((rc = pf_reader_frame_new(r, 4096, &f, &err)) || (rc = pf_outfile_open(&o, out_path, &err)))
        goto fail;
    pf_outfile_puts(o, "row,logit,reference_logit");
    for (size_t j = 0; j < nf; j++) {
        pf_outfile_write(o, ",", 1);
        pf_csv_put_str(o, s->cols[cols[j]].name, ',');
    }
    pf_outfile_write(o, "\n", 1);
    double ref = pf_decider_reference_logit(d);
    while ((rc = pf_reader_read(r, f, &err)) > 0)
        for (size_t i = 0; i < f->n; i++) {
            double eta = pf_decider_contributions(d, f, i, contrib);
            pf_outfile_printf(o, "%lld,%.17g,%.17g", (long long) f->row[i], eta, ref);
            for (size_t j = 0; j < nf; j++)
                pf_outfile_printf(o, ",%.17g", contrib[j]);
            pf_outfile_write(o, "\n", 1);
        }
    if (rc < 0 || (rc = pf_outfile_commit(o, &err)))
        goto fail;
    o = NULL;
    const pf_reader_stats *st = pf_reader_stats_get(r);
    if (st->rows_rejected) {
        pf_cli_error(cmd,
                     "%lld of %lld rows rejected by the schema and left out ('profil validate' "
                     "lists them)",
                     (long long) st->rows_rejected, (long long) st->rows_read);
        exit_code = PF_EXIT_FAIL;
        goto out;
    }
    exit_code = PF_EXIT_OK;
    goto out;
fail:
    pf_cli_error(cmd, "%s", err.message);
out:
    if (o)
        pf_outfile_abort(o);
    free(contrib);
    pf_frame_free(f);
    pf_reader_close(r);
    pf_decider_free(d);
    pf_policy_free(pol);
    pf_model_free(m);
    return exit_code;
}
