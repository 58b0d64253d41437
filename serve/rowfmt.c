/*
 * rowfmt.c - decisions as CSV or JSON-lines rows (see rowfmt.h).
 *
 * Columns, CSV (docs/score.md):
 *   id, p, logit, grupp, niva, spar, malgrupp_<code>..., leveransomrade,
 *   ersattningsmodell, max_ersattning, eligible, ineligible_rule,
 *   reason_k, reason_k_contribution (k = 1..reasons), model_id, policy_id,
 *   passthrough columns.
 * JSON lines carry the same fields, target groups as an array of codes and
 * reasons as objects with the feature's Swedish label.
 */
#include "rowfmt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profil/csvout.h"
#include "profil/encode.h"

void pf_buf_free(pf_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static int reserve(pf_buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Writers to a cursor with room already reserved; each returns the
 * cursor after what it wrote. */

/* The most a fixed-decimals number takes: DBL_MAX with 9 decimals. */
#define FIXED_MAX 330

static char *w_uint(char *o, uint64_t v)
{
    char tmp[24];
    int k = 0;
    do {
        tmp[k++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        *o++ = tmp[--k];
    return o;
}

/* v with exactly `dec` decimals, rounded half away from zero; at most
 * FIXED_MAX bytes, and up to 15 bytes past what it returns may be
 * overwritten. u = round(|v| * 10^dec) is split into its integer part,
 * written from the right two digits at a time, and `dec` decimals. Inline:
 * every call but one has a constant dec, which turns the divisions into
 * multiplications and unrolls the decimals. */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
                                     "25262728293031323334353637383940414243444546474849"
                                     "50515253545556575859606162636465666768697071727374"
                                     "75767778798081828384858687888990919293949596979899";

static inline __attribute__((always_inline)) char *w_fixed(char *o, double v, int dec)
{
    static const uint64_t pow10[] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};
    double x = fabs(v) * (double) pow10[dec]; /* exact powers: as the literals 1e0..1e9 */
    if (!(x < 9e15)) {                        /* also NaN and the infinities */
        int k = snprintf(o, FIXED_MAX, "%.*f", dec, v);
        return o + (k < 0 ? 0 : k < FIXED_MAX ? k : FIXED_MAX - 1);
    }
    /* round(x), half away from zero: x - trunc(x) is exact. */
    uint64_t u = (uint64_t) x;
    u += x - (double) u >= 0.5;
    if (v < 0 && u)
        *o++ = '-';
    uint64_t ip = u / pow10[dec], fp = u - ip * pow10[dec];
    char tmp[40], *end = tmp + 20, *p = end; /* ip has at most 16 digits */
    while (ip >= 100) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * (ip % 100), 2);
        ip /= 100;
    }
    if (ip >= 10) {
        p -= 2;
        memcpy(p, digit_pairs + 2 * ip, 2);
    } else {
        *--p = (char) ('0' + ip);
    }
    memcpy(o, p, 16);
    o += end - p;
    if (!dec)
        return o;
    *o++ = '.';
    int i = dec;
    for (; i >= 2; i -= 2) {
        memcpy(o + i - 2, digit_pairs + 2 * (fp % 100), 2);
        fp /= 100;
    }
    if (i)
        o[0] = (char) ('0' + fp);
    return o + dec;
}

/* A CSV field: at most 2n + 2 bytes. */
static char *w_csv(char *o, const char *s, size_t n)
{
    if (!pf_csv_needs_quotes(s, n, ',')) {
        memcpy(o, s, n);
        return o + n;
    }
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *o++ = '"';
        *o++ = s[i];
    }
    *o++ = '"';
    return o;
}

/* A prepared text: n rounded up to 16 bytes are written. */
static char *w_text(char *o, const pf_rowfmt_text *t)
{
    for (size_t i = 0; i < t->n; i += 16)
        memcpy(o + i, t->s + i, 16);
    return o + t->n;
}

static int text_set(pf_rowfmt_text *t, const char *s, size_t n)
{
    if (!(t->s = calloc((n + 15) / 16 * 16 + 16, 1)))
        return -1;
    memcpy(t->s, s, n);
    t->n = (uint32_t) n;
    return 0;
}

