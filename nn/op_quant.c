/* QuantizeLinear and DequantizeLinear, per tensor or per axis, uint8/int8
 * (and int32 for dequantized biases), so a QDQ graph runs float-simulated:
 * q = saturate(round_half_even(x / scale) + zero_point), x = (q - zp) * scale. */
#include <math.h>
#include <stdlib.h>

#include "nn/graph.h"

typedef struct q_params {
    size_t outer, ch, inner; /* layout around the quantization axis */
} q_params;

static void free_params(ww_node *n)
{
    free(n->params);
    n->params = NULL;
}

/* Checks scale/zero-point shapes: scalar (or one value) per tensor, or 1-D
 * along axis. */
static int q_layout(ww_graph *g, ww_node *n, const ww_tensor *x, ww_error *err)
{
    ww_tensor *s = ww_in(g, n, 1), *z = ww_in(g, n, 2);
    if (s->dtype != WW_DT_F32)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "scale '%s' must be float32", s->name);
    q_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    p->outer = 1;
    p->ch = 1;
    p->inner = x->count;
    if (s->ndim > 1) return ww_node_fail(err, n, WW_EFORMAT, "scale must be a scalar or 1-D");
    if (z && z->count != s->count)
        return ww_node_fail(err, n, WW_EFORMAT, "zero point and scale differ in size");
    if (s->ndim == 1 && s->count != 1) {
        int axis;
        int rc = ww_node_axis(n, ww_attr_int(n, "axis", 1), x->ndim, &axis, err);
        if (rc) return rc;
        if ((int64_t)s->count != x->dims[axis])
            return ww_node_fail(err, n, WW_EFORMAT, "scale has %zu values, axis %d has %lld",
                                s->count, axis, (long long)x->dims[axis]);
        p->ch = s->count;
        p->outer = p->inner = 1;
        for (int i = 0; i < axis; i++) p->outer *= (size_t)x->dims[i];
        for (int i = axis + 1; i < x->ndim; i++) p->inner *= (size_t)x->dims[i];
    }
    return 0;
}

static int quantize_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 2, 3, 1, 1, err);
    if (!rc) rc = ww_node_require_f32(g, n, 0, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0), *z = ww_in(g, n, 2);
    ww_dtype dt = z ? z->dtype : WW_DT_U8;
    if (dt != WW_DT_U8 && dt != WW_DT_I8)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "zero point type %s (uint8/int8 only)",
                            ww_dtype_name(dt));
    rc = q_layout(g, n, x, err);
    if (rc) return rc;
    return ww_tensor_set_shape(ww_out(g, n, 0), dt, x->ndim, x->dims, n, err);
}

static int quantize_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const q_params *p = n->params;
    ww_tensor *x = ww_in(g, n, 0), *s = ww_in(g, n, 1), *z = ww_in(g, n, 2), *y = ww_out(g, n, 0);
    const float *in = x->data, *scale = s->data;
    int is_u8 = y->dtype == WW_DT_U8;
    float lo = is_u8 ? 0.0f : -128.0f, hi = is_u8 ? 255.0f : 127.0f;
    size_t i = 0;
    for (size_t o = 0; o < p->outer; o++)
        for (size_t c = 0; c < p->ch; c++) {
            float sc = scale[c];
            float zp = z ? (float)ww_tensor_i64_at(z, c) : 0.0f;
            for (size_t k = 0; k < p->inner; k++, i++) {
                /* nearbyintf rounds half to even in the default FP mode; NaN
                 * (a NaN input, or 0/0 with a zero scale) gives the zero
                 * point, as the int8 kernels do (nn/kernels/requant.h) */
                float f = in[i] / sc;
                float q = isnan(f) ? zp : nearbyintf(f) + zp;
                q = q < lo ? lo : q > hi ? hi : q;
                if (is_u8)
                    ((uint8_t *)y->data)[i] = (uint8_t)q;
                else
                    ((int8_t *)y->data)[i] = (int8_t)q;
            }
        }
    return 0;
}
const ww_op ww_op_quantize = {
    "QuantizeLinear", quantize_prepare, quantize_run, NULL, free_params, 0};

static int dequantize_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 2, 3, 1, 1, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0), *z = ww_in(g, n, 2);
    if (x->dtype != WW_DT_U8 && x->dtype != WW_DT_I8 && x->dtype != WW_DT_I32)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "input type %s (uint8/int8/int32 only)",
                            ww_dtype_name(x->dtype));
    if (z && z->dtype != x->dtype)
        return ww_node_fail(err, n, WW_EFORMAT, "zero point type differs from the input's");
    rc = q_layout(g, n, x, err);
    if (rc) return rc;
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, x->ndim, x->dims, n, err);
}

static int dequantize_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const q_params *p = n->params;
    ww_tensor *x = ww_in(g, n, 0), *s = ww_in(g, n, 1), *z = ww_in(g, n, 2), *y = ww_out(g, n, 0);
    const float *scale = s->data;
    float *out = y->data;
    size_t i = 0;
    for (size_t o = 0; o < p->outer; o++)
        for (size_t c = 0; c < p->ch; c++) {
            float sc = scale[c];
            int64_t zp = z ? ww_tensor_i64_at(z, c) : 0;
            if (x->dtype == WW_DT_I8) { /* weights: millions of them at load */
                const int8_t *q = x->data;
                for (size_t k = 0; k < p->inner; k++, i++) out[i] = (float)(q[i] - zp) * sc;
                continue;
            }
            if (x->dtype == WW_DT_U8) { /* activations: a plain loop, no per-element call */
                const uint8_t *q = x->data;
                const int32_t z32 = (int32_t)zp;
                for (size_t k = 0; k < p->inner; k++, i++) out[i] = (float)(q[i] - z32) * sc;
                continue;
            }
            for (size_t k = 0; k < p->inner; k++, i++)
                out[i] = (float)(ww_tensor_i64_at(x, i) - zp) * sc;
        }
    return 0;
}
const ww_op ww_op_dequantize = {
    "DequantizeLinear", dequantize_prepare, dequantize_run, NULL, free_params, 0};
