/* A loaded ONNX model and the float inference engine behind it. Load parses
 * and checks the whole graph (every op, attribute and shape) so a bad model
 * fails at load with one line naming the node; prepare compiles it for concrete
 * input shapes (constant folding, BatchNorm folding, Conv+Add+Relu fusion, one
 * arena planned from tensor lifetimes); run then allocates nothing.
 *
 * Typical use (the detector):
 *     ww_model_load(path, &m, &err);
 *     ww_model_prepare(m, 1, &err);
 *     ww_model_run_f32(m, features, n_in, logits, n_out, &err);  // per hop
 *
 * General use (infer, the quantizer): prepare with explicit input shapes,
 * write each input into ww_model_input_data(), ww_model_run(), read the
 * outputs through ww_model_output(). An observer sees every float tensor as
 * it is produced (calibration). */
#ifndef WW_NN_MODEL_H
#define WW_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WW_MAX_DIMS 8

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum ww_dtype {
    WW_DT_UNDEFINED = 0,
    WW_DT_F32 = 1,
    WW_DT_U8 = 2,
    WW_DT_I8 = 3,
    WW_DT_I32 = 6,
    WW_DT_I64 = 7,
    WW_DT_BOOL = 9,
    WW_DT_F16 = 10,
    WW_DT_F64 = 11,
} ww_dtype;

const char *ww_dtype_name(int dtype);
/* Bytes per element; 0 for types the engine does not hold. */
size_t ww_dtype_size(int dtype);

/* A tensor as the caller sees it: data belongs to the model (arena or
 * constants) and stays valid until the next prepare or free. */
typedef struct ww_tensor_view {
    const char *name;
    ww_dtype dtype;
    int ndim;
    int64_t dims[WW_MAX_DIMS];
    size_t count; /* product of dims */
    void *data;
    int nhwc; /* 8-bit tensors on the int8 kernels: dims are NCHW, data NHWC */
} ww_tensor_view;

typedef struct ww_model ww_model;

/* Reads and checks the model, then prepares it for batch 1 (or the fixed
 * batch of its inputs). Errors name the file. */
int ww_model_load(const char *path, ww_model **out, ww_error *err);
/* Same from memory; name is used in messages. data is not kept. */
int ww_model_load_mem(const void *data, size_t len, const char *name, ww_model **out,
                      ww_error *err);
/* Parses and describes the model without compiling it (info on models the
 * engine cannot run: fp16, dynamic-quantized, unknown ops); prepare before
 * running. */
int ww_model_load_unprepared(const char *path, ww_model **out, ww_error *err);
void ww_model_free(ww_model *m);

/* For code that unpacks ONNX bytes itself (the quantizer's writers): refuses
 * protobuf messages nested deeper than the loader allows, since protobuf-c
 * unpacks recursively and deep nesting overflows the stack. */
int ww_onnx_check_nesting(const void *data, size_t len, ww_error *err);

/* metadata_props, in file order */
size_t ww_model_meta_count(const ww_model *m);
void ww_model_meta_at(const ww_model *m, size_t i, const char **key, const char **value);
const char *ww_model_meta(const ww_model *m, const char *key); /* NULL if absent */

/* Graph inputs (initializers excluded) and outputs as declared in the file:
 * a symbolic dimension is reported as -1. Shapes return ndim and fill dims
 * (WW_MAX_DIMS entries). */
int ww_model_n_inputs(const ww_model *m);
int ww_model_n_outputs(const ww_model *m);
const char *ww_model_input_name(const ww_model *m, int i);
const char *ww_model_output_name(const ww_model *m, int i);
int ww_model_input_shape(const ww_model *m, int i, int64_t *dims);
int ww_model_output_shape(const ww_model *m, int i, int64_t *dims);
ww_dtype ww_model_input_dtype(const ww_model *m, int i);
ww_dtype ww_model_output_dtype(const ww_model *m, int i);

/* Graph optimisation at prepare (default on): BatchNorm folding and
 * Conv+Add+Relu fusion. Off keeps every ONNX tensor observable (calibration
 * of unfused graphs). Takes effect at the next prepare. */
void ww_model_set_fusion(ww_model *m, int enabled);

/* QDQ graphs (default on): at prepare, DQ -> Conv/Gemm/Add/MaxPool/
 * GlobalAveragePool -> Q patterns run on the int8 kernels (nn/qdq.h); off runs
 * them float-simulated (QuantizeLinear/DequantizeLinear as float ops). The
 * environment variable WW_INT8=0 turns it off for every model at load. Needs
 * fusion on. Takes effect at the next prepare. */
void ww_model_set_int8(ww_model *m, int enabled);

