/* The int8 side of the engine, private to nn/: the compile pass that finds
 * the QDQ patterns of an ORT-style quantized graph (DequantizeLinear -> op ->
 * QuantizeLinear) and rewrites each into one node running the int8 kernels of
 * nn/kernels/ (conv2d_s8.h, ops_s8.h), and those nodes' ops. Tensors between
 * int8 nodes hold the Q tensor's bytes in NHWC order; the pass only keeps a
 * node int8 when every tensor it reads or writes is either NHWC on both sides
 * or has a layout-free shape (1 channel or 1x1 spatial), so the graph edges
 * (input Q, output DQ, the float Flatten) need no transposes. Anything that
 * does not match stays float-simulated. */
#ifndef WW_NN_QDQ_H
#define WW_NN_QDQ_H

#include "nn/graph.h"
#include "nn/kernels/conv2d_s8.h"
#include "nn/kernels/ops_s8.h"

/* Rewrites the matching patterns of g (after folding and float fusion, before
 * finalize). Returns how many nodes now run int8 kernels, or a negative
 * status (out of memory only: a pattern that does not fit stays float). */
int ww_qdq_compile(ww_graph *g, ww_error *err);

/* The float Conv's geometry (nn/op_conv.c), for the pass. */
const ww_conv2d_shape *ww_conv_shape(const ww_node *n);

/* The int8 ops the pass installs; their params come from the pass. */
typedef struct ww_conv_s8_params {
    ww_conv2d_s8_params p;
    void *packed;
} ww_conv_s8_params;

typedef struct ww_add_s8_params {
    ww_qparam a, b, c;
    int relu;
    size_t n;
    ww_ops_s8 ops;
} ww_add_s8_params;

typedef struct ww_maxpool_s8_params {
    ww_pool_shape s;
    ww_qtype t;
    ww_ops_s8 ops;
} ww_maxpool_s8_params;

typedef struct ww_gap_s8_params {
    int n, hw, c;
    ww_qparam x, y;
    ww_ops_s8 ops;
} ww_gap_s8_params;

typedef struct ww_gemm_s8_op_params {
    ww_gemm_s8_params p;
    void *packed;
    ww_ops_s8 ops;
} ww_gemm_s8_op_params;

/* An element-wise op between a DQ and a Q (Relu, Clip) as a table of its
 * 256 results, computed at compile the way the float simulation computes
 * them, so the bytes are the same. */
typedef struct ww_lut_s8_params {
    uint8_t lut[256]; /* indexed by the input byte */
    size_t n;
} ww_lut_s8_params;

/* QuantizeLinear / DequantizeLinear per tensor on ops_s8's kernels. */
typedef struct ww_qdq_s8_params {
    ww_qparam q;
    size_t n;
    ww_ops_s8 ops;
} ww_qdq_s8_params;

extern const ww_op ww_op_lut_s8, ww_op_quantize_s8, ww_op_dequantize_s8;
/* 1 for the ops above (counting int8 steps after dead nodes are gone). */
int ww_op_is_int8(const ww_op *op);

extern const ww_op ww_op_conv_s8, ww_op_add_s8, ww_op_maxpool_s8, ww_op_gap_s8, ww_op_gemm_s8;

#endif
