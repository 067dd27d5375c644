/* conv2d_s8 for AVX2: tiles of 16 output channels (2 ymm of 8 int32 lanes) x 4
 * pixels. Activations are widened to int16 once (in the padded image), weights
 * as they are loaded (kept int8 in memory: half the bytes to stream), so the
 * products go through vpmaddwd (s16 x s16 pairs summed into int32), which is
 * exact for these ranges. vpmaddubsw would be
 * faster but saturates its int16 pair sums (255*127*2 > 32767), and results must
 * match the scalar reference bit for bit for any weights. */
#include "nn/kernels/conv2d_s8_internal.h"

#include <immintrin.h>

#define OB 16
#define NR 4

static inline __m256i bcast_pair(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

static inline __m256 clamp_ps(__m256 f, int32_t zp, int32_t lo, int32_t hi)
{
    f = _mm256_max_ps(f, _mm256_set1_ps((float)(lo - zp)));
    return _mm256_min_ps(f, _mm256_set1_ps((float)(hi - zp)));
}

/* requant.h's epilogue on 8 lanes, `valid` of them real: full vectors load
 * and store directly, a partial one goes through small arrays. */
static void epilogue8(const ww_conv2d_s8_hdr *h, __m256i acc, int oc, int valid, long yi,
                      const void *res, void *y)
{
    const ww_conv2d_s8_params *p = &h->p;
    __m256i bias;
    __m256 m;
    __m256i r = _mm256_setzero_si256();
    if (valid == 8) {
        bias = _mm256_loadu_si256((const __m256i *)(ww_s8_bias(h) + oc));
        m = _mm256_loadu_ps(ww_s8_mult(h) + oc);
        if (p->fuse_add) {
            __m128i rb = _mm_loadl_epi64((const __m128i *)((const uint8_t *)res + yi));
            r = p->r.type == WW_QTYPE_S8 ? _mm256_cvtepi8_epi32(rb) : _mm256_cvtepu8_epi32(rb);
        }
    } else {
        int32_t tb[8] = {0}, tr[8] = {0};
        float tm[8] = {0};
        for (int l = 0; l < valid; l++) {
            tb[l] = ww_s8_bias(h)[oc + l];
            tm[l] = ww_s8_mult(h)[oc + l];
            if (p->fuse_add) tr[l] = ww_qload(res, p->r.type, yi + l);
        }
        bias = _mm256_loadu_si256((const __m256i *)tb);
        m = _mm256_loadu_ps(tm);
        r = _mm256_loadu_si256((const __m256i *)tr);
    }
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc, bias)), m);
    if (p->fuse_add) {
        r = _mm256_sub_epi32(r, _mm256_set1_epi32(p->r.zp));
        __m256i mid = _mm256_cvtps_epi32(clamp_ps(f, p->mid.zp, h->mid_lo, h->mid_hi));
        __m256 fa = _mm256_mul_ps(_mm256_cvtepi32_ps(mid), _mm256_set1_ps(h->add_sa));
        __m256 fb = _mm256_mul_ps(_mm256_cvtepi32_ps(r), _mm256_set1_ps(h->add_sb));
        f = _mm256_div_ps(_mm256_add_ps(fa, fb), _mm256_set1_ps(h->add_sc));
    }
    __m256i q = _mm256_cvtps_epi32(clamp_ps(f, p->y.zp, h->y_lo, h->y_hi));
    q = _mm256_add_epi32(q, _mm256_set1_epi32(p->y.zp));
    /* in the type's range already: the saturating packs only narrow */
    __m128i q16 = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    __m128i q8 = p->y.type == WW_QTYPE_S8 ? _mm_packs_epi16(q16, q16) : _mm_packus_epi16(q16, q16);
    uint8_t *yo = (uint8_t *)y + yi;
    if (valid == 8) {
        _mm_storel_epi64((__m128i *)yo, q8);
    } else {
        uint8_t out[16];
        _mm_storeu_si128((__m128i *)out, q8);
        for (int l = 0; l < valid; l++) yo[l] = out[l];
    }
}

static void conv2d_s8_16x4_fp32_avx2(const ww_conv2d_s8_hdr *h, const void *const *px,
                                     const void *wblock, int oc0, int noc, long p0, int npx,
                                     const void *res, void *y)
{
    __m256i l0 = _mm256_setzero_si256(), l1 = l0, l2 = l0, l3 = l0;
    __m256i u0 = l0, u1 = l0, u2 = l0, u3 = l0;
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
    __m256i acc[2][NR] = {{l0, l1, l2, l3}, {u0, u1, u2, u3}};
    int c_out = h->p.shape.c_out;
    for (int i = 0; i < 2; i++) {
        int valid = noc - 8 * i;
        if (valid <= 0) break;
        if (valid > 8) valid = 8;
        for (int j = 0; j < npx; j++)
            epilogue8(h, acc[i][j], oc0 + 8 * i, valid, (p0 + j) * c_out + oc0 + 8 * i, res, y);
    }
}

const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx2 = {.enc = WW_S8ENC_S16,
                                                  .wlayout = WW_S8W_PAIR8,
                                                  .dots_per_cycle = 2,
                                                  .loads_per_cycle = 2,
                                                  .lanes = 8,
                                                  .ntiles = 1,
                                                  .tiles = {{16, 4, conv2d_s8_16x4_fp32_avx2}}};
