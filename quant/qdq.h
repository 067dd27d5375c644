/* Static int8 quantization of a float ONNX model into QDQ form, laid out as
 * ONNX Runtime's quantize_static(quant_format=QDQ) lays it out, so ORT (and
 * any QDQ-aware runtime) recognises the patterns and runs native int8 kernels:
 *
 *   Conv, Gemm, MatMul  activation input Q->DQ; weight int8 initializer -> DQ
 *                       (per output channel: axis 0 for Conv and for Gemm with
 *                       transB=1, axis 1 for Gemm with transB=0 and MatMul);
 *                       bias int32 (scale = input scale x weight scale,
 *                       zero point 0) -> DQ; output Q->DQ.
 *   Relu, Clip          removed when they follow a quantized op whose output
 *                       they alone consume: the op then writes the Relu's
 *                       output and takes its (non-negative) range, so the
 *                       clamp is implicit in the uint8 quantisation. With
 *                       symmetric (int8) activations they are kept with QDQ.
 *   Add, Mul, Concat,   every input and output gets its own Q->DQ (constant
 *   GlobalAveragePool   inputs are quantized like weights, per tensor).
 *   BatchNormalization, InstanceNormalization, LayerNormalization
 *                       input and output Q->DQ; unlike ORT, their scale and
 *                       bias stay float.
 *   MaxPool, AveragePool, Reshape, Transpose, Squeeze, Unsqueeze
 *                       when the input is quantized, the output gets Q->DQ with
 *                       the input's parameters (ORT's "direct 8-bit" ops).
 *   anything else       (Flatten, Identity, Sub, ...) stays float between the
 *                       DQ of its input and the Q of its consumer.
 * Each activation is quantized once, its Q->DQ pair shared by all consumers.
 * Graph outputs always get their min/max range (not clipped by the method).
 * Names follow ORT: T_QuantizeLinear_Output, T_DequantizeLinear_Output,
 * W_quantized, W_scale, W_zero_point; a graph output keeps its name on the DQ.
 * The default opset becomes at least 13 (per-axis DequantizeLinear). */
#ifndef WW_QUANT_QDQ_H
#define WW_QUANT_QDQ_H

#include <stddef.h>

#include "core/error.h"
#include "quant/observer.h"

typedef struct ww_qdq_options {
    int per_channel;            /* weights per output channel (1) or per tensor */
    int symmetric_activations;  /* int8 activations, zero point 0 (else uint8) */
    double weight_clip_pct;     /* < 100: clip weights at this percentile of |w| */
    ww_calib_options calib;     /* how activation ranges come from the observers */
    const char *const *exclude; /* node names kept in float */
    size_t n_exclude;
    const char *const *meta_keys; /* metadata_props added to the output */
    const char *const *meta_values;
    size_t n_meta;
} ww_qdq_options;

void ww_qdq_options_default(ww_qdq_options *opt);

/* Activation statistics by ONNX tensor name; NULL for tensors never seen (not
 * float, or not computed). */
typedef const ww_observer *(*ww_qdq_stats_fn)(void *user, const char *name);

typedef struct ww_qdq_weight {
    char *name;
    int channels;
    double sqnr_db; /* dequantized weights against the float ones */
} ww_qdq_weight;

typedef struct ww_qdq_act {
    char *name;    /* the float model's tensor */
    char *dq_name; /* the same values, quantized, in the QDQ model */
    float scale;
    int zero_point;
    float lo, hi; /* the calibrated range */
} ww_qdq_act;

typedef struct ww_qdq_float_node {
    char *name, *op_type;
    const char *why; /* "excluded", "no int8 form", ... */
} ww_qdq_float_node;

typedef struct ww_qdq_result {
    void *data; /* the serialized QDQ model (malloc) */
    size_t size;
    size_t n_quantized_nodes, n_removed_activations;
    ww_qdq_weight *weights;
    size_t n_weights;
    ww_qdq_act *acts;
    size_t n_acts;
    ww_qdq_float_node *float_nodes;
    size_t n_float_nodes;
} ww_qdq_result;

/* Quantizes a serialized float model. name is used in messages. Fails with
 * WW_EUNSUPPORTED for a model that is already quantized or float16, and with
 * WW_EINVAL when an activation to quantize has no statistics. */
int ww_qdq_quantize(const void *model, size_t len, const char *name, const ww_qdq_options *opt,
                    ww_qdq_stats_fn stats, void *user, ww_qdq_result *res, ww_error *err);

void ww_qdq_result_free(ww_qdq_result *res);

/* 1 when the op types say the model is already quantized (QDQ, QLinear*,
 * integer ops); *which names the first such op. */
int ww_qdq_is_quantized_op(const char *op_type);

#endif
