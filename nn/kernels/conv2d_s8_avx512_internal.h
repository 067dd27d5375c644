/* Private to the two AVX-512 conv2d_s8 kernels (VNNI and plain AVX-512):
 * requant.h's epilogue on 16 lanes with masks for partial channel blocks. */
#ifndef WW_NN_KERNELS_CONV2D_S8_AVX512_INTERNAL_H
#define WW_NN_KERNELS_CONV2D_S8_AVX512_INTERNAL_H

#include <immintrin.h>

#include "nn/kernels/conv2d_s8_internal.h"

/* The epilogue's constants, read from the header once per tile: stores
 * through uint8_t * could alias it, so the compiler would reload them per
 * vector otherwise. */
typedef struct consts {
    __m512 y_lo, y_hi, mid_lo, mid_hi, sa, sb, sc;
    __m512i y_zp, r_zp, y_zp16, y_lo16; /* the last two: 16-bit lanes */
    int fuse, r_s8, y_s8;
} consts;

static inline void load_consts(const ww_conv2d_s8_hdr *h, consts *k)
{
    const ww_conv2d_s8_params *p = &h->p;
    k->y_lo = _mm512_set1_ps((float)(h->y_lo - p->y.zp));
    k->y_hi = _mm512_set1_ps((float)(h->y_hi - p->y.zp));
    k->y_zp = _mm512_set1_epi32(p->y.zp);
    k->y_zp16 = _mm512_set1_epi16((short)p->y.zp);
    k->y_lo16 = _mm512_set1_epi16((short)h->y_lo);
    k->fuse = p->fuse_add;
    k->mid_lo = _mm512_set1_ps((float)(h->mid_lo - p->mid.zp));
    k->mid_hi = _mm512_set1_ps((float)(h->mid_hi - p->mid.zp));
    k->r_zp = _mm512_set1_epi32(p->r.zp);
    k->r_s8 = p->r.type == WW_QTYPE_S8;
    k->y_s8 = p->y.type == WW_QTYPE_S8;
    k->sa = _mm512_set1_ps(h->add_sa);
    k->sb = _mm512_set1_ps(h->add_sb);
    k->sc = _mm512_set1_ps(h->add_sc);
}

/* A mask of the first valid of n lanes (n <= 16; valid may be <= 0 or > n). */
static inline unsigned first_lanes(int valid, int n)
{
    return valid >= n ? (1u << n) - 1 : valid <= 0 ? 0u : (1u << valid) - 1;
}

/* The starting accumulators of channels oc0 + 16i.. of a tile: the packed
 * bias (lanes past noc 0). Starting from it instead of adding it in the
 * epilogue saves one vector op per 16 outputs: ~2 % of the shipped model. */
static inline __m512i bias16(const ww_conv2d_s8_hdr *h, int oc0, int noc, int i)
{
    __mmask16 k = (__mmask16)first_lanes(noc - 16 * i, 16);
    return _mm512_maskz_loadu_epi32(k, ww_s8_bias(h) + oc0 + 16 * i);
}

/* requant.h's value before its clamp on 16 lanes (accumulators holding the
 * bias, multipliers of those channels given), relative to the output zero
 * point: the conv's, or the residual join's (after the intermediate tensor's
 * own clamp and rounding) when fused. */
static inline __m512 requant16_f(const consts *k, __m512i acc, __m512 m, __mmask16 mask, long yi,
                                 const void *res)
{
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), m);
    if (k->fuse) {
        /* the intermediate's rounding as an integral float: one op for the
         * round trip through int32, the same value except that it may be -0,
         * and -0 * sa + fb equals +0 * sa + fb since fb is never -0 (an int
         * converted, times a positive scale) */
        __m512 mid = _mm512_roundscale_ps(_mm512_min_ps(_mm512_max_ps(f, k->mid_lo), k->mid_hi),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const uint8_t *rp = (const uint8_t *)res + yi;
        __m128i rb =
            mask == 0xffff ? _mm_loadu_si128((const __m128i *)rp) : _mm_maskz_loadu_epi8(mask, rp);
        __m512i r = k->r_s8 ? _mm512_cvtepi8_epi32(rb) : _mm512_cvtepu8_epi32(rb);
        r = _mm512_sub_epi32(r, k->r_zp);
        __m512 fa = _mm512_mul_ps(mid, k->sa);
        __m512 fb = _mm512_mul_ps(_mm512_cvtepi32_ps(r), k->sb);
        f = _mm512_div_ps(_mm512_add_ps(fa, fb), k->sc);
    }
    return f;
}

/* The whole of requant.h on 16 lanes: the output values, zero point added, as
 * int32 (the masked path of partial channel blocks). */
static inline __m512i requant16(const consts *k, __m512i acc, __m512 m, __mmask16 mask, long yi,
                                const void *res)
{
    __m512 f = requant16_f(k, acc, m, mask, yi, res);
    __m512i q = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(f, k->y_lo), k->y_hi));
    return _mm512_add_epi32(q, k->y_zp);
}

/* Four (or two) vectors of requant16_f values as 64 (32) output bytes in lane
 * order. Only the upper clamp is done in float (it keeps the conversion in
 * range); the rest of requant.h's clamp comes after rounding, on 16-bit pairs:
 * rounding is monotonic, so clamping below at the integer lo - zp before or
 * after it gives the same integer, and a value too negative for int32 converts
 * to INT32_MIN, which the saturating steps carry to lo. The zero point is added
 * with saturation, the packs to bytes cannot clip above (hi is the type's
 * maximum), and their interleave of 128-bit lanes is undone by the permute.
 * One full store instead of four narrowing masked stores, which are slow on
 * Zen 4; half the adds, and no max in float. */
