/* The QDQ -> int8 pass (see nn/qdq.h). Three steps:
 *  1. match: each Conv/Gemm/Add/MaxPool/GlobalAveragePool whose float inputs
 *     come from per-tensor DequantizeLinear nodes (weights: int8 initializers
 *     behind per-channel axis-0 DQs, already folded; bias: int32 behind a DQ at
 *     x_scale * w_scale) and whose output goes to a sole QuantizeLinear becomes
 *     a candidate, its kernel parameters validated and its weights packed;
 *  2. layout: candidates touching an 8-bit 4-D tensor that has channels and
 *     space (so NCHW != NHWC) are dropped unless every producer and reader of
 *     that tensor is a candidate, until nothing changes;
 *  3. rewrite: each remaining candidate reads the DQs' 8-bit inputs and
 *     writes the Q's output; the Q (and a Relu between Add and Q) die, and so
 *     do DQs nobody reads any more (drop_dead in compile.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/qdq.h"
#include "nn/spatial.h"

enum { K_CONV = 1, K_ADD, K_MAXPOOL, K_GAP, K_GEMM, K_LUT, K_Q, K_DQ };

typedef struct cand {
    int kind;
    int alive;
    int qin[2], nqin;
    int qout;     /* 8-bit tensor written (the Q's output), or the float output for Gemm */
    int dead[2];  /* nodes absorbed: the Q, a Relu */
    void *params; /* the int8 op's */
    /* Conv: what packing needs again when an Add is fused in */
    const int8_t *wq;
    const int32_t *bias;
    float *ws;
} cand;

static void cand_free(cand *c)
{
    free(c->ws);
    c->ws = NULL;
    if (!c->params) return;
    if (c->kind == K_CONV) free(((ww_conv_s8_params *)c->params)->packed);
    if (c->kind == K_GEMM) free(((ww_gemm_s8_op_params *)c->params)->packed);
    free(c->params);
    c->params = NULL;
}

static int is_op(const ww_node *n, const char *type)
{
    return !n->dead && !strcmp(n->op_type, type);
}

/* Per-tensor qparams of a live or folded Q/DQ node (scale, zero point const). */
static int node_qparam(ww_graph *g, const ww_node *n, ww_dtype qt, ww_qparam *q)
{
    ww_tensor *s = ww_in(g, n, 1), *z = ww_in(g, n, 2);
    if (!s || !s->is_const || s->dtype != WW_DT_F32 || s->count != 1) return 0;
    if (z && (!z->is_const || z->count != 1 || z->dtype != qt)) return 0;
    if (qt != WW_DT_U8 && qt != WW_DT_I8) return 0;
    q->scale = ((const float *)s->data)[0];
    q->zp = z ? (int32_t)ww_tensor_i64_at(z, 0) : 0;
    q->type = qt == WW_DT_U8 ? WW_QTYPE_U8 : WW_QTYPE_S8;
    return ww_qparam_check(q, "", NULL) == 0;
}

/* The 8-bit tensor behind float tensor t when a live per-tensor DQ makes t. */
static int dq_source(ww_graph *g, int t, ww_qparam *q)
{
    if (t < 0) return -1;
    ww_tensor *x = &g->t[t];
    if (x->producer < 0 || x->is_const) return -1;
    ww_node *d = &g->nodes[x->producer];
    if (!is_op(d, "DequantizeLinear")) return -1;
    ww_tensor *src = ww_in(g, d, 0);
    if (src->is_const || !node_qparam(g, d, src->dtype, q)) return -1;
    return d->in[0];
}

/* The live node reading t when it has exactly one reader and is no output. */
static ww_node *sole_reader(ww_graph *g, const int *reader, int t)
{
    ww_tensor *x = &g->t[t];
    if (x->is_output || x->n_consumers != 1 || reader[t] < 0) return NULL;
    return &g->nodes[reader[t]];
}

/* Q node reading float tensor t as its sole reader: its output, qparams. */
static int sole_q(ww_graph *g, const int *reader, int t, ww_qparam *q, int *qnode)
{
    ww_node *n = sole_reader(g, reader, t);
    if (!n || !is_op(n, "QuantizeLinear") || n->in[0] != t) return -1;
    ww_tensor *y = ww_out(g, n, 0);
    if (!node_qparam(g, n, y->dtype, q)) return -1;
    *qnode = (int)(n - g->nodes);
    return n->out[0];
}

