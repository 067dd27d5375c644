/* The compiler and executor on small graphs built here with protobuf-c:
 * fusion keeps results (including a residual produced after the conv in file
 * order), the arena never overlaps two live tensors, runs do not allocate,
 * QuantizeLinear rounds half to even and saturates (ONNX spec values),
 * Softmax follows the opset's axis rule, and ReduceMean matches a mean taken
 * in double for any axes and refuses axes the spec does not allow. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/graph.h"
#include "nn/model.h"
#include "onnx.pb-c.h"
#include "wwtest.h"

/* ---- a small model builder; everything lives in static pools ---- */
#define POOL 64
typedef struct builder {
    Onnx__NodeProto nodes[POOL];
    Onnx__NodeProto *node_ptrs[POOL];
    int n_nodes;
    Onnx__AttributeProto attrs[POOL];
    int n_attrs;
    Onnx__TensorProto inits[POOL];
    Onnx__TensorProto *init_ptrs[POOL];
    int n_inits;
    Onnx__ValueInfoProto vis[POOL];
    Onnx__ValueInfoProto *in_ptrs[POOL], *out_ptrs[POOL];
    int n_in, n_out, n_vis;
    Onnx__TypeProto types[POOL];
    Onnx__TypeProto__Tensor tts[POOL];
    Onnx__TensorShapeProto shapes[POOL];
    Onnx__TensorShapeProto__Dimension dims[POOL * 4];
    Onnx__TensorShapeProto__Dimension *dim_ptrs[POOL * 4];
    int n_dims;
    char *strs[POOL * 8];
    int n_strs;
} builder;

static builder B;

static void b_reset(void)
{
    memset(&B, 0, sizeof B);
}

static Onnx__ValueInfoProto *b_vi(const char *name, int dtype, int ndim, const int64_t *d)
{
    int k = B.n_vis++;
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__TypeProto tp = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    Onnx__TensorShapeProto sp = ONNX__TENSOR_SHAPE_PROTO__INIT;
    B.vis[k] = vi;
    B.types[k] = tp;
    B.tts[k] = tt;
    B.shapes[k] = sp;
    B.shapes[k].n_dim = (size_t)ndim;
    B.shapes[k].dim = &B.dim_ptrs[B.n_dims];
    for (int i = 0; i < ndim; i++) {
        Onnx__TensorShapeProto__Dimension dm = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        B.dims[B.n_dims] = dm;
        B.dims[B.n_dims].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        B.dims[B.n_dims].dim_value = d[i];
        B.dim_ptrs[B.n_dims] = &B.dims[B.n_dims];
        B.n_dims++;
    }
    B.tts[k].has_elem_type = 1;
    B.tts[k].elem_type = dtype;
    B.tts[k].shape = &B.shapes[k];
    B.types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    B.types[k].tensor_type = &B.tts[k];
    B.vis[k].name = (char *)name;
    B.vis[k].type = &B.types[k];
    return &B.vis[k];
}

static void b_input(const char *name, int ndim, const int64_t *d)
{
    B.in_ptrs[B.n_in++] = b_vi(name, 1, ndim, d);
}

static void b_output(const char *name, int dtype)
{
    B.out_ptrs[B.n_out++] = b_vi(name, dtype, 0, NULL);
    B.out_ptrs[B.n_out - 1]->type->tensor_type->shape = NULL; /* rank inferred */
}

static void b_init(const char *name, int dtype, int ndim, const int64_t *d, const void *data,
                   size_t bytes)
{
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    int k = B.n_inits++;
    B.inits[k] = t;
    B.inits[k].name = (char *)name;
    B.inits[k].n_dims = (size_t)ndim;
    B.inits[k].dims = (int64_t *)d;
    B.inits[k].has_data_type = 1;
    B.inits[k].data_type = dtype;
    B.inits[k].has_raw_data = 1;
    B.inits[k].raw_data.len = bytes;
    B.inits[k].raw_data.data = (uint8_t *)data;
    B.init_ptrs[k] = &B.inits[k];
}