static void texts_free(pf_rowfmt_text *t, size_t n)
{
    for (size_t i = 0; t && i < n; i++)
        free(t[i].s);
    free(t);
}

static void put(pf_buf *b, const char *s, size_t n)
{
    if (reserve(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(pf_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putc_(pf_buf *b, char c)
{
    if (reserve(b, 1))
        return;
    b->p[b->n++] = c;
}

static void put_uint(pf_buf *b, uint64_t v)
{
    if (!reserve(b, 24))
        b->n = (size_t) (w_uint(b->p + b->n, v) - b->p);
}

static void put_fixed(pf_buf *b, double v, int dec)
{
    if (!reserve(b, FIXED_MAX + 16)) /* w_fixed moves 16 bytes at a time */
        b->n = (size_t) (w_fixed(b->p + b->n, v, dec) - b->p);
}

static void put_csv(pf_buf *b, const char *s, size_t n)
{
    if (!reserve(b, 2 * n + 2))
        b->n = (size_t) (w_csv(b->p + b->n, s, n) - b->p);
}

static void put_json_str(pf_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    putc_(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\') {
            putc_(b, '\\');
            putc_(b, (char) c);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(b, e, 6);
        } else {
            putc_(b, (char) c);
        }
    }
    putc_(b, '"');
}

static uint32_t longest(const pf_rowfmt_text *t, size_t n)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++)
        m = t[i].n > m ? t[i].n : m;
    return m;
}

/* The most a CSV row takes besides its id and passthrough columns, from
 * the prepared texts (texts_init). Texts and fixed numbers are copied in
 * 16-byte moves: 16 more each. */
static size_t csv_row_bound(const pf_rowfmt *rf)
{
    const pf_policy *pol = pf_decider_policy(rf->d);
    size_t area = longest(rf->area_text, pol->nareas), rule = longest(rf->rule_text, pol->nrules),
           name = longest(rf->col_text, rf->s->ncols);
    return 3 * (FIXED_MAX + 16) + 4 * 24 + 2 * pol->ntarget_groups + area + 16 + rule + 16 +
           (size_t) rf->nreasons * (name + 16 + FIXED_MAX + 16 + 2) + 2 * 16 + 64;
}

static int texts_init(pf_rowfmt *rf)
{
    const pf_policy *pol = pf_decider_policy(rf->d);
    rf->col_text = calloc(rf->s->ncols + 1, sizeof *rf->col_text);
    rf->area_text = calloc(pol->nareas + 1, sizeof *rf->area_text);
    rf->rule_text = calloc(pol->nrules + 1, sizeof *rf->rule_text);
    if (!rf->col_text || !rf->area_text || !rf->rule_text)
        return -1;
    for (size_t c = 0; c < rf->s->ncols; c++)
        if (text_set(&rf->col_text[c], rf->s->cols[c].name, strlen(rf->s->cols[c].name)))
            return -1;
    for (size_t k = 0; k < pol->nareas; k++) {
        const char *name = pol->areas[k].name;
        size_t n = strlen(name);
        char *csv = malloc(2 * n + 2);
        int rc = !csv || text_set(&rf->area_text[k], csv, (size_t) (w_csv(csv, name, n) - csv));
        free(csv);
        if (rc)
            return -1;
    }
    for (size_t k = 0; k < pol->nrules; k++)
        if (text_set(&rf->rule_text[k], pol->rules[k].code, strlen(pol->rules[k].code)))
            return -1;
    return 0;
}

int pf_rowfmt_init(pf_rowfmt *rf, int format, const pf_decider *d, int nreasons,
                   const char *const *names, size_t nnames, const char *const *frame_pass_names,
                   size_t nframe_pass, pf_error *err)
{
    memset(rf, 0, sizeof *rf);
    rf->format = format;
    rf->d = d;
    rf->s = pf_decider_model(d)->schema;
    rf->nreasons = nreasons;
    if (texts_init(rf)) {
        pf_rowfmt_free(rf);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    rf->csv_bound = csv_row_bound(rf);
    snprintf(rf->model_id, sizeof rf->model_id, "%.16s", pf_decider_model(d)->sha256);
    snprintf(rf->policy_id, sizeof rf->policy_id, "%.16s", pf_decider_policy(d)->sha256);
    if (!nnames)
        return 0;
    rf->pass_col = calloc(nnames, sizeof *rf->pass_col);
    rf->pass_name = calloc(nnames, sizeof *rf->pass_name);
    if (!rf->pass_col || !rf->pass_name) {
        pf_rowfmt_free(rf);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < nnames; k++) {
        int col = pf_schema_find(rf->s, names[k]), found = col >= 0;
        for (size_t q = 0; !found && q < nframe_pass; q++)
            if (!strcmp(frame_pass_names[q], names[k])) {
                col = -1 - (int) q;
                found = 1;
            }
        if (!found) {
            pf_rowfmt_free(rf);
            return pf_error_set(err, PF_ENOTFOUND,
                                "passthrough column '%s' is neither in the schema nor in the input",
                                names[k]);
        }
        rf->pass_col[k] = col;
        rf->pass_name[k] = strdup(names[k]);
        rf->npass = k + 1;
        if (!rf->pass_name[k]) {
            pf_rowfmt_free(rf);
            return pf_error_set(err, PF_ENOMEM, "out of memory");
        }
    }
    return 0;
}

void pf_rowfmt_free(pf_rowfmt *rf)
{
    if (rf->d) {
        texts_free(rf->col_text, rf->s->ncols);
        texts_free(rf->area_text, pf_decider_policy(rf->d)->nareas);
        texts_free(rf->rule_text, pf_decider_policy(rf->d)->nrules);
    }
    for (size_t k = 0; k < rf->npass; k++)
        free(rf->pass_name[k]);
    free(rf->pass_name);
    free(rf->pass_col);
    memset(rf, 0, sizeof *rf);
}

void pf_rowfmt_header(const pf_rowfmt *rf, pf_buf *b)
{
    if (rf->format != PF_ROWFMT_CSV)
        return;
    const pf_policy *pol = pf_decider_policy(rf->d);
    puts_(b, "id,p,logit,grupp,niva,spar");
    for (size_t k = 0; k < pol->ntarget_groups; k++) {
        puts_(b, ",malgrupp_");
        puts_(b, pol->target_groups[k].code);
    }
    puts_(b, ",leveransomrade,ersattningsmodell,max_ersattning,eligible,ineligible_rule");
    for (int k = 1; k <= rf->nreasons; k++) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, ",reason_%d,reason_%d_contribution", k, k);
        puts_(b, tmp);
    }
    puts_(b, ",model_id,policy_id");
    for (size_t k = 0; k < rf->npass; k++) {
        putc_(b, ',');
        put_csv(b, rf->pass_name[k], strlen(rf->pass_name[k]));
    }
    putc_(b, '\n');
}

