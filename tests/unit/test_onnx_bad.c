/* Bad models: each is built here with protobuf-c (or is not protobuf at all)
 * and must be refused at load with one line that names the file and the
 * problem, by the library and by `wakewordd infer` / `info` (exit 1), with no
 * crash or leak (this binary also runs under ASan+UBSan). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/model.h"
#include "onnx.pb-c.h"
#include "wwtest.h"

/* ---- a tiny model: X[1,1,4,4] -> Conv(W[2,1,3,3], pad 1) -> Relu -> Y ---- */
typedef struct spec {
    const char *w_name_in_node; /* the name the Conv reads its weight from */
    int64_t w_dims[4];
    int x_channels;
    int64_t x_dim0;
    const char *conv_type;
    const char *conv_domain;
    const char *relu_in; /* Relu's input name */
    const char *conv_in; /* Conv's data input name */
    const char *extra_opset_domain;
    size_t raw_bytes; /* 0: exact */
    int no_default_opset;
} spec;

static spec good(void)
{
    spec s = {"W", {2, 1, 3, 3}, 1, 1, "Conv", "", "c", "X", NULL, 0, 0};
    return s;
}

static size_t pack_model(const spec *s, uint8_t **out)
{
    static float wdata[4096];
    Onnx__TensorProto w = ONNX__TENSOR_PROTO__INIT;
    w.name = "W";
    w.n_dims = 4;
    w.dims = (int64_t *)s->w_dims;
    w.has_data_type = 1;
    w.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    w.has_raw_data = 1;
    size_t count = 1;
    for (int i = 0; i < 4; i++) count *= s->w_dims[i] > 0 && s->w_dims[i] < 64 ? s->w_dims[i] : 1;
    w.raw_data.len = s->raw_bytes ? s->raw_bytes : count * 4;
    if (w.raw_data.len > sizeof wdata) w.raw_data.len = sizeof wdata;
    for (size_t i = 0; i < sizeof wdata / 4; i++) wdata[i] = 0.01f * (float)(i % 17);
    w.raw_data.data = (uint8_t *)wdata;
    Onnx__TensorProto *inits[] = {&w};

    Onnx__AttributeProto pads = ONNX__ATTRIBUTE_PROTO__INIT;
    int64_t pv[4] = {1, 1, 1, 1};
    pads.name = "pads";
    pads.has_type = 1;
    pads.type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    pads.n_ints = 4;
    pads.ints = pv;
    Onnx__AttributeProto *conv_attrs[] = {&pads};

    Onnx__NodeProto conv = ONNX__NODE_PROTO__INIT, relu = ONNX__NODE_PROTO__INIT;
    char *conv_in[] = {(char *)s->conv_in, (char *)s->w_name_in_node}, *conv_out[] = {"c"};
    conv.name = "conv0";
    conv.op_type = (char *)s->conv_type;
    conv.domain = (char *)s->conv_domain;
    conv.n_input = 2;
    conv.input = conv_in;
    conv.n_output = 1;
    conv.output = conv_out;
    conv.n_attribute = 1;
    conv.attribute = conv_attrs;
    char *relu_in[] = {(char *)s->relu_in}, *relu_out[] = {"Y"};
    relu.name = "relu0";
    relu.op_type = "Relu";
    relu.n_input = 1;
    relu.input = relu_in;
    relu.n_output = 1;
    relu.output = relu_out;
    Onnx__NodeProto *nodes[] = {&conv, &relu};

    Onnx__TensorShapeProto__Dimension d[4];
    Onnx__TensorShapeProto__Dimension *dp[4];
    int64_t xd[4] = {s->x_dim0, s->x_channels, 4, 4};
    for (int i = 0; i < 4; i++) {
        Onnx__TensorShapeProto__Dimension init = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        d[i] = init;
        d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d[i].dim_value = xd[i];
        dp[i] = &d[i];
    }
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 4;
    shape.dim = dp;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = 1;
    tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto x = ONNX__VALUE_INFO_PROTO__INIT, y = ONNX__VALUE_INFO_PROTO__INIT;
    x.name = "X";
    x.type = &type;
    Onnx__TypeProto__Tensor ytt = ONNX__TYPE_PROTO__TENSOR__INIT;
    ytt.has_elem_type = 1;
    ytt.elem_type = 1;
    Onnx__TypeProto ytype = ONNX__TYPE_PROTO__INIT;
    ytype.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    ytype.tensor_type = &ytt;
    y.name = "Y";
    y.type = &ytype;
    Onnx__ValueInfoProto *ins[] = {&x}, *outs[] = {&y};

    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "tiny";
    g.n_node = 2;
    g.node = nodes;
    g.n_initializer = 1;
    g.initializer = inits;
    g.n_input = 1;
    g.input = ins;
    g.n_output = 1;
    g.output = outs;

    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT, op2 = op;
    op.domain = "";
    op.has_version = 1;
    op.version = 13;
    op2.domain = (char *)s->extra_opset_domain;
    op2.has_version = 1;
    op2.version = 1;
    Onnx__OperatorSetIdProto *ops[] = {&op, &op2};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.producer_name = "test_onnx_bad";
    m.graph = &g;
    m.n_opset_import = s->no_default_opset ? 0 : s->extra_opset_domain ? 2 : 1;
    m.opset_import = ops;
    if (s->no_default_opset) {
        m.n_opset_import = 1;
        m.opset_import = ops + 1;
    }
    size_t len = onnx__model_proto__get_packed_size(&m);
    *out = malloc(len);
    onnx__model_proto__pack(&m, *out);
    return len;
}

