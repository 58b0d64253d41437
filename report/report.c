/*
 * report.c - builds the evaluation report (see report.h).
 *
 * The report is a sequence of blocks (headings, paragraphs, tables, code,
 * figures). Each block is written twice: as notebook cells (markdown, or
 * code with its image output) and as HTML. Text uses two inline marks,
 * `code` and **bold**, which are markdown already and become <code> and
 * <strong> in HTML; everything else is escaped.
 */
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

const char *const pf_report_tables[] = {"metrics",  "calibration", "roc", "decisions",
                                        "fairness", "score_hist",  NULL};

/* Dimensions with more groups than this get no distribution plot, and their
 * tables show the largest groups only (the CSV has all). */
#define MAX_PLOT_GROUPS  10
#define MAX_TABLE_GROUPS 30

/* ---- text buffers ---- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t) n < sizeof tmp) {
        sb_add(b, tmp, (size_t) n);
        return;
    }
    char *big = malloc((size_t) n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t) n + 1, fmt, ap);
    va_end(ap);
    sb_add(b, big, (size_t) n);
    free(big);
}

static void html_escape(sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '<':
            sb_puts(b, "&lt;");
            break;
        case '>':
            sb_puts(b, "&gt;");
            break;
        case '&':
            sb_puts(b, "&amp;");
            break;
        case '"':
            sb_puts(b, "&quot;");
            break;
        default:
            sb_add(b, s + i, 1);
        }
    }
}

/* Inline marks to HTML: `code`, **bold**. */
static void html_inline(sbuf *b, const char *s)
{
    int code = 0, bold = 0;
    while (*s) {
        if (*s == '`') {
            sb_puts(b, code ? "</code>" : "<code>");
            code = !code;
            s++;
        } else if (!code && s[0] == '*' && s[1] == '*') {
            sb_puts(b, bold ? "</strong>" : "<strong>");
            bold = !bold;
            s += 2;
        } else {
            html_escape(b, s, 1);
            s++;
        }
    }
    if (code)
        sb_puts(b, "</code>");
    if (bold)
        sb_puts(b, "</strong>");
}

/* Text for a markdown table cell: '|' escaped, no line breaks. */
static void md_cell(sbuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            sb_puts(b, "\\|");
        else if (*s == '\n' || *s == '\r')
            sb_puts(b, " ");
        else
            sb_add(b, s, 1);
    }
}

/* ---- the document ---- */

typedef struct rdoc {
    json_t *cells; /* notebook cells */
    sbuf md;       /* the markdown cell being built */
    sbuf html;
    int ncells;
    pf_report *out;
    int failed;
} rdoc;

static json_t *source_lines(const char *text)
{
    json_t *a = json_array();
    const char *s = text;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t) (nl - s) + 1 : strlen(s);
        json_array_append_new(a, json_stringn(s, n));
        s += n;
    }
    return a;
}

static void add_cell(rdoc *d, json_t *cell)
{
    char id[32];
    snprintf(id, sizeof id, "cell-%03d", ++d->ncells);
    if (!cell || json_object_set_new(cell, "id", json_string(id)) ||
        json_array_append_new(d->cells, cell))
        d->failed = 1;
}

/* Ends the markdown cell being built. */
static void flush_md(rdoc *d)
{
    if (d->md.failed)
        d->failed = 1;
    if (d->md.n == 0)
        return;
    while (d->md.n && d->md.p[d->md.n - 1] == '\n')
        d->md.p[--d->md.n] = 0;
    add_cell(d, json_pack("{s:s,s:{},s:o}", "cell_type", "markdown", "metadata", "source",
                          source_lines(d->md.p)));
    d->md.n = 0;
    d->md.p[0] = 0;
}

static void heading(rdoc *d, int level, const char *text)
{
    flush_md(d); /* every section starts a cell */
    for (int k = 0; k < level; k++)
        sb_puts(&d->md, "#");
    sb_printf(&d->md, " %s\n\n", text);
    sb_printf(&d->html, "<h%d>", level);
    html_inline(&d->html, text);
    sb_printf(&d->html, "</h%d>\n", level);
}

