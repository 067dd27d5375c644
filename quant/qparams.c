#include "quant/qparams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ww_qparams ww_qparams_activation(float lo, float hi, int symmetric)
{
    ww_qparams p = {1.0f, 0, symmetric};
    double rmin = fmin(lo, 0), rmax = fmax(hi, 0);
    if (symmetric) {
        double a = fmax(fabs(rmin), fabs(rmax));
        rmin = -a;
        rmax = a;
    }
    double qmin = symmetric ? -128 : 0, qmax = symmetric ? 127 : 255;
    double scale = (rmax - rmin) / (qmax - qmin);
    if (!(scale > 0) || !isfinite(scale)) return p; /* a constant zero tensor */
    p.scale = (float)scale;
    double zp = nearbyint(qmin - rmin / (double)p.scale);
    p.zero_point = symmetric ? 0 : (int32_t)fmin(fmax(zp, qmin), qmax);
    return p;
}

int32_t ww_quantize_value(float x, ww_qparams p)
{
    double v = nearbyint((double)x / p.scale) + p.zero_point;
    double lo = p.is_signed ? -128 : 0, hi = p.is_signed ? 127 : 255;
    return (int32_t)fmin(fmax(v, lo), hi);
}

float ww_dequantize_value(int32_t q, ww_qparams p)
{
    return (float)(q - p.zero_point) * p.scale;
}

size_t ww_weight_channels(int ndim, const int64_t *dims, int axis, int per_channel)
{
    if (!per_channel || ndim == 0 || axis < 0 || axis >= ndim) return 1;
    return (size_t)dims[axis];
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void ww_quantize_weights(const float *w, size_t count, int ndim, const int64_t *dims, int axis,
                         int per_channel, double clip_pct, int8_t *q, float *scales)
{
    size_t channels = ww_weight_channels(ndim, dims, axis, per_channel);
    /* element (o, c, j) of the view [outer, channels, inner] is w[(o*channels + c)*inner + j] */
    size_t inner = 1;
    if (channels > 1)
        for (int d = axis + 1; d < ndim; d++) inner *= (size_t)dims[d];
    size_t outer = count / channels / inner, per = count / channels;
    float *tmp = clip_pct < 100 ? malloc(per * sizeof(float)) : NULL;
    for (size_t c = 0; c < channels; c++) {
        size_t n = 0;
        float m = 0;
        for (size_t o = 0; o < outer; o++)
            for (size_t j = 0; j < inner; j++) {
                float a = fabsf(w[(o * channels + c) * inner + j]);
                if (a > m) m = a;
                if (tmp) tmp[n++] = a;
            }
        if (tmp && n) { /* outlier clipping: the percentile of |w| replaces the max */
            qsort(tmp, n, sizeof(float), cmp_float);
            double pos = clip_pct / 100.0 * (double)(n - 1);
            size_t k = (size_t)pos;
            double frac = pos - (double)k;
            m = (float)(tmp[k] + (k + 1 < n ? frac * (tmp[k + 1] - tmp[k]) : 0));
        }
        scales[c] = m > 0 ? m / 127.0f : 1.0f;
        for (size_t o = 0; o < outer; o++)
            for (size_t j = 0; j < inner; j++) {
                size_t i = (o * channels + c) * inner + j;
                double v = nearbyint((double)w[i] / scales[c]);
                q[i] = (int8_t)fmin(fmax(v, -127), 127);
            }
    }
    free(tmp);
}

double ww_sqnr_db(const float *ref, const float *approx, size_t n)
{
    double sig = 0, noise = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)ref[i] - approx[i];
        sig += (double)ref[i] * ref[i];
        noise += d * d;
    }
    if (noise == 0) return 200;
    if (sig == 0) return -200;
    double db = 10 * log10(sig / noise);
    return db > 200 ? 200 : db;
}