static const char *write_file(const char *name, const void *data, size_t len)
{
    const char *path = ww_test_tmp(name);
    FILE *f = fopen(path, "wb");
    if (f) {
        if (len) fwrite(data, 1, len, f);
        fclose(f);
    }
    return path;
}

static const char *write_model(const char *name, const spec *s)
{
    uint8_t *buf;
    size_t len = pack_model(s, &buf);
    const char *p = write_file(name, buf, len);
    free(buf);
    return p;
}

/* CLI: exit 1, exactly one line on stderr naming the file and containing want */
static void check_cli(const char *cmd, const char *path, const char *want)
{
    const char *bin = getenv("WAKEWORDD") ? getenv("WAKEWORDD") : "build/wakewordd";
    char errpath[600];
    snprintf(errpath, sizeof errpath, "%s", ww_test_tmp("cli_stderr"));
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_RDWR);
        dup2(fd, 2);
        dup2(nul, 1);
        dup2(nul, 0);
        if (!strcmp(cmd, "infer"))
            execl(bin, bin, "infer", path, "--input", "tests/fixtures/onnx/none.npy", (char *)NULL);
        else
            execl(bin, bin, cmd, path, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    char buf[2048] = {0};
    FILE *f = fopen(errpath, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s %s: status %d, stderr: %s", cmd, path,
              WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st), buf);
    char *nl = strchr(buf, '\n');
    CHECK_MSG(nl && nl[1] == 0, "%s: expected one line on stderr, got: %s", cmd, buf);
    CHECK_MSG(strstr(buf, path) != NULL, "%s: message does not name the file: %s", cmd, buf);
    CHECK_MSG(strstr(buf, want) != NULL, "%s: message lacks '%s': %s", cmd, want, buf);
}

/* `info` describes a model the engine cannot run: exit 0, the reason on stdout */
static void check_info_describes(const char *path, const char *want)
{
    const char *bin = getenv("WAKEWORDD") ? getenv("WAKEWORDD") : "build/wakewordd";
    char outpath[600];
    snprintf(outpath, sizeof outpath, "%s", ww_test_tmp("info_stdout"));
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        execl(bin, bin, "info", path, (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    char buf[8192] = {0};
    FILE *f = fopen(outpath, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        fclose(f);
    }
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "info %s: status %d", path,
              WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
    char line[1024];
    snprintf(line, sizeof line, "engine     cannot run it: %s: ", path);
    CHECK_MSG(strstr(buf, line) && strstr(buf, want), "info output lacks '%s%s': %s", line, want,
              buf);
}

/* library and infer refuse; info still describes it */
static void expect_unrunnable(const char *path_in, const char *want)
{
    char path[600];
    snprintf(path, sizeof path, "%s", path_in);
    ww_model *m = NULL;
    ww_error err = {{0}};
    int rc = ww_model_load(path, &m, &err);
    CHECK_MSG(rc == WW_EUNSUPPORTED && m == NULL, "%s: rc %d", path, rc);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, want), "%s: message '%s' lacks '%s'", path,
              err.msg, want);
    check_cli("infer", path, want);
    check_info_describes(path, want);
}