static void para(rdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void para(rdoc *d, const char *fmt, ...)
{
    char text[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    sb_printf(&d->md, "%s\n\n", text);
    sb_puts(&d->html, "<p>");
    html_inline(&d->html, text);
    sb_puts(&d->html, "</p>\n");
}

static void bullets(rdoc *d, const char *const *items, size_t n)
{
    sb_puts(&d->html, "<ul>\n");
    for (size_t k = 0; k < n; k++) {
        sb_printf(&d->md, "- %s\n", items[k]);
        sb_puts(&d->html, "<li>");
        html_inline(&d->html, items[k]);
        sb_puts(&d->html, "</li>\n");
    }
    sb_puts(&d->md, "\n");
    sb_puts(&d->html, "</ul>\n");
}

/* A table of strings: ncols header cells, then nrows * ncols cells. Columns
 * whose align[c] is 'r' are right-aligned (numbers). */
static void table(rdoc *d, size_t ncols, const char *const *head, const char *align, char **cells,
                  size_t nrows)
{
    sbuf *m = &d->md, *h = &d->html;
    sb_puts(h, "<table>\n<thead><tr>");
    for (size_t c = 0; c < ncols; c++) {
        sb_puts(m, "| ");
        md_cell(m, head[c]);
        sb_puts(m, " ");
        sb_printf(h, "<th%s>", align[c] == 'r' ? " class=\"num\"" : "");
        html_escape(h, head[c], strlen(head[c]));
        sb_puts(h, "</th>");
    }
    sb_puts(m, "|\n");
    sb_puts(h, "</tr></thead>\n<tbody>\n");
    for (size_t c = 0; c < ncols; c++)
        sb_puts(m, align[c] == 'r' ? "| ---: " : "| --- ");
    sb_puts(m, "|\n");
    for (size_t r = 0; r < nrows; r++) {
        sb_puts(h, "<tr>");
        for (size_t c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c] ? cells[r * ncols + c] : "";
            sb_puts(m, "| ");
            md_cell(m, v);
            sb_puts(m, " ");
            sb_printf(h, "<td%s>", align[c] == 'r' ? " class=\"num\"" : "");
            html_escape(h, v, strlen(v));
            sb_puts(h, "</td>");
        }
        sb_puts(m, "|\n");
        sb_puts(h, "</tr>\n");
    }
    sb_puts(m, "\n");
    sb_puts(h, "</tbody>\n</table>\n");
}

/* A code cell (no output) and its HTML rendering. */
static void code(rdoc *d, const char *src)
{
    flush_md(d);
    add_cell(d, json_pack("{s:s,s:n,s:{},s:[],s:o}", "cell_type", "code", "execution_count",
                          "metadata", "outputs", "source", source_lines(src)));
    sb_puts(&d->html, "<pre class=\"code\"><code>");
    html_escape(&d->html, src, strlen(src));
    sb_puts(&d->html, "</code></pre>\n");
}

/* A figure: the PNG is kept for writing beside the notebook, shown by a
 * code cell that displays that file (its output is the image itself), and
 * inlined into the HTML. Takes over png. */
static void figure(rdoc *d, const char *name, unsigned char *png, size_t n, const char *caption)
{
    pf_report *r = d->out;
    pf_report_figure *f = realloc(r->figures, (r->nfigures + 1) * sizeof *f);
    char *b64 = pf_base64(png, n);
    if (!f || !b64) {
        free(b64);
        free(png);
        if (f)
            r->figures = f;
        d->failed = 1;
        return;
    }
    r->figures = f;
    f[r->nfigures].name = strdup(name);
    f[r->nfigures].png = png;
    f[r->nfigures].n = n;
    r->nfigures++;
    sb_printf(&d->md, "%s\n", caption); /* the HTML has it as the figure's caption */
    flush_md(d);
    char src[512];
    snprintf(src, sizeof src,
             "from IPython.display import Image\nImage(filename=\"%s\")  # %s in the folder", name,
             name);
    json_t *out =
        json_pack("{s:s,s:{s:s,s:[s]},s:{}}", "output_type", "display_data", "data", "image/png",
                  b64, "text/plain", "<IPython.core.display.Image object>", "metadata");
    add_cell(d, json_pack("{s:s,s:n,s:{},s:[o],s:o}", "cell_type", "code", "execution_count",
                          "metadata", "outputs", out, "source", source_lines(src)));
    sb_printf(&d->html, "<figure><img alt=\"%s\" src=\"data:image/png;base64,", name);
    sb_puts(&d->html, b64);
    sb_puts(&d->html, "\"><figcaption>");
    html_inline(&d->html, caption);
    sb_puts(&d->html, "</figcaption></figure>\n");
    free(b64);
}

/* ---- reading the evaluation ---- */

static const json_t *rows_of(const json_t *doc, const char *table)
{
    return json_object_get(json_object_get(json_object_get(doc, "tables"), table), "rows");
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const char *path_str(const json_t *doc, const char *obj, const char *key)
{
    return str(json_object_get(doc, obj), key);
}

int pf_report_check(const json_t *doc, pf_error *err)
{
    if (!json_is_object(doc))
        return pf_error_set(err, PF_EFORMAT, "eval.json: not a JSON object");
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    if (!fmt || strcmp(fmt, PF_EVAL_FORMAT))
        return pf_error_set(err, PF_EFORMAT, "eval.json: format is not '%s'", PF_EVAL_FORMAT);
    static const char *const objects[] = {"input",   "model",  "policy", "label",    "counts",
                                          "overall", "tables", "files",  "positive", NULL};
    for (int k = 0; objects[k]; k++)
        if (!json_is_object(json_object_get(doc, objects[k])))
            return pf_error_set(err, PF_EFORMAT, "eval.json: '%s' is missing or not an object",
                                objects[k]);
    if (!json_is_array(json_object_get(doc, "dimensions")))
        return pf_error_set(err, PF_EFORMAT, "eval.json: 'dimensions' is not an array");
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(doc, "dimensions"), i, v)
    {
        if (!json_is_string(json_object_get(v, "name")) ||
            !json_is_array(json_object_get(v, "groups")))
            return pf_error_set(err, PF_EFORMAT, "eval.json: dimensions[%zu] lacks name or groups",
                                i);
    }
    for (int k = 0; pf_report_tables[k]; k++) {
        const json_t *t = json_object_get(json_object_get(doc, "tables"), pf_report_tables[k]);
        const json_t *rows = json_object_get(t, "rows");
        if (!json_is_array(rows) || !json_is_array(json_object_get(t, "columns")))
            return pf_error_set(err, PF_EFORMAT, "eval.json: table '%s' is missing",
                                pf_report_tables[k]);
        json_array_foreach(rows, i, v)
        {
            if (!json_is_object(v))
                return pf_error_set(err, PF_EFORMAT,
                                    "eval.json: table '%s' row %zu is not an object",
                                    pf_report_tables[k], i + 1);
        }
    }
    static const char *const counts[] = {"rows_read", "rows_rejected", "rows_unlabelled",
                                         "rows_evaluated", NULL};
    for (int k = 0; counts[k]; k++)
        if (!json_is_integer(json_object_get(json_object_get(doc, "counts"), counts[k])))
            return pf_error_set(err, PF_EFORMAT, "eval.json: counts.%s is not an integer",
                                counts[k]);
    return 0;
}

/* ---- formatting numbers ---- */

static char *fmt(const char *f, double v)
{
    char buf[64];
    if (!isfinite(v))
        return strdup("–");
    snprintf(buf, sizeof buf, f, v);
    return strdup(buf);
}

static char *pct(double v)
{
    return fmt("%.1f %%", 100 * v);
}

static char *cnt(double v)
{
    return fmt("%.0f", v);
}

static void free_cells(char **cells, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(cells[k]);
    free(cells);
}

/* ---- sections ---- */

static void section_intro(rdoc *d, const json_t *doc_)
{
    const json_t *c = json_object_get(doc_, "counts");
    char title[256];
    snprintf(title, sizeof title, "Utvärdering: %s under %s", path_str(doc_, "model", "label"),
             path_str(doc_, "policy", "name"));
    heading(d, 1, title);
    para(d,
         "This report evaluates how well and how fairly a profiling model and a policy assign "
         "a labelled population. Every row was decided by `profil eval` with the same decision "
         "function as batch scoring (`pf_decide`), then compared with its outcome `%s` (%s). "
         "The tables are in the CSV files beside this notebook; the code cells below reload "
         "them with pandas.",
         path_str(doc_, "label", "column"), path_str(doc_, "label", "label"));
    static const char *const head[] = {"", "value"};
    char *cells[2 * 12] = {0};
    size_t n = 0;
#define ROW(k, v)                                                                                  \
    do {                                                                                           \
        cells[2 * n] = strdup(k);                                                                  \
        cells[2 * n + 1] = strdup(v);                                                              \
        n++;                                                                                       \
    } while (0)
    char buf[512];
    ROW("input", path_str(doc_, "input", "path"));
    ROW("input SHA-256", path_str(doc_, "input", "sha256"));
    snprintf(buf, sizeof buf, "%s (%s)", path_str(doc_, "model", "path"),
             path_str(doc_, "model", "kind"));
    ROW("model", buf);
    ROW("model SHA-256", path_str(doc_, "model", "sha256"));
    snprintf(buf, sizeof buf, "%s %s (%s, from %s)", path_str(doc_, "policy", "name"),
             path_str(doc_, "policy", "version"), path_str(doc_, "policy", "service"),
             path_str(doc_, "policy", "valid_from"));
    ROW("policy", buf);
    ROW("policy SHA-256", path_str(doc_, "policy", "sha256"));
    ROW("software", str(doc_, "software"));
    static const char *const keys[] = {"rows_read", "rows_rejected", "rows_unlabelled",
                                       "rows_evaluated"};
    static const char *const names[] = {"rows read", "rows rejected (see rejects.csv)",
                                        "rows without an outcome", "rows evaluated"};
    for (int k = 0; k < 4; k++) {
        snprintf(buf, sizeof buf, "%.0f", num(c, keys[k]));
        ROW(names[k], buf);
    }
#undef ROW
    table(d, 2, head, "lr", cells, n);
    for (size_t k = 0; k < 2 * n; k++)
        free(cells[k]);
    para(d, "Rows read = rows rejected + rows without an outcome + rows evaluated. All rates "
            "below are of the evaluated rows, unweighted.");
    code(d, "import pandas as pd\n"
            "\n"
            "metrics = pd.read_csv(\"metrics.csv\")\n"
            "calibration = pd.read_csv(\"calibration.csv\")\n"
            "roc = pd.read_csv(\"roc.csv\")\n"
            "decisions = pd.read_csv(\"decisions.csv\", dtype={\"code\": str})\n"
            "fairness = pd.read_csv(\"fairness.csv\", dtype={\"group\": str}, "
            "keep_default_na=False, na_values=[\"\"])\n"
            "score_hist = pd.read_csv(\"score_hist.csv\", dtype={\"group\": str}, "
            "keep_default_na=False, na_values=[\"\"])\n"
            "metrics");
}

static unsigned char *finish_plot(rdoc *d, pf_plot *p, size_t *n)
{
    unsigned char *png = NULL;
    pf_error e;
    if (!p || pf_plot_png(p, &png, n, &e))
        d->failed = 1;
    pf_plot_free(p);
    return png;
}

static void section_discrimination(rdoc *d, const json_t *doc_)
{
    const json_t *o = json_object_get(doc_, "overall");
    const json_t *auc = json_object_get(o, "auc");
    heading(d, 2, "Discrimination");
    if (json_is_object(auc))
        para(d,
             "The AUC is the probability that a person who reached work or studies got a higher "
             "p than one who did not (ties count half): 0.5 is chance, 1 perfect ordering. Here "
             "**AUC = %.4f** (95 %% confidence interval %.4f–%.4f, DeLong's method). Typical "
             "profiling models reach 0.65–0.80.",
             num(auc, "value"), num(auc, "ci_lo"), num(auc, "ci_hi"));
    else
        para(d, "Only one outcome occurs among the evaluated rows, so there is no AUC and no "
                "calibration fit.");
    para(d,
         "Log-loss (mean negative log-likelihood, natural log) is %.4f and the Brier score "
         "(mean squared error of p) %.4f, at a base rate of %.4f.",
         num(o, "log_loss"), num(o, "brier"), num(o, "base_rate"));
    const json_t *rows = rows_of(doc_, "metrics");
    static const char *const head[] = {"metric", "value", "se", "95 % CI"};
    size_t n = json_array_size(rows);
    char **cells = calloc(4 * (n ? n : 1), sizeof *cells);
    size_t i;
    const json_t *r;
    if (!cells) {
        d->failed = 1;
        return;
    }
    json_array_foreach(rows, i, r)
    {
        cells[4 * i] = strdup(str(r, "metric"));
        cells[4 * i + 1] = fmt("%.4f", num(r, "value"));
        cells[4 * i + 2] = fmt("%.4f", num(r, "se"));
        char ci[64] = "–";
        if (isfinite(num(r, "ci_lo")) && isfinite(num(r, "ci_hi")))
            snprintf(ci, sizeof ci, "%.4f–%.4f", num(r, "ci_lo"), num(r, "ci_hi"));
        cells[4 * i + 3] = strdup(ci);
    }
    table(d, 4, head, "lrrr", cells, n);
    free_cells(cells, 4 * n);

    const json_t *roc = rows_of(doc_, "roc");
    size_t m = json_array_size(roc);
    double *x = calloc(m + 2, sizeof *x), *y = calloc(m + 2, sizeof *y);
    pf_plot *p = NULL;
    pf_error e;
    if (!x || !y || pf_plot_new(&p, 640, 520, "ROC-kurva", PF_PLOT_LEGEND_BOTTOM_RIGHT, &e)) {
        free(x), free(y);
        d->failed = 1;
        return;
    }
    json_array_foreach(roc, i, r)
    {
        x[i] = num(r, "fpr");
        y[i] = num(r, "tpr");
    }
    pf_plot_axes(p, 0, 1, 0, 1, "Andel falskt positiva (1 - specificitet)",
                 "Andel sant positiva (sensitivitet)", 0, 0);
    double dx[2] = {0, 1}, dy[2] = {0, 1};
    pf_plot_line(p, dx, dy, 2, 8, 1, "slump");
    char lab[64] = "modellen";
    if (json_is_object(auc))
        snprintf(lab, sizeof lab, "modellen (AUC %.3f)", num(auc, "value"));
    pf_plot_line(p, x, y, m, 0, 0, lab);
    free(x), free(y);
    size_t pn;
    unsigned char *png = finish_plot(d, p, &pn);
    if (png)
        figure(d, "roc.png", png, pn,
               "ROC curve: for every threshold t, the share of those who reached work or studies "
               "with p >= t against the share of those who did not (roc.csv).");
    code(d, "roc.tail()");
}

static void section_calibration(rdoc *d, const json_t *doc_)
{
    const json_t *c = json_object_get(json_object_get(doc_, "overall"), "calibration");
    heading(d, 2, "Calibration");
    if (json_is_object(c))
        para(d,
             "Calibration asks whether p means what it says. The **calibration intercept** "
             "(calibration in the large) is a in logit P(y) = a + logit(p): 0 when the mean "
             "prediction matches the outcome rate, positive when the model is too pessimistic. "
             "Here a = %.4f (se %.4f). The **calibration slope** b in logit P(y) = a + b logit(p) "
             "is 1 for a well calibrated model and below 1 when predictions are too extreme; "
             "here b = %.4f (se %.4f).",
             num(c, "intercept"), num(c, "intercept_se"), num(c, "slope"), num(c, "slope_se"));
    para(d, "The table sorts the rows by p into groups of nearly equal size (rows with equal p "
            "stay together) and compares the mean p of each with its observed rate, with a 95 %% "
            "Wilson interval.");
    const json_t *rows = rows_of(doc_, "calibration");
    size_t n = json_array_size(rows), i;
    const json_t *r;
    static const char *const head[] = {"group",  "rows",     "p from", "p to",
                                       "mean p", "observed", "95 % CI"};
    char **cells = calloc(7 * (n ? n : 1), sizeof *cells);
    double *mp = calloc(n + 1, sizeof *mp), *ob = calloc(n + 1, sizeof *ob),
           *lo = calloc(n + 1, sizeof *lo), *hi = calloc(n + 1, sizeof *hi);
    if (!cells || !mp || !ob || !lo || !hi) {
        free(cells), free(mp), free(ob), free(lo), free(hi);
        d->failed = 1;
        return;
    }
    double top = 0;
    json_array_foreach(rows, i, r)
    {
        mp[i] = num(r, "mean_p");
        ob[i] = num(r, "observed");
        lo[i] = num(r, "observed_lo");
        hi[i] = num(r, "observed_hi");
        top = fmax(top, fmax(hi[i], mp[i]));
        cells[7 * i] = cnt(num(r, "bin"));
        cells[7 * i + 1] = cnt(num(r, "n"));
        cells[7 * i + 2] = fmt("%.4f", num(r, "p_min"));
        cells[7 * i + 3] = fmt("%.4f", num(r, "p_max"));
        cells[7 * i + 4] = fmt("%.4f", mp[i]);
        cells[7 * i + 5] = fmt("%.4f", ob[i]);
        char ci[64];
        snprintf(ci, sizeof ci, "%.4f–%.4f", lo[i], hi[i]);
        cells[7 * i + 6] = strdup(ci);
    }
    table(d, 7, head, "rrrrrrr", cells, n);
    free_cells(cells, 7 * n);
    pf_plot *p = NULL;
    pf_error e;
    double lim = top > 0 && isfinite(top) ? fmin(1, ceil(top * 10 + 0.5) / 10) : 1;
    if (pf_plot_new(&p, 640, 520, "Kalibrering", PF_PLOT_LEGEND_TOP_LEFT, &e) == 0) {
        pf_plot_axes(p, 0, lim, 0, lim, "Medelvärde av p i gruppen",
                     "Observerad andel i arbete eller studier", 0, 0);
        double dx[2] = {0, 1}, dy[2] = {0, 1};
        pf_plot_line(p, dx, dy, 2, 8, 1, "perfekt kalibrering");
        pf_plot_line(p, mp, ob, n, 0, 0, NULL);
        pf_plot_points(p, mp, ob, lo, hi, n, 0, "grupper efter p (95 % KI)");
        size_t pn;
        unsigned char *png = finish_plot(d, p, &pn);
        if (png)
            figure(d, "calibration.png", png, pn,
                   "Calibration: observed rate against mean p per group of the table above "
                   "(calibration.csv); points on the diagonal are well calibrated.");
    } else
        d->failed = 1;
    free(mp), free(ob), free(lo), free(hi);
    code(d, "calibration");
}

static void section_decisions(rdoc *d, const json_t *doc_)
{
    heading(d, 2, "Outcomes by decision");
    para(d, "How many in each group, level or track, eligibility state and target group "
            "reached work or studies, with the rate's 95 %% Wilson interval, the mean p there and "
            "the difference observed minus expected (rate minus mean p). A target group row "
            "counts everyone the flag applies to, so those rows overlap.");
    const json_t *rows = rows_of(doc_, "decisions");
    size_t n = json_array_size(rows), i;
    const json_t *r;
    static const char *const head[] = {
        "kind",     "code", "label",   "rows",   "share",
        "outcomes", "rate", "95 % CI", "mean p", "observed − expected"};
    char **cells = calloc(10 * (n ? n : 1), sizeof *cells);
    double *rate = calloc(n + 1, sizeof *rate), *lo = calloc(n + 1, sizeof *lo),
           *hi = calloc(n + 1, sizeof *hi), *mp = calloc(n + 1, sizeof *mp),
           *xs = calloc(n + 1, sizeof *xs);
    char **labels = calloc(n + 1, sizeof *labels);
    if (!cells || !rate || !lo || !hi || !mp || !xs || !labels) {
        free(cells), free(rate), free(lo), free(hi), free(mp), free(xs), free(labels);
        d->failed = 1;
        return;
    }
    size_t nplot = 0;
    json_array_foreach(rows, i, r)
    {
        cells[10 * i] = strdup(str(r, "kind"));
        cells[10 * i + 1] = strdup(str(r, "code"));
        cells[10 * i + 2] = strdup(str(r, "label"));
        cells[10 * i + 3] = cnt(num(r, "n"));
        cells[10 * i + 4] = pct(num(r, "share"));
        cells[10 * i + 5] = cnt(num(r, "outcomes"));
        cells[10 * i + 6] = pct(num(r, "rate"));
        char ci[64] = "–";
        if (isfinite(num(r, "rate_lo")))
            snprintf(ci, sizeof ci, "%.1f–%.1f %%", 100 * num(r, "rate_lo"),
                     100 * num(r, "rate_hi"));
        cells[10 * i + 7] = strdup(ci);
        cells[10 * i + 8] = fmt("%.4f", num(r, "mean_p"));
        cells[10 * i + 9] = fmt("%+.4f", num(r, "o_minus_e"));
        const char *kind = str(r, "kind");
        if (!strcmp(kind, "grupp") || !strcmp(kind, "niva") || !strcmp(kind, "spar")) {
            char lab[64];
            snprintf(lab, sizeof lab, "%s %s",
                     !strcmp(kind, "grupp")  ? "grupp"
                     : !strcmp(kind, "niva") ? "nivå"
                                             : "spår",
                     str(r, "code"));
            labels[nplot] = strdup(lab);
            rate[nplot] = num(r, "rate");
            lo[nplot] = num(r, "rate_lo");
            hi[nplot] = num(r, "rate_hi");
            mp[nplot] = num(r, "mean_p");
            xs[nplot] = (double) nplot + 0.5;
            nplot++;
        }
    }
    table(d, 10, head, "lllrrrrrrr", cells, n);
    free_cells(cells, 10 * n);
    pf_plot *p = NULL;
    pf_error e;
    if (nplot && pf_plot_new(&p, 720, 480, "Utfall per beslut", PF_PLOT_LEGEND_RIGHT, &e) == 0) {
        double top = 0;
        for (size_t k = 0; k < nplot; k++)
            top = fmax(top, fmax(hi[k], mp[k]));
        pf_plot_axes_categories(p, nplot, (const char *const *) labels, 0,
                                isfinite(top) && top > 0 ? fmin(1, ceil(top * 10 + 0.5) / 10) : 1,
                                NULL, "Andel i arbete eller studier", 1);
        pf_plot_points(p, xs, rate, lo, hi, nplot, 0, "observerad (95 % KI)");
        pf_plot_points(p, xs, mp, NULL, NULL, nplot, 1, "medelvärde av p");
        size_t pn;
        unsigned char *png = finish_plot(d, p, &pn);
        if (png)
            figure(d, "decisions.png", png, pn,
                   "Observed rate of work or studies and mean p per group and level or track "
                   "(decisions.csv).");
    } else if (nplot)
        d->failed = 1;
    for (size_t k = 0; k < nplot; k++)
        free(labels[k]);
    free(rate), free(lo), free(hi), free(mp), free(xs), free(labels);
    code(d, "decisions");
}

/* Rows of the fairness table for one dimension, in table order. */
static size_t dim_rows(const json_t *doc_, const char *dim, const json_t **out, size_t max)
{
    size_t i, n = 0;
    const json_t *r;
    json_array_foreach(rows_of(doc_, "fairness"), i, r)
    {
        if (!strcmp(str(r, "dimension"), dim) && n < max)
            out[n++] = r;
    }
    return n;
}

static int by_n_desc(const void *a, const void *b)
{
    double x = num(*(const json_t *const *) a, "n"), y = num(*(const json_t *const *) b, "n");
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The level or track columns the fairness table has (at most 4). */
static size_t level_cols(const json_t *doc_, const char **cols)
{
    static const char *const lv[] = {"niva_A", "niva_B", "niva_C"};
    static const char *const tr[] = {"spar_1", "spar_2", "spar_3", "spar_4"};
    const json_t *c =
        json_object_get(json_object_get(json_object_get(doc_, "tables"), "fairness"), "columns");
    size_t i, n = 0;
    const json_t *v;
    json_array_foreach(c, i, v)
    {
        const char *s = json_string_value(v);
        for (int k = 0; s && k < 3 && n < 4; k++)
            if (!strcmp(s, lv[k]))
                cols[n++] = lv[k];
        for (int k = 0; s && k < 4 && n < 4; k++)
            if (!strcmp(s, tr[k]))
                cols[n++] = tr[k];
    }
    return n;
}

static void fairness_dim(rdoc *d, const json_t *doc_, const json_t *dm)
{
    const char *name = str(dm, "name");
    char title[256];
    snprintf(title, sizeof title, "%s (`%s`)", str(dm, "label"), name);
    heading(d, 3, title);
    size_t cap = json_array_size(rows_of(doc_, "fairness"));
    const json_t **rs = calloc(cap + 1, sizeof *rs);
    if (!rs) {
        d->failed = 1;
        return;
    }
    size_t n = dim_rows(doc_, name, rs, cap);
    size_t shown = n;
    if (n > MAX_TABLE_GROUPS) {
        qsort(rs, n, sizeof *rs, by_n_desc);
        shown = MAX_TABLE_GROUPS;
        para(d, "%zu groups; the %d largest are shown here, all are in `fairness.csv`.", n,
             MAX_TABLE_GROUPS);
    }
    const char *lc[4];
    size_t nl = level_cols(doc_, lc);
    const char *head[24];
    char align[24];
    size_t nc = 0;
    static const char *const h1[] = {"group", "rows", "share", "grupp 1", "grupp 2", "grupp 3"};
    for (int k = 0; k < 6; k++)
        head[nc] = h1[k], align[nc++] = k ? 'r' : 'l';
    static const char *const lnames[] = {"niva_A", "nivå A", "niva_B", "nivå B", "niva_C",
                                         "nivå C", "spar_1", "spår 1", "spar_2", "spår 2",
                                         "spar_3", "spår 3", "spar_4", "spår 4"};
    for (size_t k = 0; k < nl; k++)
        for (int j = 0; j < 14; j += 2)
            if (!strcmp(lc[k], lnames[j]))
                head[nc] = lnames[j + 1], align[nc++] = 'r';
    static const char *const h2[] = {"eligible",         "outcome rate", "mean p",    "O − E",
                                     "calib. intercept", "AUC",          "FPR close", "FNR close",
                                     "FPR far",          "FNR far"};
    for (int k = 0; k < 10; k++)
        head[nc] = h2[k], align[nc++] = 'r';
    char **cells = calloc(nc * (shown ? shown : 1), sizeof *cells);
    if (!cells) {
        free(rs);
        d->failed = 1;
        return;
    }
    for (size_t i = 0; i < shown; i++) {
        const json_t *r = rs[i];
        char **c = cells + i * nc;
        size_t k = 0;
        c[k++] = strdup(str(r, "label"));
        c[k++] = cnt(num(r, "n"));
        c[k++] = pct(num(r, "share"));
        c[k++] = pct(num(r, "grupp_1"));
        c[k++] = pct(num(r, "grupp_2"));
        c[k++] = pct(num(r, "grupp_3"));
        for (size_t j = 0; j < nl; j++)
            c[k++] = pct(num(r, lc[j]));
        c[k++] = pct(num(r, "eligible"));
        c[k++] = pct(num(r, "rate"));
        c[k++] = fmt("%.3f", num(r, "mean_p"));
        c[k++] = fmt("%+.3f", num(r, "o_minus_e"));
        c[k++] = fmt("%+.3f", num(r, "calib_intercept"));
        c[k++] = fmt("%.3f", num(r, "auc"));
        c[k++] = pct(num(r, "fpr_at_close_min_p"));
        c[k++] = pct(num(r, "fnr_at_close_min_p"));
        c[k++] = pct(num(r, "fpr_at_far_below_p"));
        c[k++] = pct(num(r, "fnr_at_far_below_p"));
    }
    table(d, nc, head, align, cells, shown);
    free_cells(cells, nc * shown);

    /* Score distributions by group: the histogram as a density line. */
    if (n >= 1 && n <= MAX_PLOT_GROUPS) {
        pf_plot *p = NULL;
        pf_error e;
        char ptitle[256];
        snprintf(ptitle, sizeof ptitle, "Fördelning av p efter %s", str(dm, "label"));
        if (pf_plot_new(&p, 760, 460, ptitle, PF_PLOT_LEGEND_RIGHT, &e)) {
            free(rs);
            d->failed = 1;
            return;
        }
        const json_t *hist = rows_of(doc_, "score_hist");
        double xs[256], ys[256], top = 0;
        /* First pass for the scale, second to draw. */
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1)
                pf_plot_axes(p, 0, 1, 0, top > 0 ? top * 1.05 : 1,
                             "p (sannolikhet för arbete "
                             "eller studier)",
                             "Täthet", 0, 0);
            for (size_t g = 0; g < n; g++) {
                size_t i, m = 0;
                const json_t *h;
                double total = num(rs[g], "n");
                json_array_foreach(hist, i, h)
                {
                    if (m < 256 && !strcmp(str(h, "dimension"), name) &&
                        !strcmp(str(h, "group"), str(rs[g], "group"))) {
                        double w = num(h, "p_hi") - num(h, "p_lo");
                        xs[m] = (num(h, "p_lo") + num(h, "p_hi")) / 2;
                        ys[m] = total > 0 && w > 0 ? num(h, "n") / total / w : NAN;
                        if (isfinite(ys[m]))
                            top = fmax(top, ys[m]);
                        m++;
                    }
                }
                if (pass == 1) {
                    char lab[160];
                    snprintf(lab, sizeof lab, "%s (n=%.0f)", str(rs[g], "label"), num(rs[g], "n"));
                    pf_plot_line(p, xs, ys, m, (int) g, 0, lab);
                }
            }
        }
        size_t pn;
        unsigned char *png = finish_plot(d, p, &pn);
        char fname[160], cap2[512];
        snprintf(fname, sizeof fname, "score_%s.png", name);
        snprintf(cap2, sizeof cap2,
                 "Distribution of p by %s: the share of each group's rows per unit of p "
                 "(score_hist.csv).",
                 name);
        if (png)
            figure(d, fname, png, pn, cap2);
    } else if (n > MAX_PLOT_GROUPS) {
        para(d, "Too many groups for one distribution plot; `score_hist.csv` has each group's "
                "histogram.");
    }
    char src[256];
    snprintf(src, sizeof src, "fairness[fairness.dimension == \"%s\"]", name);
    code(d, src);
    free(rs);
}

