/* The engine's graph IR, private to nn/: tensors and nodes built from the
 * ONNX protobuf for one set of concrete input shapes, then folded, fused and
 * planned into one arena (nn/compile.c, nn/plan.c). Nodes refer to tensors by
 * index; attributes are read straight from the node's protobuf, which the
 * model keeps alive. Operators live in nn/op_*.c behind struct ww_op. */
#ifndef WW_NN_GRAPH_H
#define WW_NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/kernels/conv2d_f32.h"
#include "nn/model.h"
#include "onnx.pb-c.h"

/* Size limits checked before anything is allocated from a file's numbers. */
#define WW_MAX_MODEL_BYTES  ((size_t)256 << 20) /* model file, checked before reading it */
#define WW_MAX_TENSOR_ELEMS ((int64_t)1 << 28)
#define WW_MAX_DIM          ((int64_t)1 << 28)
#define WW_MAX_NODES        100000
/* Longest chain of nodes from a graph input to an output. */
#define WW_MAX_GRAPH_DEPTH 10000
/* Nesting of protobuf messages (a graph in an attribute in a node in a graph
 * ..., a TypeProto in a TypeProto ...): protobuf-c unpacks recursively, so a
 * file nested thousands deep would overflow the stack; real models nest < 16. */
#define WW_MAX_PROTO_DEPTH 64

typedef struct ww_tensor {
    const char *name; /* points into the protobuf or a static string */
    ww_dtype dtype;
    int ndim;
    int64_t dims[WW_MAX_DIMS];
    size_t count;
    void *data;      /* constants: their data; activations: set by the planner */
    void *owned;     /* heap block this tensor frees (folded constants) */
    int is_const;    /* data known at compile time */
    int is_input;    /* graph input: written by the caller */
    int is_output;   /* graph output: lives to the end of the run */
    int is_param;    /* came from an initializer (counted as a parameter) */
    int producer;    /* node index, -1 for constants and inputs */
    int n_consumers; /* live nodes reading it */
    int first, last; /* execution steps where it is produced / last read */
    size_t offset;   /* in the arena */
    int nhwc;        /* 8-bit tensor of an int8 region: NCHW dims, NHWC data */
    int deferred;    /* constant not computed yet: its producer (a weight's DequantizeLinear)
                      * runs only if a float step still reads it after the int8 pass */
} ww_tensor;

struct ww_op;

typedef struct ww_node {
    const Onnx__NodeProto *proto;
    const char *name; /* node name, or its first output's if unnamed */
    const char *op_type;
    const struct ww_op *op;
    int n_in, n_out;
    int *in, *out; /* tensor indices; -1 for an omitted optional input */
    int dead;      /* folded away or fused into another node */
    void *params;  /* op-owned, freed by op->release */
    /* filled by fusion passes for Conv */
    int residual; /* tensor added before the activation, or -1 */
    ww_activation act;
    size_t scratch_bytes;
    uint64_t macs;
    uint64_t prof_ns, prof_runs; /* time spent in run() while profiling is on */
} ww_node;

typedef struct ww_graph {
    int64_t opset;
    ww_tensor *t;
    int nt, cap_t;
    ww_node *nodes;
    int nn;
    int *order; /* topological order of node indices */
    int n_order;
    int *inputs, n_inputs; /* graph inputs (not initializers), in file order */
    int *outputs, n_outputs;
    int fusion;
    uint8_t *arena;
    size_t arena_bytes;
    void *scratch; /* inside the arena, scratch_bytes long, shared by nodes */
    size_t scratch_bytes;
    uint64_t macs;
    int n_live;
    int n_int8;       /* nodes running int8 kernels (nn/qdq_compile.c) */
    int profile;      /* time every node's run (ww_model_set_profiling) */
    int observe_8bit; /* the observer also sees 8-bit tensors */
} ww_graph;

