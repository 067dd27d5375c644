/* IR helpers: tensors, attributes, node errors, TensorProto decoding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

const char *ww_dtype_name(int dtype)
{
    static const char *names[] = {"undefined",  "float32", "uint8",  "int8",   "uint16",
                                  "int16",      "int32",   "int64",  "string", "bool",
                                  "float16",    "float64", "uint32", "uint64", "complex64",
                                  "complex128", "bfloat16"};
    if (dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0])) return names[dtype];
    return "unknown";
}

size_t ww_dtype_size(int dtype)
{
    switch (dtype) {
    case WW_DT_F32:
    case WW_DT_I32:
        return 4;
    case WW_DT_U8:
    case WW_DT_I8:
    case WW_DT_BOOL:
        return 1;
    case WW_DT_I64:
    case WW_DT_F64:
        return 8;
    case WW_DT_F16:
        return 2;
    default:
        return 0;
    }
}

int ww_node_fail(ww_error *err, const ww_node *n, int code, const char *fmt, ...)
{
    char buf[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ww_fail(err, code, "node '%s' (%s): %s", n->name, n->op_type, buf);
}

int ww_tensor_set_shape(ww_tensor *t, ww_dtype dtype, int ndim, const int64_t *dims,
                        const ww_node *n, ww_error *err)
{
    if (ndim < 0 || ndim > WW_MAX_DIMS)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "output '%s' has rank %d (max %d)", t->name,
                            ndim, WW_MAX_DIMS);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0 || dims[i] > WW_MAX_DIM)
            return ww_node_fail(err, n, WW_EFORMAT, "output '%s' dimension %d is %lld", t->name, i,
                                (long long)dims[i]);
        count *= dims[i];
        if (count > WW_MAX_TENSOR_ELEMS)
            return ww_node_fail(err, n, WW_ENOMEM, "output '%s' has more than %lld elements",
                                t->name, (long long)WW_MAX_TENSOR_ELEMS);
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->dims[i] = dims[i];
    t->count = (size_t)count;
    return 0;
}

int ww_tensor_alloc_const(ww_tensor *t, ww_error *err)
{
    size_t bytes = t->count * ww_dtype_size(t->dtype);
    free(t->owned);
    t->owned = calloc(1, bytes ? bytes : 1);
    if (!t->owned) return ww_fail(err, WW_ENOMEM, "tensor '%s': out of memory", t->name);
    t->data = t->owned;
    t->is_const = 1;
    return 0;
}

int ww_graph_add_tensor(ww_graph *g, const char *name, ww_error *err)
{
    if (g->nt == g->cap_t) {
        int cap = g->cap_t ? g->cap_t * 2 : 64;
        ww_tensor *nt = realloc(g->t, (size_t)cap * sizeof *nt);
        if (!nt) return ww_fail(err, WW_ENOMEM, "out of memory");
        g->t = nt;
        g->cap_t = cap;
    }
    ww_tensor *t = &g->t[g->nt];
    memset(t, 0, sizeof *t);
    t->name = name ? name : "";
    t->producer = -1;
    t->first = t->last = -1;
    return g->nt++;
}

int64_t ww_tensor_i64_at(const ww_tensor *t, size_t i)
{
    switch (t->dtype) {
    case WW_DT_I64:
        return ((const int64_t *)t->data)[i];
    case WW_DT_I32:
        return ((const int32_t *)t->data)[i];
    case WW_DT_I8:
        return ((const int8_t *)t->data)[i];
    case WW_DT_U8:
    case WW_DT_BOOL:
        return ((const uint8_t *)t->data)[i];
    case WW_DT_F32:
        return (int64_t)((const float *)t->data)[i];
    default:
        return 0;
    }
}

void ww_graph_free(ww_graph *g)
{
    if (!g) return;
    for (int i = 0; i < g->nn; i++) {
        ww_node *n = &g->nodes[i];
        if (n->op && n->op->release) n->op->release(n);
        free(n->in);
        free(n->out);
    }
    for (int i = 0; i < g->nt; i++) free(g->t[i].owned);
    free(g->t);
    free(g->nodes);
    free(g->order);
    free(g->inputs);
    free(g->outputs);
    free(g->arena);
    memset(g, 0, sizeof *g);
}

const Onnx__AttributeProto *ww_attr(const ww_node *n, const char *name)
{
    if (!n->proto) return NULL;
    for (size_t i = 0; i < n->proto->n_attribute; i++) {
        const Onnx__AttributeProto *a = n->proto->attribute[i];
        if (a->name && !strcmp(a->name, name)) return a;
    }
    return NULL;
}

int64_t ww_attr_int(const ww_node *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = ww_attr(n, name);
    return a ? a->i : def;
}

float ww_attr_float(const ww_node *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = ww_attr(n, name);
    return a ? a->f : def;
}

int ww_attr_ints(const ww_node *n, const char *name, int64_t *out, int max)
{
    const Onnx__AttributeProto *a = ww_attr(n, name);
    if (!a) return -1;
    for (size_t i = 0; i < a->n_ints && (int)i < max; i++) out[i] = a->ints[i];
    return a->n_ints > 1000000 ? 1000000 : (int)a->n_ints;
}

int ww_attr_string(const ww_node *n, const char *name, char *buf, size_t cap)
{
    const Onnx__AttributeProto *a = ww_attr(n, name);
    if (!a || cap == 0) return 0;
    size_t len = a->s.len < cap - 1 ? a->s.len : cap - 1;
    if (len) memcpy(buf, a->s.data, len);
    buf[len] = 0;
    return 1;
}

int ww_node_check_io(const ww_node *n, int min_in, int max_in, int min_out, int max_out,
                     ww_error *err)
{
    if (n->n_in < min_in || n->n_in > max_in)
        return ww_node_fail(err, n, WW_EFORMAT, "has %d inputs, expected %d..%d", n->n_in, min_in,
                            max_in);
    for (int i = 0; i < min_in; i++)
        if (n->in[i] < 0) return ww_node_fail(err, n, WW_EFORMAT, "required input %d is empty", i);
    if (n->n_out < min_out || n->n_out > max_out)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "has %d outputs, only %d..%d are supported",
                            n->n_out, min_out, max_out);
    return 0;
}

int ww_node_require_f32(ww_graph *g, const ww_node *n, int i, ww_error *err)
{
    const ww_tensor *t = ww_in(g, n, i);
    if (t && t->dtype != WW_DT_F32)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "input '%s' is %s, only float32 is supported",
                            t->name, ww_dtype_name(t->dtype));
    return 0;
}

int ww_node_axis(const ww_node *n, int64_t axis, int rank, int *out, ww_error *err)
{
    if (axis < -rank || axis >= (rank ? rank : 1))
        return ww_node_fail(err, n, WW_EFORMAT, "axis %lld out of range for rank %d",
                            (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

void ww_tensor_view_of(const ww_tensor *t, ww_tensor_view *v)
{
    v->name = t->name;
    v->dtype = t->dtype;
    v->ndim = t->ndim;
    for (int i = 0; i < WW_MAX_DIMS; i++) v->dims[i] = i < t->ndim ? t->dims[i] : 0;
    v->count = t->count;
    v->data = t->data;
    v->nhwc = t->nhwc;
}

int ww_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da != db && da != 1 && db != 1) return -1;
        out[i] = da == 1 ? db : da;
    }
    return n;
}

/* Copies n elements of a typed protobuf field into the tensor's dtype. */
static int convert_typed(const Onnx__TensorProto *tp, ww_tensor *t, void *dst, ww_error *err)
{
    size_t n = t->count;
    const char *nm = t->name;
#define NEED(field)                                                                                \
    if (tp->n_##field != n)                                                                        \
        return ww_fail(err, WW_EFORMAT, "initializer '%s': %zu values for %zu elements", nm,       \
                       tp->n_##field, n);                                                          \
    if (n == 0) return 0; /* the field's pointer is NULL then: no memcpy from it */
    switch (t->dtype) {
    case WW_DT_F32:
        NEED(float_data);
        memcpy(dst, tp->float_data, n * 4);
        return 0;
    case WW_DT_I64:
        NEED(int64_data);
        memcpy(dst, tp->int64_data, n * 8);
        return 0;
    case WW_DT_F64:
        NEED(double_data);
        memcpy(dst, tp->double_data, n * 8);
        return 0;
    case WW_DT_I32:
        NEED(int32_data);
        memcpy(dst, tp->int32_data, n * 4);
        return 0;
    case WW_DT_I8:
        NEED(int32_data);
        for (size_t i = 0; i < n; i++) ((int8_t *)dst)[i] = (int8_t)tp->int32_data[i];
        return 0;
    case WW_DT_U8:
    case WW_DT_BOOL:
        NEED(int32_data);
        for (size_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i];
        return 0;
    case WW_DT_F16:
        NEED(int32_data);
        for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
        return 0;
    default:
        break;
    }
#undef NEED
    return ww_fail(err, WW_EUNSUPPORTED, "tensor '%s': data type %s not supported", nm,
                   ww_dtype_name(t->dtype));
}

static int from_proto(const Onnx__TensorProto *tp, ww_tensor *t, void **data, int borrow,
                      ww_error *err);

int ww_tensor_from_proto(const Onnx__TensorProto *tp, ww_tensor *t, void **data, ww_error *err)
{
    return from_proto(tp, t, data, 0, err);
}

int ww_tensor_view_proto(const Onnx__TensorProto *tp, ww_tensor *t, void **data, int *owned,
                         ww_error *err)
{
    /* raw_data is a malloc'd block of the right size and alignment: use it in
     * place (little-endian hosts only, which is all the engine builds for) */
    int le = 1;
    int borrow = tp->has_raw_data && *(const char *)&le == 1;
    int rc = from_proto(tp, t, data, borrow, err);
    *owned = !borrow;
    return rc;
}

static int from_proto(const Onnx__TensorProto *tp, ww_tensor *t, void **data, int borrow,
                      ww_error *err)
{
    const char *nm = tp->name ? tp->name : "";
    *data = NULL;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return ww_fail(err, WW_EUNSUPPORTED, "tensor '%s': external data is not supported", nm);
    if (tp->segment)
        return ww_fail(err, WW_EUNSUPPORTED, "tensor '%s': segments not supported", nm);
    int dt = tp->has_data_type ? tp->data_type : 0;
    if (ww_dtype_size(dt) == 0)
        return ww_fail(err, WW_EUNSUPPORTED, "tensor '%s': data type %s not supported", nm,
                       ww_dtype_name(dt));
    if (tp->n_dims > WW_MAX_DIMS)
        return ww_fail(err, WW_EUNSUPPORTED, "tensor '%s': rank %zu (max %d)", nm, tp->n_dims,
                       WW_MAX_DIMS);
    int64_t count = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0 || tp->dims[i] > WW_MAX_DIM)
            return ww_fail(err, WW_EFORMAT, "tensor '%s': dimension %zu is %lld", nm, i,
                           (long long)tp->dims[i]);
        count *= tp->dims[i];
        if (count > WW_MAX_TENSOR_ELEMS)
            return ww_fail(err, WW_ENOMEM, "tensor '%s': more than %lld elements", nm,
                           (long long)WW_MAX_TENSOR_ELEMS);
    }
    t->dtype = (ww_dtype)dt;
    t->ndim = (int)tp->n_dims;
    for (int i = 0; i < t->ndim; i++) t->dims[i] = tp->dims[i];
    t->count = (size_t)count;
    size_t bytes = t->count * ww_dtype_size(dt);
    if (borrow) {
        if (tp->raw_data.len != bytes)
            return ww_fail(err, WW_EFORMAT, "tensor '%s': raw_data has %zu bytes, shape needs %zu",
                           nm, tp->raw_data.len, bytes);
        static uint64_t empty;
        *data = bytes ? (void *)tp->raw_data.data : (void *)&empty;
        return 0;
    }
    void *buf = malloc(bytes ? bytes : 1);
    if (!buf) return ww_fail(err, WW_ENOMEM, "tensor '%s': out of memory", nm);
    if (tp->has_raw_data) {
        if (tp->raw_data.len != bytes) {
            free(buf);
            return ww_fail(err, WW_EFORMAT, "tensor '%s': raw_data has %zu bytes, shape needs %zu",
                           nm, tp->raw_data.len, bytes);
        }
        if (bytes) memcpy(buf, tp->raw_data.data, bytes);
    } else {
        int rc = convert_typed(tp, t, buf, err);
        if (rc) {
            free(buf);
            return rc;
        }
    }
    *data = buf;
    return 0;
}
