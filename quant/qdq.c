/* The QDQ rewrite works on the unpacked protobuf-c tree in place: every
 * string, array and message put into it is its own malloc'd block (protobuf-c's
 * default allocator is malloc/free), so onnx__model_proto__free_unpacked()
 * frees the original and the added parts alike. Nothing is ever shared
 * between two places in the tree. */
#include "quant/qdq.h"

#include "quant/onnx_edit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "quant/qparams.h"

enum { TQ_ACT, TQ_WEIGHT, TQ_BIAS };

typedef struct tq {
    char *name;
    int kind;
    int share;   /* ACT: index of the tq whose parameters it reuses, or -1 */
    int axis;    /* WEIGHT: channel axis, -1 per tensor */
    int in_tq;   /* BIAS: tq of the op's activation input */
    int w_tq;    /* BIAS: tq of the op's weight */
    long node;   /* BIAS: the node it belongs to (exporters share equal biases) */
    int shared;  /* BIAS: the initializer feeds several nodes */
    int removed; /* ACT: renamed away by a Relu removal */
    int skip;    /* BIAS that cannot be quantized (input not quantized) */
    int emitted; /* WEIGHT/BIAS: DQ node emitted */
    ww_qparams qp;
    float lo, hi;
    float *scales; /* WEIGHT/BIAS per channel scales */
    size_t n_scales;
} tq;

typedef struct ctx {
    Onnx__ModelProto *m;
    Onnx__GraphProto *g;
    const ww_qdq_options *opt;
    ww_qdq_stats_fn stats;
    void *user;
    const char *name;
    ww_error *err;
    tq *t;
    size_t n_t, cap_t;
    int *removed_node;       /* per original node */
    Onnx__NodeProto **nodes; /* output node list */
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    ww_qdq_result *res;
} ctx;

static int oom(ctx *c)
{
    return ww_fail(c->err, WW_ENOMEM, "%s: out of memory while quantizing", c->name);
}

int ww_qdq_is_quantized_op(const char *op)
{
    static const char *const ops[] = {
        "QuantizeLinear", "DequantizeLinear",     "DynamicQuantizeLinear",
        "ConvInteger",    "MatMulInteger",        "QGemm",
        "QAttention",     "DynamicQuantizeMatMul"};
    if (!strncmp(op, "QLinear", 7)) return 1;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (!strcmp(op, ops[i])) return 1;
    return 0;
}

void ww_qdq_options_default(ww_qdq_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->per_channel = 1;
    opt->weight_clip_pct = 100;
    opt->calib.method = WW_CALIB_MINMAX;
    opt->calib.percentile = 99.99;
    opt->calib.levels = 255;
}

/* ---- graph queries (linear scans: graphs here have tens of nodes) ---- */

static int is_graph_output(ctx *c, const char *name)
{
    for (size_t i = 0; i < c->g->n_output; i++)
        if (c->g->output[i]->name && !strcmp(c->g->output[i]->name, name)) return 1;
    return 0;
}

static int is_graph_input(ctx *c, const char *name)
{
    for (size_t i = 0; i < c->g->n_input; i++)
        if (c->g->input[i]->name && !strcmp(c->g->input[i]->name, name)) return 1;
    return 0;
}

static size_t n_consumers(ctx *c, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < c->g->n_node; i++) {
        if (c->removed_node[i]) continue;
        Onnx__NodeProto *nd = c->g->node[i];
        for (size_t k = 0; k < nd->n_input; k++)
            if (!strcmp(nd->input[k], name)) n++;
    }
    return n;
}

static long producer(ctx *c, const char *name)
{
    for (size_t i = 0; i < c->g->n_node; i++) {
        if (c->removed_node[i]) continue;
        Onnx__NodeProto *nd = c->g->node[i];
        for (size_t k = 0; k < nd->n_output; k++)
            if (!strcmp(nd->output[k], name)) return (long)i;
    }
    return -1;
}

static Onnx__AttributeProto *find_attr(Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!strcmp(n->attribute[i]->name, name)) return n->attribute[i];
    return NULL;
}

static long tq_find(ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_t; i++)
        if (!c->t[i].removed && c->t[i].kind != TQ_BIAS && !strcmp(c->t[i].name, name))
            return (long)i;
    return -1;
}

static long tq_find_bias(ctx *c, const char *name, long node)
{
    for (size_t i = 0; i < c->n_t; i++)
        if (c->t[i].kind == TQ_BIAS && c->t[i].node == node && !strcmp(c->t[i].name, name))
            return (long)i;
    return -1;
}

/* ---- initializer data ---- */

