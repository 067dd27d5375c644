/* AVX2 variants of the ops of ops_s8.h, for x86 CPUs without AVX-512 (the
 * avx2 and avxvnni rows): the 256-bit counterparts of ops_s8_avx512.c, with
 * requant.h's operations in the same order, so every byte is the scalar
 * reference's. AVX2 has no masked byte loads or stores: tails go through small
 * local arrays, and max pooling recomputes an overlapping last vector. */
#include <immintrin.h>
#include <string.h>

#include "nn/kernels/ops_s8.h"
#include "nn/kernels/ops_s8_internal.h"

/* 8 bytes less the zero point as floats (exact: |q - zp| <= 255). */
static inline __m256 load8(const uint8_t *p, int sgn, __m256i zp)
{
    __m128i b = _mm_loadl_epi64((const __m128i *)p);
    __m256i v = sgn ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
    return _mm256_cvtepi32_ps(_mm256_sub_epi32(v, zp));
}

/* requant.h's clamp to [lo - zp, hi - zp], round half to even (cvtps2dq under
 * the default MXCSR) and zero point. */
static inline __m256i clamp_round(__m256 f, __m256 flo, __m256 fhi, __m256i zp)
{
    f = _mm256_min_ps(_mm256_max_ps(f, flo), fhi);
    return _mm256_add_epi32(_mm256_cvtps_epi32(f), zp);
}

/* Four vectors of values already in the type's range as 32 bytes in lane
 * order: the packs clip nothing, and the permute undoes their interleave of
 * 128-bit lanes. */
static inline __m256i pack32(__m256i q0, __m256i q1, __m256i q2, __m256i q3, int sgn)
{
    __m256i p01 = _mm256_packs_epi32(q0, q1), p23 = _mm256_packs_epi32(q2, q3);
    __m256i b = sgn ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
    return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

typedef struct add_consts {
    __m256 sa, sb, sc, flo, fhi;
    __m256i za, zb, zc;
    int a_s8, b_s8, c_s8;
} add_consts;

static inline __m256i add8(const uint8_t *a, const uint8_t *b, const add_consts *k)
{
    __m256 fa = _mm256_mul_ps(load8(a, k->a_s8, k->za), k->sa);
    __m256 fb = _mm256_mul_ps(load8(b, k->b_s8, k->zb), k->sb);
    __m256 f = _mm256_div_ps(_mm256_add_ps(fa, fb), k->sc);
    return clamp_round(f, k->flo, k->fhi, k->zc);
}

static inline __m256i add32(const uint8_t *a, const uint8_t *b, const add_consts *k)
{
    return pack32(add8(a, b, k), add8(a + 8, b + 8, k), add8(a + 16, b + 16, k),
                  add8(a + 24, b + 24, k), k->c_s8);
}

void ww_add_s8_avx2(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb, void *c,
                    const ww_qparam *qc, int relu, size_t n)
{
    int32_t lo = ww_requant_lo(qc, relu), hi = ww_requant_hi(qc);
    const add_consts k = {.sa = _mm256_set1_ps(qa->scale),
                          .sb = _mm256_set1_ps(qb->scale),
                          .sc = _mm256_set1_ps(qc->scale),
                          .flo = _mm256_set1_ps((float)(lo - qc->zp)),
                          .fhi = _mm256_set1_ps((float)(hi - qc->zp)),
                          .za = _mm256_set1_epi32(qa->zp),
                          .zb = _mm256_set1_epi32(qb->zp),
                          .zc = _mm256_set1_epi32(qc->zp),
                          .a_s8 = qa->type == WW_QTYPE_S8,
                          .b_s8 = qb->type == WW_QTYPE_S8,
                          .c_s8 = qc->type == WW_QTYPE_S8};
    const uint8_t *ab = a, *bb = b;
    uint8_t *cb = c;
    size_t i = 0;
    for (; i + 32 <= n; i += 32)
        _mm256_storeu_si256((__m256i *)(cb + i), add32(ab + i, bb + i, &k));
    if (i < n) {
        uint8_t ta[32] = {0}, tb[32] = {0}, tc[32];
        memcpy(ta, ab + i, n - i);
        memcpy(tb, bb + i, n - i);
        _mm256_storeu_si256((__m256i *)tc, add32(ta, tb, &k));
        memcpy(cb + i, tc, n - i);
    }
}

static inline __m256i max8(__m256i a, __m256i b, int sgn)
{
    return sgn ? _mm256_max_epi8(a, b) : _mm256_max_epu8(a, b);
}

/* The taps [*k0, *k1) of a window starting at i0 (k taps dil apart) that fall
 * inside an axis of n: padding never wins, so only those are read. */
static inline void taps_inside(int i0, int k, int dil, int n, int *k0, int *k1)
{
    int hi = i0 >= n ? 0 : (n - 1 - i0) / dil + 1;
    *k0 = i0 >= 0 ? 0 : (-i0 + dil - 1) / dil;
    *k1 = hi < k ? hi : k;
}

/* The max over nh x nw taps (dh and dw bytes apart) of the `width` (32 or
 * 16) channels at p, stored to y; no taps give the type's minimum. */
static inline __attribute__((always_inline)) void
window_max(const uint8_t *p, size_t dh, size_t dw, int nh, int nw, int width, int sgn, uint8_t *y)
{
    __m256i m = _mm256_set1_epi8(sgn ? (char)-128 : 0);
    for (int i = 0; i < nh; i++, p += dh)
        for (int j = 0; j < nw; j++) {
            const uint8_t *q = p + (size_t)j * dw;
            m = max8(m,
                     width == 32 ? _mm256_loadu_si256((const __m256i *)q)
                                 : _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)q)),
                     sgn);
        }
    if (width == 32)
        _mm256_storeu_si256((__m256i *)y, m);
    else
        _mm_storeu_si128((__m128i *)y, _mm256_castsi256_si128(m));
}

