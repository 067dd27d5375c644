/* Gemm (alpha, beta, transA, transB, broadcast C) and MatMul (numpy rules:
 * 1-D promotion, broadcast batch axes). Classifier heads are small, so plain
 * loops ordered for contiguous inner access are enough. */
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"

typedef struct gemm_params {
    int64_t M, N, K;
    int ta, tb;
    float alpha, beta;
    int64_t c_rs, c_cs; /* C strides (0 where broadcast) */
} gemm_params;

static void free_params(ww_node *n)
{
    free(n->params);
    n->params = NULL;
}

static int gemm_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 2, 3, 1, 1, err);
    for (int i = 0; i < 3 && !rc; i++) rc = ww_node_require_f32(g, n, i, err);
    if (rc) return rc;
    ww_tensor *a = ww_in(g, n, 0), *b = ww_in(g, n, 1), *c = ww_in(g, n, 2);
    if (a->ndim != 2 || b->ndim != 2)
        return ww_node_fail(err, n, WW_EFORMAT, "A and B must be 2-D (got rank %d and %d)", a->ndim,
                            b->ndim);
    gemm_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    p->ta = (int)ww_attr_int(n, "transA", 0);
    p->tb = (int)ww_attr_int(n, "transB", 0);
    p->alpha = ww_attr_float(n, "alpha", 1.0f);
    p->beta = ww_attr_float(n, "beta", 1.0f);
    p->M = p->ta ? a->dims[1] : a->dims[0];
    p->K = p->ta ? a->dims[0] : a->dims[1];
    p->N = p->tb ? b->dims[0] : b->dims[1];
    int64_t kb = p->tb ? b->dims[1] : b->dims[0];
    if (kb != p->K)
        return ww_node_fail(err, n, WW_EFORMAT, "A is %lldx%lld and B %lldx%lld after transposes",
                            (long long)p->M, (long long)p->K, (long long)kb, (long long)p->N);
    if (c) {
        int64_t cd[2] = {1, 1};
        if (c->ndim > 2) return ww_node_fail(err, n, WW_EFORMAT, "C must have rank <= 2");
        for (int i = 0; i < c->ndim; i++) cd[2 - c->ndim + i] = c->dims[i];
        if ((cd[0] != 1 && cd[0] != p->M) || (cd[1] != 1 && cd[1] != p->N))
            return ww_node_fail(err, n, WW_EFORMAT, "C does not broadcast to %lldx%lld",
                                (long long)p->M, (long long)p->N);
        p->c_rs = cd[0] == 1 ? 0 : cd[1];
        p->c_cs = cd[1] == 1 ? 0 : 1;
    }
    n->macs = (uint64_t)(p->M * p->N * p->K);
    int64_t dims[2] = {p->M, p->N};
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, 2, dims, n, err);
}

static int gemm_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const gemm_params *p = n->params;
    const float *A = ww_in(g, n, 0)->data, *B = ww_in(g, n, 1)->data;
    ww_tensor *c = ww_in(g, n, 2);
    const float *C = c ? c->data : NULL;
    float *Y = ww_out(g, n, 0)->data;
    int64_t M = p->M, N = p->N, K = p->K;
    for (int64_t i = 0; i < M; i++) {
        float *y = Y + i * N;
        for (int64_t j = 0; j < N; j++) y[j] = 0;
        for (int64_t k = 0; k < K; k++) {
            float av = p->ta ? A[k * M + i] : A[i * K + k];
            if (p->tb) {
                for (int64_t j = 0; j < N; j++) y[j] += av * B[j * K + k];
            } else {
                const float *brow = B + k * N;
                for (int64_t j = 0; j < N; j++) y[j] += av * brow[j];
            }
        }
        for (int64_t j = 0; j < N; j++) {
            float v = p->alpha * y[j];
            if (C) v += p->beta * C[i * p->c_rs + j * p->c_cs];
            y[j] = v;
        }
    }
    return 0;
}
const ww_op ww_op_gemm = {"Gemm", gemm_prepare, gemm_run, NULL, free_params, 0, 1};

/* ---- MatMul ---- */
typedef struct matmul_params {
    int64_t M, N, K, batch;
    int nb;                                                       /* batch rank */
    int64_t bdims[WW_MAX_DIMS], sa[WW_MAX_DIMS], sb[WW_MAX_DIMS]; /* batch strides in matrices */
} matmul_params;

