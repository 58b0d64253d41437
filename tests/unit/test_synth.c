/*
 * test_synth.c - tests of the synthetic population generator (data/synth).
 *
 * Where possible the checks do not trust the generator: rows are parsed back
 * from the CSV text and checked against the schema file and the reference
 * tables, p is recomputed from the truth JSON alone, and the AUC is computed
 * here by Mann-Whitney ranks. Tolerances of the marginals are those stated in
 * docs/synthetic-population.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"

#define MAXF 64

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static pf_synth_options options(uint64_t n, uint64_t seed, int with_p)
{
    pf_synth_options o = {.n = n, .seed = seed, .datadir = PF_TEST_DATADIR, .with_truth_p = with_p};
    return o;
}

/* Rows formatted into one malloc'ed text (header included). */
static char *generate_text(uint64_t n, uint64_t seed, int with_p, size_t *len)
{
    pf_synth_options o = options(n, seed, with_p);
    pf_synth *g = NULL;
    pf_error err = {0};
    assert_int_equal(pf_synth_new(&g, &o, &err), 0);
    size_t cap = (size_t) n * PF_SYNTH_LINE_MAX + 4096;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t used = pf_synth_header(g, buf, cap);
    assert_true(used > 0);
    pf_synth_row row;
    for (uint64_t i = 0; i < n; i++) {
        pf_synth_next(g, &row);
        used += pf_synth_format(g, &row, buf + used);
    }
    buf[used] = 0;
    *len = used;
    pf_synth_free(g);
    return buf;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = malloc((size_t) n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t) n, fp), (size_t) n);
    s[n] = 0;
    fclose(fp);
    if (len)
        *len = (size_t) n;
    return s;
}

/* Writes through pf_synth_write() into dir/name (+ .truth.json); returns 0 or
 * the status. */
static int write_files(const char *dir, const char *name, pf_synth_options o)
{
    char data[512], truth[512];
    snprintf(data, sizeof data, "%s/%s.csv", dir, name);
    snprintf(truth, sizeof truth, "%s/%s.truth.json", dir, name);
    pf_error err = {0};
    pf_outfile *out = NULL, *tr = NULL;
    assert_int_equal(pf_outfile_open(&out, data, &err), 0);
    assert_int_equal(pf_outfile_open(&tr, truth, &err), 0);
    int rc = pf_synth_write(&o, out, tr, &err);
    if (rc) {
        pf_outfile_abort(out);
        pf_outfile_abort(tr);
        return rc;
    }
    assert_int_equal(pf_outfile_commit(out, &err), 0);
    assert_int_equal(pf_outfile_commit(tr, &err), 0);
    return 0;
}

static char tmpdir[256];

static int setup_dir(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_synth.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Splits a CSV line in place at commas, honouring double quotes (for the
 * reference tables; generated rows never quote). Returns the field count. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    char *r = line, *w = line;
    for (;;) {
        if (n == max)
            return -1;
        f[n++] = w;
        if (*r == '"') {
            r++;
            while (*r) {
                if (*r == '"') {
                    if (r[1] != '"') {
                        r++;
                        break;
                    }
                    r++;
                }
                *w++ = *r++;
            }
        }
        while (*r && *r != ',')
            *w++ = *r++;
        if (!*r) {
            *w = 0;
            return n;
        }
        *w++ = 0;
        r++;
    }
}

/* A set of short strings (reference keys). */
typedef struct strset {
    int n;
    char items[512][16];
} strset;

static int set_has(const strset *s, const char *v)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->items[i], v))
            return 1;
    return 0;
}

/* Loads column `key` of a reference CSV. */
static void load_ref(strset *s, const char *path, const char *key)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[1024];
    char *f[MAXF];
    int col = -1;
    s->n = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\r\n")] = 0;
        int nf = split(line, f, MAXF);
        if (col < 0) {
            for (int i = 0; i < nf; i++)
                if (!strcmp(f[i], key))
                    col = i;
            assert_true(col >= 0);
            continue;
        }
        assert_true(col < nf && s->n < 512);
        snprintf(s->items[s->n++], 16, "%s", f[col]);
    }
    fclose(fp);
}

/* ------------------------------------------------------------------------ */
/* Schema-driven validation of generated text                                */

typedef struct colrule {
    const char *name;
    const char *type;
    int has_min, has_max;
    double min, max;
    int empty_ok;
    int four_digits;
    strset *levels; /* NULL: no level check */
} colrule;

