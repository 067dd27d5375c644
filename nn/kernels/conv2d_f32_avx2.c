/* AVX2+FMA pieces of the float conv fast path (see f32_conv_plan.h). With 16
 * ymm registers a tile is at most 6 positions x 16 channels (12 accumulators,
 * 2 weight vectors, 1 broadcast), so a 32-channel weight block is done in two
 * halves over the same panel; the epilogue transposes 8 x 8 blocks. */
#include "nn/kernels/f32_conv_plan.h"

#include <immintrin.h>

#define RMAX 6

/* lanes [lo, lo + n) set */
static inline __m256i lane_mask(int lo, int n)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i a = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(lo - 1));
    __m256i b = _mm256_cmpgt_epi32(_mm256_set1_epi32(lo + n), idx);
    return _mm256_and_si256(a, b);
}

/* Stores whole vectors: the lanes past r spill into the next row (or the
 * scratch's slack after the last), which the next row's store overwrites. */
static void panel_avx2(const f32_tile *t, const float *xp_g, const int32_t *koff, int k,
                       float *panel)
{
    const int r = t->r;
    if (t->nseg == 1) {
        const __m256i m = lane_mask(0, r);
        const float *src = xp_g + t->src[0];
        for (int i = 0; i < k; i++)
            _mm256_storeu_ps(panel + (size_t)i * r, _mm256_maskload_ps(src + koff[i], m));
        return;
    }
    __m256i m[F32_RMAX];
    const float *src[F32_RMAX];
    for (int j = 0; j < t->nseg; j++) {
        m[j] = lane_mask(t->lane[j], t->len[j]);
        src[j] = xp_g + t->src[j] - t->lane[j]; /* lanes before lane[j] are masked off */
    }
    for (int i = 0; i < k; i++) {
        __m256 v = _mm256_maskload_ps(src[0] + koff[i], m[0]);
        for (int j = 1; j < t->nseg; j++)
            v = _mm256_or_ps(v, _mm256_maskload_ps(src[j] + koff[i], m[j]));
        _mm256_storeu_ps(panel + (size_t)i * r, v);
    }
}

static inline void transpose8(__m256 r[8])
{
    __m256 t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        s[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x20);
        r[4 + i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x31);
    }
}

/* acc[2j + v] holds position j, channels c0 + 8v .. c0 + 8v + 7. */
static void store_half(const __m256 *acc, int r, int c0, const f32_store *out)
{
    const __m256i m = lane_mask(0, r);
    const ww_act_kind kind = out->act.kind;
    const __m256 lo = _mm256_set1_ps(kind == WW_ACT_RELU ? 0.0f : out->act.lo);
    const __m256 hi = _mm256_set1_ps(out->act.hi);
    for (int v8 = 0; v8 < 2 && c0 + v8 * 8 < out->channels; v8++) {
        __m256 rows[8];
        for (int j = 0; j < 8; j++) rows[j] = j < r ? acc[2 * j + v8] : _mm256_setzero_ps();
        transpose8(rows);
        int cb = c0 + v8 * 8, nc = out->channels - cb;
        if (nc > 8) nc = 8;
        for (int c = 0; c < nc; c++) {
            const size_t at = (size_t)(cb + c) * out->ch_stride;
            __m256 v = rows[c];
            if (out->bias) v = _mm256_add_ps(v, _mm256_set1_ps(out->bias[cb + c]));
            if (out->residual) v = _mm256_add_ps(v, _mm256_maskload_ps(out->residual + at, m));
            if (kind != WW_ACT_NONE) v = _mm256_max_ps(v, lo);
            if (kind == WW_ACT_CLIP) v = _mm256_min_ps(v, hi);
            _mm256_maskstore_ps(out->y + at, m, v);
        }
    }
}

/* 16 channels of the R x 32 product over all k (see the AVX-512 file: named
 * accumulators, so they stay in registers with either compiler). */
#define REP6(M)     M(0) M(1) M(2) M(3) M(4) M(5)
#define ACC_DECL(j) __m256 a0_##j = _mm256_setzero_ps(), a1_##j = _mm256_setzero_ps();
#define ACC_STEP(j)                                                                                \
    if (j < r) {                                                                                   \
        const __m256 b_ = _mm256_broadcast_ss(pi + j);                                             \
        a0_##j = _mm256_fmadd_ps(w0, b_, a0_##j);                                                  \
        a1_##j = _mm256_fmadd_ps(w1, b_, a1_##j);                                                  \
    }
#define ACC_OUT(j)                                                                                 \
    if (j < r) {                                                                                   \
        acc[2 * j] = a0_##j;                                                                       \
        acc[2 * j + 1] = a1_##j;                                                                   \
    }

static inline __attribute__((always_inline)) void half_body(const float *panel, const float *base,
                                                            const int32_t *koff, const float *w,
                                                            int k, const int r, __m256 *acc)
{
    REP6(ACC_DECL)
    for (int i = 0; i < k; i++) {
        const __m256 w0 = _mm256_loadu_ps(w + (size_t)i * F32_BLOCK);
        const __m256 w1 = _mm256_loadu_ps(w + (size_t)i * F32_BLOCK + 8);
        const float *pi = koff ? base + koff[i] : panel + (size_t)i * r;
        REP6(ACC_STEP)
    }
    REP6(ACC_OUT)
}

#define HALF(R)                                                                                    \
    static void half_##R(const float *panel, const float *w, int k, __m256 *acc)                   \
    {                                                                                              \
        half_body(panel, NULL, NULL, w, k, R, acc);                                                \
    }                                                                                              \
    static void direct_half_##R(const float *base, const int32_t *koff, const float *w, int k,     \
                                __m256 *acc)                                                       \
    {                                                                                              \
        half_body(NULL, base, koff, w, k, R, acc);                                                 \
    }
HALF(1)
HALF(2)
HALF(3)
HALF(4)
HALF(5)
HALF(6)

typedef void (*direct_half_fn)(const float *, const int32_t *, const float *, int, __m256 *);
static const direct_half_fn direct_halves[RMAX + 1] = {
    NULL, direct_half_1, direct_half_2, direct_half_3, direct_half_4, direct_half_5, direct_half_6,
};

static void tile_direct_avx2(const float *base, const int32_t *koff, int r, const float *w, int k,
                             const f32_store *out)
{
    for (int c0 = 0; c0 < out->channels; c0 += 16) {
        __m256 acc[2 * RMAX];
        direct_halves[r](base, koff, w + c0, k, acc);
        store_half(acc, r, c0, out);
    }
}

typedef void (*half_fn)(const float *, const float *, int, __m256 *);
static const half_fn halves[RMAX + 1] = {NULL, half_1, half_2, half_3, half_4, half_5, half_6};

static void tile_avx2(const float *panel, int r, const float *w, int k, const f32_store *out)
{
    for (int c0 = 0; c0 < out->channels; c0 += 16) {
        __m256 acc[2 * RMAX];
        halves[r](panel, w + c0, k, acc);
        store_half(acc, r, c0, out);
    }
}

const f32_conv_isa f32_conv_avx2 = {RMAX, panel_avx2, tile_avx2, tile_direct_avx2, NULL};