/* Weights of a folded int8 DQ (per channel on axis 0, or per tensor), zero
 * points 0: the int8 data and n_out scales (caller frees). */
static const int8_t *const_weights(ww_graph *g, int t, int64_t n_out, float **scales)
{
    ww_tensor *w = &g->t[t];
    if (!w->is_const || w->producer < 0) return NULL;
    ww_node *d = &g->nodes[w->producer];
    if (strcmp(d->op_type, "DequantizeLinear")) return NULL;
    ww_tensor *q = ww_in(g, d, 0), *s = ww_in(g, d, 1), *z = ww_in(g, d, 2);
    if (!q->is_const || q->dtype != WW_DT_I8 || !s->is_const || s->dtype != WW_DT_F32) return NULL;
    if (s->count != 1 && (s->count != (size_t)n_out || ww_attr_int(d, "axis", 1) != 0)) return NULL;
    if (z)
        for (size_t i = 0; i < z->count; i++)
            if (!z->is_const || ww_tensor_i64_at(z, i) != 0) return NULL;
    float *sc = malloc((size_t)n_out * sizeof *sc);
    if (!sc) return NULL;
    for (int64_t o = 0; o < n_out; o++) sc[o] = ((const float *)s->data)[s->count == 1 ? 0 : o];
    *scales = sc;
    return q->data;
}

/* int32 bias behind a folded DQ whose scales are x_scale * w_scale (as the
 * kernels take it), zero point 0. */
static int const_bias(ww_graph *g, int t, int64_t n_out, float xs, const float *ws,
                      const int32_t **bias)
{
    *bias = NULL;
    if (t < 0) return 1;
    ww_tensor *b = &g->t[t];
    if (!b->is_const || b->producer < 0 || b->count != (size_t)n_out) return 0;
    ww_node *d = &g->nodes[b->producer];
    if (strcmp(d->op_type, "DequantizeLinear")) return 0;
    ww_tensor *q = ww_in(g, d, 0), *s = ww_in(g, d, 1), *z = ww_in(g, d, 2);
    if (!q->is_const || q->dtype != WW_DT_I32 || !s->is_const || s->dtype != WW_DT_F32) return 0;
    if (z)
        for (size_t i = 0; i < z->count; i++)
            if (ww_tensor_i64_at(z, i) != 0) return 0;
    for (int64_t o = 0; o < n_out; o++) {
        float want = xs * ws[o], got = ((const float *)s->data)[s->count == 1 ? 0 : o];
        if (fabsf(got - want) > 1e-6f * fabsf(want)) return 0;
    }
    *bias = q->data;
    return 1;
}

/* Makes c the candidate of one int8 node of the given kind: its parameters
 * (size bytes) copied to the heap, reading tensor xq, writing yq, and the Q
 * node qnode (or -1) dying with it. Returns 1, or an error when out of memory. */
static int take(cand *c, int kind, int xq, int yq, int qnode, const void *params, size_t size,
                ww_error *err)
{
    void *p = malloc(size);
    if (!p) return ww_fail(err, WW_ENOMEM, "out of memory");
    memcpy(p, params, size);
    c->kind = kind;
    c->qin[0] = xq;
    c->nqin = 1;
    c->qout = yq;
    c->dead[0] = qnode;
    c->params = p;
    return 1;
}

