/*
 * plot.c - the report's plots, drawn with cairo (see plot.h).
 *
 * Layout: a title line, the axes box, tick labels and axis labels around
 * it, and the legend inside a corner of the box or in a column to its
 * right. Series are drawn as they are given, clipped to the box; the legend
 * collects their entries and is drawn last, when the PNG is made. Text uses
 * cairo's toy font API ("DejaVu Sans" through fontconfig), which renders
 * the Swedish letters of the labels.
 */
#include "plot.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LEGEND 24
#define FONT       "DejaVu Sans"

/* A palette that stays apart for colour-blind readers (Okabe-Ito, then
 * two greys). */
static const double palette[PF_PLOT_COLORS][3] = {
    {0.000, 0.447, 0.698}, {0.835, 0.369, 0.000}, {0.000, 0.620, 0.451}, {0.800, 0.475, 0.655},
    {0.337, 0.706, 0.914}, {0.902, 0.624, 0.000}, {0.941, 0.894, 0.259}, {0.000, 0.000, 0.000},
    {0.500, 0.500, 0.500}, {0.750, 0.750, 0.750}};

typedef struct legend_entry {
    char *text;
    int color, kind; /* 0 line, 1 dashed line, 2 point, 3 box */
} legend_entry;

struct pf_plot {
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height, legend;
    double bx, by, bw, bh;     /* the axes box in pixels */
    double xlo, xhi, ylo, yhi; /* data ranges */
    size_t nlegend;
    legend_entry entries[MAX_LEGEND];
};

static int ok(const pf_plot *p)
{
    return p && p->cr && cairo_status(p->cr) == CAIRO_STATUS_SUCCESS;
}

static double px(const pf_plot *p, double x)
{
    return p->bx + (x - p->xlo) / (p->xhi - p->xlo) * p->bw;
}

static double py(const pf_plot *p, double y)
{
    return p->by + p->bh - (y - p->ylo) / (p->yhi - p->ylo) * p->bh;
}

static void color(pf_plot *p, int c)
{
    const double *rgb = palette[((c % PF_PLOT_COLORS) + PF_PLOT_COLORS) % PF_PLOT_COLORS];
    cairo_set_source_rgb(p->cr, rgb[0], rgb[1], rgb[2]);
}

static void font(pf_plot *p, double size, int bold)
{
    cairo_select_font_face(p->cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(p->cr, size);
}

static double text_width(pf_plot *p, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(p->cr, s, &e);
    return e.x_advance;
}

/* Text at (x, y) aligned by ax (0 left, 0.5 centre, 1 right) and ay
 * (0 top, 0.5 middle, 1 baseline-ish bottom), rotated by angle radians. */
static void text(pf_plot *p, double x, double y, const char *s, double ax, double ay, double angle)
{
    cairo_text_extents_t e;
    cairo_font_extents_t fe;
    cairo_text_extents(p->cr, s, &e);
    cairo_font_extents(p->cr, &fe);
    cairo_save(p->cr);
    cairo_translate(p->cr, x, y);
    cairo_rotate(p->cr, angle);
    cairo_move_to(p->cr, -ax * e.x_advance, fe.ascent - ay * (fe.ascent + fe.descent));
    cairo_show_text(p->cr, s);
    cairo_restore(p->cr);
}

int pf_plot_new(pf_plot **out, int width, int height, const char *title, int legend, pf_error *err)
{
    *out = NULL;
    pf_plot *p = calloc(1, sizeof *p);
    if (!p)
        return pf_error_set(err, PF_ENOMEM, "out of memory");
    p->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    p->cr = cairo_create(p->surface);
    if (cairo_status(p->cr) != CAIRO_STATUS_SUCCESS) {
        pf_plot_free(p);
        return pf_error_set(err, PF_ENOMEM, "cairo: cannot create a %dx%d image", width, height);
    }
    p->width = width;
    p->height = height;
    p->legend = legend;
    p->bx = 70;
    p->by = title ? 40 : 15;
    p->bw = width - p->bx - 20 - (legend == PF_PLOT_LEGEND_RIGHT ? 190 : 0);
    p->bh = height - p->by - 55;
    p->xlo = p->ylo = 0;
    p->xhi = p->yhi = 1;
    cairo_set_source_rgb(p->cr, 1, 1, 1);
    cairo_paint(p->cr);
    if (title) {
        font(p, 15, 1);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
        text(p, width / 2.0, 10, title, 0.5, 0, 0);
    }
    *out = p;
    return 0;
}

void pf_plot_free(pf_plot *p)
{
    if (!p)
        return;
    for (size_t k = 0; k < p->nlegend; k++)
        free(p->entries[k].text);
    if (p->cr)
        cairo_destroy(p->cr);
    if (p->surface)
        cairo_surface_destroy(p->surface);
    free(p);
}

size_t pf_plot_ticks(double lo, double hi, size_t max_ticks, double *ticks)
{
    if (!(hi > lo) || max_ticks < 2 || !isfinite(lo) || !isfinite(hi))
        return 0;
    double raw = (hi - lo) / (double) (max_ticks - 1);
    double mag = pow(10, floor(log10(raw)));
    static const double steps[] = {1, 2, 5, 10, 20};
    double step = mag * 10;
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++)
        if (mag * steps[k] >= raw * (1 - 1e-9)) {
            step = mag * steps[k];
            break;
        }
    double tol = 1e-9 * (hi - lo);
    double first = ceil((lo - tol) / step);
    size_t n = 0;
    for (double k = first; n < max_ticks; k++) {
        double v = k * step;
        if (v > hi + tol)
            break;
        if (fabs(v) < tol)
            v = 0; /* no "-0" */
        ticks[n++] = v;
    }
    return n;
}

