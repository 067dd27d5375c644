/* Works on the unpacked protobuf-c tree in place; everything added is its own
 * malloc'd block so onnx__model_proto__free_unpacked() frees it (see qdq.c).
 * Names follow ORT: X_quantized / X_scale / X_zero_point for the dynamic
 * quantization of X, W_quantized / W_scale / W_zero_point for a weight,
 * Y_output_quantized for the integer op's output. */
#include "quant/dynamic.h"

#include "quant/onnx_edit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "quant/qdq.h"

typedef struct dctx {
    Onnx__GraphProto *g;
    const char *name;
    ww_error *err;
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    char **done; /* activations and weights already quantized */
    size_t n_done;
} dctx;

static int oom(dctx *c)
{
    return ww_fail(c->err, WW_ENOMEM, "%s: out of memory while quantizing", c->name);
}

static int push_node(dctx *c, Onnx__NodeProto *n)
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

/* A node with the given inputs and outputs; to >= 0 adds Cast's "to". */
static Onnx__NodeProto *make_node(const char *op, const char *name, size_t n_in,
                                  const char *const *in, size_t n_out, const char *const *out,
                                  int to)
{
    Onnx__NodeProto *n = malloc(sizeof(*n));
    if (!n) return NULL;
    onnx__node_proto__init(n);
    int ok = (n->op_type = ww_onnx_cat(op, "")) && (n->name = ww_onnx_cat(name, "")) &&
             (n->input = calloc(n_in, sizeof(char *))) &&
             (n->output = calloc(n_out, sizeof(char *)));
    for (size_t i = 0; ok && i < n_in; i++)
        ok = (n->input[n->n_input++] = ww_onnx_cat(in[i], "")) != NULL;
    for (size_t i = 0; ok && i < n_out; i++)
        ok = (n->output[n->n_output++] = ww_onnx_cat(out[i], "")) != NULL;
    if (ok && to >= 0) {
        Onnx__AttributeProto *a = malloc(sizeof(*a));
        ok = a && (n->attribute = malloc(sizeof(*n->attribute)));
        if (ok) {
            onnx__attribute_proto__init(a);
            n->attribute[0] = a;
            n->n_attribute = 1;
            a->has_type = a->has_i = 1;
            a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
            a->i = to;
            ok = (a->name = ww_onnx_cat("to", "")) != NULL;
        } else {
            free(a);
        }
    }
    if (!ok) {
        onnx__node_proto__free_unpacked(n, NULL);
        return NULL;
    }
    return n;
}

static int add_init(dctx *c, const char *name, int dtype, size_t ndim, const int64_t *dims,
                    const void *data, size_t bytes)
{
    Onnx__TensorProto *t = malloc(sizeof(*t));
    if (!t) return oom(c);
    onnx__tensor_proto__init(t);
    t->name = ww_onnx_cat(name, "");
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = ndim;
    t->dims = ndim ? malloc(ndim * sizeof(int64_t)) : NULL;
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = malloc(bytes ? bytes : 1);
    void *p = realloc(c->g->initializer, (c->g->n_initializer + 1) * sizeof(*c->g->initializer));
    if (!t->name || (ndim && !t->dims) || !t->raw_data.data || !p) {
        if (p) c->g->initializer = p;
        onnx__tensor_proto__free_unpacked(t, NULL);
        return oom(c);
    }
    if (ndim) memcpy(t->dims, dims, ndim * sizeof(int64_t));
    memcpy(t->raw_data.data, data, bytes);
    c->g->initializer = p;
    c->g->initializer[c->g->n_initializer++] = t;
    return WW_OK;
}

static int is_done(dctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_done; i++)
        if (!strcmp(c->done[i], name)) return 1;
    return 0;
}

static int mark_done(dctx *c, const char *name)
{
    void *p = realloc(c->done, (c->n_done + 1) * sizeof(char *));
    if (!p) return oom(c);
    c->done = p;
    if (!(c->done[c->n_done] = ww_onnx_cat(name, ""))) return oom(c);
    c->n_done++;
    return WW_OK;
}

/* uint8 asymmetric per tensor, as ORT's QUInt8 weights */
static int quantize_weight(dctx *c, const Onnx__TensorProto *t)
{
    if (is_done(c, t->name)) return WW_OK;
    float *w;
    size_t n;
    int rc = ww_onnx_init_floats(t, c->name, &w, &n, c->err);
    if (rc) return rc;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = fmin(lo, w[i]);
        hi = fmax(hi, w[i]);
    }
    float scale = hi > lo ? (float)((hi - lo) / 255) : 1.0f;
    uint8_t zp = (uint8_t)fmin(fmax(nearbyint(-lo / scale), 0), 255);
    uint8_t *q = malloc(n ? n : 1);
    char *qn = ww_onnx_cat(t->name, "_quantized"), *sn = ww_onnx_cat(t->name, "_scale"),
         *zn = ww_onnx_cat(t->name, "_zero_point");
    if (!q || !qn || !sn || !zn) {
        rc = oom(c);
    } else {
        for (size_t i = 0; i < n; i++)
            q[i] = (uint8_t)fmin(fmax(nearbyint((double)w[i] / scale) + zp, 0), 255);
        if (!(rc = add_init(c, qn, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, t->n_dims, t->dims, q,
                            n)) &&
            !(rc = add_init(c, sn, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL, &scale, 4)) &&
            !(rc = add_init(c, zn, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, 0, NULL, &zp, 1)))
            rc = mark_done(c, t->name);
    }
    free(w);
    free(q);
    free(qn);
    free(sn);
    free(zn);
    return rc;
}

