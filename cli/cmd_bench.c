/* wakewordd bench: the latency of one model through the engine, as the daemon
 * runs it (load, prepare once, then timed runs that allocate nothing), on a
 * fixed pseudo-random log-mel-like input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "nn/cpu.h"
#include "nn/model.h"
#include "quant/report.h"

static const char usage[] =
    "usage: wakewordd bench [options] MODEL.onnx\n"
    "\n"
    "Loads MODEL, fills its inputs with log-mel-like values (uniform in [-14, 5],\n"
    "fixed seed), runs it --warmup times, then times --runs single runs and prints\n"
    "load time, arena bytes, median / p95 / p99 / min latency, inferences and\n"
    "multiply-accumulates per second, the kernel ISA and how the model runs\n"
    "(float, float-simulated QDQ or int8 kernels; WW_INT8=0 keeps QDQ models\n"
    "float-simulated).\n"
    "\n"
    "options (defaults in brackets):\n"
    "  --runs N       timed runs [200]\n"
    "  --warmup N     untimed runs first [20]\n"
    "  --batch N      batch size the model is prepared for [1]\n"
    "  --threads N    the engine is single-threaded: only 1 [1]\n"
    "  --isa NAME     kernel variant: scalar, avx2, avxvnni, avx512, avx512vnni,\n"
    "                 neon, neondot [the best this CPU runs, or $WW_ISA]\n"
    "  --profile      then time every step over --runs more runs and print\n"
    "                 each one's mean time, share and MAC rate\n"
    "  --json         one JSON object instead of the table\n"
    "  -h, --help     show this help\n";

#define CMD "bench"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* nearest-rank quantile of sorted t[0..n) */
static double quantile(const double *t, int n, double q)
{
    int at = (int)(q * n + 0.999999) - 1;
    if (at < 0) at = 0;
    if (at > n - 1) at = n - 1;
    return t[at];
}