typedef struct schema_rules {
    json_t *schema;
    int ncol;
    colrule col[MAXF];
    strset sets[MAXF];
} schema_rules;

static void load_rules(schema_rules *R)
{
    json_error_t je;
    R->schema = json_load_file(PF_TEST_DATADIR "/schema/af-inskrivning.json", 0, &je);
    assert_non_null(R->schema);
    json_t *refs = json_object_get(R->schema, "references");
    json_t *cols = json_object_get(R->schema, "columns");
    size_t i;
    json_t *c;
    R->ncol = 0;
    json_array_foreach(cols, i, c)
    {
        if (json_object_get(c, "derive"))
            continue;
        colrule *r = &R->col[R->ncol];
        memset(r, 0, sizeof *r);
        r->name = json_string_value(json_object_get(c, "name"));
        r->type = json_string_value(json_object_get(c, "type"));
        json_t *v;
        if ((v = json_object_get(c, "min")))
            r->has_min = 1, r->min = json_number_value(v);
        if ((v = json_object_get(c, "max")))
            r->has_max = 1, r->max = json_number_value(v);
        const char *missing = json_string_value(json_object_get(c, "missing"));
        int required = json_is_true(json_object_get(c, "required"));
        r->empty_ok =
            missing && (!strcmp(missing, "allow") || !strcmp(missing, "default")) && !required;
        const char *pat = json_string_value(json_object_get(c, "pattern"));
        r->four_digits = pat && !strcmp(pat, "^[0-9]{4}$");
        json_t *levels = json_object_get(c, "levels");
        json_t *from = json_object_get(c, "levels_from");
        if (levels) {
            strset *s = &R->sets[R->ncol];
            size_t j;
            json_t *l;
            s->n = 0;
            json_array_foreach(levels, j, l)
                snprintf(s->items[s->n++], 16, "%s", json_string_value(json_object_get(l, "code")));
            r->levels = s;
        } else if (from) {
            const char *refname = json_string_value(json_object_get(from, "reference"));
            json_t *ref = json_object_get(refs, refname);
            const char *file = json_string_value(json_object_get(ref, "file"));
            const char *key = json_string_value(json_object_get(ref, "key"));
            char path[512];
            snprintf(path, sizeof path, "%s/schema/%s", PF_TEST_DATADIR, file);
            load_ref(&R->sets[R->ncol], path, key);
            r->levels = &R->sets[R->ncol];
        }
        R->ncol++;
    }
}

static int is_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* 1 if s holds a maximal run of exactly 10 or 12 digits (personnummer-like). */
static int has_pnr_like_run(const char *s)
{
    int run = 0;
    for (const char *p = s;; p++) {
        if (*p >= '0' && *p <= '9') {
            run++;
        } else {
            if (run == 10 || run == 12)
                return 1;
            run = 0;
            if (!*p)
                return 0;
        }
    }
}

static void check_field(const colrule *r, const char *v, long line)
{
    if (!*v) {
        if (!r->empty_ok)
            fail_msg("line %ld: %s is empty", line, r->name);
        return;
    }
    if (has_pnr_like_run(v))
        fail_msg("line %ld: %s '%s' looks like a personnummer", line, r->name, v);
    char *end;
    if (!strcmp(r->type, "integer")) {
        long x = strtol(v, &end, 10);
        if (*end || (r->has_min && x < r->min) || (r->has_max && x > r->max))
            fail_msg("line %ld: %s '%s' not an integer in range", line, r->name, v);
    } else if (!strcmp(r->type, "number")) {
        double x = strtod(v, &end);
        const char *dot = strchr(v, '.');
        if (*end || (r->has_min && x < r->min) || (r->has_max && x > r->max) ||
            (dot && strlen(dot + 1) > 1))
            fail_msg("line %ld: %s '%s' not a number in range with one decimal", line, r->name, v);
    } else if (!strcmp(r->type, "boolean")) {
        if (strcmp(v, "0") && strcmp(v, "1"))
            fail_msg("line %ld: %s '%s' not a boolean", line, r->name, v);
    }
    if (r->four_digits && !is_digits(v, 4))
        fail_msg("line %ld: %s '%s' not four digits", line, r->name, v);
    if (r->levels && !set_has(r->levels, v))
        fail_msg("line %ld: %s '%s' not an allowed code", line, r->name, v);
}

