/* wakewordd info: what an ONNX model is and what running it costs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "nn/model.h"

static const char usage[] =
    "usage: wakewordd info [options] MODEL.onnx\n"
    "\n"
    "Prints the model's opset, producer, inputs and outputs, op counts,\n"
    "parameters, multiply-accumulates per inference, the engine's arena size,\n"
    "the front-end settings in its metadata_props, and its kind (float, QDQ\n"
    "int8, dynamic-quantized, fp16).\n"
    "\n"
    "options:\n"
    "  --batch N    batch size MACs and arena are computed for [the declared\n"
    "               shapes, a symbolic batch as 1]\n"
    "  -h, --help   show this help\n";

static void print_io(const char *what, const char *name, ww_dtype dt, int ndim, const int64_t *dims)
{
    printf("%-10s %s %s [", what, name, dt ? ww_dtype_name(dt) : "?");
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            printf("%s?", i ? ", " : "");
        else
            printf("%s%lld", i ? ", " : "", (long long)dims[i]);
    }
    printf(ndim < 0 ? "?]\n" : "]\n");
}

static const char *frontend_keys[] = {"sample_rate", "n_fft",     "win_length",   "hop_length",
                                      "n_mels",      "f_min",     "f_max",        "mel_scale",
                                      "mel_norm",    "log_floor", "window_frames"};

int ww_cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"batch", required_argument, 0, 'b'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int batch = 0, opt; /* 0: the declared shapes, symbolic axes as 1 */
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return WW_EXIT_OK;
        }
        if (opt == 'b') {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 4096)
                return ww_cli_usage_error("info", usage, "--batch: '%s' is not 1..4096", optarg);
            batch = (int)v;
            continue;
        }
        return ww_cli_bad_option("info", usage, opt, argv);
    }
    if (argc - optind != 1)
        return ww_cli_usage_error("info", usage, "expected one MODEL.onnx, got %d arguments",
                                  argc - optind);
    const char *path = argv[optind];
    ww_error err = {{0}};
    ww_model *m = NULL;
    if (ww_model_load_unprepared(path, &m, &err)) return ww_cli_error("info", &err);
    /* A model the engine cannot run (an op or type it does not handle) is
     * still described; a broken one is an error. */
    ww_error perr = {{0}};
    int prc = ww_model_prepare(m, batch, &perr);
    int prepared = prc == 0;
    if (prc && prc != WW_EUNSUPPORTED) {
        ww_model_free(m);
        return ww_cli_error("info", &perr);
    }
    ww_model_stats st;
    ww_model_get_stats(m, &st);

    printf("%-10s %s\n", "model", path);
    printf("%-10s %s %s\n", "producer", *st.producer_name ? st.producer_name : "(none)",
           st.producer_version);
    printf("%-10s ir_version %lld, opset %lld\n", "format", (long long)st.ir_version,
           (long long)st.opset);
    printf("%-10s %s\n", "kind", ww_model_kind_name(st.kind));
    int64_t dims[WW_MAX_DIMS];
    for (int i = 0; i < ww_model_n_inputs(m); i++) {
        int nd = ww_model_input_shape(m, i, dims);
        print_io("input", ww_model_input_name(m, i), ww_model_input_dtype(m, i), nd, dims);
    }
    for (int i = 0; i < ww_model_n_outputs(m); i++) {
        int nd = ww_model_output_shape(m, i, dims);
        print_io("output", ww_model_output_name(m, i), ww_model_output_dtype(m, i), nd, dims);
    }
    printf("%-10s %zu:", "nodes", st.n_nodes);
    for (size_t i = 0; i < ww_model_op_type_count(m); i++) {
        const char *t;
        size_t c;
        ww_model_op_type_at(m, i, &t, &c);
        printf("%s %s %zu", i ? "," : "", t, c);
    }
    printf("\n");
    printf("%-10s %zu (%.2f MB)\n", "params", st.n_params, st.param_bytes / 1e6);
    if (prepared) {
        if (batch)
            printf("%-10s %llu (%.1f M) per inference at batch %d\n", "MACs",
                   (unsigned long long)st.macs, st.macs / 1e6, batch);
        else
            printf("%-10s %llu (%.1f M) per inference\n", "MACs", (unsigned long long)st.macs,
                   st.macs / 1e6);
        printf("%-10s %zu bytes (%zu steps after folding and fusion)\n", "arena", st.arena_bytes,
               st.n_exec_nodes);
        if (st.kind == WW_MODEL_QDQ_INT8)
            printf("%-10s %zu of %zu steps on the int8 kernels%s\n", "int8", st.n_int8_nodes,
                   st.n_exec_nodes, st.n_int8_nodes ? "" : " (float-simulated QDQ)");
    } else {
        printf("%-10s n/a\n%-10s n/a\n", "MACs", "arena");
        printf("%-10s cannot run it: %s\n", "engine", perr.msg);
    }
    int any = 0;
    for (size_t k = 0; k < sizeof frontend_keys / sizeof frontend_keys[0]; k++) {
        const char *v = ww_model_meta(m, frontend_keys[k]);
        if (!v) continue;
        printf("%s%s=%s", any ? " " : "front end  ", frontend_keys[k], v);
        any = 1;
    }
    printf(any ? "\n" : "front end  (no front-end settings in metadata_props)\n");
    for (size_t i = 0; i < ww_model_meta_count(m); i++) {
        const char *k, *v;
        ww_model_meta_at(m, i, &k, &v);
        int fe = 0;
        for (size_t j = 0; j < sizeof frontend_keys / sizeof frontend_keys[0]; j++)
            if (!strcmp(k, frontend_keys[j])) fe = 1;
        if (!fe) printf("%-10s %s=%s\n", "metadata", k, v);
    }
    ww_model_free(m);
    return WW_EXIT_OK;
}
