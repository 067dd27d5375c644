/* Entry points of the float conv: the packed layout, the geometry shared by
 * every ISA (see f32_conv_plan.h), and the loop over tiles and weight blocks
 * that calls the active ISA's panel gather and tile kernel. */
#include "nn/cpu.h"
#include "nn/kernels/conv2d_f32.h"
#include "nn/kernels/f32_conv_plan.h"

#include <stdint.h>
#include <string.h>

int f32_conv_blocked(const ww_conv2d_shape *s)
{
    return s->c_out / s->groups >= F32_MIN_COUT;
}

static const f32_conv_isa *isa_table(void)
{
    switch (ww_isa_active()) {
#if defined(__x86_64__)
    case WW_ISA_AVX512:
    case WW_ISA_AVX512VNNI:
        return &f32_conv_avx512;
    case WW_ISA_AVX2:
        return &f32_conv_avx2;
#endif
    default:
        return &f32_conv_scalar;
    }
}

void f32_conv_plan_init(f32_conv_plan *p, const ww_conv2d_shape *s, int rmax)
{
    memset(p, 0, sizeof *p);
    p->s = s;
    p->cin_g = s->c_in / s->groups;
    p->cout_g = s->c_out / s->groups;
    p->k = p->cin_g * s->k_h * s->k_w;
    p->nblocks = (p->cout_g + F32_BLOCK - 1) / F32_BLOCK;
    p->n_pos = s->h_out * s->w_out;
    /* the padded extent the output actually reads */
    p->hp = (s->h_out - 1) * s->stride_h + (s->k_h - 1) * s->dil_h + 1;
    int wp = (s->w_out - 1) * s->stride_w + (s->k_w - 1) * s->dil_w + 1;
    p->wq = (wp + s->stride_w - 1) / s->stride_w;
    p->xp_is_x = s->pad_top == 0 && s->pad_left == 0 && s->stride_w == 1 && wp == s->w_in &&
                 p->hp <= s->h_in;
    if (p->xp_is_x) {
        p->xp_phase = (size_t)s->h_in * s->w_in;
        p->xp_chan = p->xp_phase;
    } else {
        p->xp_phase = (size_t)p->hp * p->wq;
        p->xp_chan = p->xp_phase * s->stride_w;
    }
    p->rmax = rmax;
    /* Tiles inside one output row need one vector move per tap to gather;
     * narrow outputs take several whole rows per tile instead. */
    if (s->w_out > rmax / 2) {
        p->row_tiles = (s->w_out + rmax - 1) / rmax;
        p->tiles = p->row_tiles * s->h_out;
    } else {
        p->row_tiles = 0;
        p->tiles = (p->n_pos + rmax - 1) / rmax;
    }
    size_t all = (size_t)p->k * p->n_pos, one = (size_t)p->k * F32_RMAX;
    p->panel_floats = all < F32_PANEL_BUDGET ? all : F32_PANEL_BUDGET;
    if (p->panel_floats < one) p->panel_floats = one;
}

void f32_conv_tile(const f32_conv_plan *p, int index, f32_tile *t)
{
    const ww_conv2d_shape *s = p->s;
    int end;
    if (p->row_tiles) {
        int row = index / p->row_tiles, j = index % p->row_tiles;
        t->n0 = row * s->w_out + j * s->w_out / p->row_tiles;
        end = row * s->w_out + (j + 1) * s->w_out / p->row_tiles;
    } else {
        t->n0 = (int)((long)index * p->n_pos / p->tiles);
        end = (int)((long)(index + 1) * p->n_pos / p->tiles);
    }
    t->r = end - t->n0;
    t->nseg = 0;
    for (int n = t->n0; n < end;) {
        int oh = n / s->w_out, ow = n % s->w_out;
        int len = s->w_out - ow < end - n ? s->w_out - ow : end - n;
        t->lane[t->nseg] = n - t->n0;
        t->len[t->nseg] = len;
        t->src[t->nseg] = (long)oh * s->stride_h * p->wq + ow;
        t->nseg++;
        n += len;
    }
}

void f32_conv_fill_xp(const f32_conv_plan *p, const float *x, float *xp)
{
    const ww_conv2d_shape *s = p->s;
    const int sw = s->stride_w;
    for (int c = 0; c < s->c_in; c++) {
        const float *xc = x + (size_t)c * s->h_in * s->w_in;
        for (int ph = 0; ph < sw; ph++) {
            for (int row = 0; row < p->hp; row++) {
                float *d = xp + c * p->xp_chan + ph * p->xp_phase + (size_t)row * p->wq;
                int ih = row - s->pad_top;
                if (ih < 0 || ih >= s->h_in) {
                    memset(d, 0, (size_t)p->wq * sizeof *d);
                    continue;
                }
                const float *xr = xc + (size_t)ih * s->w_in;
                /* column q of this phase is padded column q * sw + ph */
                int lo = s->pad_left - ph, hi = s->pad_left + s->w_in - ph; /* iw valid: [lo, hi) */
                int q0 = lo <= 0 ? 0 : (lo + sw - 1) / sw;
                int q1 = hi <= 0 ? 0 : (hi + sw - 1) / sw;
                if (q0 > p->wq) q0 = p->wq;
                if (q1 > p->wq) q1 = p->wq;
                if (q1 < q0) q1 = q0;
                for (int q = 0; q < q0; q++) d[q] = 0.0f;
                if (sw == 1) {
                    memcpy(d + q0, xr + (q0 - s->pad_left), (size_t)(q1 - q0) * sizeof *d);
                } else {
                    for (int q = q0; q < q1; q++) d[q] = xr[q * sw + ph - s->pad_left];
                }
                for (int q = q1; q < p->wq; q++) d[q] = 0.0f;
            }
        }
    }
}

