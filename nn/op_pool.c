/* Pools: MaxPool and AveragePool (1-D/2-D, pads, strides, dilations for max,
 * ceil_mode, count_include_pad), GlobalAveragePool and GlobalMaxPool. */
#include <float.h>
#include <stdlib.h>

#include "nn/spatial.h"

typedef struct pool_params {
    ww_window w;
    int is_max, count_pad;
    int64_t planes; /* N * C */
} pool_params;

static int pool_prepare(ww_graph *g, ww_node *n, int is_max, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (!rc) rc = ww_node_require_f32(g, n, 0, err);
    if (rc) return rc;
    if (n->n_out > 1 && n->out[1] >= 0 && g->t[n->out[1]].name[0])
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "the Indices output is not supported");
    ww_tensor *x = ww_in(g, n, 0);
    pool_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    rc = ww_window_resolve(g, n, x, NULL, 1, &p->w, err);
    if (rc) return rc;
    if (!is_max && ww_attr(n, "dilations")) {
        for (int i = 0; i < p->w.nsp; i++)
            if (p->w.d[i] != 1) return ww_node_fail(err, n, WW_EUNSUPPORTED, "dilated AveragePool");
    }
    if (is_max && ww_attr_int(n, "storage_order", 0) != 0 && n->n_out > 1)
        return ww_node_fail(err, n, WW_EUNSUPPORTED, "storage_order 1");
    p->is_max = is_max;
    p->count_pad = (int)ww_attr_int(n, "count_include_pad", 0);
    p->planes = x->dims[0] * x->dims[1];
    int64_t dims[4] = {x->dims[0], x->dims[1], p->w.out[0], p->w.out[1]};
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, x->ndim, dims, n, err);
}

static int pool_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const pool_params *p = n->params;
    const ww_window *w = &p->w;
    int two = w->nsp == 2;
    int64_t H = two ? w->in[0] : 1, W = w->in[two];
    int64_t OH = two ? w->out[0] : 1, OW = w->out[two];
    int64_t kh = two ? w->k[0] : 1, kw = w->k[two], sh = two ? w->s[0] : 1, sw = w->s[two];
    int64_t dh = two ? w->d[0] : 1, dw = w->d[two], ph = two ? w->pb[0] : 0, pw = w->pb[two];
    int64_t peh = two ? w->pe[0] : 0, pew = w->pe[two];
    const float *x = ww_in(g, n, 0)->data;
    float *y = ww_out(g, n, 0)->data;
    for (int64_t c = 0; c < p->planes; c++) {
        const float *xp = x + c * H * W;
        float *yp = y + c * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t h0 = oh * sh - ph;
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t w0 = ow * sw - pw;
                if (p->is_max) {
                    /* the taps inside the input, so the loop needs no checks */
                    int64_t i0 = h0 < 0 ? (-h0 + dh - 1) / dh : 0;
                    int64_t i1 = (H - h0 + dh - 1) / dh;
                    int64_t j0 = w0 < 0 ? (-w0 + dw - 1) / dw : 0;
                    int64_t j1 = (W - w0 + dw - 1) / dw;
                    if (i1 > kh) i1 = kh;
                    if (j1 > kw) j1 = kw;
                    float m = -FLT_MAX;
                    for (int64_t i = i0; i < i1; i++) {
                        const float *row = xp + (h0 + i * dh) * W + w0;
                        for (int64_t j = j0; j < j1; j++) {
                            float v = row[j * dw];
                            m = v > m ? v : m;
                        }
                    }
                    yp[oh * OW + ow] = m;
                } else {
                    float sum = 0;
                    int64_t cnt = 0;
                    for (int64_t i = 0; i < kh; i++) {
                        int64_t h = h0 + i;
                        if (h < 0 || h >= H) continue;
                        for (int64_t j = 0; j < kw; j++) {
                            int64_t ww = w0 + j;
                            if (ww < 0 || ww >= W) continue;
                            sum += xp[h * W + ww];
                            cnt++;
                        }
                    }
                    if (p->count_pad) {
                        /* the window clipped to the padded input */
                        int64_t he = h0 + kh < H + peh ? h0 + kh : H + peh;
                        int64_t we = w0 + kw < W + pew ? w0 + kw : W + pew;
                        cnt = (he - h0) * (we - w0);
                    }
                    yp[oh * OW + ow] = cnt ? sum / (float)cnt : 0.0f;
                }
            }
        }
    }
    return 0;
}

static void free_params(ww_node *n)
{
    free(n->params);
    n->params = NULL;
}

static int maxpool_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    return pool_prepare(g, n, 1, err);
}
static int avgpool_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    return pool_prepare(g, n, 0, err);
}
const ww_op ww_op_maxpool = {"MaxPool", maxpool_prepare, pool_run, NULL, free_params, 0};
const ww_op ww_op_avgpool = {"AveragePool", avgpool_prepare, pool_run, NULL, free_params, 0};

/* ---- global pools over every axis after N, C ---- */
static int global_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 1, 1, 1, err);
    if (!rc) rc = ww_node_require_f32(g, n, 0, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    if (x->ndim < 3)
        return ww_node_fail(err, n, WW_EFORMAT, "input '%s' must have rank >= 3", x->name);
    int64_t dims[WW_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, x->ndim, dims, n, err);
}

static int global_run(ww_graph *g, ww_node *n, int is_max)
{
    ww_tensor *x = ww_in(g, n, 0), *y = ww_out(g, n, 0);
    size_t planes = y->count, per = planes ? x->count / planes : 0;
    const float *in = x->data;
    float *out = y->data;
    for (size_t c = 0; c < planes; c++) {
        const float *xp = in + c * per;
        if (is_max) {
            float m = per ? xp[0] : 0.0f;
            for (size_t i = 1; i < per; i++) m = xp[i] > m ? xp[i] : m;
            out[c] = m;
        } else {
            float acc[8] = {0};
            size_t i = 0;
            for (; i + 8 <= per; i += 8)
                for (int k = 0; k < 8; k++) acc[k] += xp[i + k];
            float s = 0;
            for (; i < per; i++) s += xp[i];
            for (int k = 0; k < 8; k++) s += acc[k];
            out[c] = per ? s / (float)per : 0.0f;
        }
    }
    return 0;
}
static int gap_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    return global_run(g, n, 0);
}
static int gmp_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    return global_run(g, n, 1);
}
const ww_op ww_op_gap = {"GlobalAveragePool", global_prepare, gap_run, NULL, NULL, 0};
const ww_op ww_op_gmp = {"GlobalMaxPool", global_prepare, gmp_run, NULL, NULL, 0};
