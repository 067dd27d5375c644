/* Calibration observers: what one activation tensor looked like over the
 * calibration data, and the clipping range each method derives from it.
 *
 * One pass collects everything every method needs: the exact min and max and
 * a 2048-bin histogram of |x|. The histogram covers [0, range); when a value
 * beyond the range arrives the range doubles and adjacent bins merge pairwise,
 * which is exact (no re-binning error, unlike ONNX Runtime's HistogramCollector
 * that re-bins by interpolation), so the result does not depend on the order of
 * the data beyond bin resolution. The first batch sets the initial range.
 *
 * Methods, given the histogram:
 *   minmax      [min, max]
 *   percentile  |x| threshold at the given percentile (TensorRT/ORT style)
 *   entropy     threshold minimising KL(P || Q) between the clipped histogram P
 *               and its 128-level quantisation Q (TensorRT's calibrator, as ORT's
 *               entropy calibrator)
 *   mse         threshold minimising the expected squared error: clipping error
 *               above it, step^2/12 rounding noise below it
 * A threshold T becomes the range [max(min, -T), min(max, T)]. */
#ifndef WW_QUANT_OBSERVER_H
#define WW_QUANT_OBSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WW_OBS_BINS 2048

typedef enum ww_calib_method {
    WW_CALIB_MINMAX,
    WW_CALIB_PERCENTILE,
    WW_CALIB_ENTROPY,
    WW_CALIB_MSE,
} ww_calib_method;

/* "minmax" ... "mse"; parse returns -1 for an unknown name. */
const char *ww_calib_method_name(ww_calib_method m);
int ww_calib_method_parse(const char *name);

typedef struct ww_observer {
    double min, max;    /* exact, over every finite value seen */
    uint64_t count;     /* finite values seen */
    uint64_t nonfinite; /* NaN/Inf values (skipped) */
    double hist_range;  /* histogram of |x| covers [0, hist_range); 0 = empty */
    double hist[WW_OBS_BINS];
} ww_observer;

void ww_observer_init(ww_observer *o);
void ww_observer_update(ww_observer *o, const float *x, size_t n);

typedef struct ww_calib_options {
    ww_calib_method method;
    double percentile; /* for WW_CALIB_PERCENTILE, in (0, 100] */
    int levels;        /* quantisation levels of the target type (255 for 8 bits) */
} ww_calib_options;

/* The clipping range [*lo, *hi] for the method. An empty observer fails. */
int ww_observer_range(const ww_observer *o, const ww_calib_options *opt, float *lo, float *hi,
                      ww_error *err);

/* The |x| threshold alone (for tests and reports). */
double ww_observer_threshold(const ww_observer *o, const ww_calib_options *opt);

#endif