static int col_index(char **hdr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(hdr[i], name))
            return i;
    fail_msg("column %s missing", name);
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void test_same_seed_same_bytes(void **state)
{
    size_t n1, n2, n3;
    char *a = generate_text(5000, 42, 1, &n1);
    char *b = generate_text(5000, 42, 1, &n2);
    char *c = generate_text(5000, 43, 1, &n3);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    /* Same header, different rows. */
    assert_true(n1 != n3 || memcmp(a, c, n1) != 0);
    const char *nl = strchr(a, '\n');
    assert_memory_equal(a, c, (size_t) (nl - a));
    assert_true(strncmp(nl + 1, strchr(c, '\n') + 1, 40) != 0);
    /* The first rows do not depend on how many are drawn. */
    size_t n4;
    char *d = generate_text(100, 42, 1, &n4);
    assert_memory_equal(a, d, n4);
    free(a);
    free(b);
    free(c);
    free(d);
}

static void test_files_identical(void **state)
{
    assert_int_equal(write_files(tmpdir, "a", options(3000, 7, 0)), 0);
    assert_int_equal(write_files(tmpdir, "b", options(3000, 7, 0)), 0);
    assert_int_equal(write_files(tmpdir, "c", options(3000, 8, 0)), 0);
    char p[512];
    size_t na, nb, nc;
    snprintf(p, sizeof p, "%s/a.csv", tmpdir);
    char *a = slurp(p, &na);
    snprintf(p, sizeof p, "%s/b.csv", tmpdir);
    char *b = slurp(p, &nb);
    snprintf(p, sizeof p, "%s/c.csv", tmpdir);
    char *c = slurp(p, &nc);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    assert_true(na != nc || memcmp(a, c, na) != 0);
    /* The file equals the in-memory generation. */
    size_t nm;
    char *m = generate_text(3000, 7, 0, &nm);
    assert_int_equal(nm, na);
    assert_memory_equal(m, a, na);
    free(a);
    free(b);
    free(c);
    free(m);
    snprintf(p, sizeof p, "%s/a.truth.json", tmpdir);
    char *ta = slurp(p, NULL);
    snprintf(p, sizeof p, "%s/b.truth.json", tmpdir);
    char *tb = slurp(p, NULL);
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
}

