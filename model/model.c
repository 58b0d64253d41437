/*
 * model.c - model files: load, save, linear predictor (see model.h).
 *
 * The file is written with jansson at 17 significant digits, so every
 * double reads back bit for bit, and keys in a fixed order, so the same
 * model always gives the same bytes (and the same SHA-256 id).
 */
#include "profil/model.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "profil/gbdt.h"
#include "profil/jsonkeys.h"
#include "profil/outfile.h"
#include "profil/version.h"

int pf_model_new(pf_model **out, const pf_schema *s, const char *kind, const char *label,
                 pf_encoder *enc, pf_error *err)
{
    *out = NULL;
    pf_model *m = calloc(1, sizeof *m);
    if (!m)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    m->schema = s;
    m->kind = strdup(kind);
    m->label = strdup(label ? label : "");
    m->enc = enc;
    size_t p = enc->nterms ? enc->nterms : 1;
    m->coef = calloc(p, sizeof *m->coef);
    m->meta = json_object();
    if (!m->kind || !m->label || !m->coef || !m->meta) {
        m->enc = NULL; /* not taken over on failure */
        pf_model_free(m);
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    }
    *out = m;
    return 0;
}

void pf_model_free(pf_model *m)
{
    if (!m)
        return;
    free(m->kind);
    free(m->label);
    pf_encoder_free(m->enc);
    free(m->coef);
    free(m->se);
    free(m->cov);
    free(m->ref);
    json_decref(m->meta);
    pf_gbdt_free(m->gbdt);
    free(m);
}

double pf_model_logit(const pf_model *m, const pf_frame *f, size_t i)
{
    if (m->gbdt) {
        double x[256], eta;
        double *xp = m->gbdt->nfeat <= 256 ? x : malloc(m->gbdt->nfeat * sizeof *xp);
        if (!xp)
            return NAN;
        pf_gbdt_gather(m->gbdt, f, i, 1, xp);
        pf_gbdt_predict(m->gbdt, xp, 1, &eta);
        if (xp != x)
            free(xp);
        return eta;
    }
    double eta = 0;
    for (size_t j = 0; j < m->enc->nterms; j++)
        eta += m->coef[j] * pf_encoder_value(m->enc, j, f, i);
    return eta;
}

static json_t *real_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* The logistic model's terms and covariance. */
static void terms_json(const pf_model *m, json_t *root)
{
    const pf_encoder *e = m->enc;
    size_t p = e->nterms;
    json_t *terms = json_array();
    for (size_t j = 0; j < p; j++) {
        json_t *t = json_object();
        json_object_set_new(t, "name", json_string(e->terms[j].name));
        json_object_set_new(t, "term", json_string(e->terms[j].expr));
        json_object_set_new(t, "level", json_string(e->terms[j].level));
        json_object_set_new(t, "coefficient", real_or_null(m->coef[j]));
        if (m->se)
            json_object_set_new(t, "std_error", real_or_null(m->se[j]));
        if (m->ref)
            json_object_set_new(t, "reference_value", real_or_null(m->ref[j]));
        json_array_append_new(terms, t);
    }
    json_object_set_new(root, "terms", terms);
    if (m->cov) {
        json_t *cov = json_array();
        for (size_t i = 0; i < p; i++) {
            json_t *row = json_array();
            for (size_t j = 0; j < p; j++)
                json_array_append_new(row, real_or_null(m->cov[i * p + j]));
            json_array_append_new(cov, row);
        }
        json_object_set_new(root, "covariance", cov);
    } else {
        json_object_set_new(root, "covariance", json_null());
    }
}

