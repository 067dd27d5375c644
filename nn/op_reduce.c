/* ReduceMean (float32): the mean over a set of axes, any rank. Before opset
 * 18 the axes are an attribute; from 18 they are an optional second input
 * (constant only: output shapes are fixed at compile) and an empty set means
 * every axis, or none with noop_with_empty_axes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

/* Adjacent axes that are both kept or both reduced are merged into one group
 * and size-1 axes dropped, so run() walks at most WW_MAX_DIMS groups and the
 * usual shapes (one reduced axis last, or first) become one or two loops. */
typedef struct reduce_params {
    int nk, nr; /* outer kept / reduced groups */
    int64_t ksize[WW_MAX_DIMS], kstride[WW_MAX_DIMS];
    int64_t rsize[WW_MAX_DIMS], rstride[WW_MAX_DIMS];
    int last_reduced; /* the innermost group: reduced (sum runs along memory) or kept */
    int64_t last;     /* its length */
    int64_t count;    /* elements per mean */
} reduce_params;

/* *na = -1 when there are no axes (an absent attribute or input). */
static int reduce_axes(ww_graph *g, ww_node *n, int64_t *axes, int *na, ww_error *err)
{
    *na = -1;
    if (g->opset < 18) {
        if (ww_in(g, n, 1))
            return ww_node_fail(err, n, WW_EFORMAT,
                                "axes is an attribute before opset 18, not an input");
        int c = ww_attr_ints(n, "axes", axes, WW_MAX_DIMS);
        if (c > WW_MAX_DIMS)
            return ww_node_fail(err, n, WW_EFORMAT, "%d axes, more than the rank allows", c);
        *na = c;
        return 0;
    }
    if (ww_attr(n, "axes"))
        return ww_node_fail(err, n, WW_EFORMAT,
                            "axes is an input since opset 18, not an attribute");
    ww_tensor *a = ww_in(g, n, 1);
    if (!a) return 0;
    if (!a->is_const)
        return ww_node_fail(err, n, WW_EUNSUPPORTED,
                            "axes input '%s' is computed at run time (only constant axes are "
                            "supported)",
                            a->name);
    if (a->dtype != WW_DT_I64 || a->ndim > 1)
        return ww_node_fail(err, n, WW_EFORMAT, "axes input '%s' must be a 1-D int64 tensor",
                            a->name);
    if (a->count > WW_MAX_DIMS)
        return ww_node_fail(err, n, WW_EFORMAT, "%zu axes, more than the rank allows", a->count);
    for (size_t i = 0; i < a->count; i++) axes[i] = ((const int64_t *)a->data)[i];
    *na = (int)a->count;
    return 0;
}