static void test_one_row(void **state)
{
    assert_int_equal(write_files(tmpdir, "one", options(1, 1, 1)), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/one.csv", tmpdir);
    char *s = slurp(p, NULL);
    int lines = 0;
    for (char *q = s; *q; q++)
        lines += *q == '\n';
    assert_int_equal(lines, 2);
    free(s);
    snprintf(p, sizeof p, "%s/one.truth.json", tmpdir);
    json_error_t je;
    json_t *t = json_load_file(p, 0, &je);
    assert_non_null(t);
    assert_int_equal(json_integer_value(json_object_get(t, "n")), 1);
    assert_int_equal(json_integer_value(json_object_get(t, "seed")), 1);
    assert_string_equal(json_string_value(json_object_get(t, "version")), PF_SYNTH_VERSION);
    json_t *re = json_object_get(t, "realised");
    assert_int_equal(json_integer_value(json_object_get(re, "rows")), 1);
    json_decref(t);
}

static void test_bad_options(void **state)
{
    pf_synth *g = NULL;
    pf_error err = {0};
    pf_synth_options o = options(0, 1, 0);
    assert_int_equal(pf_synth_new(&g, &o, &err), PF_EINVAL);
    assert_null(g);
    o = options(PF_SYNTH_MAX_ROWS + 1, 1, 0);
    assert_int_equal(pf_synth_new(&g, &o, &err), PF_EINVAL);
    o = options(10, 1, 0);
    o.datadir = "/nonexistent/profil-data";
    assert_int_equal(pf_synth_new(&g, &o, &err), PF_ENOTFOUND);
    assert_non_null(strstr(err.message, "kommuner.csv"));
    assert_null(g);
}

/* Every row of a 20 000-row sample is valid under the schema and the
 * generator's consistency rules. */
static void test_rows_valid(void **state)
{
    schema_rules *R = calloc(1, sizeof *R);
    assert_non_null(R);
    load_rules(R);

    size_t len;
    char *text = generate_text(20000, 20200330, 0, &len);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    assert_non_null(line);

    /* Header: exactly the schema's source columns, in order. */
    char *hdr[MAXF];
    char *hline = strdup(line);
    int nh = split(hline, hdr, MAXF);
    assert_int_equal(nh, R->ncol);
    for (int i = 0; i < nh; i++)
        assert_string_equal(hdr[i], R->col[i].name);

    strset *pop = calloc(1, sizeof *pop);
    load_ref(pop, PF_TEST_DATADIR "/ref/kommun-befolkning.csv", "kommunkod");
    assert_int_equal(pop->n, 290);

    int i_alder = col_index(hdr, nh, "alder"), i_land = col_index(hdr, nh, "fodelseland"),
        i_id = col_index(hdr, nh, "id"), i_y1 = col_index(hdr, nh, "sokt_yrke_1"),
        i_ant = col_index(hdr, nh, "antal_tidigare_perioder"),
        i_fore = col_index(hdr, nh, "dagar_foregaende_period"),
        i_sedan = col_index(hdr, nh, "dagar_sedan_foregaende_period"),
        i_funk = col_index(hdr, nh, "funktionsnedsattning"),
        i_ned = col_index(hdr, nh, "nedsatt_arbetsformaga"),
        i_ram = col_index(hdr, nh, "ramprogram"), i_y90 = col_index(hdr, nh, "arbete_studier_90d"),
        i_y180 = col_index(hdr, nh, "arbete_studier_180d"),
        i_dagar = col_index(hdr, nh, "inskrivningsdagar"),
        i_utb = col_index(hdr, nh, "utbildningsniva");

    long lineno = 1;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        lineno++;
        char *f[MAXF];
        int nf = split(line, f, MAXF);
        if (nf != nh)
            fail_msg("line %ld has %d fields, header %d", lineno, nf, nh);
        for (int i = 0; i < nf; i++)
            check_field(&R->col[i], f[i], lineno);

        /* Pseudonym: P and nine digits. */
        assert_true(f[i_id][0] == 'P' && is_digits(f[i_id] + 1, 9));
        /* Occupations: the first always, never a gap. */
        assert_true(*f[i_y1]);
        for (int j = 1; j < 4; j++)
            if (*f[i_y1 + j])
                assert_true(*f[i_y1 + j - 1]);
        /* No earlier period: no days since it, zero days in it. */
        int ant = atoi(f[i_ant]);
        assert_int_equal(ant == 0, *f[i_sedan] == 0);
        if (ant == 0)
            assert_string_equal(f[i_fore], "0");
        if (!strcmp(f[i_funk], "00"))
            assert_string_equal(f[i_ned], "0");
        /* 90-day success implies 180-day success. */
        if (!strcmp(f[i_y90], "1"))
            assert_string_equal(f[i_y180], "1");
        /* Programmes fit their rules. */
        int age = atoi(f[i_alder]);
        if (!strcmp(f[i_ram], "UGA"))
            assert_true(age <= 24);
        if (!strcmp(f[i_ram], "JOB"))
            assert_true(age >= 25 && atoi(f[i_dagar]) >= 450);
        if (!strcmp(f[i_ram], "ETP"))
            assert_true(age >= 20 && age <= 64 && strcmp(f[i_land], "SE") != 0 &&
                        atoi(f[i_dagar]) < 730);
        /* Registered no longer than since the 16th birthday. */
        assert_true(atoi(f[i_dagar]) < (age - 15) * 365);
        /* Education possible at this age. */
        int utb = atoi(f[i_utb]);
        if (age <= 17)
            assert_true(utb <= 2 || utb == 9);
        if (age < 26)
            assert_true(utb != 7);
    }
    assert_int_equal(lineno, 20001);
    free(hline);
    free(text);
    free(pop);
    json_decref(R->schema);
    free(R);
}

/* Area statistics belong to the municipality, not to the seed: across two
 * seeds a municipality shows no more distinct areas than it has. */
