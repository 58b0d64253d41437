/*
 * csvout.c - minimal RFC 4180 field writer (see csvout.h).
 */
#include "profil/csvout.h"

#include <string.h>

int pf_csv_needs_quotes(const char *s, size_t n, char delimiter)
{
    return n && (memchr(s, delimiter, n) || memchr(s, '"', n) || memchr(s, '\n', n) ||
                 memchr(s, '\r', n));
}

int pf_csv_put_field(pf_outfile *o, const char *s, size_t n, char delimiter)
{
    if (!pf_csv_needs_quotes(s, n, delimiter))
        return pf_outfile_write(o, s, n);
    int rc = pf_outfile_write(o, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if (s[i] == '"') {
            rc = pf_outfile_write(o, s + start, i + 1 - start); /* through the quote */
            if (!rc)
                rc = pf_outfile_write(o, "\"", 1);
            start = i + 1;
        }
    if (!rc)
        rc = pf_outfile_write(o, s + start, n - start);
    return rc ? rc : pf_outfile_write(o, "\"", 1);
}

int pf_csv_put_str(pf_outfile *o, const char *s, char delimiter)
{
    return s ? pf_csv_put_field(o, s, strlen(s), delimiter) : 0;
}