/* ins/outs: NULL-terminated name lists */
static Onnx__NodeProto *b_node(const char *op, const char *const *ins, const char *const *outs)
{
    Onnx__NodeProto n = ONNX__NODE_PROTO__INIT;
    int k = B.n_nodes++;
    B.nodes[k] = n;
    B.nodes[k].op_type = (char *)op;
    B.nodes[k].name = (char *)outs[0];
    B.nodes[k].input = &B.strs[B.n_strs];
    while (*ins) B.strs[B.n_strs++] = (char *)*ins++, B.nodes[k].n_input++;
    B.nodes[k].output = &B.strs[B.n_strs];
    while (*outs) B.strs[B.n_strs++] = (char *)*outs++, B.nodes[k].n_output++;
    B.node_ptrs[k] = &B.nodes[k];
    return &B.nodes[k];
}

static Onnx__AttributeProto *b_attr(Onnx__NodeProto *n, const char *name)
{
    Onnx__AttributeProto a = ONNX__ATTRIBUTE_PROTO__INIT;
    int k = B.n_attrs++;
    B.attrs[k] = a;
    B.attrs[k].name = (char *)name;
    B.attrs[k].has_type = 1;
    if (!n->attribute) n->attribute = malloc(8 * sizeof *n->attribute);
    n->attribute[n->n_attribute++] = &B.attrs[k];
    return &B.attrs[k];
}

static void b_attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = b_attr(n, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
}

static void b_attr_ints(Onnx__NodeProto *n, const char *name, int64_t *v, size_t count)
{
    Onnx__AttributeProto *a = b_attr(n, name);
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    a->n_ints = count;
    a->ints = v;
}

static ww_model *b_load(int opset, ww_error *err)
{
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "test";
    g.n_node = (size_t)B.n_nodes;
    g.node = B.node_ptrs;
    g.n_initializer = (size_t)B.n_inits;
    g.initializer = B.init_ptrs;
    g.n_input = (size_t)B.n_in;
    g.input = B.in_ptrs;
    g.n_output = (size_t)B.n_out;
    g.output = B.out_ptrs;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT, *ops[] = {&op};
    op.domain = "";
    op.has_version = 1;
    op.version = opset;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.graph = &g;
    m.n_opset_import = 1;
    m.opset_import = ops;
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    onnx__model_proto__pack(&m, buf);
    for (int i = 0; i < B.n_nodes; i++) free(B.nodes[i].attribute);
    ww_model *model = NULL;
    if (ww_model_load_mem(buf, len, "built.onnx", &model, err)) model = NULL;
    free(buf);
    return model;
}

/* ---- tests ---- */

/* r = Relu(x) is listed after the conv; y = Relu(Conv(x) + r): the fused conv
 * must still see r computed, and fused == unfused == by-hand values. */
WW_TEST(fused_residual_produced_after_the_conv_in_file_order)
{
    b_reset();
    static const int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {2, 2, 1, 1}, bd[1] = {2};
    static const float w[4] = {1, 2, -1, 0.5f}, bias[2] = {0.25f, -4};
    b_input("x", 4, xd);
    b_init("w", 1, 4, wd, w, sizeof w);
    b_init("b", 1, 1, bd, bias, sizeof bias);
    b_node("Conv", (const char *[]){"x", "w", "b", NULL}, (const char *[]){"c", NULL});
    b_node("Add", (const char *[]){"c", "r", NULL}, (const char *[]){"s", NULL});
    b_node("Relu", (const char *[]){"x", NULL}, (const char *[]){"r", NULL});
    b_node("Relu", (const char *[]){"s", NULL}, (const char *[]){"y", NULL});
    b_output("y", 1);
    float x[18], y_fused[18], y_plain[18];
    for (int i = 0; i < 18; i++) x[i] = (float)(i % 7) - 3.0f;
    ww_error err = {{0}};
    for (int fuse = 1; fuse >= 0; fuse--) {
        ww_model *m = b_load(13, &err);
        REQUIRE(m);
        ww_model_set_fusion(m, fuse);
        REQUIRE(!ww_model_prepare(m, 1, &err));
        ww_model_stats st;
        ww_model_get_stats(m, &st);
        CHECK_EQ_INT(st.n_exec_nodes, fuse ? 2 : 4); /* Relu(x) + fused conv */
        REQUIRE(!ww_model_run_f32(m, x, 18, fuse ? y_fused : y_plain, 18, &err));
        ww_model_free(m);
    }
    for (int c = 0; c < 2; c++)
        for (int p = 0; p < 9; p++) {
            float conv = w[c * 2] * x[p] + w[c * 2 + 1] * x[9 + p] + bias[c];
            float r = x[c * 9 + p] > 0 ? x[c * 9 + p] : 0;
            float want = conv + r > 0 ? conv + r : 0;
            CHECK_NEAR(y_fused[c * 9 + p], want, 1e-6);
            CHECK_NEAR(y_plain[c * 9 + p], want, 1e-6);
        }
}