static void test_areas_fixed(void **state)
{
    strset *codes = calloc(1, sizeof *codes);
    load_ref(codes, PF_TEST_DATADIR "/ref/kommun-befolkning.csv", "kommunkod");
    strset *pops = calloc(1, sizeof *pops);
    load_ref(pops, PF_TEST_DATADIR "/ref/kommun-befolkning.csv", "folkmangd");
    enum { MAXA = 200 };
    typedef struct {
        int n;
        int t[MAXA][5];
    } aset;
    aset *areas = calloc(290, sizeof *areas);
    assert_non_null(areas);
    for (uint64_t seed = 1; seed <= 2; seed++) {
        pf_synth_options o = options(30000, seed, 0);
        pf_synth *g = NULL;
        pf_error err = {0};
        assert_int_equal(pf_synth_new(&g, &o, &err), 0);
        pf_synth_row row;
        for (int i = 0; i < 30000; i++) {
            pf_synth_next(g, &row);
            int k = -1;
            for (int j = 0; j < codes->n && k < 0; j++)
                if (!strcmp(codes->items[j], row.kommunkod))
                    k = j;
            assert_true(k >= 0);
            aset *a = &areas[k];
            int found = 0;
            for (int j = 0; j < a->n && !found; j++)
                found = !memcmp(a->t[j], row.omr, sizeof row.omr);
            if (!found) {
                assert_true(a->n < MAXA);
                memcpy(a->t[a->n++], row.omr, sizeof row.omr);
            }
        }
        pf_synth_free(g);
    }
    int multi = 0;
    for (int k = 0; k < 290; k++) {
        int narea = 2 + atoi(pops->items[k]) / 10000;
        if (narea > 120)
            narea = 120;
        if (areas[k].n > narea)
            fail_msg("kommun %s shows %d areas, has %d", codes->items[k], areas[k].n, narea);
        multi += areas[k].n > 1;
    }
    assert_true(multi > 200); /* areas do vary within municipalities */
    free(areas);
    free(codes);
    free(pops);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return (x > y) - (x < y);
}

/* Marginals within the tolerances of docs/synthetic-population.md. */
static void test_marginals(void **state)
{
    enum { N = 200000 };
    pf_synth_options o = options(N, 20200330, 0);
    pf_synth *g = NULL;
    pf_error err = {0};
    assert_int_equal(pf_synth_new(&g, &o, &err), 0);

    strset *codes = calloc(1, sizeof *codes);
    load_ref(codes, PF_TEST_DATADIR "/ref/kommun-befolkning.csv", "kommunkod");
    strset *pops = calloc(1, sizeof *pops);
    load_ref(pops, PF_TEST_DATADIR "/ref/kommun-befolkning.csv", "folkmangd");
    long *count = calloc(290, sizeof *count);
    uint32_t *ids = malloc(N * sizeof *ids);
    double total_pop = 0;
    for (int k = 0; k < 290; k++)
        total_pop += atof(pops->items[k]);

    long women = 0, foreign = 0, outside = 0, europe_other = 0, disab = 0, nedsatt = 0, sprak = 0,
         sprak_foreign = 0, young = 0, age_18_64 = 0, long_reg = 0, lowedu_sv = 0, lowedu_ue = 0,
         sv = 0, ue = 0;
    double age_sum = 0;
    pf_synth_row row;
    for (int i = 0; i < N; i++) {
        pf_synth_next(g, &row);
        ids[i] = (uint32_t) atol(row.id + 1);
        women += row.kon == 'K';
        int fb = strcmp(row.fodelseland, "SE") != 0;
        foreign += fb;
        outside += row.region == PF_REGION_UTANFOR_EUROPA;
        europe_other += row.region == PF_REGION_NORDEN || row.region == PF_REGION_EU_EFTA ||
                        row.region == PF_REGION_EUROPA_OVRIGT;
        disab += row.funktionsnedsattning != 0;
        nedsatt += row.nedsatt_arbetsformaga;
        sprak += row.sprakstod;
        sprak_foreign += row.sprakstod && fb;
        young += row.alder < 25;
        age_18_64 += row.alder >= 18 && row.alder <= 64;
        age_sum += row.alder;
        long_reg += row.inskrivningsdagar > 365;
        if (row.region == PF_REGION_SVERIGE) {
            sv++;
            lowedu_sv += row.utbildningsniva <= 2;
        } else if (row.region == PF_REGION_UTANFOR_EUROPA) {
            ue++;
            lowedu_ue += row.utbildningsniva <= 2;
        }
        for (int k = 0; k < 290; k++)
            if (!memcmp(codes->items[k], row.kommunkod, 5)) {
                count[k]++;
                break;
            }
    }
    pf_synth_free(g);

    double n = N;
    assert_true(fabs(women / n - 0.47) < 0.02);
    assert_true(foreign / n > 0.45 && foreign / n < 0.55);
    assert_true(outside > 2 * europe_other); /* outside Europe the largest group */
    assert_true(fabs(age_sum / n - 40.0) < 2.0);
    assert_true(age_18_64 / n > 0.95);
    assert_true(young / n > 0.08 && young / n < 0.18);
    assert_true(disab / n > 0.18 && disab / n < 0.25);
    assert_true(nedsatt > 0.75 * disab);
    assert_true(sprak / n > 0.10 && sprak / n < 0.30);
    assert_true(sprak_foreign > 0.9 * sprak);
    assert_true(long_reg / n > 0.35 && long_reg / n < 0.55);
    /* Education correlates with birth region. */
    assert_true((double) lowedu_ue / ue > 1.5 * (double) lowedu_sv / sv);

    /* Every municipality appears; large ones in proportion to population. */
    for (int k = 0; k < 290; k++) {
        if (count[k] == 0)
            fail_msg("municipality %s never drawn", codes->items[k]);
        double pshare = atof(pops->items[k]) / total_pop;
        if (pshare > 0.005) {
            double sd = sqrt(pshare * (1 - pshare) / n);
            if (fabs(count[k] / n - pshare) > 5 * sd)
                fail_msg("municipality %s share %.4f, population share %.4f", codes->items[k],
                         count[k] / n, pshare);
        }
    }

    /* Pseudonyms are distinct. */
    qsort(ids, N, sizeof *ids, cmp_u32);
    for (int i = 1; i < N; i++)
        assert_true(ids[i] != ids[i - 1]);

    free(ids);
    free(count);
    free(codes);
    free(pops);
}

