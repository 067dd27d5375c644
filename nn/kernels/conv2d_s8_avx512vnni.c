/* conv2d_s8 for AVX-512 VNNI: tiles of 64 output channels (4 zmm of 16 int32
 * lanes) x 6 pixels, 24 accumulators. Per quad of k: 4 weight loads, 6
 * broadcasts of 4 activation bytes, 24 vpdpbusd (u8 activations x s8 weights,
 * exact: no intermediate saturation). Epilogue: requant.h in zmm. */
#include "nn/kernels/conv2d_s8_internal.h"

#include <immintrin.h>

#define OB 64
#define NR 6

static inline __m512i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

static inline __m512 clamp_ps(__m512 f, int32_t zp, int32_t lo, int32_t hi)
{
    f = _mm512_max_ps(f, _mm512_set1_ps((float)(lo - zp)));
    return _mm512_min_ps(f, _mm512_set1_ps((float)(hi - zp)));
}

/* requant.h's epilogue on 16 lanes; stores the bytes of the valid lanes. */
static inline void epilogue16(const ww_conv2d_s8_hdr *h, __m512i acc, int oc, __mmask16 mask,
                              long yi, const void *res, void *y)
{
    const ww_conv2d_s8_params *p = &h->p;
    __m512i v = _mm512_add_epi32(acc, _mm512_maskz_loadu_epi32(mask, ww_s8_bias(h) + oc));
    __m512 f =
        _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_maskz_loadu_ps(mask, ww_s8_mult(h) + oc));
    if (p->fuse_add) {
        __m512i mid = _mm512_cvtps_epi32(clamp_ps(f, p->mid.zp, h->mid_lo, h->mid_hi));
        __m128i rb = _mm_maskz_loadu_epi8(mask, (const uint8_t *)res + yi);
        __m512i r = p->r.type == WW_QTYPE_S8 ? _mm512_cvtepi8_epi32(rb) : _mm512_cvtepu8_epi32(rb);
        r = _mm512_sub_epi32(r, _mm512_set1_epi32(p->r.zp));
        __m512 fa = _mm512_mul_ps(_mm512_cvtepi32_ps(mid), _mm512_set1_ps(h->add_sa));
        __m512 fb = _mm512_mul_ps(_mm512_cvtepi32_ps(r), _mm512_set1_ps(h->add_sb));
        f = _mm512_div_ps(_mm512_add_ps(fa, fb), _mm512_set1_ps(h->add_sc));
    }
    __m512i q = _mm512_cvtps_epi32(clamp_ps(f, p->y.zp, h->y_lo, h->y_hi));
    q = _mm512_add_epi32(q, _mm512_set1_epi32(p->y.zp));
    _mm512_mask_cvtepi32_storeu_epi8((uint8_t *)y + yi, mask, q);
}

static void tile_64x6(const ww_conv2d_s8_hdr *h, const void *const *px, const void *wblock, int oc0,
                      int noc, long p0, int npx, const void *res, void *y)
{
    __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
    __m512i a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00;
    __m512i a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00, a25 = a00;
    __m512i a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00, a35 = a00;
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        const uint8_t *x0 = (const uint8_t *)px[0] + segs[seg];
        const uint8_t *x1 = (const uint8_t *)px[1] + segs[seg];
        const uint8_t *x2 = (const uint8_t *)px[2] + segs[seg];
        const uint8_t *x3 = (const uint8_t *)px[3] + segs[seg];
        const uint8_t *x4 = (const uint8_t *)px[4] + segs[seg];
        const uint8_t *x5 = (const uint8_t *)px[5] + segs[seg];
        for (int q = 0; q < kq; q++, wp += 4 * OB) {
            __m512i w0 = _mm512_loadu_si512(wp), w1 = _mm512_loadu_si512(wp + 64);
            __m512i w2 = _mm512_loadu_si512(wp + 128), w3 = _mm512_loadu_si512(wp + 192);
            __m512i b;
#define ROW(j)                                                                                     \
    b = bcast4(x##j + 4 * q);                                                                      \
    a0##j = _mm512_dpbusd_epi32(a0##j, b, w0);                                                     \
    a1##j = _mm512_dpbusd_epi32(a1##j, b, w1);                                                     \
    a2##j = _mm512_dpbusd_epi32(a2##j, b, w2);                                                     \
    a3##j = _mm512_dpbusd_epi32(a3##j, b, w3);
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
        }
    }
    __m512i acc[4][NR] = {{a00, a01, a02, a03, a04, a05},
                          {a10, a11, a12, a13, a14, a15},
                          {a20, a21, a22, a23, a24, a25},
                          {a30, a31, a32, a33, a34, a35}};
    int c_out = h->p.shape.c_out;
    for (int i = 0; i < 4; i++) {
        int valid = noc - 16 * i;
        if (valid <= 0) break;
        __mmask16 mask = valid >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << valid) - 1);
        for (int j = 0; j < npx; j++)
            epilogue16(h, acc[i][j], oc0 + 16 * i, mask, (p0 + j) * c_out + oc0 + 16 * i, res, y);
    }
}

const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx512vnni = {
    .enc = WW_S8ENC_U8, .wlayout = WW_S8W_QUAD, .ob = OB, .nr = NR, .tile = tile_64x6};