static void section_fairness(rdoc *d, const json_t *doc_)
{
    const json_t *pos = json_object_get(doc_, "positive");
    const json_t *th = json_object_get(json_object_get(doc_, "policy"), "thresholds");
    heading(d, 2, "Fairness by group");
    para(d, "For each group: its share of the population; the share of its rows in each group "
            "(grupp), level or track and the share eligible; the outcome rate; the mean p and "
            "observed minus expected (O − E, the outcome rate minus the mean p: positive when "
            "the model underestimates the group); the calibration intercept fitted on the "
            "group alone (calibration in the large); the AUC within the group; and error rates "
            "at the policy's thresholds.");
    const char *items[3];
    char a[512], b[512], c[512];
    snprintf(a, sizeof a,
             "**Positive** means the outcome occurred: %s. A decision is a positive prediction "
             "when it places the person at or above the threshold's bar on p.",
             str(pos, "outcome"));
    snprintf(b, sizeof b,
             "**close** (`close_min_p` = %.4f): %s. FPR close is the share of those who did "
             "**not** reach work or studies yet were judged close to the labour market (and so "
             "left to self-service); FNR close the share of those who did but were not.",
             num(th, "close_min_p"), str(pos, "close_min_p"));
    snprintf(c, sizeof c,
             "**far** (`far_below_p` = %.4f): %s. FNR far is the share of those who reached "
             "work or studies yet were judged far from the labour market (grupp 3); FPR far the "
             "share of those who did not but were not put in grupp 3.",
             num(th, "far_below_p"), str(pos, "far_below_p"));
    items[0] = a, items[1] = b, items[2] = c;
    bullets(d, items, 3);
    para(d, "Level and track shares are of all the group's rows. A group with a single outcome "
            "has no AUC or calibration intercept (–). The first row, `alla`, is everyone.");
    size_t i;
    const json_t *dm;
    json_array_foreach(json_object_get(doc_, "dimensions"), i, dm) fairness_dim(d, doc_, dm);
}

