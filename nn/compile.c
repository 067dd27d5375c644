/* From the ONNX protobuf to an executable graph for concrete input shapes:
 * tensors and nodes, topological order (cycles are an error), per-op shape
 * inference, constant folding, Identity removal, BatchNorm folding into Conv
 * and Conv+Add+Relu fusion. Planning the arena is nn/plan.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/qdq.h"

/* ---- name -> tensor index, open addressing ---- */
typedef struct name_map {
    const char **keys;
    int *vals;
    size_t cap;
} name_map;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int map_init(name_map *m, size_t n)
{
    m->cap = 16;
    while (m->cap < n * 2 + 16) m->cap *= 2;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->vals = calloc(m->cap, sizeof *m->vals);
    return m->keys && m->vals ? 0 : -1;
}

static int map_get(const name_map *m, const char *k)
{
    for (size_t i = hash_str(k) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return -1;
        if (!strcmp(m->keys[i], k)) return m->vals[i];
    }
}

/* The map is sized for every name up front, so it never fills. */
static void map_put(name_map *m, const char *k, int v)
{
    size_t i = hash_str(k) & (m->cap - 1);
    while (m->keys[i] && strcmp(m->keys[i], k)) i = (i + 1) & (m->cap - 1);
    m->keys[i] = k;
    m->vals[i] = v;
}

static void map_free(name_map *m)
{
    free(m->keys);
    free(m->vals);
}

static int is_default_domain(const char *d)
{
    return !d || !*d || !strcmp(d, "ai.onnx");
}

static int add_initializers(ww_graph *g, const Onnx__GraphProto *gp, name_map *map, ww_error *err)
{
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name)
            return ww_fail(err, WW_EFORMAT, "initializer %zu has no name", i);
        if (map_get(map, tp->name) >= 0)
            return ww_fail(err, WW_EFORMAT, "initializer '%s' is defined twice", tp->name);
        int idx = ww_graph_add_tensor(g, tp->name, err);
        if (idx < 0) return idx;
        ww_tensor *t = &g->t[idx];
        void *data;
        int owned;
        int rc = ww_tensor_view_proto(tp, t, &data, &owned, err);
        if (rc) return rc;
        t->data = data;
        t->owned = owned ? data : NULL;
        t->is_const = t->is_param = 1;
        map_put(map, tp->name, idx);
    }
    return 0;
}

static int add_inputs(ww_graph *g, const Onnx__GraphProto *gp, name_map *map, const int *ndims,
                      const int64_t *const *dims, const void *const *values, ww_error *err)
{
    int k = 0;
    g->inputs = calloc(gp->n_input + 1, sizeof *g->inputs);
    if (!g->inputs) return ww_fail(err, WW_ENOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !*vi->name)
            return ww_fail(err, WW_EFORMAT, "graph input %zu has no name", i);
        if (map_get(map, vi->name) >= 0) continue; /* an initializer listed as input */
        if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
            return ww_fail(err, WW_EUNSUPPORTED, "graph input '%s' is not a tensor", vi->name);
        int idx = ww_graph_add_tensor(g, vi->name, err);
        if (idx < 0) return idx;
        ww_tensor *t = &g->t[idx];
        int dt = vi->type->tensor_type->elem_type;
        if (ww_dtype_size(dt) == 0)
            return ww_fail(err, WW_EUNSUPPORTED, "graph input '%s': data type %s not supported",
                           vi->name, ww_dtype_name(dt));
        ww_node fake = {.name = vi->name, .op_type = "input"};
        int rc = ww_tensor_set_shape(t, (ww_dtype)dt, ndims[k], dims[k], &fake, err);
        if (rc) return rc;
        t->is_input = 1;
        if (values && values[k]) {
            rc = ww_tensor_alloc_const(t, err);
            if (rc) return rc;
            memcpy(t->data, values[k], t->count * ww_dtype_size(t->dtype));
        }
        map_put(map, vi->name, idx);
        g->inputs[k++] = idx;
    }
    g->n_inputs = k;
    return 0;
}

