/* conv2d_s8 for AArch64 NEON without the dot-product extension: tiles of 16
 * output channels (4 x int32x4) x 4 pixels. Activations are widened to int16
 * once (padded image), weights (int8 in memory, one k across the channel
 * lanes) as they are loaded; smlal/smlal2 by lane multiply-accumulate exactly
 * into int32. */
#include "nn/kernels/conv2d_s8_neon_internal.h"

#define OB 16
#define NR 4

static void conv2d_s8_16x4_fp32_neon(const ww_conv2d_s8_hdr *h, const void *const *px,
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
        const int16_t *x0 = (const int16_t *)px[0] + segs[seg];
        const int16_t *x1 = (const int16_t *)px[1] + segs[seg];
        const int16_t *x2 = (const int16_t *)px[2] + segs[seg];
        const int16_t *x3 = (const int16_t *)px[3] + segs[seg];
        for (int q = 0; q < kq; q++, wp += 4 * OB) {
            int16x4_t v0 = vld1_s16(x0 + 4 * q), v1 = vld1_s16(x1 + 4 * q);
            int16x4_t v2 = vld1_s16(x2 + 4 * q), v3 = vld1_s16(x3 + 4 * q);
#define K(k)                                                                                       \
    {                                                                                              \
        int8x16_t wb = vld1q_s8(wp + (k)*OB);                                                      \
        int16x8_t wl = vmovl_s8(vget_low_s8(wb)), wh = vmovl_high_s8(wb);                          \
        a[0][0] = vmlal_lane_s16(a[0][0], vget_low_s16(wl), v0, k);                                \
        a[0][1] = vmlal_high_lane_s16(a[0][1], wl, v0, k);                                         \
        a[0][2] = vmlal_lane_s16(a[0][2], vget_low_s16(wh), v0, k);                                \
        a[0][3] = vmlal_high_lane_s16(a[0][3], wh, v0, k);                                         \
        a[1][0] = vmlal_lane_s16(a[1][0], vget_low_s16(wl), v1, k);                                \
        a[1][1] = vmlal_high_lane_s16(a[1][1], wl, v1, k);                                         \
        a[1][2] = vmlal_lane_s16(a[1][2], vget_low_s16(wh), v1, k);                                \
        a[1][3] = vmlal_high_lane_s16(a[1][3], wh, v1, k);                                         \
        a[2][0] = vmlal_lane_s16(a[2][0], vget_low_s16(wl), v2, k);                                \
        a[2][1] = vmlal_high_lane_s16(a[2][1], wl, v2, k);                                         \
        a[2][2] = vmlal_lane_s16(a[2][2], vget_low_s16(wh), v2, k);                                \
        a[2][3] = vmlal_high_lane_s16(a[2][3], wh, v2, k);                                         \
        a[3][0] = vmlal_lane_s16(a[3][0], vget_low_s16(wl), v3, k);                                \
        a[3][1] = vmlal_high_lane_s16(a[3][1], wl, v3, k);                                         \
        a[3][2] = vmlal_lane_s16(a[3][2], vget_low_s16(wh), v3, k);                                \
        a[3][3] = vmlal_high_lane_s16(a[3][3], wh, v3, k);                                         \
    }
            K(0) K(1) K(2) K(3)
#undef K
        }
    }
    ww_s8_neon_epilogue_block(h, a, oc0, noc, p0, npx, res, y);
}

const ww_conv2d_s8_impl ww_conv2d_s8_impl_neon = {.enc = WW_S8ENC_S16,
                                                  .wlayout = WW_S8W_KMAJOR8,
                                                  .dots_per_cycle = 2,
                                                  .loads_per_cycle = 2,
                                                  .lanes = 4,
                                                  .ntiles = 1,
                                                  .tiles = {{16, 4, conv2d_s8_16x4_fp32_neon}}};