static Onnx__TensorProto *make_tensor(const char *name, int dtype, size_t ndim, const int64_t *dims,
                                      const void *data, size_t bytes)
{
    Onnx__TensorProto *t = malloc(sizeof(*t));
    if (!t) return NULL;
    onnx__tensor_proto__init(t);
    t->name = ww_onnx_strdup(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = ndim;
    t->dims = ndim ? malloc(ndim * sizeof(int64_t)) : NULL;
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = malloc(bytes ? bytes : 1);
    if (!t->name || (ndim && !t->dims) || !t->raw_data.data) {
        onnx__tensor_proto__free_unpacked(t, NULL);
        return NULL;
    }
    if (ndim) memcpy(t->dims, dims, ndim * sizeof(int64_t));
    memcpy(t->raw_data.data, data, bytes);
    return t;
}

static int add_init(ctx *c, Onnx__TensorProto *t)
{
    if (!t) return oom(c);
    if (c->n_inits == c->cap_inits) {
        size_t cap = c->cap_inits ? 2 * c->cap_inits : 64;
        void *p = realloc(c->inits, cap * sizeof(*c->inits));
        if (!p) {
            onnx__tensor_proto__free_unpacked(t, NULL);
            return oom(c);
        }
        c->inits = p;
        c->cap_inits = cap;
    }
    c->inits[c->n_inits++] = t;
    return WW_OK;
}

static int add_node(ctx *c, Onnx__NodeProto *n)
{
    if (!n) return oom(c);
    if (c->n_nodes == c->cap_nodes) {
        size_t cap = c->cap_nodes ? 2 * c->cap_nodes : 128;
        void *p = realloc(c->nodes, cap * sizeof(*c->nodes));
        if (!p) {
            onnx__node_proto__free_unpacked(n, NULL);
            return oom(c);
        }
        c->nodes = p;
        c->cap_nodes = cap;
    }
    c->nodes[c->n_nodes++] = n;
    return WW_OK;
}

/* A QuantizeLinear/DequantizeLinear node; axis < 0 leaves the attribute out. */
static Onnx__NodeProto *make_qnode(const char *op, const char *name, const char *in,
                                   const char *scale, const char *zp, const char *out, int axis)
{
    Onnx__NodeProto *n = malloc(sizeof(*n));
    if (!n) return NULL;
    onnx__node_proto__init(n);
    n->op_type = ww_onnx_strdup(op);
    n->name = ww_onnx_strdup(name);
    n->input = calloc(3, sizeof(char *));
    n->output = calloc(1, sizeof(char *));
    int ok = n->op_type && n->name && n->input && n->output;
    if (ok) {
        n->n_input = 3;
        n->input[0] = ww_onnx_strdup(in);
        n->input[1] = ww_onnx_strdup(scale);
        n->input[2] = ww_onnx_strdup(zp);
        n->n_output = 1;
        n->output[0] = ww_onnx_strdup(out);
        ok = n->input[0] && n->input[1] && n->input[2] && n->output[0];
    }
    if (ok && axis >= 0) {
        Onnx__AttributeProto *a = malloc(sizeof(*a));
        n->attribute = malloc(sizeof(*n->attribute));
        if (a) onnx__attribute_proto__init(a);
        if (n->attribute && a) {
            n->attribute[0] = a;
            n->n_attribute = 1;
            a->name = ww_onnx_strdup("axis");
            a->has_type = 1;
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            a->has_i = 1;
            a->i = axis;
            ok = a->name != NULL;
        } else {
            free(a);
            ok = 0;
        }
    }
    if (!ok) {
        onnx__node_proto__free_unpacked(n, NULL);
        return NULL;
    }
    return n;
}

static int set_str(char **slot, const char *value)
{
    char *s = ww_onnx_strdup(value);
    if (!s) return -1;
    free(*slot);
    *slot = s;
    return 0;
}

/* ---- deciding what to quantize ---- */

static long tq_add(ctx *c, const char *name, int kind)
{
    long i = kind == TQ_BIAS ? -1 : tq_find(c, name);
    if (i >= 0) return i;
    if (c->n_t == c->cap_t) {
        size_t cap = c->cap_t ? 2 * c->cap_t : 64;
        void *p = realloc(c->t, cap * sizeof(tq));
        if (!p) return -1;
        c->t = p;
        c->cap_t = cap;
    }
    tq *e = &c->t[c->n_t];
    memset(e, 0, sizeof(*e));
    e->name = ww_onnx_strdup(name);
    if (!e->name) return -1;
    e->kind = kind;
    e->share = -1;
    e->axis = -1;
    e->in_tq = e->w_tq = -1;
    e->node = -1;
    return (long)c->n_t++;
}

static int is_float_init(ctx *c, const char *name)
{
    Onnx__TensorProto *t = ww_onnx_find_init(c->g, name);
    return t && t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
}

/* ORT's quantize_activation_tensor: float activations get a Q->DQ pair,
 * float constants are quantized like weights (per tensor). */
static int quantize_tensor(ctx *c, const char *name)
{
    if (!name || !*name) return WW_OK;
    if (ww_onnx_find_init(c->g, name)) {
        if (!is_float_init(c, name)) return WW_OK;
        long i = tq_add(c, name, TQ_WEIGHT);
        return i < 0 ? oom(c) : WW_OK;
    }
    if (!c->stats(c->user, name)) return WW_OK; /* not a float tensor */
    return tq_add(c, name, TQ_ACT) < 0 ? oom(c) : WW_OK;
}

static int is_act_quantized(ctx *c, const char *name)
{
    long i = tq_find(c, name);
    return i >= 0 && c->t[i].kind == TQ_ACT;
}

static int excluded(ctx *c, const Onnx__NodeProto *n)
{
    for (size_t i = 0; i < c->opt->n_exclude; i++)
        if (n->name && !strcmp(n->name, c->opt->exclude[i])) return 1;
    return 0;
}

static int in_list(const char *op, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(op, *list)) return 1;
    return 0;
}

