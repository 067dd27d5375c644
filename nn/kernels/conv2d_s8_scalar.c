/* The scalar reference conv2d_s8: the definition every ISA is tested against.
 * Plain loops over ONNX-layout weights; padded taps are skipped (they hold the
 * real value 0), so no zero-point algebra is involved. */
#include "nn/kernels/conv2d_s8_internal.h"

void ww_conv2d_s8_run_scalar(const ww_conv2d_s8_hdr *h, const void *x, const void *res, void *y)
{
    const ww_conv2d_s8_params *p = &h->p;
    const ww_conv2d_shape *s = &p->shape;
    const int8_t *w = (const int8_t *)((const char *)h + h->w_off);
    const int32_t *bias = ww_s8_braw(h);
    long npix = (long)s->h_out * s->w_out;
    for (int n = 0; n < s->n; n++) {
        long xb = (long)n * s->h_in * s->w_in * s->c_in;
        long yb = (long)n * npix * s->c_out;
        for (int oh = 0; oh < s->h_out; oh++)
            for (int ow = 0; ow < s->w_out; ow++)
                for (int oc = 0; oc < s->c_out; oc++) {
                    int g = oc / h->cog;
                    int32_t acc = bias[oc];
                    for (int kh = 0; kh < s->k_h; kh++) {
                        int ih = oh * s->stride_h - s->pad_top + kh * s->dil_h;
                        if (ih < 0 || ih >= s->h_in) continue;
                        for (int kw = 0; kw < s->k_w; kw++) {
                            int iw = ow * s->stride_w - s->pad_left + kw * s->dil_w;
                            if (iw < 0 || iw >= s->w_in) continue;
                            long xi = xb + ((long)ih * s->w_in + iw) * s->c_in + (long)g * h->cg;
                            const int8_t *wo = w + ((long)oc * h->cg * s->k_h + kh) * s->k_w + kw;
                            for (int c = 0; c < h->cg; c++)
                                acc += (ww_qload(x, p->x.type, xi + c) - p->x.zp) *
                                       wo[(long)c * s->k_h * s->k_w];
                        }
                    }
                    long yi = yb + ((long)oh * s->w_out + ow) * s->c_out + oc;
                    int32_t rv = p->fuse_add ? ww_qload(res, p->r.type, yi) : 0;
                    ww_qstore(y, p->y.type, yi, ww_conv2d_s8_epilogue(h, acc, oc, rv));
                }
    }
}