static void section_areas(rdoc *d, const json_t *doc_)
{
    const json_t *rs[64];
    size_t n = dim_rows(doc_, "leveransomrade", rs, 64);
    if (n == 0)
        return;
    const char *lc[4];
    size_t nl = level_cols(doc_, lc);
    int levels = nl == 3 && !strcmp(lc[0], "niva_A");
    heading(d, 2, "Level shares by delivery area");
    para(d,
         "How each delivery area's population is divided among the groups and %s. Areas "
         "differ in who lives there, so different shares are expected; compare them with "
         "the outcome rates and O − E in the table above.",
         levels ? "levels (grupp 2 is split into nivå A, B and C)" : "groups");
    const char *series_l[] = {"grupp 1", "grupp 2 nivå A", "grupp 2 nivå B", "grupp 2 nivå C",
                              "grupp 3"};
    const char *series_g[] = {"grupp 1", "grupp 2", "grupp 3"};
    size_t ns = levels ? 5 : 3;
    double *v = calloc(ns * n, sizeof *v);
    const char **labels = calloc(n, sizeof *labels);
    if (!v || !labels) {
        free(v), free(labels);
        d->failed = 1;
        return;
    }
    for (size_t k = 0; k < n; k++) {
        labels[k] = str(rs[k], "label");
        v[0 * n + k] = num(rs[k], "grupp_1");
        if (levels) {
            v[1 * n + k] = num(rs[k], "niva_A");
            v[2 * n + k] = num(rs[k], "niva_B");
            v[3 * n + k] = num(rs[k], "niva_C");
            v[4 * n + k] = num(rs[k], "grupp_3");
        } else {
            v[1 * n + k] = num(rs[k], "grupp_2");
            v[2 * n + k] = num(rs[k], "grupp_3");
        }
    }
    pf_plot *p = NULL;
    pf_error e;
    if (pf_plot_new(&p, 800, 500, "Andelar per leveransområde", PF_PLOT_LEGEND_RIGHT, &e) == 0) {
        pf_plot_axes_categories(p, n, labels, 0, 1, NULL, "Andel av områdets personer", 1);
        pf_plot_stacked_bars(p, n, ns, v, levels ? series_l : series_g);
        size_t pn;
        unsigned char *png = finish_plot(d, p, &pn);
        if (png)
            figure(d, "areas.png", png, pn,
                   "Shares of each delivery area's rows by group and level (fairness.csv, "
                   "dimension leveransomrade).");
    } else
        d->failed = 1;
    free(v), free(labels);
}

