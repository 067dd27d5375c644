/* conv2d_s8 for AVX-VNNI: vpdpbusd on ymm, for the x86 CPUs that have it
 * without AVX-512 (Alder Lake and later clients, the Gracemont cores of N100
 * mini PCs). The AVX-512 VNNI kernel's scheme at 256 bits: u8 activations x
 * s8 weights, 4 k per int32 lane, exact (no intermediate saturation, unlike
 * vpmaddubsw), the accumulators started from the zero-point-corrected bias.
 * With 16 ymm registers the main tile is 16 output channels (2 ymm) x 6
 * pixels: 12 accumulators, 2 weight vectors and the broadcast; per quad of k,
 * 2 weight loads and 6 broadcasts feed 12 vpdpbusd, and 12 independent sums
 * cover the instruction's latency at 2 per cycle. 16 x 4 for pixel counts 6
 * divides badly: on the 8 pixels of `bench_conv2d_s8 --net shipped`'s last
 * stage 59 us a conv against 77 with 16 x 6. A 16 x 5 tile (10 sums) saved
 * ~1.5 us on each 10-pixel conv of the shipped model but, picked by the pack
 * step's estimate for 40 pixels too, lost 3 us on each of those (0.919 against
 * 0.913 ms a window): not kept. Epilogue: requant.h in ymm, shared with the
 * AVX2 kernel (conv2d_s8_avx2_internal.h). */
#include "nn/kernels/conv2d_s8_avx2_internal.h"

static inline __m256i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* Weights are streamed once per pixel tile, one 64-byte line per quad, and in
 * a whole network they come from L2 or L3: prefetching 32 quads ahead took the
 * shipped net's whole pass of `bench_conv2d_s8 --net shipped` from 891 to 853
 * us (medians of 11 alternated runs; 1 KB ahead 859, 4 KB 852). */
#define PF 2048

/* 16 channels x nr pixels, nr at most 6 and a constant after inlining (the
 * rows past it fold away). Accumulators are named variables, not an array:
 * clang keeps an array that the epilogue indexes in memory, with a store per
 * vpdpbusd. */
#define XPTR(j) *x##j = j < nr ? (const uint8_t *)px[j] + segs[seg] : NULL
#define ROW(j)                                                                                     \
    if (j < nr) {                                                                                  \
        __m256i b = bcast4(x##j + 4 * q);                                                          \
        a0##j = _mm256_dpbusd_avx_epi32(a0##j, b, w0);                                             \
        a1##j = _mm256_dpbusd_avx_epi32(a1##j, b, w1);                                             \
    }
static inline __attribute__((always_inline)) void tile16(const ww_conv2d_s8_hdr *h,
                                                         const void *const *px, const void *wblock,
                                                         int oc0, int noc, long p0, int npx,
                                                         const void *res, void *y, const int nr)
{
    __m256i a00 = bias8(h, oc0, noc, 0), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
    __m256i a10 = bias8(h, oc0, noc, 1), a11 = a10, a12 = a10, a13 = a10, a14 = a10, a15 = a10;
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        const uint8_t XPTR(0), XPTR(1), XPTR(2), XPTR(3), XPTR(4), XPTR(5);
        for (int q = 0; q < kq; q++, wp += 64) {
            __m256i w0 = _mm256_loadu_si256((const __m256i *)wp);
            __m256i w1 = _mm256_loadu_si256((const __m256i *)(wp + 32));
            _mm_prefetch((const char *)wp + PF, _MM_HINT_T0);
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
        }
    }
    __m256i acc[2 * 6] = {a00, a01, a02, a03, a04, a05, a10, a11, a12, a13, a14, a15};
    finish16(h, acc, 6, oc0, noc, p0, npx, res, y);
}
#undef ROW
#undef XPTR

static void conv2d_s8_16x6_fp32_avxvnni(const ww_conv2d_s8_hdr *h, const void *const *px,
                                        const void *wblock, int oc0, int noc, long p0, int npx,
                                        const void *res, void *y)
{
    tile16(h, px, wblock, oc0, noc, p0, npx, res, y, 6);
}

static void conv2d_s8_16x4_fp32_avxvnni(const ww_conv2d_s8_hdr *h, const void *const *px,
                                        const void *wblock, int oc0, int noc, long p0, int npx,
                                        const void *res, void *y)
{
    tile16(h, px, wblock, oc0, noc, p0, npx, res, y, 4);
}

/* vpdpbusd ymm: 2 per cycle on the Emerald Rapids cores here (the peak loop
 * of bench_conv2d_s8: 256 GMAC/s, 64 MACs a cycle at ~4 GHz); 2 loads per
 * cycle at least. */
const ww_conv2d_s8_impl ww_conv2d_s8_impl_avxvnni = {
    .enc = WW_S8ENC_U8,
    .wlayout = WW_S8W_QUAD,
    .dots_per_cycle = 2,
    .loads_per_cycle = 2,
    .lanes = 8,
    .ntiles = 2,
    .tiles = {{16, 6, conv2d_s8_16x6_fp32_avxvnni}, {16, 4, conv2d_s8_16x4_fp32_avxvnni}}};
