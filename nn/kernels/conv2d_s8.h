/* Quantized 2-D convolution: uint8 (or int8) activations, int8 weights
 * symmetric per output channel, int32 bias, exact int32 accumulation, then the
 * requantization of nn/kernels/requant.h with bias, ReLU and optionally the
 * ResNet residual join fused in. This is QDQ's DQ -> Conv (-> Relu) -> Q
 * (-> DQ -> Add(DQ(r)) -> Q) as one pass over memory.
 *
 * Semantics are ONNX Conv's (weights [c_out][c_in/groups][k_h][k_w], pads,
 * strides, dilations, groups including depthwise), but activations are NHWC:
 * x is [n][h_in][w_in][c_in], y and the residual [n][h_out][w_out][c_out].
 * NHWC puts the channels a dot-product instruction reduces over next to each
 * other; ww_nchw_to_nhwc_8 and back (nn/kernels/ops_s8.h) convert at the graph's
 * edges (for the 1-channel spectrogram input they are a plain copy).
 *
 * Life cycle, as the graph compiler uses it: at load, ww_conv2d_s8_pack()
 * validates the parameters and writes everything the kernel needs (re-packed
 * weights, zero-point-corrected bias, per-channel multipliers, offsets) into
 * caller memory of ww_conv2d_s8_packed_size() bytes. Per inference,
 * ww_conv2d_s8() reads that blob, x (and the residual) and writes y, using
 * caller scratch of ww_conv2d_s8_scratch_size() bytes: no allocation, no lock.
 * Memory aligned to 64 bytes is fastest; any alignment works.
 *
 * The ISA is chosen when packing (pass ww_isa_active()); an ISA without its own
 * conv kernel falls back to the best lower one compiled in that this CPU runs.
 * Every ISA gives the scalar reference's bytes exactly. */
#ifndef WW_NN_KERNELS_CONV2D_S8_H
#define WW_NN_KERNELS_CONV2D_S8_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/cpu.h"
#include "nn/kernels/conv2d_f32.h"
#include "nn/kernels/requant.h"

typedef struct ww_conv2d_s8_params {
    ww_conv2d_shape shape;
    ww_qparam x;          /* input */
    const float *w_scale; /* [c_out] weight scales (zero points are 0); read by pack only */
    ww_qparam y;          /* output: the conv's, or the residual join's when fuse_add */
    int relu;             /* ReLU on the conv output (before the join when fuse_add) */
    /* Fused residual join: y = Q_y(DQ_mid(Q_mid(conv)) + DQ_r(residual)), the
     * bytes the unfused graph gives with an intermediate tensor "mid". */
    int fuse_add;
    ww_qparam mid, r;
    int relu_after_add; /* ReLU on the join's output */
} ww_conv2d_s8_params;

/* The ISA whose conv kernel runs when asked for isa (the fallback rule). */
ww_isa ww_conv2d_s8_isa(ww_isa isa);

/* Bytes of the packed blob for these parameters and ISA. */
size_t ww_conv2d_s8_packed_size(const ww_conv2d_s8_params *p, ww_isa isa);

/* Validates p (shape, quantization parameters) and packs w (ONNX layout, int8)
 * and bias ([c_out] int32 at scale x.scale * w_scale[oc], or NULL) into packed.
 * Fails with WW_EINVAL and a message naming the bad field. */
int ww_conv2d_s8_pack(const ww_conv2d_s8_params *p, ww_isa isa, const int8_t *w,
                      const int32_t *bias, void *packed, ww_error *err);

/* Bytes of scratch ww_conv2d_s8 needs (the planner puts it in the arena). */
size_t ww_conv2d_s8_scratch_size(const ww_conv2d_s8_params *p, ww_isa isa);

/* Runs the packed conv. x is uint8 or int8 as p->x.type says, NHWC; residual
 * (NULL unless fuse_add) and y are NHWC of the output shape. x, y, residual and
 * scratch do not overlap. */
void ww_conv2d_s8(const void *packed, const void *x, const void *residual, void *y, void *scratch);

/* The ISA a packed blob runs on. */
ww_isa ww_conv2d_s8_packed_isa(const void *packed);

#endif
