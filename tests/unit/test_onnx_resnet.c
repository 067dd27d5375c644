/* PyTorch parity: torchvision ResNet18 exports (tests/gen/export_resnet.py,
 * narrow widths, opset 13 and 17, 7x7 and 3x3 stems, BatchNorm kept or folded
 * by the exporter, a view() head exported as Shape/Gather/Unsqueeze/Concat/
 * Reshape) run by the engine must give PyTorch's logits within max abs
 * 1e-4, at batch 2 on a model exported at batch 1 (symbolic batch axis), with
 * and without the engine's fusion, through the library and through
 * `wakewordd infer`; so must a small conv net behind an in-graph input
 * normalisation (ReduceMean + Sub). Larger exports (width 32/64, made into
 * /work/cache) are checked too when WW_RESNET_EXTRA lists their .onnx paths
 * (colon-separated, each with X.input.npy and X.output.npy beside it). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/npy.h"
#include "nn/model.h"
#include "wwtest.h"

static const char *fixtures[] = {
    "tests/fixtures/onnx/resnet18_w8_stem7_op13",
    "tests/fixtures/onnx/resnet18_w8_stem7_op17",
    "tests/fixtures/onnx/resnet18_w8_stem3_op13",
    "tests/fixtures/onnx/resnet18_w8_stem7_op13_bn",
    "tests/fixtures/onnx/resnet18_w8_viewhead_op17", /* Shape/Gather/.../Reshape head */
};
#define N_FIX (sizeof fixtures / sizeof fixtures[0])

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as a failure */
    }
    return m;
}

/* Loads model/input/output, runs at the input's batch; returns max abs diff. */
static double run_parity(const char *model, const char *in_path, const char *out_path, int fuse)
{
    ww_error err = {{0}};
    ww_npy in = {0}, want = {0};
    ww_model *m = NULL;
    double diff = 1e9;
    if (ww_npy_read(in_path, &in, &err) || ww_npy_read(out_path, &want, &err)) {
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
        goto out;
    }
    if (ww_model_load(model, &m, &err)) {
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
        goto out;
    }
    ww_model_set_fusion(m, fuse);
    if (ww_model_prepare(m, (int)in.shape[0], &err)) {
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
        goto out;
    }
    float *y = malloc(want.count * sizeof(float));
    if (ww_model_run_f32(m, in.data, in.count, y, want.count, &err))
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
    else
        diff = max_abs_diff(y, want.data, want.count);
    free(y);
out:
    ww_model_free(m);
    ww_npy_free(&in);
    ww_npy_free(&want);
    return diff;
}

/* A fixture folder's model.onnx on its input.npy, fused and unfused, must give
 * its output.npy within max abs tol. */
static void check_fixture(const char *dir, double tol)
{
    char model[512], in[512], out[512];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    snprintf(in, sizeof in, "%s/input.npy", dir);
    snprintf(out, sizeof out, "%s/output.npy", dir);
    double fused = run_parity(model, in, out, 1);
    double plain = run_parity(model, in, out, 0);
    CHECK_MSG(fused <= tol, "%s fused: max abs diff %g", dir, fused);
    CHECK_MSG(plain <= tol, "%s unfused: max abs diff %g", dir, plain);
    printf("# %s: max abs diff %.3g (fused) %.3g (unfused)\n", dir, fused, plain);
}

WW_TEST(resnet18_fixtures_match_pytorch)
{
    for (size_t i = 0; i < N_FIX; i++) check_fixture(fixtures[i], 1e-4);
}

/* The next model's input normalisation, x - x.mean(dim=3, keepdim=True), as
 * torch.onnx writes it at opset 17 (ReduceMean with axes [3] and [-1], then a
 * broadcasting Sub) ahead of a conv stack (tests/gen/export_mean_norm.py). */
WW_TEST(mean_normalised_input_matches_pytorch)
{
    check_fixture("tests/fixtures/onnx/meannorm_conv_op17", 1e-5);
    check_fixture("tests/fixtures/onnx/meannorm_conv_negdim_op17", 1e-5);
}

