/*
 * evaltab.c - evaluation tables as JSON rows and as CSV (see evaltab.h).
 */
#include "evaltab.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "profil/csvout.h"

int pf_evaltab_init(pf_evaltab *t, const char *name, const char *const *columns, pf_error *err)
{
    t->name = name;
    t->columns = columns;
    t->rows = json_array();
    return t->rows ? 0 : pf_error_set(err, PF_ENOMEM, "out of memory");
}

int pf_evaltab_add(pf_evaltab *t, json_t *row, pf_error *err)
{
    if (!row || json_array_append_new(t->rows, row))
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    return 0;
}

json_t *pf_evaltab_real(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *pf_evaltab_ratio(double num, double den)
{
    return den > 0 ? json_real(num / den) : json_null();
}

/* Appends text to the file and the hash. */
static void put(pf_outfile *o, pf_sha256 *hash, const char *s, size_t n)
{
    pf_outfile_write(o, s, n);
    pf_sha256_update(hash, s, n);
}

static void put_value(pf_outfile *o, pf_sha256 *hash, const json_t *v)
{
    char buf[64];
    int n = 0;
    if (json_is_integer(v))
        n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        n = snprintf(buf, sizeof buf, "%.10g", json_real_value(v));
    else if (json_is_true(v) || json_is_false(v))
        n = snprintf(buf, sizeof buf, "%d", json_is_true(v));
    else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (!pf_csv_needs_quotes(s, len, ',')) {
            put(o, hash, s, len);
            return;
        }
        put(o, hash, "\"", 1);
        for (size_t i = 0; i < len; i++) {
            put(o, hash, s + i, 1);
            if (s[i] == '"')
                put(o, hash, "\"", 1); /* a quote is doubled */
        }
        put(o, hash, "\"", 1);
        return;
    }
    if (n > 0)
        put(o, hash, buf, (size_t) n);
}

int pf_evaltab_write_csv(const pf_evaltab *t, pf_outfile *o, pf_sha256 *hash)
{
    for (size_t c = 0; t->columns[c]; c++) {
        if (c)
            put(o, hash, ",", 1);
        put(o, hash, t->columns[c], strlen(t->columns[c]));
    }
    put(o, hash, "\n", 1);
    size_t i;
    json_t *row;
    json_array_foreach(t->rows, i, row)
    {
        for (size_t c = 0; t->columns[c]; c++) {
            if (c)
                put(o, hash, ",", 1);
            put_value(o, hash, json_object_get(row, t->columns[c]));
        }
        put(o, hash, "\n", 1);
    }
    return 0;
}
