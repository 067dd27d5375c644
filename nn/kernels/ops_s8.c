/* ops_s8: dispatch rows, parameter checks, gemm packing, layout transposes. */
#include "nn/kernels/ops_s8.h"

#include <string.h>

#include "nn/kernels/ops_s8_internal.h"

#if defined(__x86_64__)
void ww_add_s8_avx2(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb, void *c,
                    const ww_qparam *qc, int relu, size_t n);
void ww_maxpool_s8_avx2(const ww_pool_shape *s, ww_qtype t, const void *x, void *y);
void ww_quantize_s8_avx2(const float *x, size_t n, const ww_qparam *q, void *y);
void ww_dequantize_s8_avx2(const void *x, size_t n, const ww_qparam *q, float *y);
void ww_gavgpool_s8_avx2(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                         const ww_qparam *qy);
void ww_add_s8_avx512(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb,
                      void *c, const ww_qparam *qc, int relu, size_t n);
void ww_maxpool_s8_avx512(const ww_pool_shape *s, ww_qtype t, const void *x, void *y);
void ww_quantize_s8_avx512(const float *x, size_t n, const ww_qparam *q, void *y);
void ww_dequantize_s8_avx512(const void *x, size_t n, const ww_qparam *q, float *y);
void ww_gavgpool_s8_avx512(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                           const ww_qparam *qy);
#endif

/* Per-op tables indexed by ISA; NULL entries fall back to the best lower one
 * (the AVX2 entries serve AVX-VNNI too). */
static const ww_add_s8_fn add_table[WW_ISA_COUNT] = {
    [WW_ISA_SCALAR] = ww_add_s8_scalar,
#if defined(__x86_64__)
    [WW_ISA_AVX2] = ww_add_s8_avx2,
    [WW_ISA_AVX512] = ww_add_s8_avx512,
#endif
};
/* NEON runs the portable fast version (ops_s8_generic.c) */
static const ww_maxpool_s8_fn maxpool_table[WW_ISA_COUNT] = {
    [WW_ISA_SCALAR] = ww_maxpool_s8_scalar,
#if defined(__x86_64__)
    [WW_ISA_AVX2] = ww_maxpool_s8_avx2,
    [WW_ISA_AVX512] = ww_maxpool_s8_avx512,
#elif defined(__aarch64__)
    [WW_ISA_NEON] = ww_maxpool_s8_generic,
#endif
};
static const ww_gavgpool_s8_fn gavgpool_table[WW_ISA_COUNT] = {
    [WW_ISA_SCALAR] = ww_gavgpool_s8_scalar,
#if defined(__x86_64__)
    [WW_ISA_AVX2] = ww_gavgpool_s8_avx2,
    [WW_ISA_AVX512] = ww_gavgpool_s8_avx512,
#endif
};
static const ww_gemm_s8_fn gemm_table[WW_ISA_COUNT] = {[WW_ISA_SCALAR] = ww_gemm_s8_scalar};
static const ww_quantize_s8_fn quantize_table[WW_ISA_COUNT] = {
    [WW_ISA_SCALAR] = ww_quantize_s8_scalar,
#if defined(__x86_64__)
    [WW_ISA_AVX2] = ww_quantize_s8_avx2,
    [WW_ISA_AVX512] = ww_quantize_s8_avx512,
#endif
};
static const ww_dequantize_s8_fn dequantize_table[WW_ISA_COUNT] = {
    [WW_ISA_SCALAR] = ww_dequantize_s8_scalar,
#if defined(__x86_64__)
    [WW_ISA_AVX2] = ww_dequantize_s8_avx2,
    [WW_ISA_AVX512] = ww_dequantize_s8_avx512,
#endif
};

/* The x86 and ARM ISAs are two ladders in one enum: never fall from NEON to AVX. */
static int pick(const void *const *table, ww_isa isa)
{
    for (int i = (int)isa; i > 0; i--)
        if (table[i] && ww_isa_supported((ww_isa)i)) return i;
    return 0;
}

