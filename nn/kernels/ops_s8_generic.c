/* Portable C versions of ops of ops_s8.h for the ISAs without their own (NEON,
 * and AVX2 below 16 channels): the scalar reference's results, laid out for
 * speed. The reference walks every output element through the whole window
 * with a type switch per load; on the shipped model that made the stem's max
 * pooling 0.8 ms of a 3.3 ms AVX2 inference. */
#include <string.h>

#include "nn/kernels/ops_s8.h"
#include "nn/kernels/ops_s8_internal.h"

enum { BLOCK = 64 };

/* m[i] = max(m[i], p[i] ^ flip), i < n: the tap goes through a local block, so
 * the fixed-length loop cannot alias m and the compiler turns it into
 * whole-vector byte maxima (SSE2 pmaxub, NEON umax). */
static void max_into(uint8_t *m, const uint8_t *p, size_t n, uint8_t flip)
{
    size_t c0 = 0;
    for (; c0 + BLOCK <= n; c0 += BLOCK) {
        uint8_t t[BLOCK];
        memcpy(t, p + c0, BLOCK);
        for (int i = 0; i < BLOCK; i++) {
            uint8_t v = t[i] ^ flip;
            m[c0 + i] = v > m[c0 + i] ? v : m[c0 + i];
        }
    }
    for (; c0 < n; c0++) {
        uint8_t v = p[c0] ^ flip;
        m[c0] = v > m[c0] ? v : m[c0];
    }
}

/* The window is walked once per output pixel, its taps maxed into the output
 * row; signed bytes compare as unsigned once their sign bit is flipped, which
 * also makes the type's minimum (what a window entirely in padding gives) 0. */
void ww_maxpool_s8_generic(const ww_pool_shape *s, ww_qtype t, const void *x, void *y)
{
    const uint8_t flip = t == WW_QTYPE_S8 ? 0x80 : 0;
    const size_t c = (size_t)s->c, row = (size_t)s->w_in * c;
    const uint8_t *xb = x;
    uint8_t *yp = y;
    for (int n = 0; n < s->n; n++, xb += (size_t)s->h_in * row)
        for (int oh = 0; oh < s->h_out; oh++)
            for (int ow = 0; ow < s->w_out; ow++, yp += c) {
                memset(yp, 0, c);
                for (int kh = 0; kh < s->k_h; kh++) {
                    int ih = oh * s->stride_h - s->pad_top + kh * s->dil_h;
                    if (ih < 0 || ih >= s->h_in) continue;
                    for (int kw = 0; kw < s->k_w; kw++) {
                        int iw = ow * s->stride_w - s->pad_left + kw * s->dil_w;
                        if (iw >= 0 && iw < s->w_in)
                            max_into(yp, xb + (size_t)ih * row + (size_t)iw * c, c, flip);
                    }
                }
                if (flip)
                    for (size_t i = 0; i < c; i++) yp[i] ^= flip;
            }
}