/* Called with constant sgn so each type gets its own loops. Channels go 32 (16
 * when fewer than 32) at a time; when c is not a multiple of that, the last
 * vector ends at c and overlaps the one before, whose channels it computes and
 * stores again with the same values. */
static inline __attribute__((always_inline)) void maxpool(const ww_pool_shape *s, const uint8_t *x,
                                                          uint8_t *y, int sgn)
{
    const size_t c = (size_t)s->c, row = (size_t)s->w_in * c;
    const size_t dh = (size_t)s->dil_h * row, dw = (size_t)s->dil_w * c;
    const int width = c >= 32 ? 32 : 16;
    for (int n = 0; n < s->n; n++, x += (size_t)s->h_in * row)
        for (int oh = 0; oh < s->h_out; oh++) {
            int ih0 = oh * s->stride_h - s->pad_top, kh0, kh1;
            taps_inside(ih0, s->k_h, s->dil_h, s->h_in, &kh0, &kh1);
            for (int ow = 0; ow < s->w_out; ow++, y += c) {
                int iw0 = ow * s->stride_w - s->pad_left, kw0, kw1;
                taps_inside(iw0, s->k_w, s->dil_w, s->w_in, &kw0, &kw1);
                int nh = kh1 - kh0, nw = kw1 - kw0;
                const uint8_t *p = x;
                if (nh > 0 && nw > 0)
                    p += (size_t)(ih0 + kh0 * s->dil_h) * row + (size_t)(iw0 + kw0 * s->dil_w) * c;
                else
                    nh = nw = 0;
                for (size_t c0 = 0; c0 < c; c0 += (size_t)width) {
                    size_t at = c0 + (size_t)width <= c ? c0 : c - (size_t)width;
                    if (width == 32)
                        window_max(p + at, dh, dw, nh, nw, 32, sgn, y + at);
                    else
                        window_max(p + at, dh, dw, nh, nw, 16, sgn, y + at);
                }
            }
        }
}

void ww_maxpool_s8_avx2(const ww_pool_shape *s, ww_qtype t, const void *x, void *y)
{
    if (s->c < 16) /* not even one vector: the overlap trick needs one */
        ww_maxpool_s8_generic(s, t, x, y);
    else if (t == WW_QTYPE_S8)
        maxpool(s, x, y, 1);
    else
        maxpool(s, x, y, 0);
}

typedef struct quant_consts {
    __m256 scale, flo, fhi;
    __m256i zp;
} quant_consts;

/* NaN lanes are zeroed after the division, so they land on the zero point as
 * in the scalar code (max_ps would turn them into the lower bound). */