static int matmul_prepare(ww_graph *g, ww_node *n, ww_error *err)
{
    int rc = ww_node_check_io(n, 2, 2, 1, 1, err);
    for (int i = 0; i < 2 && !rc; i++) rc = ww_node_require_f32(g, n, i, err);
    if (rc) return rc;
    ww_tensor *a = ww_in(g, n, 0), *b = ww_in(g, n, 1);
    if (a->ndim < 1 || b->ndim < 1)
        return ww_node_fail(err, n, WW_EFORMAT, "inputs must have rank >= 1");
    /* promote 1-D operands, remembering to drop the added axis */
    int64_t ad[WW_MAX_DIMS + 1], bd[WW_MAX_DIMS + 1];
    int ar = a->ndim, br = b->ndim;
    if (ar == 1) {
        ad[0] = 1;
        ad[1] = a->dims[0];
        ar = 2;
    } else {
        memcpy(ad, a->dims, (size_t)ar * 8);
    }
    if (br == 1) {
        bd[0] = b->dims[0];
        bd[1] = 1;
        br = 2;
    } else {
        memcpy(bd, b->dims, (size_t)br * 8);
    }
    matmul_params *p = calloc(1, sizeof *p);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    n->params = p;
    p->M = ad[ar - 2];
    p->K = ad[ar - 1];
    p->N = bd[br - 1];
    if (bd[br - 2] != p->K)
        return ww_node_fail(err, n, WW_EFORMAT, "inner dimensions differ (%lld vs %lld)",
                            (long long)p->K, (long long)bd[br - 2]);
    p->nb = ww_broadcast_shape(ar - 2, ad, br - 2, bd, p->bdims);
    if (p->nb < 0) return ww_node_fail(err, n, WW_EFORMAT, "batch axes do not broadcast");
    p->batch = 1;
    int64_t sa = p->M * p->K, sb = p->K * p->N;
    for (int i = p->nb - 1; i >= 0; i--) {
        int ia = i - (p->nb - (ar - 2)), ib = i - (p->nb - (br - 2));
        int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
        p->sa[i] = da == 1 ? 0 : sa;
        p->sb[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        p->batch *= p->bdims[i];
    }
    int64_t dims[WW_MAX_DIMS + 2];
    int r = 0;
    for (int i = 0; i < p->nb; i++) dims[r++] = p->bdims[i];
    if (a->ndim > 1) dims[r++] = p->M;
    if (b->ndim > 1) dims[r++] = p->N;
    if (r > WW_MAX_DIMS) return ww_node_fail(err, n, WW_EUNSUPPORTED, "output rank too high");
    n->macs = (uint64_t)(p->batch * p->M * p->N * p->K);
    return ww_tensor_set_shape(ww_out(g, n, 0), WW_DT_F32, r, dims, n, err);
}

static int matmul_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const matmul_params *p = n->params;
    const float *A = ww_in(g, n, 0)->data, *B = ww_in(g, n, 1)->data;
    float *Y = ww_out(g, n, 0)->data;
    int64_t idx[WW_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t bi = 0; bi < p->batch; bi++) {
        const float *a = A + oa, *b = B + ob;
        float *y = Y + bi * p->M * p->N;
        for (int64_t i = 0; i < p->M; i++) {
            float *yr = y + i * p->N;
            for (int64_t j = 0; j < p->N; j++) yr[j] = 0;
            for (int64_t k = 0; k < p->K; k++) {
                float av = a[i * p->K + k];
                const float *br = b + k * p->N;
                for (int64_t j = 0; j < p->N; j++) yr[j] += av * br[j];
            }
        }
        for (int d = p->nb - 1; d >= 0; d--) {
            idx[d]++;
            oa += p->sa[d];
            ob += p->sb[d];
            if (idx[d] < p->bdims[d]) break;
            oa -= p->sa[d] * idx[d];
            ob -= p->sb[d] * idx[d];
            idx[d] = 0;
        }
    }
    return 0;
}
const ww_op ww_op_matmul = {"MatMul", matmul_prepare, matmul_run, NULL, free_params, 0};
