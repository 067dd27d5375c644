/* Private to the two 256-bit x86 conv2d_s8 kernels (AVX2 and AVX-VNNI, both
 * compiled with AVX2 enabled): requant.h's epilogue on 8-lane ymm vectors, the
 * 256-bit counterpart of conv2d_s8_avx512_internal.h. */
#ifndef WW_NN_KERNELS_CONV2D_S8_AVX2_INTERNAL_H
#define WW_NN_KERNELS_CONV2D_S8_AVX2_INTERNAL_H

#include <immintrin.h>

#include "nn/kernels/conv2d_s8_internal.h"

/* The epilogue's constants, read from the header once per tile: stores
 * through uint8_t * could alias it, so the compiler would reload them per
 * vector otherwise. */
typedef struct consts8 {
    __m256 y_hi, mid_lo, mid_hi, sa, sb, sc;
    __m256i r_zp, y_zp16, y_lo16; /* the last two: 16-bit lanes */
    int fuse, r_s8, y_s8;
} consts8;

static inline void load_consts8(const ww_conv2d_s8_hdr *h, consts8 *k)
{
    const ww_conv2d_s8_params *p = &h->p;
    k->y_hi = _mm256_set1_ps((float)(h->y_hi - p->y.zp));
    k->y_zp16 = _mm256_set1_epi16((short)p->y.zp);
    k->y_lo16 = _mm256_set1_epi16((short)h->y_lo);
    k->fuse = p->fuse_add;
    k->mid_lo = _mm256_set1_ps((float)(h->mid_lo - p->mid.zp));
    k->mid_hi = _mm256_set1_ps((float)(h->mid_hi - p->mid.zp));
    k->r_zp = _mm256_set1_epi32(p->r.zp);
    k->r_s8 = p->r.type == WW_QTYPE_S8;
    k->y_s8 = p->y.type == WW_QTYPE_S8;
    k->sa = _mm256_set1_ps(h->add_sa);
    k->sb = _mm256_set1_ps(h->add_sb);
    k->sc = _mm256_set1_ps(h->add_sc);
}

/* All lanes set in the first valid of 8 (valid may be <= 0 or > 8). */
static inline __m256i first_lanes8(int valid)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The starting accumulators of channels oc0 + 8i.. of a tile: the packed bias
 * (lanes past noc 0), which saves one add per 8 outputs in the epilogue. The
 * masked load does not touch the bias array past its end. */
static inline __m256i bias8(const ww_conv2d_s8_hdr *h, int oc0, int noc, int i)
{
    const int *b = (const int *)ww_s8_bias(h) + oc0 + 8 * i;
    return noc >= 8 * (i + 1) ? _mm256_loadu_si256((const __m256i *)b)
                              : _mm256_maskload_epi32(b, first_lanes8(noc - 8 * i));
}

/* requant.h's value before its clamp on 8 lanes (accumulators holding the
 * bias), relative to the output zero point: the conv's, or the residual
 * join's (after the intermediate tensor's own clamp and rounding) when fused.
 * Only the first valid lanes' residual bytes are read. */
static inline __m256 requant8_f(const consts8 *k, __m256i acc, __m256 m, int valid, long yi,
                                const void *res)
{
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(acc), m);
    if (k->fuse) {
        /* the intermediate's rounding as an integral float, one op for the
         * round trip through int32 (the same value except -0, and -0 * sa +
         * fb equals +0 * sa + fb since fb is never -0) */
        __m256 mid = _mm256_round_ps(_mm256_min_ps(_mm256_max_ps(f, k->mid_lo), k->mid_hi),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const uint8_t *rp = (const uint8_t *)res + yi;
        __m128i rb;
        if (valid >= 8) {
            rb = _mm_loadl_epi64((const __m128i *)rp);
        } else {
            uint8_t t[8] = {0};
            memcpy(t, rp, (size_t)valid);
            rb = _mm_loadl_epi64((const __m128i *)t);
        }
        __m256i r = k->r_s8 ? _mm256_cvtepi8_epi32(rb) : _mm256_cvtepu8_epi32(rb);
        r = _mm256_sub_epi32(r, k->r_zp);
        __m256 fa = _mm256_mul_ps(mid, k->sa);
        __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(r), k->sb);
        f = _mm256_div_ps(_mm256_add_ps(fa, fb), k->sc);
    }
    return f;
}

