/* End-to-end float inference latency of one ONNX model through the engine
 * (load, prepare, then N timed runs of ww_model_run on a fixed random input),
 * side by side with ONNX Runtime on the same model when node and
 * onnxruntime-node are installed (bench/ort_bench.mjs, 1 thread): rounds
 * alternate between the two so machine load hits both alike.
 *   build/bench/bench_model [MODEL.onnx [RUNS [BATCH]]]
 * Without MODEL: $WW_BENCH_MODEL, else /work/cache/onnx/models/resnet18_w64.onnx
 * (tests/gen/export_resnet.py model ... --metadata makes it). Prints median /
 * p95 / min in ms per round and the ratio of medians. Single thread; WW_ISA
 * picks the kernel variant. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/cpu.h"
#include "nn/model.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One ORT round through bench/ort_bench.mjs; returns median ms or -1. */
static double ort_round(const char *model, int runs, const ww_tensor_view *in, double *min_ms)
{
    char shape[256] = "", cmd[1024];
    for (int i = 0; i < in->ndim; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? "," : "",
                 (long long)in->dims[i]);
    snprintf(cmd, sizeof cmd,
             "node bench/ort_bench.mjs '%s' --runs %d --warmup 10 --shape %s --json 2>/dev/null",
             model, runs, shape);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[2048] = "";
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    pclose(p);
    const char *med = strstr(line, "\"median_ms\":"), *mn = strstr(line, "\"min_ms\":");
    if (!med || !mn) return -1;
    *min_ms = atof(mn + 9);
    return atof(med + 12);
}

static int cmp_double(const void *a, const void *b);

static double our_round(ww_model *m, int runs, double *t, double *p95, double *min_ms)
{
    ww_error err = {{0}};
    for (int i = 0; i < runs; i++) {
        double s = now_ms();
        ww_model_run(m, &err);
        t[i] = now_ms() - s;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    *p95 = t[(runs * 95) / 100];
    *min_ms = t[0];
    return t[runs / 2];
}

int main(int argc, char **argv)
{
    const char *model = argc > 1 ? argv[1] : getenv("WW_BENCH_MODEL");
    if (!model) model = "/work/cache/onnx/models/resnet18_w64.onnx";
    FILE *probe = fopen(model, "rb");
    if (!probe) {
        printf("bench_model: %s not found; make it with\n  /usr/bin/python3 "
               "tests/gen/export_resnet.py model %s --metadata\n",
               model, model);
        return 0;
    }
    fclose(probe);
    int runs = argc > 2 ? atoi(argv[2]) : 100;
    int batch = argc > 3 ? atoi(argv[3]) : 1;
    if (runs < 1 || batch < 1) {
        fprintf(stderr, "bench_model: RUNS and BATCH must be positive\n");
        return 2;
    }
    ww_error err = {{0}};
    ww_model *m = NULL;
    double t0 = now_ms();
    if (ww_model_load(model, &m, &err) || ww_model_prepare(m, batch, &err)) {
        fprintf(stderr, "bench_model: %s\n", err.msg);
        ww_model_free(m);
        return 1;
    }
    double load_ms = now_ms() - t0;
    unsigned seed = 1;
    for (int i = 0; i < ww_model_n_inputs(m); i++) {
        ww_tensor_view v;
        ww_model_input(m, i, &v);
        if (v.dtype != WW_DT_F32) continue;
        for (size_t k = 0; k < v.count; k++) {
            seed = seed * 1103515245u + 12345u;
            ((float *)v.data)[k] = (float)((seed >> 9) & 0xffff) / 32768.0f - 1.0f;
        }
    }
    for (int i = 0; i < 10; i++)
        if (ww_model_run(m, &err)) {
            fprintf(stderr, "bench_model: %s\n", err.msg);
            ww_model_free(m);
            return 1;
        }
    double *t = malloc(sizeof *t * (size_t)runs);
    ww_model_stats st;
    ww_model_get_stats(m, &st);
    ww_tensor_view in;
    ww_model_input(m, 0, &in);
    printf("model %s batch %d isa %s: %.1f M MACs, arena %zu bytes, %zu steps, load+prepare "
           "%.0f ms\n",
           model, batch, ww_isa_name(ww_isa_active()), st.macs / 1e6, st.arena_bytes,
           st.n_exec_nodes, load_ms);
    double ours[3], orts[3], our_min = 1e9, ort_min = 1e9;
    int have_ort = 1;
    for (int r = 0; r < 3; r++) {
        double p95, mn, omin = 0;
        ours[r] = our_round(m, runs, t, &p95, &mn);
        if (mn < our_min) our_min = mn;
        printf("  round %d wakewordd: median %.3f ms, p95 %.3f ms, min %.3f ms (%d runs)\n", r,
               ours[r], p95, mn, runs);
        if (have_ort) {
            orts[r] = ort_round(model, runs, &in, &omin);
            if (orts[r] < 0) {
                have_ort = 0;
                printf("  ONNX Runtime not available (node + onnxruntime-node: "
                       "scripts/install-ort.sh); no side-by-side figure\n");
            } else {
                if (omin < ort_min) ort_min = omin;
                printf("  round %d onnxruntime: median %.3f ms, min %.3f ms\n", r, orts[r], omin);
            }
        }
    }
    qsort(ours, 3, sizeof ours[0], cmp_double);
    printf("wakewordd float median %.3f ms (median of 3 rounds)\n", ours[1]);
    if (have_ort) {
        qsort(orts, 3, sizeof orts[0], cmp_double);
        printf("onnxruntime float median %.3f ms; ratio wakewordd/ORT %.2f (target <= 2)\n",
               orts[1], ours[1] / orts[1]);
        /* on a busy machine the fastest run is the steadier comparison */
        printf("best runs: wakewordd %.3f ms, onnxruntime %.3f ms; ratio %.2f\n", our_min, ort_min,
               our_min / ort_min);
    }
    free(t);
    ww_model_free(m);
    return 0;
}
