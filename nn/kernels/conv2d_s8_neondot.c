/* conv2d_s8 for AArch64 with the dot-product extension (armv8.2-a+dotprod):
 * tiles of 16 output channels (4 x int32x4) x 6 pixels, sdot on 4-k quads.
 * sdot is signed x signed, so activations are stored as u8 ^ 0x80 (u8 - 128)
 * in the padded image and the zero point moves with them (the packed bias
 * absorbs it): exact, and no armv8.6 usdot needed. */
#include "nn/kernels/conv2d_s8_neon_internal.h"

#define OB 16
#define NR 6

static inline int8x16_t bcast4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return vreinterpretq_s8_s32(vdupq_n_s32(v));
}

static void conv2d_s8_16x6_fp32_neondot(const ww_conv2d_s8_hdr *h, const void *const *px,
                                        const void *wblock, int oc0, int noc, long p0, int npx,
                                        const void *res, void *y)
{
    int32x4_t a[NR][4];
    for (int j = 0; j < NR; j++)
        for (int i = 0; i < 4; i++) a[j][i] = vdupq_n_s32(0);
    const ptrdiff_t *segs = ww_s8_segs(h);
    const int8_t *wp = wblock;
    const int kq = h->kq;
    for (int seg = 0; seg < h->nseg; seg++) {
        const int8_t *xs[NR];
        for (int j = 0; j < NR; j++) xs[j] = (const int8_t *)px[j] + segs[seg];
        for (int q = 0; q < kq; q++, wp += 4 * OB) {
            int8x16_t w0 = vld1q_s8(wp), w1 = vld1q_s8(wp + 16);
            int8x16_t w2 = vld1q_s8(wp + 32), w3 = vld1q_s8(wp + 48);
#define P(j)                                                                                       \
    {                                                                                              \
        int8x16_t b = bcast4(xs[j] + 4 * q);                                                       \
        a[j][0] = vdotq_s32(a[j][0], w0, b);                                                       \
        a[j][1] = vdotq_s32(a[j][1], w1, b);                                                       \
        a[j][2] = vdotq_s32(a[j][2], w2, b);                                                       \
        a[j][3] = vdotq_s32(a[j][3], w3, b);                                                       \
    }
            P(0) P(1) P(2) P(3) P(4) P(5)
#undef P
        }
    }
    ww_s8_neon_epilogue_block(h, a, oc0, noc, p0, npx, res, y);
}

const ww_conv2d_s8_impl ww_conv2d_s8_impl_neondot = {
    .enc = WW_S8ENC_S8,
    .wlayout = WW_S8W_QUAD,
    .dots_per_cycle = 2,
    .loads_per_cycle = 2,
    .lanes = 4,
    .ntiles = 1,
    .tiles = {{16, 6, conv2d_s8_16x6_fp32_neondot}}};
