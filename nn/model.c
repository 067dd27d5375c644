/* ww_model: the ONNX file's protobuf (kept for re-preparing at other shapes),
 * what it declares (inputs, outputs, metadata, op counts), and the graph
 * compiled for the current shapes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/graph.h"
#include "nn/qdq.h"

typedef struct model_io {
    const char *name;
    ww_dtype dtype;
    int ndim;
    int64_t dims[WW_MAX_DIMS];
} model_io;

typedef struct op_count {
    const char *type;
    size_t count;
} op_count;

struct ww_model {
    char *name;
    int no_prepare; /* load_unprepared */
    Onnx__ModelProto *proto;
    int64_t opset;
    model_io *in, *out;
    int n_in, n_out;
    op_count *ops;
    size_t n_ops;
    size_t n_params, param_bytes;
    ww_model_kind kind;
    ww_graph g;
    int prepared, fusion, int8;
    int prepared_int8;
    int prepared_fusion, prepared_with_values; /* what the current graph was built for */
    ww_model_observer obs;
    void *obs_user;
    int profile, observe_8bit;
};

const char *ww_model_kind_name(ww_model_kind kind)
{
    switch (kind) {
    case WW_MODEL_FLOAT:
        return "float";
    case WW_MODEL_QDQ_INT8:
        return "QDQ int8";
    case WW_MODEL_DYNAMIC_INT8:
        return "dynamic-quantized int8";
    case WW_MODEL_FP16:
        return "fp16";
    }
    return "unknown";
}

/* Names in a file may hold any bytes; a message stays one printable line. */
static int one_line(ww_error *err, int rc)
{
    if (err)
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return rc;
}

void ww_model_free(ww_model *m)
{
    if (!m) return;
    ww_graph_free(&m->g);
    if (m->proto) onnx__model_proto__free_unpacked(m->proto, NULL);
    free(m->in);
    free(m->out);
    free(m->ops);
    free(m->name);
    free(m);
}

static int read_io(const Onnx__ValueInfoProto *vi, model_io *io, const char *what, ww_error *err)
{
    io->name = vi->name ? vi->name : "";
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
        !vi->type->tensor_type)
        return ww_fail(err, WW_EUNSUPPORTED, "%s '%s' is not a tensor (only tensors are supported)",
                       what, io->name);
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    io->dtype = (ww_dtype)tt->elem_type;
    if (!tt->shape) { /* rank unknown: allowed for outputs, which are inferred */
        io->ndim = -1;
        return 0;
    }
    if (tt->shape->n_dim > WW_MAX_DIMS)
        return ww_fail(err, WW_EUNSUPPORTED, "%s '%s' has rank %zu (max %d)", what, io->name,
                       tt->shape->n_dim, WW_MAX_DIMS);
    io->ndim = (int)tt->shape->n_dim;
    for (int i = 0; i < io->ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0 || d->dim_value > WW_MAX_DIM)
                return ww_fail(err, WW_EFORMAT, "%s '%s' dimension %d is %lld", what, io->name, i,
                               (long long)d->dim_value);
            io->dims[i] = d->dim_value;
        } else {
            io->dims[i] = -1;
        }
    }
    return 0;
}

static int is_initializer(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_initializer; i++)
        if (gp->initializer[i]->name && !strcmp(gp->initializer[i]->name, name)) return 1;
    return 0;
}

/* protobuf-c unpacks sub-messages recursively, with no depth limit: a few
 * tens of KB of GraphProto-in-AttributeProto nesting overflow the stack. This
 * walks the wire format with an explicit stack first, descending only into
 * fields the schema says are messages. A malformed encoding ends the walk
 * quietly: the unpack that follows refuses it. */