int pf_model_save(pf_model *m, const char *path, pf_error *err)
{
    json_t *root = json_object();
    json_t *schema = json_object();
    json_object_set_new(root, "format", json_string(PF_MODEL_FORMAT));
    json_object_set_new(root, "kind", json_string(m->kind));
    json_object_set_new(root, "software", json_string("profil " PROFIL_VERSION_STRING));
    json_object_set_new(schema, "name", json_string(m->schema->name));
    json_object_set_new(schema, "version", json_string(m->schema->version));
    json_object_set_new(schema, "sha256", json_string(m->schema->sha256));
    json_object_set_new(root, "schema", schema);
    json_object_set_new(root, "label", json_string(m->label));
    if (m->gbdt)
        pf_gbdt_to_json(m->gbdt, m->schema, root);
    else
        terms_json(m, root);
    const char *key;
    json_t *v;
    json_object_foreach(m->meta, key, v)
    {
        if (!json_object_get(root, key))
            json_object_set(root, key, v);
    }
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text)
        return pf_error_set(err, PF_ENOMEM, "out of memory writing %s", path);
    size_t n = strlen(text);
    text[n] = '\n'; /* replaces the NUL; written with its length */
    pf_sha256 h;
    pf_sha256_init(&h);
    pf_sha256_update(&h, text, n + 1);
    pf_outfile *o;
    int rc = pf_outfile_open(&o, path, err);
    if (!rc) {
        pf_outfile_write(o, text, n + 1);
        rc = pf_outfile_commit(o, err);
    }
    free(text);
    if (!rc)
        pf_sha256_hex(&h, m->sha256);
    return rc;
}

static int fail(pf_error *err, const char *path, const char *what)
{
    return pf_error_set(err, PF_EFORMAT, "%s: %s", path, what);
}

static int read_number(json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_null(v)) {
        *out = NAN;
        return 0;
    }
    return -1;
}

/* A gbdt model: an encoder without terms, and the trees. */
static int load_trees(const json_t *root, const char *path, const pf_schema *s, const char *label,
                      pf_model **out, pf_error *err)
{
    pf_encoder *enc;
    int rc = pf_encoder_new(&enc, s, err);
    if (rc)
        return rc;
    if ((rc = pf_model_new(out, s, "gbdt", label, enc, err))) {
        pf_encoder_free(enc);
        return rc;
    }
    return pf_gbdt_from_json(&(*out)->gbdt, root, s, path, err);
}