static void tick_label(char *buf, size_t n, double v, double step, int percent)
{
    if (percent) {
        v *= 100;
        step *= 100;
    }
    int dec = step >= 1 ? 0 : (int) ceil(-log10(step) - 1e-9);
    if (dec > 6)
        dec = 6;
    snprintf(buf, n, percent ? "%.*f %%" : "%.*f", dec, v);
}

static void frame_and_y(pf_plot *p, const char *ylabel, int ypercent)
{
    cairo_t *cr = p->cr;
    double t[12];
    size_t nt = pf_plot_ticks(p->ylo, p->yhi, 7, t);
    font(p, 11, 0);
    cairo_set_line_width(cr, 1);
    for (size_t k = 0; k < nt; k++) {
        double y = floor(py(p, t[k])) + 0.5;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, p->bx, y);
        cairo_line_to(cr, p->bx + p->bw, y);
        cairo_stroke(cr);
        char lab[32];
        tick_label(lab, sizeof lab, t[k], nt > 1 ? t[1] - t[0] : 1, ypercent);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        text(p, p->bx - 6, y, lab, 1, 0.5, 0);
    }
    if (ylabel) {
        font(p, 12, 0);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(p, 14, p->by + p->bh / 2, ylabel, 0.5, 0.5, -M_PI / 2);
    }
}

static void box(pf_plot *p)
{
    cairo_set_source_rgb(p->cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(p->cr, 1);
    cairo_rectangle(p->cr, floor(p->bx) + 0.5, floor(p->by) + 0.5, floor(p->bw), floor(p->bh));
    cairo_stroke(p->cr);
}

void pf_plot_axes(pf_plot *p, double xlo, double xhi, double ylo, double yhi, const char *xlabel,
                  const char *ylabel, int xpercent, int ypercent)
{
    if (!ok(p) || !(xhi > xlo) || !(yhi > ylo))
        return;
    p->xlo = xlo, p->xhi = xhi, p->ylo = ylo, p->yhi = yhi;
    frame_and_y(p, ylabel, ypercent);
    cairo_t *cr = p->cr;
    double t[12];
    size_t nt = pf_plot_ticks(xlo, xhi, 7, t);
    font(p, 11, 0);
    for (size_t k = 0; k < nt; k++) {
        double x = floor(px(p, t[k])) + 0.5;
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, x, p->by);
        cairo_line_to(cr, x, p->by + p->bh);
        cairo_stroke(cr);
        char lab[32];
        tick_label(lab, sizeof lab, t[k], nt > 1 ? t[1] - t[0] : 1, xpercent);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        text(p, x, p->by + p->bh + 5, lab, 0.5, 0, 0);
    }
    if (xlabel) {
        font(p, 12, 0);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(p, p->bx + p->bw / 2, p->height - 8, xlabel, 0.5, 1, 0);
    }
    box(p);
}

