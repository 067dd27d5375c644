/* Entry points of the float conv: the packed layout and the choice of kernel. */
#include "nn/kernels/conv2d_f32.h"

#include <string.h>

size_t ww_conv2d_f32_packed_size(const ww_conv2d_shape *s)
{
    return (size_t)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w;
}

void ww_conv2d_f32_pack(const ww_conv2d_shape *s, const float *w, float *packed)
{
    memcpy(packed, w, ww_conv2d_f32_packed_size(s) * sizeof *packed);
}

size_t ww_conv2d_f32_scratch_size(const ww_conv2d_shape *s)
{
    (void)s;
    return 0;
}

void ww_conv2d_f32(const ww_conv2d_shape *s, const float *x, const float *packed_w,
                   const float *bias, const float *residual, ww_activation act, float *y,
                   float *scratch)
{
    (void)scratch;
    ww_conv2d_f32_reference(s, x, packed_w, bias, residual, act, y);
}