static inline __m256i quant8(const float *x, const quant_consts *k)
{
    __m256 v = _mm256_loadu_ps(x);
    __m256 f = _mm256_and_ps(_mm256_div_ps(v, k->scale), _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    return clamp_round(f, k->flo, k->fhi, k->zp);
}

static inline __m256i quant32(const float *x, const quant_consts *k, int sgn)
{
    return pack32(quant8(x, k), quant8(x + 8, k), quant8(x + 16, k), quant8(x + 24, k), sgn);
}

/* requant.h's quantize: true division, clamp, round half to even, zero point. */
void ww_quantize_s8_avx2(const float *x, size_t n, const ww_qparam *q, void *y)
{
    int32_t lo = ww_qtype_min(q->type), hi = ww_qtype_max(q->type);
    const quant_consts k = {.scale = _mm256_set1_ps(q->scale),
                            .flo = _mm256_set1_ps((float)(lo - q->zp)),
                            .fhi = _mm256_set1_ps((float)(hi - q->zp)),
                            .zp = _mm256_set1_epi32(q->zp)};
    const int sgn = q->type == WW_QTYPE_S8;
    uint8_t *yb = y;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) _mm256_storeu_si256((__m256i *)(yb + i), quant32(x + i, &k, sgn));
    if (i < n) {
        float t[32] = {0};
        uint8_t out[32];
        memcpy(t, x + i, (n - i) * sizeof *x);
        _mm256_storeu_si256((__m256i *)out, quant32(t, &k, sgn));
        memcpy(yb + i, out, n - i);
    }
}

/* requant.h's dequantize: (float)(q - zp) * scale. */
void ww_dequantize_s8_avx2(const void *x, size_t n, const ww_qparam *q, float *y)
{
    const __m256 scale = _mm256_set1_ps(q->scale);
    const __m256i zp = _mm256_set1_epi32(q->zp);
    const int sgn = q->type == WW_QTYPE_S8;
    const uint8_t *xb = x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(load8(xb + i, sgn, zp), scale));
    if (i < n) {
        uint8_t t[8] = {0};
        float out[8];
        memcpy(t, xb + i, n - i);
        _mm256_storeu_ps(out, _mm256_mul_ps(load8(t, sgn, zp), scale));
        memcpy(y + i, out, (n - i) * sizeof *y);
    }
}

/* Global average pool, 8 channels per vector: the exact int32 sum over the
 * pixels, then requant.h's ww_requant (multiply, clamp, round half to even). */
void ww_gavgpool_s8_avx2(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                         const ww_qparam *qy)
{
    const __m256 m = _mm256_set1_ps(ww_gavgpool_s8_scale(qx, qy, hw));
    int32_t lo = ww_requant_lo(qy, 0), hi = ww_requant_hi(qy);
    const __m256 flo = _mm256_set1_ps((float)(lo - qy->zp)),
                 fhi = _mm256_set1_ps((float)(hi - qy->zp));
    const __m256i zy = _mm256_set1_epi32(qy->zp), zsum = _mm256_set1_epi32(hw * qx->zp);
    const int sgn = qx->type == WW_QTYPE_S8, ysgn = qy->type == WW_QTYPE_S8;
    for (int b = 0; b < n; b++) {
        const uint8_t *xb = (const uint8_t *)x + (size_t)b * hw * c;
        uint8_t *yb = (uint8_t *)y + (size_t)b * c;
        for (int ch = 0; ch < c; ch += 8) {
            size_t nc = c - ch < 8 ? (size_t)(c - ch) : 8;
            __m256i acc = _mm256_setzero_si256();
            uint8_t t[8] = {0};
            for (int p = 0; p < hw; p++) {
                const uint8_t *src = xb + (size_t)p * c + ch;
                if (nc < 8) src = memcpy(t, src, nc);
                __m128i v = _mm_loadl_epi64((const __m128i *)src);
                acc =
                    _mm256_add_epi32(acc, sgn ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v));
            }
            __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc, zsum)), m);
            __m256i q = clamp_round(f, flo, fhi, zy);
            uint8_t out[32];
            _mm256_storeu_si256((__m256i *)out, pack32(q, q, q, q, ysgn));
            memcpy(yb + ch, out, nc);
        }
    }
}