/* After planning, two tensors alive at the same step never share bytes. */
WW_TEST(arena_never_overlaps_live_tensors)
{
    ww_error err = {{0}};
    ww_graph g;
    /* white-box: build the IR from the file's protobuf, with and without fusion */
    FILE *f = fopen("tests/fixtures/onnx/resnet18_w8_stem7_op13_bn/model.onnx", "rb");
    REQUIRE(f);
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, buf);
    REQUIRE(mp);
    int nd = 4;
    int64_t d[4] = {3, 1, 64, 101};
    const int64_t *dims[1] = {d};
    for (int fuse = 0; fuse < 2; fuse++) {
        REQUIRE(!ww_graph_build(&g, mp, 13, &nd, dims, NULL, fuse, &err));
        REQUIRE(!ww_graph_plan(&g, &err));
        size_t total = 0;
        int bad = 0;
        for (int a = 0; a < g.nt; a++) {
            ww_tensor *x = &g.t[a];
            if (x->is_const || x->first == -2) continue;
            size_t xb = x->count * ww_dtype_size(x->dtype);
            total += xb;
            for (int b = a + 1; b < g.nt; b++) {
                ww_tensor *y = &g.t[b];
                if (y->is_const || y->first == -2) continue;
                size_t yb = y->count * ww_dtype_size(y->dtype);
                int live = !(x->last < y->first || y->last < x->first);
                int mem = x->offset < y->offset + yb && y->offset < x->offset + xb;
                if (live && mem) bad++;
            }
        }
        CHECK_EQ_INT(bad, 0);
        size_t act = g.arena_bytes - g.scratch_bytes;
        CHECK_MSG(act < total / 2, "activations take %zu arena bytes for %zu bytes of tensors", act,
                  total);
        printf("# fusion %d: %zu arena bytes hold %zu bytes of activations (+%zu scratch)\n", fuse,
               act, total, g.scratch_bytes);
        ww_graph_free(&g);
    }
    onnx__model_proto__free_unpacked(mp, NULL);
}

WW_TEST(runs_do_not_allocate)
{
    ww_model *m = NULL;
    ww_error err = {{0}};
    REQUIRE(!ww_model_load("tests/fixtures/onnx/resnet18_w8_stem7_op13/model.onnx", &m, &err));
    REQUIRE(!ww_model_prepare(m, 1, &err));
    static float x[64 * 101], y[2];
    REQUIRE(!ww_model_run_f32(m, x, 64 * 101, y, 2, &err));
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 5; i++) REQUIRE(!ww_model_run_f32(m, x, 64 * 101, y, 2, &err));
    struct mallinfo2 after = mallinfo2();
    CHECK_EQ_INT(after.uordblks, before.uordblks);
    CHECK_EQ_INT(after.hblkhd, before.hblkhd);
    ww_model_free(m);
}

/* QuantizeLinear to int8, per axis: values from the ONNX spec's formula
 * saturate(round_half_to_even(x / scale) + zero_point). */