static int add_nodes(ww_graph *g, const Onnx__GraphProto *gp, name_map *map, ww_error *err)
{
    g->nodes = calloc(gp->n_node + 1, sizeof *g->nodes);
    if (!g->nodes) return ww_fail(err, WW_ENOMEM, "out of memory");
    g->nn = (int)gp->n_node;
    /* outputs first, so inputs may refer to nodes listed later (the order is
     * checked and fixed by the topological sort) */
    for (int i = 0; i < g->nn; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        ww_node *n = &g->nodes[i];
        n->proto = np;
        n->op_type = np->op_type ? np->op_type : "";
        n->name = np->name && *np->name           ? np->name
                  : np->n_output && np->output[0] ? np->output[0]
                                                  : n->op_type;
        n->residual = -1;
        if (!is_default_domain(np->domain))
            return ww_node_fail(err, n, WW_EUNSUPPORTED, "operator domain '%s' is not supported",
                                np->domain);
        if (np->n_input > 4096 || np->n_output > 64)
            return ww_node_fail(err, n, WW_EFORMAT, "too many inputs or outputs");
        n->n_in = (int)np->n_input;
        n->n_out = (int)np->n_output;
        n->in = calloc((size_t)n->n_in + 3, sizeof *n->in);
        n->out = calloc((size_t)n->n_out + 1, sizeof *n->out);
        if (!n->in || !n->out) return ww_fail(err, WW_ENOMEM, "out of memory");
        for (int j = 0; j < n->n_in + 3; j++) n->in[j] = -1;
        for (int j = 0; j < n->n_out; j++) {
            const char *name = np->output[j];
            if (!name || !*name) { /* an omitted optional output */
                int idx = ww_graph_add_tensor(g, "", err);
                if (idx < 0) return idx;
                g->t[idx].producer = i;
                n->out[j] = idx;
                continue;
            }
            if (map_get(map, name) >= 0)
                return ww_node_fail(err, n, WW_EFORMAT, "output '%s' is already defined", name);
            int idx = ww_graph_add_tensor(g, name, err);
            if (idx < 0) return idx;
            g->t[idx].producer = i;
            map_put(map, name, idx);
            n->out[j] = idx;
        }
    }
    for (int i = 0; i < g->nn; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        ww_node *n = &g->nodes[i];
        for (int j = 0; j < n->n_in; j++) {
            const char *name = np->input[j];
            if (!name || !*name) continue;
            int idx = map_get(map, name);
            if (idx < 0)
                return ww_node_fail(err, n, WW_EFORMAT,
                                    "input '%s' is not an initializer, graph input or node output",
                                    name);
            n->in[j] = idx;
        }
    }
    return 0;
}

static int add_outputs(ww_graph *g, const Onnx__GraphProto *gp, name_map *map, ww_error *err)
{
    g->outputs = calloc(gp->n_output + 1, sizeof *g->outputs);
    if (!g->outputs) return ww_fail(err, WW_ENOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name;
        int idx = name ? map_get(map, name) : -1;
        if (idx < 0)
            return ww_fail(err, WW_EFORMAT, "graph output '%s' is not produced by any node",
                           name ? name : "");
        g->t[idx].is_output = 1;
        g->outputs[g->n_outputs++] = idx;
    }
    if (g->n_outputs == 0) return ww_fail(err, WW_EFORMAT, "graph has no outputs");
    return 0;
}

