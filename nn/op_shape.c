/* Operators that move or describe data without arithmetic: Identity,
 * Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, Reshape, Flatten,
 * Cast, Transpose. Exported heads chain Shape/Gather/Unsqueeze/Concat into a Reshape;
 * with concrete input shapes all of that folds to constants at compile. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

static int run_copy(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    ww_tensor *x = ww_in(g, n, 0), *y = ww_out(g, n, 0);
    if (x->data != y->data) memcpy(y->data, x->data, x->count * ww_dtype_size(x->dtype));
    return 0;
}

/* ---- Identity ---- */
static int identity_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    return ww_tensor_set_shape(ww_out(g, n, 0), x->dtype, x->ndim, x->dims, n, err);
}
const ww_op ww_op_identity = {"Identity", identity_prepare, run_copy, NULL, NULL, 0};

/* ---- Constant ---- */
static int constant_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 0, 0, 1, 1, err);
    if (rc) return rc;
    ww_tensor *y = ww_out(g, n, 0);
    const Onnx__AttributeProto *a;
    if ((a = ww_attr(n, "value")) && a->t) {
        void *data;
        rc = ww_tensor_from_proto(a->t, y, &data, err);
        if (rc) return ww_error_prefix(err, rc, n->name);
        y->owned = y->data = data;
        y->is_const = 1;
    } else if ((a = ww_attr(n, "value_float"))) {
        rc = ww_tensor_set_shape(y, WW_DT_F32, 0, NULL, n, err);
        if (!rc) rc = ww_tensor_alloc_const(y, err);
        if (rc) return rc;
        ((float *)y->data)[0] = a->f;
    } else if ((a = ww_attr(n, "value_int"))) {
        rc = ww_tensor_set_shape(y, WW_DT_I64, 0, NULL, n, err);
        if (!rc) rc = ww_tensor_alloc_const(y, err);
        if (rc) return rc;
        ((int64_t *)y->data)[0] = a->i;
    } else if ((a = ww_attr(n, "value_floats"))) {
        int64_t d = (int64_t)a->n_floats;
        rc = ww_tensor_set_shape(y, WW_DT_F32, 1, &d, n, err);
        if (!rc) rc = ww_tensor_alloc_const(y, err);
        if (rc) return rc;
        if (d) memcpy(y->data, a->floats, (size_t)d * 4);
    } else if ((a = ww_attr(n, "value_ints"))) {
        int64_t d = (int64_t)a->n_ints;
        rc = ww_tensor_set_shape(y, WW_DT_I64, 1, &d, n, err);
        if (!rc) rc = ww_tensor_alloc_const(y, err);
        if (rc) return rc;
        if (d) memcpy(y->data, a->ints, (size_t)d * 8);
    } else {
        return ww_node_fail(err, n, WW_EUNSUPPORTED,
                            "needs a value, value_float(s) or value_int(s) attribute");
    }
    n->dead = 1;
    return 0;
}
static int constant_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)g;
    (void)n;
    (void)err;
    return 0;
}
const ww_op ww_op_constant = {"Constant", constant_prepare, constant_run, NULL, NULL, 0};

/* ---- Shape: known at compile time, always a constant ---- */
static int shape_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0), *y = ww_out(g, n, 0);
    int64_t r = x->ndim, start = ww_attr_int(n, "start", 0), end = ww_attr_int(n, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    if (start < 0) start = 0;
    if (end > r) end = r;
    int64_t len = end > start ? end - start : 0;
    int64_t dims[WW_MAX_DIMS];
    for (int64_t i = 0; i < len; i++) dims[i] = x->dims[start + i];
    rc = ww_tensor_set_shape(y, WW_DT_I64, 1, &len, n, err);
    if (!rc) rc = ww_tensor_alloc_const(y, err);
    if (rc) return rc;
    if (len) memcpy(y->data, dims, (size_t)len * 8);
    n->dead = 1;
    return 0;
}
const ww_op ww_op_shape = {"Shape", shape_prepare, constant_run, NULL, NULL, 0};

/* ---- Gather ---- */
typedef struct gather_params {
    int axis;
} gather_params;

