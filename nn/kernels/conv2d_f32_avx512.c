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

static void panel_avx512(const f32_conv_plan *p, const f32_tile *t, const float *xp_g, float *panel)
{
    const int r = t->r;
    const __mmask16 all = lanes(r);
    if (t->nseg == 1) {
        const float *src = xp_g + t->src[0];
        F32_FOR_EACH_TAP(p, off, k, {
            _mm512_mask_storeu_ps(panel + (size_t)k * r, all,
                                  _mm512_maskz_loadu_ps(all, src + off));
        });
        return;
    }
    __mmask16 m[F32_RMAX];
    const float *src[F32_RMAX];
    for (int i = 0; i < t->nseg; i++) {
        m[i] = (__mmask16)(lanes(t->len[i]) << t->lane[i]);
        /* lane j of the load reads src + j, so lanes from lane[i] on see the
         * segment's first float; the lanes before it are masked off */
        src[i] = xp_g + t->src[i] - t->lane[i];
    }
    F32_FOR_EACH_TAP(p, off, k, {
        __m512 v = _mm512_maskz_loadu_ps(m[0], src[0] + off);
        for (int i = 1; i < t->nseg; i++) v = _mm512_mask_loadu_ps(v, m[i], src[i] + off);
        _mm512_mask_storeu_ps(panel + (size_t)k * r, all, v);
    });
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

/* The R x 32 product over all k; R is a constant in each instance so the
 * accumulators live in registers. */
static inline __attribute__((always_inline)) void tile_body(const float *panel, const float *w,
                                                            int k, const int r, __m512 *acc)
{
    __m512 a0[RMAX], a1[RMAX];
    for (int j = 0; j < r; j++) a0[j] = a1[j] = _mm512_setzero_ps();
    for (int i = 0; i < k; i++) {
        const __m512 w0 = _mm512_loadu_ps(w + (size_t)i * F32_BLOCK);
        const __m512 w1 = _mm512_loadu_ps(w + (size_t)i * F32_BLOCK + 16);
        const float *pi = panel + (size_t)i * r;
        for (int j = 0; j < r; j++) {
            const __m512 b = _mm512_set1_ps(pi[j]);
            a0[j] = _mm512_fmadd_ps(w0, b, a0[j]);
            a1[j] = _mm512_fmadd_ps(w1, b, a1[j]);
        }
    }
    for (int j = 0; j < r; j++) {
        acc[2 * j] = a0[j];
        acc[2 * j + 1] = a1[j];
    }
}

#define TILE(R)                                                                                    \
    static void tile_##R(const float *panel, const float *w, int k, __m512 *acc)                   \
    {                                                                                              \
        tile_body(panel, w, k, R, acc);                                                            \
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

const f32_conv_isa f32_conv_avx512 = {RMAX, panel_avx512, tile_avx512};