/* Kahn's algorithm; whatever is left over sits on a cycle. */
static int topo_sort(ww_graph *g, ww_error *err)
{
    int *indeg = calloc((size_t)g->nn + 1, sizeof *indeg);
    g->order = calloc((size_t)g->nn + 1, sizeof *g->order);
    int *queue = calloc((size_t)g->nn + 1, sizeof *queue);
    /* consumers as a CSR list */
    int *cnt = calloc((size_t)g->nt + 1, sizeof *cnt);
    int *start = calloc((size_t)g->nt + 2, sizeof *start);
    size_t edges = 0;
    for (int i = 0; i < g->nn; i++) edges += (size_t)g->nodes[i].n_in;
    int *cons = calloc(edges + 1, sizeof *cons);
    int rc = 0;
    if (!indeg || !g->order || !queue || !cnt || !start || !cons) {
        rc = ww_fail(err, WW_ENOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < g->nn; i++)
        for (int j = 0; j < g->nodes[i].n_in; j++) {
            int t = g->nodes[i].in[j];
            if (t >= 0 && g->t[t].producer >= 0) {
                cnt[t]++;
                indeg[i]++;
            }
        }
    for (int t = 0; t < g->nt; t++) start[t + 1] = start[t] + cnt[t];
    memset(cnt, 0, (size_t)g->nt * sizeof *cnt);
    for (int i = 0; i < g->nn; i++)
        for (int j = 0; j < g->nodes[i].n_in; j++) {
            int t = g->nodes[i].in[j];
            if (t >= 0 && g->t[t].producer >= 0) cons[start[t] + cnt[t]++] = i;
        }
    int head = 0, tail = 0;
    for (int i = 0; i < g->nn; i++)
        if (!indeg[i]) queue[tail++] = i;
    while (head < tail) {
        int i = queue[head++];
        g->order[g->n_order++] = i;
        for (int j = 0; j < g->nodes[i].n_out; j++) {
            int t = g->nodes[i].out[j];
            for (int k = start[t]; k < start[t + 1]; k++)
                if (--indeg[cons[k]] == 0) queue[tail++] = cons[k];
        }
    }
    if (g->n_order != g->nn) {
        int bad = 0;
        while (bad < g->nn && !indeg[bad]) bad++;
        rc = ww_node_fail(err, &g->nodes[bad], WW_EFORMAT, "graph has a cycle through this node");
    }
out:
    free(indeg);
    free(queue);
    free(cnt);
    free(start);
    free(cons);
    return rc;
}

/* Runs a node whose inputs are all constant now, making its outputs constants. */
static int fold(ww_graph *g, ww_node *n, ww_error *err)
{
    for (int j = 0; j < n->n_out; j++) {
        int rc = ww_tensor_alloc_const(ww_out(g, n, j), err);
        if (rc) return rc;
    }
    int rc = n->op->run(g, n, err);
    if (rc) return rc;
    n->dead = 1;
    return 0;
}

/* Computes a deferred constant now: runs the DequantizeLinear that produces it. */
static int materialize(ww_graph *g, int t, ww_error *err)
{
    if (t < 0 || !g->t[t].deferred) return 0;
    ww_tensor *x = &g->t[t];
    ww_node *d = &g->nodes[x->producer];
    x->deferred = 0;
    int rc = ww_tensor_alloc_const(x, err);
    return rc ? rc : d->op->run(g, d, err);
}

static int materialize_inputs(ww_graph *g, const ww_node *n, ww_error *err)
{
    int rc = materialize(g, n->residual, err);
    for (int j = 0; j < n->n_in && !rc; j++) rc = materialize(g, n->in[j], err);
    return rc;
}

/* A constant weight or bias DequantizeLinear (int8 or int32 data, not a scalar):
 * with the int8 pass ahead, its float output is left uncomputed, since the int8
 * kernels pack the integer initializer itself; any other reader computes it first
 * (materialize). Computing every weight in float at load put float copies 4x the
 * size of the int8 weights on top of the peak memory of loading a QDQ model. */
static int deferrable(const ww_graph *g, const ww_node *n)
{
    if (strcmp(n->op_type, "DequantizeLinear") || n->n_out != 1 || n->n_in < 1 || n->in[0] < 0)
        return 0;
    ww_dtype q = g->t[n->in[0]].dtype;
    return (q == WW_DT_I8 || q == WW_DT_I32) && g->t[n->out[0]].count >= 16;
}

static int infer_all(ww_graph *g, int defer, ww_error *err)
{
    for (int s = 0; s < g->n_order; s++) {
        ww_node *n = &g->nodes[g->order[s]];
        n->op = ww_op_find(n->op_type);
        if (!n->op) return ww_node_fail(err, n, WW_EUNSUPPORTED, "operator not supported");
        int rc = n->op->prepare_reads_shapes_only ? 0 : materialize_inputs(g, n, err);
        if (!rc) rc = n->op->prepare(g, n, err);
        if (rc) return rc;
        for (int j = 0; j < n->n_out; j++)
            if (ww_out(g, n, j)->dtype == WW_DT_UNDEFINED && j == 0)
                return ww_node_fail(err, n, WW_EFORMAT, "output type could not be inferred");
        if (n->dead) continue;
        int all_const = !n->op->no_fold;
        for (int j = 0; j < n->n_in && all_const; j++)
            if (n->in[j] >= 0 && !g->t[n->in[j]].is_const) all_const = 0;
        if (all_const && defer && deferrable(g, n)) {
            ww_tensor *y = ww_out(g, n, 0);
            y->is_const = 1;
            y->deferred = 1;
            n->dead = 1;
        } else if (all_const) {
            rc = materialize_inputs(g, n, err);
            if (!rc) rc = fold(g, n, err);
            if (rc) return rc;
        }
    }
    return 0;
}

static void count_consumers(ww_graph *g)
{
    for (int t = 0; t < g->nt; t++) g->t[t].n_consumers = 0;
    for (int i = 0; i < g->nn; i++) {
        ww_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) g->t[n->in[j]].n_consumers++;
        if (n->residual >= 0) g->t[n->residual].n_consumers++;
    }
}