int pf_model_load(pf_model **out, const char *path, const pf_schema *s, pf_error *err)
{
    *out = NULL;
    json_t *root;
    char hex[PF_SHA256_HEX];
    int rc = pf_json_load_file(path, PF_EFORMAT, PF_EFORMAT, &root, hex, err);
    if (rc)
        return rc;
    pf_encoder *enc = NULL;
    pf_model *m = NULL;
    const char *format = json_string_value(json_object_get(root, "format"));
    const char *kind = json_string_value(json_object_get(root, "kind"));
    const char *label = json_string_value(json_object_get(root, "label"));
    json_t *schema = json_object_get(root, "schema");
    const char *sname = json_string_value(json_object_get(schema, "name"));
    const char *sversion = json_string_value(json_object_get(schema, "version"));
    json_t *terms = json_object_get(root, "terms");
    json_t *cov = json_object_get(root, "covariance");
    if (!format || strcmp(format, PF_MODEL_FORMAT) != 0) {
        rc = fail(err, path, "not a profil model file (format " PF_MODEL_FORMAT ")");
        goto out;
    }
    int gbdt = kind && strcmp(kind, "gbdt") == 0;
    if (!kind || (strcmp(kind, "logit") != 0 && !gbdt)) {
        rc = pf_error_set(err, PF_EFORMAT, "%s: model kind '%s' is not supported", path,
                          kind ? kind : "(none)");
        goto out;
    }
    if (!sname || !sversion || strcmp(sname, s->name) != 0 || strcmp(sversion, s->version) != 0) {
        rc = pf_error_set(
            err, PF_EINVAL, "%s: the model was built on schema %s %s, not on %s %s (%s)", path,
            sname ? sname : "?", sversion ? sversion : "?", s->name, s->version, s->path);
        goto out;
    }
    if (gbdt) {
        if ((rc = load_trees(root, path, s, label, &m, err)))
            goto out;
        goto meta;
    }
    if (!json_is_array(terms) || json_array_size(terms) == 0) {
        rc = fail(err, path, "'terms' must be a non-empty array");
        goto out;
    }
    if ((rc = pf_encoder_new(&enc, s, err)))
        goto out;
    size_t p = json_array_size(terms);
    int has_se = 1;
    size_t nref = 0;
    for (size_t j = 0; j < p; j++) {
        json_t *t = json_array_get(terms, j);
        const char *expr = json_string_value(json_object_get(t, "term"));
        const char *level = json_string_value(json_object_get(t, "level"));
        if (!expr) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: term %zu has no 'term'", path, j + 1);
            goto out;
        }
        if ((rc = pf_encoder_add(enc, expr, level, err))) {
            char why[PF_ERROR_MAX];
            snprintf(why, sizeof why, "%s", err ? err->message : "");
            rc = pf_error_set(err, rc, "%s: %s", path, why);
            goto out;
        }
        has_se &= json_object_get(t, "std_error") != NULL;
        nref += json_object_get(t, "reference_value") != NULL;
    }
    if (nref && nref != p) {
        rc = fail(err, path, "either every term or none has a 'reference_value'");
        goto out;
    }
    if ((rc = pf_encoder_check_missing(enc, err)))
        goto out;
    if ((rc = pf_model_new(&m, s, kind, label, enc, err)))
        goto out;
    enc = NULL;
    if ((has_se && !(m->se = malloc(p * sizeof *m->se))) ||
        (nref && !(m->ref = malloc(p * sizeof *m->ref)))) {
        rc = pf_error_set(err, PF_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t j = 0; j < p; j++) {
        json_t *t = json_array_get(terms, j);
        if (read_number(json_object_get(t, "coefficient"), &m->coef[j]) || !isfinite(m->coef[j])) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: term '%s' has no finite coefficient", path,
                              m->enc->terms[j].name);
            goto out;
        }
        if (m->se && read_number(json_object_get(t, "std_error"), &m->se[j])) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: term '%s': bad std_error", path,
                              m->enc->terms[j].name);
            goto out;
        }
        if (m->ref && (read_number(json_object_get(t, "reference_value"), &m->ref[j]) ||
                       !isfinite(m->ref[j]))) {
            rc = pf_error_set(err, PF_EFORMAT, "%s: term '%s': bad reference_value", path,
                              m->enc->terms[j].name);
            goto out;
        }
    }
    if (json_is_array(cov)) {
        if (json_array_size(cov) != p || !(m->cov = malloc(p * p * sizeof *m->cov))) {
            rc = fail(err, path, "'covariance' must be a p x p array");
            goto out;
        }
        for (size_t i = 0; i < p; i++) {
            json_t *row = json_array_get(cov, i);
            if (!json_is_array(row) || json_array_size(row) != p) {
                rc = fail(err, path, "'covariance' must be a p x p array");
                goto out;
            }
            for (size_t j = 0; j < p; j++)
                if (read_number(json_array_get(row, j), &m->cov[i * p + j])) {
                    rc = fail(err, path, "'covariance' holds a non-number");
                    goto out;
                }
        }
    }
meta:;
    static const char *const own[] = {"format",     "kind",           "software",   "schema",
                                      "label",      "terms",          "covariance", "features",
                                      "base_score", "expected_value", "trees",      NULL};
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        int skip = 0;
        for (const char *const *o = own; *o; o++)
            skip |= strcmp(*o, key) == 0;
        if (!skip)
            json_object_set(m->meta, key, v);
    }
    memcpy(m->sha256, hex, sizeof m->sha256);
out:
    json_decref(root);
    pf_encoder_free(enc);
    if (rc) {
        pf_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