/* Four vectors of requant8_f values as 32 output bytes in lane order. Only
 * the upper clamp is done in float (it keeps the conversion in range); the
 * rest of requant.h's clamp comes after rounding, on 16-bit lanes: rounding is
 * monotonic, so clamping below at the integer lo - zp before or after it
 * gives the same integer, and a value too negative for int32 converts to
 * INT32_MIN, which the saturating steps carry to lo. The zero point is added
 * with saturation, the packs to bytes cannot clip above (hi is the type's
 * maximum), and their interleave of 128-bit lanes is undone by the permute. */
static inline __m256i pack4_8x8(const consts8 *k, __m256 f0, __m256 f1, __m256 f2, __m256 f3)
{
    const __m256i idx = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256i q0 = _mm256_cvtps_epi32(_mm256_min_ps(f0, k->y_hi));
    __m256i q1 = _mm256_cvtps_epi32(_mm256_min_ps(f1, k->y_hi));
    __m256i q2 = _mm256_cvtps_epi32(_mm256_min_ps(f2, k->y_hi));
    __m256i q3 = _mm256_cvtps_epi32(_mm256_min_ps(f3, k->y_hi));
    __m256i p01 = _mm256_adds_epi16(_mm256_packs_epi32(q0, q1), k->y_zp16);
    __m256i p23 = _mm256_adds_epi16(_mm256_packs_epi32(q2, q3), k->y_zp16);
    p01 = _mm256_max_epi16(p01, k->y_lo16);
    p23 = _mm256_max_epi16(p23, k->y_lo16);
    __m256i b = k->y_s8 ? _mm256_packs_epi16(p01, p23) : _mm256_packus_epi16(p01, p23);
    return _mm256_permutevar8x32_epi32(b, idx);
}

/* Writes a tile of 16 channels (two vectors) x nr pixels: acc[i * nr + j]
 * holds channels oc0 + 8i.. of pixel p0 + j, the bias included (started from
 * bias8). Two pixels share one pack when all 16 channels are real; a partial
 * channel block goes vector by vector through a small array, so nothing is
 * read or written past channel oc0 + noc. Inlined into each tile so the
 * accumulators need not go through memory. */
static inline __attribute__((always_inline)) void finish16(const ww_conv2d_s8_hdr *h,
                                                           const __m256i *acc, int nr, int oc0,
                                                           int noc, long p0, int npx,
                                                           const void *res, void *y)
{
    consts8 k;
    load_consts8(h, &k);
    const long c_out = h->p.shape.c_out;
    const float *mult = ww_s8_mult(h) + oc0;
    uint8_t *yb = (uint8_t *)y;
    if (noc == 16) {
        __m256 m0 = _mm256_loadu_ps(mult), m1 = _mm256_loadu_ps(mult + 8);
        int j = 0;
        for (; j + 2 <= npx; j += 2) {
            long yi = (p0 + j) * c_out + oc0, yi2 = yi + c_out;
            __m256 f0 = requant8_f(&k, acc[j], m0, 8, yi, res);
            __m256 f1 = requant8_f(&k, acc[nr + j], m1, 8, yi + 8, res);
            __m256 f2 = requant8_f(&k, acc[j + 1], m0, 8, yi2, res);
            __m256 f3 = requant8_f(&k, acc[nr + j + 1], m1, 8, yi2 + 8, res);
            __m256i v = pack4_8x8(&k, f0, f1, f2, f3);
            _mm_storeu_si128((__m128i *)(yb + yi), _mm256_castsi256_si128(v));
            _mm_storeu_si128((__m128i *)(yb + yi2), _mm256_extracti128_si256(v, 1));
        }
        if (j < npx) {
            long yi = (p0 + j) * c_out + oc0;
            __m256 f0 = requant8_f(&k, acc[j], m0, 8, yi, res);
            __m256 f1 = requant8_f(&k, acc[nr + j], m1, 8, yi + 8, res);
            __m256i v = pack4_8x8(&k, f0, f1, f0, f1);
            _mm_storeu_si128((__m128i *)(yb + yi), _mm256_castsi256_si128(v));
        }
        return;
    }
    for (int i = 0; i < 2; i++) {
        int valid = noc - 8 * i;
        if (valid <= 0) break;
        if (valid > 8) valid = 8;
        __m256 m = _mm256_maskload_ps(mult + 8 * i, first_lanes8(valid));
        for (int j = 0; j < npx; j++) {
            long yi = (p0 + j) * c_out + oc0 + 8 * i;
            __m256 f = requant8_f(&k, acc[i * nr + j], m, valid, yi, res);
            uint8_t out[32];
            _mm256_storeu_si256((__m256i *)out, pack4_8x8(&k, f, f, f, f));
            memcpy(yb + yi, out, (size_t)valid);
        }
    }
}

#endif