static const char *const weighted_ops[] = {"Conv", "Gemm", "MatMul", NULL};
static const char *const removable_ops[] = {"Relu", "Clip", NULL};
static const char *const direct_ops[] = {"MaxPool", "AveragePool", "Reshape", "Transpose",
                                         "Squeeze", "Unsqueeze",   NULL};
/* ORT's QDQNormalization also quantizes scale and bias as weights; here
 * they stay float (the op still runs between DQ and Q). */
static const char *const norm_ops[] = {"BatchNormalization", "InstanceNormalization",
                                       "LayerNormalization", NULL};
static const char *const generic_ops[] = {"Add", "Mul", "Concat", "GlobalAveragePool", NULL};

static int note_float(ctx *c, const Onnx__NodeProto *n, const char *why)
{
    ww_qdq_result *r = c->res;
    void *p = realloc(r->float_nodes, (r->n_float_nodes + 1) * sizeof(*r->float_nodes));
    if (!p) return oom(c);
    r->float_nodes = p;
    ww_qdq_float_node *f = &r->float_nodes[r->n_float_nodes];
    f->name = ww_onnx_strdup(n->name ? n->name : "");
    f->op_type = ww_onnx_strdup(n->op_type);
    f->why = why;
    if (!f->name || !f->op_type) {
        free(f->name);
        free(f->op_type);
        return oom(c);
    }
    r->n_float_nodes++;
    return WW_OK;
}

static int plan_weighted(ctx *c, Onnx__NodeProto *n, long idx)
{
    int rc;
    if ((rc = quantize_tensor(c, n->input[0]))) return rc;
    if (n->n_input > 1) {
        const char *w = n->input[1];
        if (is_float_init(c, w)) {
            long i = tq_add(c, w, TQ_WEIGHT);
            if (i < 0) return oom(c);
            int axis = 0;
            if (!strcmp(n->op_type, "Gemm")) {
                Onnx__AttributeProto *tb = find_attr(n, "transB");
                axis = tb && tb->i ? 0 : 1;
            } else if (!strcmp(n->op_type, "MatMul")) {
                Onnx__TensorProto *t = ww_onnx_find_init(c->g, w);
                axis = t->n_dims >= 2 ? (int)t->n_dims - 1 : 0;
            }
            c->t[i].axis = c->opt->per_channel ? axis : -1;
        } else if ((rc = quantize_tensor(c, w))) {
            return rc;
        }
    }
    if (n->n_input > 2 && *n->input[2] && is_float_init(c, n->input[2]) &&
        strcmp(n->op_type, "MatMul")) {
        long b = tq_add(c, n->input[2], TQ_BIAS);
        if (b < 0) return oom(c);
        c->t[b].node = idx;
        for (size_t k = 0; k < (size_t)b; k++)
            if (c->t[k].kind == TQ_BIAS && !strcmp(c->t[k].name, n->input[2]))
                c->t[k].shared = c->t[b].shared = 1;
        c->t[b].in_tq = (int)tq_find(c, n->input[0]);
        c->t[b].w_tq = (int)tq_find(c, n->input[1]);
        if (!strcmp(n->op_type, "Gemm")) { /* ORT folds beta into the bias */
            Onnx__AttributeProto *beta = find_attr(n, "beta");
            if (beta && beta->has_f && beta->f != 1.0f) {
                Onnx__TensorProto *t = ww_onnx_find_init(c->g, n->input[2]);
                size_t cnt = ww_onnx_tensor_count(t);
                float *d;
                if ((rc = ww_onnx_init_floats(t, c->name, &d, &cnt, c->err))) return rc;
                for (size_t k = 0; k < cnt; k++) d[k] *= beta->f;
                if (t->has_raw_data && t->raw_data.len == cnt * 4)
                    memcpy(t->raw_data.data, d, cnt * 4);
                else
                    memcpy(t->float_data, d, cnt * 4);
                free(d);
                beta->f = 1.0f;
            }
        }
    }
    for (size_t k = 0; k < n->n_output; k++)
        if ((rc = quantize_tensor(c, n->output[k]))) return rc;
    c->res->n_quantized_nodes++;
    return WW_OK;
}

/* ORT's try_replacing_upstream_output: the producer of `up` writes `out`
 * instead, when nothing else reads `up`. */