WW_TEST(quantize_int8_per_axis_rounds_half_even_and_saturates)
{
    b_reset();
    static const int64_t xd[2] = {2, 4}, sd[1] = {2};
    static const float scale[2] = {1.0f, 0.5f};
    static const int8_t zp[2] = {0, -10};
    b_input("x", 2, xd);
    b_init("s", 1, 1, sd, scale, sizeof scale);
    b_init("z", 3, 1, sd, zp, sizeof zp);
    Onnx__NodeProto *q = b_node("QuantizeLinear", (const char *[]){"x", "s", "z", NULL},
                                (const char *[]){"q", NULL});
    b_attr_int(q, "axis", 0);
    b_node("DequantizeLinear", (const char *[]){"q", "s", "z", NULL}, (const char *[]){"y", NULL});
    Onnx__NodeProto *dq = &B.nodes[B.n_nodes - 1];
    b_attr_int(dq, "axis", 0);
    b_output("q", 3);
    b_output("y", 1);
    ww_error err = {{0}};
    ww_model *m = b_load(13, &err);
    REQUIRE(m);
    REQUIRE(!ww_model_prepare(m, 2, &err));
    ww_tensor_view in, qv, yv;
    REQUIRE(!ww_model_input(m, 0, &in));
    /* row 0 (scale 1, zp 0): ties 2.5 -> 2, 3.5 -> 4, -2.5 -> -2; 300 -> 127
     * row 1 (scale 0.5, zp -10): 1.25/0.5 = 2.5 -> 2 - 10 = -8; -100 -> -128;
     * 0.75/0.5 = 1.5 -> 2 - 10 = -8; 70 -> 140 - 10 = 127 (saturated) */
    const float x[8] = {2.5f, 3.5f, -2.5f, 300, 1.25f, -100, 0.75f, 70};
    memcpy(in.data, x, sizeof x);
    REQUIRE(!ww_model_run(m, &err));
    REQUIRE(!ww_model_output(m, 0, &qv));
    REQUIRE(!ww_model_output(m, 1, &yv));
    const int8_t want[8] = {2, 4, -2, 127, -8, -128, -8, 127};
    CHECK_EQ_INT(qv.dtype, WW_DT_I8);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT(((int8_t *)qv.data)[i], want[i]);
    for (int i = 0; i < 8; i++)
        CHECK_NEAR(((float *)yv.data)[i], (want[i] - zp[i / 4]) * scale[i / 4], 0);
    ww_model_free(m);
}

/* Softmax before opset 13 flattens to 2-D at axis; from 13 it works along
 * the one axis. Same input, different results. */