static int read_varint(const uint8_t *p, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*pos >= end) return -1;
        uint8_t b = p[(*pos)++];
        x |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int ww_onnx_check_nesting(const void *data, size_t len, ww_error *err)
{
    const uint8_t *p = data;
    const ProtobufCMessageDescriptor *desc[WW_MAX_PROTO_DEPTH + 1];
    size_t end[WW_MAX_PROTO_DEPTH + 1];
    int top = 0;
    desc[0] = &onnx__model_proto__descriptor;
    end[0] = len;
    size_t pos = 0;
    for (;;) {
        while (pos == end[top]) {
            if (top == 0) return 0;
            top--;
        }
        uint64_t key, v;
        if (read_varint(p, end[top], &pos, &key)) return 0;
        switch (key & 7) {
        case 0:
            if (read_varint(p, end[top], &pos, &v)) return 0;
            break;
        case 1:
            if (end[top] - pos < 8) return 0;
            pos += 8;
            break;
        case 5:
            if (end[top] - pos < 4) return 0;
            pos += 4;
            break;
        case 2: {
            if (read_varint(p, end[top], &pos, &v) || v > end[top] - pos) return 0;
            const ProtobufCFieldDescriptor *f =
                (key >> 3) <= 0x1fffffff
                    ? protobuf_c_message_descriptor_get_field(desc[top], (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (top == WW_MAX_PROTO_DEPTH)
                    return ww_fail(err, WW_EUNSUPPORTED,
                                   "protobuf messages nested more than %d deep (graph inside "
                                   "attribute inside graph ...)",
                                   WW_MAX_PROTO_DEPTH);
                top++;
                desc[top] = f->descriptor;
                end[top] = pos + (size_t)v;
            } else {
                pos += (size_t)v;
            }
            break;
        }
        default:
            return 0;
        }
    }
}

typedef struct named_output {
    const char *name;
    int node;
} named_output;

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const named_output *)a)->name, ((const named_output *)b)->name);
}

/* Longest chain of nodes (Kahn's algorithm over producer -> consumer edges),
 * before the graph is built. Nodes on a cycle are left for the compiler to
 * name. */
static int check_depth(const Onnx__GraphProto *gp, ww_error *err)
{
    size_t nn = gp->n_node, no = 0, ne = 0;
    for (size_t i = 0; i < nn; i++) {
        no += gp->node[i]->n_output;
        ne += gp->node[i]->n_input;
    }
    named_output *outs = malloc((no + 1) * sizeof *outs);
    int *indeg = calloc(nn + 1, sizeof *indeg), *depth = calloc(nn + 1, sizeof *depth);
    int *start = calloc(nn + 2, sizeof *start), *cons = malloc((ne + 1) * sizeof *cons);
    int *queue = malloc((nn + 1) * sizeof *queue), *prod = malloc((ne + 1) * sizeof *prod);
    int rc = 0;
    if (!outs || !indeg || !depth || !start || !cons || !queue || !prod) {
        rc = ww_fail(err, WW_ENOMEM, "out of memory");
        goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < gp->node[i]->n_output; j++)
            if (gp->node[i]->output[j] && *gp->node[i]->output[j])
                outs[k++] = (named_output){gp->node[i]->output[j], (int)i};
    qsort(outs, k, sizeof *outs, cmp_named);
    /* producer of every input, then the edges grouped by producer (CSR) */
    size_t e = 0;
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < gp->node[i]->n_input; j++, e++) {
            named_output key = {gp->node[i]->input[j], 0}, *hit = NULL;
            if (key.name && *key.name) hit = bsearch(&key, outs, k, sizeof *outs, cmp_named);
            prod[e] = hit ? hit->node : -1;
            if (hit) {
                start[hit->node + 1]++;
                indeg[i]++;
            }
        }
    for (size_t i = 0; i < nn; i++) start[i + 1] += start[i];
    int *fill = queue; /* a cursor per producer, before the queue is used */
    for (size_t i = 0; i < nn; i++) fill[i] = start[i];
    e = 0;
    for (size_t i = 0; i < nn; i++)
        for (size_t j = 0; j < gp->node[i]->n_input; j++, e++)
            if (prod[e] >= 0) cons[fill[prod[e]]++] = (int)i;
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < nn; i++)
        if (!indeg[i]) {
            queue[tail++] = (int)i;
            depth[i] = 1;
        }
    while (head < tail) {
        int i = queue[head++];
        if (depth[i] > WW_MAX_GRAPH_DEPTH) {
            rc = ww_fail(err, WW_EUNSUPPORTED, "graph is more than %d nodes deep",
                         WW_MAX_GRAPH_DEPTH);
            break;
        }
        for (int c = start[i]; c < start[i + 1]; c++) {
            int n = cons[c];
            if (depth[n] < depth[i] + 1) depth[n] = depth[i] + 1;
            if (--indeg[n] == 0) queue[tail++] = n;
        }
    }
