/* conv2d_s8 for AVX-512 VNNI. Main tile: 64 output channels (4 zmm of 16
 * int32 lanes) x 6 pixels, 24 accumulators; per quad of k: 4 weight loads, 6
 * broadcasts of 4 activation bytes, 24 vpdpbusd (u8 activations x s8 weights,
 * exact: no intermediate saturation). 64x4 and 32x8 tiles for pixel counts 6
 * divides badly, 16x16 for groups of 16 channels (the pack step chooses). Epilogue: requant.h in
 * zmm. */
#include "nn/kernels/conv2d_s8_avx512_internal.h"

static inline __m512i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

/* Weights are streamed once per pixel tile and, in a whole network, come from
 * L3 (11 MB of them): prefetching ~300 cycles ahead (6 KB: 24 quads of a 64x6
 * tile) took the last stage's convs in a whole pass from ~75-115 to ~60-70 us
 * here (1 KB gave most of the gain over none; noisy machine). */
#define PF        6144
#define DOT(i, j) a##i##j = _mm512_dpbusd_epi32(a##i##j, b, w##i)
#define BCAST(j)  b = bcast4(x##j + 4 * q)
#define XPTR(j)   const uint8_t *x##j = (const uint8_t *)px[j] + segs[seg]

/* 64 channels x 6 pixels: 24 accumulators, 4 weight vectors. */
static void conv2d_s8_64x6_fp32_avx512vnni(const ww_conv2d_s8_hdr *h, const void *const *px,
                                           const void *wblock, int oc0, int noc, long p0, int npx,
                                           const void *res, void *y)
{
    __m512i a00 = bias16(h, oc0, noc, 0), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00;
    __m512i a10 = bias16(h, oc0, noc, 1), a11 = a10, a12 = a10, a13 = a10, a14 = a10, a15 = a10;
    __m512i a20 = bias16(h, oc0, noc, 2), a21 = a20, a22 = a20, a23 = a20, a24 = a20, a25 = a20;
    __m512i a30 = bias16(h, oc0, noc, 3), a31 = a30, a32 = a30, a33 = a30, a34 = a30, a35 = a30;
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
        for (int q = 0; q < kq; q++, wp += 256) {
            __m512i w0 = _mm512_loadu_si512(wp), w1 = _mm512_loadu_si512(wp + 64);
            __m512i w2 = _mm512_loadu_si512(wp + 128), w3 = _mm512_loadu_si512(wp + 192);
            _mm_prefetch((const char *)wp + PF, _MM_HINT_T0);
            _mm_prefetch((const char *)wp + PF + 64, _MM_HINT_T0);
            _mm_prefetch((const char *)wp + PF + 128, _MM_HINT_T0);
            _mm_prefetch((const char *)wp + PF + 192, _MM_HINT_T0);
            __m512i b;
#define ROW(j)                                                                                     \
    BCAST(j);                                                                                      \
    DOT(0, j);                                                                                     \
    DOT(1, j);                                                                                     \
    DOT(2, j);                                                                                     \
    DOT(3, j);
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
        }
    }
    __m512i acc[4 * 6] = {a00, a01, a02, a03, a04, a05, a10, a11, a12, a13, a14, a15,
                          a20, a21, a22, a23, a24, a25, a30, a31, a32, a33, a34, a35};
    finish(h, acc, 6, 4, oc0, noc, p0, npx, res, y);
}

