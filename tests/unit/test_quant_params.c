/* Quantisation arithmetic against ONNX Runtime's conventions (quant_utils:
 * compute_scale_zp, symmetric int8 weights in [-127, 127]). */
#include <math.h>
#include <stdint.h>

#include "quant/fp16.h"
#include "quant/qparams.h"
#include "wwtest.h"

WW_TEST(activation_uint8_asymmetric)
{
    ww_qparams p = ww_qparams_activation(-1.0f, 3.0f, 0);
    CHECK_NEAR(p.scale, 4.0 / 255, 1e-9);
    CHECK_EQ_INT(p.zero_point, 64); /* round(1 / (4/255)) = round(63.75) */
    CHECK_EQ_INT(ww_quantize_value(-1.0f, p), 0);
    CHECK_EQ_INT(ww_quantize_value(3.0f, p), 255);
    CHECK_EQ_INT(ww_quantize_value(100.0f, p), 255);
    CHECK_EQ_INT(ww_quantize_value(0.0f, p), 64);
    /* a range that excludes zero is widened to include it */
    ww_qparams q = ww_qparams_activation(2.0f, 5.1f, 0);
    CHECK_NEAR(q.scale, 5.1 / 255, 1e-7);
    CHECK_EQ_INT(q.zero_point, 0);
}

WW_TEST(activation_int8_symmetric)
{
    ww_qparams p = ww_qparams_activation(-1.0f, 3.0f, 1);
    CHECK_NEAR(p.scale, 6.0 / 255, 1e-7);
    CHECK_EQ_INT(p.zero_point, 0);
    CHECK_EQ_INT(ww_quantize_value(3.0f, p), 127);
    CHECK_EQ_INT(ww_quantize_value(-3.1f, p), -128); /* saturates */
}

WW_TEST(zero_range_gets_unit_scale)
{
    ww_qparams p = ww_qparams_activation(0, 0, 0);
    CHECK_NEAR(p.scale, 1, 0);
    CHECK_EQ_INT(p.zero_point, 0);
}

WW_TEST(round_half_to_even)
{
    ww_qparams p = {1.0f, 0, 1};
    CHECK_EQ_INT(ww_quantize_value(2.5f, p), 2);
    CHECK_EQ_INT(ww_quantize_value(3.5f, p), 4);
    CHECK_EQ_INT(ww_quantize_value(-2.5f, p), -2);
}

WW_TEST(weights_per_channel_axis0)
{
    /* [2, 3] weights, channel 0 max 1.27, channel 1 max 2.54 */
    float w[6] = {1.27f, -0.5f, 0.01f, -2.54f, 1.0f, 0};
    int64_t dims[2] = {2, 3};
    int8_t q[6];
    float s[2];
    CHECK_EQ_INT(ww_weight_channels(2, dims, 0, 1), 2);
    ww_quantize_weights(w, 6, 2, dims, 0, 1, 100, q, s);
    CHECK_NEAR(s[0], 0.01, 1e-7);
    CHECK_NEAR(s[1], 0.02, 1e-7);
    CHECK_EQ_INT(q[0], 127);
    CHECK_EQ_INT(q[1], -50);
    CHECK_EQ_INT(q[2], 1);
    CHECK_EQ_INT(q[3], -127);
    CHECK_EQ_INT(q[4], 50);
    CHECK_EQ_INT(q[5], 0);
}

WW_TEST(weights_per_channel_axis1_and_per_tensor)
{
    /* Gemm with transB=0: B is [K, N], channels along axis 1 */
    float w[6] = {1, 2, 3, -4, 5, -6};
    int64_t dims[2] = {2, 3};
    int8_t q[6];
    float s[3];
    ww_quantize_weights(w, 6, 2, dims, 1, 1, 100, q, s);
    CHECK_NEAR(s[0], 4 / 127.0, 1e-7);
    CHECK_NEAR(s[1], 5 / 127.0, 1e-7);
    CHECK_NEAR(s[2], 6 / 127.0, 1e-7);
    CHECK_EQ_INT(q[3], -127);
    CHECK_EQ_INT(q[5], -127);
    ww_quantize_weights(w, 6, 2, dims, 0, 0, 100, q, s);
    CHECK_NEAR(s[0], 6 / 127.0, 1e-7);
    CHECK_EQ_INT(q[0], 21); /* 1 / (6/127) = 21.17 */
}

WW_TEST(weight_clip_percentile_drops_an_outlier)
{
    float w[101];
    for (int i = 0; i < 100; i++) w[i] = (float)(i % 10) * 0.1f - 0.45f;
    w[100] = 50;
    int64_t dims[1] = {101};
    int8_t q[101];
    float s[1];
    ww_quantize_weights(w, 101, 1, dims, 0, 0, 99, q, s);
    CHECK_MSG(s[0] < 1.0 / 127, "clipped scale %g should ignore the outlier", s[0]);
    CHECK_EQ_INT(q[100], 127);
}

WW_TEST(sqnr)
{
    float a[4] = {1, -1, 1, -1}, b[4] = {1.1f, -0.9f, 1.1f, -0.9f};
    CHECK_NEAR(ww_sqnr_db(a, b, 4), 20, 1e-4);
    CHECK_NEAR(ww_sqnr_db(a, a, 4), 200, 0);
}


WW_TEST(float16_conversion)
{
    /* IEEE 754 binary16 reference values */
    CHECK_EQ_INT(ww_f32_to_f16(1.0f), 0x3c00);
    CHECK_EQ_INT(ww_f32_to_f16(-2.0f), 0xc000);
    CHECK_EQ_INT(ww_f32_to_f16(65504.0f), 0x7bff);           /* largest finite */
    CHECK_EQ_INT(ww_f32_to_f16(65520.0f), 0x7c00);           /* rounds to inf */
    CHECK_EQ_INT(ww_f32_to_f16(6.1035156e-05f), 0x0400);     /* smallest normal */
    CHECK_EQ_INT(ww_f32_to_f16(5.9604645e-08f), 0x0001);     /* smallest subnormal */
    CHECK_EQ_INT(ww_f32_to_f16(2.9802322e-08f), 0x0000);     /* half of it: ties to even */
    CHECK_EQ_INT(ww_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie to even (down) */
    CHECK_EQ_INT(ww_f32_to_f16(1.0f + 3.0f / 2048), 0x3c02); /* tie to even (up) */
    CHECK_EQ_INT(ww_f32_to_f16(INFINITY), 0x7c00);
    CHECK((ww_f32_to_f16(NAN) & 0x7c00) == 0x7c00 && (ww_f32_to_f16(NAN) & 0x3ff));
    /* round trip of every finite half */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        if (ww_f32_to_f16(ww_f16_to_f32((uint16_t)h)) != h) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_NEAR(ww_f16_to_f32(0x3555), 0.333251953125, 0);
}
