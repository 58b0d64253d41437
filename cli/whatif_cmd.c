/*
 * whatif_cmd.c - `profil whatif`: score one profile and explain it, vary
 * one feature, compare two profiles, or find the smallest change that
 * reaches a target (docs/cli.md#profil-whatif). The work is the library's
 * (profil/whatif.h), so the HTTP service gives the same answers; this file
 * parses options and prints text or the library's JSON.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profil/decide.h"
#include "profil/model.h"
#include "profil/outfile.h"
#include "profil/policy.h"
#include "profil/schema.h"
#include "profil/whatif.h"

#define MAX_SETS 256

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil whatif [OPTIONS] [--set NAME=VALUE]... [--profile FILE.json]\n"
            "                     [--id ID FILE.csv] [--vary SPEC | --reach TARGET |\n"
            "                     --compare PROFILE-OPTIONS...]\n"
            "\n"
            "Score one profile and explain it: p with a 95 %% interval, group, level or\n"
            "track, target groups, delivery area, compensation, eligibility and every\n"
            "feature's contribution. Features left unset take the documented defaults of\n"
            "the what-if settings (data/whatif/), shown in the output.\n"
            "\n"
            "Profile:\n"
            "      --set NAME=VALUE    a feature's value (repeatable; overrides a file's)\n"
            "      --profile FILE      a JSON object of NAME: VALUE ('-': standard input)\n"
            "      --id ID             the row with this id of FILE.csv (the reader's checks)\n"
            "What to do (one; default: the card):\n"
            "      --vary SPEC         NAME=FROM:TO[:STEP], NAME=A,B,C or NAME (every level,\n"
            "                          or an integer's whole range): p and decision per value\n"
            "      --compare           the profile options after it make a second profile,\n"
            "                          starting from the first; show both side by side\n"
            "      --reach TARGET      niva=A|B|C (nivå), grupp=1|2|3 or spar=1..4 (spår): the\n"
            "                          smallest change of changeable features that reaches it\n"
            "      --max-changes K     reach: change at most K features (default: all)\n"
            "      --alternatives N    reach: also show N other solutions (default 4)\n"
            "Output:\n"
            "      --json              JSON instead of text\n"
            "  -o, --output FILE       write to FILE (atomically) instead of standard output\n"
            "Model and rules:\n"
            "  -m, --model FILE        model (default: the bundled %s)\n"
            "  -p, --policy FILE|NAME  policy file or bundled name (krom-2020, ...)\n"
            "  -d, --date YYYY-MM-DD   the policy in force on this day (default: today)\n"
            "      --service S         %s (default) or stod_och_matchning\n"
            "      --policy-dir DIR    where --date looks (default: the bundled policies)\n"
            "  -s, --schema FILE       schema (default: the bundled one)\n"
            "      --settings FILE     what-if settings (default: data/whatif/SCHEMA.json)\n"
            "  -h, --help              show this help and exit\n"
            "  -V, --version           show version information and exit\n"
            "\n"
            "Exit status: 0 success; 1 no change reaches the --reach target; 2 usage or\n"
            "setup error, an unknown feature or a value the schema does not allow.\n",
            PF_DEFAULT_MODEL, PF_DEFAULT_SERVICE);
}

/* The options that build one profile. */
typedef struct profile_opts {
    const char *set[MAX_SETS];
    int nset;
    const char *json;
    const char *id;
} profile_opts;