/* ------------------------------------------------------------------------ */
/* The truth file alone recomputes p                                         */

static double eval_factor(json_t *f, char **hdr, int nh, char **row, json_t *region_map,
                          const char *region_default)
{
    const char *type = json_string_value(json_object_get(f, "type"));
    const char *feat = json_string_value(json_object_get(f, "feature"));
    assert_non_null(type);
    assert_non_null(feat);
    const char *text;
    if (!strcmp(feat, "fodelseregion")) {
        const char *land = row[col_index(hdr, nh, "fodelseland")];
        json_t *r = json_object_get(region_map, land);
        text = r ? json_string_value(r) : region_default;
    } else {
        text = row[col_index(hdr, nh, feat)];
    }
    if (!strcmp(type, "indicator")) {
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(f, "levels"), i, l)
        {
            if (!strcmp(json_string_value(l), text))
                return 1.0;
        }
        return 0.0;
    }
    double x = strtod(text, NULL);
    if (!strcmp(type, "linear"))
        return x;
    if (!strcmp(type, "log1p"))
        return log1p(x);
    if (!strcmp(type, "hinge")) {
        double k = json_number_value(json_object_get(f, "knot"));
        return x > k ? x - k : 0.0;
    }
    fail_msg("unknown term type %s", type);
    return 0;
}