static int excluded(const Onnx__NodeProto *n, const char *const *ex, size_t n_ex)
{
    for (size_t i = 0; i < n_ex; i++)
        if (n->name && !strcmp(n->name, ex[i])) return 1;
    return 0;
}

/* Rewrites one Conv/MatMul in place and appends it with its helpers. */
static int rewrite(dctx *c, Onnx__NodeProto **slot, int is_conv, size_t idx)
{
    Onnx__NodeProto *n = *slot;
    const char *x = n->input[0];
    Onnx__TensorProto *w = ww_onnx_find_init(c->g, n->input[1]);
    Onnx__TensorProto *b =
        is_conv && n->n_input > 2 && *n->input[2] ? ww_onnx_find_init(c->g, n->input[2]) : NULL;
    char *xq = ww_onnx_cat(x, "_quantized"), *xs = ww_onnx_cat(x, "_scale"),
         *xz = ww_onnx_cat(x, "_zero_point"), *wq = ww_onnx_cat(w->name, "_quantized"),
         *ws = ww_onnx_cat(w->name, "_scale"), *wz = ww_onnx_cat(w->name, "_zero_point"),
         *y = ww_onnx_cat(n->output[0], ""), *yq = ww_onnx_cat(n->output[0], "_output_quantized"),
         *yc = ww_onnx_cat(n->output[0], "_output_quantized_cast_output"),
         *sm = ww_onnx_cat(n->output[0], "_scales_mul_output"),
         *ym = ww_onnx_cat(n->output[0], "_output_scale_mul_output"),
         *br = b ? ww_onnx_cat(b->name, "_reshaped") : NULL, *nm = NULL;
    int rc = WW_OK;
    char base[64];
    snprintf(base, sizeof base, "node%zu", idx);
    nm = ww_onnx_cat(n->name && *n->name ? n->name : base, "");
    if (!xq || !xs || !xz || !wq || !ws || !wz || !y || !yq || !yc || !sm || !ym || !nm ||
        (b && !br)) {
        rc = oom(c);
        goto out;
    }
    if (!is_done(c, x)) {
        const char *outs[] = {xq, xs, xz};
        char *dn = ww_onnx_cat(x, "_QuantizeLinear");
        rc = dn ? push_node(c, make_node("DynamicQuantizeLinear", dn, 1, &x, 3, outs, -1)) : oom(c);
        free(dn);
        if (!rc) rc = mark_done(c, x);
        if (rc) goto out;
    }
    if ((rc = quantize_weight(c, w))) goto out;
    /* the node itself becomes the integer op */
    char *op = ww_onnx_cat(is_conv ? "ConvInteger" : "MatMulInteger", "");
    char **in = calloc(4, sizeof(char *));
    if (!op || !in) {
        free(op);
        free(in);
        rc = oom(c);
        goto out;
    }
    in[0] = ww_onnx_cat(xq, "");
    in[1] = ww_onnx_cat(wq, "");
    in[2] = ww_onnx_cat(xz, "");
    in[3] = ww_onnx_cat(wz, "");
    for (size_t k = 0; k < n->n_input; k++) free(n->input[k]);
    free(n->input);
    n->input = in;
    n->n_input = 4;
    free(n->op_type);
    n->op_type = op;
    free(n->output[0]);
    n->output[0] = ww_onnx_cat(yq, "");
    if (!in[0] || !in[1] || !in[2] || !in[3] || !n->output[0]) {
        rc = oom(c);
        goto out;
    }
    if ((rc = push_node(c, n))) goto out;
    *slot = NULL; /* owned by c->nodes now */
    char *n1 = ww_onnx_cat(nm, "_output_quantized_cast"), *n2 = ww_onnx_cat(nm, "_scales_mul"),
         *n3 = ww_onnx_cat(nm, "_output_scale_mul"), *n4 = ww_onnx_cat(nm, "_bias_add");
    const char *cast_in[] = {yq}, *mul1_in[] = {xs, ws}, *mul2_in[] = {yc, sm},
               *add_in[] = {ym, br};
    const char *cast_out[] = {yc}, *mul1_out[] = {sm}, *mul2_out[] = {b ? ym : y}, *add_out[] = {y};
    if (!n1 || !n2 || !n3 || !n4)
        rc = oom(c);
    else if (!(rc = push_node(c, make_node("Cast", n1, 1, cast_in, 1, cast_out, 1))) &&
             !(rc = push_node(c, make_node("Mul", n2, 2, mul1_in, 1, mul1_out, -1))) &&
             !(rc = push_node(c, make_node("Mul", n3, 2, mul2_in, 1, mul2_out, -1))) && b) {
        /* the bias broadcasts over [N, C, H, W] as [C, 1, 1] */
        float *bd;
        size_t bn;
        if (!(rc = ww_onnx_init_floats(b, c->name, &bd, &bn, c->err))) {
            int64_t dims[3] = {(int64_t)bn, 1, 1};
            rc = add_init(c, br, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3, dims, bd, bn * 4);
            free(bd);
        }
        if (!rc) rc = push_node(c, make_node("Add", n4, 2, add_in, 1, add_out, -1));
    }
    free(n1);
    free(n2);
    free(n3);
    free(n4);
out:
    free(xq);
    free(xs);
    free(xz);
    free(wq);
    free(ws);
    free(wz);
    free(y);
    free(yq);
    free(yc);
    free(sm);
    free(ym);
    free(br);
    free(nm);
    return rc;
}