/* library and CLI both refuse, naming the file and the problem */
static void expect_refused(const char *path_in, const char *want)
{
    char path[600]; /* ww_test_tmp's buffer is reused below */
    snprintf(path, sizeof path, "%s", path_in);
    ww_model *m = NULL;
    ww_error err = {{0}};
    int rc = ww_model_load(path, &m, &err);
    CHECK_MSG(rc < 0 && m == NULL, "%s loaded (rc %d)", path, rc);
    CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, want), "%s: message '%s' lacks '%s'", path,
              err.msg, want);
    CHECK_MSG(!strchr(err.msg, '\n'), "multi-line message: %s", err.msg);
    ww_model_free(m);
    check_cli("infer", path, want);
    check_cli("info", path, want);
}

WW_TEST(the_tiny_model_itself_loads_and_runs)
{
    spec s = good();
    const char *p = write_model("good.onnx", &s);
    ww_model *m = NULL;
    ww_error err = {{0}};
    REQUIRE(!ww_model_load(p, &m, &err));
    float x[16], y[32];
    for (int i = 0; i < 16; i++) x[i] = (float)i - 8.0f;
    REQUIRE(!ww_model_run_f32(m, x, 16, y, 32, &err));
    /* output centre pixel of channel 0 by hand: W[0] = 0.01*(k%17), k = 0..8 */
    double want = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) want += 0.01 * ((i * 3 + j) % 17) * x[(1 + i - 1) * 4 + j];
    CHECK_NEAR(y[1 * 4 + 1], want > 0 ? want : 0, 1e-5);
    ww_model_free(m);
}

WW_TEST(empty_truncated_and_non_protobuf_files_are_refused)
{
    spec s = good();
    uint8_t *buf;
    size_t len = pack_model(&s, &buf);
    expect_refused(write_file("empty.onnx", "", 0), "empty file");
    expect_refused(write_file("truncated.onnx", buf, len / 2), "not an ONNX model");
    expect_refused(write_file("truncated_tail.onnx", buf, len - 3), "");
    free(buf);
    expect_refused(write_file("text.onnx", "this is not a model\n", 20), "not an ONNX model");
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
    expect_refused(write_file("magic.onnx", png, sizeof png), "not an ONNX model");
    expect_refused(write_file("npy.onnx", "\x93NUMPY\x01\x00v\x00{'descr': '<f4'}", 26),
                   "not an ONNX model");
    expect_refused(ww_test_tmpdir(), "not a regular file");
    expect_refused("/nonexistent/model.onnx", "No such file");
}

WW_TEST(missing_initializer_is_refused)
{
    spec s = good();
    s.w_name_in_node = "W_missing";
    expect_refused(write_model("missing_init.onnx", &s),
                   "input 'W_missing' is not an initializer, graph input or node output");
}

WW_TEST(shape_mismatch_is_refused)
{
    spec s = good();
    s.w_dims[1] = 3; /* 3 input channels expected, the graph has 1 */
    expect_refused(write_model("shape_mismatch.onnx", &s), "does not fit 1 input channels");
    spec r = good();
    r.raw_bytes = 12; /* raw_data shorter than the shape */
    expect_refused(write_model("raw_short.onnx", &r), "raw_data has 12 bytes, shape needs 72");
}

WW_TEST(negative_and_huge_dims_are_refused)
{
    spec s = good();
    s.w_dims[0] = -2;
    expect_refused(write_model("neg_dim.onnx", &s), "dimension 0 is -2");
    spec h = good();
    h.w_dims[2] = (int64_t)1 << 40;
    expect_refused(write_model("huge_dim.onnx", &h), "dimension 2 is 1099511627776");
    spec h2 = good();
    h2.w_dims[2] = 30000;
    h2.w_dims[3] = 30000; /* each axis fine, the product is not */
    expect_refused(write_model("huge_count.onnx", &h2), "more than");
    spec x = good();
    x.x_dim0 = -5;
    expect_refused(write_model("neg_input.onnx", &x), "input 'X' dimension 0 is -5");
}