static int mean_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 1, 2, 1, 1, err);
    if (!rc) rc = ww_node_require_f32(g, n, 0, err);
    if (rc) return rc;
    ww_tensor *x = ww_in(g, n, 0);
    int r = x->ndim, keep = ww_attr_int(n, "keepdims", 1) != 0;
    int64_t axes[WW_MAX_DIMS];
    int na;
    rc = reduce_axes(g, n, axes, &na, err);
    if (rc) return rc;
    int red[WW_MAX_DIMS] = {0};
    if (na <= 0) {
        /* no axes: all of them, or (opset 18) none at all */
        int noop = g->opset >= 18 && ww_attr_int(n, "noop_with_empty_axes", 0);
        for (int i = 0; i < r; i++) red[i] = !noop;
    }
    for (int i = 0; i < na; i++) {
        if (axes[i] < -r || axes[i] >= r)
            return ww_node_fail(err, n, WW_EFORMAT, "axis %lld out of range for rank %d",
                                (long long)axes[i], r);
        int a = (int)(axes[i] < 0 ? axes[i] + r : axes[i]);
        if (red[a]) return ww_node_fail(err, n, WW_EFORMAT, "axis %d repeated", a);
        red[a] = 1;
    }

    reduce_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    int64_t dims[WW_MAX_DIMS], gsize[WW_MAX_DIMS];
    int gred[WW_MAX_DIMS], ng = 0, k = 0;
    p->count = 1;
    for (int i = 0; i < r; i++) {
        if (red[i]) p->count *= x->dims[i];
        if (!red[i] || keep) dims[k++] = red[i] ? 1 : x->dims[i];
        if (x->dims[i] == 1) continue;
        if (ng && gred[ng - 1] == red[i]) {
            gsize[ng - 1] *= x->dims[i];
        } else {
            gsize[ng] = x->dims[i];
            gred[ng++] = red[i];
        }
    }
    if (!ng) { /* a single element */
        gsize[0] = 1;
        gred[ng++] = 1;
    }
    int64_t gstride[WW_MAX_DIMS];
    gstride[ng - 1] = 1;
    for (int i = ng - 2; i >= 0; i--) gstride[i] = gstride[i + 1] * gsize[i + 1];
    for (int i = 0; i < ng - 1; i++) {
        if (gred[i]) {
            p->rsize[p->nr] = gsize[i];
            p->rstride[p->nr++] = gstride[i];
        } else {
            p->ksize[p->nk] = gsize[i];
            p->kstride[p->nk++] = gstride[i];
        }
    }
    p->last = gsize[ng - 1];
    p->last_reduced = gred[ng - 1];
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, k, dims, n, err);
}

/* Steps a multi-index over groups (outermost first) and its element offset;
 * returns 0 once every position has been visited. */
static int step(int ng, const int64_t *size, const int64_t *stride, int64_t *idx, int64_t *off)
{
    for (int d = ng - 1; d >= 0; d--) {
        *off += stride[d];
        if (++idx[d] < size[d]) return 1;
        *off -= stride[d] * idx[d];
        idx[d] = 0;
    }
    return 0;
}

static int mean_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const reduce_params *p = n->params;
    ww_tensor *x = ww_in(g, n, 0), *yt = ww_out(g, n, 0);
    const float *in = x->data;
    float *y = yt->data;
    if (yt->count == 0) return 0;
    if (x->count == 0) { /* the mean of no elements, as numpy gives it */
        for (size_t i = 0; i < yt->count; i++) y[i] = NAN;
        return 0;
    }
    const float cnt = (float)p->count;
    int64_t ki[WW_MAX_DIMS] = {0}, ri[WW_MAX_DIMS] = {0}, koff = 0, roff = 0;
    if (p->last_reduced) {
        /* each mean: contiguous runs, summed into 8 partial sums as gap_run does */
        int64_t L = p->last;
        size_t o = 0;
        do {
            float acc[8] = {0}, s = 0;
            do {
                const float *xp = in + koff + roff;
                int64_t i = 0;
                for (; i + 8 <= L; i += 8)
                    for (int j = 0; j < 8; j++) acc[j] += xp[i + j];
                for (; i < L; i++) s += xp[i];
            } while (step(p->nr, p->rsize, p->rstride, ri, &roff));
            for (int j = 0; j < 8; j++) s += acc[j];
            y[o++] = s / cnt;
        } while (step(p->nk, p->ksize, p->kstride, ki, &koff));
    } else {
        /* kept axes innermost: a row of means accumulates whole input rows */
        int64_t K = p->last;
        float *yr = y;
        do {
            memset(yr, 0, (size_t)K * sizeof *yr);
            do {
                const float *xp = in + koff + roff;
                for (int64_t i = 0; i < K; i++) yr[i] += xp[i];
            } while (step(p->nr, p->rsize, p->rstride, ri, &roff));
            for (int64_t i = 0; i < K; i++) yr[i] /= cnt;
            yr += K;
        } while (step(p->nk, p->ksize, p->kstride, ki, &koff));
    }
    return 0;
}

static void free_params(ww_node *n)
{
    free(n->params);
    n->params = NULL;
}

const ww_op ww_op_reducemean = {"ReduceMean", mean_prepare, mean_run, NULL, free_params, 0};
