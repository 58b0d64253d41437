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
#include <zlib.h>

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