WW_TEST(cyclic_graph_is_refused)
{
    spec s = good();
    s.conv_in = "Y"; /* conv reads relu's output, relu reads conv's */
    expect_refused(write_model("cycle.onnx", &s), "cycle");
}

WW_TEST(unknown_domain_and_unsupported_op_are_refused)
{
    spec s = good();
    s.conv_domain = "com.example";
    s.extra_opset_domain = "com.example";
    expect_unrunnable(write_model("domain.onnx", &s),
                      "node 'conv0' (Conv): operator domain 'com.example' is not supported");
    spec o = good();
    o.no_default_opset = 1;
    o.extra_opset_domain = "com.example";
    expect_refused(write_model("no_default_opset.onnx", &o), "'com.example' is not supported");
    spec u = good();
    u.conv_type = "FancyConv";
    expect_unrunnable(write_model("unsupported.onnx", &u),
                      "node 'conv0' (FancyConv): operator not supported");
}

/* Random byte corruptions of a real export: each either loads (and then runs)
 * or is refused with a one-line message; nothing crashes (ASan/UBSan build). */
WW_TEST(corrupted_exports_never_crash)
{
    FILE *f = fopen("tests/fixtures/onnx/resnet18_w8_viewhead_op17/model.onnx", "rb");
    REQUIRE(f);
    static uint8_t orig[1 << 20], buf[1 << 20];
    size_t len = fread(orig, 1, sizeof orig, f);
    fclose(f);
    /* nodes come before the weight blobs in an export: aim at the start too */
    unsigned seed = 12345;
    int loaded = 0, refused = 0;
    for (int iter = 0; iter < 120; iter++) {
        memcpy(buf, orig, len);
        int flips = 1 + iter % 4;
        for (int k = 0; k < flips; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (iter & 1) ? (seed >> 4) % len : (seed >> 4) % 8192;
            seed = seed * 1103515245u + 12345u;
            buf[at] ^= (uint8_t)(1u << ((seed >> 8) % 8));
        }
        size_t use = (iter % 7 == 0) ? len - (seed >> 6) % 64 : len;
        ww_model *m = NULL;
        ww_error err = {{0}};
        if (ww_model_load_mem(buf, use, "mutant.onnx", &m, &err) == 0) {
            loaded++;
            static float x[2 * 64 * 101], y[64];
            if (!ww_model_prepare(m, 2, &err)) ww_model_run_f32(m, x, 2 * 64 * 101, y, 4, &err);
            ww_model_free(m);
        } else {
            refused++;
            CHECK_MSG(!strchr(err.msg, '\n') && strstr(err.msg, "mutant.onnx: "), "message: %s",
                      err.msg);
        }
    }
    printf("# 120 mutants: %d loaded, %d refused\n", loaded, refused);
    CHECK(refused > 0);
}

/* ---- input limits (issue #8): each refused before anything is allocated ---- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    do {
        p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return n;
}

/* A ModelProto whose graph holds a node whose attribute holds a graph ...
 * `levels` times: 5000 levels are 54 KB and overflowed the stack inside
 * protobuf-c's recursive unpack before the nesting limit existed. */
static size_t nested_model(int levels, uint8_t **out)
{
    size_t cap = (size_t)levels * 16 + 64;
    uint8_t *a = malloc(cap), *b = malloc(cap);
    size_t len = 0;
    for (int i = 0; i < levels; i++) {
        /* AttributeProto.g (6), NodeProto.attribute (5), GraphProto.node (1) */
        static const int fields[3] = {6, 5, 1};
        for (int f = 0; f < 3; f++) {
            size_t n = put_varint(b, (uint64_t)fields[f] << 3 | 2);
            n += put_varint(b + n, len);
            memcpy(b + n, a, len);
            len += n;
            uint8_t *t = a;
            a = b;
            b = t;
        }
    }
    uint8_t *m = malloc(len + 32);
    size_t n = put_varint(m, 1 << 3 | 0); /* ir_version 8 */
    n += put_varint(m + n, 8);
    n += put_varint(m + n, 7 << 3 | 2); /* graph */
    n += put_varint(m + n, len);
    memcpy(m + n, a, len);
    n += len;
    static const uint8_t opset[] = {8 << 3 | 2, 2, 2 << 3 | 0, 13}; /* opset_import {version 13} */
    memcpy(m + n, opset, sizeof opset);
    n += sizeof opset;
    free(a);
    free(b);
    *out = m;
    return n;
}