static int gather_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 2, 2, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0), *idx = ww_in(g, n, 1);
    if (idx->dtype != WW_DT_I64 && idx->dtype != WW_DT_I32)
        return ww_node_fail(err, n, WW_EFORMAT, "indices must be int32 or int64, not %s",
                            ww_dtype_name(idx->dtype));
    if (x->ndim < 1) return ww_node_fail(err, n, WW_EFORMAT, "data must have rank >= 1");
    int axis;
    rc = ww_node_axis(n, ww_attr_int(n, "axis", 0), x->ndim, &axis, err);
    if (rc) return rc;
    if (x->ndim - 1 + idx->ndim > WW_MAX_DIMS)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "output rank too high");
    int64_t dims[WW_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < axis; i++) dims[k++] = x->dims[i];
    for (int i = 0; i < idx->ndim; i++) dims[k++] = idx->dims[i];
    for (int i = axis + 1; i < x->ndim; i++) dims[k++] = x->dims[i];
    gather_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    p->axis = axis;
    n->params = p;
    return ww_tensor_set_shape(ww_out(g, n, 0), x->dtype, k, dims, n, err);
}

static int gather_run(ww_graph *g, ww_node *n, ww_error *err)
{
    const gather_params *p = n->params;
    ww_tensor *x = ww_in(g, n, 0), *idx = ww_in(g, n, 1), *y = ww_out(g, n, 0);
    size_t es = ww_dtype_size(x->dtype), outer = 1, inner = 1;
    for (int i = 0; i < p->axis; i++) outer *= (size_t)x->dims[i];
    for (int i = p->axis + 1; i < x->ndim; i++) inner *= (size_t)x->dims[i];
    int64_t len = x->dims[p->axis];
    size_t ni = idx->count, block = inner * es;
    const char *src = x->data;
    char *dst = y->data;
    for (size_t j = 0; j < ni; j++) {
        int64_t k = ww_tensor_i64_at(idx, j);
        if (k < -len || k >= len)
            return ww_node_fail(err, n, WW_EINVAL, "index %lld out of range [-%lld, %lld)",
                                (long long)k, (long long)len, (long long)len);
    }
    for (size_t o = 0; o < outer; o++)
        for (size_t j = 0; j < ni; j++) {
            int64_t k = ww_tensor_i64_at(idx, j);
            if (k < 0) k += len;
            memcpy(dst + (o * ni + j) * block, src + (o * (size_t)len + (size_t)k) * block, block);
        }
    return 0;
}
static void free_params(ww_node *n)
{
    free(n->params);
    n->params = NULL;
}
const ww_op ww_op_gather = {"Gather", gather_prepare, gather_run, NULL, free_params, 0};

/* axes from the attribute (opset < 13) or the constant second input */
static int read_axes(ww_graph *g, ww_node *n, int64_t *axes, int *count, ww_error *err)
{
    *count = -1;
    ww_tensor *a = ww_in(g, n, 1);
    if (a) {
        if (!a->is_const)
            return ww_node_fail(err, n, WW_EUNSUPPORTED, "axes input '%s' must be a constant",
                                a->name);
        if (a->count > WW_MAX_DIMS) return ww_node_fail(err, n, WW_EFORMAT, "too many axes");
        for (size_t i = 0; i < a->count; i++) axes[i] = ww_tensor_i64_at(a, i);
        *count = (int)a->count;
        return 0;
    }
    int c = ww_attr_ints(n, "axes", axes, WW_MAX_DIMS);
    if (c > WW_MAX_DIMS) return ww_node_fail(err, n, WW_EFORMAT, "too many axes");
    *count = c;
    return 0;
}

/* ---- Unsqueeze ---- */
static int unsqueeze_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 2, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    int64_t axes[WW_MAX_DIMS];
    int na;
    rc = read_axes(g, n, axes, &na, err);
    if (rc) return rc;
    if (na < 0) return ww_node_fail(err, n, WW_EFORMAT, "axes are required");
    int r = x->ndim + na;
    if (r > WW_MAX_DIMS) return ww_node_fail(err, n, WW_EUNSUPPORTED, "output rank too high");
    int mark[WW_MAX_DIMS] = {0};
    for (int i = 0; i < na; i++) {
        int a;
        rc = ww_node_axis(n, axes[i], r, &a, err);
        if (rc) return rc;
        if (mark[a]) return ww_node_fail(err, n, WW_EFORMAT, "axis %d repeated", a);
        mark[a] = 1;
    }
    int64_t dims[WW_MAX_DIMS];
    for (int i = 0, k = 0; i < r; i++) dims[i] = mark[i] ? 1 : x->dims[k++];
    return ww_tensor_set_shape(ww_out(g, n, 0), x->dtype, r, dims, n, err);
}
const ww_op ww_op_unsqueeze = {"Unsqueeze", unsqueeze_prepare, run_copy, NULL, NULL, 0};