out:
    free(outs);
    free(indeg);
    free(depth);
    free(start);
    free(cons);
    free(queue);
    free(prod);
    return rc;
}

static int describe(ww_model *m, ww_error *err)
{
    const Onnx__ModelProto *mp = m->proto;
    const Onnx__GraphProto *gp = mp->graph;
    if (!gp) return ww_fail(err, WW_EFORMAT, "not an ONNX model (no graph)");
    m->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain;
        if (!d || !*d || !strcmp(d, "ai.onnx")) m->opset = mp->opset_import[i]->version;
    }
    if (m->opset < 0) {
        if (mp->n_opset_import)
            return ww_fail(
                err, WW_EUNSUPPORTED,
                "opset domain '%s' is not supported (no opset for the default ONNX domain)",
                mp->opset_import[0]->domain);
        return ww_fail(err, WW_EFORMAT, "not an ONNX model (no opset_import)");
    }
    if (m->opset < 1 || m->opset > 1000)
        return ww_fail(err, WW_EFORMAT, "opset version %lld", (long long)m->opset);
    if (gp->n_node > WW_MAX_NODES)
        return ww_fail(err, WW_ENOMEM, "graph has %zu nodes (max %d)", gp->n_node, WW_MAX_NODES);
    int drc = check_depth(gp, err);
    if (drc) return drc;
    m->in = calloc(gp->n_input + 1, sizeof *m->in);
    m->out = calloc(gp->n_output + 1, sizeof *m->out);
    m->ops = calloc(gp->n_node + 1, sizeof *m->ops);
    if (!m->in || !m->out || !m->ops) return ww_fail(err, WW_ENOMEM, "out of memory");
    for (size_t i = 0; i < gp->n_input; i++) {
        if (gp->input[i]->name && is_initializer(gp, gp->input[i]->name)) continue;
        int rc = read_io(gp->input[i], &m->in[m->n_in], "input", err);
        if (rc) return rc;
        if (m->in[m->n_in].ndim < 0)
            return ww_fail(err, WW_EUNSUPPORTED, "input '%s' has no shape", m->in[m->n_in].name);
        m->n_in++;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        int rc = read_io(gp->output[i], &m->out[m->n_out], "output", err);
        if (rc) return rc;
        m->n_out++;
    }
    int qdq = 0, dyn = 0, f16 = 0;
    for (size_t i = 0; i < gp->n_node; i++) {
        const char *t = gp->node[i]->op_type ? gp->node[i]->op_type : "";
        size_t k = 0;
        while (k < m->n_ops && strcmp(m->ops[k].type, t)) k++;
        if (k == m->n_ops) m->ops[m->n_ops++].type = t;
        m->ops[k].count++;
        if (!strcmp(t, "QuantizeLinear") || !strcmp(t, "DequantizeLinear")) qdq = 1;
        if (!strcmp(t, "DynamicQuantizeLinear") || !strcmp(t, "MatMulInteger") ||
            !strcmp(t, "ConvInteger"))
            dyn = 1;
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        size_t c = 1;
        for (size_t d = 0; d < tp->n_dims; d++) c *= tp->dims[d] > 0 ? (size_t)tp->dims[d] : 0;
        m->n_params += c;
        m->param_bytes += c * ww_dtype_size(tp->data_type);
        if (tp->data_type == WW_DT_F16) f16 = 1;
    }
    for (int i = 0; i < m->n_in; i++)
        if (m->in[i].dtype == WW_DT_F16) f16 = 1;
    for (int i = 0; i < m->n_out; i++)
        if (m->out[i].dtype == WW_DT_F16) f16 = 1;
    m->kind = dyn   ? WW_MODEL_DYNAMIC_INT8
              : qdq ? WW_MODEL_QDQ_INT8
              : f16 ? WW_MODEL_FP16
                    : WW_MODEL_FLOAT;
    return 0;
}

static int prepare_impl(ww_model *m, const int *ndims, const int64_t *const *dims,
                        const void *const *values, ww_error *err);