static int match_conv(ww_graph *g, ww_node *n, const int *reader, cand *c, ww_error *err)
{
    ww_tensor *x = ww_in(g, n, 0), *w = ww_in(g, n, 1);
    const ww_conv2d_shape *shape = ww_conv_shape(n);
    if (x->ndim != 4 || !shape || n->residual >= 0) return 0;
    if (n->act.kind != WW_ACT_NONE && n->act.kind != WW_ACT_RELU) return 0;
    ww_conv_s8_params cp;
    memset(&cp, 0, sizeof cp);
    int xq = dq_source(g, n->in[0], &cp.p.x);
    int qnode, yq = sole_q(g, reader, n->out[0], &cp.p.y, &qnode);
    if (xq < 0 || yq < 0) return 0;
    float *ws = NULL;
    const int8_t *wq = const_weights(g, n->in[1], w->dims[0], &ws);
    if (!wq) return 0;
    const int32_t *bias;
    if (!const_bias(g, n->n_in > 2 ? n->in[2] : -1, w->dims[0], cp.p.x.scale, ws, &bias)) {
        free(ws);
        return 0;
    }
    cp.p.shape = *shape;
    cp.p.w_scale = ws;
    cp.p.relu = n->act.kind == WW_ACT_RELU;
    ww_isa isa = ww_isa_active();
    size_t bytes = ww_conv2d_s8_packed_size(&cp.p, isa);
    cp.packed = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!cp.packed) {
        free(ws);
        return ww_fail(err, WW_ENOMEM, "out of memory packing int8 weights");
    }
    /* parameters the kernel refuses leave the node float-simulated */
    int rc = ww_conv2d_s8_pack(&cp.p, isa, wq, bias, cp.packed, NULL)
                 ? 0
                 : take(c, K_CONV, xq, yq, qnode, &cp, sizeof cp, err);
    if (rc != 1) {
        free(ws);
        free(cp.packed);
        return rc;
    }
    c->wq = wq;
    c->bias = bias;
    c->ws = ws;
    n->scratch_bytes = ww_conv2d_s8_scratch_size(&cp.p, isa);
    return 1;
}

static int match_gemm(ww_graph *g, ww_node *n, const int *reader, cand *c, ww_error *err)
{
    ww_tensor *x = ww_in(g, n, 0), *w = ww_in(g, n, 1);
    if (x->ndim != 2 || w->ndim != 2 || n->n_out != 1) return 0;
    if (ww_attr_int(n, "transA", 0) != 0 || ww_attr_int(n, "transB", 0) != 1) return 0;
    if (ww_attr_float(n, "alpha", 1.0f) != 1.0f || ww_attr_float(n, "beta", 1.0f) != 1.0f) return 0;
    ww_gemm_s8_op_params gp;
    memset(&gp, 0, sizeof gp);
    int xq = dq_source(g, n->in[0], &gp.p.x);
    if (xq < 0) return 0;
    int qnode = -1, yq = sole_q(g, reader, n->out[0], &gp.p.y, &qnode);
    float *ws = NULL;
    const int8_t *wq = const_weights(g, n->in[1], w->dims[0], &ws);
    if (!wq) return 0;
    const int32_t *bias;
    if (!const_bias(g, n->n_in > 2 ? n->in[2] : -1, w->dims[0], gp.p.x.scale, ws, &bias)) {
        free(ws);
        return 0;
    }
    gp.p.rows = (int)x->dims[0];
    gp.p.k = (int)x->dims[1];
    gp.p.n_out = (int)w->dims[0];
    gp.p.w_scale = ws;
    gp.p.out = yq >= 0 ? WW_GEMM_S8_OUT_QUANT : WW_GEMM_S8_OUT_FLOAT;
    size_t bytes = ww_gemm_s8_packed_size(&gp.p);
    gp.packed = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
    if (!gp.packed) {
        free(ws);
        return ww_fail(err, WW_ENOMEM, "out of memory packing int8 weights");
    }
    int rc = w->dims[1] == x->dims[1] ? ww_gemm_s8_pack(&gp.p, wq, bias, gp.packed, NULL) : -1;
    free(ws);
    gp.p.w_scale = NULL;
    gp.ops = ww_ops_s8_get(ww_isa_active());
    /* parameters the kernel refuses leave the node float-simulated */
    rc = rc ? 0 : take(c, K_GEMM, xq, yq >= 0 ? yq : n->out[0], qnode, &gp, sizeof gp, err);
    if (rc != 1) free(gp.packed);
    return rc;
}