/* ---- Squeeze ---- */
static int squeeze_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 2, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    int64_t axes[WW_MAX_DIMS];
    int na;
    rc = read_axes(g, n, axes, &na, err);
    if (rc) return rc;
    int mark[WW_MAX_DIMS] = {0};
    if (na < 0) {
        for (int i = 0; i < x->ndim; i++) mark[i] = x->dims[i] == 1;
    } else {
        for (int i = 0; i < na; i++) {
            int a;
            rc = ww_node_axis(n, axes[i], x->ndim, &a, err);
            if (rc) return rc;
            if (x->dims[a] != 1)
                return ww_node_fail(err, n, WW_EFORMAT, "cannot squeeze axis %d of size %lld", a,
                                    (long long)x->dims[a]);
            mark[a] = 1;
        }
    }
    int64_t dims[WW_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!mark[i]) dims[k++] = x->dims[i];
    return ww_tensor_set_shape(ww_out(g, n, 0), x->dtype, k, dims, n, err);
}
const ww_op ww_op_squeeze = {"Squeeze", squeeze_prepare, run_copy, NULL, NULL, 0};

/* ---- Flatten ---- */
static int flatten_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    int64_t axis = ww_attr_int(n, "axis", 1);
    if (axis < -x->ndim || axis > x->ndim)
        return ww_node_fail(err, n, WW_EFORMAT, "axis %lld out of range for rank %d",
                            (long long)axis, x->ndim);
    if (axis < 0) axis += x->ndim;
    int64_t dims[2] = {1, 1};
    for (int i = 0; i < x->ndim; i++) dims[i < axis ? 0 : 1] *= x->dims[i];
    return ww_tensor_set_shape(ww_out(g, n, 0), x->dtype, 2, dims, n, err);
}
const ww_op ww_op_flatten = {"Flatten", flatten_prepare, run_copy, NULL, NULL, 0};

/* ---- Reshape ---- */
static int reshape_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 2, 2, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0), *s = ww_in(g, n, 1);
    if (!s->is_const)
        return ww_node_fail(err, n, WW_EUNSUPPORTED,
                            "shape input '%s' is computed at run time (only constant shapes)",
                            s->name);
    if (s->dtype != WW_DT_I64 || s->ndim != 1)
        return ww_node_fail(err, n, WW_EFORMAT, "shape must be a 1-D int64 tensor");
    if (s->count > WW_MAX_DIMS)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "target rank %zu too high", s->count);
    int allowzero = (int)ww_attr_int(n, "allowzero", 0);
    int64_t dims[WW_MAX_DIMS], known = 1;
    int infer = -1, r = (int)s->count;
    for (int i = 0; i < r; i++) {
        int64_t d = ((int64_t *)s->data)[i];
        if (d == 0 && !allowzero) {
            if (i >= x->ndim)
                return ww_node_fail(err, n, WW_EFORMAT, "0 at axis %d beyond input rank", i);
            d = x->dims[i];
        }
        if (d == -1) {
            if (infer >= 0) return ww_node_fail(err, n, WW_EFORMAT, "more than one -1 in shape");
            infer = i;
            d = 1;
        } else if (d < 0) {
            return ww_node_fail(err, n, WW_EFORMAT, "negative dimension %lld in shape",
                                (long long)d);
        } else {
            known *= d;
            if (known > WW_MAX_TENSOR_ELEMS)
                return ww_node_fail(err, n, WW_EFORMAT, "shape has too many elements");
        }
        dims[i] = d;
    }
    if (infer >= 0) {
        if (known == 0 || (int64_t)x->count % known)
            return ww_node_fail(err, n, WW_EFORMAT, "cannot reshape %zu elements with a -1",
                                x->count);
        dims[infer] = (int64_t)x->count / known;
        known *= dims[infer];
    }
    if ((size_t)known != x->count)
        return ww_node_fail(err, n, WW_EFORMAT, "cannot reshape %zu elements into %lld", x->count,
                            (long long)known);
    return ww_tensor_set_shape(ww_out(g, n, 0), x->dtype, r, dims, n, err);
}
const ww_op ww_op_reshape = {"Reshape", reshape_prepare, run_copy, NULL, NULL, 0};