static int try_replace_upstream(ctx *c, const char *up, const char *out, int *done)
{
    *done = 0;
    if (!c->stats(c->user, out)) return WW_OK;
    if (n_consumers(c, up) != 1 || is_graph_output(c, up) || is_graph_input(c, up)) return WW_OK;
    long p = producer(c, up);
    if (p < 0) return WW_OK;
    Onnx__NodeProto *pn = c->g->node[p];
    for (size_t k = 0; k < pn->n_output; k++)
        if (!strcmp(pn->output[k], up) && set_str(&pn->output[k], out)) return oom(c);
    long i = tq_find(c, up);
    if (i >= 0) c->t[i].removed = 1;
    *done = 1;
    return WW_OK;
}

static int plan_node(ctx *c, size_t idx)
{
    Onnx__NodeProto *n = c->g->node[idx];
    const char *op = n->op_type;
    int rc;
    if (excluded(c, n)) return note_float(c, n, "excluded");
    if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx"))
        return note_float(c, n, "custom domain");
    if (in_list(op, weighted_ops)) return plan_weighted(c, n, (long)idx);
    if (in_list(op, removable_ops)) {
        if (!is_act_quantized(c, n->input[0])) return note_float(c, n, "input not quantized");
        int done = 0;
        if (!c->opt->symmetric_activations &&
            (rc = try_replace_upstream(c, n->input[0], n->output[0], &done)))
            return rc;
        if (done) {
            c->removed_node[idx] = 1;
            c->res->n_removed_activations++;
        } else if ((rc = quantize_tensor(c, n->input[0]))) {
            return rc;
        } else {
            c->res->n_quantized_nodes++;
        }
        return quantize_tensor(c, n->output[0]);
    }
    if (in_list(op, direct_ops)) {
        long in = tq_find(c, n->input[0]);
        if (in < 0 || c->t[in].kind != TQ_ACT || !c->stats(c->user, n->output[0]))
            return note_float(c, n, "input not quantized");
        long o = tq_add(c, n->output[0], TQ_ACT);
        if (o < 0) return oom(c);
        c->t[o].share = (int)in;
        c->res->n_quantized_nodes++;
        return WW_OK;
    }
    if (in_list(op, norm_ops)) { /* activation in and out; the statistics stay float */
        if ((rc = quantize_tensor(c, n->input[0]))) return rc;
        if ((rc = quantize_tensor(c, n->output[0]))) return rc;
        c->res->n_quantized_nodes++;
        return WW_OK;
    }
    if (in_list(op, generic_ops)) {
        for (size_t k = 0; k < n->n_input; k++)
            if ((rc = quantize_tensor(c, n->input[k]))) return rc;
        for (size_t k = 0; k < n->n_output; k++)
            if ((rc = quantize_tensor(c, n->output[k]))) return rc;
        c->res->n_quantized_nodes++;
        return WW_OK;
    }
    return note_float(c, n, "no int8 form");
}

/* ---- parameters ---- */

static int resolve_act(ctx *c, size_t i, int depth)
{
    tq *e = &c->t[i];
    if (e->kind != TQ_ACT || e->qp.scale > 0) return WW_OK;
    if (e->share >= 0 && depth < 64) {
        int rc = resolve_act(c, (size_t)e->share, depth + 1);
        if (rc) return rc;
        e->qp = c->t[e->share].qp;
        e->lo = c->t[e->share].lo;
        e->hi = c->t[e->share].hi;
        return WW_OK;
    }
    const ww_observer *o = c->stats(c->user, e->name);
    if (!o)
        return ww_fail(c->err, WW_EINVAL, "%s: no calibration statistics for tensor '%s'", c->name,
                       e->name);
    ww_calib_options co = c->opt->calib;
    co.levels = 255;
    /* A graph output keeps its whole range whatever the method: clipping it
     * changes the model's decisions directly, and with a few values per
     * window its histogram is too thin for KL or MSE (entropy clipped the
     * full-width ResNet18's logits to 40% of their range: 8 dB). ORT clips
     * outputs like any tensor; this is a deliberate difference. */
    if (is_graph_output(c, e->name)) co.method = WW_CALIB_MINMAX;
    int rc = ww_observer_range(o, &co, &e->lo, &e->hi, c->err);
    if (rc) return ww_error_prefix(c->err, rc, e->name);
    e->qp = ww_qparams_activation(e->lo, e->hi, c->opt->symmetric_activations);
    return WW_OK;
}

