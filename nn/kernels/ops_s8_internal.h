/* Private to the ops_s8 kernels: the packed gemm blob and shared formulas. */
#ifndef WW_NN_KERNELS_OPS_S8_INTERNAL_H
#define WW_NN_KERNELS_OPS_S8_INTERNAL_H

#include "nn/kernels/ops_s8.h"

typedef struct ww_gemm_s8_hdr {
    uint32_t magic;
    ww_gemm_s8_params p; /* w_scale cleared */
    int32_t lo, hi;      /* requantization range (ReLU applied) */
    size_t bias_off, m_off, w_off, total;
} ww_gemm_s8_hdr;

#define WW_GEMM_S8_MAGIC 0x38736d67u /* "gms8" */

static inline const int32_t *ww_gemm_s8_bias(const ww_gemm_s8_hdr *h)
{
    return (const int32_t *)((const char *)h + h->bias_off);
}
/* Per output: the requantization multiplier, or the dequantization scale. */
static inline const float *ww_gemm_s8_mult(const ww_gemm_s8_hdr *h)
{
    return (const float *)((const char *)h + h->m_off);
}
static inline const int8_t *ww_gemm_s8_w(const ww_gemm_s8_hdr *h)
{
    return (const int8_t *)((const char *)h + h->w_off);
}

/* Global average pool multiplier: x.scale / (y.scale * hw), in that order. */
static inline float ww_gavgpool_s8_scale(const ww_qparam *qx, const ww_qparam *qy, int hw)
{
    float d = qy->scale * (float)hw;
    return qx->scale / d;
}

/* Max pooling in portable C (ops_s8_generic.c): NEON's, and AVX2's for fewer
 * than 16 channels. */
void ww_maxpool_s8_generic(const ww_pool_shape *s, ww_qtype t, const void *x, void *y);

#endif