/* ---- Concat ---- */
typedef struct concat_params {
    int axis;
} concat_params;

static int concat_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 4096, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x0 = ww_in(g, n, 0);
    int axis;
    rc = ww_node_axis(n, ww_attr_int(n, "axis", 0), x0->ndim, &axis, err);
    if (rc) return rc;
    if (x0->ndim == 0) return ww_node_fail(err, n, WW_EFORMAT, "inputs must have rank >= 1");
    int64_t dims[WW_MAX_DIMS];
    memcpy(dims, x0->dims, sizeof dims);
    dims[axis] = 0;
    for (int i = 0; i < n->n_in; i++) {
        ww_tensor *x = ww_in(g, n, i);
        if (!x) return ww_node_fail(err, n, WW_EFORMAT, "input %d is empty", i);
        if (x->dtype != x0->dtype || x->ndim != x0->ndim)
            return ww_node_fail(err, n, WW_EFORMAT, "input '%s' differs in type or rank", x->name);
        for (int d = 0; d < x->ndim; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return ww_node_fail(err, n, WW_EFORMAT, "input '%s' differs in dimension %d",
                                    x->name, d);
        dims[axis] += x->dims[axis];
    }
    concat_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    p->axis = axis;
    n->params = p;
    return ww_tensor_set_shape(ww_out(g, n, 0), x0->dtype, x0->ndim, dims, n, err);
}

static int concat_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const concat_params *p = n->params;
    ww_tensor *y = ww_out(g, n, 0);
    size_t es = ww_dtype_size(y->dtype), outer = 1, inner = 1;
    for (int i = 0; i < p->axis; i++) outer *= (size_t)y->dims[i];
    for (int i = p->axis + 1; i < y->ndim; i++) inner *= (size_t)y->dims[i];
    size_t row = (size_t)y->dims[p->axis] * inner * es, at = 0;
    for (int i = 0; i < n->n_in; i++) {
        ww_tensor *x = ww_in(g, n, i);
        size_t chunk = (size_t)x->dims[p->axis] * inner * es;
        for (size_t o = 0; o < outer; o++)
            memcpy((char *)y->data + o * row + at, (const char *)x->data + o * chunk, chunk);
        at += chunk;
    }
    return 0;
}
const ww_op ww_op_concat = {"Concat", concat_prepare, concat_run, NULL, free_params, 0};

/* ---- Cast ---- */
static int castable(int dt)
{
    return dt == WW_DT_F32 || dt == WW_DT_F64 || dt == WW_DT_I64 || dt == WW_DT_I32 ||
           dt == WW_DT_I8 || dt == WW_DT_U8 || dt == WW_DT_BOOL;
}

static int cast_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    int64_t to = ww_attr_int(n, "to", 0);
    if (!castable((int)to) || !castable(x->dtype))
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "cast from %s to %s is not supported",
                            ww_dtype_name(x->dtype), ww_dtype_name((int)to));
    return ww_tensor_set_shape(ww_out(g, n, 0), (ww_dtype)to, x->ndim, x->dims, n, err);
}

static double load_d(const void *p, int dt, size_t i)
{
    switch (dt) {
    case WW_DT_F32:
        return ((const float *)p)[i];
    case WW_DT_F64:
        return ((const double *)p)[i];
    case WW_DT_I64:
        return (double)((const int64_t *)p)[i];
    case WW_DT_I32:
        return ((const int32_t *)p)[i];
    case WW_DT_I8:
        return ((const int8_t *)p)[i];
    default:
        return ((const uint8_t *)p)[i];
    }
}

