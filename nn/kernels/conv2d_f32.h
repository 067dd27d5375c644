/* Float32 2-D convolution, NCHW, the engine's hot loop. Weights are packed
 * once at load (ww_conv2d_f32_pack) into whatever layout the kernels want;
 * per-inference work is ww_conv2d_f32 alone. Bias, a residual input and the
 * activation are fused so a ResNet block needs no extra passes over memory.
 * Kernels know nothing but these arrays and shapes. One implementation per
 * ISA (AVX-512, AVX2+FMA, generic C), chosen at each call through nn/cpu.h
 * (ww_isa_active); the packed layout is the same for every ISA, so weights
 * packed once stay valid whatever ISA is forced later. ww_conv2d_f32_reference
 * (conv2d_f32_scalar.c) is the plain definition the others are tested
 * against. How the fast path works: nn/kernels/f32_conv_plan.h. */
#ifndef WW_NN_KERNELS_CONV2D_F32_H
#define WW_NN_KERNELS_CONV2D_F32_H

#include <stddef.h>

typedef struct ww_conv2d_shape {
    int n, c_in, h_in, w_in;
    int c_out, h_out, w_out;
    int k_h, k_w;
    int stride_h, stride_w;
    int pad_top, pad_left; /* bottom/right padding follows from h_out/w_out */
    int dil_h, dil_w;
    int groups; /* c_in and c_out are multiples of it; groups == c_in is depthwise */
} ww_conv2d_shape;

typedef enum ww_act_kind { WW_ACT_NONE, WW_ACT_RELU, WW_ACT_CLIP } ww_act_kind;

typedef struct ww_activation {
    ww_act_kind kind;
    float lo, hi; /* for WW_ACT_CLIP */
} ww_activation;

/* Floats needed for the packed weights of this shape. */
size_t ww_conv2d_f32_packed_size(const ww_conv2d_shape *s);

/* w is ONNX's [c_out][c_in/groups][k_h][k_w]. */
void ww_conv2d_f32_pack(const ww_conv2d_shape *s, const float *w, float *packed);

/* Floats of scratch memory ww_conv2d_f32 needs (the planner puts it in the
 * arena). Any alignment will do (64 bytes are taken out of it to align);
 * its contents need not survive between calls. */
size_t ww_conv2d_f32_scratch_size(const ww_conv2d_shape *s);

/* y = act(conv(x, w) + bias + residual). bias [c_out] and residual (y's shape)
 * may be NULL. x, y, residual and scratch do not overlap. Allocates nothing,
 * takes no lock: safe on the inference path. */
void ww_conv2d_f32(const ww_conv2d_shape *s, const float *x, const float *packed_w,
                   const float *bias, const float *residual, ww_activation act, float *y,
                   float *scratch);

/* The plain reference every ISA variant is tested against: unpacked ONNX
 * weights, no scratch. */
void ww_conv2d_f32_reference(const ww_conv2d_shape *s, const float *x, const float *w,
                             const float *bias, const float *residual, ww_activation act, float *y);

#endif
