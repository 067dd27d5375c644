/* AVX-512 variants of the ops of ops_s8.h: the residual join (16 lanes,
 * requant.h's operations in the same order), NHWC max pooling (64 channels per
 * vector, unsigned or signed byte max), global average pooling, the input
 * quantize and the output dequantize. */
#include <immintrin.h>
#include <string.h>

#include "nn/kernels/ops_s8.h"
#include "nn/kernels/ops_s8_internal.h"

static inline __m512 load16(const void *p, ww_qtype t, __mmask16 k, int32_t zp)
{
    __m128i b = _mm_maskz_loadu_epi8(k, p);
    __m512i v = t == WW_QTYPE_S8 ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
    return _mm512_cvtepi32_ps(_mm512_sub_epi32(v, _mm512_set1_epi32(zp)));
}

void ww_add_s8_avx512(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb,
                      void *c, const ww_qparam *qc, int relu, size_t n)
{
    int32_t lo = ww_requant_lo(qc, relu), hi = ww_requant_hi(qc);
    __m512 sa = _mm512_set1_ps(qa->scale), sb = _mm512_set1_ps(qb->scale);
    __m512 sc = _mm512_set1_ps(qc->scale);
    __m512 flo = _mm512_set1_ps((float)(lo - qc->zp)), fhi = _mm512_set1_ps((float)(hi - qc->zp));
    __m512i zc = _mm512_set1_epi32(qc->zp);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 fa = _mm512_mul_ps(load16((const uint8_t *)a + i, qa->type, k, qa->zp), sa);
        __m512 fb = _mm512_mul_ps(load16((const uint8_t *)b + i, qb->type, k, qb->zp), sb);
        __m512 f = _mm512_div_ps(_mm512_add_ps(fa, fb), sc);
        f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zc);
        _mm512_mask_cvtepi32_storeu_epi8((uint8_t *)c + i, k, q);
    }
}

static inline __m512i max8(__m512i a, __m512i b, int sgn)
{
    return sgn ? _mm512_max_epi8(a, b) : _mm512_max_epu8(a, b);
}

void ww_maxpool_s8_avx512(const ww_pool_shape *s, ww_qtype t, const void *x, void *y)
{
    int sgn = t == WW_QTYPE_S8;
    const __m512i init = _mm512_set1_epi8(sgn ? (char)-128 : 0);
    const uint8_t *xb = x;
    uint8_t *yp = y;
    const size_t row = (size_t)s->w_in * s->c;
    for (int n = 0; n < s->n; n++, xb += (size_t)s->h_in * row)
        for (int oh = 0; oh < s->h_out; oh++) {
            int ih0 = oh * s->stride_h - s->pad_top;
            int rows_in = ih0 >= 0 && ih0 + (s->k_h - 1) * s->dil_h < s->h_in;
            for (int ow = 0; ow < s->w_out; ow++, yp += s->c) {
                int iw0 = ow * s->stride_w - s->pad_left;
                int inside = rows_in && iw0 >= 0 && iw0 + (s->k_w - 1) * s->dil_w < s->w_in;
                for (int c = 0; c < s->c; c += 64) {
                    __mmask64 k =
                        s->c - c >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (s->c - c)) - 1);
                    __m512i m = init;
                    if (inside && s->c - c >= 64) {
                        /* the whole window in the image, whole vectors: plain
                         * loads and store (masked byte stores are slow on
                         * Zen 4: the shipped model's stem pool took 9 us) */
                        const uint8_t *p0 = xb + (size_t)ih0 * row + (size_t)iw0 * s->c + c;
                        for (int kh = 0; kh < s->k_h; kh++) {
                            const uint8_t *p = p0 + (size_t)kh * s->dil_h * row;
                            for (int kw = 0; kw < s->k_w; kw++)
                                m = max8(m, _mm512_loadu_si512(p + (size_t)kw * s->dil_w * s->c),
                                         sgn);
                        }
                        _mm512_storeu_si512(yp + c, m);
                        continue;
                    }
                    if (inside) { /* the whole window is in the image: no checks */
                        const uint8_t *p0 = xb + (size_t)ih0 * row + (size_t)iw0 * s->c + c;
                        for (int kh = 0; kh < s->k_h; kh++) {
                            const uint8_t *p = p0 + (size_t)kh * s->dil_h * row;
                            for (int kw = 0; kw < s->k_w; kw++)
                                m = max8(
                                    m, _mm512_maskz_loadu_epi8(k, p + (size_t)kw * s->dil_w * s->c),
                                    sgn);
                        }
                    } else {
                        for (int kh = 0; kh < s->k_h; kh++) {
                            int ih = ih0 + kh * s->dil_h;
                            if (ih < 0 || ih >= s->h_in) continue;
                            for (int kw = 0; kw < s->k_w; kw++) {
                                int iw = iw0 + kw * s->dil_w;
                                if (iw < 0 || iw >= s->w_in) continue;
                                m = max8(m,
                                         _mm512_maskz_loadu_epi8(k, xb + (size_t)ih * row +
                                                                        (size_t)iw * s->c + c),
                                         sgn);
                            }
                        }
                    }
                    _mm512_mask_storeu_epi8(yp + c, k, m);
                }
            }
        }
}

