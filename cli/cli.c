/*
 * cli.c - shared helpers of the `profil` subcommands (see cli.h).
 */
#include "cli.h"

#include <csv.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "profil/csvout.h"
#include "profil/model.h"
#include "profil/outfile.h"
#include "profil/reader.h"
#include "profil/policy.h"
#include "profil/schema.h"

void pf_cli_print_version(FILE *fp)
{
    fprintf(fp, "profil %s\n", PROFIL_VERSION);
    fprintf(fp, "libcsv %d.%d.%d, zlib %s, jansson %s\n", CSV_MAJOR, CSV_MINOR, CSV_RELEASE,
            zlibVersion(), JANSSON_VERSION);
    fprintf(fp, "data: %s\n", pf_cli_datadir());
}

void pf_cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "profil %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void pf_cli_input_error(const char *cmd, const char *input, const char *message)
{
    const char *name = strcmp(input, "-") ? input : "standard input";
    size_t n = strlen(input);
    if (!strncmp(message, input, n) && message[n] == ':')
        pf_cli_error(cmd, "%s", message);
    else
        pf_cli_error(cmd, "%s: %s", name, message);
}

int pf_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "profil %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'profil %s --help'.\n", cmd);
    return PF_EXIT_USAGE;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *pf_cli_datadir(void)
{
    const char *env = getenv("PROFIL_DATA");
    if (env && *env)
        return env;
    if (is_dir(PROFIL_DATADIR_INSTALLED "/schema"))
        return PROFIL_DATADIR_INSTALLED;
    return PROFIL_DATADIR_SOURCE;
}

const char *pf_cli_data_path(char *buf, size_t n, const char *relative)
{
    snprintf(buf, n, "%s/%s", pf_cli_datadir(), relative);
    return buf;
}

int pf_cli_load_schema(const char *cmd, const char *path, pf_schema **out)
{
    char buf[4096];
    pf_error err = {0};
    if (!path)
        path = pf_cli_data_path(buf, sizeof buf, PF_DEFAULT_SCHEMA);
    if (pf_schema_load(out, path, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        return PF_EXIT_USAGE;
    }
    return 0;
}

int pf_cli_parse_count(const char *s, long long *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= 0) || v > 9e15 || v != floor(v))
        return -1;
    *out = (long long) v;
    return 0;
}

int pf_cli_parse_threads(const char *cmd, const char *s, int *out)
{
    long long v;
    if (pf_cli_parse_count(s, &v) || v < 1 || v > 256)
        return pf_cli_usage_error(cmd, "--threads takes 1 to 256");
    *out = (int) v;
    return 0;
}

int pf_cli_load_model(const char *cmd, const char *path, const pf_schema *s, pf_model **out)
{
    char buf[4096];
    pf_error err = {0};
    if (!path)
        path = pf_cli_data_path(buf, sizeof buf, PF_DEFAULT_MODEL);
    if (pf_model_load(out, path, s, &err)) {
        pf_cli_error(cmd, "%s", err.message);
        return PF_EXIT_USAGE;
    }
    return 0;
}

/* A bare name ("krom-2020") means a bundled policy file. */
static const char *policy_path(char *buf, size_t n, const char *arg)
{
    if (strchr(arg, '/') || strstr(arg, ".json"))
        return arg;
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s.json", PF_DEFAULT_POLICY_DIR, arg);
    return pf_cli_data_path(buf, n, rel);
}

int pf_cli_load_policy(const char *cmd, const pf_cli_policy_choice *c, const pf_schema *s,
                       pf_policy **out)
{
    char buf[4096];
    pf_error err = {0};
    *out = NULL;
    if (c->policy) {
        if (c->date || c->service)
            return pf_cli_usage_error(cmd, "--policy names the policy: leave out --date and "
                                           "--service");
        if (pf_policy_load(out, policy_path(buf, sizeof buf, c->policy), s, &err)) {
            pf_cli_error(cmd, "%s", err.message);
            return PF_EXIT_USAGE;
        }
        return 0;
    }
    pf_day day;
    if (c->date) {
        if (pf_day_parse(c->date, &day))
            return pf_cli_usage_error(cmd, "--date takes a day YYYY-MM-DD, not '%s'", c->date);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        day = pf_day_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    }
    const char *dir = c->dir ? c->dir : pf_cli_data_path(buf, sizeof buf, PF_DEFAULT_POLICY_DIR);
    pf_policy_set *set = NULL;
    const pf_policy *chosen = NULL;
    int rc = pf_policy_set_load(&set, dir, s, &err);
    if (!rc)
        rc = pf_policy_set_select(set, c->service ? c->service : PF_DEFAULT_SERVICE, day, &chosen,
                                  &err);
    if (!rc)
        *out = pf_policy_set_take(set, chosen); /* the caller owns one policy, not the set */
    pf_policy_set_free(set);
    if (rc) {
        pf_cli_error(cmd, "%s", err.message);
        return PF_EXIT_USAGE;
    }
    return 0;
}

int pf_cli_write_problem(pf_outfile *o, const pf_problem *p)
{
    int rc = pf_outfile_printf(o, "%lld,%lld,", (long long) p->row, (long long) p->line);
    rc |= pf_csv_put_str(o, p->id, ',');
    rc |= pf_outfile_write(o, ",", 1);
    rc |= pf_csv_put_str(o, p->column, ',');
    rc |= pf_outfile_printf(o, ",%s,", pf_rule_name(p->rule));
    rc |= pf_csv_put_str(o, p->value, ',');
    rc |= pf_outfile_write(o, ",", 1);
    rc |= pf_csv_put_str(o, p->message, ',');
    rc |= pf_outfile_write(o, "\n", 1);
    return rc ? -1 : 0;
}

void pf_cli_problem_text(char *buf, size_t n, const pf_problem *p)
{
    snprintf(buf, n, "row %lld (line %lld), %s: %s '%s': %s", (long long) p->row,
             (long long) p->line, p->column ? p->column : "whole row", pf_rule_name(p->rule),
             p->value, p->message);
}

char *pf_cli_sibling_path(const char *path, const char *suffix)
{
    size_t n = strlen(path);
    char *out = malloc(n + strlen(suffix) + 1);
    if (!out)
        return NULL;
    memcpy(out, path, n + 1);
    static const char *const ext[] = {".csv.gz", ".jsonl.gz", ".gz", ".csv", ".jsonl", ".txt"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t m = strlen(ext[i]);
        if (n > m && strcmp(out + n - m, ext[i]) == 0) {
            out[n - m] = '\0';
            break;
        }
    }
    strcat(out, suffix);
    return out;
}

int pf_cli_pad(const char *s, int width)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char) *s & 0xC0) != 0x80; /* count lead bytes only */
    return n < width ? width - n : 0;
}