/* The text of a passthrough value in (s, n), numbers written into tmp;
 * 0 when the value is missing. */
static int pass_value(const pf_rowfmt *rf, const pf_frame *f, size_t i, int col, char *tmp,
                      size_t tmpn, const char **s, size_t *n)
{
    if (col < 0) {
        pf_strref r = f->pass[-1 - col][i];
        *s = pf_frame_str(f, r);
        *n = r.off == PF_STR_MISSING ? 0 : r.len;
        return r.off != PF_STR_MISSING;
    }
    const pf_column *c = &rf->s->cols[col];
    switch (c->type) {
    case PF_TYPE_STRING: {
        pf_strref r = f->col[col].str[i];
        *s = pf_frame_str(f, r);
        *n = r.off == PF_STR_MISSING ? 0 : r.len;
        return r.off != PF_STR_MISSING;
    }
    case PF_TYPE_CATEGORY:
    case PF_TYPE_BOOLEAN: {
        int32_t l = f->col[col].cat[i];
        *s = l >= 0 ? c->levels[l].code : "";
        *n = strlen(*s);
        return l >= 0;
    }
    default: {
        double v = f->col[col].num[i];
        if (v != v) {
            *s = "";
            *n = 0;
            return 0;
        }
        if (v == floor(v) && fabs(v) < 1e15)
            snprintf(tmp, tmpn, "%lld", (long long) v);
        else
            pf_format_number(tmp, tmpn, v);
        *s = tmp;
        *n = strlen(tmp);
        return 1;
    }
    }
}