int ww_dynamic_quantize(const void *model, size_t len, const char *name, const char *const *exclude,
                        size_t n_exclude, const char *const *meta_keys,
                        const char *const *meta_values, size_t n_meta, ww_dynamic_result *res,
                        ww_error *err)
{
    memset(res, 0, sizeof(*res));
    Onnx__ModelProto *m;
    int urc = ww_onnx_unpack_model(model, len, name, &m, err);
    if (urc) return urc;
    dctx c = {m->graph, name, err, NULL, 0, 0, NULL, 0};
    Onnx__GraphProto *g = m->graph;
    int rc = WW_OK;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if ((!o->domain || !*o->domain) && o->version < 11)
            rc = ww_fail(err, WW_EUNSUPPORTED,
                         "%s: opset %lld is older than 11 (DynamicQuantizeLinear)", name,
                         (long long)o->version);
    }
    for (size_t i = 0; !rc && i < g->n_node; i++)
        if (ww_qdq_is_quantized_op(g->node[i]->op_type))
            rc = ww_fail(err, WW_EUNSUPPORTED,
                         "%s: the model is already quantized (node '%s' is %s); quantize the float "
                         "model",
                         name, g->node[i]->name ? g->node[i]->name : "", g->node[i]->op_type);
    for (size_t i = 0; !rc && i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        int conv = !strcmp(n->op_type, "Conv"), mm = !strcmp(n->op_type, "MatMul");
        Onnx__TensorProto *w =
            (conv || mm) && n->n_input > 1 ? ww_onnx_find_init(c.g, n->input[1]) : NULL;
        if (w && w->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT &&
            !excluded(n, exclude, n_exclude) && (!mm || w->n_dims == 2)) {
            rc = rewrite(&c, &g->node[i], conv, i);
            if (!rc) res->n_quantized++;
        } else {
            rc = push_node(&c, n);
            if (!rc) g->node[i] = NULL;
        }
    }
    if (!rc) {
        free(g->node);
        g->node = c.nodes;
        g->n_node = c.n_nodes;
        c.nodes = NULL;
        c.n_nodes = 0;
        /* float weights and biases nothing reads any more */
        size_t keep = 0;
        for (size_t i = 0; i < g->n_initializer; i++) {
            Onnx__TensorProto *t = g->initializer[i];
            if (t->name && !ww_onnx_referenced(g, t->name)) {
                for (size_t k = 0; k < g->n_input; k++)
                    if (g->input[k]->name && !strcmp(g->input[k]->name, t->name)) {
                        onnx__value_info_proto__free_unpacked(g->input[k], NULL);
                        g->input[k] = g->input[--g->n_input];
                        break;
                    }
                onnx__tensor_proto__free_unpacked(t, NULL);
            } else {
                g->initializer[keep++] = t;
            }
        }
        g->n_initializer = keep;
        for (size_t i = 0; i < g->n_value_info; i++)
            onnx__value_info_proto__free_unpacked(g->value_info[i], NULL);
        free(g->value_info);
        g->value_info = NULL;
        g->n_value_info = 0;
        if (ww_onnx_set_meta(m, meta_keys, meta_values, n_meta)) rc = oom(&c);
    }
    if (!rc) {
        res->size = onnx__model_proto__get_packed_size(m);
        res->data = malloc(res->size + 1);
        if (!res->data)
            rc = oom(&c);
        else
            onnx__model_proto__pack(m, res->data);
    }
    if (rc && c.nodes) { /* give moved nodes back to the graph so they are freed once */
        size_t k = 0;
        for (size_t i = 0; i < g->n_node; i++)
            if (g->node[i]) g->node[k++] = g->node[i];
        g->n_node = k;
        for (size_t i = 0; i < c.n_nodes; i++) onnx__node_proto__free_unpacked(c.nodes[i], NULL);
    }
    free(c.nodes);
    for (size_t i = 0; i < c.n_done; i++) free(c.done[i]);
    free(c.done);
    onnx__model_proto__free_unpacked(m, NULL);
    if (rc) {
        free(res->data);
        memset(res, 0, sizeof(*res));
    }
    return rc;
}