static int emit_weight(ctx *c, tq *e)
{
    Onnx__TensorProto *t = ww_onnx_find_init(c->g, e->name);
    float *w;
    size_t n;
    int rc = ww_onnx_init_floats(t, c->name, &w, &n, c->err);
    if (rc) return rc;
    int ndim = (int)t->n_dims;
    int axis = e->axis >= 0 && e->axis < ndim ? e->axis : -1;
    size_t ch = ww_weight_channels(ndim, t->dims, axis, axis >= 0);
    int8_t *q = malloc(n ? n : 1);
    e->scales = malloc(ch * sizeof(float));
    float *deq = malloc((n ? n : 1) * sizeof(float));
    int8_t *zp = calloc(ch, 1);
    char *qn = ww_onnx_cat(e->name, "_quantized"), *sn = ww_onnx_cat(e->name, "_scale"),
         *zn = ww_onnx_cat(e->name, "_zero_point"), *dn = ww_onnx_cat(e->name, "_DequantizeLinear"),
         *on = ww_onnx_cat(e->name, "_DequantizeLinear_Output");
    if (!q || !e->scales || !deq || !zp || !qn || !sn || !zn || !dn || !on) {
        rc = oom(c);
        goto out;
    }
    e->n_scales = ch;
    ww_quantize_weights(w, n, ndim, t->dims, axis, axis >= 0, c->opt->weight_clip_pct, q,
                        e->scales);
    size_t inner = 1;
    if (ch > 1)
        for (int d = axis + 1; d < ndim; d++) inner *= (size_t)t->dims[d];
    for (size_t i = 0; i < n; i++) deq[i] = q[i] * e->scales[ch > 1 ? (i / inner) % ch : 0];
    int64_t chd = (int64_t)ch;
    if ((rc = add_init(
             c, make_tensor(qn, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, t->n_dims, t->dims, q, n))) ||
        (rc = add_init(c, make_tensor(sn, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ch > 1, &chd,
                                      e->scales, ch * sizeof(float)))) ||
        (rc = add_init(
             c, make_tensor(zn, ONNX__TENSOR_PROTO__DATA_TYPE__INT8, ch > 1, &chd, zp, ch))) ||
        (rc = add_node(c, make_qnode("DequantizeLinear", dn, qn, sn, zn, on, ch > 1 ? axis : -1))))
        goto out;
    ww_qdq_result *r = c->res;
    void *p = realloc(r->weights, (r->n_weights + 1) * sizeof(*r->weights));
    if (!p) {
        rc = oom(c);
        goto out;
    }
    r->weights = p;
    r->weights[r->n_weights].name = ww_onnx_strdup(e->name);
    r->weights[r->n_weights].channels = (int)ch;
    r->weights[r->n_weights].sqnr_db = ww_sqnr_db(w, deq, n);
    if (!r->weights[r->n_weights].name) {
        rc = oom(c);
        goto out;
    }
    r->n_weights++;
out:
    free(w);
    free(q);
    free(deq);
    free(zp);
    free(qn);
    free(sn);
    free(zn);
    free(dn);
    free(on);
    return rc;
}

/* A shared bias is quantized per node (each has its own scale), so its
 * names carry the node's index. */
static char *bias_base(const tq *e)
{
    if (!e->shared) return ww_onnx_strdup(e->name);
    size_t n = strlen(e->name) + 24;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s_node%ld", e->name, e->node);
    return s;
}

static int emit_bias(ctx *c, tq *e)
{
    tq *in = &c->t[e->in_tq], *wt = &c->t[e->w_tq];
    Onnx__TensorProto *t = ww_onnx_find_init(c->g, e->name);
    float *b;
    size_t n;
    int rc = ww_onnx_init_floats(t, c->name, &b, &n, c->err);
    if (rc) return rc;
    size_t ch = wt->n_scales > 1 ? wt->n_scales : 1;
    if (ch > 1 && ch != n) {
        free(b);
        return ww_fail(c->err, WW_EFORMAT, "%s: bias '%s' has %zu values for %zu output channels",
                       c->name, e->name, n, ch);
    }
    int32_t *q = malloc((n ? n : 1) * sizeof(int32_t));
    float *sc = malloc(ch * sizeof(float));
    int32_t *zp = calloc(ch, sizeof(int32_t));
    char *base = bias_base(e);
    if (!base) {
        free(b);
        return oom(c);
    }
    char *qn = ww_onnx_cat(base, "_quantized"), *sn = ww_onnx_cat(base, "_quantized_scale"),
         *zn = ww_onnx_cat(base, "_quantized_zero_point"),
         *dn = ww_onnx_cat(base, "_DequantizeLinear"),
         *on = ww_onnx_cat(base, "_DequantizeLinear_Output");
    free(base);
    if (!q || !sc || !zp || !qn || !sn || !zn || !dn || !on) {
        rc = oom(c);
        goto out;
    }
    for (size_t k = 0; k < ch; k++) sc[k] = in->qp.scale * wt->scales[k];
    for (size_t i = 0; i < n; i++) {
        double v = nearbyint((double)b[i] / sc[ch > 1 ? i : 0]);
        q[i] = (int32_t)fmin(fmax(v, -2147483647.0), 2147483647.0);
    }
    int64_t chd = (int64_t)ch;
    if ((rc = add_init(c, make_tensor(qn, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, t->n_dims, t->dims,
                                      q, n * 4))) ||
        (rc = add_init(
             c, make_tensor(sn, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ch > 1, &chd, sc, ch * 4))) ||
        (rc = add_init(
             c, make_tensor(zn, ONNX__TENSOR_PROTO__DATA_TYPE__INT32, ch > 1, &chd, zp, ch * 4))) ||
        (rc = add_node(c, make_qnode("DequantizeLinear", dn, qn, sn, zn, on, ch > 1 ? 0 : -1))))
        goto out;
out:
    free(b);
    free(q);
    free(sc);
    free(zp);
    free(qn);
    free(sn);
    free(zn);
    free(dn);
    free(on);
    return rc;
}

