/* AVX-512 pieces of the float conv fast path (see f32_conv_plan.h): masked
 * vector moves gather the panels, an R x 32 tile kernel keeps 2R zmm
 * accumulators (R <= 14, so 28 accumulators + 2 weight vectors), and the
 * epilogue transposes 16 x 16 blocks so every output channel row is stored
 * with one masked store. */
#include "nn/kernels/f32_conv_plan.h"

#include <immintrin.h>

#define RMAX 14

static inline __mmask16 lanes(int n)
{
    return (__mmask16)((1u << n) - 1u);
}

/* Stores whole vectors: the lanes past r spill into the next row (or the
 * scratch's slack after the last), which the next row's store overwrites. */
static void panel_avx512(const f32_tile *t, const float *xp_g, const int32_t *koff, int k,
                         float *panel)
{
    const int r = t->r;
    if (t->nseg == 1) {
        const __mmask16 m = lanes(r);
        const float *src = xp_g + t->src[0];
        for (int i = 0; i < k; i++)
            _mm512_storeu_ps(panel + (size_t)i * r, _mm512_maskz_loadu_ps(m, src + koff[i]));
        return;
    }
    __mmask16 m[F32_RMAX];
    const float *src[F32_RMAX];
    for (int j = 0; j < t->nseg; j++) {
        m[j] = (__mmask16)(lanes(t->len[j]) << t->lane[j]);
        /* lane l of the load reads src + l, so lanes from lane[j] on see the
         * segment's first float; the lanes before it are masked off */
        src[j] = xp_g + t->src[j] - t->lane[j];
    }
    if (t->nseg == 2) {
        for (int i = 0; i < k; i++) {
            __m512 v = _mm512_maskz_loadu_ps(m[0], src[0] + koff[i]);
            _mm512_storeu_ps(panel + (size_t)i * r,
                             _mm512_mask_loadu_ps(v, m[1], src[1] + koff[i]));
        }
        return;
    }
    for (int i = 0; i < k; i++) {
        __m512 v = _mm512_maskz_loadu_ps(m[0], src[0] + koff[i]);
        for (int j = 1; j < t->nseg; j++) v = _mm512_mask_loadu_ps(v, m[j], src[j] + koff[i]);
        _mm512_storeu_ps(panel + (size_t)i * r, v);
    }
}

static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 4; i++) {
            t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
            t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xdd);
        }
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
    }
}

/* acc[2j + h] holds position j, channels 16h..16h+15. */
static void store_tile(const __m512 *acc, int r, const f32_store *out)
{
    const __mmask16 m = lanes(r);
    const ww_act_kind kind = out->act.kind;
    const __m512 lo = _mm512_set1_ps(kind == WW_ACT_RELU ? 0.0f : out->act.lo);
    const __m512 hi = _mm512_set1_ps(out->act.hi);
    for (int h = 0; h < 2 && h * 16 < out->channels; h++) {
        __m512 rows[16];
        for (int j = 0; j < 16; j++) rows[j] = j < r ? acc[2 * j + h] : _mm512_setzero_ps();
        transpose16(rows);
        int nc = out->channels - h * 16;
        if (nc > 16) nc = 16;
        for (int c = 0; c < nc; c++) {
            const size_t at = (size_t)(h * 16 + c) * out->ch_stride;
            __m512 v = rows[c];
            if (out->bias) v = _mm512_add_ps(v, _mm512_set1_ps(out->bias[h * 16 + c]));
            if (out->residual) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, out->residual + at));
            if (kind != WW_ACT_NONE) v = _mm512_max_ps(v, lo);
            if (kind == WW_ACT_CLIP) v = _mm512_min_ps(v, hi);
            _mm512_mask_storeu_ps(out->y + at, m, v);
        }
    }
}

/* The R x 32 product over all k. Tap i of position j is panel[i * r + j], or
 * with koff, base[koff[i] + j]. R is a constant in each instance and every
 * accumulator a named variable, so both compilers keep all 2R in registers
 * (arrays indexed in a loop end up in memory with clang). */
#define REP14(M)    M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13)
#define ACC_DECL(j) __m512 a0_##j = _mm512_setzero_ps(), a1_##j = _mm512_setzero_ps();
#define ACC_STEP(j)                                                                                \
    if (j < r) {                                                                                   \
        const __m512 b_ = _mm512_set1_ps(pi[j]);                                                   \
        a0_##j = _mm512_fmadd_ps(w0, b_, a0_##j);                                                  \
        a1_##j = _mm512_fmadd_ps(w1, b_, a1_##j);                                                  \
    }