static int build_profile(const char *cmd, const pf_whatif *w, const profile_opts *po,
                         const char *csv, const pf_profile *start, pf_profile **out)
{
    pf_error err = {0};
    int rc = start ? pf_profile_copy(out, start, &err) : pf_profile_new(out, w, &err);
    if (!rc && po->json) {
        json_error_t jerr;
        json_t *root = !strcmp(po->json, "-")
                           ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                           : json_load_file(po->json, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
            rc = pf_error_set(&err, PF_EINVAL, "%s:%d:%d: %s", po->json, jerr.line, jerr.column,
                              jerr.text);
        else
            rc = pf_profile_set_json(*out, root, &err);
        json_decref(root);
    }
    if (!rc && po->id) {
        if (!csv)
            rc = pf_error_set(&err, PF_EINVAL, "--id %s: name the CSV file to find it in", po->id);
        else
            rc = pf_profile_set_csv_row(*out, csv, po->id, &err);
    }
    for (int k = 0; !rc && k < po->nset; k++)
        rc = pf_profile_set_pair(*out, po->set[k], &err);
    if (!rc)
        rc = pf_profile_check(w, *out, &err);
    if (rc) {
        pf_cli_error(cmd, "%s", err.message);
        pf_profile_free(*out);
        *out = NULL;
        return PF_EXIT_USAGE;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Text                                                                       */

static const char *orblank(const char *s)
{
    return s && *s ? s : "(saknas)";
}

static void print_value(FILE *fp, const pf_whatif *w, int col, const char *v, int width)
{
    const char *label = pf_whatif_value_label(w, col, v);
    char buf[512];
    if (label)
        snprintf(buf, sizeof buf, "%s (%s)", orblank(v), label);
    else
        snprintf(buf, sizeof buf, "%s", orblank(v));
    fprintf(fp, "%s%*s", buf, width ? pf_cli_pad(buf, width) : 0, "");
}

static void print_score_line(FILE *fp, const pf_policy *pol, const pf_whatif_score *s)
{
    fprintf(fp, "p %.4f [%.4f, %.4f], grupp %d", s->d.p, s->p_lo, s->p_hi, s->d.group);
    if (s->d.level)
        fprintf(fp, ", nivå %c", s->d.level);
    if (s->d.track)
        fprintf(fp, ", spår %d", s->d.track);
    if (pf_decision_eligible(&s->d))
        fprintf(fp, ", behörig");
    else
        fprintf(fp, ", ej behörig (%s)", pol->rules[s->d.failed_rule].code);
}

static void print_origin(FILE *fp, const pf_whatif *w, const char *model_path)
{
    const pf_model *m = pf_decider_model(pf_whatif_decider(w));
    const pf_policy *pol = pf_decider_policy(pf_whatif_decider(w));
    fprintf(fp, "model:     %s (label %s, id %.16s)\n", model_path, m->label, m->sha256);
    fprintf(fp, "policy:    %s %s (%s, id %.16s)\n", pol->name, pol->version, pol->service,
            pol->sha256);
}

static void print_decision(FILE *fp, const pf_whatif *w, const pf_whatif_score *s)
{
    const pf_policy *pol = pf_decider_policy(pf_whatif_decider(w));
    const pf_decision *x = &s->d;
    fprintf(fp,
            "p:         %.4f  95 %% interval %.4f to %.4f (delta method; se of the logit "
            "%.4f)\n",
            x->p, s->p_lo, s->p_hi, s->se_logit);
    fprintf(fp, "grupp:     %d %s\n", x->group, pol->group_label[x->group - 1]);
    if (pol->has_levels)
        fprintf(fp, "nivå:      %s\n", x->level ? (char[]){x->level, 0} : "-");
    if (pol->has_tracks) {
        if (x->track)
            fprintf(fp, "spår:      %d %s\n", x->track,
                    pol->track_label[x->track - 1] ? pol->track_label[x->track - 1] : "");
        else
            fprintf(fp, "spår:      -\n");
    }
    fprintf(fp, "målgrupp:  ");
    int any = 0;
    for (size_t k = 0; k < pol->ntarget_groups; k++)
        if (x->target_groups >> k & 1) {
            fprintf(fp, "%s%s", any ? "; " : "", pol->target_groups[k].label);
            any = 1;
        }
    fprintf(fp, "%s\n", any ? "" : "-");
    if (x->area >= 0) {
        fprintf(fp, "område:    %s", pol->areas[x->area].name);
        if (x->compensation_model)
            fprintf(fp, " (ersättningsmodell %d)", x->compensation_model);
        fprintf(fp, "\n");
    } else if (pol->area_col >= 0) {
        fprintf(fp, "område:    utanför leveransområdena\n");
    }
    if (x->max_compensation == x->max_compensation)
        fprintf(fp, "ersättning: högst %.0f kr per deltagare\n", x->max_compensation);
    if (pf_decision_eligible(x))
        fprintf(fp, "behörig:   ja\n");
    else
        fprintf(fp, "behörig:   nej, %s: %s\n", pol->rules[x->failed_rule].code,
                pol->rules[x->failed_rule].reason);
}

static void print_profile(FILE *fp, const pf_whatif *w, const pf_profile *p)
{
    const pf_whatif_settings *ws = pf_whatif_settings_of(w);
    const pf_schema *s = pf_decider_model(pf_whatif_decider(w))->schema;
    fprintf(fp, "\nprofile (source: set, file or the default; status for --reach):\n");
    for (size_t k = 0; k < ws->ncols; k++) {
        int col = ws->cols[k].col;
        pf_profile_source src;
        const char *v = pf_profile_get(p, col, &src);
        fprintf(fp, "  %s%*s", s->cols[col].name, pf_cli_pad(s->cols[col].name, 30), "");
        print_value(fp, w, col, v, 44);
        fprintf(fp, " %-8s %s\n",
                src == PF_PROFILE_SET    ? "set"
                : src == PF_PROFILE_FILE ? "file"
                                         : "default",
                pf_whatif_status_name(ws->cols[k].status));
    }
}

static void print_card(FILE *fp, const pf_whatif *w, const pf_profile *p, const pf_whatif_card *c)
{
    const pf_schema *s = pf_decider_model(pf_whatif_decider(w))->schema;
    const char *id = pf_profile_get(p, s->id_col, NULL);
    if (id && *id)
        fprintf(fp, "id:        %s\n", id);
    print_decision(fp, w, &c->s);
    fprintf(fp,
            "\ncontributions to the logit (%.4f) against the average profile (%.4f), largest "
            "first:\n",
            c->s.d.logit, c->ref_logit);
    for (size_t k = 0; k < c->nfeat; k++) {
        const pf_column *col = &s->cols[c->col[k]];
        fprintf(fp, "  %s%*s %+8.4f  %s\n", col->label, pf_cli_pad(col->label, 58), "",
                c->contribution[k], pf_whatif_direction_text(c->contribution[k]));
    }
    print_profile(fp, w, p);
}

static void print_sweep(FILE *fp, const pf_whatif *w, const pf_whatif_sweep *sw)
{
    const pf_schema *s = pf_decider_model(pf_whatif_decider(w))->schema;
    const pf_policy *pol = pf_decider_policy(pf_whatif_decider(w));
    const pf_column *c = &s->cols[sw->col];
    fprintf(fp, "vary:      %s (%s); * = the profile's own value\n\n", c->name, c->label);
    char head[256];
    snprintf(head, sizeof head, "  %s", c->name);
    fprintf(fp, "%s%*s %8s  %-17s grupp %s  behörig\n", head, pf_cli_pad(head, 40), "", "p",
            "95 % interval", pol->has_tracks ? "spår" : "nivå");
    for (size_t k = 0; k < sw->n; k++) {
        const pf_whatif_score *x = &sw->score[k];
        fprintf(fp, "%c ", (long) k == sw->current ? '*' : ' ');
        print_value(fp, w, sw->col, sw->value[k], 38);
        char iv[40];
        snprintf(iv, sizeof iv, "%.4f-%.4f", x->p_lo, x->p_hi);
        fprintf(fp, " %8.4f  %-17s %5d %-4s  %s\n", x->d.p, iv, x->d.group,
                pol->has_tracks ? (x->d.track ? (char[]){(char) ('0' + x->d.track), 0} : "-")
                                : (x->d.level ? (char[]){x->d.level, 0} : "-"),
                pf_decision_eligible(&x->d) ? "ja" : pol->rules[x->d.failed_rule].code);
    }
}

static void print_compare(FILE *fp, const pf_whatif *w, const pf_profile *a, const pf_profile *b,
                          const pf_whatif_comparison *c)
{
    const pf_schema *s = pf_decider_model(pf_whatif_decider(w))->schema;
    const pf_policy *pol = pf_decider_policy(pf_whatif_decider(w));
    const pf_whatif_score *x = &c->a->s, *y = &c->b->s;
    fprintf(fp, "%-22s %-24s %-24s\n", "", "A", "B");
    char t1[64], t2[64];
    fprintf(fp, "%-22s %-24.4f %-24.4f %+.4f\n", "p", x->d.p, y->d.p, y->d.p - x->d.p);
    snprintf(t1, sizeof t1, "%.4f-%.4f", x->p_lo, x->p_hi);
    snprintf(t2, sizeof t2, "%.4f-%.4f", y->p_lo, y->p_hi);
    fprintf(fp, "%-22s %-24s %-24s\n", "95 % interval", t1, t2);
    fprintf(fp, "%-22s %-24d %-24d%s\n", "grupp", x->d.group, y->d.group,
            x->d.group != y->d.group ? " *" : "");
    if (pol->has_levels)
        fprintf(fp, "nivå%18s %-24s %-24s%s\n", "", x->d.level ? (char[]){x->d.level, 0} : "-",
                y->d.level ? (char[]){y->d.level, 0} : "-", x->d.level != y->d.level ? " *" : "");
    if (pol->has_tracks)
        fprintf(fp, "spår%18s %-24d %-24d%s\n", "", x->d.track, y->d.track,
                x->d.track != y->d.track ? " *" : "");
    snprintf(t1, sizeof t1, "%s",
             pf_decision_eligible(&x->d) ? "ja" : pol->rules[x->d.failed_rule].code);
    snprintf(t2, sizeof t2, "%s",
             pf_decision_eligible(&y->d) ? "ja" : pol->rules[y->d.failed_rule].code);
    fprintf(fp, "behörig%15s %-24s %-24s%s\n", "", t1, t2, strcmp(t1, t2) ? " *" : "");
    fprintf(fp, "\ndifferences (* marks them above too):\n");
    if (!c->ndiff)
        fprintf(fp, "  none: the profiles are the same\n");
    for (size_t k = 0; k < c->ndiff; k++) {
        int col = c->diff_col[k];
        fprintf(fp, "* %s%*s ", s->cols[col].name, pf_cli_pad(s->cols[col].name, 28), "");
        print_value(fp, w, col, pf_profile_get(a, col, NULL), 0);
        fprintf(fp, "  ->  ");
        print_value(fp, w, col, pf_profile_get(b, col, NULL), 0);
        fprintf(fp, "\n");
    }
    fprintf(fp, "\ncontributions that differ, largest difference first:\n");
    size_t nf;
    const int *fc = pf_decider_features(pf_whatif_decider(w), &nf);
    int shown = 0;
    for (int pass = 0; pass < 1; pass++) {
        /* Order by |b - a| (ties: schema order), as the JSON does. */
        double *d = calloc(nf ? nf : 1, sizeof *d), *ca = calloc(nf ? nf : 1, sizeof *ca);
        size_t *ord = calloc(nf ? nf : 1, sizeof *ord);
        if (!d || !ca || !ord) {
            free(d), free(ca), free(ord);
            break;
        }
        for (size_t k = 0; k < nf; k++) {
            double va = 0, vb = 0;
            for (size_t q = 0; q < nf; q++) {
                if (c->a->col[q] == fc[k])
                    va = c->a->contribution[q];
                if (c->b->col[q] == fc[k])
                    vb = c->b->contribution[q];
            }
            ca[k] = va;
            d[k] = vb - va;
            size_t pos = k;
            while (pos > 0 && fabs(d[ord[pos - 1]]) < fabs(d[k])) {
                ord[pos] = ord[pos - 1];
                pos--;
            }
            ord[pos] = k;
        }
        for (size_t q = 0; q < nf; q++) {
            size_t k = ord[q];
            if (d[k] == 0)
                continue;
            const pf_column *col = &s->cols[fc[k]];
            fprintf(fp, "  %s%*s %+8.4f %+8.4f  %+8.4f\n", col->label, pf_cli_pad(col->label, 50),
                    "", ca[k], ca[k] + d[k], d[k]);
            shown++;
        }
        free(d), free(ca), free(ord);
    }
    if (!shown)
        fprintf(fp, "  none\n");
}

static void print_reach(FILE *fp, const pf_whatif *w, const pf_whatif_reach *r)
{
    const pf_schema *s = pf_decider_model(pf_whatif_decider(w))->schema;
    const pf_policy *pol = pf_decider_policy(pf_whatif_decider(w));
    const pf_whatif_settings *ws = pf_whatif_settings_of(w);
    const pf_whatif_target *t = &r->target;
    fprintf(fp, "target:    ");
    if (t->kind == PF_TARGET_LEVEL)
        fprintf(fp, "nivå %c\n", t->value);
    else
        fprintf(fp, "%s %d\n", t->kind == PF_TARGET_GROUP ? "grupp" : "spår", t->value);
    fprintf(fp, "now:       ");
    print_score_line(fp, pol, &r->current);
    fprintf(fp, "\n\n");
    if (r->status == PF_REACH_ALREADY) {
        fprintf(fp, "The profile already meets the target: no change is needed.\n");
    } else if (r->status == PF_REACH_FOUND) {
        const pf_whatif_solution *b = &r->solution[0];
        fprintf(fp, "smallest change: %zu feature%s, %d step%s%s%s\n", b->nchanges,
                b->nchanges == 1 ? "" : "s", b->steps, b->steps == 1 ? "" : "s",
                r->verified ? " (verified: the changed profile scored anew meets the target)"
                            : " (NOT verified)",
                r->complete ? "" : " (search cut short by --max-profiles)");
        for (size_t q = 0; q < b->nchanges; q++) {
            const pf_whatif_change *c = &b->change[q];
            fprintf(fp, "  %s%*s ", s->cols[c->col].name, pf_cli_pad(s->cols[c->col].name, 26), "");
            print_value(fp, w, c->col, c->from, 0);
            fprintf(fp, "  ->  ");
            print_value(fp, w, c->col, c->to, 0);
            fprintf(fp, "\n");
        }
        fprintf(fp, "  gives     ");
        print_score_line(fp, pol, &b->score);
        fprintf(fp, "\n");
        if (r->nsolutions > 1)
            fprintf(fp, "\nother changes of %zu feature%s (%zu found in all):\n", b->nchanges,
                    b->nchanges == 1 ? "" : "s", r->nfound);
        for (size_t k = 1; k < r->nsolutions; k++) {
            const pf_whatif_solution *o = &r->solution[k];
            fprintf(fp, "  ");
            for (size_t q = 0; q < o->nchanges; q++)
                fprintf(fp, "%s%s %s->%s", q ? ", " : "", s->cols[o->change[q].col].name,
                        orblank(o->change[q].from), orblank(o->change[q].to));
            fprintf(fp, " (%d step%s): ", o->steps, o->steps == 1 ? "" : "s");
            print_score_line(fp, pol, &o->score);
            fprintf(fp, "\n");
        }
    } else if (r->status == PF_REACH_NONE) {
        fprintf(fp, "No change of the changeable features reaches the target.\n");
    } else {
        fprintf(fp,
                "No change of at most %d feature%s reaches the target (%zu profiles "
                "scored); raise --max-changes to search further.\n",
                r->max_changes, r->max_changes == 1 ? "" : "s", r->evaluated);
    }
    fprintf(fp, "\nsearched:  ");
    for (size_t k = 0; k < r->nsearched; k++)
        fprintf(fp, "%s%s", k ? ", " : "", s->cols[r->searched_col[k]].name);
    fprintf(fp, "%s (%zu profiles scored, up to %d changes)\n", r->nsearched ? "" : "nothing",
            r->evaluated, r->max_changes);
    fprintf(fp, "held:      ");
    int first = 1;
    for (size_t k = 0; k < ws->ncols; k++)
        if (ws->cols[k].status != PF_WHATIF_CHANGEABLE) {
            fprintf(fp, "%s%s (%s)", first ? "" : ", ", s->cols[ws->cols[k].col].name,
                    pf_whatif_status_name(ws->cols[k].status));
            first = 0;
        }
    fprintf(fp, "\n");
}

/* ------------------------------------------------------------------------ */

enum {
    O_SET = 256,
    O_PROFILE,
    O_ID,
    O_VARY,
    O_COMPARE,
    O_REACH,
    O_MAXCH,
    O_ALT,
    O_MAXPROF,
    O_JSON,
    O_SERVICE,
    O_POLICY_DIR,
    O_SETTINGS
};

int pf_cmd_whatif(int argc, char **argv)
{
    static const struct option longopts[] = {{"set", required_argument, NULL, O_SET},
                                             {"profile", required_argument, NULL, O_PROFILE},
                                             {"id", required_argument, NULL, O_ID},
                                             {"vary", required_argument, NULL, O_VARY},
                                             {"compare", no_argument, NULL, O_COMPARE},
                                             {"reach", required_argument, NULL, O_REACH},
                                             {"max-changes", required_argument, NULL, O_MAXCH},
                                             {"alternatives", required_argument, NULL, O_ALT},
                                             {"max-profiles", required_argument, NULL, O_MAXPROF},
                                             {"json", no_argument, NULL, O_JSON},
                                             {"output", required_argument, NULL, 'o'},
                                             {"model", required_argument, NULL, 'm'},
                                             {"policy", required_argument, NULL, 'p'},
                                             {"date", required_argument, NULL, 'd'},
                                             {"service", required_argument, NULL, O_SERVICE},
                                             {"policy-dir", required_argument, NULL, O_POLICY_DIR},
                                             {"schema", required_argument, NULL, 's'},
                                             {"settings", required_argument, NULL, O_SETTINGS},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "whatif";
    profile_opts po[2];
    memset(po, 0, sizeof po);
    int cur = 0, json = 0;
    const char *vary = NULL, *reach = NULL, *output = "-", *model_path = NULL, *schema_path = NULL,
               *settings_path = NULL;
    pf_cli_policy_choice pc = {0};
    pf_whatif_reach_options ro = {0};
    long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:m:p:d:s:hV", longopts, NULL)) != -1) {
        switch (c) {
        case O_SET:
            if (po[cur].nset == MAX_SETS)
                return pf_cli_usage_error(cmd, "at most %d --set options", MAX_SETS);
            po[cur].set[po[cur].nset++] = optarg;
            break;
        case O_PROFILE:
            if (po[cur].json || po[cur].id)
                return pf_cli_usage_error(cmd, "conflicting sources: one --profile or --id per "
                                               "profile");
            po[cur].json = optarg;
            break;
        case O_ID:
            if (po[cur].json || po[cur].id)
                return pf_cli_usage_error(cmd, "conflicting sources: one --profile or --id per "
                                               "profile");
            po[cur].id = optarg;
            break;
        case O_VARY:
            if (vary)
                return pf_cli_usage_error(cmd, "one --vary at a time");
            vary = optarg;
            break;
        case O_COMPARE:
            if (cur)
                return pf_cli_usage_error(cmd, "--compare is given once");
            cur = 1;
            break;
        case O_REACH:
            reach = optarg;
            break;
        case O_MAXCH:
            if (pf_cli_parse_count(optarg, &v) || v < 1 || v > 16)
                return pf_cli_usage_error(cmd, "--max-changes takes 1 to 16");
            ro.max_changes = (int) v;
            break;
        case O_ALT:
            if (pf_cli_parse_count(optarg, &v) || v > 100)
                return pf_cli_usage_error(cmd, "--alternatives takes 0 to 100");
            ro.alternatives = v ? (int) v : -1;
            break;
        case O_MAXPROF:
            if (pf_cli_parse_count(optarg, &v) || v < 1)
                return pf_cli_usage_error(cmd, "--max-profiles takes a positive count");
            ro.max_profiles = (size_t) v;
            break;
        case O_JSON:
            json = 1;
            break;
        case 'o':
            output = optarg;
            break;
        case 'm':
            model_path = optarg;
            break;
        case 'p':
            pc.policy = optarg;
            break;
        case 'd':
            pc.date = optarg;
            break;
        case O_SERVICE:
            pc.service = optarg;
            break;
        case O_POLICY_DIR:
            pc.dir = optarg;
            break;
        case 's':
            schema_path = optarg;
            break;
        case O_SETTINGS:
            settings_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return PF_EXIT_OK;
        case 'V':
            pf_cli_print_version(stdout);
            return PF_EXIT_OK;
        default:
            return pf_cli_usage_error(cmd, "unknown option");
        }
    }
    if ((vary != NULL) + (reach != NULL) + cur > 1)
        return pf_cli_usage_error(cmd, "--vary, --compare and --reach are separate questions: "
                                       "ask one");
    if (optind < argc - 1)
        return pf_cli_usage_error(cmd, "one CSV file at most (for --id)");
    const char *csv = optind < argc ? argv[optind] : NULL;
    if (csv && !po[0].id && !po[1].id)
        return pf_cli_usage_error(cmd, "%s: a CSV file is read for --id ID", csv);
    if (po[0].json && po[1].json && !strcmp(po[0].json, "-") && !strcmp(po[1].json, "-"))
        return pf_cli_usage_error(cmd, "standard input can be read once");

    pf_schema *s = NULL;
    pf_model *m = NULL;
    pf_policy *pol = NULL;
    pf_decider *d = NULL;
    pf_whatif_settings *ws = NULL;
    pf_whatif *w = NULL;
    pf_profile *pa = NULL, *pb = NULL;
    json_t *out = NULL;
    char *text = NULL;
    size_t textlen = 0;
    FILE *fp = NULL;
    pf_error err = {0};
    int rc = pf_cli_load_schema(cmd, schema_path, &s);
    if (!rc)
        rc = pf_cli_load_model(cmd, model_path, s, &m);
    if (!rc)
        rc = pf_cli_load_policy(cmd, &pc, s, &pol);
    if (!rc && pf_decider_new(&d, m, pol, NULL, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        rc = PF_EXIT_USAGE;
    }
    if (!rc) {
        char buf[4096], rel[512];
        if (!settings_path) {
            snprintf(rel, sizeof rel, "whatif/%s.json", s->name);
            settings_path = pf_cli_data_path(buf, sizeof buf, rel);
        }
        if (pf_whatif_settings_load(&ws, settings_path, s, &err) ||
            pf_whatif_new(&w, d, ws, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            rc = PF_EXIT_USAGE;
        }
    }
    if (!rc)
        rc = build_profile(cmd, w, &po[0], csv, NULL, &pa);
    if (!rc && cur)
        rc = build_profile(cmd, w, &po[1], csv, pa, &pb);
    if (rc)
        goto done;

    char model_buf[4096];
    const char *mp =
        model_path ? model_path : pf_cli_data_path(model_buf, sizeof model_buf, PF_DEFAULT_MODEL);
    if (!(fp = open_memstream(&text, &textlen))) {
        pf_cli_error(cmd, "out of memory");
        rc = PF_EXIT_FAIL;
        goto done;
    }
    int status = PF_EXIT_OK;
    if (vary) {
        pf_whatif_sweep *sw = NULL;
        if (pf_whatif_vary(&sw, w, pa, vary, &err)) {
            pf_cli_error(cmd, "--vary %s: %s", vary, err.message);
            rc = PF_EXIT_USAGE;
            goto done;
        }
        if (json)
            out = pf_whatif_sweep_json(w, pa, sw);
        else {
            print_origin(fp, w, mp);
            print_sweep(fp, w, sw);
        }
        pf_whatif_sweep_free(sw);
    } else if (cur) {
        pf_whatif_comparison *cmp = NULL;
        if (pf_whatif_compare(&cmp, w, pa, pb, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            rc = PF_EXIT_USAGE;
            goto done;
        }
        if (json)
            out = pf_whatif_comparison_json(w, pa, pb, cmp);
        else {
            print_origin(fp, w, mp);
            fprintf(fp, "\n");
            print_compare(fp, w, pa, pb, cmp);
        }
        pf_whatif_comparison_free(cmp);
    } else if (reach) {
        pf_whatif_target t;
        pf_whatif_reach *r = NULL;
        if (pf_whatif_target_parse(&t, pol, reach, &err)) {
            rc = pf_cli_usage_error(cmd, "--reach: %s", err.message);
            goto done;
        }
        if (pf_whatif_reach_run(&r, w, pa, &t, &ro, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            rc = err.status == PF_ENOMEM ? PF_EXIT_FAIL : PF_EXIT_USAGE;
            goto done;
        }
        if (json)
            out = pf_whatif_reach_json(w, pa, r);
        else {
            print_origin(fp, w, mp);
            print_reach(fp, w, r);
        }
        if (r->status == PF_REACH_NONE || r->status == PF_REACH_LIMIT)
            status = PF_EXIT_FAIL;
        pf_whatif_reach_free(r);
    } else {
        pf_whatif_card *card = NULL;
        if (pf_whatif_card_new(&card, w, pa, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            rc = PF_EXIT_USAGE;
            goto done;
        }
        if (json)
            out = pf_whatif_card_json(w, pa, card);
        else {
            print_origin(fp, w, mp);
            print_card(fp, w, pa, card);
        }
        pf_whatif_card_free(card);
    }
    if (json) {
        char *js = out ? json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (!js) {
            pf_cli_error(cmd, "out of memory");
            rc = PF_EXIT_FAIL;
            goto done;
        }
        fprintf(fp, "%s\n", js);
        free(js);
    }
    if (fclose(fp)) {
        fp = NULL;
        pf_cli_error(cmd, "out of memory");
        rc = PF_EXIT_FAIL;
        goto done;
    }
    fp = NULL;
    if (!strcmp(output, "-")) {
        if (fwrite(text, 1, textlen, stdout) != textlen || fflush(stdout)) {
            pf_cli_error(cmd, "writing standard output failed");
            rc = PF_EXIT_FAIL;
        }
    } else {
        pf_outfile *o = NULL;
        if (pf_outfile_open(&o, output, &err) ||
            (pf_outfile_write(o, text, textlen), pf_outfile_commit(o, &err))) {
            pf_cli_error(cmd, "%s", err.message);
            rc = PF_EXIT_FAIL;
        }
    }
    if (!rc)
        rc = status;
done:
    if (fp)
        fclose(fp);
    free(text);
    json_decref(out);
    pf_profile_free(pa);
    pf_profile_free(pb);
    pf_whatif_free(w);
    pf_whatif_settings_free(ws);
    pf_decider_free(d);
    pf_policy_free(pol);
    pf_model_free(m);
    pf_schema_free(s);
    return rc;
}
