/* BatchNormalization (inference form; usually folded into the Conv before
 * it), Softmax and LogSoftmax (opset < 13: the input is coerced to 2-D at
 * axis; opset >= 13: along one axis, default -1). */
#include <math.h>
#include <stdlib.h>

#include "nn/graph.h"

static void free_params(ww_node *n)
{
    free(n->params);
    n->params = NULL;
}

static int bn_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 5, 5, 1, 1, err);
    for (int i = 0; i < 5 && !rc; i++) rc = ww_node_require_f32(g, n, i, err);
    if (rc) return rc;
    if (ww_attr_int(n, "training_mode", 0))
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "training_mode is not supported");
    ww_tensor *x = ww_in(g, n, 0);
    if (x->ndim < 2) return ww_node_fail(err, n, WW_EFORMAT, "input must have rank >= 2");
    for (int i = 1; i < 5; i++) {
        ww_tensor *p = ww_in(g, n, i);
        if (p->ndim != 1 || p->dims[0] != x->dims[1])
            return ww_node_fail(err, n, WW_EFORMAT, "'%s' must have %lld values (one per channel)",
                                p->name, (long long)x->dims[1]);
    }
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, x->ndim, x->dims, n, err);
}

static int bn_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    ww_tensor *x = ww_in(g, n, 0), *y = ww_out(g, n, 0);
    const float *scale = ww_in(g, n, 1)->data, *bias = ww_in(g, n, 2)->data;
    const float *mean = ww_in(g, n, 3)->data, *var = ww_in(g, n, 4)->data;
    float eps = ww_attr_float(n, "epsilon", 1e-5f);
    int64_t N = x->dims[0], C = x->dims[1];
    /* an empty batch (N = 0) with channels is a valid shape: nothing to do */
    size_t planes = (size_t)(N * C), inner = planes ? x->count / planes : 0;
    const float *in = x->data;
    float *out = y->data;
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++) {
            float s = scale[c] / sqrtf(var[c] + eps), t = bias[c] - mean[c] * s;
            size_t o = (size_t)(b * C + c) * inner;
            for (size_t i = 0; i < inner; i++) out[o + i] = in[o + i] * s + t;
        }
    return 0;
}
const ww_op ww_op_batchnorm = {"BatchNormalization", bn_prepare, bn_run, NULL, NULL, 0};

typedef struct softmax_params {
    size_t outer, len, inner;
    int log;
} softmax_params;

static int softmax_prepare_kind(ww_graph *g, ww_node *n, int log, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (!rc) rc = ww_node_require_f32(g, n, 0, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    int legacy = g->opset < 13;
    int axis;
    rc = ww_node_axis(n, ww_attr_int(n, "axis", legacy ? 1 : -1), x->ndim, &axis, err);
    if (rc) return rc;
    softmax_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    p->log = log;
    p->outer = p->len = p->inner = 1;
    for (int i = 0; i < x->ndim; i++) {
        size_t d = (size_t)x->dims[i];
        if (i < axis)
            p->outer *= d;
        else if (i == axis || legacy)
            p->len *= d;
        else
            p->inner *= d;
    }
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, x->ndim, x->dims, n, err);
}

static int softmax_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const softmax_params *p = n->params;
    const float *in = ww_in(g, n, 0)->data;
    float *out = ww_out(g, n, 0)->data;
    if (p->len == 0) return 0;
    for (size_t o = 0; o < p->outer; o++)
        for (size_t i = 0; i < p->inner; i++) {
            const float *x = in + o * p->len * p->inner + i;
            float *y = out + o * p->len * p->inner + i;
            float m = x[0];
            for (size_t k = 1; k < p->len; k++) m = x[k * p->inner] > m ? x[k * p->inner] : m;
            double sum = 0;
            for (size_t k = 0; k < p->len; k++) sum += exp((double)(x[k * p->inner] - m));
            for (size_t k = 0; k < p->len; k++) {
                float v = x[k * p->inner] - m;
                y[k * p->inner] = p->log ? v - (float)log(sum) : (float)(exp((double)v) / sum);
            }
        }
    return 0;
}

static int softmax_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    return softmax_prepare_kind(g, n, 0, err);
}
static int logsoftmax_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    return softmax_prepare_kind(g, n, 1, err);
}
const ww_op ww_op_softmax = {"Softmax", softmax_prepare, softmax_run, NULL, free_params, 0};
const ww_op ww_op_logsoftmax = {"LogSoftmax", logsoftmax_prepare, softmax_run,
                                NULL,         free_params,        0};
