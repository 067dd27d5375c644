/* The float conv reference: plain loops straight from the ONNX Conv definition,
 * accumulating in double so it is a steady yardstick for the fast variants. */
#include "nn/kernels/conv2d_f32.h"

static float activate(float v, ww_activation act)
{
    switch (act.kind) {
    case WW_ACT_RELU:
        return v > 0.0f ? v : 0.0f;
    case WW_ACT_CLIP:
        return v < act.lo ? act.lo : (v > act.hi ? act.hi : v);
    default:
        return v;
    }
}

void ww_conv2d_f32_reference(const ww_conv2d_shape *s, const float *x, const float *w,
                             const float *bias, const float *residual, ww_activation act, float *y)
{
    const int cin_g = s->c_in / s->groups, cout_g = s->c_out / s->groups;
    const size_t x_plane = (size_t)s->h_in * s->w_in, y_plane = (size_t)s->h_out * s->w_out;
    for (int n = 0; n < s->n; n++) {
        for (int co = 0; co < s->c_out; co++) {
            const int g = co / cout_g;
            const float *wc = w + (size_t)co * cin_g * s->k_h * s->k_w;
            for (int oh = 0; oh < s->h_out; oh++) {
                for (int ow = 0; ow < s->w_out; ow++) {
                    double acc = bias ? bias[co] : 0.0;
                    for (int ci = 0; ci < cin_g; ci++) {
                        const float *xc =
                            x + ((size_t)n * s->c_in + (size_t)g * cin_g + ci) * x_plane;
                        for (int kh = 0; kh < s->k_h; kh++) {
                            const int ih = oh * s->stride_h - s->pad_top + kh * s->dil_h;
                            if (ih < 0 || ih >= s->h_in) continue;
                            for (int kw = 0; kw < s->k_w; kw++) {
                                const int iw = ow * s->stride_w - s->pad_left + kw * s->dil_w;
                                if (iw < 0 || iw >= s->w_in) continue;
                                acc += (double)xc[(size_t)ih * s->w_in + iw] *
                                       wc[((size_t)ci * s->k_h + kh) * s->k_w + kw];
                            }
                        }
                    }
                    const size_t at =
                        ((size_t)n * s->c_out + co) * y_plane + (size_t)oh * s->w_out + ow;
                    float v = (float)acc;
                    if (residual) v += residual[at];
                    y[at] = activate(v, act);
                }
            }
        }
    }
}

/* ---- generic C versions of the fast path's pieces (any CPU; the compiler
 * vectorises the loops over the 32 channels of a block) ---- */

#include "nn/kernels/f32_conv_plan.h"

#include <string.h>

static void panel_generic(const f32_tile *t, const float *xp_g, const int32_t *koff, int k,
                          float *panel)
{
    for (int i = 0; i < k; i++) {
        float *row = panel + (size_t)i * t->r;
        for (int j = 0; j < t->nseg; j++) {
            const float *src = xp_g + koff[i] + t->src[j];
            for (int l = 0; l < t->len[j]; l++) row[t->lane[j] + l] = src[l];
        }
    }
}

#define GENERIC_RMAX 8

static void tile_generic(const float *panel, int r, const float *w, int k, const f32_store *out)
{
    float acc[GENERIC_RMAX][F32_BLOCK];
    memset(acc, 0, sizeof acc);
    for (int i = 0; i < k; i++) {
        const float *wk = w + (size_t)i * F32_BLOCK;
        for (int j = 0; j < r; j++) {
            float xv = panel[(size_t)i * r + j];
            for (int c = 0; c < F32_BLOCK; c++) acc[j][c] += xv * wk[c];
        }
    }
    for (int c = 0; c < out->channels; c++) {
        float b = out->bias ? out->bias[c] : 0.0f;
        float *yc = out->y + c * out->ch_stride;
        const float *rc = out->residual ? out->residual + c * out->ch_stride : NULL;
        for (int j = 0; j < r; j++) {
            float v = acc[j][c] + b;
            if (rc) v += rc[j];
            yc[j] = activate(v, out->act);
        }
    }
}

const f32_conv_isa f32_conv_scalar = {GENERIC_RMAX, panel_generic, tile_generic, NULL, NULL};

void f32_conv_direct(const f32_conv_plan *p, const float *xp, const float *w, const float *bias,
                     const float *residual, ww_activation act, float *y)
{
    const ww_conv2d_shape *s = p->s;
    for (int co = 0; co < s->c_out; co++) {
        const int g = co / p->cout_g;
        const float *xp_g = xp + (size_t)g * p->cin_g * p->xp_chan;
        const float *wc = w + (size_t)co * p->k;
        for (int oh = 0; oh < s->h_out; oh++) {
            float *yr = y + ((size_t)co * s->h_out + oh) * s->w_out;
            for (int ow = 0; ow < s->w_out; ow++) yr[ow] = 0.0f;
            const float *base = xp_g + (size_t)oh * s->stride_h * p->wq;
            F32_FOR_EACH_TAP(p, off, k, {
                const float wv = wc[k];
                const float *src = base + off;
                for (int ow = 0; ow < s->w_out; ow++) yr[ow] += wv * src[ow];
            });
            const float b = bias ? bias[co] : 0.0f;
            const float *rr = residual ? residual + (yr - y) : NULL;
            for (int ow = 0; ow < s->w_out; ow++) {
                float v = yr[ow] + b;
                if (rr) v += rr[ow];
                yr[ow] = activate(v, act);
            }
        }
    }
}