static int same_dims(const ww_tensor *a, const ww_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

static int match_add(ww_graph *g, ww_node *n, const int *reader, cand *c, ww_error *err)
{
    if (n->n_in != 2) return 0;
    ww_add_s8_params ap;
    memset(&ap, 0, sizeof ap);
    int aq = dq_source(g, n->in[0], &ap.a), bq = dq_source(g, n->in[1], &ap.b);
    if (aq < 0 || bq < 0) return 0;
    ww_tensor *y = ww_out(g, n, 0);
    if (!same_dims(ww_in(g, n, 0), y) || !same_dims(ww_in(g, n, 1), y)) return 0;
    int t = n->out[0], relu_node = -1;
    ww_node *r = sole_reader(g, reader, t);
    if (r && is_op(r, "Relu")) {
        relu_node = (int)(r - g->nodes);
        t = r->out[0];
        ap.relu = 1;
    }
    int qnode, yq = sole_q(g, reader, t, &ap.c, &qnode);
    if (yq < 0 || ww_add_s8_check(&ap.a, &ap.b, &ap.c, NULL)) return 0;
    ap.n = y->count;
    ap.ops = ww_ops_s8_get(ww_isa_active());
    int rc = take(c, K_ADD, aq, yq, qnode, &ap, sizeof ap, err);
    if (rc != 1) return rc;
    c->qin[1] = bq;
    c->nqin = 2;
    c->dead[1] = relu_node;
    return 1;
}

static int same_qparam(const ww_qparam *a, const ww_qparam *b)
{
    return a->scale == b->scale && a->zp == b->zp && a->type == b->type;
}

static int match_maxpool(ww_graph *g, ww_node *n, const int *reader, cand *c, ww_error *err)
{
    ww_tensor *x = ww_in(g, n, 0);
    if (x->ndim != 4 || n->n_out != 1) return 0;
    ww_qparam qx, qy;
    int xq = dq_source(g, n->in[0], &qx);
    int qnode, yq = sole_q(g, reader, n->out[0], &qy, &qnode);
    if (xq < 0 || yq < 0 || !same_qparam(&qx, &qy)) return 0;
    ww_window win;
    ww_error ignored;
    if (ww_window_resolve(g, n, x, NULL, 1, &win, &ignored) || win.nsp != 2) return 0;
    ww_maxpool_s8_params mp;
    memset(&mp, 0, sizeof mp);
    ww_pool_shape *s = &mp.s;
    s->n = (int)x->dims[0];
    s->c = (int)x->dims[1];
    s->h_in = (int)win.in[0];
    s->w_in = (int)win.in[1];
    s->h_out = (int)win.out[0];
    s->w_out = (int)win.out[1];
    s->k_h = (int)win.k[0];
    s->k_w = (int)win.k[1];
    s->stride_h = (int)win.s[0];
    s->stride_w = (int)win.s[1];
    s->dil_h = (int)win.d[0];
    s->dil_w = (int)win.d[1];
    s->pad_top = (int)win.pb[0];
    s->pad_left = (int)win.pb[1];
    if (ww_pool_shape_check(s, NULL)) return 0;
    mp.t = qx.type;
    mp.ops = ww_ops_s8_get(ww_isa_active());
    return take(c, K_MAXPOOL, xq, yq, qnode, &mp, sizeof mp, err);
}

static int match_gap(ww_graph *g, ww_node *n, const int *reader, cand *c, ww_error *err)
{
    ww_tensor *x = ww_in(g, n, 0);
    if (x->ndim != 4) return 0;
    ww_gap_s8_params gp;
    memset(&gp, 0, sizeof gp);
    int xq = dq_source(g, n->in[0], &gp.x);
    int qnode, yq = sole_q(g, reader, n->out[0], &gp.y, &qnode);
    if (xq < 0 || yq < 0) return 0;
    gp.n = (int)x->dims[0];
    gp.c = (int)x->dims[1];
    /* the exact int32 sum of hw 8-bit values (and hw * zero point) must fit */
    if (x->dims[2] * x->dims[3] < 1 || x->dims[2] * x->dims[3] > (1 << 23)) return 0;
    gp.hw = (int)(x->dims[2] * x->dims[3]);
    gp.ops = ww_ops_s8_get(ww_isa_active());
    return take(c, K_GAP, xq, yq, qnode, &gp, sizeof gp, err);
}

/* Relu or Clip (constant bounds) between a DQ and a Q: a 256-entry table,
 * each entry computed as nn/op_quant.c and nn/op_eltwise.c compute it. */
static int match_lut(ww_graph *g, ww_node *n, const int *reader, cand *c, ww_error *err)
{
    ww_qparam qx, qy;
    int xq = dq_source(g, n->in[0], &qx);
    int qnode, yq = sole_q(g, reader, n->out[0], &qy, &qnode);
    if (xq < 0 || yq < 0) return 0;
    float lo = 0.0f, hi = INFINITY;
    if (!strcmp(n->op_type, "Clip")) {
        ww_tensor *tl = ww_in(g, n, 1), *th = ww_in(g, n, 2);
        if ((tl && (!tl->is_const || tl->dtype != WW_DT_F32)) ||
            (th && (!th->is_const || th->dtype != WW_DT_F32)))
            return 0;
        lo = tl ? ((const float *)tl->data)[0] : ww_attr_float(n, "min", -INFINITY);
        hi = th ? ((const float *)th->data)[0] : ww_attr_float(n, "max", INFINITY);
    }
    ww_lut_s8_params lp, *p = &lp;
    int32_t ylo = ww_qtype_min(qy.type), yhi = ww_qtype_max(qy.type);
    for (int b = 0; b < 256; b++) {
        int32_t q = qx.type == WW_QTYPE_S8 ? (int32_t)(int8_t)(uint8_t)b : b;
        float v = (float)(q - qx.zp) * qx.scale;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        float r = nearbyintf(v / qy.scale) + (float)qy.zp;
        r = r < (float)ylo ? (float)ylo : r > (float)yhi ? (float)yhi : r;
        p->lut[b] = (uint8_t)(int32_t)r;
    }
    p->n = g->t[xq].count;
    return take(c, K_LUT, xq, yq, qnode, &lp, sizeof lp, err);
}

static int layout_matters(const ww_tensor *t);

/* A live per-tensor Q (float -> 8-bit) or DQ (8-bit -> float) at an edge of
 * the int8 region, on a tensor whose layout does not matter (the spectrogram
 * input has one channel, the head's tensors no space). */
static int match_qdq(ww_graph *g, ww_node *n, int dq, cand *c, ww_error *err)
{
    ww_tensor *x = ww_in(g, n, 0), *y = ww_out(g, n, 0);
    ww_tensor *q8 = dq ? x : y;
    if (x->is_const || layout_matters(x)) return 0;
    ww_qdq_s8_params qp;
    memset(&qp, 0, sizeof qp);
    if (!node_qparam(g, n, q8->dtype, &qp.q)) return 0;
    qp.n = x->count;
    qp.ops = ww_ops_s8_get(ww_isa_active());
    return take(c, dq ? K_DQ : K_Q, n->in[0], n->out[0], -1, &qp, sizeof qp, err);
}

/* NCHW and NHWC differ for this tensor (8-bit, 4-D, channels and space). */
static int layout_matters(const ww_tensor *t)
{
    return t->ndim == 4 && t->dims[1] > 1 && t->dims[2] * t->dims[3] > 1;
}

/* Step 2: drops candidates that would need a transpose; returns how many are left. */
static int settle_layouts(ww_graph *g, cand *cands, int *int8_prod, char *float_use, int *nonc)
{
    for (;;) {
        for (int t = 0; t < g->nt; t++) {
            int8_prod[t] = -1;
            float_use[t] = 0;
            nonc[t] = 0;
        }
        for (int i = 0; i < g->nn; i++)
            if (cands[i].alive) int8_prod[cands[i].qout] = i;
        for (int i = 0; i < g->n_outputs; i++) float_use[g->outputs[i]] = 1;
        /* readers that stay float, per tensor */
        for (int i = 0; i < g->nn; i++) {
            ww_node *n = &g->nodes[i];
            if (n->dead || cands[i].alive) continue;
            for (int j = 0; j < n->n_in; j++)
                if (n->in[j] >= 0) nonc[n->in[j]]++;
            if (n->residual >= 0) nonc[n->residual]++;
        }
        for (int i = 0; i < g->nn; i++) {
            ww_node *n = &g->nodes[i];
            if (n->dead || cands[i].alive) continue;
            int dq = !strcmp(n->op_type, "DequantizeLinear");
            int absorbed = dq && !nonc[n->out[0]] && !ww_out(g, n, 0)->is_output;
            for (int j = 0; j < n->n_in && !absorbed; j++)
                if (n->in[j] >= 0) float_use[n->in[j]] = 1;
            /* the Q/Relu nodes a candidate absorbs write nothing 8-bit it reads */
        }
        int changed = 0, left = 0;
        for (int i = 0; i < g->nn; i++) {
            cand *c = &cands[i];
            if (!c->alive) continue;
            int ok = 1;
            for (int j = 0; j < c->nqin && ok; j++) {
                int t = c->qin[j];
                if (layout_matters(&g->t[t]) && (int8_prod[t] < 0 || float_use[t])) ok = 0;
            }
            if (ok && c->kind != K_GEMM && layout_matters(&g->t[c->qout]) && float_use[c->qout])
                ok = 0;
            if (!ok) {
                c->alive = 0;
                changed = 1;
            } else {
                left++;
            }
        }
        if (!changed) return left;
    }
}

static int step_of(const ww_graph *g, int node)
{
    for (int s = 0; s < g->n_order; s++)
        if (g->order[s] == node) return s;
    return -1;
}

/* The residual join into the conv that makes one of its inputs, when that
 * conv's output is read by this Add alone (through one DQ): the conv then
 * writes the join's output and runs at the Add's step, where the other input
 * is ready. Returns 1 when fused, 0 when not, negative when out of memory. */
static int fuse_add(ww_graph *g, cand *cands, const int *int8_prod, const int *reader, int ai,
                    ww_error *err)
{
    cand *a = &cands[ai];
    const ww_add_s8_params *ap = a->params;
    for (int k = 0; k < 2; k++) {
        int mid = a->qin[k], other = a->qin[1 - k];
        int ci = int8_prod[mid];
        if (ci < 0 || cands[ci].kind != K_CONV || mid == other) continue;
        cand *c = &cands[ci];
        ww_conv_s8_params *cp = c->params;
        if (cp->p.fuse_add) continue;
        /* mid is read by one DQ, and that DQ by this Add alone */
        ww_tensor *m = &g->t[mid];
        if (m->is_output || m->n_consumers != 1 || reader[mid] < 0) continue;
        ww_node *dq = &g->nodes[reader[mid]];
        ww_node *add = &g->nodes[ai];
        int dq_out = dq->out[0];
        if (g->t[dq_out].is_output || g->t[dq_out].n_consumers != 1 || add->in[k] != dq_out)
            continue;
        ww_conv2d_s8_params np = cp->p;
        np.fuse_add = 1;
        np.mid = cp->p.y;
        np.r = k == 0 ? ap->b : ap->a;
        if (!same_qparam(&np.mid, k == 0 ? &ap->a : &ap->b)) continue;
        np.y = ap->c;
        np.relu_after_add = ap->relu;
        np.w_scale = c->ws;
        ww_isa isa = ww_isa_active();
        size_t bytes = ww_conv2d_s8_packed_size(&np, isa);
        void *packed = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
        if (!packed) return ww_fail(err, WW_ENOMEM, "out of memory packing int8 weights");
        if (ww_conv2d_s8_pack(&np, isa, c->wq, c->bias, packed, NULL)) {
            free(packed);
            continue;
        }
        np.w_scale = NULL;
        free(cp->packed);
        cp->packed = packed;
        cp->p = np;
        ww_node *conv = &g->nodes[ci];
        size_t sb = ww_conv2d_s8_scratch_size(&np, isa);
        if (sb > conv->scratch_bytes) conv->scratch_bytes = sb;
        /* the conv moves to the Add's step and takes the Add's place */
        int sc = step_of(g, ci), sa = step_of(g, ai);
        g->order[sc] = ai;
        g->order[sa] = ci;
        c->qin[1] = other;
        c->nqin = 2;
        c->qout = a->qout;
        c->dead[1] = ai;
        a->alive = 0;
        for (int j = 0; j < 2; j++)
            if (a->dead[j] >= 0) g->nodes[a->dead[j]].dead = 1;
        cand_free(a);
        return 1;
    }
    return 0;
}

int ww_qdq_compile(ww_graph *g, ww_error *err)
{
    int *reader = malloc((size_t)g->nt * sizeof *reader);
    int *int8_prod = malloc((size_t)g->nt * sizeof *int8_prod);
    int *nonc = malloc((size_t)g->nt * sizeof *nonc);
    char *float_use = malloc((size_t)g->nt);
    cand *cands = calloc((size_t)g->nn, sizeof *cands);
    int rc = 0, left = 0;
    if (!reader || !int8_prod || !nonc || !float_use || !cands) {
        rc = ww_fail(err, WW_ENOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < g->nt; t++) reader[t] = -1;
    for (int i = 0; i < g->nn; i++) {
        ww_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) reader[n->in[j]] = i;
    }
    for (int s = 0; s < g->n_order; s++) {
        int i = g->order[s];
        ww_node *n = &g->nodes[i];
        cand *c = &cands[i];
        if (n->dead || n->n_out != 1 || ww_out(g, n, 0)->dtype != WW_DT_F32) continue;
        c->dead[0] = c->dead[1] = -1;
        int m = 0;
        if (!strcmp(n->op_type, "Conv"))
            m = match_conv(g, n, reader, c, err);
        else if (!strcmp(n->op_type, "Gemm"))
            m = match_gemm(g, n, reader, c, err);
        else if (!strcmp(n->op_type, "Add"))
            m = match_add(g, n, reader, c, err);
        else if (!strcmp(n->op_type, "MaxPool"))
            m = match_maxpool(g, n, reader, c, err);
        else if (!strcmp(n->op_type, "GlobalAveragePool"))
            m = match_gap(g, n, reader, c, err);
        else if (!strcmp(n->op_type, "Relu") || !strcmp(n->op_type, "Clip"))
            m = match_lut(g, n, reader, c, err);
        if (m < 0) {
            rc = m;
            goto done;
        }
        c->alive = m;
    }
    left = settle_layouts(g, cands, int8_prod, float_use, nonc);
    for (int s = 0; s < g->n_order; s++) {
        int i = g->order[s];
        if (!cands[i].alive || cands[i].kind != K_ADD) continue;
        int f = fuse_add(g, cands, int8_prod, reader, i, err);
        if (f < 0) {
            rc = f;
            goto done;
        }
        left -= f;
    }
    /* the edges: Q and DQ no int8 node absorbed, on layout-free tensors */
    char *absorbed = float_use; /* reused: settle_layouts is done with it */
    memset(absorbed, 0, (size_t)g->nt);
    for (int i = 0; i < g->nn; i++)
        for (int k = 0; k < 2; k++)
            if (cands[i].alive && cands[i].dead[k] >= 0)
                absorbed[g->nodes[cands[i].dead[k]].out[0]] = 1;
    for (int s = 0; s < g->n_order; s++) {
        int i = g->order[s];
        ww_node *n = &g->nodes[i];
        if (n->dead || cands[i].alive || n->n_out != 1 || absorbed[n->out[0]]) continue;
        int q = !strcmp(n->op_type, "QuantizeLinear"), dq = !strcmp(n->op_type, "DequantizeLinear");
        if (!q && !dq) continue;
        cand_free(&cands[i]);
        cands[i].dead[0] = cands[i].dead[1] = -1;
        int m = match_qdq(g, n, dq, &cands[i], err);
        if (m < 0) {
            rc = m;
            goto done;
        }
        cands[i].alive = m;
        left += m;
    }
    static const ww_op *const op_of[] = {
        NULL,           &ww_op_conv_s8, &ww_op_add_s8,      &ww_op_maxpool_s8,   &ww_op_gap_s8,
        &ww_op_gemm_s8, &ww_op_lut_s8,  &ww_op_quantize_s8, &ww_op_dequantize_s8};
    for (int i = 0; i < g->nn; i++) {
        cand *c = &cands[i];
        if (!c->alive) continue;
        ww_node *n = &g->nodes[i];
        if (n->op->release) n->op->release(n);
        n->op = op_of[c->kind];
        n->params = c->params;
        c->params = NULL;
        for (int j = 0; j < c->nqin; j++) n->in[j] = c->qin[j];
        n->n_in = c->nqin;
        n->out[0] = c->qout;
        g->t[c->qout].producer = i;
        /* settle_layouts left only int8 readers and writers on such tensors */
        ww_tensor *qt = &g->t[c->qout];
        qt->nhwc = (qt->dtype == WW_DT_U8 || qt->dtype == WW_DT_I8) && layout_matters(qt);
        for (int k = 0; k < 2; k++)
            if (c->dead[k] >= 0) g->nodes[c->dead[k]].dead = 1;
    }
    rc = left;
done:
    if (cands)
        for (int i = 0; i < g->nn; i++) cand_free(&cands[i]);
    free(cands);
    free(reader);
    free(int8_prod);
    free(nonc);
    free(float_use);
    return rc;
}