ww_ops_s8 ww_ops_s8_get(ww_isa isa)
{
    ww_ops_s8 r;
    int i;
    if ((unsigned)isa >= WW_ISA_COUNT) isa = WW_ISA_SCALAR;
    i = pick((const void *const *)add_table, isa), r.add = add_table[i], r.isa[0] = (ww_isa)i;
    i = pick((const void *const *)maxpool_table, isa), r.maxpool = maxpool_table[i];
    r.isa[1] = (ww_isa)i;
    i = pick((const void *const *)gavgpool_table, isa), r.gavgpool = gavgpool_table[i];
    r.isa[2] = (ww_isa)i;
    i = pick((const void *const *)gemm_table, isa), r.gemm = gemm_table[i], r.isa[3] = (ww_isa)i;
    i = pick((const void *const *)quantize_table, isa), r.quantize = quantize_table[i];
    r.isa[4] = (ww_isa)i;
    i = pick((const void *const *)dequantize_table, isa), r.dequantize = dequantize_table[i];
    r.isa[5] = (ww_isa)i;
    return r;
}

int ww_add_s8_check(const ww_qparam *qa, const ww_qparam *qb, const ww_qparam *qc, ww_error *err)
{
    int rc;
    if ((rc = ww_qparam_check(qa, "add_s8 input A", err)) < 0) return rc;
    if ((rc = ww_qparam_check(qb, "add_s8 input B", err)) < 0) return rc;
    return ww_qparam_check(qc, "add_s8 output", err);
}