static void section_next(rdoc *d)
{
    heading(d, 2, "Continuing the analysis");
    para(d, "Every table above is a CSV file in this folder; `eval.json` holds the same numbers "
            "with the run's provenance. For example, the groups whose outcome rate differs "
            "most from what the model expects:");
    code(d, "gap = fairness[fairness.dimension != \"alla\"].assign(abs_gap=lambda t: "
            "t.o_minus_e.abs())\n"
            "gap.sort_values(\"abs_gap\", ascending=False)[[\"dimension\", \"label\", \"n\", "
            "\"rate\", \"mean_p\", \"o_minus_e\"]].head(10)");
}

static const char *const css =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;max-width:1100px;margin:2em auto;"
    "padding:0 1em;color:#222;line-height:1.45}"
    "table{border-collapse:collapse;margin:1em 0;font-size:0.88em}"
    "th,td{border:1px solid #ccc;padding:3px 7px}th{background:#f3f3f3}"
    ".num{text-align:right}code{background:#f3f3f3;padding:0 3px}"
    "pre.code{background:#f7f7f7;border-left:3px solid #0072b2;padding:0.6em;overflow-x:auto}"
    "figure{margin:1em 0}figure img{max-width:100%}figcaption{font-style:italic;"
    "font-size:0.9em}";