/* 64 channels x 4 pixels: 16 accumulators (pixel counts that 6 divides badly). */
static void conv2d_s8_64x4_fp32_avx512vnni(const ww_conv2d_s8_hdr *h, const void *const *px,
                                           const void *wblock, int oc0, int noc, long p0, int npx,
                                           const void *res, void *y)
{
    __m512i a00 = bias16(h, oc0, noc, 0), a01 = a00, a02 = a00, a03 = a00;
    __m512i a10 = bias16(h, oc0, noc, 1), a11 = a10, a12 = a10, a13 = a10;
    __m512i a20 = bias16(h, oc0, noc, 2), a21 = a20, a22 = a20, a23 = a20;
    __m512i a30 = bias16(h, oc0, noc, 3), a31 = a30, a32 = a30, a33 = a30;
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        XPTR(0);
        XPTR(1);
        XPTR(2);
        XPTR(3);
        for (int q = 0; q < kq; q++, wp += 256) {
            __m512i w0 = _mm512_loadu_si512(wp), w1 = _mm512_loadu_si512(wp + 64);
            __m512i w2 = _mm512_loadu_si512(wp + 128), w3 = _mm512_loadu_si512(wp + 192);
            _mm_prefetch((const char *)wp + PF, _MM_HINT_T0);
            _mm_prefetch((const char *)wp + PF + 64, _MM_HINT_T0);
            _mm_prefetch((const char *)wp + PF + 128, _MM_HINT_T0);
            _mm_prefetch((const char *)wp + PF + 192, _MM_HINT_T0);
            __m512i b;
#define ROW(j)                                                                                     \
    BCAST(j);                                                                                      \
    DOT(0, j);                                                                                     \
    DOT(1, j);                                                                                     \
    DOT(2, j);                                                                                     \
    DOT(3, j);
            ROW(0) ROW(1) ROW(2) ROW(3)
#undef ROW
        }
    }
    __m512i acc[4 * 4] = {a00, a01, a02, a03, a10, a11, a12, a13,
                          a20, a21, a22, a23, a30, a31, a32, a33};
    finish(h, acc, 4, 4, oc0, noc, p0, npx, res, y);
}

/* 32 channels x 8 pixels: the 8-pixel last stage reads each weight once. */
static void conv2d_s8_32x8_fp32_avx512vnni(const ww_conv2d_s8_hdr *h, const void *const *px,
                                           const void *wblock, int oc0, int noc, long p0, int npx,
                                           const void *res, void *y)
{
    __m512i a00 = bias16(h, oc0, noc, 0), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00,
            a06 = a00, a07 = a00;
    __m512i a10 = bias16(h, oc0, noc, 1), a11 = a10, a12 = a10, a13 = a10, a14 = a10, a15 = a10,
            a16 = a10, a17 = a10;
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
            __m512i w0 = _mm512_loadu_si512(wp), w1 = _mm512_loadu_si512(wp + 64);
            _mm_prefetch((const char *)wp + PF, _MM_HINT_T0);
            _mm_prefetch((const char *)wp + PF + 64, _MM_HINT_T0);
            __m512i b;
#define ROW(j)                                                                                     \
    BCAST(j);                                                                                      \
    DOT(0, j);                                                                                     \
    DOT(1, j);
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
        }
    }
    __m512i acc[2 * 8] = {a00, a01, a02, a03, a04, a05, a06, a07,
                          a10, a11, a12, a13, a14, a15, a16, a17};
    finish(h, acc, 8, 2, oc0, noc, p0, npx, res, y);
}

/* Pixels 4g..4g+3 of a 16-pixel tile, one per 128-bit block: the 16 bytes
 * (four quads) each one's segment holds at off. */
static inline __m512i load4px(const void *const *px, int g, ptrdiff_t off)
{
    const uint8_t *const *p = (const uint8_t *const *)px + 4 * g;
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p[0] + off)));
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p[1] + off)), 1);
    z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p[2] + off)), 2);
    return _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p[3] + off)), 3);
}

/* Channels 4c..4c+3 of a tile's bias in every 128-bit block (lanes past noc 0). */
static inline __m512i bias4x4(const ww_conv2d_s8_hdr *h, int oc0, int noc, int c)
{
    __mmask8 k = (__mmask8)first_lanes(noc - 4 * c, 4);
    return _mm512_broadcast_i32x4(_mm_maskz_loadu_epi32(k, ww_s8_bias(h) + oc0 + 4 * c));
}

