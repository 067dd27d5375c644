#include "quant/observer.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const char *const method_names[] = {"minmax", "percentile", "entropy", "mse"};

const char *ww_calib_method_name(ww_calib_method m)
{
    return (unsigned)m < 4 ? method_names[m] : "?";
}

int ww_calib_method_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, method_names[i])) return i;
    return -1;
}

void ww_observer_init(ww_observer *o)
{
    memset(o, 0, sizeof(*o));
    o->min = DBL_MAX;
    o->max = -DBL_MAX;
}

/* Doubles the covered range: bins 2i and 2i+1 become bin i, exactly. */
static void grow(ww_observer *o)
{
    for (int i = 0; i < WW_OBS_BINS / 2; i++) o->hist[i] = o->hist[2 * i] + o->hist[2 * i + 1];
    for (int i = WW_OBS_BINS / 2; i < WW_OBS_BINS; i++) o->hist[i] = 0;
    o->hist_range *= 2;
}

void ww_observer_update(ww_observer *o, const float *x, size_t n)
{
    double absmax = 0, lo = o->min, hi = o->max;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        finite++;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        double a = fabs((double)v);
        if (a > absmax) absmax = a;
    }
    o->nonfinite += n - finite;
    if (!finite) return;
    o->min = lo;
    o->max = hi;
    o->count += finite;
    /* Zeros always land in bin 0, so an all-zero start needs no range yet. */
    if (o->hist_range == 0 && absmax > 0) o->hist_range = absmax * (1 + 1e-6);
    while (o->hist_range > 0 && absmax >= o->hist_range) grow(o);
    double to_bin = o->hist_range > 0 ? WW_OBS_BINS / o->hist_range : 0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        if (!isfinite(v)) continue;
        long b = (long)(fabs((double)v) * to_bin);
        if (b >= WW_OBS_BINS) b = WW_OBS_BINS - 1;
        o->hist[b] += 1;
    }
}

static double hist_total(const ww_observer *o)
{
    double t = 0;
    for (int i = 0; i < WW_OBS_BINS; i++) t += o->hist[i];
    return t;
}

static double absmax_of(const ww_observer *o)
{
    return fmax(fabs(o->min), fabs(o->max));
}

static double percentile_threshold(const ww_observer *o, double pct)
{
    double total = hist_total(o), target = total * pct / 100.0, cum = 0;
    double w = o->hist_range / WW_OBS_BINS;
    for (int i = 0; i < WW_OBS_BINS; i++) {
        if (cum + o->hist[i] >= target && o->hist[i] > 0) {
            double frac = (target - cum) / o->hist[i];
            return fmin((i + frac) * w, absmax_of(o));
        }
        cum += o->hist[i];
    }
    return absmax_of(o);
}

/* TensorRT's smoothing: moves eps of mass onto every empty bin so KL stays
 * finite. Returns 0 when the distribution cannot be smoothed (all empty). */
static int smooth(double *p, int n)
{
    const double eps = 1e-4;
    int zeros = 0;
    for (int i = 0; i < n; i++) zeros += p[i] == 0;
    int nonzeros = n - zeros;
    if (!nonzeros) return 0;
    double take = eps * zeros / nonzeros;
    for (int i = 0; i < n; i++) p[i] = p[i] == 0 ? eps : p[i] - take;
    return 1;
}

static void normalise(double *p, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += p[i];
    if (s > 0)
        for (int i = 0; i < n; i++) p[i] /= s;
}

/* Q has 128 levels over [0, T], as TensorRT and ORT's entropy calibrator use.
 * (Matching the uint8 target with 255 levels for non-negative tensors was
 * tried: it clips harder, since KL then favours thresholds where Q merges
 * almost nothing, and parity got worse on the fixture model.) */
#define ENTROPY_QBINS 128