static void replace_uses(ww_graph *g, int from, int to)
{
    for (int i = 0; i < g->nn; i++) {
        ww_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] == from) n->in[j] = to;
        if (n->residual == from) n->residual = to;
    }
}

static void drop_identity(ww_graph *g)
{
    for (int s = 0; s < g->n_order; s++) {
        ww_node *n = &g->nodes[g->order[s]];
        if (n->dead || strcmp(n->op_type, "Identity")) continue;
        if (ww_out(g, n, 0)->is_output) continue; /* keeps the output's name: stays a copy */
        n->dead = 1;
        replace_uses(g, n->out[0], n->in[0]);
    }
}

/* the live single-consumer node producing tensor t, if it is an unfused Conv */
static ww_node *sole_conv_producer(ww_graph *g, int t)
{
    ww_tensor *x = &g->t[t];
    if (x->producer < 0 || x->is_output || x->n_consumers != 1) return NULL;
    ww_node *c = &g->nodes[x->producer];
    if (c->dead || strcmp(c->op_type, "Conv")) return NULL;
    return c;
}

static int step_of(const ww_graph *g, const ww_node *n)
{
    int idx = (int)(n - g->nodes);
    for (int s = 0; s < g->n_order; s++)
        if (g->order[s] == idx) return s;
    return -1;
}

/* The fused conv takes the place of the node it absorbs: all its inputs are
 * ready there, and the absorbed node's consumers all come later. */
static void absorb(ww_graph *g, ww_node *conv, ww_node *victim)
{
    int sc = step_of(g, conv), sv = step_of(g, victim);
    g->order[sc] = (int)(victim - g->nodes);
    g->order[sv] = (int)(conv - g->nodes);
    conv->out[0] = victim->out[0];
    g->t[victim->out[0]].producer = (int)(conv - g->nodes);
    victim->dead = 1;
}