/* Blocks j of a0..a3 (channels 0-3, 4-7, 8-11, 12-15 of pixel j) as pixel j's
 * 16 channels, for the four pixels: a 4x4 transpose of 128-bit blocks. */
static inline void transpose4x4(__m512i a0, __m512i a1, __m512i a2, __m512i a3, __m512i *out)
{
    __m512i t0 = _mm512_shuffle_i32x4(a0, a1, 0x44), t1 = _mm512_shuffle_i32x4(a2, a3, 0x44);
    __m512i t2 = _mm512_shuffle_i32x4(a0, a1, 0xee), t3 = _mm512_shuffle_i32x4(a2, a3, 0xee);
    out[0] = _mm512_shuffle_i32x4(t0, t1, 0x88);
    out[1] = _mm512_shuffle_i32x4(t0, t1, 0xdd);
    out[2] = _mm512_shuffle_i32x4(t2, t3, 0x88);
    out[3] = _mm512_shuffle_i32x4(t2, t3, 0xdd);
}

/* 16 channels x 16 pixels when every segment is whole 16-byte chunks (kq a
 * multiple of 4: groups of 16 input channels, the first stage of width-16
 * runs side by side). The plain 16x16 tile needs one broadcast load per
 * vpdpbusd. Here a vector holds four pixels' quads (one per 128-bit block,
 * each quad repeated in its block: one in-lane shuffle of four pixels' 16-byte
 * loads) against four output channels' weights repeated in every block, so
 * a load and a shuffle serve four dot products; accumulator (g, c) holds
 * channels 4c..4c+3 of pixels 4g..4g+3 and is transposed back at the end.
 * Measured on the Zen 4 (session 17, `wakewordd bench --profile`): the
 * first-stage convs with the residual join fused took 57-60 us instead of
 * 63-65, those without it ~50 us either way (the dot products bound them);
 * whole networks 1.6-3 % faster. */
static void conv2d_s8_16x16_4x4_fp32_avx512vnni(const ww_conv2d_s8_hdr *h, const void *const *px,
                                                const void *wblock, int oc0, int noc, long p0,
                                                int npx, const void *res, void *y)
{
    __m512i a00 = bias4x4(h, oc0, noc, 0), a01 = bias4x4(h, oc0, noc, 1);
    __m512i a02 = bias4x4(h, oc0, noc, 2), a03 = bias4x4(h, oc0, noc, 3);
    __m512i a10 = a00, a11 = a01, a12 = a02, a13 = a03, a20 = a00, a21 = a01, a22 = a02, a23 = a03;
    __m512i a30 = a00, a31 = a01, a32 = a02, a33 = a03;
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        for (int q0 = 0; q0 < kq; q0 += 4) {
            ptrdiff_t off = segs[seg] + 4 * q0;
            __m512i z0 = load4px(px, 0, off), z1 = load4px(px, 1, off);
            __m512i z2 = load4px(px, 2, off), z3 = load4px(px, 3, off);
#define W4(c) _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(wp + 16 * (c))))
#define DOT4(g, b)                                                                                 \
    a##g##0 = _mm512_dpbusd_epi32(a##g##0, b, w0);                                                 \
    a##g##1 = _mm512_dpbusd_epi32(a##g##1, b, w1);                                                 \
    a##g##2 = _mm512_dpbusd_epi32(a##g##2, b, w2);                                                 \
    a##g##3 = _mm512_dpbusd_epi32(a##g##3, b, w3);
#define QUAD(q)                                                                                    \
    {                                                                                              \
        __m512i w0 = W4(0), w1 = W4(1), w2 = W4(2), w3 = W4(3), b;                                 \
        _mm_prefetch((const char *)wp + PF, _MM_HINT_T0);                                          \
        b = _mm512_shuffle_epi32(z0, (_MM_PERM_ENUM)(0x55 * (q)));                                 \
        DOT4(0, b)                                                                                 \
        b = _mm512_shuffle_epi32(z1, (_MM_PERM_ENUM)(0x55 * (q)));                                 \
        DOT4(1, b)                                                                                 \
        b = _mm512_shuffle_epi32(z2, (_MM_PERM_ENUM)(0x55 * (q)));                                 \
        DOT4(2, b)                                                                                 \
        b = _mm512_shuffle_epi32(z3, (_MM_PERM_ENUM)(0x55 * (q)));                                 \
        DOT4(3, b)                                                                                 \
        wp += 64;                                                                                  \
    }
            QUAD(0) QUAD(1) QUAD(2) QUAD(3)
#undef QUAD
#undef DOT4
#undef W4
        }
    }
    __m512i acc[16];
    transpose4x4(a00, a01, a02, a03, acc + 0);
    transpose4x4(a10, a11, a12, a13, acc + 4);
    transpose4x4(a20, a21, a22, a23, acc + 8);
    transpose4x4(a30, a31, a32, a33, acc + 12);
    finish(h, acc, 16, 1, oc0, noc, p0, npx, res, y);
}