/* the declared input shapes, symbolic axes as 1 */
static int prepare_declared(ww_model *m, ww_error *err)
{
    int ndims[64];
    int64_t store[64][WW_MAX_DIMS];
    const int64_t *dims[64];
    if (m->n_in > 64) return ww_fail(err, WW_EUNSUPPORTED, "more than 64 inputs");
    for (int i = 0; i < m->n_in; i++) {
        ndims[i] = m->in[i].ndim;
        dims[i] = store[i];
        for (int d = 0; d < ndims[i]; d++)
            store[i][d] = m->in[i].dims[d] < 0 ? 1 : m->in[i].dims[d];
    }
    return prepare_impl(m, ndims, dims, NULL, err);
}

static int parse_proto(ww_model *m, const void *data, size_t len, ww_error *err)
{
    if (len == 0) return ww_fail(err, WW_EFORMAT, "empty file");
    if (len > WW_MAX_MODEL_BYTES)
        return ww_fail(err, WW_ENOMEM, "%zu bytes is larger than the %zu MiB limit", len,
                       WW_MAX_MODEL_BYTES >> 20);
    int nrc = ww_onnx_check_nesting(data, len, err);
    if (nrc) return nrc;
    m->proto = onnx__model_proto__unpack(NULL, len, data);
    if (!m->proto) return ww_fail(err, WW_EFORMAT, "not an ONNX model (protobuf does not parse)");
    if (!m->proto->has_ir_version || m->proto->ir_version < 1 || m->proto->ir_version > 100)
        return ww_fail(err, WW_EFORMAT, "not an ONNX model (no valid ir_version)");
    return 0;
}

static int compile_proto(ww_model *m, ww_error *err)
{
    int rc = describe(m, err);
    if (rc || m->no_prepare) return rc;
    /* Compile once now, so a bad graph fails at load; inputs with symbolic axes
     * other than the batch, or integer inputs, are compiled at the first
     * prepare_shapes/prepare_values instead. */
    int batch_ok = 1;
    for (int i = 0; i < m->n_in; i++) {
        for (int d = 1; d < m->in[i].ndim; d++)
            if (m->in[i].dims[d] < 0) batch_ok = 0;
        /* integer inputs may be shapes or axes, frozen at prepare_values */
        if (m->in[i].dtype == WW_DT_I64 || m->in[i].dtype == WW_DT_I32) batch_ok = 0;
    }
    if (!batch_ok) return 0;
    return prepare_declared(m, err);
}

/* owned: the caller's malloc'd copy of data (or NULL), freed as soon as it is
 * parsed: the tensors live in the parsed proto, so the file's bytes and the
 * packed weights of prepare are never in memory together. */
static int load_mem(const void *data, size_t len, void *owned, const char *name, int no_prepare,
                    ww_model **out, ww_error *err)
{
    *out = NULL;
    ww_model *m = calloc(1, sizeof *m);
    int rc = 0;
    if (m) {
        m->fusion = 1;
        const char *e = getenv("WW_INT8");
        m->int8 = !(e && !strcmp(e, "0"));
        m->no_prepare = no_prepare;
        m->name = strdup(name ? name : "model");
    }
    if (!m || !m->name)
        rc = ww_fail(err, WW_ENOMEM, "out of memory");
    else
        rc = parse_proto(m, data, len, err);
    free(owned);
    if (!rc) rc = compile_proto(m, err);
    if (rc) {
        ww_model_free(m);
        return one_line(err, ww_error_prefix(err, rc, name ? name : "model"));
    }
    *out = m;
    return 0;
}

int ww_model_load_mem(const void *data, size_t len, const char *name, ww_model **out, ww_error *err)
{
    return load_mem(data, len, NULL, name, 0, out, err);
}

static int load_file(const char *path, int no_prepare, ww_model **out, ww_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ww_fail(err, WW_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        fclose(f);
        return ww_fail(err, WW_EIO, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > WW_MAX_MODEL_BYTES) {
        fclose(f);
        return ww_fail(err, WW_ENOMEM, "%s: %lld bytes is larger than the %zu MiB limit", path,
                       (long long)st.st_size, WW_MAX_MODEL_BYTES >> 20);
    }
    size_t len = (size_t)st.st_size;
    void *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, len, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != len) {
        free(buf);
        return ww_fail(err, WW_EIO, "%s: read error", path);
    }
    return load_mem(buf, len, buf, path, no_prepare, out, err);
}

