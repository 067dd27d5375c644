/* Portable C versions of ops of ops_s8.h for the ISAs without their own (AVX2,
 * NEON): the scalar reference's results, laid out for speed. The reference walks
 * every output element through the whole window with a type switch per load; on
 * the shipped model that made the stem's max pooling 0.8 ms of a 3.3 ms AVX2
 * inference. */
#include <string.h>

#include "nn/kernels/ops_s8.h"
#include "nn/kernels/ops_s8_internal.h"

/* Channels are taken 64 at a time into a local block, which the compiler turns
 * into whole-vector byte maxima (SSE2 pmaxub, NEON umax); signed bytes compare
 * as unsigned once their sign bit is flipped, which also makes the type's
 * minimum (what a window entirely in padding gives) 0 for both types. */
void ww_maxpool_s8_generic(const ww_pool_shape *s, ww_qtype t, const void *x, void *y)
{
    enum { BLOCK = 64 };
    const uint8_t flip = t == WW_QTYPE_S8 ? 0x80 : 0;
    const size_t c = (size_t)s->c, row = (size_t)s->w_in * c;
    const uint8_t *xb = x;
    uint8_t *yp = y;
    for (int n = 0; n < s->n; n++, xb += (size_t)s->h_in * row)
        for (int oh = 0; oh < s->h_out; oh++)
            for (int ow = 0; ow < s->w_out; ow++, yp += c)
                for (size_t c0 = 0; c0 < c; c0 += BLOCK) {
                    size_t nc = c - c0 < BLOCK ? c - c0 : BLOCK;
                    uint8_t m[BLOCK] = {0};
                    for (int kh = 0; kh < s->k_h; kh++) {
                        int ih = oh * s->stride_h - s->pad_top + kh * s->dil_h;
                        if (ih < 0 || ih >= s->h_in) continue;
                        for (int kw = 0; kw < s->k_w; kw++) {
                            int iw = ow * s->stride_w - s->pad_left + kw * s->dil_w;
                            if (iw < 0 || iw >= s->w_in) continue;
                            const uint8_t *p = xb + (size_t)ih * row + (size_t)iw * c + c0;
                            if (nc == BLOCK) {
                                for (int i = 0; i < BLOCK; i++) {
                                    uint8_t v = p[i] ^ flip;
                                    m[i] = v > m[i] ? v : m[i];
                                }
                            } else {
                                for (size_t i = 0; i < nc; i++) {
                                    uint8_t v = p[i] ^ flip;
                                    m[i] = v > m[i] ? v : m[i];
                                }
                            }
                        }
                    }
                    for (size_t i = 0; i < nc; i++) yp[c0 + i] = m[i] ^ flip;
                }
}
