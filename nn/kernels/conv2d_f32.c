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

/* The integer extensions (VNNI) do nothing for a float conv: those ISAs run the
 * float kernels of their vector width; ISAs without an entry run the scalar one. */
static const f32_conv_isa *const impls[WW_ISA_COUNT] = {
#if defined(__x86_64__)
    [WW_ISA_AVX2] = &f32_conv_avx2,
    [WW_ISA_AVXVNNI] = &f32_conv_avx2,
    [WW_ISA_AVX512] = &f32_conv_avx512,
    [WW_ISA_AVX512VNNI] = &f32_conv_avx512,
#endif
};

static const f32_conv_isa *isa_table(void)
{
    const f32_conv_isa *isa = impls[ww_isa_active()];
    return isa ? isa : &f32_conv_scalar;
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
    /* Tiles inside one output row read xp directly (no panel), but a row
     * split into tiles much smaller than rmax leaves the kernel too few
     * accumulators to hide the FMA latency: then tiles span several rows
     * (through panels). Row tiles need an average of at least
     * min(8, 0.8 rmax) positions. */
    int per_row = (s->w_out + rmax - 1) / rmax;
    int want = rmax * 4 / 5 < 8 ? rmax * 4 / 5 : 8;
    if (s->w_out >= want * per_row) {
        p->row_tiles = per_row;
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

/* 1 if some output reads padded row `row` (phase `ph` for columns). */
int f32_conv_row_read(const ww_conv2d_shape *s, int row)
{
    for (int kh = 0; kh < s->k_h; kh++) {
        int d = row - kh * s->dil_h;
        if (d >= 0 && d % s->stride_h == 0 && d / s->stride_h < s->h_out) return 1;
    }
    return 0;
}

int f32_conv_phase_read(const ww_conv2d_shape *s, int ph)
{
    for (int kw = 0; kw < s->k_w; kw++)
        if (kw * s->dil_w % s->stride_w == ph) return 1;
    return 0;
}

void f32_conv_fill_xp(const f32_conv_plan *p, const float *x, float *xp)
{
    const ww_conv2d_shape *s = p->s;
    const int sw = s->stride_w, wq = p->wq;
    /* rows and phases no output reads (a 1x1 stride-2 conv reads a quarter)
     * are left unwritten */
    for (int ph = 0; ph < sw; ph++) {
        if (!f32_conv_phase_read(s, ph)) continue;
        /* column q of this phase is padded column q * sw + ph; x column iw is
         * padded column iw + pad_left, so q reads x in [q0, q1) */
        int lo = s->pad_left - ph, hi = s->pad_left + s->w_in - ph;
        int q0 = lo <= 0 ? 0 : (lo + sw - 1) / sw;
        int q1 = hi <= 0 ? 0 : (hi + sw - 1) / sw;
        if (q0 > wq) q0 = wq;
        if (q1 > wq) q1 = wq;
        if (q1 < q0) q1 = q0;
        const int first_iw = q0 * sw + ph - s->pad_left;
        for (int row = 0; row < p->hp; row++) {
            if (!f32_conv_row_read(s, row)) continue;
            const int ih = row - s->pad_top;
            const int inside = ih >= 0 && ih < s->h_in;
            for (int c = 0; c < s->c_in; c++) {
                float *d = xp + c * p->xp_chan + ph * p->xp_phase + (size_t)row * wq;
                if (!inside) {
                    for (int q = 0; q < wq; q++) d[q] = 0.0f;
                    continue;
                }
                const float *xr = x + ((size_t)c * s->h_in + ih) * s->w_in + first_iw;
                for (int q = 0; q < q0; q++) d[q] = 0.0f;
                if (sw == 1)
                    for (int q = q0; q < q1; q++) d[q] = xr[q - q0];
                else
                    for (int q = q0; q < q1; q++) d[q] = xr[(q - q0) * sw];
                for (int q = q1; q < wq; q++) d[q] = 0.0f;
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

/* xp, then the panels, then the tap offsets; each starts 64-byte aligned. */
#define ALIGN_FLOATS 16
/* the vector stores of a panel's last row may spill this far */
#define F32_PANEL_SLACK 16

static size_t round_up(size_t n)
{
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

static int empty(const ww_conv2d_shape *s)
{
    return s->n <= 0 || s->c_out <= 0 || s->h_out <= 0 || s->w_out <= 0;
}

size_t ww_conv2d_f32_scratch_size(const ww_conv2d_shape *s)
{
    if (empty(s)) return 0;
    f32_conv_plan p;
    f32_conv_plan_init(&p, s, F32_RMAX);
    size_t xp = round_up(p.xp_is_x ? 0 : p.xp_chan * s->c_in);
    if (!f32_conv_blocked(s)) return ALIGN_FLOATS + xp;
    return ALIGN_FLOATS + xp + round_up(p.panel_floats + F32_PANEL_SLACK) + (size_t)p.k;
}

static float *align_up(float *f)
{
    uintptr_t a = ((uintptr_t)f + 63) & ~(uintptr_t)63;
    return (float *)a;
}

/* One group of one image: tiles in runs whose panels fit the budget
 * together, every weight block over each run. */
static void conv_group(const f32_conv_plan *p, const f32_conv_isa *isa, const float *xp_g,
                       const float *w_g, const float *bias, const float *res, float *y, int co0,
                       float *panels, const int32_t *koff, ww_activation act)
{
    /* tiles inside one row read xp directly, no panel */
    const int direct = isa->tile_direct && p->row_tiles;
    for (int t0 = 0; t0 < p->tiles;) {
        f32_tile tiles[64];
        float *panel_at[64];
        int nt = 0;
        size_t used = 0;
        while (t0 + nt < p->tiles && nt < 64) {
            f32_conv_tile(p, t0 + nt, &tiles[nt]);
            if (!direct) {
                size_t need = (size_t)p->k * tiles[nt].r;
                if (nt > 0 && used + need > p->panel_floats) break;
                panel_at[nt] = panels + used;
                isa->panel(&tiles[nt], xp_g, koff, p->k, panel_at[nt]);
                used += need;
            }
            nt++;
        }
        for (int b = 0; b < p->nblocks; b++) {
            const float *wb = w_g + (size_t)b * p->k * F32_BLOCK;
            const int cb = co0 + b * F32_BLOCK;
            f32_store out = {
                NULL, NULL, bias ? bias + cb : NULL, (size_t)p->n_pos, p->cout_g - b * F32_BLOCK,
                act};
            if (out.channels > F32_BLOCK) out.channels = F32_BLOCK;
            for (int i = 0; i < nt; i++) {
                size_t at = (size_t)cb * p->n_pos + tiles[i].n0;
                out.y = y + at;
                out.residual = res ? res + at : NULL;
                if (direct)
                    isa->tile_direct(xp_g + tiles[i].src[0], koff, tiles[i].r, wb, p->k, &out);
                else
                    isa->tile(panel_at[i], tiles[i].r, wb, p->k, &out);
            }
        }
        t0 += nt;
    }
}

void ww_conv2d_f32(const ww_conv2d_shape *s, const float *x, const float *packed_w,
                   const float *bias, const float *residual, ww_activation act, float *y,
                   float *scratch)
{
    if (empty(s)) return;
    const f32_conv_isa *isa = isa_table();
    f32_conv_plan p;
    f32_conv_plan_init(&p, s, isa->rmax);
    const int blocked = f32_conv_blocked(s);
    float *xp = align_up(scratch);
    float *panels = xp + round_up(p.xp_is_x ? 0 : p.xp_chan * s->c_in);
    int32_t *koff = (int32_t *)(panels + round_up(p.panel_floats + F32_PANEL_SLACK));
    if (blocked) F32_FOR_EACH_TAP(&p, off, k, koff[k] = (int32_t)off);
    const size_t x_image = (size_t)s->c_in * s->h_in * s->w_in;
    const size_t y_image = (size_t)s->c_out * p.n_pos;

    for (int n = 0; n < s->n; n++) {
        const float *xpn = x + n * x_image;
        if (!p.xp_is_x) {
            if (isa->fill)
                isa->fill(&p, xpn, xp);
            else
                f32_conv_fill_xp(&p, xpn, xp);
            xpn = xp;
        }
        float *yn = y + n * y_image;
        const float *rn = residual ? residual + n * y_image : NULL;
        if (!blocked) {
            f32_conv_direct(&p, xpn, packed_w, bias, rn, act, yn);
            continue;
        }
        for (int g = 0; g < s->groups; g++)
            conv_group(&p, isa, xpn + (size_t)g * p.cin_g * p.xp_chan,
                       packed_w + (size_t)g * p.nblocks * p.k * F32_BLOCK, bias, rn, yn,
                       g * p.cout_g, panels, koff, act);
    }
}