/* 16 channels x 16 pixels: groups of 16 output channels (the stem and first
 * stage of a network of width-16 runs side by side) would leave half of a
 * 32-channel tile's lanes on zero weights. One weight vector per quad, 16
 * broadcasts: 17 loads per 16 dot products. Segments of whole 16-byte chunks
 * take the 4x4 form above. */
static void conv2d_s8_16x16_fp32_avx512vnni(const ww_conv2d_s8_hdr *h, const void *const *px,
                                            const void *wblock, int oc0, int noc, long p0, int npx,
                                            const void *res, void *y)
{
    if (h->kq % 4 == 0) {
        conv2d_s8_16x16_4x4_fp32_avx512vnni(h, px, wblock, oc0, noc, p0, npx, res, y);
        return;
    }
    __m512i a00 = bias16(h, oc0, noc, 0), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00,
            a06 = a00, a07 = a00, a08 = a00, a09 = a00, a010 = a00, a011 = a00, a012 = a00,
            a013 = a00, a014 = a00, a015 = a00;
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
        XPTR(8);
        XPTR(9);
        XPTR(10);
        XPTR(11);
        XPTR(12);
        XPTR(13);
        XPTR(14);
        XPTR(15);
        for (int q = 0; q < kq; q++, wp += 64) {
            __m512i w0 = _mm512_loadu_si512(wp);
            _mm_prefetch((const char *)wp + PF, _MM_HINT_T0);
            __m512i b;
#define ROW(j)                                                                                     \
    BCAST(j);                                                                                      \
    DOT(0, j);
            /* clang-format off */
            ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
            ROW(8) ROW(9) ROW(10) ROW(11) ROW(12) ROW(13) ROW(14) ROW(15)
            /* clang-format on */
#undef ROW
        }
    }
    __m512i acc[16] = {a00, a01, a02,  a03,  a04,  a05,  a06,  a07,
                       a08, a09, a010, a011, a012, a013, a014, a015};
    finish(h, acc, 16, 1, oc0, noc, p0, npx, res, y);
}

/* vpdpbusd zmm: 2 per cycle on Zen 4/5 and recent Intel cores; 2 loads per cycle. */
const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx512vnni = {
    .enc = WW_S8ENC_U8,
    .wlayout = WW_S8W_QUAD,
    .dots_per_cycle = 2,
    .loads_per_cycle = 2,
    .lanes = 16,
    .ntiles = 4,
    .tiles = {{64, 6, conv2d_s8_64x6_fp32_avx512vnni},
              {64, 4, conv2d_s8_64x4_fp32_avx512vnni},
              {32, 8, conv2d_s8_32x8_fp32_avx512vnni},
              {16, 16, conv2d_s8_16x16_fp32_avx512vnni}}};