void pf_plot_axes_categories(pf_plot *p, size_t n, const char *const *labels, double ylo,
                             double yhi, const char *xlabel, const char *ylabel, int ypercent)
{
    if (!ok(p) || n == 0 || !(yhi > ylo))
        return;
    p->xlo = 0, p->xhi = (double) n, p->ylo = ylo, p->yhi = yhi;
    font(p, 11, 0);
    double widest = 0;
    for (size_t k = 0; k < n; k++) {
        double w = text_width(p, labels[k]);
        widest = w > widest ? w : widest;
    }
    int slant = widest > p->bw / (double) n - 4;
    if (slant) { /* room for slanted labels under the box */
        double need = widest * 0.5 + 20;
        double limit = p->height * 0.4;
        need = need > limit ? limit : need;
        p->bh = p->height - p->by - 35 - need;
    }
    frame_and_y(p, ylabel, ypercent);
    font(p, 11, 0);
    cairo_set_source_rgb(p->cr, 0.2, 0.2, 0.2);
    for (size_t k = 0; k < n; k++) {
        double x = px(p, (double) k + 0.5);
        if (slant)
            text(p, x + 4, p->by + p->bh + 6, labels[k], 1, 0, -M_PI / 6);
        else
            text(p, x, p->by + p->bh + 5, labels[k], 0.5, 0, 0);
    }
    if (xlabel) {
        font(p, 12, 0);
        cairo_set_source_rgb(p->cr, 0, 0, 0);
        text(p, p->bx + p->bw / 2, p->height - 8, xlabel, 0.5, 1, 0);
    }
    box(p);
}

static void add_legend(pf_plot *p, const char *s, int c, int kind)
{
    if (!s || p->nlegend == MAX_LEGEND)
        return;
    legend_entry *e = &p->entries[p->nlegend];
    if (!(e->text = strdup(s)))
        return;
    e->color = c;
    e->kind = kind;
    p->nlegend++;
}

static void clip_box(pf_plot *p)
{
    cairo_save(p->cr);
    cairo_rectangle(p->cr, p->bx, p->by, p->bw, p->bh);
    cairo_clip(p->cr);
}

void pf_plot_line(pf_plot *p, const double *x, const double *y, size_t n, int c, int dashed,
                  const char *legend)
{
    if (!ok(p))
        return;
    clip_box(p);
    color(p, c);
    cairo_set_line_width(p->cr, 2);
    cairo_set_line_join(p->cr, CAIRO_LINE_JOIN_ROUND);
    if (dashed) {
        double d[] = {6, 4};
        cairo_set_dash(p->cr, d, 2, 0);
        cairo_set_line_width(p->cr, 1.2);
    }
    int pen = 0;
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(x[k]) || !isfinite(y[k])) {
            pen = 0;
            continue;
        }
        if (pen)
            cairo_line_to(p->cr, px(p, x[k]), py(p, y[k]));
        else
            cairo_move_to(p->cr, px(p, x[k]), py(p, y[k]));
        pen = 1;
    }
    cairo_stroke(p->cr);
    cairo_restore(p->cr);
    add_legend(p, legend, c, dashed ? 1 : 0);
}

void pf_plot_points(pf_plot *p, const double *x, const double *y, const double *lo,
                    const double *hi, size_t n, int c, const char *legend)
{
    if (!ok(p))
        return;
    clip_box(p);
    color(p, c);
    cairo_set_line_width(p->cr, 1.5);
    for (size_t k = 0; k < n; k++) {
        if (!isfinite(x[k]) || !isfinite(y[k]))
            continue;
        double X = px(p, x[k]), Y = py(p, y[k]);
        if (lo && hi && isfinite(lo[k]) && isfinite(hi[k])) {
            cairo_move_to(p->cr, X, py(p, lo[k]));
            cairo_line_to(p->cr, X, py(p, hi[k]));
            cairo_move_to(p->cr, X - 3, py(p, lo[k]));
            cairo_line_to(p->cr, X + 3, py(p, lo[k]));
            cairo_move_to(p->cr, X - 3, py(p, hi[k]));
            cairo_line_to(p->cr, X + 3, py(p, hi[k]));
            cairo_stroke(p->cr);
        }
        cairo_arc(p->cr, X, Y, 3.5, 0, 2 * M_PI);
        cairo_fill(p->cr);
    }
    cairo_restore(p->cr);
    add_legend(p, legend, c, 2);
}

void pf_plot_stacked_bars(pf_plot *p, size_t ncat, size_t nseries, const double *values,
                          const char *const *labels)
{
    if (!ok(p))
        return;
    clip_box(p);
    for (size_t k = 0; k < ncat; k++) {
        double base = 0;
        for (size_t s = 0; s < nseries; s++) {
            double v = values[s * ncat + k];
            if (!isfinite(v) || v <= 0)
                continue;
            double x0 = px(p, (double) k + 0.15), x1 = px(p, (double) k + 0.85);
            double y0 = py(p, base), y1 = py(p, base + v);
            color(p, (int) s);
            cairo_rectangle(p->cr, x0, y1, x1 - x0, y0 - y1);
            cairo_fill(p->cr);
            base += v;
        }
    }
    cairo_restore(p->cr);
    for (size_t s = 0; s < nseries; s++)
        add_legend(p, labels[s], (int) s, 3);
}