static double entropy_threshold(const ww_observer *o)
{
    static _Thread_local double p[WW_OBS_BINS], q[WW_OBS_BINS], h[WW_OBS_BINS];
    double w = o->hist_range / WW_OBS_BINS;
    /* The zero bin of a post-Relu tensor holds a spike of exact zeros that
     * no threshold changes; smeared into Q's first level it dominates the KL
     * and drives the threshold down. Like NVIDIA's pytorch-quantization
     * (bins[0] = bins[1]), it is levelled with its neighbour first. */
    memcpy(h, o->hist, sizeof h);
    h[0] = h[1];
    double suffix = 0; /* mass at or beyond bin i, added to P's last bin */
    double tail[WW_OBS_BINS + 1];
    tail[WW_OBS_BINS] = 0;
    for (int i = WW_OBS_BINS - 1; i >= 0; i--) tail[i] = tail[i + 1] + h[i];
    int last = 0; /* highest non-empty bin: thresholds beyond it are equivalent */
    for (int i = 0; i < WW_OBS_BINS; i++)
        if (h[i] > 0) last = i;
    int best = WW_OBS_BINS;
    double best_kl = DBL_MAX;
    int stop = last + 1 < ENTROPY_QBINS ? ENTROPY_QBINS : last + 1;
    for (int i = ENTROPY_QBINS; i <= stop && i <= WW_OBS_BINS; i++) {
        suffix = tail[i];
        memcpy(p, h, (size_t)i * sizeof(double));
        p[i - 1] += suffix;
        /* Q: hist[0, i) merged into ENTROPY_QBINS levels, each level's mass
         * spread evenly over the bins of it that were non-empty. */
        for (int j = 0; j < ENTROPY_QBINS; j++) {
            int a = (int)((long)j * i / ENTROPY_QBINS),
                b = (int)((long)(j + 1) * i / ENTROPY_QBINS);
            double sum = 0;
            int nz = 0;
            for (int k = a; k < b; k++) {
                sum += h[k];
                nz += h[k] > 0;
            }
            for (int k = a; k < b; k++) q[k] = h[k] > 0 ? sum / nz : 0;
        }
        if (!smooth(p, i) || !smooth(q, i)) continue;
        normalise(p, i);
        normalise(q, i);
        double kl = 0;
        for (int k = 0; k < i; k++)
            if (p[k] > 0 && q[k] > 0) kl += p[k] * log(p[k] / q[k]);
        if (kl < best_kl) {
            best_kl = kl;
            best = i;
        }
    }
    return fmin(best * w, absmax_of(o));
}

/* Expected squared error of quantising the observed |x| with threshold
 * T = i * w, for every i, using suffix sums of the bin centres' moments. */
static double mse_threshold(const ww_observer *o, int levels)
{
    double w = o->hist_range / WW_OBS_BINS;
    double s0 = 0, s1 = 0, s2 = 0; /* suffix sums of h, h*c, h*c^2 over bins >= i */
    double pre = 0;                /* mass below bin i */
    double best_err = DBL_MAX, best_t = absmax_of(o);
    double total = hist_total(o);
    for (int k = 0; k < WW_OBS_BINS; k++) {
        double c = (k + 0.5) * w;
        s0 += o->hist[k];
        s1 += o->hist[k] * c;
        s2 += o->hist[k] * c * c;
    }
    for (int i = 1; i <= WW_OBS_BINS; i++) {
        double c = (i - 0.5) * w;
        s0 -= o->hist[i - 1];
        s1 -= o->hist[i - 1] * c;
        s2 -= o->hist[i - 1] * c * c;
        pre += o->hist[i - 1];
        double t = i * w;
        double lo = fmax(o->min, -t), hi = fmin(o->max, t);
        if (lo > 0) lo = 0; /* the quantised range always holds zero */
        if (hi < 0) hi = 0;
        double step = (hi - lo) / levels;
        double clip = s2 - 2 * t * s1 + t * t * s0;
        double err = pre * step * step / 12 + (clip > 0 ? clip : 0);
        if (err < best_err) {
            best_err = err;
            best_t = t;
        }
        if (pre >= total) break;
    }
    return fmin(best_t, absmax_of(o));
}

double ww_observer_threshold(const ww_observer *o, const ww_calib_options *opt)
{
    if (!o->count) return 0;
    if (o->hist_range == 0) return 0; /* only zeros seen */
    switch (opt->method) {
    case WW_CALIB_PERCENTILE:
        return percentile_threshold(o, opt->percentile);
    case WW_CALIB_ENTROPY:
        return entropy_threshold(o);
    case WW_CALIB_MSE:
        return mse_threshold(o, opt->levels > 0 ? opt->levels : 255);
    case WW_CALIB_MINMAX:
    default:
        return absmax_of(o);
    }
}

int ww_observer_range(const ww_observer *o, const ww_calib_options *opt, float *lo, float *hi,
                      ww_error *err)
{
    if (!o->count)
        return ww_fail(err, WW_EINVAL, "no finite values observed (%llu NaN/Inf)",
                       (unsigned long long)o->nonfinite);
    if (opt->method == WW_CALIB_PERCENTILE && !(opt->percentile > 0 && opt->percentile <= 100))
        return ww_fail(err, WW_EINVAL, "percentile %g is not in (0, 100]", opt->percentile);
    if (opt->method == WW_CALIB_MINMAX) {
        *lo = (float)o->min;
        *hi = (float)o->max;
        return WW_OK;
    }
    double t = ww_observer_threshold(o, opt);
    *lo = (float)fmax(o->min, -t);
    *hi = (float)fmin(o->max, t);
    return WW_OK;
}
