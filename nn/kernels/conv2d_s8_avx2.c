/* conv2d_s8 for AVX2: tiles of 16 output channels (2 ymm of 8 int32 lanes) x 4
 * pixels. Activations are widened to int16 once (in the padded image), weights
 * as they are loaded (kept int8 in memory: half the bytes to stream), so the
 * products go through vpmaddwd (s16 x s16 pairs summed into int32), which is
 * exact for these ranges. vpmaddubsw would be
 * faster but saturates its int16 pair sums (255*127*2 > 32767), and results must
 * match the scalar reference bit for bit for any weights. Epilogue:
 * conv2d_s8_avx2_internal.h, shared with the AVX-VNNI kernel. */
#include "nn/kernels/conv2d_s8_avx2_internal.h"

#define OB 16
#define NR 4

static inline __m256i bcast_pair(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

static void conv2d_s8_16x4_fp32_avx2(const ww_conv2d_s8_hdr *h, const void *const *px,
                                     const void *wblock, int oc0, int noc, long p0, int npx,
                                     const void *res, void *y)
{
    __m256i l0 = bias8(h, oc0, noc, 0), l1 = l0, l2 = l0, l3 = l0;
    __m256i u0 = bias8(h, oc0, noc, 1), u1 = u0, u2 = u0, u3 = u0;
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        const int16_t *x0 = (const int16_t *)px[0] + segs[seg];
        const int16_t *x1 = (const int16_t *)px[1] + segs[seg];
        const int16_t *x2 = (const int16_t *)px[2] + segs[seg];
        const int16_t *x3 = (const int16_t *)px[3] + segs[seg];
        for (int q = 0; q < kq; q++, wp += 4 * OB) {
            /* pair 0 (k 0,1) and pair 1 (k 2,3), channels 0-7 and 8-15 */
            __m256i w0l = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)wp));
            __m256i w0u = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 16)));
            __m256i w1l = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 32)));
            __m256i w1u = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wp + 48)));
            __m256i b0, b1;
#define ROW(j)                                                                                     \
    b0 = bcast_pair(x##j + 4 * q);                                                                 \
    b1 = bcast_pair(x##j + 4 * q + 2);                                                             \
    l##j = _mm256_add_epi32(l##j, _mm256_madd_epi16(w0l, b0));                                     \
    u##j = _mm256_add_epi32(u##j, _mm256_madd_epi16(w0u, b0));                                     \
    l##j = _mm256_add_epi32(l##j, _mm256_madd_epi16(w1l, b1));                                     \
    u##j = _mm256_add_epi32(u##j, _mm256_madd_epi16(w1u, b1));
            ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
        }
    }
    __m256i acc[2 * NR] = {l0, l1, l2, l3, u0, u1, u2, u3};
    finish16(h, acc, NR, oc0, noc, p0, npx, res, y);
}

const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx2 = {.enc = WW_S8ENC_S16,
                                                  .wlayout = WW_S8W_PAIR8,
                                                  .dots_per_cycle = 2,
                                                  .loads_per_cycle = 2,
                                                  .lanes = 8,
                                                  .ntiles = 1,
                                                  .tiles = {{16, 4, conv2d_s8_16x4_fp32_avx2}}};