/* Shortens UTF-8 text s in place, with an ellipsis, to at most w pixels. */
static void fit(pf_plot *p, char *s, double w)
{
    size_t n = strlen(s);
    if (text_width(p, s) <= w)
        return;
    char *tmp = malloc(n + 4);
    if (!tmp)
        return;
    while (n > 0) {
        do
            n--;
        while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80); /* a character boundary */
        memcpy(tmp, s, n);
        memcpy(tmp + n, "\xE2\x80\xA6", 4); /* "…" and the NUL */
        if (text_width(p, tmp) <= w)
            break;
    }
    memcpy(s, tmp, n + 4);
    free(tmp);
}

static void draw_legend(pf_plot *p)
{
    if (p->legend == PF_PLOT_LEGEND_NONE || p->nlegend == 0)
        return;
    cairo_t *cr = p->cr;
    font(p, 11, 0);
    double line = 17, w = 0;
    for (size_t k = 0; k < p->nlegend; k++) {
        double tw = text_width(p, p->entries[k].text);
        w = tw > w ? tw : w;
    }
    w += 42;
    double h = line * (double) p->nlegend + 8;
    double x, y;
    if (p->legend == PF_PLOT_LEGEND_RIGHT) {
        x = p->bx + p->bw + 12;
        y = p->by;
    } else if (p->legend == PF_PLOT_LEGEND_TOP_LEFT) {
        x = p->bx + 8;
        y = p->by + 8;
    } else {
        x = p->bx + p->bw - w - 8;
        y = p->by + p->bh - h - 8;
    }
    if (p->legend != PF_PLOT_LEGEND_RIGHT) {
        cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
        cairo_rectangle(cr, x, y, w, h);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
        cairo_set_line_width(cr, 1);
        cairo_stroke(cr);
    }
    for (size_t k = 0; k < p->nlegend; k++) {
        const legend_entry *e = &p->entries[k];
        double cy = y + 4 + line * ((double) k + 0.5);
        color(p, e->color);
        if (e->kind == 3) {
            cairo_rectangle(cr, x + 6, cy - 5, 20, 10);
            cairo_fill(cr);
        } else if (e->kind == 2) {
            cairo_arc(cr, x + 16, cy, 3.5, 0, 2 * M_PI);
            cairo_fill(cr);
        } else {
            cairo_set_line_width(cr, e->kind == 1 ? 1.2 : 2);
            if (e->kind == 1) {
                double d[] = {6, 4};
                cairo_set_dash(cr, d, 2, 0);
            }
            cairo_move_to(cr, x + 6, cy);
            cairo_line_to(cr, x + 28, cy);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        if (p->legend == PF_PLOT_LEGEND_RIGHT)
            fit(p, e->text, p->width - x - 40);
        text(p, x + 34, cy, e->text, 0, 0.5, 0);
    }
}

typedef struct png_buf {
    unsigned char *p;
    size_t n, cap;
    int failed;
} png_buf;

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int len)
{
    png_buf *b = closure;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->n + len)
            cap *= 2;
        unsigned char *q = realloc(b->p, cap);
        if (!q) {
            b->failed = 1;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    return CAIRO_STATUS_SUCCESS;
}

int pf_plot_png(pf_plot *p, unsigned char **png, size_t *n, pf_error *err)
{
    *png = NULL;
    *n = 0;
    if (!ok(p))
        return pf_error_set(err, PF_ENOMEM, "cairo: %s",
                            p && p->cr ? cairo_status_to_string(cairo_status(p->cr)) : "no plot");
    draw_legend(p);
    cairo_surface_flush(p->surface);
    png_buf b = {0};
    cairo_status_t st = cairo_surface_write_to_png_stream(p->surface, png_write, &b);
    if (st != CAIRO_STATUS_SUCCESS || b.failed) {
        free(b.p);
        return pf_error_set(err, PF_ENOMEM, "cairo: cannot encode PNG: %s",
                            cairo_status_to_string(st));
    }
    *png = b.p;
    *n = b.n;
    return 0;
}

void pf_plot_release(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
