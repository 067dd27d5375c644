/* Private to the two AArch64 conv2d_s8 kernels: requant.h's epilogue on 4
 * lanes of NEON (fcvtns rounds to nearest even; no FMA is used). */
#ifndef WW_NN_KERNELS_CONV2D_S8_NEON_INTERNAL_H
#define WW_NN_KERNELS_CONV2D_S8_NEON_INTERNAL_H

#include <arm_neon.h>

#include "nn/kernels/conv2d_s8_internal.h"

static inline float32x4_t ww_s8_neon_clamp(float32x4_t f, int32_t zp, int32_t lo, int32_t hi)
{
    f = vmaxq_f32(f, vdupq_n_f32((float)(lo - zp)));
    return vminq_f32(f, vdupq_n_f32((float)(hi - zp)));
}

/* Output channels [oc, oc + valid) (valid <= 4) of output element yi. */
static inline void ww_s8_neon_epilogue4(const ww_conv2d_s8_hdr *h, int32x4_t acc, int oc, int valid,
                                        long yi, const void *res, void *y)
{
    const ww_conv2d_s8_params *p = &h->p;
    int32_t bias[4] = {0}, rv[4] = {0}, out[4];
    float m[4] = {0};
    memcpy(bias, ww_s8_bias(h) + oc, sizeof(int32_t) * (size_t)valid);
    memcpy(m, ww_s8_mult(h) + oc, sizeof(float) * (size_t)valid);
    int32x4_t v = vaddq_s32(acc, vld1q_s32(bias));
    float32x4_t f = vmulq_f32(vcvtq_f32_s32(v), vld1q_f32(m));
    if (p->fuse_add) {
        for (int l = 0; l < valid; l++) rv[l] = ww_qload(res, p->r.type, yi + l) - p->r.zp;
        int32x4_t mid = vcvtnq_s32_f32(ww_s8_neon_clamp(f, p->mid.zp, h->mid_lo, h->mid_hi));
        float32x4_t fa = vmulq_f32(vcvtq_f32_s32(mid), vdupq_n_f32(h->add_sa));
        float32x4_t fb = vmulq_f32(vcvtq_f32_s32(vld1q_s32(rv)), vdupq_n_f32(h->add_sb));
        f = vdivq_f32(vaddq_f32(fa, fb), vdupq_n_f32(h->add_sc));
    }
    int32x4_t q = vcvtnq_s32_f32(ww_s8_neon_clamp(f, p->y.zp, h->y_lo, h->y_hi));
    q = vaddq_s32(q, vdupq_n_s32(p->y.zp));
    vst1q_s32(out, q);
    uint8_t *yo = (uint8_t *)y + yi;
    for (int l = 0; l < valid; l++) yo[l] = (uint8_t)out[l];
}

/* All 16 channels of a block for npx pixels: acc[j][i] holds channels 4i..4i+3. */
static inline void ww_s8_neon_epilogue_block(const ww_conv2d_s8_hdr *h, int32x4_t acc[][4], int oc0,
                                             int noc, long p0, int npx, const void *res, void *y)
{
    int c_out = h->p.shape.c_out;
    for (int j = 0; j < npx; j++)
        for (int i = 0; i < 4; i++) {
            int valid = noc - 4 * i;
            if (valid <= 0) break;
            if (valid > 4) valid = 4;
            ww_s8_neon_epilogue4(h, acc[j][i], oc0 + 4 * i, valid, (p0 + j) * c_out + oc0 + 4 * i,
                                 res, y);
        }
}

#endif