/* Compiles for a batch size: a symbolic first axis of every input takes
 * `batch`; a fixed one must equal it. Other symbolic axes need
 * ww_model_prepare_shapes. Allocates the arena; runs after it do not.
 * batch 0: the declared shapes, every symbolic axis taken as 1. */
int ww_model_prepare(ww_model *m, int batch, ww_error *err);
/* Compiles for explicit shapes, one per graph input in order. */
int ww_model_prepare_shapes(ww_model *m, const int *ndims, const int64_t *const *dims,
                            ww_error *err);

/* Same, and every input with values[i] != NULL is frozen to that data (an
 * integer shape or axes tensor fed as a graph input, as ONNX's own tests do),
 * so what depends on it folds at compile. values may be NULL. */
int ww_model_prepare_values(ww_model *m, const int *ndims, const int64_t *const *dims,
                            const void *const *values, ww_error *err);

/* Input i of the prepared model: write the data into view.data before run. */
int ww_model_input(ww_model *m, int i, ww_tensor_view *view);
/* Runs the prepared model. */
int ww_model_run(ww_model *m, ww_error *err);
/* Output i of the last run (valid until the next run/prepare). */
int ww_model_output(ww_model *m, int i, ww_tensor_view *view);

/* The detector's convenience: one float input, one float output, counts must
 * match the prepared shapes. No allocation. */
int ww_model_run_f32(ww_model *m, const float *in, size_t in_count, float *out, size_t out_count,
                     ww_error *err);

/* Called during run after every float tensor is produced (graph inputs
 * first), with its ONNX name, shape and data. NULL removes it. */
typedef void (*ww_model_observer)(void *user, const ww_tensor_view *t);
void ww_model_set_observer(ww_model *m, ww_model_observer fn, void *user);
/* Also shows the observer the 8-bit (uint8/int8) tensors: the outputs of
 * QuantizeLinear when QDQ is float-simulated, the int8 kernels' outputs (same
 * names) otherwise, so the two executions can be compared activation by
 * activation. Off by default. */
void ww_model_set_observe_8bit(ww_model *m, int enabled);

typedef enum ww_model_kind {
    WW_MODEL_FLOAT,
    WW_MODEL_QDQ_INT8,     /* QuantizeLinear/DequantizeLinear pairs */
    WW_MODEL_DYNAMIC_INT8, /* DynamicQuantizeLinear / MatMulInteger / ConvInteger */
    WW_MODEL_FP16,         /* float16 weights or tensors */
} ww_model_kind;

const char *ww_model_kind_name(ww_model_kind kind);

/* What `info` prints. Op counts are over the file's graph; params, MACs and
 * arena over the prepared one. */
typedef struct ww_model_stats {
    int64_t ir_version;
    int64_t opset; /* default domain */
    const char *producer_name, *producer_version;
    ww_model_kind kind;
    size_t n_nodes;
    size_t n_params;     /* elements of all initializers */
    size_t param_bytes;  /* their bytes as stored */
    uint64_t macs;       /* multiply-accumulates per run at the prepared shapes */
    size_t arena_bytes;  /* activations + scratch */
    size_t n_exec_nodes; /* nodes left after folding and fusion */
    size_t n_int8_nodes; /* of those, how many run the int8 kernels (QDQ patterns
                            compiled at prepare); 0: float or float-simulated */
} ww_model_stats;

void ww_model_get_stats(const ww_model *m, ww_model_stats *st);

/* Per-step timing, for `bench --profile`: off by default; when on, every run
 * reads the clock around each executed step. Enabling resets the counters.
 * Steps are in execution order, after folding and fusion; op_type says
 * "(int8)" for steps on the int8 kernels. */
typedef struct ww_step_profile {
    const char *op_type, *name;
    uint64_t macs; /* per run */
    uint64_t ns;   /* total over runs */
    uint64_t runs;
} ww_step_profile;
void ww_model_set_profiling(ww_model *m, int enabled);
size_t ww_model_profile_count(const ww_model *m);
int ww_model_profile_at(const ww_model *m, size_t i, ww_step_profile *out);
/* The int8 conv parameters (shapes, quantization, fused join) of step i, numbered
 * as ww_model_profile_at, when it runs on the int8 conv kernel; WW_EINVAL for any
 * other step. For benchmarks that time the kernel on a real model's layers
 * (bench_conv2d_s8 --net FILE); w_scale is NULL (read only while packing). */
struct ww_conv2d_s8_params;
int ww_model_step_conv_s8(const ww_model *m, size_t i, struct ww_conv2d_s8_params *out);
/* Op types of the file's graph and how often each occurs, i < count. */
size_t ww_model_op_type_count(const ww_model *m);
void ww_model_op_type_at(const ww_model *m, size_t i, const char **op_type, size_t *count);

#endif