/* Q->DQ for an activation. `src` is the tensor the Q reads (the producer's
 * output), `dq_out` what the DQ writes. */
static int emit_act(ctx *c, tq *e, const char *src, const char *dq_out)
{
    char *sn = ww_onnx_cat(e->name, "_scale"), *zn = ww_onnx_cat(e->name, "_zero_point"),
         *qname = ww_onnx_cat(e->name, "_QuantizeLinear"),
         *qout = ww_onnx_cat(e->name, "_QuantizeLinear_Output"),
         *dname = ww_onnx_cat(e->name, "_DequantizeLinear");
    int rc = WW_OK;
    if (!sn || !zn || !qname || !qout || !dname) {
        rc = oom(c);
        goto out;
    }
    int dt = e->qp.is_signed ? ONNX__TENSOR_PROTO__DATA_TYPE__INT8
                             : ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    uint8_t zpb =
        (uint8_t)(e->qp.is_signed ? (uint8_t)(int8_t)e->qp.zero_point : (uint8_t)e->qp.zero_point);
    if ((rc = add_init(
             c, make_tensor(sn, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &e->qp.scale, 4))) ||
        (rc = add_init(c, make_tensor(zn, dt, 0, NULL, &zpb, 1))) ||
        (rc = add_node(c, make_qnode("QuantizeLinear", qname, src, sn, zn, qout, -1))) ||
        (rc = add_node(c, make_qnode("DequantizeLinear", dname, qout, sn, zn, dq_out, -1))))
        goto out;
    ww_qdq_result *r = c->res;
    void *p = realloc(r->acts, (r->n_acts + 1) * sizeof(*r->acts));
    if (!p) {
        rc = oom(c);
        goto out;
    }
    r->acts = p;
    ww_qdq_act *a = &r->acts[r->n_acts];
    a->name = ww_onnx_strdup(e->name);
    a->dq_name = ww_onnx_strdup(dq_out);
    a->scale = e->qp.scale;
    a->zero_point = e->qp.zero_point;
    a->lo = e->lo;
    a->hi = e->hi;
    if (!a->name || !a->dq_name) {
        free(a->name);
        free(a->dq_name);
        rc = oom(c);
        goto out;
    }
    r->n_acts++;
out:
    free(sn);
    free(zn);
    free(qname);
    free(qout);
    free(dname);
    return rc;
}

/* The name consumers read for a quantized activation. */
static char *dq_name_of(ctx *c, const tq *e)
{
    return is_graph_output(c, e->name) ? ww_onnx_strdup(e->name)
                                       : ww_onnx_cat(e->name, "_DequantizeLinear_Output");
}

static int emit_graph(ctx *c)
{
    int rc;
    /* graph inputs first */
    for (size_t i = 0; i < c->g->n_input; i++) {
        long k = tq_find(c, c->g->input[i]->name);
        if (k < 0 || c->t[k].kind != TQ_ACT) continue;
        char *dq = dq_name_of(c, &c->t[k]);
        if (!dq) return oom(c);
        rc = emit_act(c, &c->t[k], c->t[k].name, dq);
        free(dq);
        if (rc) return rc;
    }
    for (size_t i = 0; i < c->g->n_node; i++) {
        Onnx__NodeProto *n = c->g->node[i];
        if (c->removed_node[i]) continue;
        for (size_t j = 0; j < n->n_input; j++) {
            if (!*n->input[j]) continue;
            long k = tq_find_bias(c, n->input[j], (long)i);
            if (k < 0) k = tq_find(c, n->input[j]);
            if (k < 0) continue;
            tq *e = &c->t[k];
            if (e->kind == TQ_BIAS && e->skip) continue;
            if (e->kind != TQ_ACT && !e->emitted) {
                rc = e->kind == TQ_WEIGHT ? emit_weight(c, e) : emit_bias(c, e);
                if (rc) return rc;
                e->emitted = 1;
            }
            char *dq;
            if (e->kind == TQ_ACT) {
                dq = dq_name_of(c, e);
            } else if (e->kind == TQ_BIAS) {
                char *base = bias_base(e);
                dq = base ? ww_onnx_cat(base, "_DequantizeLinear_Output") : NULL;
                free(base);
            } else {
                dq = ww_onnx_cat(e->name, "_DequantizeLinear_Output");
            }
            if (!dq) return oom(c);
            free(n->input[j]);
            n->input[j] = dq;
        }
        /* the node moves to the new list; the old array no longer owns it */
        if ((rc = add_node(c, n))) return rc;
        c->g->node[i] = NULL;
        for (size_t j = 0; j < n->n_output; j++) {
            long k = tq_find(c, n->output[j]);
            if (k < 0 || c->t[k].kind != TQ_ACT) continue;
            tq *e = &c->t[k];
            if (is_graph_output(c, e->name)) {
                char *src = ww_onnx_cat(e->name, "_QuantizeLinear_Input");
                if (!src) return oom(c);
                free(n->output[j]);
                n->output[j] = src;
                rc = emit_act(c, e, src, e->name);
            } else {
                char *dq = dq_name_of(c, e);
                if (!dq) return oom(c);
                rc = emit_act(c, e, e->name, dq);
                free(dq);
            }
            if (rc) return rc;
        }
    }
    return WW_OK;
}

