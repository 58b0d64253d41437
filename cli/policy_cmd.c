/*
 * policy_cmd.c - `profil policy`: list the bundled (or a directory's)
 * policies with their dates, show the one in force on a day, and check
 * policy files before they are put to use.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "profil/policy.h"
#include "profil/schema.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil policy list [--policy-dir DIR]\n"
            "       profil policy show [--policy FILE|NAME | --date YYYY-MM-DD [--service S]]\n"
            "       profil policy check [--policy-dir DIR] [FILE...]\n"
            "\n"
            "Policies are the dated rules that turn a probability into decision support:\n"
            "groups, levels or tracks, target groups, delivery areas, compensation and\n"
            "eligibility (docs/policies.md).\n"
            "\n"
            "  list    every policy in DIR (default: the bundled data/policies) with its\n"
            "          service, dates and id\n"
            "  show    the rules of one policy: by file or bundled name, or the one in\n"
            "          force on a date (default today) for a service (default %s)\n"
            "  check   load each FILE strictly (and DIR as a set: no overlapping dates);\n"
            "          exit 1 when one fails\n"
            "\n"
            "Options:\n"
            "  -p, --policy P     a policy file, or the name of a bundled policy\n"
            "  -d, --date D       the day whose policy is wanted (YYYY-MM-DD)\n"
            "      --service S    rusta_och_matcha or stod_och_matchning\n"
            "      --policy-dir DIR  a directory of policy files (also --dir)\n"
            "  -s, --schema FILE  schema the policies refer to (default: bundled)\n"
            "  -h, --help         show this help and exit\n",
            PF_DEFAULT_SERVICE);
}

static void print_clause(const pf_schema *s, const pf_clause *c)
{
    for (size_t k = 0; k < c->n; k++) {
        const pf_condition *x = &c->cond[k];
        const pf_column *col = &s->cols[x->col];
        printf("%s%s", k ? " and " : "", col->name);
        if (x->is_range) {
            if (isfinite(x->min) && isfinite(x->max))
                printf(" %g-%g", x->min, x->max);
            else if (isfinite(x->min))
                printf(" >= %g", x->min);
            else
                printf(" <= %g", x->max);
            continue;
        }
        printf(" in {");
        int first = 1;
        for (size_t l = 0; l < col->nlevels; l++)
            if (x->in[l / 64] >> (l % 64) & 1) {
                printf("%s%s", first ? "" : ", ", col->levels[l].code);
                first = 0;
            }
        printf("}");
    }
}

static void print_groups(uint8_t g)
{
    for (int k = 0; k < 3; k++)
        if (g >> k & 1)
            printf(" %d", k + 1);
}

static void show(const pf_policy *p)
{
    const pf_schema *s = p->schema;
    char from[11], to[11];
    pf_day_format(p->valid_from, from);
    pf_day_format(p->valid_to, to);
    printf("policy:    %s %s: %s\n", p->name, p->version, p->title);
    printf("service:   %s, in force %s to %s\n", p->service, from, to);
    printf("file:      %s\n", p->path);
    printf("id:        %s\n", p->sha256);
    printf("\ngroups on p (probability of work or studies):\n");
    printf("  1 %s%*s p >= %g\n", p->group_label[0], pf_cli_pad(p->group_label[0], 40), "",
           p->close_min);
    printf("  2 %s%*s %g <= p < %g\n", p->group_label[1], pf_cli_pad(p->group_label[1], 40), "",
           p->far_below, p->close_min);
    printf("  3 %s%*s p < %g\n", p->group_label[2], pf_cli_pad(p->group_label[2], 40), "",
           p->far_below);
    if (p->has_levels) {
        printf("\nlevels, for groups");
        print_groups(p->level_groups);
        printf(":\n  A  p >= %g\n  B  %g <= p < %g\n  C  p < %g\n", p->level_a_min, p->level_b_min,
               p->level_a_min, p->level_b_min);
    }
    if (p->has_tracks) {
        printf("\ntracks (spår), for groups");
        print_groups(p->track_groups);
        printf(": enhanced when p < %g; language support when ", p->enhanced_below);
        print_clause(s, &p->language_support);
        printf("\n");
        for (int t = 0; t < 4; t++)
            printf("  %d  %s\n", t + 1, p->track_label[t]);
    }
    printf("\ntarget groups (målgrupper):\n");
    for (size_t k = 0; k < p->ntarget_groups; k++) {
        printf("  %-28s ", p->target_groups[k].code);
        print_clause(s, &p->target_groups[k].when);
        printf("\n");
    }
    if (p->area_col >= 0) {
        printf("\ndelivery areas (by %s):\n", s->cols[p->area_col].name);
        for (size_t a = 0; a < p->nareas; a++) {
            size_t n = 0;
            for (size_t l = 0; l < s->cols[p->area_col].nlevels; l++)
                n += p->area_of_level[l] == (int16_t) a;
            printf("  %s%*s compensation model %d, %zu municipalities\n", p->areas[a].name,
                   pf_cli_pad(p->areas[a].name, 14), "", p->areas[a].compensation_model, n);
        }
    } else {
        printf("\ndelivery areas: none (the whole country)\n");
    }
    printf("\ncompensation (kr; per %s = %g days, maximum = %g %ss + result):\n",
           p->compensation_unit, p->days_per_unit, p->units_in_maximum, p->compensation_unit);
    printf("  %-8s %5s %8s %9s %11s %13s %13s\n", "", "model", "per day", "per unit", "max result",
           "speed premium", "max/particip.");
    for (size_t k = 0; k < p->ncompensation; k++) {
        const pf_compensation *c = &p->compensation[k];
        char what[16], model[8] = "-", premium[32] = "-";
        if (c->level)
            snprintf(what, sizeof what, "nivå %c", c->level);
        else
            snprintf(what, sizeof what, "spår %d", c->track);
        if (c->model)
            snprintf(model, sizeof model, "%d", c->model);
        if (!isnan(c->speed_premium))
            snprintf(premium, sizeof premium, "%g", c->speed_premium);
        printf("  %-8s %5s %8g %9g %11g %13s %13g\n", what, model, c->per_day, c->per_unit,
               c->max_result, premium, c->max_per_participant);
    }
    printf("\neligibility, checked in order:\n");
    for (size_t k = 0; k < p->nrules; k++) {
        const pf_policy_rule *r = &p->rules[k];
        printf("  %zu. %-24s ", k + 1, r->code);
        if (r->kind == PF_POLICY_RULE_AREA)
            printf("lives in a delivery area");
        else if (r->kind == PF_POLICY_RULE_GROUP) {
            printf("group in");
            print_groups(r->groups);
        } else
            print_clause(s, &r->when);
        printf("\n     otherwise: %s\n", r->reason);
    }
}

int pf_cmd_policy(int argc, char **argv)
{
    static const struct option longopts[] = {{"policy", required_argument, NULL, 'p'},
                                             {"date", required_argument, NULL, 'd'},
                                             {"service", required_argument, NULL, 'S'},
                                             {"policy-dir", required_argument, NULL, 'D'},
                                             {"dir", required_argument, NULL, 'D'},
                                             {"schema", required_argument, NULL, 's'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *cmd = "policy";
    const char *schema_path = NULL;
    pf_cli_policy_choice choice = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:d:s:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            choice.policy = optarg;
            break;
        case 'd':
            choice.date = optarg;
            break;
        case 'S':
            choice.service = optarg;
            break;
        case 'D':
            choice.dir = optarg;
            break;
        case 's':
            schema_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return PF_EXIT_OK;
        case 'V':
            pf_cli_print_version(stdout);
            return PF_EXIT_OK;
        default:
            return pf_cli_usage_error(cmd, "invalid option");
        }
    }
    if (optind >= argc)
        return pf_cli_usage_error(cmd, "expected an action: list, show or check");
    const char *action = argv[optind++];
    pf_schema *s = NULL;
    pf_error err = {0};
    int rc = PF_EXIT_USAGE;
    if (strcmp(action, "list") && strcmp(action, "show") && strcmp(action, "check"))
        return pf_cli_usage_error(cmd, "unknown action '%s': list, show or check", action);
    if (strcmp(action, "check") && optind < argc)
        return pf_cli_usage_error(cmd, "'%s' takes no file arguments", action);
    if (pf_cli_load_schema(cmd, schema_path, &s))
        return PF_EXIT_USAGE;
    char buf[4096];
    const char *dir =
        choice.dir ? choice.dir : pf_cli_data_path(buf, sizeof buf, PF_DEFAULT_POLICY_DIR);
    if (!strcmp(action, "list")) {
        pf_policy_set *set;
        if (pf_policy_set_load(&set, dir, s, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            rc = PF_EXIT_FAIL;
        } else {
            printf("%-16s %-20s %-10s %-10s %-16s %s\n", "name", "service", "from", "to", "id",
                   "title");
            for (size_t k = 0; k < set->n; k++) {
                const pf_policy *p = set->policy[k];
                char from[11], to[11];
                pf_day_format(p->valid_from, from);
                pf_day_format(p->valid_to, to);
                printf("%-16s %-20s %-10s %-10s %.16s %s\n", p->name, p->service, from, to,
                       p->sha256, p->title);
            }
            pf_policy_set_free(set);
            rc = PF_EXIT_OK;
        }
    } else if (!strcmp(action, "show")) {
        pf_policy *p;
        if (!(rc = pf_cli_load_policy(cmd, &choice, s, &p))) {
            show(p);
            pf_policy_free(p);
        }
    } else {
        rc = PF_EXIT_OK;
        for (int k = optind; k < argc; k++) {
            pf_policy *p;
            if (pf_policy_load(&p, argv[k], s, &err)) {
                printf("FAIL %s\n", err.message);
                rc = PF_EXIT_FAIL;
            } else {
                printf("ok   %s (%s, id %.16s)\n", argv[k], p->name, p->sha256);
                pf_policy_free(p);
            }
        }
        if (optind == argc || choice.dir) {
            pf_policy_set *set;
            if (pf_policy_set_load(&set, dir, s, &err)) {
                printf("FAIL %s\n", err.message);
                rc = PF_EXIT_FAIL;
            } else {
                printf("ok   %s (%zu policies, no overlapping dates)\n", dir, set->n);
                pf_policy_set_free(set);
            }
        }
    }
    pf_schema_free(s);
    return rc;
}
