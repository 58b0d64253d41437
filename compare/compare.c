/*
 * compare.c - two decision files compared row by row (see compare.h).
 *
 * Both files are read once, in step, record by record; memory is two
 * records. The first difference is described by column: for CSV the
 * header names the field, for JSON lines the key.
 */
#include "compare.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/outfile.h"
#include "profil/records.h"

#define MAX_FIELDS 1024
#define SHOW_BYTES 120

/* A value as shown in a message: control characters as '?', cut at
 * SHOW_BYTES. */
static void shown(char *out, size_t cap, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w + 4 < cap && i < SHOW_BYTES; i++)
        out[w++] = (unsigned char) s[i] < 0x20 ? '?' : s[i];
    if (n > SHOW_BYTES && w + 4 < cap) {
        memcpy(out + w, "...", 3);
        w += 3;
    }
    out[w] = 0;
}

typedef struct csv_row {
    size_t n;
    size_t start[MAX_FIELDS], len[MAX_FIELDS];
} csv_row;

static void field(const char *rec, const csv_row *r, size_t k, char *out, size_t cap)
{
    char tmp[4 * SHOW_BYTES];
    if (k >= r->n || k >= MAX_FIELDS) {
        snprintf(out, cap, "(no field)");
        return;
    }
    size_t n = pf_csv_unquote(rec + r->start[k], r->len[k], tmp, sizeof tmp);
    shown(out, cap, tmp, n);
}

static void describe_csv(pf_compare_result *res, int64_t row, const char *hdr, const csv_row *h,
                         const char *a, size_t an, const char *b, size_t bn)
{
    static csv_row ra, rb; /* large: not on the stack */
    ra.n = pf_csv_split(a, an, ',', ra.start, ra.len, MAX_FIELDS);
    rb.n = pf_csv_split(b, bn, ',', rb.start, rb.len, MAX_FIELDS);
    size_t k = 0, lim = ra.n < rb.n ? ra.n : rb.n;
    for (; k < lim && k < MAX_FIELDS; k++)
        if (ra.len[k] != rb.len[k] || memcmp(a + ra.start[k], b + rb.start[k], ra.len[k]))
            break;
    char id[160], col[160], va[160], vb[160];
    field(a, &ra, 0, id, sizeof id);
    if (row == 0) {
        field(a, &ra, k, va, sizeof va);
        field(b, &rb, k, vb, sizeof vb);
        snprintf(res->first, sizeof res->first, "header, column %zu: was '%s', now '%s'", k + 1, va,
                 vb);
        return;
    }
    if (k == lim && ra.n != rb.n) {
        snprintf(res->first, sizeof res->first, "row %lld (id %s): %zu fields, was %zu",
                 (long long) row, id, rb.n, ra.n);
        return;
    }
    field(hdr, h, k, col, sizeof col);
    field(a, &ra, k, va, sizeof va);
    field(b, &rb, k, vb, sizeof vb);
    snprintf(res->first, sizeof res->first, "row %lld (id %s), column %s: was '%s', now '%s'",
             (long long) row, id, col, va, vb);
}