/* requant.h's quantize on 16 lanes: true division, clamp, round half to even
 * (cvtps2dq under the default MXCSR); NaN lanes become 0 before the clamp, so
 * they land on the zero point as in the scalar code. */
void ww_quantize_s8_avx512(const float *x, size_t n, const ww_qparam *q, void *y)
{
    int32_t lo = ww_qtype_min(q->type), hi = ww_qtype_max(q->type);
    __m512 scale = _mm512_set1_ps(q->scale);
    __m512 flo = _mm512_set1_ps((float)(lo - q->zp)), fhi = _mm512_set1_ps((float)(hi - q->zp));
    __m512i zp = _mm512_set1_epi32(q->zp);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __mmask16 ok = _mm512_cmp_ps_mask(v, v, _CMP_ORD_Q);
        __m512 f = _mm512_maskz_div_ps(ok, v, scale);
        f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
        __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(f), zp);
        _mm512_mask_cvtepi32_storeu_epi8((uint8_t *)y + i, k, r);
    }
}

/* requant.h's dequantize on 16 lanes: (float)(q - zp) * scale. */
void ww_dequantize_s8_avx512(const void *x, size_t n, const ww_qparam *q, float *y)
{
    const __m512 scale = _mm512_set1_ps(q->scale);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(
            y + i, k, _mm512_mul_ps(load16((const uint8_t *)x + i, q->type, k, q->zp), scale));
    }
}

/* Global average pool, 16 channels per vector: the exact int32 sum over the
 * pixels, then requant.h's ww_requant (multiply, clamp, round half to even). */
void ww_gavgpool_s8_avx512(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                           const ww_qparam *qy)
{
    const __m512 m = _mm512_set1_ps(ww_gavgpool_s8_scale(qx, qy, hw));
    int32_t lo = ww_requant_lo(qy, 0), hi = ww_requant_hi(qy);
    const __m512 flo = _mm512_set1_ps((float)(lo - qy->zp)),
                 fhi = _mm512_set1_ps((float)(hi - qy->zp));
    const __m512i zy = _mm512_set1_epi32(qy->zp), zsum = _mm512_set1_epi32(hw * qx->zp);
    int sgn = qx->type == WW_QTYPE_S8;
    for (int b = 0; b < n; b++) {
        const uint8_t *xb = (const uint8_t *)x + (size_t)b * hw * c;
        for (int ch = 0; ch < c; ch += 16) {
            __mmask16 k = c - ch >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (c - ch)) - 1);
            __m512i acc = _mm512_setzero_si512();
            for (int p = 0; p < hw; p++) {
                __m128i v = _mm_maskz_loadu_epi8(k, xb + (size_t)p * c + ch);
                acc =
                    _mm512_add_epi32(acc, sgn ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v));
            }
            acc = _mm512_sub_epi32(acc, zsum);
            __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), m);
            f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zy);
            _mm512_mask_cvtepi32_storeu_epi8((uint8_t *)y + (size_t)b * c + ch, k, q);
        }
    }
}