int pf_report_build(const json_t *doc_, pf_report *out, pf_error *err)
{
    memset(out, 0, sizeof *out);
    rdoc d = {0};
    d.out = out;
    d.cells = json_array();
    if (!d.cells)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    char title[256];
    snprintf(title, sizeof title, "Utvärdering: %s under %s", path_str(doc_, "model", "label"),
             path_str(doc_, "policy", "name"));
    sb_puts(&d.html, "<!DOCTYPE html>\n<html lang=\"sv\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<title>");
    html_escape(&d.html, title, strlen(title));
    sb_printf(&d.html, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
    section_intro(&d, doc_);
    section_discrimination(&d, doc_);
    section_calibration(&d, doc_);
    section_decisions(&d, doc_);
    section_fairness(&d, doc_);
    section_areas(&d, doc_);
    section_next(&d);
    flush_md(&d);
    sb_puts(&d.html, "</body>\n</html>\n");
    json_t *nb =
        json_pack("{s:o,s:{s:{s:s,s:s,s:s},s:{s:s}},s:i,s:i}", "cells", d.cells, "metadata",
                  "kernelspec", "display_name", "Python 3", "language", "python", "name", "python3",
                  "language_info", "name", "python", "nbformat", 4, "nbformat_minor", 5);
    d.cells = NULL;
    if (nb && !d.failed && !d.html.failed) {
        out->notebook = json_dumps(nb, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        out->html = d.html.p;
        d.html.p = NULL;
    }
    json_decref(nb);
    free(d.md.p);
    free(d.html.p);
    if (!out->notebook || !out->html) {
        pf_report_free(out);
        return pf_error_set(err, PF_ENOMEM, "out of memory building the report");
    }
    return 0;
}

void pf_report_free(pf_report *r)
{
    free(r->notebook);
    free(r->html);
    for (size_t k = 0; k < r->nfigures; k++) {
        free(r->figures[k].name);
        free(r->figures[k].png);
    }
    free(r->figures);
    memset(r, 0, sizeof *r);
}

char *pf_base64(const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
    if (!s)
        return NULL;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned) p[i] << 16 | (unsigned) p[i + 1] << 8 | p[i + 2];
        *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63], *o++ = tab[v >> 6 & 63],
        *o++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned) p[i] << 16 | (i + 1 < n ? (unsigned) p[i + 1] << 8 : 0);
        *o++ = tab[v >> 18 & 63], *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    return s;
}