int ww_pool_shape_check(const ww_pool_shape *s, ww_error *err)
{
    if (s->n < 1 || s->c < 1 || s->h_in < 1 || s->w_in < 1 || s->h_out < 1 || s->w_out < 1 ||
        s->k_h < 1 || s->k_w < 1 || s->stride_h < 1 || s->stride_w < 1 || s->dil_h < 1 ||
        s->dil_w < 1 || s->pad_top < 0 || s->pad_left < 0)
        return ww_fail(err, WW_EINVAL,
                       "pool_s8: sizes, strides and dilations must be positive, pads not negative");
    return WW_OK;
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static size_t gemm_layout(const ww_gemm_s8_params *p, ww_gemm_s8_hdr *h)
{
    memset(h, 0, sizeof *h);
    h->magic = WW_GEMM_S8_MAGIC;
    h->p = *p;
    h->p.w_scale = NULL;
    size_t off = align64(sizeof *h);
    h->bias_off = off;
    off = align64(off + sizeof(int32_t) * (size_t)(p->n_out > 0 ? p->n_out : 0));
    h->m_off = off;
    off = align64(off + sizeof(float) * (size_t)(p->n_out > 0 ? p->n_out : 0));
    h->w_off = off;
    if (p->n_out > 0 && p->k > 0) off += (size_t)p->n_out * (size_t)p->k;
    h->total = align64(off);
    return h->total;
}

size_t ww_gemm_s8_packed_size(const ww_gemm_s8_params *p)
{
    ww_gemm_s8_hdr h;
    return gemm_layout(p, &h);
}

int ww_gemm_s8_pack(const ww_gemm_s8_params *p, const int8_t *w, const int32_t *bias, void *packed,
                    ww_error *err)
{
    if (p->rows < 1 || p->k < 1 || p->n_out < 1)
        return ww_fail(err, WW_EINVAL, "gemm_s8: sizes must be positive");
    if (p->k > 32768)
        return ww_fail(err, WW_EUNSUPPORTED, "gemm_s8: reduction of %d exceeds 32768", p->k);
    int rc = ww_qparam_check(&p->x, "gemm_s8 input", err);
    if (rc < 0) return rc;
    if (p->out == WW_GEMM_S8_OUT_QUANT && (rc = ww_qparam_check(&p->y, "gemm_s8 output", err)) < 0)
        return rc;
    if (p->out != WW_GEMM_S8_OUT_I32 && p->out != WW_GEMM_S8_OUT_QUANT &&
        p->out != WW_GEMM_S8_OUT_FLOAT)
        return ww_fail(err, WW_EINVAL, "gemm_s8: unknown output kind %d", (int)p->out);
    if (!p->w_scale) return ww_fail(err, WW_EINVAL, "gemm_s8: no weight scales");
    for (int o = 0; o < p->n_out; o++)
        if (!(p->w_scale[o] > 0.0f) || !isfinite(p->w_scale[o]))
            return ww_fail(err, WW_EINVAL, "gemm_s8: weight scale of output %d is %g", o,
                           (double)p->w_scale[o]);
    /* bias plus the largest possible sum of k <= 32768 products (255 * 128
     * each) must stay inside int32 */
    for (int o = 0; bias && o < p->n_out; o++)
        if (bias[o] < INT32_MIN / 2 || bias[o] > INT32_MAX / 2)
            return ww_fail(err, WW_EUNSUPPORTED,
                           "gemm_s8: bias %d of output %d is too large for int32 accumulation",
                           (int)bias[o], o);
    ww_gemm_s8_hdr hh;
    size_t total = gemm_layout(p, &hh);
    char *blob = packed;
    memset(blob, 0, total);
    if (p->out == WW_GEMM_S8_OUT_QUANT) {
        hh.lo = ww_requant_lo(&p->y, p->relu);
        hh.hi = ww_requant_hi(&p->y);
    }
    memcpy(blob, &hh, sizeof hh);
    int32_t *b = (int32_t *)(blob + hh.bias_off);
    float *m = (float *)(blob + hh.m_off);
    for (int o = 0; o < p->n_out; o++) {
        b[o] = bias ? bias[o] : 0;
        m[o] = p->out == WW_GEMM_S8_OUT_QUANT
                   ? ww_requant_scale(p->x.scale, p->w_scale[o], p->y.scale)
                   : p->x.scale * p->w_scale[o];
    }
    memcpy(blob + hh.w_off, w, (size_t)p->n_out * (size_t)p->k);
    return WW_OK;
}

void ww_add_s8(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb, void *c,
               const ww_qparam *qc, int relu, size_t n)
{
    ww_ops_s8_get(ww_isa_active()).add(a, qa, b, qb, c, qc, relu, n);
}
void ww_maxpool_s8(const ww_pool_shape *s, ww_qtype t, const void *x, void *y)
{
    ww_ops_s8_get(ww_isa_active()).maxpool(s, t, x, y);
}
void ww_gavgpool_s8(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                    const ww_qparam *qy)
{
    ww_ops_s8_get(ww_isa_active()).gavgpool(n, hw, c, x, qx, y, qy);
}
void ww_gemm_s8(const void *packed, const void *x, void *y)
{
    ww_ops_s8_get(ww_isa_active()).gemm(packed, x, y);
}
void ww_quantize_s8(const float *x, size_t n, const ww_qparam *q, void *y)
{
    ww_ops_s8_get(ww_isa_active()).quantize(x, n, q, y);
}
void ww_dequantize_s8(const void *x, size_t n, const ww_qparam *q, float *y)
{
    ww_ops_s8_get(ww_isa_active()).dequantize(x, n, q, y);
}

void ww_nchw_to_nhwc_8(const void *x, int n, int c, int h, int w, void *y)
{
    const uint8_t *s = x;
    uint8_t *d = y;
    size_t hw = (size_t)h * w;
    for (int b = 0; b < n; b++, s += hw * c, d += hw * c)
        for (size_t p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) d[p * c + ch] = s[(size_t)ch * hw + p];
}

void ww_nhwc_to_nchw_8(const void *x, int n, int c, int h, int w, void *y)
{
    const uint8_t *s = x;
    uint8_t *d = y;
    size_t hw = (size_t)h * w;
    for (int b = 0; b < n; b++, s += hw * c, d += hw * c)
        for (size_t p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) d[(size_t)ch * hw + p] = s[p * c + ch];
}