static int cast_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    ww_tensor *x = ww_in(g, n, 0), *y = ww_out(g, n, 0);
    int from = x->dtype, to = y->dtype;
    for (size_t i = 0; i < x->count; i++) {
        /* integers go through int64 so large values stay exact */
        int is_int = from == WW_DT_I64 || from == WW_DT_I32 || from == WW_DT_I8 ||
                     from == WW_DT_U8 || from == WW_DT_BOOL;
        int64_t iv = is_int ? ww_tensor_i64_at(x, i) : 0;
        double v = is_int ? (double)iv : load_d(x->data, from, i);
        if (!is_int && to != WW_DT_F32 && to != WW_DT_F64 && to != WW_DT_BOOL) {
            iv = isfinite(v) && fabs(v) < 9.2e18 ? (int64_t)v : 0;
        }
        switch (to) {
        case WW_DT_F32:
            ((float *)y->data)[i] = (float)v;
            break;
        case WW_DT_F64:
            ((double *)y->data)[i] = v;
            break;
        case WW_DT_I64:
            ((int64_t *)y->data)[i] = iv;
            break;
        case WW_DT_I32:
            ((int32_t *)y->data)[i] = (int32_t)iv;
            break;
        case WW_DT_I8:
            ((int8_t *)y->data)[i] = (int8_t)iv;
            break;
        case WW_DT_U8:
            ((uint8_t *)y->data)[i] = (uint8_t)iv;
            break;
        case WW_DT_BOOL:
            ((uint8_t *)y->data)[i] = is_int ? iv != 0 : v != 0;
            break;
        default:
            break;
        }
    }
    return 0;
}
const ww_op ww_op_cast = {"Cast", cast_prepare, cast_run, NULL, NULL, 0};

/* ---- Transpose (older exporters write Linear as Transpose + MatMul) ---- */
typedef struct transpose_params {
    int perm[WW_MAX_DIMS];
} transpose_params;

static int transpose_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    int64_t perm[WW_MAX_DIMS];
    int np = ww_attr_ints(n, "perm", perm, WW_MAX_DIMS);
    if (np < 0) {
        np = x->ndim;
        for (int i = 0; i < np; i++) perm[i] = np - 1 - i;
    }
    if (np != x->ndim)
        return ww_node_fail(err, n, WW_EFORMAT, "perm has %d values for rank %d", np, x->ndim);
    transpose_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    int seen[WW_MAX_DIMS] = {0};
    int64_t dims[WW_MAX_DIMS];
    for (int i = 0; i < np; i++) {
        if (perm[i] < 0 || perm[i] >= np || seen[perm[i]])
            return ww_node_fail(err, n, WW_EFORMAT, "perm is not a permutation of 0..%d", np - 1);
        seen[perm[i]] = 1;
        p->perm[i] = (int)perm[i];
        dims[i] = x->dims[perm[i]];
    }
    return ww_tensor_set_shape(ww_out(g, n, 0), x->dtype, np, dims, n, err);
}

static int transpose_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const transpose_params *p = n->params;
    ww_tensor *x = ww_in(g, n, 0), *y = ww_out(g, n, 0);
    int r = y->ndim;
    size_t es = ww_dtype_size(x->dtype);
    if (y->count == 0) return 0;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return 0;
    }
    /* input strides seen in output axis order; walk the output in order */
    int64_t xs[WW_MAX_DIMS], s = 1, stride[WW_MAX_DIMS], idx[WW_MAX_DIMS] = {0};
    for (int i = x->ndim - 1; i >= 0; i--) {
        xs[i] = s;
        s *= x->dims[i];
    }
    for (int i = 0; i < r; i++) stride[i] = xs[p->perm[i]];
    const char *src = x->data;
    char *dst = y->data;
    int64_t off = 0, inner = y->dims[r - 1], is = stride[r - 1];
    for (size_t o = 0; o < y->count; o += (size_t)inner) {
        for (int64_t k = 0; k < inner; k++)
            memcpy(dst + (o + (size_t)k) * es, src + (size_t)(off + k * is) * es, es);
        for (int d = r - 2; d >= 0; d--) {
            idx[d]++;
            off += stride[d];
            if (idx[d] < y->dims[d]) break;
            off -= stride[d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}
const ww_op ww_op_transpose = {"Transpose", transpose_prepare, transpose_run, NULL, free_params, 0};
