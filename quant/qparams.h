/* Quantisation parameters and the arithmetic of QuantizeLinear /
 * DequantizeLinear, as ONNX Runtime's quantizer computes them:
 *   activations  uint8 asymmetric over [min(lo,0), max(hi,0)], or int8
 *                symmetric (zero point 0, scale = 2*absmax/255)
 *   weights      int8 symmetric in [-127, 127] (scale = absmax/127), per
 *                output channel or per tensor
 *   bias         int32, scale = input scale * weight scale, zero point 0
 * Rounding is half to even, as QuantizeLinear specifies. */
#ifndef WW_QUANT_QPARAMS_H
#define WW_QUANT_QPARAMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ww_qparams {
    float scale;
    int32_t zero_point;
    int is_signed; /* int8 (1) or uint8 (0) */
} ww_qparams;

ww_qparams ww_qparams_activation(float lo, float hi, int symmetric);

/* Per-channel (channels > 1, along axis of a tensor with the given dims) or
 * per-tensor (channels == 1) symmetric int8 weights. clip_pct < 100 clips each
 * channel at that percentile of |w| first (outlier clipping). scales has
 * `channels` entries; q has count entries. */
void ww_quantize_weights(const float *w, size_t count, int ndim, const int64_t *dims, int axis,
                         int per_channel, double clip_pct, int8_t *q, float *scales);

/* Number of scales ww_quantize_weights produces. */
size_t ww_weight_channels(int ndim, const int64_t *dims, int axis, int per_channel);

/* round-half-to-even(x / scale) + zp, saturated to the type's range. */
int32_t ww_quantize_value(float x, ww_qparams p);
float ww_dequantize_value(int32_t q, ww_qparams p);

/* Signal-to-quantisation-noise ratio in dB of approx against ref; 200 dB when
 * they are identical. */
double ww_sqnr_db(const float *ref, const float *approx, size_t n);

#endif