WW_TEST(softmax_axis_rule_follows_opset)
{
    const float x[8] = {1, 2, 3, 4, 0, -1, 2, 0.5f}; /* [2, 2, 2] */
    float y11[8], y13[8];
    for (int v = 0; v < 2; v++) {
        b_reset();
        static const int64_t xd[3] = {2, 2, 2};
        b_input("x", 3, xd);
        Onnx__NodeProto *n =
            b_node("Softmax", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
        b_attr_int(n, "axis", 1);
        b_output("y", 1);
        ww_error err = {{0}};
        ww_model *m = b_load(v ? 13 : 11, &err);
        REQUIRE(m);
        REQUIRE(!ww_model_run_f32(m, x, 8, v ? y13 : y11, 8, &err));
        ww_model_free(m);
    }
    for (int b = 0; b < 2; b++) {
        /* opset 11: softmax over the 4 values of each batch row */
        double s = 0;
        for (int i = 0; i < 4; i++) s += exp(x[b * 4 + i]);
        for (int i = 0; i < 4; i++) CHECK_NEAR(y11[b * 4 + i], exp(x[b * 4 + i]) / s, 1e-6);
        /* opset 13: over axis 1 only (pairs 2 apart) */
        for (int k = 0; k < 2; k++) {
            double a = exp(x[b * 4 + k]), c = exp(x[b * 4 + 2 + k]);
            CHECK_NEAR(y13[b * 4 + k], a / (a + c), 1e-6);
            CHECK_NEAR(y13[b * 4 + 2 + k], c / (a + c), 1e-6);
        }
    }
}

/* Identity nodes disappear (exported untrained graphs have them), except one
 * that names a graph output. */
WW_TEST(identity_is_dropped_unless_it_names_an_output)
{
    b_reset();
    static const int64_t xd[2] = {1, 3};
    b_input("x", 2, xd);
    b_node("Identity", (const char *[]){"x", NULL}, (const char *[]){"i1", NULL});
    b_node("Relu", (const char *[]){"i1", NULL}, (const char *[]){"r", NULL});
    b_node("Identity", (const char *[]){"r", NULL}, (const char *[]){"y", NULL});
    b_output("y", 1);
    ww_error err = {{0}};
    ww_model *m = b_load(13, &err);
    REQUIRE(m);
    ww_model_stats st;
    ww_model_get_stats(m, &st);
    CHECK_EQ_INT(st.n_exec_nodes, 2);
    const float x[3] = {-1, 0.5f, 2};
    float y[3];
    REQUIRE(!ww_model_run_f32(m, x, 3, y, 3, &err));
    CHECK_NEAR(y[0], 0, 0);
    CHECK_NEAR(y[2], 2, 0);
    ww_model_free(m);
}

/* MaxPool ceil_mode and pads, checked against values worked out by hand from
 * the ONNX spec's output-size formula. */
WW_TEST(maxpool_ceil_mode_output_size)
{
    b_reset();
    static const int64_t xd[4] = {1, 1, 5, 5};
    b_input("x", 4, xd);
    Onnx__NodeProto *n =
        b_node("MaxPool", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
    static int64_t k[2] = {2, 2}, s[2] = {2, 2};
    b_attr_ints(n, "kernel_shape", k, 2);
    b_attr_ints(n, "strides", s, 2);
    b_attr_int(n, "ceil_mode", 1);
    b_output("y", 1);
    ww_error err = {{0}};
    ww_model *m = b_load(13, &err);
    REQUIRE(m);
    float x[25], y[9];
    for (int i = 0; i < 25; i++) x[i] = (float)i;
    REQUIRE(!ww_model_run_f32(m, x, 25, y, 9, &err)); /* ceil((5-2)/2)+1 = 3 per axis */
    const float want[9] = {6, 8, 9, 16, 18, 19, 21, 23, 24};
    for (int i = 0; i < 9; i++) CHECK_NEAR(y[i], want[i], 0);
    ww_model_free(m);
}

/* Activations a device could never hold are refused at load, before any of
 * that memory is touched: three live 1 GiB tensors. */
WW_TEST(huge_activation_plans_are_refused)
{
    b_reset();
    static const int64_t xd[4] = {1, 1, 16384, 16384};
    b_input("x", 4, xd);
    b_node("Relu", (const char *[]){"x", NULL}, (const char *[]){"r", NULL});
    b_node("Sigmoid", (const char *[]){"r", NULL}, (const char *[]){"s", NULL});
    b_node("Add", (const char *[]){"x", "r", NULL}, (const char *[]){"a", NULL});
    b_node("Add", (const char *[]){"a", "s", NULL}, (const char *[]){"y", NULL});
    b_output("y", 1);
    ww_error err = {{0}};
    ww_model *m = b_load(13, &err);
    CHECK(m == NULL);
    CHECK_MSG(strstr(err.msg, "built.onnx: ") && strstr(err.msg, "arena (limit 2048 MiB)"),
              "message: %s", err.msg);
    ww_model_free(m);
}

/* ReduceMean against a mean worked out in double, for every set of axes of a
 * rank-5 input with a size-1 axis (run() merges neighbouring axes and drops
 * size-1 ones, so this covers each loop it can end up with), keepdims 0 and 1,
 * axes as the attribute (opset 13) and as a constant input (opset 18, where an
 * empty set reduces every axis, or none with noop_with_empty_axes). */
WW_TEST(reducemean_matches_a_double_mean_for_every_axis_set)
{
    enum { R = 5, N = 120 };
    static const int64_t xd[R] = {2, 3, 1, 4, 5};
    float x[N];
    for (int i = 0; i < N; i++) x[i] = 100.0f + 10.0f * sinf((float)i * 0.7f);
    int n_cases = 0;
    for (int opset = 13; opset <= 18; opset += 5)
        for (int mask = 0; mask < 1 << R; mask++)
            for (int keep = 0; keep < 2; keep++)
                for (int noop = 0; noop < (opset == 18 && !mask ? 2 : 1); noop++) {
                    int64_t axes[R], an[1];
                    int na = 0;
                    for (int a = 0; a < R; a++)
                        if (mask >> a & 1) axes[na++] = a % 2 ? a - R : a; /* some negative */
                    b_reset();
                    b_input("x", R, xd);
                    Onnx__NodeProto *n;
                    if (opset < 18) {
                        n = b_node("ReduceMean", (const char *[]){"x", NULL},
                                   (const char *[]){"y", NULL});
                        if (na) b_attr_ints(n, "axes", axes, (size_t)na);
                    } else {
                        an[0] = na;
                        b_init("axes", 7, 1, an, axes, (size_t)na * sizeof axes[0]);
                        n = b_node("ReduceMean", (const char *[]){"x", "axes", NULL},
                                   (const char *[]){"y", NULL});
                        b_attr_int(n, "noop_with_empty_axes", noop);
                    }
                    b_attr_int(n, "keepdims", keep);
                    b_output("y", 1);
                    ww_error err = {{0}};
                    ww_model *m = b_load(opset, &err);
                    CHECK_MSG(m, "opset %d axes mask %d: %s", opset, mask, err.msg);
                    REQUIRE(m);
                    int red = mask ? mask : noop ? 0 : (1 << R) - 1;
                    /* the expected shape, and each input element's output index */
                    int64_t want_dims[R], count = 1;
                    int want_rank = 0;
                    for (int a = 0; a < R; a++) {
                        if (red >> a & 1) count *= xd[a];
                        if (!(red >> a & 1) || keep)
                            want_dims[want_rank++] = red >> a & 1 ? 1 : xd[a];
                    }
                    double sum[N] = {0};
                    for (int i = 0; i < N; i++) {
                        int rest = i, o = 0, scale = 1;
                        for (int a = R - 1; a >= 0; a--) {
                            int ia = rest % (int)xd[a];
                            rest /= (int)xd[a];
                            if (!(red >> a & 1)) {
                                o += ia * scale;
                                scale *= (int)xd[a];
                            }
                        }
                        sum[o] += x[i];
                    }
                    ww_tensor_view in, out;
                    REQUIRE(!ww_model_input(m, 0, &in));
                    memcpy(in.data, x, sizeof x);
                    REQUIRE(!ww_model_run(m, &err));
                    REQUIRE(!ww_model_output(m, 0, &out));
                    CHECK_EQ_INT(out.ndim, want_rank);
                    int same = out.ndim == want_rank;
                    for (int d = 0; same && d < want_rank; d++) same = out.dims[d] == want_dims[d];
                    CHECK_MSG(same, "opset %d axes mask %d keepdims %d: wrong shape", opset, mask,
                              keep);
                    for (size_t o = 0; same && o < out.count; o++) {
                        double want = sum[o] / (double)count;
                        CHECK_MSG(fabs(((float *)out.data)[o] - want) <= 2e-5 * fabs(want),
                                  "opset %d axes mask %d keepdims %d: [%zu] %g, expected %g", opset,
                                  mask, keep, o, ((float *)out.data)[o], want);
                    }
                    ww_model_free(m);
                    n_cases++;
                }
    CHECK_EQ_INT(n_cases, 2 * 32 * 2 + 2);
}

/* Axes the spec does not allow are refused at load, in one line naming the
 * node; axes fed as a graph input are taken only when frozen at prepare. */
WW_TEST(reducemean_refuses_bad_axes_naming_the_node)
{
    static const struct {
        int opset, na, as_input;
        int64_t axes[2];
        const char *want;
    } cases[] = {
        {13, 2, 0, {1, -3}, "built.onnx: node 'y' (ReduceMean): axis 1 repeated"},
        {18, 2, 1, {-1, 3}, "node 'y' (ReduceMean): axis 3 repeated"},
        {13, 1, 0, {4}, "node 'y' (ReduceMean): axis 4 out of range for rank 4"},
        {18, 1, 1, {-5}, "node 'y' (ReduceMean): axis -5 out of range for rank 4"},
        {18, 1, 0, {1}, "node 'y' (ReduceMean): axes is an input since opset 18"},
        {13, 1, 1, {1}, "node 'y' (ReduceMean): axes is an attribute before opset 18"},
    };
    static const int64_t xd[4] = {1, 2, 3, 4};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        b_reset();
        b_input("x", 4, xd);
        int64_t an[1] = {cases[c].na};
        Onnx__NodeProto *n;
        if (cases[c].as_input) {
            b_init("axes", 7, 1, an, cases[c].axes, (size_t)cases[c].na * 8);
            n = b_node("ReduceMean", (const char *[]){"x", "axes", NULL},
                       (const char *[]){"y", NULL});
        } else {
            n = b_node("ReduceMean", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
            b_attr_ints(n, "axes", (int64_t *)cases[c].axes, (size_t)cases[c].na);
        }
        b_output("y", 1);
        ww_error err = {{0}};
        ww_model *m = b_load(cases[c].opset, &err);
        CHECK_MSG(!m && strstr(err.msg, cases[c].want) && !strchr(err.msg, '\n'), "case %zu: %s", c,
                  m ? "loaded" : err.msg);
        ww_model_free(m);
    }

    /* axes from an int64 graph input: refused unless its value is given */
    b_reset();
    b_input("x", 4, xd);
    static const int64_t one[1] = {1};
    B.in_ptrs[B.n_in++] = b_vi("axes", 7, 1, one);
    b_node("ReduceMean", (const char *[]){"x", "axes", NULL}, (const char *[]){"y", NULL});
    b_output("y", 1);
    ww_error err = {{0}};
    ww_model *m = b_load(18, &err);
    CHECK_MSG(m, "%s", err.msg);
    REQUIRE(m);
    int nd[2] = {4, 1};
    const int64_t *dims[2] = {xd, one};
    CHECK(ww_model_prepare_shapes(m, nd, dims, &err) != 0);
    CHECK_MSG(strstr(err.msg, "node 'y' (ReduceMean): axes input 'axes' is computed at run time"),
              "%s", err.msg);
    static const int64_t last[1] = {-1};
    const void *values[2] = {NULL, last};
    int rc = ww_model_prepare_values(m, nd, dims, values, &err);
    CHECK_MSG(!rc, "%s", err.msg);
    REQUIRE(!rc);
    ww_tensor_view in, out;
    REQUIRE(!ww_model_input(m, 0, &in));
    for (int i = 0; i < 24; i++) ((float *)in.data)[i] = (float)i;
    REQUIRE(!ww_model_run(m, &err));
    REQUIRE(!ww_model_output(m, 0, &out));
    CHECK_EQ_INT(out.ndim, 4);
    CHECK_EQ_INT(out.count, 6);
    for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)out.data)[i], 4 * i + 1.5, 1e-6);
    ww_model_free(m);
}