static int fold_batchnorm(ww_graph *g, ww_error *err)
{
    for (int s = 0; s < g->n_order; s++) {
        ww_node *bn = &g->nodes[g->order[s]];
        if (bn->dead || strcmp(bn->op_type, "BatchNormalization") || bn->n_out != 1) continue;
        count_consumers(g);
        ww_node *conv = sole_conv_producer(g, bn->in[0]);
        if (!conv || conv->residual >= 0 || conv->act.kind != WW_ACT_NONE) continue;
        ww_tensor *w = ww_in(g, conv, 1), *b = ww_in(g, conv, 2);
        if (!w->is_const || (b && !b->is_const)) continue;
        int rc = materialize_inputs(g, conv, err);
        if (rc) return rc;
        int ok = 1;
        for (int j = 1; j < 5; j++)
            if (!ww_in(g, bn, j)->is_const) ok = 0;
        if (!ok) continue;
        int64_t cout = w->dims[0];
        if (cout <= 0) continue; /* no output channels: nothing to fold into */
        size_t per = w->count / (size_t)cout;
        const float *scale = ww_in(g, bn, 1)->data, *beta = ww_in(g, bn, 2)->data;
        const float *mean = ww_in(g, bn, 3)->data, *var = ww_in(g, bn, 4)->data;
        float eps = ww_attr_float(bn, "epsilon", 1e-5f);
        int wi = ww_graph_add_tensor(g, w->name, err);
        if (wi < 0) return wi;
        int bi = ww_graph_add_tensor(g, bn->name, err);
        if (bi < 0) return bi;
        ww_tensor *nw = &g->t[wi], *nb = &g->t[bi];
        w = ww_in(g, conv, 1); /* the array may have moved */
        b = ww_in(g, conv, 2);
        rc = ww_tensor_set_shape(nw, WW_DT_F32, w->ndim, w->dims, conv, err);
        int64_t bd = cout;
        if (!rc) rc = ww_tensor_set_shape(nb, WW_DT_F32, 1, &bd, conv, err);
        if (!rc) rc = ww_tensor_alloc_const(nw, err);
        if (!rc) rc = ww_tensor_alloc_const(nb, err);
        if (rc) return rc;
        const float *ow = w->data, *ob = b ? b->data : NULL;
        float *pw = nw->data, *pb = nb->data;
        for (int64_t c = 0; c < cout; c++) {
            double sc = (double)scale[c] / sqrt((double)var[c] + (double)eps);
            for (size_t k = 0; k < per; k++) pw[c * per + k] = (float)(ow[c * per + k] * sc);
            pb[c] = (float)(((ob ? ob[c] : 0.0) - mean[c]) * sc + beta[c]);
        }
        conv->in[1] = wi;
        conv->in[2] = bi;
        if (conv->n_in < 3) conv->n_in = 3;
        absorb(g, conv, bn);
    }
    return 0;
}