static inline __m512i pack4_8(const consts *k, __m512 f0, __m512 f1, __m512 f2, __m512 f3)
{
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i q0 = _mm512_cvtps_epi32(_mm512_min_ps(f0, k->y_hi));
    __m512i q1 = _mm512_cvtps_epi32(_mm512_min_ps(f1, k->y_hi));
    __m512i q2 = _mm512_cvtps_epi32(_mm512_min_ps(f2, k->y_hi));
    __m512i q3 = _mm512_cvtps_epi32(_mm512_min_ps(f3, k->y_hi));
    __m512i p01 = _mm512_adds_epi16(_mm512_packs_epi32(q0, q1), k->y_zp16);
    __m512i p23 = _mm512_adds_epi16(_mm512_packs_epi32(q2, q3), k->y_zp16);
    p01 = _mm512_max_epi16(p01, k->y_lo16);
    p23 = _mm512_max_epi16(p23, k->y_lo16);
    __m512i b = k->y_s8 ? _mm512_packs_epi16(p01, p23) : _mm512_packus_epi16(p01, p23);
    return _mm512_permutexvar_epi32(idx, b);
}

/* Writes the tile: acc[i * nr + j] holds channels oc0 + 16i.. of pixel p0 + j,
 * the bias included (each tile passes an exactly sized, fully initialised
 * array, started from bias16).
 * Inlined into each tile so the accumulators need not go through a call. */
static inline __attribute__((always_inline)) void finish(const ww_conv2d_s8_hdr *h,
                                                         const __m512i *acc, int nr, int mr,
                                                         int oc0, int noc, long p0, int npx,
                                                         const void *res, void *y)
{
    consts k;
    load_consts(h, &k);
    const long c_out = h->p.shape.c_out;
    const float *mult = ww_s8_mult(h);
    uint8_t *yb = (uint8_t *)y;
    if ((mr == 4 || mr == 2 || mr == 1) && noc == 16 * mr) {
        __m512 m[4];
        for (int i = 0; i < mr; i++) m[i] = _mm512_loadu_ps(mult + oc0 + 16 * i);
        for (int j = 0; j < npx; j++) {
            long yi = (p0 + j) * c_out + oc0;
            __m512 f0 = requant16_f(&k, acc[0 * nr + j], m[0], 0xffff, yi, res);
            if (mr == 4) {
                __m512 f1 = requant16_f(&k, acc[1 * nr + j], m[1], 0xffff, yi + 16, res);
                __m512 f2 = requant16_f(&k, acc[2 * nr + j], m[2], 0xffff, yi + 32, res);
                __m512 f3 = requant16_f(&k, acc[3 * nr + j], m[3], 0xffff, yi + 48, res);
                _mm512_storeu_si512(yb + yi, pack4_8(&k, f0, f1, f2, f3));
            } else if (mr == 2) {
                __m512 f1 = requant16_f(&k, acc[1 * nr + j], m[1], 0xffff, yi + 16, res);
                if (j + 2 <= npx) {
                    /* 32 channels: two pixels share one pack (half the
                     * clamps, conversions and shuffles of one each) */
                    long yi2 = yi + c_out;
                    __m512 g0 = requant16_f(&k, acc[j + 1], m[0], 0xffff, yi2, res);
                    __m512 g1 = requant16_f(&k, acc[nr + j + 1], m[1], 0xffff, yi2 + 16, res);
                    __m512i v = pack4_8(&k, f0, f1, g0, g1);
                    _mm256_storeu_si256((__m256i *)(yb + yi), _mm512_castsi512_si256(v));
                    _mm256_storeu_si256((__m256i *)(yb + yi2), _mm512_extracti64x4_epi64(v, 1));
                    j++;
                } else {
                    _mm256_storeu_si256((__m256i *)(yb + yi),
                                        _mm512_castsi512_si256(pack4_8(&k, f0, f1, f0, f1)));
                }
            } else if (j + 4 <= npx) {
                /* 16 channels: four pixels share one pack (a fourth of the
                 * shuffles of packing each alone), 16 bytes stored per pixel */
                __m512 f1 = requant16_f(&k, acc[j + 1], m[0], 0xffff, yi + c_out, res);
                __m512 f2 = requant16_f(&k, acc[j + 2], m[0], 0xffff, yi + 2 * c_out, res);
                __m512 f3 = requant16_f(&k, acc[j + 3], m[0], 0xffff, yi + 3 * c_out, res);
                __m512i v = pack4_8(&k, f0, f1, f2, f3);
                _mm_storeu_si128((__m128i *)(yb + yi), _mm512_castsi512_si128(v));
                _mm_storeu_si128((__m128i *)(yb + yi + c_out), _mm512_extracti32x4_epi32(v, 1));
                _mm_storeu_si128((__m128i *)(yb + yi + 2 * c_out), _mm512_extracti32x4_epi32(v, 2));
                _mm_storeu_si128((__m128i *)(yb + yi + 3 * c_out), _mm512_extracti32x4_epi32(v, 3));
                j += 3;
            } else {
                _mm_storeu_si128((__m128i *)(yb + yi),
                                 _mm512_castsi512_si128(pack4_8(&k, f0, f0, f0, f0)));
            }
        }
        return;
    }
    for (int i = 0; i < mr; i++) {
        int valid = noc - 16 * i, oc = oc0 + 16 * i;
        if (valid <= 0) break;
        __mmask16 mask = (__mmask16)first_lanes(valid, 16);
        __m512 m = _mm512_maskz_loadu_ps(mask, mult + oc);
        for (int j = 0; j < npx; j++) {
            long yi = (p0 + j) * c_out + oc;
            _mm512_mask_cvtepi32_storeu_epi8(yb + yi, mask,
                                             requant16(&k, acc[i * nr + j], m, mask, yi, res));
        }
    }
}

#endif