/* The mean over an empty axis is NaN (numpy's answer; ONNX leaves it
 * undefined), and an empty output is simply empty. */
WW_TEST(reducemean_over_an_empty_axis_is_nan)
{
    for (int axis = 1; axis >= 0; axis--) {
        b_reset();
        static const int64_t xd[2] = {2, 0};
        b_input("x", 2, xd);
        Onnx__NodeProto *n =
            b_node("ReduceMean", (const char *[]){"x", NULL}, (const char *[]){"y", NULL});
        int64_t axes[1] = {axis};
        b_attr_ints(n, "axes", axes, 1);
        b_attr_int(n, "keepdims", 0);
        b_output("y", 1);
        ww_error err = {{0}};
        ww_model *m = b_load(13, &err);
        CHECK_MSG(m, "%s", err.msg);
        REQUIRE(m);
        ww_tensor_view out;
        REQUIRE(!ww_model_run(m, &err));
        REQUIRE(!ww_model_output(m, 0, &out));
        CHECK_EQ_INT(out.ndim, 1);
        CHECK_EQ_INT(out.count, axis ? 2 : 0);
        for (size_t i = 0; i < out.count; i++) CHECK(isnan(((float *)out.data)[i]));
        ww_model_free(m);
    }
}

/* Integer Add, Sub, Mul and Div wrap around in two's complement (ONNX Runtime
 * gives the same bits) rather than overflowing, which C leaves undefined:
 * fuzz_qdq once found 2004318071 + 2004318071 in a mutated model. */