/* 1 when s is a whole decimal number in [lo, hi] */
static int parse_count(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

/* xorshift32: the same input on every run and machine */
static uint32_t next_u32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static int fill_inputs(ww_model *m, const char *path, ww_error *err)
{
    uint32_t seed = 0x5eed1234u;
    for (int i = 0; i < ww_model_n_inputs(m); i++) {
        ww_tensor_view v;
        int rc = ww_model_input(m, i, &v);
        if (rc) return ww_error_prefix(err, rc, path);
        if (v.dtype != WW_DT_F32)
            return ww_fail(err, WW_EUNSUPPORTED, "%s: input '%s' is %s; bench feeds float32 only",
                           path, v.name, ww_dtype_name(v.dtype));
        float *d = v.data;
        for (size_t k = 0; k < v.count; k++)
            d[k] = -14.0f + 19.0f * (float)(next_u32(&seed) >> 8) / 16777216.0f;
    }
    return WW_OK;
}

typedef struct bench_result {
    double load_ms, median, p95, p99, min;
    int runs, warmup, batch;
    ww_model_stats st;
    const char *execution, *isa;
    char shape[128];
} bench_result;

/* Mean time per step over the profiled runs. Node names come from the file
 * and may hold any bytes: the table shows at most 40, unprintable ones as '?'. */
static void print_profile_text(ww_model *m)
{
    size_t n = ww_model_profile_count(m);
    double total = 0;
    ww_step_profile p;
    for (size_t i = 0; i < n; i++)
        if (!ww_model_profile_at(m, i, &p) && p.runs) total += (double)p.ns / (double)p.runs;
    printf("profile    mean per step over the profiled runs (total %.1f us)\n", total / 1e3);
    printf("  %-4s %-26s %9s %8s %6s %8s  %s\n", "step", "op", "MMAC", "us", "%", "GMAC/s", "name");
    for (size_t i = 0; i < n; i++) {
        if (ww_model_profile_at(m, i, &p) || !p.runs) continue;
        double ns = (double)p.ns / (double)p.runs;
        printf("  %-4zu %-26s %9.2f %8.1f %6.1f %8.1f  ", i, p.op_type, (double)p.macs / 1e6,
               ns / 1e3, total > 0 ? 100 * ns / total : 0, ns > 0 ? (double)p.macs / ns : 0);
        for (const char *c = p.name; *c && c - p.name < 40; c++)
            putchar(*c >= 32 && *c < 127 ? *c : '?');
        putchar('\n');
    }
}

static void print_profile_json(ww_model *m)
{
    size_t n = ww_model_profile_count(m);
    ww_step_profile p;
    fputs(", \"profile\": [", stdout);
    for (size_t i = 0; i < n; i++) {
        if (ww_model_profile_at(m, i, &p)) continue;
        fputs(i ? ", {\"op\": " : "{\"op\": ", stdout);
        ww_json_str(stdout, p.op_type);
        fputs(", \"name\": ", stdout);
        ww_json_str(stdout, p.name);
        printf(", \"macs\": %llu, \"mean_us\": ", (unsigned long long)p.macs);
        ww_json_num(stdout, p.runs ? (double)p.ns / (double)p.runs / 1e3 : 0);
        fputs("}", stdout);
    }
    fputs("]", stdout);
}

static void print_text(const char *path, const bench_result *r, ww_model *prof)
{
    double per_s = 1e3 / r->median;
    printf("model      %s (%s, input %s)\n", path, ww_model_kind_name(r->st.kind), r->shape);
    printf("engine     %s, ISA %s, 1 thread, batch %d\n", r->execution, r->isa, r->batch);
    printf("load       %.1f ms (parse, check, prepare)\n", r->load_ms);
    printf("arena      %zu bytes, %zu steps (%zu on the int8 kernels)\n", r->st.arena_bytes,
           r->st.n_exec_nodes, r->st.n_int8_nodes);
    printf("MACs       %llu per run\n", (unsigned long long)r->st.macs);
    printf("latency    median %.3f ms, p95 %.3f ms, p99 %.3f ms, min %.3f ms (%d runs after %d "
           "warm-up)\n",
           r->median, r->p95, r->p99, r->min, r->runs, r->warmup);
    printf("throughput %.1f inferences/s, %.3f GMAC/s\n", per_s * r->batch,
           (double)r->st.macs * per_s / 1e9);
    if (prof) print_profile_text(prof);
}

static void print_json(const char *path, const bench_result *r, ww_model *prof)
{
    double per_s = 1e3 / r->median;
    fputs("{\"model\": ", stdout);
    ww_json_str(stdout, path);
    printf(", \"kind\": \"%s\", \"execution\": ", ww_model_kind_name(r->st.kind));
    ww_json_str(stdout, r->execution);
    printf(", \"isa\": \"%s\", \"threads\": 1, \"batch\": %d, \"input_shape\": \"%s\", "
           "\"load_ms\": ",
           r->isa, r->batch, r->shape);
    ww_json_num(stdout, r->load_ms);
    printf(", \"arena_bytes\": %zu, \"steps\": %zu, \"int8_steps\": %zu, \"macs\": %llu, "
           "\"runs\": %d, \"warmup\": %d, \"median_ms\": ",
           r->st.arena_bytes, r->st.n_exec_nodes, r->st.n_int8_nodes,
           (unsigned long long)r->st.macs, r->runs, r->warmup);
    ww_json_num(stdout, r->median);
    fputs(", \"p95_ms\": ", stdout);
    ww_json_num(stdout, r->p95);
    fputs(", \"p99_ms\": ", stdout);
    ww_json_num(stdout, r->p99);
    fputs(", \"min_ms\": ", stdout);
    ww_json_num(stdout, r->min);
    fputs(", \"inferences_per_s\": ", stdout);
    ww_json_num(stdout, per_s * r->batch);
    fputs(", \"macs_per_s\": ", stdout);
    ww_json_num(stdout, (double)r->st.macs * per_s);
    if (prof) print_profile_json(prof);
    fputs("}\n", stdout);
}

int ww_cmd_bench(int argc, char **argv)
{
    enum { O_RUNS = 256, O_WARMUP, O_THREADS, O_ISA, O_BATCH, O_JSON, O_PROFILE };
    static const struct option opts[] = {
        {"runs", required_argument, 0, O_RUNS},
        {"warmup", required_argument, 0, O_WARMUP},
        {"threads", required_argument, 0, O_THREADS},
        {"isa", required_argument, 0, O_ISA},
        {"batch", required_argument, 0, O_BATCH},
        {"json", no_argument, 0, O_JSON},
        {"profile", no_argument, 0, O_PROFILE},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    long runs = 200, warmup = 20, batch = 1, threads = 1;
    const char *isa_name = NULL;
    int json = 0, profile = 0, opt;
    ww_error err = {{0}};
    opterr = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(usage, stdout);
            return WW_EXIT_OK;
        case O_RUNS:
            if (!parse_count(optarg, 1, 10000000, &runs))
                return ww_cli_usage_error(CMD, usage, "--runs: '%s' is not a count >= 1", optarg);
            break;
        case O_WARMUP:
            if (!parse_count(optarg, 0, 10000000, &warmup))
                return ww_cli_usage_error(CMD, usage, "--warmup: '%s' is not a count >= 0", optarg);
            break;
        case O_BATCH:
            if (!parse_count(optarg, 1, 4096, &batch))
                return ww_cli_usage_error(CMD, usage, "--batch: '%s' is not a count in 1..4096",
                                          optarg);
            break;
        case O_THREADS:
            if (!parse_count(optarg, 1, 4096, &threads))
                return ww_cli_usage_error(CMD, usage, "--threads: '%s' is not a count >= 1",
                                          optarg);
            if (threads != 1)
                return ww_cli_usage_error(CMD, usage,
                                          "--threads %ld: the engine is single-threaded; only "
                                          "--threads 1 is supported",
                                          threads);
            break;
        case O_ISA:
            isa_name = optarg;
            break;
        case O_PROFILE:
            profile = 1;
            break;
        case O_JSON:
            json = 1;
            break;
        default:
            return ww_cli_bad_option(CMD, usage, opt, argv);
        }
    }
    if (argc - optind != 1)
        return ww_cli_usage_error(CMD, usage, "expected one MODEL.onnx, got %d arguments",
                                  argc - optind);
    const char *path = argv[optind];
    if (isa_name) {
        ww_isa isa;
        if (ww_isa_from_name(isa_name, &isa, &err))
            return ww_cli_usage_error(CMD, usage, "--isa: %s", err.msg);
        /* before load: kernels and weight layouts are chosen at prepare */
        if (ww_isa_set(isa, &err)) return ww_cli_error(CMD, &err);
    }

    bench_result r = {0};
    r.runs = (int)runs;
    r.warmup = (int)warmup;
    r.batch = (int)batch;
    ww_model *m = NULL;
    double *t = NULL;
    int rc, status = WW_EXIT_OK;
    double t0 = now_ms();
    if ((rc = ww_model_load(path, &m, &err))) goto fail;
    if (batch != 1 && (rc = ww_model_prepare(m, (int)batch, &err))) goto fail;
    r.load_ms = now_ms() - t0;
    if ((rc = fill_inputs(m, path, &err))) goto fail;
    ww_tensor_view in;
    if (!ww_model_input(m, 0, &in)) {
        /* a model with a fixed batch runs at it: inferences count it */
        if (batch == 1 && in.ndim > 0 && in.dims[0] > 1) r.batch = (int)in.dims[0];
        for (int i = 0; i < in.ndim; i++)
            snprintf(r.shape + strlen(r.shape), sizeof r.shape - strlen(r.shape), "%s%lld",
                     i ? "x" : "", (long long)in.dims[i]);
    }
    if (!(t = malloc((size_t)runs * sizeof *t))) {
        rc = ww_fail(&err, WW_ENOMEM, "out of memory");
        goto fail;
    }
    for (long i = 0; i < warmup; i++)
        if ((rc = ww_model_run(m, &err))) goto fail;
    for (long i = 0; i < runs; i++) {
        double s = now_ms();
        if ((rc = ww_model_run(m, &err))) goto fail;
        t[i] = now_ms() - s;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    r.median = quantile(t, (int)runs, 0.5);
    r.p95 = quantile(t, (int)runs, 0.95);
    r.p99 = quantile(t, (int)runs, 0.99);
    r.min = t[0];
    ww_model_get_stats(m, &r.st);
    r.execution = ww_model_execution(m);
    r.isa = ww_isa_name(ww_isa_active());
    if (profile) {
        ww_model_set_profiling(m, 1);
        for (long i = 0; i < runs; i++)
            if ((rc = ww_model_run(m, &err))) goto fail;
        ww_model_set_profiling(m, 0);
    }
    if (json)
        print_json(path, &r, profile ? m : NULL);
    else
        print_text(path, &r, profile ? m : NULL);
    goto done;
fail:
    status = ww_cli_error(CMD, &err);
done:
    free(t);
    ww_model_free(m);
    return status;
}