WW_TEST(resnet18_extra_models_match_pytorch)
{
    const char *extra = getenv("WW_RESNET_EXTRA");
    if (!extra || !*extra) {
        printf("# SKIP: WW_RESNET_EXTRA not set (tests/cli/test_infer_resnet_wide.sh sets it)\n");
        return;
    }
    char *list = strdup(extra), *save = NULL;
    for (char *p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        char base[1024], in[1100], out[1100];
        snprintf(base, sizeof base, "%.*s", (int)(strlen(p) - 5), p);
        snprintf(in, sizeof in, "%s.input.npy", base);
        snprintf(out, sizeof out, "%s.output.npy", base);
        double d = run_parity(p, in, out, 1);
        CHECK_MSG(d <= 1e-4, "%s: max abs diff %g", p, d);
        printf("# %s: max abs diff %.3g\n", p, d);
    }
    free(list);
}

/* The engine's folding must leave fewer steps than the file has nodes, and the
 * BN-kept export must fold to the same number of steps as the folded one. */
WW_TEST(resnet18_bn_folding_and_fusion_collapse_the_graph)
{
    ww_error err = {{0}};
    ww_model *a = NULL, *b = NULL;
    REQUIRE(!ww_model_load("tests/fixtures/onnx/resnet18_w8_stem7_op13/model.onnx", &a, &err));
    REQUIRE(!ww_model_load("tests/fixtures/onnx/resnet18_w8_stem7_op13_bn/model.onnx", &b, &err));
    ww_model_stats sa, sb;
    ww_model_get_stats(a, &sa);
    ww_model_get_stats(b, &sb);
    CHECK_MSG(sb.n_nodes > sa.n_nodes, "BN model has %zu nodes, folded %zu", sb.n_nodes,
              sa.n_nodes);
    /* 20 convs + maxpool + gap + flatten + gemm: every Relu, Add, BN fused */
    CHECK_EQ_INT(sa.n_exec_nodes, 24);
    CHECK_EQ_INT(sb.n_exec_nodes, 24);
    CHECK(sa.macs > 0 && sa.macs == sb.macs);
    CHECK(sa.arena_bytes > 0);
    ww_model_free(a);
    ww_model_free(b);
}

WW_TEST(resnet18_batch1_equals_row_of_batch2)
{
    ww_error err = {{0}};
    ww_npy in = {0}, want = {0};
    ww_model *m = NULL;
    REQUIRE(!ww_npy_read("tests/fixtures/onnx/resnet18_w8_stem7_op17/input.npy", &in, &err));
    REQUIRE(!ww_npy_read("tests/fixtures/onnx/resnet18_w8_stem7_op17/output.npy", &want, &err));
    REQUIRE(!ww_model_load("tests/fixtures/onnx/resnet18_w8_stem7_op17/model.onnx", &m, &err));
    int64_t dims[WW_MAX_DIMS];
    CHECK_EQ_INT(ww_model_input_shape(m, 0, dims), 4);
    CHECK_EQ_INT(dims[0], -1); /* symbolic batch */
    CHECK_EQ_INT(dims[2], 64);
    REQUIRE(!ww_model_prepare(m, 1, &err));
    float y[2];
    size_t per = in.count / 2;
    for (int r = 1; r >= 0; r--) {
        REQUIRE(!ww_model_run_f32(m, (const float *)in.data + r * per, per, y, 2, &err));
        CHECK_NEAR(y[0], ((float *)want.data)[2 * r], 1e-4);
        CHECK_NEAR(y[1], ((float *)want.data)[2 * r + 1], 1e-4);
    }
    /* wrong counts are refused, not read past */
    CHECK(ww_model_run_f32(m, in.data, in.count, y, 2, &err) == WW_EINVAL);
    CHECK(strstr(err.msg, "expects") != NULL);
    ww_model_free(m);
    ww_npy_free(&in);
    ww_npy_free(&want);
}

typedef struct seen {
    int calls, saw_input, saw_output;
} seen;

static void observe(void *user, const ww_tensor_view *t)
{
    seen *s = user;
    s->calls++;
    if (!strcmp(t->name, "features")) s->saw_input = 1;
    if (!strcmp(t->name, "logits") && t->ndim == 2 && t->dims[1] == 2) s->saw_output = 1;
}

