/* The quantized operators around the conv: the residual join (Add), MaxPool,
 * GlobalAveragePool, Gemm (the classifier head), QuantizeLinear and
 * DequantizeLinear, plus the NCHW <-> NHWC byte transposes the graph compiler
 * puts at the graph's edges (conv2d_s8 works on NHWC). Arithmetic is
 * nn/kernels/requant.h's. Tensors are uint8 or int8 as their ww_qparam says.
 *
 * Dispatch: ww_ops_s8_get(isa) returns one row of function pointers, each the
 * best variant compiled in at or below isa (fetch it once at load and keep it).
 * These ops move a few hundred kilobytes per inference against the convs' 138 M
 * MACs, yet in portable C the shipped model's max pooling and input quantization
 * took about 15 % of an AVX-VNNI inference: x86 has AVX2 (also serving
 * AVX-VNNI) and AVX-512 variants of all but gemm, NEON a portable max pooling.
 * The wrappers without a row argument use ww_isa_active(). No function here
 * allocates. */
#ifndef WW_NN_KERNELS_OPS_S8_H
#define WW_NN_KERNELS_OPS_S8_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/cpu.h"
#include "nn/kernels/requant.h"

/* c = Q_c(DQ_a(a) + DQ_b(b)) elementwise over n elements, then ReLU if asked. */
typedef void (*ww_add_s8_fn)(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb,
                             void *c, const ww_qparam *qc, int relu, size_t n);

/* NHWC pooling window geometry (bottom/right padding follows from h_out/w_out). */
typedef struct ww_pool_shape {
    int n, c, h_in, w_in, h_out, w_out;
    int k_h, k_w, stride_h, stride_w, pad_top, pad_left, dil_h, dil_w;
} ww_pool_shape;

/* Max over the window on the 8-bit values directly (QDQ MaxPool keeps scale and
 * zero point); padding never wins. A window entirely in padding gives the
 * type's minimum. */
typedef void (*ww_maxpool_s8_fn)(const ww_pool_shape *s, ww_qtype t, const void *x, void *y);

/* y[n][c] = Q_y(mean over h*w of DQ_x(x[n][h][w][c])): an exact int32 sum, then
 * one requantization with m = x.scale / (y.scale * hw) (requant.h). */
typedef void (*ww_gavgpool_s8_fn)(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                                  const ww_qparam *qy);

/* Gemm: acc[r][o] = sum_k (x[r][k] - x.zp) * w[o][k] + bias[o], weights int8
 * symmetric per output ([n_out][k], ONNX Gemm with transB=1), then one of: */
typedef enum ww_gemm_s8_out {
    WW_GEMM_S8_OUT_I32,   /* int32 acc */
    WW_GEMM_S8_OUT_QUANT, /* requantized to y (ReLU optional) */
    WW_GEMM_S8_OUT_FLOAT, /* dequantized: (float)acc * (x.scale * w_scale[o]) */
} ww_gemm_s8_out;

typedef struct ww_gemm_s8_params {
    int rows, k, n_out;
    ww_qparam x;
    const float *w_scale; /* [n_out]; read by pack only */
    ww_gemm_s8_out out;
    ww_qparam y; /* for WW_GEMM_S8_OUT_QUANT */
    int relu;
} ww_gemm_s8_params;

size_t ww_gemm_s8_packed_size(const ww_gemm_s8_params *p);
/* Validates and packs w ([n_out][k] int8) and bias ([n_out] int32 or NULL). */
int ww_gemm_s8_pack(const ww_gemm_s8_params *p, const int8_t *w, const int32_t *bias, void *packed,
                    ww_error *err);
/* y is int32, uint8/int8 or float [rows][n_out] as p->out says. */
typedef void (*ww_gemm_s8_fn)(const void *packed, const void *x, void *y);

/* y = saturate(round_half_even(x / scale) + zp), NaN -> zp. */
typedef void (*ww_quantize_s8_fn)(const float *x, size_t n, const ww_qparam *q, void *y);
/* y = (x - zp) * scale. */
typedef void (*ww_dequantize_s8_fn)(const void *x, size_t n, const ww_qparam *q, float *y);

typedef struct ww_ops_s8 {
    ww_add_s8_fn add;
    ww_maxpool_s8_fn maxpool;
    ww_gavgpool_s8_fn gavgpool;
    ww_gemm_s8_fn gemm;
    ww_quantize_s8_fn quantize;
    ww_dequantize_s8_fn dequantize;
    ww_isa isa[6]; /* which ISA's variant each entry above is, in that order */
} ww_ops_s8;

/* The row for isa (each entry: the best variant at or below it that this CPU
 * runs). No state: safe from any thread. */
ww_ops_s8 ww_ops_s8_get(ww_isa isa);

/* Checks for callers that build these from a model (messages name the op). */
int ww_add_s8_check(const ww_qparam *qa, const ww_qparam *qb, const ww_qparam *qc, ww_error *err);
int ww_pool_shape_check(const ww_pool_shape *s, ww_error *err);

/* Convenience wrappers through ww_ops_s8_get(ww_isa_active()). */
void ww_add_s8(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb, void *c,
               const ww_qparam *qc, int relu, size_t n);
void ww_maxpool_s8(const ww_pool_shape *s, ww_qtype t, const void *x, void *y);
void ww_gavgpool_s8(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                    const ww_qparam *qy);
void ww_gemm_s8(const void *packed, const void *x, void *y);
void ww_quantize_s8(const float *x, size_t n, const ww_qparam *q, void *y);
void ww_dequantize_s8(const void *x, size_t n, const ww_qparam *q, float *y);

/* Byte tensors between NCHW and NHWC (8-bit elements, any signedness). */
void ww_nchw_to_nhwc_8(const void *x, int n, int c, int h, int w, void *y);
void ww_nhwc_to_nchw_8(const void *x, int n, int c, int h, int w, void *y);

/* The scalar variants (the references the tests hold every ISA to). */
void ww_add_s8_scalar(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb,
                      void *c, const ww_qparam *qc, int relu, size_t n);
void ww_maxpool_s8_scalar(const ww_pool_shape *s, ww_qtype t, const void *x, void *y);
void ww_gavgpool_s8_scalar(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                           const ww_qparam *qy);
void ww_gemm_s8_scalar(const void *packed, const void *x, void *y);
void ww_quantize_s8_scalar(const float *x, size_t n, const ww_qparam *q, void *y);
void ww_dequantize_s8_scalar(const void *x, size_t n, const ww_qparam *q, float *y);

#endif