/* Reserves the row's bound once, then writes without further checks. */
static void row_csv(const pf_rowfmt *rf, pf_buf *b, const pf_frame *f, size_t i,
                    const pf_decision *x)
{
    const pf_schema *S = rf->s;
    const pf_policy *pol = pf_decider_policy(rf->d);
    pf_strref id = {PF_STR_MISSING, 0};
    if (S->id_col >= 0)
        id = f->col[S->id_col].str[i];
    size_t idlen = id.off == PF_STR_MISSING ? 0 : id.len;
    if (reserve(b, rf->csv_bound + 2 * idlen + 2))
        return;
    char *o = b->p + b->n;
    o = w_csv(o, pf_frame_str(f, id), idlen);
    *o++ = ',';
    o = w_fixed(o, x->p, 6);
    *o++ = ',';
    o = w_fixed(o, x->logit, 4);
    *o++ = ',';
    o = w_uint(o, (uint64_t) x->group);
    *o++ = ',';
    if (x->level)
        *o++ = x->level;
    *o++ = ',';
    if (x->track)
        o = w_uint(o, (uint64_t) x->track);
    for (size_t k = 0; k < pol->ntarget_groups; k++) {
        *o++ = ',';
        *o++ = (x->target_groups >> k & 1) ? '1' : '0';
    }
    *o++ = ',';
    if (x->area >= 0)
        o = w_text(o, &rf->area_text[x->area]);
    *o++ = ',';
    if (x->compensation_model)
        o = w_uint(o, (uint64_t) x->compensation_model);
    *o++ = ',';
    if (x->max_compensation == x->max_compensation)
        o = w_fixed(o, x->max_compensation, 0);
    *o++ = ',';
    *o++ = pf_decision_eligible(x) ? '1' : '0';
    *o++ = ',';
    if (!pf_decision_eligible(x))
        o = w_text(o, &rf->rule_text[x->failed_rule]);
    for (int k = 0; k < rf->nreasons; k++) {
        *o++ = ',';
        if (k < x->nreasons) {
            o = w_text(o, &rf->col_text[x->reason[k].col]);
            *o++ = ',';
            o = w_fixed(o, x->reason[k].contribution, 4);
        } else {
            *o++ = ',';
        }
    }
    *o++ = ',';
    memcpy(o, rf->model_id, 16);
    o += 16;
    *o++ = ',';
    memcpy(o, rf->policy_id, 16);
    o += 16;
    b->n = (size_t) (o - b->p);
    for (size_t k = 0; k < rf->npass; k++) {
        char tmp[40];
        const char *s;
        size_t n;
        putc_(b, ',');
        pass_value(rf, f, i, rf->pass_col[k], tmp, sizeof tmp, &s, &n);
        put_csv(b, s, n);
    }
    putc_(b, '\n');
}

static void key(pf_buf *b, const char *k)
{
    putc_(b, ',');
    putc_(b, '"');
    puts_(b, k);
    puts_(b, "\":");
}

static void row_json(const pf_rowfmt *rf, pf_buf *b, const pf_frame *f, size_t i,
                     const pf_decision *x)
{
    const pf_schema *S = rf->s;
    puts_(b, "{\"id\":");
    if (S->id_col >= 0 && f->col[S->id_col].str[i].off != PF_STR_MISSING) {
        pf_strref r = f->col[S->id_col].str[i];
        put_json_str(b, pf_frame_str(f, r), r.len);
    } else {
        puts_(b, "null");
    }
    pf_rowfmt_json_after_id(rf, b, f, i, x);
}