static int same_shape(const ww_tensor *a, const ww_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

static void fuse_conv_add(ww_graph *g)
{
    for (int s = 0; s < g->n_order; s++) {
        ww_node *add = &g->nodes[g->order[s]];
        if (add->dead || strcmp(add->op_type, "Add") || add->n_in != 2) continue;
        ww_tensor *y = ww_out(g, add, 0);
        if (y->dtype != WW_DT_F32) continue;
        count_consumers(g);
        for (int k = 0; k < 2; k++) {
            ww_node *conv = sole_conv_producer(g, add->in[k]);
            int other = add->in[1 - k];
            if (!conv || conv->residual >= 0 || conv->act.kind != WW_ACT_NONE) continue;
            if (!same_shape(&g->t[add->in[k]], y) || !same_shape(&g->t[other], y)) continue;
            if (other == add->in[k]) continue;
            conv->residual = other;
            absorb(g, conv, add);
            break;
        }
    }
}

static void fuse_conv_act(ww_graph *g)
{
    for (int s = 0; s < g->n_order; s++) {
        ww_node *a = &g->nodes[g->order[s]];
        if (a->dead) continue;
        ww_activation act = {WW_ACT_NONE, 0, 0};
        if (!strcmp(a->op_type, "Relu")) {
            act.kind = WW_ACT_RELU;
        } else if (!strcmp(a->op_type, "Clip")) {
            ww_tensor *lo = ww_in(g, a, 1), *hi = ww_in(g, a, 2);
            if ((lo && !lo->is_const) || (hi && !hi->is_const)) continue;
            act.kind = WW_ACT_CLIP;
            act.lo = lo ? ((float *)lo->data)[0] : ww_attr_float(a, "min", -INFINITY);
            act.hi = hi ? ((float *)hi->data)[0] : ww_attr_float(a, "max", INFINITY);
        } else {
            continue;
        }
        if (ww_out(g, a, 0)->dtype != WW_DT_F32) continue;
        count_consumers(g);
        ww_node *conv = sole_conv_producer(g, a->in[0]);
        if (!conv || conv->act.kind != WW_ACT_NONE) continue;
        conv->act = act;
        absorb(g, conv, a);
    }
}

/* Nodes none of whose outputs is read or is a graph output. */
static void drop_dead(ww_graph *g)
{
    count_consumers(g);
    for (int s = g->n_order - 1; s >= 0; s--) {
        ww_node *n = &g->nodes[g->order[s]];
        if (n->dead) continue;
        int used = 0;
        for (int j = 0; j < n->n_out; j++) {
            ww_tensor *t = ww_out(g, n, j);
            if (t->n_consumers || t->is_output) used = 1;
        }
        if (used) continue;
        n->dead = 1;
        for (int j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0) g->t[n->in[j]].n_consumers--;
        if (n->residual >= 0) g->t[n->residual].n_consumers--;
    }
}

int ww_graph_build(ww_graph *g, const Onnx__ModelProto *mp, int64_t opset, const int *ndims,
                   const int64_t *const *dims, const void *const *values, int fusion, ww_error *err)
{
    return ww_graph_build_int8(g, mp, opset, ndims, dims, values, fusion, 0, err);
}

int ww_graph_build_int8(ww_graph *g, const Onnx__ModelProto *mp, int64_t opset, const int *ndims,
                        const int64_t *const *dims, const void *const *values, int fusion, int int8,
                        ww_error *err)
{
    const Onnx__GraphProto *gp = mp->graph;
    memset(g, 0, sizeof *g);
    g->opset = opset;
    g->fusion = fusion;
    if (!gp) return ww_fail(err, WW_EFORMAT, "model has no graph");
    if (gp->n_node > WW_MAX_NODES)
        return ww_fail(err, WW_ENOMEM, "graph has %zu nodes (max %d)", gp->n_node, WW_MAX_NODES);
    size_t names = gp->n_initializer + gp->n_input + 1;
    for (size_t i = 0; i < gp->n_node; i++) names += gp->node[i]->n_output;
    name_map map;
    if (map_init(&map, names)) {
        map_free(&map);
        return ww_fail(err, WW_ENOMEM, "out of memory");
    }
    int rc = add_initializers(g, gp, &map, err);
    if (!rc) rc = add_inputs(g, gp, &map, ndims, dims, values, err);
    if (!rc) rc = add_nodes(g, gp, &map, err);
    if (!rc) rc = add_outputs(g, gp, &map, err);
    map_free(&map);
    if (!rc) rc = topo_sort(g, err);
    if (!rc) rc = infer_all(g, fusion && int8, err);
    if (rc) return rc;
    count_consumers(g);
    drop_identity(g);
    if (fusion) {
        rc = fold_batchnorm(g, err);
        if (rc) return rc;
        count_consumers(g);
        fuse_conv_add(g);
        fuse_conv_act(g);
    }
    drop_dead(g);
    if (fusion && int8) {
        count_consumers(g);
        rc = ww_qdq_compile(g, err);
        if (rc < 0) return rc;
        drop_dead(g);
        g->n_int8 = 0;
        for (int i = 0; i < g->nn; i++)
            if (!g->nodes[i].dead && ww_op_is_int8(g->nodes[i].op)) g->n_int8++;
        /* the float weights folded from the int8 ones are read by no step now:
         * free them (the int8 kernels packed from the initializers); deferred ones
         * that a float step still reads are computed */
        for (int t = 0; t < g->nt; t++) {
            ww_tensor *x = &g->t[t];
            if (x->deferred && (x->n_consumers || x->is_output)) {
                rc = materialize(g, t, err);
                if (rc) return rc;
            }
        }
        for (int t = 0; t < g->nt; t++) {
            ww_tensor *x = &g->t[t];
            if (x->is_const && x->owned && !x->n_consumers && !x->is_output && x->producer >= 0) {
                free(x->owned);
                x->owned = x->data = NULL;
            }
        }
    }
    g->macs = 0;
    for (int s = 0; s < g->n_order; s++) {
        ww_node *n = &g->nodes[g->order[s]];
        if (n->dead) continue;
        if (n->op->finalize) {
            rc = n->op->finalize(g, n, err);
            if (rc) return rc;
        }
        g->macs += n->macs;
    }
    return 0;
}