int ww_model_load(const char *path, ww_model **out, ww_error *err)
{
    return load_file(path, 0, out, err);
}

int ww_model_load_unprepared(const char *path, ww_model **out, ww_error *err)
{
    return load_file(path, 1, out, err);
}

size_t ww_model_meta_count(const ww_model *m)
{
    return m->proto->n_metadata_props;
}

void ww_model_meta_at(const ww_model *m, size_t i, const char **key, const char **value)
{
    const Onnx__StringStringEntryProto *e = m->proto->metadata_props[i];
    *key = e->key ? e->key : "";
    *value = e->value ? e->value : "";
}

const char *ww_model_meta(const ww_model *m, const char *key)
{
    for (size_t i = 0; i < m->proto->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = m->proto->metadata_props[i];
        if (e->key && !strcmp(e->key, key)) return e->value ? e->value : "";
    }
    return NULL;
}

int ww_model_n_inputs(const ww_model *m)
{
    return m->n_in;
}
int ww_model_n_outputs(const ww_model *m)
{
    return m->n_out;
}
const char *ww_model_input_name(const ww_model *m, int i)
{
    return i >= 0 && i < m->n_in ? m->in[i].name : NULL;
}
const char *ww_model_output_name(const ww_model *m, int i)
{
    return i >= 0 && i < m->n_out ? m->out[i].name : NULL;
}
static int io_shape(const model_io *io, int64_t *dims)
{
    for (int d = 0; d < io->ndim; d++) dims[d] = io->dims[d];
    return io->ndim;
}
int ww_model_input_shape(const ww_model *m, int i, int64_t *dims)
{
    return i >= 0 && i < m->n_in ? io_shape(&m->in[i], dims) : -1;
}
int ww_model_output_shape(const ww_model *m, int i, int64_t *dims)
{
    return i >= 0 && i < m->n_out ? io_shape(&m->out[i], dims) : -1;
}
ww_dtype ww_model_input_dtype(const ww_model *m, int i)
{
    return i >= 0 && i < m->n_in ? m->in[i].dtype : WW_DT_UNDEFINED;
}
ww_dtype ww_model_output_dtype(const ww_model *m, int i)
{
    return i >= 0 && i < m->n_out ? m->out[i].dtype : WW_DT_UNDEFINED;
}

void ww_model_set_fusion(ww_model *m, int enabled)
{
    m->fusion = enabled;
}

void ww_model_set_int8(ww_model *m, int enabled)
{
    m->int8 = enabled;
}

void ww_model_set_observer(ww_model *m, ww_model_observer fn, void *user)
{
    m->obs = fn;
    m->obs_user = user;
}

/* errors without the model's name: callers add it */
static int prepare_impl(ww_model *m, const int *ndims, const int64_t *const *dims,
                        const void *const *values, ww_error *err)
{
    if (m->prepared && !values && !m->prepared_with_values && m->prepared_fusion == m->fusion &&
        m->prepared_int8 == m->int8) {
        /* same shapes as the current graph: nothing to recompile */
        int same = 1;
        for (int i = 0; i < m->n_in && same; i++) {
            const ww_tensor *t = &m->g.t[m->g.inputs[i]];
            same = t->ndim == ndims[i];
            for (int d = 0; same && d < ndims[i]; d++) same = t->dims[d] == dims[i][d];
        }
        if (same) return 0;
    }
    for (int i = 0; i < m->n_in; i++) {
        if (ndims[i] != m->in[i].ndim)
            return ww_fail(err, WW_EINVAL, "input '%s' must have rank %d, not %d", m->in[i].name,
                           m->in[i].ndim, ndims[i]);
        for (int d = 0; d < ndims[i]; d++)
            if (m->in[i].dims[d] >= 0 && m->in[i].dims[d] != dims[i][d])
                return ww_fail(err, WW_EINVAL, "input '%s' axis %d must be %lld, not %lld",
                               m->in[i].name, d, (long long)m->in[i].dims[d],
                               (long long)dims[i][d]);
    }
    ww_graph g;
    int rc =
        ww_graph_build_int8(&g, m->proto, m->opset, ndims, dims, values, m->fusion, m->int8, err);
    if (!rc) rc = ww_graph_plan(&g, err);
    if (!rc && g.n_outputs != m->n_out) rc = ww_fail(err, WW_EFORMAT, "graph outputs do not match");
    for (int i = 0; !rc && i < m->n_out; i++) {
        const ww_tensor *t = &g.t[g.outputs[i]];
        const model_io *io = &m->out[i];
        if (io->dtype != WW_DT_UNDEFINED && io->dtype != t->dtype)
            rc = ww_fail(err, WW_EFORMAT, "output '%s' is declared %s but computes to %s", io->name,
                         ww_dtype_name(io->dtype), ww_dtype_name(t->dtype));
        else if (io->ndim >= 0 && io->ndim != t->ndim)
            rc = ww_fail(err, WW_EFORMAT, "output '%s' is declared with rank %d but has %d",
                         io->name, io->ndim, t->ndim);
        for (int d = 0; !rc && io->ndim >= 0 && d < io->ndim; d++)
            if (io->dims[d] >= 0 && io->dims[d] != t->dims[d] && d > 0)
                rc = ww_fail(err, WW_EFORMAT,
                             "output '%s' axis %d is declared %lld but computes to %lld", io->name,
                             d, (long long)io->dims[d], (long long)t->dims[d]);
    }
    if (rc) {
        ww_graph_free(&g);
        return rc;
    }
    ww_graph_free(&m->g);
    m->g = g;
    m->prepared = 1;
    m->prepared_fusion = m->fusion;
    m->prepared_int8 = m->int8;
    m->prepared_with_values = values != NULL;
    return 0;
}