static void dump_value(char *out, size_t cap, const json_t *v)
{
    if (!v) {
        snprintf(out, cap, "(absent)");
        return;
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    shown(out, cap, s ? s : "?", s ? strlen(s) : 1);
    free(s);
}

static void describe_json(pf_compare_result *res, int64_t row, const char *a, size_t an,
                          const char *b, size_t bn)
{
    json_t *ja = json_loadb(a, an, 0, NULL), *jb = json_loadb(b, bn, 0, NULL);
    if (!json_is_object(ja) || !json_is_object(jb)) {
        snprintf(res->first, sizeof res->first, "row %lld: %s is not a JSON object",
                 (long long) row, json_is_object(ja) ? "the new line" : "the old line");
        goto out;
    }
    const char *id = json_string_value(json_object_get(ja, "id"));
    char sid[160], va[160], vb[160];
    shown(sid, sizeof sid, id ? id : "?", id ? strlen(id) : 1);
    const char *key;
    json_t *v;
    json_object_foreach(ja, key, v)
    {
        json_t *w = json_object_get(jb, key);
        if (!w || !json_equal(v, w)) {
            dump_value(va, sizeof va, v);
            dump_value(vb, sizeof vb, w);
            snprintf(res->first, sizeof res->first, "row %lld (id %s), key %s: was %s, now %s",
                     (long long) row, sid, key, va, vb);
            goto out;
        }
    }
    json_object_foreach(jb, key, v) if (!json_object_get(ja, key))
    {
        dump_value(vb, sizeof vb, v);
        snprintf(res->first, sizeof res->first, "row %lld (id %s), key %s: absent, now %s",
                 (long long) row, sid, key, vb);
        goto out;
    }
    snprintf(res->first, sizeof res->first,
             "row %lld (id %s): the same values, written differently", (long long) row, sid);
out:
    json_decref(ja);
    json_decref(jb);
}

int pf_compare_outputs(const char *old_path, const char *new_path, int mode, pf_compare_result *res,
                       pf_error *err)
{
    memset(res, 0, sizeof *res);
    res->first_row = -1;
    pf_records *ra = NULL, *rb = NULL;
    char *hdr = NULL;
    static csv_row h;
    int rc = pf_records_open(&ra, old_path, mode, err);
    if (!rc)
        rc = pf_records_open(&rb, new_path, mode, err);
    int64_t row = mode == PF_RECORDS_CSV ? -1 : 0; /* the CSV header is record 1 */
    while (!rc) {
        const char *a = NULL, *b = NULL;
        size_t an = 0, bn = 0;
        int ga = pf_records_next(ra, &a, &an, err);
        if (ga < 0) {
            rc = ga;
            break;
        }
        int gb = pf_records_next(rb, &b, &bn, err);
        if (gb < 0) {
            rc = gb;
            break;
        }
        if (!ga && !gb)
            break;
        row++;
        if (row == 0 && ga) { /* keep the old header to name columns */
            if (!(hdr = malloc(an + 1))) {
                rc = pf_error_set(err, PF_ENOMEM, "out of memory");
                break;
            }
            memcpy(hdr, a, an);
            hdr[an] = 0;
            h.n = pf_csv_split(hdr, an, ',', h.start, h.len, MAX_FIELDS);
        }
        if (ga && gb && an == bn && !memcmp(a, b, an))
            continue;
        if (row == 0)
            res->header_differs = 1;
        else
            res->ndiffer++;
        if (res->first_row >= 0)
            continue;
        res->first_row = row;
        if (!ga || !gb) {
            snprintf(res->first, sizeof res->first, "row %lld: only in the %s output",
                     (long long) row, ga ? "old" : "new");
        } else if (mode == PF_RECORDS_CSV) {
            describe_csv(res, row, hdr ? hdr : "", &h, a, an, b, bn);
        } else {
            describe_json(res, row, a, an, b, bn);
        }
    }
    if (!rc) {
        int64_t skip = mode == PF_RECORDS_CSV;
        res->old_rows = pf_records_count(ra) - skip;
        res->new_rows = pf_records_count(rb) - skip;
        if (res->old_rows < 0)
            res->old_rows = 0;
        if (res->new_rows < 0)
            res->new_rows = 0;
        pf_records_sha256(ra, res->old_sha256);
    }
    free(hdr);
    pf_records_close(ra);
    pf_records_close(rb);
    return rc;
}

int pf_compare_text_sha256(const char *path, int mode, char hex[PF_SHA256_HEX], pf_error *err)
{
    pf_records *r;
    int rc = pf_records_open(&r, path, mode, err);
    const char *rec;
    size_t n;
    if (!rc)
        while ((rc = pf_records_next(r, &rec, &n, err)) > 0)
            ;
    if (!rc)
        pf_records_sha256(r, hex);
    pf_records_close(r);
    return rc;
}

int pf_compare_write_json(const char *path, json_t *j, pf_error *err)
{
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    pf_outfile *o;
    int rc = pf_outfile_open(&o, path, err);
    if (!rc) {
        pf_outfile_puts(o, text);
        pf_outfile_puts(o, "\n");
        rc = pf_outfile_commit(o, err);
    }
    free(text);
    return rc;
}