#define ACC_OUT(j)                                                                                 \
    if (j < r) {                                                                                   \
        acc[2 * j] = a0_##j;                                                                       \
        acc[2 * j + 1] = a1_##j;                                                                   \
    }

static inline __attribute__((always_inline)) void tile_body(const float *panel, const float *base,
                                                            const int32_t *koff, const float *w,
                                                            int k, const int r, __m512 *acc)
{
    REP14(ACC_DECL)
    for (int i = 0; i < k; i++) {
        const __m512 w0 = _mm512_loadu_ps(w + (size_t)i * F32_BLOCK);
        const __m512 w1 = _mm512_loadu_ps(w + (size_t)i * F32_BLOCK + 16);
        const float *pi = koff ? base + koff[i] : panel + (size_t)i * r;
        REP14(ACC_STEP)
    }
    REP14(ACC_OUT)
}

#define TILE(R)                                                                                    \
    static void tile_##R(const float *panel, const float *w, int k, __m512 *acc)                   \
    {                                                                                              \
        tile_body(panel, NULL, NULL, w, k, R, acc);                                                \
    }                                                                                              \
    static void direct_##R(const float *base, const int32_t *koff, const float *w, int k,          \
                           __m512 *acc)                                                            \
    {                                                                                              \
        tile_body(NULL, base, koff, w, k, R, acc);                                                 \
    }
TILE(1)
TILE(2)
TILE(3)
TILE(4)
TILE(5)
TILE(6)
TILE(7)
TILE(8)
TILE(9)
TILE(10)
TILE(11)
TILE(12)
TILE(13)
TILE(14)

typedef void (*direct_fn)(const float *, const int32_t *, const float *, int, __m512 *);
static const direct_fn directs[RMAX + 1] = {
    NULL,     direct_1, direct_2,  direct_3,  direct_4,  direct_5,  direct_6,  direct_7,
    direct_8, direct_9, direct_10, direct_11, direct_12, direct_13, direct_14,
};

static void tile_direct_avx512(const float *base, const int32_t *koff, int r, const float *w, int k,
                               const f32_store *out)
{
    __m512 acc[2 * RMAX];
    directs[r](base, koff, w, k, acc);
    store_tile(acc, r, out);
}

typedef void (*tile_fn)(const float *, const float *, int, __m512 *);
static const tile_fn tiles[RMAX + 1] = {
    NULL,   tile_1, tile_2,  tile_3,  tile_4,  tile_5,  tile_6,  tile_7,
    tile_8, tile_9, tile_10, tile_11, tile_12, tile_13, tile_14,
};

static void tile_avx512(const float *panel, int r, const float *w, int k, const f32_store *out)
{
    __m512 acc[2 * RMAX];
    tiles[r](panel, w, k, acc);
    store_tile(acc, r, out);
}

/* For stride 1, each xp row is x's row shifted by the left padding, with
 * zeros around it: one masked load and store per 16 floats. */
static void fill_avx512(const f32_conv_plan *p, const float *x, float *xp)
{
    const ww_conv2d_shape *s = p->s;
    if (s->stride_w != 1) {
        f32_conv_fill_xp(p, x, xp);
        return;
    }
    const int wq = p->wq, pl = s->pad_left;
    for (int row = 0; row < p->hp; row++) {
        if (!f32_conv_row_read(s, row)) continue;
        const int ih = row - s->pad_top;
        const int inside = ih >= 0 && ih < s->h_in;
        for (int c = 0; c < s->c_in; c++) {
            float *d = xp + c * p->xp_chan + (size_t)row * wq;
            /* xp column q holds x column q - pl */
            const float *xr = inside ? x + ((size_t)c * s->h_in + ih) * s->w_in - pl : x;
            for (int q = 0; q < wq; q += 16) {
                const int n = wq - q < 16 ? wq - q : 16;
                int lo = pl - q, hi = pl + s->w_in - q; /* lanes reading x: [lo, hi) */
                lo = lo < 0 ? 0 : lo;
                hi = hi > n ? n : hi;
                __m512 v = _mm512_setzero_ps();
                if (inside && hi > lo)
                    v = _mm512_maskz_loadu_ps((__mmask16)(lanes(hi) & ~lanes(lo)), xr + q);
                if (n == 16)
                    _mm512_storeu_ps(d + q, v);
                else
                    _mm512_mask_storeu_ps(d + q, lanes(n), v);
            }
        }
    }
}

const f32_conv_isa f32_conv_avx512 = {RMAX, panel_avx512, tile_avx512, tile_direct_avx512,
                                      fill_avx512};