typedef struct ww_op {
    const char *type;
    /* Checks attributes and input types, fills output dtypes and shapes,
     * allocates params. May mark outputs constant itself (Shape, Constant). */
    int (*prepare)(ww_graph *g, ww_node *n, ww_error *err);
    /* Computes outputs from inputs. Errors only for data-dependent faults. */
    int (*run)(ww_graph *g, ww_node *n, ww_error *err);
    /* After folding and fusion, before planning: pack weights, size scratch. */
    int (*finalize)(ww_graph *g, ww_node *n, ww_error *err);
    void (*release)(ww_node *n);
    int no_fold; /* never run at compile time even when all inputs are constant */
    /* prepare reads only its inputs' shapes and types, never constant data, so a
     * deferred weight (ww_tensor.deferred) need not be computed before it */
    int prepare_reads_shapes_only;
} ww_op;

const ww_op *ww_op_find(const char *type);

static inline ww_tensor *ww_in(ww_graph *g, const ww_node *n, int i)
{
    return (i < n->n_in && n->in[i] >= 0) ? &g->t[n->in[i]] : NULL;
}
static inline ww_tensor *ww_out(ww_graph *g, const ww_node *n, int i)
{
    return &g->t[n->out[i]];
}

/* Tensor helpers */
int ww_tensor_set_shape(ww_tensor *t, ww_dtype dtype, int ndim, const int64_t *dims,
                        const ww_node *n, ww_error *err);
/* Allocates t->data as an owned constant of its shape (zeroed). */
int ww_tensor_alloc_const(ww_tensor *t, ww_error *err);
/* Adds a tensor; returns its index or a negative status. Invalidates pointers
 * into g->t. */
int ww_graph_add_tensor(ww_graph *g, const char *name, ww_error *err);
int64_t ww_tensor_i64_at(const ww_tensor *t, size_t i); /* integer tensors */
void ww_graph_free(ww_graph *g);

/* Attributes of a node's protobuf, with defaults */
const Onnx__AttributeProto *ww_attr(const ww_node *n, const char *name);
int64_t ww_attr_int(const ww_node *n, const char *name, int64_t def);
float ww_attr_float(const ww_node *n, const char *name, float def);
/* Copies up to max ints; returns how many the attribute has, or -1 if absent. */
int ww_attr_ints(const ww_node *n, const char *name, int64_t *out, int max);
/* NUL-terminated copy into buf; returns 1 if present. */
int ww_attr_string(const ww_node *n, const char *name, char *buf, size_t cap);

/* Error helpers that name the node */
int ww_node_fail(ww_error *err, const ww_node *n, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Checks input count range and that input i (if present) has dtype. */
int ww_node_check_io(const ww_node *n, int min_in, int max_in, int min_out, int max_out,
                     ww_error *err);
int ww_node_require_f32(ww_graph *g, const ww_node *n, int i, ww_error *err);
/* Normalises an axis against rank, erroring if out of range. */
int ww_node_axis(const ww_node *n, int64_t axis, int rank, int *out, ww_error *err);

/* TensorProto -> tensor data (raw_data or typed fields), checked against
 * limits. Allocates *data (caller frees). */
int ww_tensor_from_proto(const Onnx__TensorProto *tp, ww_tensor *t, void **data, ww_error *err);
/* Same, but raw_data is used in place when possible (*owned 0): the data
 * lives as long as the protobuf. */
int ww_tensor_view_proto(const Onnx__TensorProto *tp, ww_tensor *t, void **data, int *owned,
                         ww_error *err);

/* Compile: build the IR for the given input shapes, fold, fuse, plan. */
int ww_graph_build(ww_graph *g, const Onnx__ModelProto *mp, int64_t opset, const int *ndims,
                   const int64_t *const *dims, const void *const *values, int fusion,
                   ww_error *err);
/* Same; int8 (with fusion) also compiles QDQ patterns to the int8 kernels. */
int ww_graph_build_int8(ww_graph *g, const Onnx__ModelProto *mp, int64_t opset, const int *ndims,
                        const int64_t *const *dims, const void *const *values, int fusion, int int8,
                        ww_error *err);
int ww_graph_plan(ww_graph *g, ww_error *err);
int ww_graph_run(ww_graph *g, ww_model_observer obs, void *user, ww_error *err);

/* Shared element-wise helpers */
void ww_tensor_view_of(const ww_tensor *t, ww_tensor_view *v);
/* numpy broadcasting of two shapes; -1 on mismatch */
int ww_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out);

#endif
