/* Conv (1-D and 2-D, groups, dilations, auto_pad) on the kernels of
 * nn/kernels/conv2d_f32.h. Constant weights are packed once at compile; a
 * weight computed at run time (as in ONNX's own tests) goes through the
 * reference kernel. Fusion passes may add a residual input and an activation. */
#include <stdlib.h>
#include <string.h>

#include "nn/qdq.h"
#include "nn/spatial.h"

typedef struct conv_params {
    ww_conv2d_shape s;
    float *packed; /* NULL: weights are not constant, use the reference */
} conv_params;

static int conv_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 2, 3, 1, 1, err);
    for (int i = 0; i < 3 && !rc; i++) rc = ww_node_require_f32(g, n, i, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0), *w = ww_in(g, n, 1), *b = ww_in(g, n, 2);
    if (w->ndim != x->ndim)
        return ww_node_fail(err, n, WW_EFORMAT, "weight '%s' has rank %d, input has %d", w->name,
                            w->ndim, x->ndim);
    ww_window win;
    rc = ww_window_resolve(g, n, x, w->dims + 2, 0, &win, err);
    if (rc) return rc;
    int64_t group = ww_attr_int(n, "group", 1);
    int64_t cin = x->dims[1], cout = w->dims[0];
    if (group < 1 || cin % group || cout % group || w->dims[1] * group != cin)
        return ww_node_fail(
            err, n, WW_EFORMAT,
            "weight '%s' [%lld, %lld, ...] does not fit %lld input channels in %lld "
            "groups",
            w->name, (long long)cout, (long long)w->dims[1], (long long)cin, (long long)group);
    if (b && (b->ndim != 1 || b->dims[0] != cout))
        return ww_node_fail(err, n, WW_EFORMAT, "bias '%s' must have %lld values", b->name,
                            (long long)cout);
    conv_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    ww_conv2d_shape *s = &p->s;
    int two = win.nsp == 2;
    s->n = (int)x->dims[0];
    s->c_in = (int)cin;
    s->c_out = (int)cout;
    s->groups = (int)group;
    s->h_in = two ? (int)win.in[0] : 1;
    s->w_in = (int)win.in[two];
    s->h_out = two ? (int)win.out[0] : 1;
    s->w_out = (int)win.out[two];
    s->k_h = two ? (int)win.k[0] : 1;
    s->k_w = (int)win.k[two];
    s->stride_h = two ? (int)win.s[0] : 1;
    s->stride_w = (int)win.s[two];
    s->dil_h = two ? (int)win.d[0] : 1;
    s->dil_w = (int)win.d[two];
    s->pad_top = two ? (int)win.pb[0] : 0;
    s->pad_left = (int)win.pb[two];
    int64_t dims[4] = {x->dims[0], cout, win.out[0], win.out[1]};
    n->macs = (uint64_t)s->n * (uint64_t)cout * (uint64_t)s->h_out * (uint64_t)s->w_out *
              (uint64_t)(cin / group) * (uint64_t)s->k_h * (uint64_t)s->k_w;
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, x->ndim, dims, n, err);
}

static int conv_finalize(ww_graph *g, ww_node *n, ww_error *err)
{
    conv_params *p = n->params;
    ww_tensor *w = ww_in(g, n, 1);
    if (!w->is_const) return 0;
    size_t floats = ww_conv2d_f32_packed_size(&p->s);
    free(p->packed);
    p->packed = aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64 + 64);
    if (!p->packed) return ww_node_fail(err, n, WW_ENOMEM, "out of memory packing weights");
    ww_conv2d_f32_pack(&p->s, w->data, p->packed);
    n->scratch_bytes = ww_conv2d_f32_scratch_size(&p->s) * sizeof(float);
    return 0;
}

static int conv_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    conv_params *p = n->params;
    ww_tensor *x = ww_in(g, n, 0), *w = ww_in(g, n, 1), *b = ww_in(g, n, 2);
    const float *bias = b ? b->data : NULL;
    const float *res = n->residual >= 0 ? g->t[n->residual].data : NULL;
    float *y = ww_out(g, n, 0)->data;
    if (p->packed)
        ww_conv2d_f32(&p->s, x->data, p->packed, bias, res, n->act, y, g->scratch);
    else
        ww_conv2d_f32_reference(&p->s, x->data, w->data, bias, res, n->act, y);
    return 0;
}

static void conv_release(ww_node *n)
{
    conv_params *p = n->params;
    if (p) free(p->packed);
    free(p);
    n->params = NULL;
}

const ww_op ww_op_conv = {"Conv", conv_prepare, conv_run, conv_finalize, conv_release, 0, 1};

const ww_conv2d_shape *ww_conv_shape(const ww_node *n)
{
    return n->params ? &((const conv_params *)n->params)->s : NULL;
}