int ww_model_prepare_shapes(ww_model *m, const int *ndims, const int64_t *const *dims,
                            ww_error *err)
{
    int rc = prepare_impl(m, ndims, dims, NULL, err);
    return rc ? one_line(err, ww_error_prefix(err, rc, m->name)) : 0;
}

int ww_model_prepare_values(ww_model *m, const int *ndims, const int64_t *const *dims,
                            const void *const *values, ww_error *err)
{
    int rc = prepare_impl(m, ndims, dims, values, err);
    return rc ? one_line(err, ww_error_prefix(err, rc, m->name)) : 0;
}

int ww_model_prepare(ww_model *m, int batch, ww_error *err)
{
    int ndims[64];
    int64_t store[64][WW_MAX_DIMS];
    const int64_t *dims[64];
    if (m->n_in > 64) return ww_fail(err, WW_EUNSUPPORTED, "%s: more than 64 inputs", m->name);
    if (batch == 0) {
        int rc = prepare_declared(m, err);
        return rc ? one_line(err, ww_error_prefix(err, rc, m->name)) : 0;
    }
    if (batch < 1) return ww_fail(err, WW_EINVAL, "%s: batch size %d", m->name, batch);
    for (int i = 0; i < m->n_in; i++) {
        const model_io *io = &m->in[i];
        ndims[i] = io->ndim;
        dims[i] = store[i];
        for (int d = 0; d < io->ndim; d++) {
            int64_t v = io->dims[d];
            if (d == 0 && v < 0) v = batch;
            if (d == 0 && v != batch)
                return ww_fail(err, WW_EINVAL, "%s: input '%s' has a fixed batch of %lld, not %d",
                               m->name, io->name, (long long)v, batch);
            if (v < 0)
                return ww_fail(err, WW_EINVAL,
                               "%s: input '%s' axis %d is symbolic; give its shape explicitly",
                               m->name, io->name, d);
            store[i][d] = v;
        }
    }
    return ww_model_prepare_shapes(m, ndims, dims, err);
}

int ww_model_input(ww_model *m, int i, ww_tensor_view *view)
{
    if (!m->prepared || i < 0 || i >= m->g.n_inputs) return WW_EINVAL;
    ww_tensor_view_of(&m->g.t[m->g.inputs[i]], view);
    return 0;
}

int ww_model_output(ww_model *m, int i, ww_tensor_view *view)
{
    if (!m->prepared || i < 0 || i >= m->g.n_outputs) return WW_EINVAL;
    ww_tensor_view_of(&m->g.t[m->g.outputs[i]], view);
    return 0;
}

int ww_model_run(ww_model *m, ww_error *err)
{
    if (!m->prepared) return ww_fail(err, WW_EINVAL, "%s: model is not prepared", m->name);
    m->g.profile = m->profile;
    m->g.observe_8bit = m->observe_8bit;
    int rc = ww_graph_run(&m->g, m->obs, m->obs_user, err);
    return rc ? one_line(err, ww_error_prefix(err, rc, m->name)) : 0;
}