void pf_rowfmt_json_after_id(const pf_rowfmt *rf, pf_buf *b, const pf_frame *f, size_t i,
                             const pf_decision *x)
{
    const pf_schema *S = rf->s;
    const pf_policy *pol = pf_decider_policy(rf->d);
    key(b, "p");
    put_fixed(b, x->p, 6);
    key(b, "logit");
    put_fixed(b, x->logit, 4);
    key(b, "grupp");
    put_uint(b, (uint64_t) x->group);
    key(b, "niva");
    if (x->level) {
        char q[3] = {'"', x->level, '"'};
        put(b, q, 3);
    } else {
        puts_(b, "null");
    }
    key(b, "spar");
    if (x->track)
        put_uint(b, (uint64_t) x->track);
    else
        puts_(b, "null");
    key(b, "malgrupp");
    putc_(b, '[');
    for (size_t k = 0, first = 1; k < pol->ntarget_groups; k++)
        if (x->target_groups >> k & 1) {
            if (!first)
                putc_(b, ',');
            first = 0;
            put_json_str(b, pol->target_groups[k].code, strlen(pol->target_groups[k].code));
        }
    putc_(b, ']');
    key(b, "leveransomrade");
    if (x->area >= 0)
        put_json_str(b, pol->areas[x->area].name, strlen(pol->areas[x->area].name));
    else
        puts_(b, "null");
    key(b, "ersattningsmodell");
    if (x->compensation_model)
        put_uint(b, (uint64_t) x->compensation_model);
    else
        puts_(b, "null");
    key(b, "max_ersattning");
    if (x->max_compensation == x->max_compensation)
        put_fixed(b, x->max_compensation, 0);
    else
        puts_(b, "null");
    key(b, "eligible");
    puts_(b, pf_decision_eligible(x) ? "true" : "false");
    key(b, "ineligible_rule");
    if (pf_decision_eligible(x)) {
        puts_(b, "null");
    } else {
        const pf_policy_rule *r = &pol->rules[x->failed_rule];
        put_json_str(b, r->code, strlen(r->code));
    }
    key(b, "ineligible_reason");
    if (pf_decision_eligible(x)) {
        puts_(b, "null");
    } else {
        const pf_policy_rule *r = &pol->rules[x->failed_rule];
        put_json_str(b, r->reason, strlen(r->reason));
    }
    key(b, "reasons");
    putc_(b, '[');
    for (int k = 0; k < x->nreasons && k < rf->nreasons; k++) {
        if (k)
            putc_(b, ',');
        puts_(b, "{\"feature\":");
        const pf_column *c = &S->cols[x->reason[k].col];
        put_json_str(b, c->name, strlen(c->name));
        puts_(b, ",\"label\":");
        put_json_str(b, c->label, strlen(c->label));
        puts_(b, ",\"contribution\":");
        put_fixed(b, x->reason[k].contribution, 4);
        putc_(b, '}');
    }
    putc_(b, ']');
    key(b, "model_id");
    put_json_str(b, rf->model_id, 16);
    key(b, "policy_id");
    put_json_str(b, rf->policy_id, 16);
    for (size_t k = 0; k < rf->npass; k++) {
        char tmp[40];
        const char *s;
        size_t n;
        putc_(b, ',');
        put_json_str(b, rf->pass_name[k], strlen(rf->pass_name[k]));
        putc_(b, ':');
        if (pass_value(rf, f, i, rf->pass_col[k], tmp, sizeof tmp, &s, &n))
            put_json_str(b, s, n);
        else
            puts_(b, "null");
    }
    puts_(b, "}\n");
}

void pf_rowfmt_row(const pf_rowfmt *rf, pf_buf *b, const pf_frame *f, size_t i,
                   const pf_decision *x)
{
    if (rf->format == PF_ROWFMT_CSV)
        row_csv(rf, b, f, i, x);
    else
        row_json(rf, b, f, i, x);
}

void pf_buf_put(pf_buf *b, const char *s, size_t n)
{
    put(b, s, n);
}

void pf_buf_puts(pf_buf *b, const char *s)
{
    puts_(b, s);
}

void pf_buf_uint(pf_buf *b, uint64_t v)
{
    put_uint(b, v);
}

void pf_buf_fixed(pf_buf *b, double v, int dec)
{
    put_fixed(b, v, dec);
}

void pf_buf_json_str(pf_buf *b, const char *s, size_t n)
{
    put_json_str(b, s, n);
}
