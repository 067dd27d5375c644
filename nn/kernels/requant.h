/* Requantization: how every int8 kernel (every operator, every ISA) turns an
 * exact int32 accumulator back into an 8-bit activation. This is the one place
 * the arithmetic is defined; SIMD kernels mirror these inline functions
 * operation for operation, and the tests hold them to bit equality.
 *
 * The scheme: float32 scale, round half to even, saturate.
 *     f = (float)acc * m                   m = (x_scale * w_scale) / y_scale
 *     f = min(max(f, lo - zp), hi - zp)    lo/hi: the type's range, lo raised
 *     y = (int)round_half_even(f) + zp     to zp for a fused ReLU
 *
 * Why float and not a fixed-point multiplier + shift (gemmlowp "rndnu"):
 *  - It is what ONNX Runtime computes (MLAS requantizes QLinearConv and QGemm
 *    with exactly this float multiply, clamp, round-to-nearest-even, add zp), so
 *    with the same fp32 multiplier our conv output is ORT's bit for bit, not
 *    just within one step; and the float engine that simulates QDQ (dequantize,
 *    float op, quantize with division and round-half-even) lands on the same
 *    integer except when its own float rounding of the sum moves the value
 *    across a .5 boundary: at most 1 LSB.
 *  - It is bit-exact across ISAs for free: int32->float conversion, one IEEE
 *    multiply, min/max and the float->int conversion in round-to-nearest-even
 *    (cvtps2dq under the default MXCSR, NEON fcvtns, C nearbyintf under the
 *    default rounding mode) are correctly rounded everywhere. |acc| above 2^24
 *    rounds in the conversion, identically on every path. No FMA may be used
 *    (a fused multiply-add rounds once instead of twice): SIMD code uses
 *    separate mul and add, and the C here is one operation per statement (gcc
 *    with -std=c11 does not contract; clang is told below).
 *  - Clamping before the conversion keeps the float in int range, so the
 *    ISA-specific overflow behaviour of the conversions never shows.
 *  - Cost: one cvt, one mul, min, max, one cvt per output, vectorised: small
 *    next to the K multiply-adds behind each output.
 *
 * The residual join (quantized Add, alone or fused into a conv) follows ORT's
 * QLinearAdd and the float engine's simulation of DQ -> Add -> Q literally:
 *     f = ((float)(a - za) * sa + (float)(b - zb) * sb) / sc, clamp, round, + zc
 * (true division, so it equals the float engine's Q(DQ(a) + DQ(b)) exactly).
 * A conv with a fused residual first requantizes to the intermediate tensor the
 * unfused graph would have written (its own scale/zp/type), then joins, so the
 * fused and unfused graphs give the same bytes.
 *
 * quantize: y = clamp(round_half_even(x / scale)) + zp (true division, as ONNX
 * QuantizeLinear and MLAS); NaN maps to zp. dequantize: (float)(q - zp) * scale.
 */
#ifndef WW_NN_KERNELS_REQUANT_H
#define WW_NN_KERNELS_REQUANT_H

#include <math.h>
#include <stdint.h>

#include "core/error.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Element type of a quantized tensor. */
typedef enum ww_qtype { WW_QTYPE_U8 = 0, WW_QTYPE_S8 = 1 } ww_qtype;

/* Scale and zero point of a quantized tensor (per tensor). */
typedef struct ww_qparam {
    float scale;
    int32_t zp;
    ww_qtype type;
} ww_qparam;

static inline int32_t ww_qtype_min(ww_qtype t)
{
    return t == WW_QTYPE_S8 ? -128 : 0;
}
static inline int32_t ww_qtype_max(ww_qtype t)
{
    return t == WW_QTYPE_S8 ? 127 : 255;
}

/* Output range [lo, hi] of a requantization into q, raised to q.zp for a
 * fused ReLU (ReLU in real numbers is clamping at the zero point). */
static inline int32_t ww_requant_lo(const ww_qparam *q, int relu)
{
    int32_t lo = ww_qtype_min(q->type);
    return relu && q->zp > lo ? q->zp : lo;
}
static inline int32_t ww_requant_hi(const ww_qparam *q)
{
    return ww_qtype_max(q->type);
}

/* The conv/gemm multiplier, computed in this order in float as MLAS does. */
static inline float ww_requant_scale(float x_scale, float w_scale, float y_scale)
{
    float xw = x_scale * w_scale;
    return xw / y_scale;
}

/* Round half to even of an in-range float (default rounding mode). */
static inline int32_t ww_round_even(float f)
{
    return (int32_t)nearbyintf(f);
}

/* Clamp f to [lo - zp, hi - zp], round half to even, add zp. */
static inline int32_t ww_requant_clamp_round(float f, int32_t zp, int32_t lo, int32_t hi)
{
    float flo = (float)(lo - zp), fhi = (float)(hi - zp);
    f = f < flo ? flo : f;
    f = f > fhi ? fhi : f;
    return ww_round_even(f) + zp;
}

/* The int32 accumulator -> 8-bit value step of conv, gemm and average pool. */
static inline int32_t ww_requant(int32_t acc, float m, int32_t zp, int32_t lo, int32_t hi)
{
    float f = (float)acc;
    f = f * m;
    return ww_requant_clamp_round(f, zp, lo, hi);
}

/* The residual join: a and b already have their zero points removed. */
static inline int32_t ww_requant_add(int32_t a, float sa, int32_t b, float sb, float sc, int32_t zc,
                                     int32_t lo, int32_t hi)
{
    float fa = (float)a;
    fa = fa * sa;
    float fb = (float)b;
    fb = fb * sb;
    float f = fa + fb;
    f = f / sc;
    return ww_requant_clamp_round(f, zc, lo, hi);
}

static inline int32_t ww_quantize1(float x, float scale, int32_t zp, int32_t lo, int32_t hi)
{
    if (isnan(x)) return zp;
    float f = x / scale;
    return ww_requant_clamp_round(f, zp, lo, hi);
}

static inline float ww_dequantize1(int32_t q, float scale, int32_t zp)
{
    float f = (float)(q - zp);
    return f * scale;
}

/* Reads element i of a u8 or s8 array as int. */
static inline int32_t ww_qload(const void *p, ww_qtype t, long i)
{
    return t == WW_QTYPE_S8 ? (int32_t)((const int8_t *)p)[i] : (int32_t)((const uint8_t *)p)[i];
}
static inline void ww_qstore(void *p, ww_qtype t, long i, int32_t v)
{
    if (t == WW_QTYPE_S8)
        ((int8_t *)p)[i] = (int8_t)v;
    else
        ((uint8_t *)p)[i] = (uint8_t)v;
}

/* Checks a tensor's quantization parameters: finite positive scale, zero point
 * in the type's range. what names the tensor in the message. */
int ww_qparam_check(const ww_qparam *q, const char *what, ww_error *err);

#endif
