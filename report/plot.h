/*
 * plot.h - a small plotting layer on cairo for the evaluation report:
 * axes with round ticks, grid, lines, points with error bars, stacked bars
 * on a category axis, a legend, a title; rendered to PNG in memory.
 *
 * Coordinates given to the drawing calls are data coordinates; the plot
 * maps them into its axes box and clips to it. Calls on a plot whose
 * cairo surface failed are no-ops, and pf_plot_png reports the failure.
 * The same calls give the same PNG bytes.
 */
#ifndef PROFIL_PLOT_H
#define PROFIL_PLOT_H

#include <stddef.h>

#include "profil/status.h"

typedef struct pf_plot pf_plot;

enum {
    PF_PLOT_LEGEND_NONE,
    PF_PLOT_LEGEND_TOP_LEFT,     /* inside the axes box */
    PF_PLOT_LEGEND_BOTTOM_RIGHT, /* inside the axes box */
    PF_PLOT_LEGEND_RIGHT         /* outside, to the right of the axes box */
};

#define PF_PLOT_COLORS 10

/* A plot of width x height pixels with a title (UTF-8, may be NULL). */
int pf_plot_new(pf_plot **out, int width, int height, const char *title, int legend, pf_error *err);

/* Accepts NULL. */
void pf_plot_free(pf_plot *p);

/* Numeric axes: ranges, labels, and whether tick labels are percentages
 * (the value 0.25 is written "25 %"). Draws the box, grid and ticks. */
void pf_plot_axes(pf_plot *p, double xlo, double xhi, double ylo, double yhi, const char *xlabel,
                  const char *ylabel, int xpercent, int ypercent);

/* A category x axis of n slots (slot k spans [k, k + 1]) and a numeric y
 * axis; labels are written under the slots, slanted when they do not fit. */
void pf_plot_axes_categories(pf_plot *p, size_t n, const char *const *labels, double ylo,
                             double yhi, const char *xlabel, const char *ylabel, int ypercent);

/* A polyline through n points (NaN points break it) in palette colour
 * color; dashed for reference lines. legend may be NULL. */
void pf_plot_line(pf_plot *p, const double *x, const double *y, size_t n, int color, int dashed,
                  const char *legend);

/* Points with vertical error bars from lo to hi (lo/hi may be NULL). */
void pf_plot_points(pf_plot *p, const double *x, const double *y, const double *lo,
                    const double *hi, size_t n, int color, const char *legend);

/* Stacked bars on a category axis: values[s * ncat + k] is series s in
 * slot k; series s has palette colour s and legend labels[s]. */
void pf_plot_stacked_bars(pf_plot *p, size_t ncat, size_t nseries, const double *values,
                          const char *const *labels);

/* Renders the legend and encodes the plot as PNG into a malloc'ed buffer
 * (*png, *n), which the caller frees. */
int pf_plot_png(pf_plot *p, unsigned char **png, size_t *n, pf_error *err);

/* Round tick positions for [lo, hi]: steps of 1, 2 or 5 times a power of
 * ten, at most max_ticks of them, every tick inside [lo, hi] (with a
 * relative tolerance of 1e-9). Returns how many were written to ticks
 * (which holds max_ticks entries); 0 when hi <= lo or max_ticks < 2. */
size_t pf_plot_ticks(double lo, double hi, size_t max_ticks, double *ticks);

/* Frees the font caches cairo and fontconfig keep for the whole process
 * (they are otherwise reported as leaks by sanitizers). Call once, after
 * the last plot, at exit. */
void pf_plot_release(void);

#endif