size_t ww_conv2d_f32_packed_size(const ww_conv2d_shape *s)
{
    int cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    size_t k = (size_t)cin_g * s->k_h * s->k_w;
    if (!f32_conv_blocked(s)) return (size_t)s->c_out * k;
    size_t nblocks = (size_t)(cout_g + F32_BLOCK - 1) / F32_BLOCK;
    return (size_t)s->groups * nblocks * k * F32_BLOCK;
}

void ww_conv2d_f32_pack(const ww_conv2d_shape *s, const float *w, float *packed)
{
    if (!f32_conv_blocked(s)) {
        memcpy(packed, w, ww_conv2d_f32_packed_size(s) * sizeof *packed);
        return;
    }
    f32_conv_plan p;
    f32_conv_plan_init(&p, s, F32_RMAX);
    for (int g = 0; g < s->groups; g++) {
        for (int b = 0; b < p.nblocks; b++) {
            float *dst = packed + ((size_t)g * p.nblocks + b) * p.k * F32_BLOCK;
            for (int k = 0; k < p.k; k++) {
                for (int c = 0; c < F32_BLOCK; c++) {
                    int co = b * F32_BLOCK + c;
                    dst[(size_t)k * F32_BLOCK + c] =
                        co < p.cout_g ? w[((size_t)g * p.cout_g + co) * p.k + k] : 0.0f;
                }
            }
        }
    }
}

/* xp, then the panels, each start 64-byte aligned within the scratch. */
#define ALIGN_FLOATS 16

size_t ww_conv2d_f32_scratch_size(const ww_conv2d_shape *s)
{
    f32_conv_plan p;
    f32_conv_plan_init(&p, s, F32_RMAX);
    size_t xp = p.xp_is_x ? 0 : p.xp_chan * s->c_in;
    xp = (xp + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    return ALIGN_FLOATS + xp + (f32_conv_blocked(s) ? p.panel_floats : 0);
}

static float *align_up(float *f)
{
    uintptr_t a = ((uintptr_t)f + 63) & ~(uintptr_t)63;
    return (float *)a;
}

void ww_conv2d_f32(const ww_conv2d_shape *s, const float *x, const float *packed_w,
                   const float *bias, const float *residual, ww_activation act, float *y,
                   float *scratch)
{
    const f32_conv_isa *isa = isa_table();
    f32_conv_plan p;
    f32_conv_plan_init(&p, s, isa->rmax);
    const int blocked = f32_conv_blocked(s);
    size_t xp_floats = p.xp_is_x ? 0 : p.xp_chan * s->c_in;
    float *xp = align_up(scratch);
    float *panels = xp + (xp_floats + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    const size_t x_image = (size_t)s->c_in * s->h_in * s->w_in;
    const size_t y_image = (size_t)s->c_out * p.n_pos;

    for (int n = 0; n < s->n; n++) {
        const float *xn = x + n * x_image;
        const float *xpn = xn;
        if (!p.xp_is_x) {
            f32_conv_fill_xp(&p, xn, xp);
            xpn = xp;
        }
        float *yn = y + n * y_image;
        const float *rn = residual ? residual + n * y_image : NULL;
        if (!blocked) {
            f32_conv_direct(&p, xpn, packed_w, bias, rn, act, yn);
            continue;
        }
        for (int g = 0; g < s->groups; g++) {
            const float *xp_g = xpn + (size_t)g * p.cin_g * p.xp_chan;
            /* a run of tiles whose panels fit the budget together */
            for (int t0 = 0; t0 < p.tiles;) {
                f32_tile tiles[64];
                float *panel_at[64];
                int nt = 0;
                size_t used = 0;
                while (t0 + nt < p.tiles && nt < 64) {
                    f32_conv_tile(&p, t0 + nt, &tiles[nt]);
                    size_t need = (size_t)p.k * tiles[nt].r;
                    if (nt > 0 && used + need > p.panel_floats) break;
                    panel_at[nt] = panels + used;
                    isa->panel(&p, &tiles[nt], xp_g, panel_at[nt]);
                    used += need;
                    nt++;
                }
                for (int b = 0; b < p.nblocks; b++) {
                    const float *wb = packed_w + ((size_t)g * p.nblocks + b) * p.k * F32_BLOCK;
                    int co0 = g * p.cout_g + b * F32_BLOCK;
                    f32_store out = {NULL,
                                     NULL,
                                     bias ? bias + co0 : NULL,
                                     (size_t)p.n_pos,
                                     p.cout_g - b * F32_BLOCK,
                                     act};
                    if (out.channels > F32_BLOCK) out.channels = F32_BLOCK;
                    for (int i = 0; i < nt; i++) {
                        size_t at = (size_t)co0 * p.n_pos + tiles[i].n0;
                        out.y = yn + at;
                        out.residual = rn ? rn + at : NULL;
                        isa->tile(panel_at[i], tiles[i].r, wb, p.k, &out);
                    }
                }
                t0 += nt;
            }
        }
    }
}