int ww_model_run_f32(ww_model *m, const float *in, size_t in_count, float *out, size_t out_count,
                     ww_error *err)
{
    if (!m->prepared) return ww_fail(err, WW_EINVAL, "%s: model is not prepared", m->name);
    if (m->g.n_inputs != 1 || m->g.n_outputs != 1)
        return ww_fail(err, WW_EINVAL, "%s: needs one input and one output, has %d and %d", m->name,
                       m->g.n_inputs, m->g.n_outputs);
    ww_tensor *x = &m->g.t[m->g.inputs[0]], *y = &m->g.t[m->g.outputs[0]];
    if (x->dtype != WW_DT_F32 || y->dtype != WW_DT_F32)
        return ww_fail(err, WW_EINVAL, "%s: input and output must be float32", m->name);
    if (x->count != in_count || y->count != out_count)
        return ww_fail(err, WW_EINVAL,
                       "%s: expects %zu input and %zu output values, got %zu and %zu", m->name,
                       x->count, y->count, in_count, out_count);
    memcpy(x->data, in, in_count * sizeof(float));
    int rc = ww_model_run(m, err);
    if (rc) return rc;
    memcpy(out, y->data, out_count * sizeof(float));
    return 0;
}

void ww_model_get_stats(const ww_model *m, ww_model_stats *st)
{
    memset(st, 0, sizeof *st);
    st->ir_version = m->proto->ir_version;
    st->opset = m->opset;
    st->producer_name = m->proto->producer_name ? m->proto->producer_name : "";
    st->producer_version = m->proto->producer_version ? m->proto->producer_version : "";
    st->kind = m->kind;
    st->n_nodes = m->proto->graph->n_node;
    st->n_params = m->n_params;
    st->param_bytes = m->param_bytes;
    if (m->prepared) {
        st->macs = m->g.macs;
        st->arena_bytes = m->g.arena_bytes;
        st->n_exec_nodes = (size_t)m->g.n_live;
        st->n_int8_nodes = (size_t)m->g.n_int8;
    }
}

size_t ww_model_op_type_count(const ww_model *m)
{
    return m->n_ops;
}

void ww_model_op_type_at(const ww_model *m, size_t i, const char **op_type, size_t *count)
{
    *op_type = m->ops[i].type;
    *count = m->ops[i].count;
}

void ww_model_set_observe_8bit(ww_model *m, int enabled)
{
    m->observe_8bit = enabled != 0;
}

void ww_model_set_profiling(ww_model *m, int enabled)
{
    m->profile = enabled != 0;
    for (int i = 0; enabled && m->prepared && i < m->g.nn; i++)
        m->g.nodes[i].prof_ns = m->g.nodes[i].prof_runs = 0;
}

size_t ww_model_profile_count(const ww_model *m)
{
    size_t n = 0;
    for (int s = 0; m->prepared && s < m->g.n_order; s++) n += !m->g.nodes[m->g.order[s]].dead;
    return n;
}

/* Step i of the prepared graph (its live nodes in execution order), or NULL. */
static const ww_node *live_step(const ww_model *m, size_t i)
{
    for (int s = 0; m->prepared && s < m->g.n_order; s++) {
        const ww_node *n = &m->g.nodes[m->g.order[s]];
        if (!n->dead && i-- == 0) return n;
    }
    return NULL;
}

int ww_model_profile_at(const ww_model *m, size_t i, ww_step_profile *out)
{
    const ww_node *n = live_step(m, i);
    if (!n) return WW_EINVAL;
    out->op_type = n->op->type;
    out->name = n->name;
    out->macs = n->macs;
    out->ns = n->prof_ns;
    out->runs = n->prof_runs;
    return 0;
}

int ww_model_step_conv_s8(const ww_model *m, size_t i, ww_conv2d_s8_params *out)
{
    const ww_node *n = live_step(m, i);
    if (!n || n->op != &ww_op_conv_s8) return WW_EINVAL;
    *out = ((const ww_conv_s8_params *)n->params)->p;
    out->w_scale = NULL;
    return 0;
}