static int check_model(ctx *c)
{
    Onnx__GraphProto *g = c->g;
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        if (!n->op_type || !n->n_output)
            return ww_fail(c->err, WW_EFORMAT, "%s: node %zu has no op type or output", c->name, i);
        for (size_t k = 0; k < n->n_input; k++)
            if (!n->input[k]) return ww_fail(c->err, WW_EFORMAT, "%s: bad node input", c->name);
        if (ww_qdq_is_quantized_op(n->op_type))
            return ww_fail(c->err, WW_EUNSUPPORTED,
                           "%s: the model is already quantized (node '%s' is %s); quantize the "
                           "float model",
                           c->name, n->name ? n->name : "", n->op_type);
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        int dt = g->initializer[i]->data_type;
        if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 ||
            dt == ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16)
            return ww_fail(c->err, WW_EUNSUPPORTED,
                           "%s: initializer '%s' is float16; quantize the float32 model", c->name,
                           g->initializer[i]->name ? g->initializer[i]->name : "");
    }
    return WW_OK;
}

/* Per-axis DequantizeLinear needs opset 13; the ops a ResNet export uses mean
 * the same at 11 and 13, so older models are lifted when that is all they use. */
static int ensure_opset(ctx *c)
{
    static const char *const same_at_13[] = {"Conv",
                                             "Relu",
                                             "Add",
                                             "MaxPool",
                                             "GlobalAveragePool",
                                             "AveragePool",
                                             "Flatten",
                                             "Gemm",
                                             "MatMul",
                                             "Identity",
                                             "Mul",
                                             "Sub",
                                             "Div",
                                             "Clip",
                                             "Reshape",
                                             "Concat",
                                             "Transpose",
                                             "BatchNormalization",
                                             "Constant",
                                             "Shape",
                                             "Gather",
                                             "Cast",
                                             "ReduceMean",
                                             NULL};
    for (size_t i = 0; i < c->m->n_opset_import; i++) {
        Onnx__OperatorSetIdProto *o = c->m->opset_import[i];
        if (o->domain && *o->domain && strcmp(o->domain, "ai.onnx")) continue;
        if (o->version >= 13) return WW_OK;
        for (size_t k = 0; k < c->g->n_node; k++)
            if (!in_list(c->g->node[k]->op_type, same_at_13))
                return ww_fail(c->err, WW_EUNSUPPORTED,
                               "%s: opset %lld is older than 13 (needed for per-channel "
                               "DequantizeLinear) and op %s changed since; re-export with "
                               "opset_version=13 or later",
                               c->name, (long long)o->version, c->g->node[k]->op_type);
        o->version = 13;
        o->has_version = 1;
        return WW_OK;
    }
    return ww_fail(c->err, WW_EFORMAT, "%s: no default-domain opset_import", c->name);
}

static int add_metadata(ctx *c)
{
    const ww_qdq_options *o = c->opt;
    if (ww_onnx_set_meta(c->m, o->meta_keys, o->meta_values, o->n_meta)) return oom(c);
    return WW_OK;
}

/* Installs the new node and initializer lists; drops the float weights that
 * were replaced, the Relus that were folded, and value_info (stale names). */