static void test_truth_recomputes_p(void **state)
{
    enum { N = 5000 };
    assert_int_equal(write_files(tmpdir, "truth", options(N, 99, 1)), 0);
    char p[512];
    snprintf(p, sizeof p, "%s/truth.truth.json", tmpdir);
    json_error_t je;
    json_t *t = json_load_file(p, 0, &je);
    assert_non_null(t);
    assert_int_equal(json_integer_value(json_object_get(t, "seed")), 99);
    assert_int_equal(json_integer_value(json_object_get(t, "n")), N);
    json_t *fm = json_object_get(t, "formula");
    double b0 = json_number_value(json_object_get(fm, "intercept"));
    double delta = json_number_value(json_object_get(fm, "delta_90d"));
    assert_true(delta > 0);
    json_t *terms = json_object_get(fm, "terms");
    assert_true(json_array_size(terms) >= 10);
    json_t *reg = json_object_get(json_object_get(t, "derived"), "fodelseregion");
    json_t *map = json_object_get(reg, "map");
    const char *def = json_string_value(json_object_get(reg, "default"));
    assert_non_null(map);
    assert_non_null(def);

    /* At least one interaction, and it is named as such. */
    int inter = 0;
    size_t ti;
    json_t *term;
    json_array_foreach(terms, ti, term)
    {
        inter += !strcmp(json_string_value(json_object_get(term, "type")), "interaction");
    }
    assert_true(inter >= 1);

    snprintf(p, sizeof p, "%s/truth.csv", tmpdir);
    char *text = slurp(p, NULL);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    char *hdr[MAXF];
    char *hline = strdup(line);
    int nh = split(hline, hdr, MAXF);
    int i_p = col_index(hdr, nh, "p_sann_180d");
    int i_y90 = col_index(hdr, nh, "arbete_studier_90d");
    int i_y180 = col_index(hdr, nh, "arbete_studier_180d");
    long rows = 0, y90 = 0, y180 = 0;
    double maxdiff = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f[MAXF];
        assert_int_equal(split(line, f, MAXF), nh);
        double eta = b0;
        json_array_foreach(terms, ti, term)
        {
            const char *type = json_string_value(json_object_get(term, "type"));
            double v;
            if (!strcmp(type, "interaction")) {
                v = 1.0;
                size_t fi;
                json_t *fac;
                json_array_foreach(json_object_get(term, "factors"), fi, fac)
                {
                    v *= eval_factor(fac, hdr, nh, f, map, def);
                }
            } else {
                v = eval_factor(term, hdr, nh, f, map, def);
            }
            eta += json_number_value(json_object_get(term, "coefficient")) * v;
        }
        double pr = 1.0 / (1.0 + exp(-eta));
        double d = fabs(pr - strtod(f[i_p], NULL));
        if (d > maxdiff)
            maxdiff = d;
        rows++;
        y90 += f[i_y90][0] == '1';
        y180 += f[i_y180][0] == '1';
    }
    assert_int_equal(rows, N);
    assert_true(maxdiff < 1e-9);
    json_t *re = json_object_get(t, "realised");
    assert_true(fabs(json_number_value(json_object_get(re, "rate_90d")) - (double) y90 / N) <
                1e-12);
    assert_true(fabs(json_number_value(json_object_get(re, "rate_180d")) - (double) y180 / N) <
                1e-12);
    free(hline);
    free(text);
    json_decref(t);
}

/* ------------------------------------------------------------------------ */
/* Calibration of the ground truth                                           */

typedef struct pl {
    double p;
    int y;
} pl;

static int cmp_pl(const void *a, const void *b)
{
    double x = ((const pl *) a)->p, y = ((const pl *) b)->p;
    return (x > y) - (x < y);
}

static void test_auc_and_base_rates(void **state)
{
    enum { N = 50000 };
    pf_synth_options o = options(N, 20200330, 0);
    pf_synth *g = NULL;
    pf_error err = {0};
    assert_int_equal(pf_synth_new(&g, &o, &err), 0);
    pl *v = malloc(N * sizeof *v);
    long y90 = 0, y180 = 0;
    pf_synth_row row;
    for (int i = 0; i < N; i++) {
        pf_synth_next(g, &row);
        assert_true(row.y180 >= row.y90);
        assert_true(fabs(row.logit180 - pf_synth_logit180(&row)) == 0.0);
        assert_true(fabs(row.p90 - 1.0 / (1.0 + exp(-(row.logit180 - pf_synth_delta90())))) <
                    1e-12);
        v[i].p = row.p180;
        v[i].y = row.y180;
        y90 += row.y90;
        y180 += row.y180;
    }
    pf_synth_free(g);

    /* Mann-Whitney: AUC = (sum of positive ranks - n1(n1+1)/2) / (n1 n0),
     * with tied p given their average rank. */
    qsort(v, N, sizeof *v, cmp_pl);
    double rank_sum = 0;
    for (int i = 0; i < N;) {
        int j = i;
        while (j < N && v[j].p == v[i].p)
            j++;
        double avg = (i + 1 + j) / 2.0;
        for (int k = i; k < j; k++)
            if (v[k].y)
                rank_sum += avg;
        i = j;
    }
    double n1 = (double) y180, n0 = N - n1;
    double auc = (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0);
    print_message("true-model AUC %.4f, base rate 180d %.4f, 90d %.4f\n", auc, n1 / N,
                  (double) y90 / N);
    assert_true(auc > 0.70 && auc < 0.80);
    assert_true(n1 / N > 0.30 && n1 / N < 0.40);
    assert_true((double) y90 / N > 0.18 && (double) y90 / N < 0.27);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_bytes),
        cmocka_unit_test(test_files_identical),
        cmocka_unit_test(test_one_row),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_rows_valid),
        cmocka_unit_test(test_areas_fixed),
        cmocka_unit_test(test_marginals),
        cmocka_unit_test(test_truth_recomputes_p),
        cmocka_unit_test(test_auc_and_base_rates),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
