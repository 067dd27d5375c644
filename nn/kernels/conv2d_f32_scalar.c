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