WW_TEST(observer_sees_every_produced_float_tensor)
{
    ww_error err = {{0}};
    ww_model *m = NULL;
    REQUIRE(!ww_model_load("tests/fixtures/onnx/resnet18_w8_stem7_op13/model.onnx", &m, &err));
    seen s = {0}, s2 = {0};
    ww_model_set_observer(m, observe, &s);
    REQUIRE(!ww_model_prepare(m, 1, &err));
    ww_tensor_view v;
    REQUIRE(!ww_model_input(m, 0, &v));
    memset(v.data, 0, v.count * sizeof(float));
    REQUIRE(!ww_model_run(m, &err));
    CHECK(s.saw_input && s.saw_output);
    CHECK_EQ_INT(s.calls, 25); /* input + 24 steps */
    ww_model_set_fusion(m, 0);
    ww_model_set_observer(m, observe, &s2);
    REQUIRE(!ww_model_prepare(m, 1, &err));
    REQUIRE(!ww_model_run(m, &err));
    CHECK_MSG(s2.calls > s.calls, "unfused run observed %d tensors, fused %d", s2.calls, s.calls);
    ww_model_free(m);
}

WW_TEST(metadata_props_are_read)
{
    ww_error err = {{0}};
    ww_model *m = NULL;
    REQUIRE(!ww_model_load("tests/fixtures/onnx/resnet18_w8_stem7_op13/model.onnx", &m, &err));
    CHECK(ww_model_meta_count(m) >= 10);
    const char *sr = ww_model_meta(m, "sample_rate");
    CHECK(sr && !strcmp(sr, "16000"));
    CHECK(ww_model_meta(m, "no_such_key") == NULL);
    const char *k, *v;
    ww_model_meta_at(m, 0, &k, &v);
    CHECK(k && v && *k);
    ww_model_free(m);
}

/* The CLI end to end: .npy in, .npy out, compared here. */
WW_TEST(infer_cli_writes_outputs_matching_pytorch)
{
    const char *bin = getenv("WAKEWORDD") ? getenv("WAKEWORDD") : "build/wakewordd";
    const char *dir = ww_test_tmp("infer_out");
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        execl(bin, bin, "infer", "tests/fixtures/onnx/resnet18_w8_stem3_op13/model.onnx", "--input",
              "features=tests/fixtures/onnx/resnet18_w8_stem3_op13/input.npy", "--output-dir", dir,
              "--npy", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char path[600];
    snprintf(path, sizeof path, "%s/logits.npy", dir);
    ww_npy got = {0}, want = {0};
    ww_error err = {{0}};
    REQUIRE(!ww_npy_read(path, &got, &err));
    REQUIRE(!ww_npy_read("tests/fixtures/onnx/resnet18_w8_stem3_op13/output.npy", &want, &err));
    CHECK_EQ_INT(got.count, 4);
    CHECK_EQ_INT(got.shape[0], 2);
    if (got.count == want.count) {
        double d = max_abs_diff(got.data, want.data, got.count);
        CHECK_MSG(d <= 1e-4, "max abs diff %g", d);
    }
    ww_npy_free(&got);
    ww_npy_free(&want);
}

/* QDQ int8 graphs run float-simulated must give what ONNX Runtime gives when
 * it runs the same QuantizeLinear/DequantizeLinear nodes as written
 * (tests/gen/make_onnx_qdq_fixture.sh): uint8 and int8 activations, per-channel
 * int8 weights, int32 biases. */
WW_TEST(qdq_resnet18_matches_onnxruntime)
{
    static const char *dirs[] = {"tests/fixtures/onnx/qdq_w8_u8", "tests/fixtures/onnx/qdq_w8_s8"};
    for (int i = 0; i < 2; i++) {
        char model[512], in[512], out[512];
        snprintf(model, sizeof model, "%s/model.onnx", dirs[i]);
        snprintf(in, sizeof in, "%s/input.npy", dirs[i]);
        snprintf(out, sizeof out, "%s/output.npy", dirs[i]);
        double d = run_parity(model, in, out, 1);
        CHECK_MSG(d <= 1e-5, "%s: max abs diff %g", dirs[i], d);
        printf("# %s: max abs diff %.3g vs ONNX Runtime\n", dirs[i], d);
        ww_model *m = NULL;
        ww_error err = {{0}};
        REQUIRE(!ww_model_load(model, &m, &err));
        ww_model_stats st;
        ww_model_get_stats(m, &st);
        CHECK_EQ_INT(st.kind, WW_MODEL_QDQ_INT8);
        ww_model_free(m);
    }
}