static int install(ctx *c)
{
    Onnx__GraphProto *g = c->g;
    for (size_t i = 0; i < g->n_node; i++)
        if (g->node[i]) onnx__node_proto__free_unpacked(g->node[i], NULL);
    free(g->node);
    g->node = c->nodes;
    g->n_node = c->n_nodes;
    c->nodes = NULL;
    c->n_nodes = c->cap_nodes = 0;

    /* old IR versions list initializers among the inputs too: drop the
     * entries of initializers that are going away */
    size_t ki = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        const char *nm = g->input[i]->name ? g->input[i]->name : "";
        if (ww_onnx_find_init(c->g, nm) && !ww_onnx_referenced(g, nm))
            onnx__value_info_proto__free_unpacked(g->input[i], NULL);
        else
            g->input[ki++] = g->input[i];
    }
    g->n_input = ki;
    size_t keep = 0;
    for (size_t i = 0; i < g->n_initializer; i++) {
        Onnx__TensorProto *t = g->initializer[i];
        int replaced = t->name && !ww_onnx_referenced(g, t->name);
        if (replaced)
            onnx__tensor_proto__free_unpacked(t, NULL);
        else
            g->initializer[keep++] = t;
    }
    g->n_initializer = keep;
    for (size_t i = 0; i < c->n_inits; i++) {
        void *p = realloc(g->initializer, (g->n_initializer + 1) * sizeof(*g->initializer));
        if (!p) return oom(c);
        g->initializer = p;
        g->initializer[g->n_initializer++] = c->inits[i];
        c->inits[i] = NULL;
    }
    c->n_inits = 0;
    for (size_t i = 0; i < g->n_value_info; i++)
        onnx__value_info_proto__free_unpacked(g->value_info[i], NULL);
    free(g->value_info);
    g->value_info = NULL;
    g->n_value_info = 0;
    return WW_OK;
}

int ww_qdq_quantize(const void *model, size_t len, const char *name, const ww_qdq_options *opt,
                    ww_qdq_stats_fn stats, void *user, ww_qdq_result *res, ww_error *err)
{
    memset(res, 0, sizeof(*res));
    ctx c = {0};
    c.opt = opt;
    c.stats = stats;
    c.user = user;
    c.name = name;
    c.err = err;
    c.res = res;
    int urc = ww_onnx_unpack_model(model, len, name, &c.m, err);
    if (urc) return urc;
    c.g = c.m->graph;
    int rc = check_model(&c);
    if (!rc) rc = ensure_opset(&c);
    if (!rc) {
        c.removed_node = calloc(c.g->n_node + 1, sizeof(int));
        if (!c.removed_node) rc = oom(&c);
    }
    for (size_t i = 0; !rc && i < c.g->n_node; i++) rc = plan_node(&c, i);
    /* activations first: bias scales need the input scales */
    for (size_t i = 0; !rc && i < c.n_t; i++)
        if (!c.t[i].removed) rc = resolve_act(&c, i, 0);
    for (size_t i = 0; !rc && i < c.n_t; i++) {
        tq *e = &c.t[i];
        if (e->kind != TQ_BIAS) continue;
        /* a bias needs a quantized input and weight, else it stays float */
        if (e->in_tq < 0 || e->w_tq < 0 || c.t[e->in_tq].kind != TQ_ACT ||
            c.t[e->w_tq].kind != TQ_WEIGHT)
            e->skip = 1;
    }
    /* weights before biases in emission order: emit_graph meets a node's
     * inputs in order (X, W, B), so W's scales exist when B is quantized */
    if (!rc) rc = emit_graph(&c);
    if (!rc) rc = install(&c);
    if (!rc) rc = add_metadata(&c);
    if (!rc) {
        if (!c.m->has_ir_version || c.m->ir_version < 7) {
            c.m->has_ir_version = 1;
            c.m->ir_version = 7;
        }
        res->size = onnx__model_proto__get_packed_size(c.m);
        res->data = malloc(res->size ? res->size : 1);
        if (!res->data)
            rc = oom(&c);
        else
            onnx__model_proto__pack(c.m, res->data);
    }
    /* nodes moved into c.nodes but not installed (an error midway) */
    for (size_t i = 0; i < c.n_nodes; i++) onnx__node_proto__free_unpacked(c.nodes[i], NULL);
    if (c.nodes && c.g) {
        /* moved nodes were NULLed in g->node; free_unpacked skips nothing, so
         * compact the array to the ones still owned */
        size_t k = 0;
        for (size_t i = 0; i < c.g->n_node; i++)
            if (c.g->node[i]) c.g->node[k++] = c.g->node[i];
        c.g->n_node = k;
    }
    free(c.nodes);
    for (size_t i = 0; i < c.n_inits; i++) onnx__tensor_proto__free_unpacked(c.inits[i], NULL);
    free(c.inits);
    for (size_t i = 0; i < c.n_t; i++) {
        free(c.t[i].name);
        free(c.t[i].scales);
    }
    free(c.t);
    free(c.removed_node);
    onnx__model_proto__free_unpacked(c.m, NULL);
    if (rc) ww_qdq_result_free(res);
    return rc;
}

void ww_qdq_result_free(ww_qdq_result *res)
{
    free(res->data);
    for (size_t i = 0; i < res->n_weights; i++) free(res->weights[i].name);
    free(res->weights);
    for (size_t i = 0; i < res->n_acts; i++) {
        free(res->acts[i].name);
        free(res->acts[i].dq_name);
    }
    free(res->acts);
    for (size_t i = 0; i < res->n_float_nodes; i++) {
        free(res->float_nodes[i].name);
        free(res->float_nodes[i].op_type);
    }
    free(res->float_nodes);
    memset(res, 0, sizeof(*res));
}
