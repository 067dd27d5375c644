/* conv2d_s8 for AVX-512 without VNNI (Skylake-SP class): the AVX2 scheme on
 * zmm. Activations widened to int16 once (padded image), int8 weights
 * sign-extended as loaded, vpmaddwd (exact s16 x s16 pair sums into int32).
 * Tiles of 32 output channels (2 zmm) x 6 or 8 pixels; requant.h's epilogue
 * shared with the VNNI kernel. */
#include "nn/kernels/conv2d_s8_avx512_internal.h"

static inline __m512i bcast_pair(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

#define XPTR(j) const int16_t *x##j = (const int16_t *)px[j] + segs[seg]
/* pixel j: pair 0 (k 0,1) and pair 1 (k 2,3) into channels 0-15 (l) and 16-31 (u) */
#define ROW(j)                                                                                     \
    b0 = bcast_pair(x##j + 4 * q);                                                                 \
    b1 = bcast_pair(x##j + 4 * q + 2);                                                             \
    l##j = _mm512_add_epi32(l##j, _mm512_madd_epi16(w0l, b0));                                     \
    u##j = _mm512_add_epi32(u##j, _mm512_madd_epi16(w0u, b0));                                     \
    l##j = _mm512_add_epi32(l##j, _mm512_madd_epi16(w1l, b1));                                     \
    u##j = _mm512_add_epi32(u##j, _mm512_madd_epi16(w1u, b1));
#define LOADW                                                                                      \
    __m512i w0l = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)wp));                   \
    __m512i w0u = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(wp + 32)));            \
    __m512i w1l = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(wp + 64)));            \
    __m512i w1u = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(wp + 96)));            \
    __m512i b0, b1;

static void conv2d_s8_32x6_fp32_avx512(const ww_conv2d_s8_hdr *h, const void *const *px,
                                       const void *wblock, int oc0, int noc, long p0, int npx,
                                       const void *res, void *y)
{
    __m512i l0 = bias16(h, oc0, noc, 0), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0;
    __m512i u0 = bias16(h, oc0, noc, 1), u1 = u0, u2 = u0, u3 = u0, u4 = u0, u5 = u0;
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        XPTR(0);
        XPTR(1);
        XPTR(2);
        XPTR(3);
        XPTR(4);
        XPTR(5);
        for (int q = 0; q < kq; q++, wp += 128) {
            LOADW
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
        }
    }
    __m512i acc[2 * 6] = {l0, l1, l2, l3, l4, l5, u0, u1, u2, u3, u4, u5};
    finish(h, acc, 6, 2, oc0, noc, p0, npx, res, y);
}

static void conv2d_s8_32x8_fp32_avx512(const ww_conv2d_s8_hdr *h, const void *const *px,
                                       const void *wblock, int oc0, int noc, long p0, int npx,
                                       const void *res, void *y)
{
    __m512i l0 = bias16(h, oc0, noc, 0), l1 = l0, l2 = l0, l3 = l0, l4 = l0, l5 = l0, l6 = l0,
            l7 = l0;
    __m512i u0 = bias16(h, oc0, noc, 1), u1 = u0, u2 = u0, u3 = u0, u4 = u0, u5 = u0, u6 = u0,
            u7 = u0;
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        XPTR(0);
        XPTR(1);
        XPTR(2);
        XPTR(3);
        XPTR(4);
        XPTR(5);
        XPTR(6);
        XPTR(7);
        for (int q = 0; q < kq; q++, wp += 128) {
            LOADW
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
        }
    }
    __m512i acc[2 * 8] = {l0, l1, l2, l3, l4, l5, l6, l7, u0, u1, u2, u3, u4, u5, u6, u7};
    finish(h, acc, 8, 2, oc0, noc, p0, npx, res, y);
}

const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx512 = {
    .enc = WW_S8ENC_S16,
    .wlayout = WW_S8W_PAIR8,
    .dots_per_cycle = 4, /* vpmaddwd + vpaddd pairs, two of each per cycle */
    .loads_per_cycle = 2,
    .lanes = 16,
    .ntiles = 2,
    .tiles = {{32, 6, conv2d_s8_32x6_fp32_avx512}, {32, 8, conv2d_s8_32x8_fp32_avx512}}};