WW_TEST(integer_arithmetic_wraps_around_at_the_type_limits)
{
    static const char *ops[4] = {"Add", "Sub", "Mul", "Div"};
    static const char *outs[4] = {"ya", "ys", "ym", "yd"};
    enum { N = 6 };
    static const int64_t xd[1] = {N};
    for (int dt = 6; dt <= 7; dt++) { /* INT32, INT64 */
        int64_t lo = dt == 6 ? INT32_MIN : INT64_MIN, hi = dt == 6 ? INT32_MAX : INT64_MAX;
        int64_t x[N] = {hi, lo, 2004318071, lo, -7, 5}, c[N] = {1, -1, 2004318071, hi, 2, -3};
        int32_t c32[N];
        for (int i = 0; i < N; i++) c32[i] = (int32_t)c[i];
        b_reset();
        B.in_ptrs[B.n_in++] = b_vi("x", dt, 1, xd);
        b_init("c", dt, 1, xd, dt == 6 ? (const void *)c32 : (const void *)c,
               dt == 6 ? sizeof c32 : sizeof c);
        for (int k = 0; k < 4; k++) {
            b_node(ops[k], (const char *[]){"x", "c", NULL}, (const char *[]){outs[k], NULL});
            b_output(outs[k], dt);
        }
        ww_error err = {{0}};
        ww_model *m = b_load(13, &err);
        CHECK_MSG(m, "%s", err.msg);
        REQUIRE(m);
        int rc = ww_model_prepare(m, 0, &err);
        CHECK_MSG(!rc, "%s", err.msg);
        ww_tensor_view in, out;
        REQUIRE(!rc && !ww_model_input(m, 0, &in));
        for (int i = 0; i < N; i++) {
            if (dt == 6)
                ((int32_t *)in.data)[i] = (int32_t)x[i];
            else
                ((int64_t *)in.data)[i] = x[i];
        }
        REQUIRE(!ww_model_run(m, &err));
        for (int k = 0; k < 4; k++) {
            REQUIRE(!ww_model_output(m, k, &out));
            for (int i = 0; i < N; i++) {
                uint64_t u = (uint64_t)x[i], v = (uint64_t)c[i];
                uint64_t w = k == 0       ? u + v
                             : k == 1     ? u - v
                             : k == 2     ? u * v
                             : c[i] == -1 ? 0 - u
                                          : (uint64_t)(x[i] / c[i]);
                int64_t want = dt == 6 ? (int64_t)(int32_t)(uint32_t)w : (int64_t)w;
                int64_t got =
                    dt == 6 ? ((const int32_t *)out.data)[i] : ((const int64_t *)out.data)[i];
                CHECK_MSG(got == want, "%s int%d element %d: %lld, want %lld", ops[k],
                          dt == 6 ? 32 : 64, i, (long long)got, (long long)want);
            }
        }
        ww_model_free(m);
    }
}