WW_TEST(deeply_nested_protobuf_is_refused_without_recursing)
{
    uint8_t *buf;
    size_t len = nested_model(5000, &buf);
    expect_refused(write_file("nested.onnx", buf, len), "nested more than 64 deep");
    free(buf);
    /* shallow nesting is parsed as before (and refused later for what it is) */
    len = nested_model(3, &buf);
    ww_model *m = NULL;
    ww_error err = {{0}};
    CHECK(ww_model_load_mem(buf, len, "shallow.onnx", &m, &err) < 0);
    CHECK_MSG(!strstr(err.msg, "nested"), "%s", err.msg);
    free(buf);
}

/* X -> Relu -> Relu ... (n nodes) -> Y */
static size_t relu_chain(int n, uint8_t **out)
{
    Onnx__NodeProto *nodes = calloc((size_t)n, sizeof *nodes);
    Onnx__NodeProto **np = calloc((size_t)n, sizeof *np);
    char(*names)[16] = calloc((size_t)n + 1, sizeof *names);
    char **ins = calloc((size_t)n, sizeof *ins), **outs = calloc((size_t)n, sizeof *outs);
    for (int i = 0; i <= n; i++) snprintf(names[i], sizeof names[i], i ? "t%d" : "X", i);
    snprintf(names[n], sizeof names[n], "Y");
    for (int i = 0; i < n; i++) {
        Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
        nodes[i] = init;
        nodes[i].op_type = "Relu";
        ins[i] = names[i];
        outs[i] = names[i + 1];
        nodes[i].n_input = 1;
        nodes[i].input = &ins[i];
        nodes[i].n_output = 1;
        nodes[i].output = &outs[i];
        np[i] = &nodes[i];
    }
    Onnx__TensorShapeProto__Dimension d = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT, *dp = &d;
    d.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d.dim_value = 4;
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1;
    shape.dim = &dp;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = 1;
    tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto x = ONNX__VALUE_INFO_PROTO__INIT, y = ONNX__VALUE_INFO_PROTO__INIT;
    x.name = "X";
    x.type = &type;
    y.name = "Y";
    y.type = &type;
    Onnx__ValueInfoProto *xin[] = {&x}, *yout[] = {&y};
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "chain";
    g.n_node = (size_t)n;
    g.node = np;
    g.n_input = 1;
    g.input = xin;
    g.n_output = 1;
    g.output = yout;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT, *ops[] = {&op};
    op.domain = "";
    op.has_version = 1;
    op.version = 13;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.graph = &g;
    m.n_opset_import = 1;
    m.opset_import = ops;
    size_t len = onnx__model_proto__get_packed_size(&m);
    *out = malloc(len);
    onnx__model_proto__pack(&m, *out);
    free(nodes);
    free(np);
    free(names);
    free(ins);
    free(outs);
    return len;
}

WW_TEST(graph_deeper_than_the_limit_is_refused)
{
    uint8_t *buf;
    size_t len = relu_chain(10001, &buf);
    expect_refused(write_file("deep_chain.onnx", buf, len), "graph is more than 10000 nodes deep");
    free(buf);
    /* a chain at the limit loads and runs */
    len = relu_chain(10000, &buf);
    ww_model *m = NULL;
    ww_error err = {{0}};
    CHECK_MSG(ww_model_load_mem(buf, len, "chain.onnx", &m, &err) == 0, "%s", err.msg);
    free(buf);
    if (m) {
        float x[4] = {-1, 2, -3, 4}, y[4];
        CHECK(ww_model_run_f32(m, x, 4, y, 4, &err) == 0);
        CHECK(y[0] == 0 && y[1] == 2 && y[2] == 0 && y[3] == 4);
        ww_model_free(m);
    }
}

WW_TEST(model_file_over_the_size_limit_is_refused_before_reading)
{
    /* sparse: 257 MiB of holes, no disk space used, never read */
    const char *p = write_file("huge.onnx", "", 0);
    char path[600];
    snprintf(path, sizeof path, "%s", p);
    int fd = open(path, O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(ftruncate(fd, (off_t)257 << 20) == 0);
    close(fd);
    expect_refused(path, "bytes is larger than the 256 MiB limit");
    unlink(path);
}
