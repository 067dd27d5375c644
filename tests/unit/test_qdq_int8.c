/* The int8 execution of QDQ graphs through the public API (nn/model.h):
 * ww_model_set_int8 switches between the int8 kernels and the float
 * simulation, ww_model_stats.n_int8_nodes says which ran, both agree within
 * one output quantization step and with ONNX Runtime's reference output of
 * the fixture (tests/gen/make_onnx_qdq_fixture.sh), and every ISA this CPU
 * runs gives the same bytes. The CLI side (a model fresh from `wakewordd
 * quantize`, ORT's fused int8 kernels) is tests/cli/test_int8.sh. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "nn/cpu.h"
#include "nn/model.h"
#include "wwtest.h"

#define DIR "tests/fixtures/onnx/qdq_w8_u8"

/* Loads DIR's model with int8 on or off, runs input, returns a malloc'd copy
 * of the output (n values) and the int8 node count. */
static float *run_model(const ww_npy *in, int int8, size_t *n, size_t *n_int8)
{
    ww_model *m = NULL;
    ww_error err = {{0}};
    if (ww_model_load(DIR "/model.onnx", &m, &err)) {
        CHECK_MSG(0, "load: %s", err.msg);
        return NULL;
    }
    ww_model_set_int8(m, int8);
    int nd = in->ndim;
    const int64_t *dims = in->shape;
    float *out = NULL;
    ww_tensor_view v;
    if (ww_model_prepare_shapes(m, &nd, &dims, &err) || ww_model_input(m, 0, &v)) {
        CHECK_MSG(0, "prepare: %s", err.msg);
        goto done;
    }
    memcpy(v.data, in->data, in->count * sizeof(float));
    if (ww_model_run(m, &err) || ww_model_output(m, 0, &v)) {
        CHECK_MSG(0, "run: %s", err.msg);
        goto done;
    }
    out = malloc(v.count * sizeof *out);
    if (out) memcpy(out, v.data, v.count * sizeof *out);
    *n = v.count;
    ww_model_stats st;
    ww_model_get_stats(m, &st);
    *n_int8 = st.n_int8_nodes;
done:
    ww_model_free(m);
    return out;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double d = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs((double)a[i] - b[i]) > d) d = fabs((double)a[i] - b[i]);
    return d;
}

/* The output is DequantizeLinear of a uint8 tensor, so its values are
 * multiples of the output scale: the smallest gap between two distinct
 * values bounds that step from above. */
static double output_step(const float *y, size_t n)
{
    double step = INFINITY;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double d = fabs((double)y[i] - y[j]);
            if (d > 0 && d < step) step = d;
        }
    return step;
}

WW_TEST(int8_kernels_match_float_simulation_and_onnxruntime)
{
    ww_npy in = {0}, want = {0};
    ww_error err = {{0}};
    REQUIRE(!ww_npy_read(DIR "/input.npy", &in, &err));
    REQUIRE(!ww_npy_read(DIR "/output.npy", &want, &err));
    size_t n8 = 0, ns = 0, k8 = 0, ks = 0;
    float *y8 = run_model(&in, 1, &n8, &k8);
    float *ys = run_model(&in, 0, &ns, &ks);
    REQUIRE(y8 && ys);
    CHECK_EQ_INT((int)n8, (int)want.count);
    CHECK_EQ_INT((int)ns, (int)want.count);
    CHECK_MSG(k8 >= 20, "only %zu nodes on the int8 kernels", k8);
    CHECK_EQ_INT((int)ks, 0);
    double step = output_step(ys, ns);
    double d_sim = max_abs_diff(y8, ys, n8), d_ort = max_abs_diff(y8, want.data, n8);
    printf("# %zu int8 nodes; output step <= %.4g; |int8 - simulated| %.3g, |int8 - ORT| %.3g\n",
           k8, step, d_sim, d_ort);
    CHECK_MSG(d_sim <= step * 1.001, "int8 vs float-simulated: %g > step %g", d_sim, step);
    CHECK_MSG(d_ort <= step * 1.001, "int8 vs ONNX Runtime: %g > step %g", d_ort, step);
    free(y8);
    free(ys);
    ww_npy_free(&in);
    ww_npy_free(&want);
}

WW_TEST(int8_every_isa_gives_the_same_bytes)
{
    ww_npy in = {0};
    ww_error err = {{0}};
    REQUIRE(!ww_npy_read(DIR "/input.npy", &in, &err));
    ww_isa best = ww_isa_active();
    size_t nref = 0, k = 0;
    REQUIRE(!ww_isa_set(WW_ISA_SCALAR, &err));
    float *ref = run_model(&in, 1, &nref, &k);
    REQUIRE(ref);
    static const char *names[] = {"avx2", "avx512", "avx512vnni", "neon", "neondot"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ww_isa isa;
        if (ww_isa_from_name(names[i], &isa, NULL) || !ww_isa_supported(isa)) continue;
        REQUIRE(!ww_isa_set(isa, &err));
        size_t n = 0;
        float *y = run_model(&in, 1, &n, &k);
        REQUIRE(y);
        CHECK_MSG(n == nref && !memcmp(y, ref, n * sizeof *y), "%s differs from scalar", names[i]);
        free(y);
    }
    ww_isa_set(best, &err);
    free(ref);
    ww_npy_free(&in);
}
