/* wakewordd quantize: float ONNX in, static int8 QDQ ONNX out, with a report
 * of size, per-layer SQNR, output parity on held-out data and latency. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/outfile.h"
#include "dsp/mel.h"
#include "nn/model.h"
#include "quant/calib.h"
#include "quant/datafiles.h"
#include "quant/dynamic.h"
#include "quant/fp16.h"
#include "quant/qdq.h"
#include "quant/report.h"

static const char usage[] =
    "usage: wakewordd quantize [options] FLOAT.onnx --calib DATA -o INT8.onnx\n"
    "\n"
    "Calibrates activation ranges on DATA with the project's own engine and\n"
    "writes a static int8 QDQ model (as ONNX Runtime's quantize_static lays it\n"
    "out), then reports size, per-layer SQNR, output parity and latency.\n"
    "\n"
    "DATA (repeatable): an audio file (any format libsndfile reads; features from\n"
    "the model's metadata settings, resampled as needed), a directory of them, a\n"
    "text file listing paths (.txt/.list), or model inputs as float32 .npy or\n"
    "TensorProto .pb ([N,1,n_mels,frames]).\n"
    "\n"
    "options (defaults in brackets):\n"
    "  --calib DATA              calibration data (required)\n"
    "  -o, --output FILE         the int8 model to write (required)\n"
    "  --force                   overwrite an existing output\n"
    "  --method M                minmax, percentile, entropy or mse [minmax]\n"
    "  --percentile P            for --method percentile [99.99]\n"
    "  --per-tensor              one scale per weight tensor [per output channel]\n"
    "  --symmetric-activations   int8 activations, zero point 0 [uint8 asymmetric]\n"
    "  --weight-clip-percentile P  clip weights at this percentile of |w| [100]\n"
    "  --exclude NODE[,NODE]     keep these nodes in float\n"
    "  --validate DATA           held-out data for the parity report [every 5th\n"
    "                            calibration window, not used for ranges]\n"
    "  --hop-frames N            frames between calibration windows [half a window]\n"
    "  --latency-runs N          timed runs per model, 0 to skip [100]\n"
    "  --report FILE.json        also write the report as JSON\n"
    "  --mode M                  static: int8 QDQ, calibrated [default]\n"
    "                            dynamic: int8 weights, activations quantized at\n"
    "                            run time (ConvInteger/MatMulInteger, as ORT's\n"
    "                            quantize_dynamic); fp16: float16 weights and\n"
    "                            tensors, Cast at the graph edges. Neither needs\n"
    "                            --calib; the engine runs neither (ORT does)\n"
    "  -q, --quiet               no progress bar and no report table\n"
    "  -h, --help                show this help\n";

#define CMD "quantize"

static void on_signal(int sig)
{
    ww_outfile_abort_all_signal_safe();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void warn_skipped(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "wakewordd %s: warning: %s (skipped)\n", CMD, msg);
}

/* ---- progress ---- */

typedef struct progress {
    int on;
    const char *what;
} progress;

static void show_progress(void *user, size_t done, size_t total)
{
    progress *p = user;
    if (!p->on || !total) return;
    int width = 30, fill = (int)(width * done / total);
    fprintf(stderr, "\r%-12s [%.*s%*s] %zu/%zu", p->what, fill,
            "==============================", width - fill, "", done, total);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

/* ---- report ---- */

typedef struct layer_row {
    const char *name;
    double sqnr;
    float lo, hi;
    int is_weight;
} layer_row;

static int cmp_row(const void *a, const void *b)
{
    double x = ((const layer_row *)a)->sqnr, y = ((const layer_row *)b)->sqnr;
    if (isnan(x)) return isnan(y) ? 0 : 1;
    if (isnan(y)) return -1;
    return (x > y) - (x < y);
}

typedef struct report {
    const char *in, *out, *method_desc, *val_source;
    size_t float_bytes, int8_bytes;
    size_t calib_windows, calib_files, val_windows;
    ww_parity par;
    int have_latency;
    ww_latency_pair lat;
    layer_row *rows;
    size_t n_rows;
    const ww_qdq_result *res;
} report;

static void print_report(FILE *f, const report *r)
{
    fprintf(f, "%s -> %s\n", r->in, r->out);
    fprintf(f, "  %s\n", r->method_desc);
    fprintf(f, "  calibration: %zu windows from %zu files; validation: %zu windows (%s)\n",
            r->calib_windows, r->calib_files, r->val_windows, r->val_source);
    fprintf(f, "size: float %zu bytes, int8 %zu bytes, ratio %.2fx\n", r->float_bytes,
            r->int8_bytes, r->int8_bytes ? (double)r->float_bytes / (double)r->int8_bytes : 0);
    ww_parity_print(f, &r->par);
    if (r->have_latency) ww_latency_print(f, &r->lat);
    fprintf(f, "SQNR per tensor, worst first (activations over the validation windows):\n");
    fprintf(f, "  %-8s %8s  %-20s %s\n", "kind", "dB", "range", "tensor");
    for (size_t i = 0; i < r->n_rows; i++) {
        const layer_row *l = &r->rows[i];
        char range[64] = "";
        if (!l->is_weight) snprintf(range, sizeof range, "[%.4g, %.4g]", l->lo, l->hi);
        fprintf(f, "  %-8s %8.2f  %-20s %s\n", l->is_weight ? "weight" : "act", l->sqnr, range,
                l->name);
    }
    const ww_qdq_result *q = r->res;
    fprintf(f, "nodes: %zu quantized, %zu Relu folded into their producer, %zu left float",
            q->n_quantized_nodes, q->n_removed_activations, q->n_float_nodes);
    for (size_t i = 0; i < q->n_float_nodes; i++)
        fprintf(f, "%s %s %s (%s)", i ? "," : ":", q->float_nodes[i].op_type,
                q->float_nodes[i].name, q->float_nodes[i].why);
    fputc('\n', f);
}

static void write_json(FILE *f, const report *r, const ww_qdq_options *o)
{
    fputs("{\n  \"input\": ", f);
    ww_json_str(f, r->in);
    fputs(",\n  \"output\": ", f);
    ww_json_str(f, r->out);
    fprintf(f, ",\n  \"method\": \"%s\", \"percentile\": ", ww_calib_method_name(o->calib.method));
    ww_json_num(f, o->calib.percentile);
    fprintf(f, ", \"per_channel\": %s, \"symmetric_activations\": %s,\n",
            o->per_channel ? "true" : "false", o->symmetric_activations ? "true" : "false");
    fprintf(f,
            "  \"calibration_windows\": %zu, \"calibration_files\": %zu, \"validation_windows\": "
            "%zu,\n",
            r->calib_windows, r->calib_files, r->val_windows);
    fprintf(f,
            "  \"size\": {\"float_bytes\": %zu, \"int8_bytes\": %zu, \"ratio\": ", r->float_bytes,
            r->int8_bytes);
    ww_json_num(f, r->int8_bytes ? (double)r->float_bytes / (double)r->int8_bytes : 0);
    fputs("},\n  \"parity\": ", f);
    ww_parity_json(f, &r->par);
    fputs(",\n", f);
    if (r->have_latency) {
        fputs("  \"latency\": ", f);
        ww_latency_json(f, &r->lat);
        fputs(",\n", f);
    }
    fputs("  \"layers\": [", f);
    for (size_t i = 0; i < r->n_rows; i++) {
        const layer_row *l = &r->rows[i];
        fprintf(f, "%s\n    {\"tensor\": ", i ? "," : "");
        ww_json_str(f, l->name);
        fprintf(f, ", \"kind\": \"%s\", \"sqnr_db\": ", l->is_weight ? "weight" : "activation");
        ww_json_num(f, l->sqnr);
        if (!l->is_weight) {
            fputs(", \"min\": ", f);
            ww_json_num(f, l->lo);
            fputs(", \"max\": ", f);
            ww_json_num(f, l->hi);
        }
        fputc('}', f);
    }
    fputs("\n  ],\n  \"float_nodes\": [", f);
    const ww_qdq_result *q = r->res;
    for (size_t i = 0; i < q->n_float_nodes; i++) {
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        ww_json_str(f, q->float_nodes[i].name);
        fputs(", \"op_type\": ", f);
        ww_json_str(f, q->float_nodes[i].op_type);
        fprintf(f, ", \"why\": \"%s\"}", q->float_nodes[i].why);
    }
    fprintf(f, "],\n  \"quantized_nodes\": %zu, \"folded_activations\": %zu\n}\n",
            q->n_quantized_nodes, q->n_removed_activations);
}

static int read_file(const char *path, void **data, size_t *len, ww_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ww_fail(err, WW_EIO, "%s: %s", path, strerror(errno));
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *p = realloc(buf, cap * 2);
        if (!p) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = p;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    if (bad) {
        free(buf);
        return ww_fail(err, WW_EIO, "%s: read error", path);
    }
    *data = buf;
    *len = n;
    return WW_OK;
}

static int split_csv(ww_path_list *l, const char *arg)
{
    char *s = strdup(arg);
    if (!s) return -1;
    for (char *save = NULL, *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (*t && ww_path_list_add(l, t)) {
            free(s);
            return -1;
        }
    free(s);
    return 0;
}

int ww_cmd_quantize(int argc, char **argv)
{
    enum {
        O_CALIB = 256,
        O_FORCE,
        O_METHOD,
        O_PCT,
        O_PER_TENSOR,
        O_SYM,
        O_WCLIP,
        O_EXCLUDE,
        O_VALIDATE,
        O_HOP,
        O_LAT,
        O_REPORT,
        O_MODE
    };
    static const struct option opts[] = {
        {"calib", required_argument, 0, O_CALIB},
        {"output", required_argument, 0, 'o'},
        {"force", no_argument, 0, O_FORCE},
        {"method", required_argument, 0, O_METHOD},
        {"percentile", required_argument, 0, O_PCT},
        {"per-tensor", no_argument, 0, O_PER_TENSOR},
        {"symmetric-activations", no_argument, 0, O_SYM},
        {"weight-clip-percentile", required_argument, 0, O_WCLIP},
        {"exclude", required_argument, 0, O_EXCLUDE},
        {"validate", required_argument, 0, O_VALIDATE},
        {"hop-frames", required_argument, 0, O_HOP},
        {"latency-runs", required_argument, 0, O_LAT},
        {"report", required_argument, 0, O_REPORT},
        {"mode", required_argument, 0, O_MODE},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    ww_qdq_options qo;
    ww_qdq_options_default(&qo);
    ww_path_list calib_args = {0}, val_args = {0}, excl = {0};
    const char *out = NULL, *report_path = NULL;
    int force = 0, quiet = 0, stop = 0, fp16 = 0, dynamic = 0, hop = 0, lat_runs = 100, opt,
        status = WW_EXIT_OK;
    char *end;
    opterr = 0;
    optind = 1;
#define USAGE_FAIL(...)                                                                            \
    do {                                                                                           \
        status = ww_cli_usage_error(CMD, usage, __VA_ARGS__);                                      \
        goto done_args;                                                                            \
    } while (0)
    while ((opt = getopt_long(argc, argv, ":ho:q", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(usage, stdout);
            stop = 1;
            goto done_args;
        case 'o':
            out = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case O_CALIB:
            if (ww_path_list_add(&calib_args, optarg)) USAGE_FAIL("out of memory");
            break;
        case O_VALIDATE:
            if (ww_path_list_add(&val_args, optarg)) USAGE_FAIL("out of memory");
            break;
        case O_EXCLUDE:
            if (split_csv(&excl, optarg)) USAGE_FAIL("out of memory");
            break;
        case O_FORCE:
            force = 1;
            break;
        case O_METHOD: {
            int m = ww_calib_method_parse(optarg);
            if (m < 0)
                USAGE_FAIL("--method: '%s' is not minmax, percentile, entropy or mse", optarg);
            qo.calib.method = (ww_calib_method)m;
            break;
        }
        case O_PCT:
            qo.calib.percentile = strtod(optarg, &end);
            if (*end || !(qo.calib.percentile > 0 && qo.calib.percentile <= 100))
                USAGE_FAIL("--percentile: '%s' is not a number in (0, 100]", optarg);
            break;
        case O_WCLIP:
            qo.weight_clip_pct = strtod(optarg, &end);
            if (*end || !(qo.weight_clip_pct > 0 && qo.weight_clip_pct <= 100))
                USAGE_FAIL("--weight-clip-percentile: '%s' is not a number in (0, 100]", optarg);
            break;
        case O_PER_TENSOR:
            qo.per_channel = 0;
            break;
        case O_SYM:
            qo.symmetric_activations = 1;
            break;
        case O_HOP:
            hop = (int)strtol(optarg, &end, 10);
            if (*end || hop < 1 || hop > 100000)
                USAGE_FAIL("--hop-frames: '%s' is not a positive count", optarg);
            break;
        case O_LAT:
            lat_runs = (int)strtol(optarg, &end, 10);
            if (*end || lat_runs < 0 || lat_runs > 1000000)
                USAGE_FAIL("--latency-runs: '%s' is not a count", optarg);
            break;
        case O_REPORT:
            report_path = optarg;
            break;
        case O_MODE:
            if (!strcmp(optarg, "fp16"))
                fp16 = 1;
            else if (!strcmp(optarg, "dynamic"))
                dynamic = 1;
            else if (strcmp(optarg, "static"))
                USAGE_FAIL("--mode %s: static, dynamic or fp16", optarg);
            break;
        default:
            status = ww_cli_bad_option(CMD, usage, opt, argv);
            goto done_args;
        }
    }
    if (argc - optind != 1) USAGE_FAIL("expected one FLOAT.onnx, got %d arguments", argc - optind);
    if (!calib_args.n && !fp16 && !dynamic) USAGE_FAIL("--calib DATA is required");
    if (!out) USAGE_FAIL("-o OUTPUT is required");
done_args:
    if (status != WW_EXIT_OK || stop) {
        ww_path_list_free(&calib_args);
        ww_path_list_free(&val_args);
        ww_path_list_free(&excl);
        return status;
    }
    const char *in = argv[optind];
    ww_error err = {{0}};
    int rc = WW_OK;
    ww_model *fm = NULL, *qm = NULL;
    void *fbytes = NULL;
    size_t flen = 0;
    ww_path_list calib_files = {0}, val_files = {0};
    ww_windows cw, vw;
    ww_calib_stats *stats = NULL;
    ww_qdq_result res = {0};
    ww_outfile of = {0};
    int of_open = 0;
    float *flog = NULL, *qlog = NULL;
    layer_row *rows = NULL;
    const char **fnames = NULL, **qnames = NULL;
    double *sq = NULL;
    ww_windows_init(&cw, 1, 1);
    ww_windows_init(&vw, 1, 1);
    struct stat st;
    progress prog = {!quiet && isatty(2), "calibrating"};

    if (!force && !stat(out, &st)) {
        rc = ww_fail(&err, WW_EINVAL, "%s: exists; use --force to overwrite", out);
        goto fail;
    }
    if ((rc = read_file(in, &fbytes, &flen, &err))) goto fail;
    if ((rc = ww_model_load_mem(fbytes, flen, in, &fm, &err))) goto fail;
    ww_model_stats ms;
    ww_model_get_stats(fm, &ms);
    if (ms.kind != WW_MODEL_FLOAT) {
        rc = ww_fail(&err, WW_EUNSUPPORTED,
                     "%s: the model is already quantized (%s); quantize the float model", in,
                     ww_model_kind_name(ms.kind));
        goto fail;
    }
    if (fp16 || dynamic) {
        const char *mk[] = {"quantization", "quantization_tool"};
        const char *mv[] = {fp16 ? "float16 (Cast at the graph edges)"
                                 : "dynamic int8 (uint8 weights per tensor, "
                                   "DynamicQuantizeLinear activations)",
                            "wakewordd " WW_VERSION};
        void *h = NULL;
        size_t hl = 0, nq = 0;
        if (fp16) {
            rc = ww_fp16_convert(fbytes, flen, in, mk, mv, 2, &h, &hl, &err);
        } else {
            ww_dynamic_result dr;
            rc = ww_dynamic_quantize(fbytes, flen, in, (const char *const *)excl.p, excl.n, mk, mv,
                                     2, &dr, &err);
            h = dr.data;
            hl = dr.size;
            nq = dr.n_quantized;
        }
        if (rc) goto fail;
        if (!(rc = ww_outfile_open(&of, out, &err))) {
            of_open = 1;
            if (fwrite(h, 1, hl, of.fp) != hl)
                rc = ww_fail(&err, WW_EIO, "%s: write failed: %s", out, strerror(errno));
            if (!rc && !(rc = ww_outfile_commit(&of, &err))) of_open = 0;
        }
        free(h);
        if (rc) goto fail;
        if (!quiet && fp16)
            printf("%s -> %s\n  float16 weights and activations, float32 inputs and outputs\n"
                   "size: float %zu bytes, fp16 %zu bytes, ratio %.2fx\n"
                   "parity: not measured here (the engine does not run float16); ONNX Runtime "
                   "runs it\n",
                   in, out, flen, hl, hl ? (double)flen / (double)hl : 0);
        if (!quiet && dynamic)
            printf("%s -> %s\n  dynamic int8: %zu Conv/MatMul nodes as ConvInteger/MatMulInteger\n"
                   "size: float %zu bytes, int8 %zu bytes, ratio %.2fx\n"
                   "parity: not measured here (the engine does not run ConvInteger); ONNX "
                   "Runtime runs it\n",
                   in, out, nq, flen, hl, hl ? (double)flen / (double)hl : 0);
        goto cleanup;
    }
    int64_t dims[WW_MAX_DIMS];
    int nd = ww_model_n_inputs(fm) == 1 ? ww_model_input_shape(fm, 0, dims) : 0;
    if (nd < 3 || dims[nd - 1] <= 0 || dims[nd - 2] <= 0) {
        rc = ww_fail(&err, WW_EUNSUPPORTED,
                     "%s: expected one input shaped [N,1,n_mels,frames] with fixed mels and frames",
                     in);
        goto fail;
    }
    int n_mels = (int)dims[nd - 2], frames = (int)dims[nd - 1];
    ww_mel_config mel = ww_mel_config_default();
    ww_mel_config_from_model(fm, &mel);
    if ((rc = ww_mel_config_validate(&mel, &err))) {
        ww_error_prefix(&err, rc, in);
        goto fail;
    }
    if (!hop) hop = frames / 2 > 0 ? frames / 2 : 1;
    ww_windows_init(&cw, n_mels, frames);
    ww_windows_init(&vw, n_mels, frames);

    /* open the output before the work so an unwritable place fails fast */
    if ((rc = ww_outfile_open(&of, out, &err))) goto fail;
    of_open = 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    for (size_t i = 0; i < calib_args.n && !rc; i++)
        rc = ww_data_expand(&calib_files, calib_args.p[i], &err);
    for (size_t i = 0; i < val_args.n && !rc; i++)
        rc = ww_data_expand(&val_files, val_args.p[i], &err);
    if (rc) goto fail;
    ww_data_counts cc = {0}, vc = {0};
    ww_data_load(&calib_files, &cw, &mel, hop, &cc, warn_skipped, NULL);
    if (!cw.n) {
        rc = ww_fail(&err, WW_EINVAL, "no usable calibration data: %zu of %zu files skipped",
                     cc.skipped, calib_files.n);
        goto fail;
    }
    const char *val_source = "held-out every 5th calibration window";
    if (val_files.n) {
        ww_data_load(&val_files, &vw, &mel, hop, &vc, warn_skipped, NULL);
        if (!vw.n) {
            rc = ww_fail(&err, WW_EINVAL, "no usable validation data: %zu of %zu files skipped",
                         vc.skipped, val_files.n);
            goto fail;
        }
        val_source = "--validate";
    } else if (cw.n >= 5) {
        /* every 5th window is held out; the rest are compacted in place */
        size_t k = 0;
        for (size_t i = 0; i < cw.n; i++) {
            const float *src = cw.data + i * cw.per;
            if (i % 5 == 4) {
                float *dst = NULL;
                if (vw.n == vw.cap) {
                    size_t cap = vw.cap ? 2 * vw.cap : 64;
                    float *p = realloc(vw.data, cap * vw.per * sizeof(float));
                    if (!p) {
                        rc = ww_fail(&err, WW_ENOMEM, "out of memory");
                        goto fail;
                    }
                    vw.data = p;
                    vw.cap = cap;
                }
                dst = vw.data + vw.n++ * vw.per;
                memcpy(dst, src, vw.per * sizeof(float));
            } else {
                memmove(cw.data + k++ * cw.per, src, cw.per * sizeof(float));
            }
        }
        cw.n = k;
    } else {
        val_source = "the calibration windows (fewer than 5: no split)";
        float *p = malloc(cw.n * cw.per * sizeof(float));
        if (!p) {
            rc = ww_fail(&err, WW_ENOMEM, "out of memory");
            goto fail;
        }
        memcpy(p, cw.data, cw.n * cw.per * sizeof(float));
        vw.data = p;
        vw.n = vw.cap = cw.n;
    }
    if (!(stats = ww_calib_stats_new())) {
        rc = ww_fail(&err, WW_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = ww_calib_collect(fm, &cw, 0, cw.n, stats, show_progress, &prog, &err))) goto fail;

    char method_desc[256];
    char pct[32] = "";
    if (qo.calib.method == WW_CALIB_PERCENTILE)
        snprintf(pct, sizeof pct, " %g", qo.calib.percentile);
    snprintf(method_desc, sizeof method_desc,
             "static QDQ: activations %s (%s%s), weights int8 symmetric %s%s, bias int32",
             qo.symmetric_activations ? "int8 symmetric" : "uint8 asymmetric",
             ww_calib_method_name(qo.calib.method), pct,
             qo.per_channel ? "per channel" : "per tensor",
             qo.weight_clip_pct < 100 ? " (clipped)" : "");
    const char *mk[] = {"quantization",
                        "quantization_method",
                        "quantization_weights",
                        "quantization_activations",
                        "quantization_calibration_windows",
                        "quantization_tool"};
    char nwin[32];
    snprintf(nwin, sizeof nwin, "%zu", cw.n);
    char methodv[64];
    snprintf(methodv, sizeof methodv, "%s%s", ww_calib_method_name(qo.calib.method), pct);
    const char *mv[] = {"static int8 QDQ",
                        methodv,
                        qo.per_channel ? "int8 symmetric per-channel" : "int8 symmetric per-tensor",
                        qo.symmetric_activations ? "int8 symmetric" : "uint8 asymmetric",
                        nwin,
                        "wakewordd " WW_VERSION};
    qo.meta_keys = mk;
    qo.meta_values = mv;
    qo.n_meta = sizeof mk / sizeof mk[0];
    qo.exclude = (const char *const *)excl.p;
    qo.n_exclude = excl.n;
    if ((rc = ww_qdq_quantize(fbytes, flen, in, &qo, ww_calib_stats_get, stats, &res, &err)))
        goto fail;
    if ((rc = ww_model_load_mem(res.data, res.size, out, &qm, &err))) {
        ww_error_prefix(&err, rc, "the quantized model does not load");
        goto fail;
    }

    /* parity on the validation windows */
    size_t nf = 0, nq = 0;
    prog.what = "validating";
    show_progress(&prog, 0, 1);
    if ((rc = ww_calib_outputs(fm, &vw, 0, vw.n, &flog, &nf, &err))) goto fail;
    if ((rc = ww_calib_outputs(qm, &vw, 0, vw.n, &qlog, &nq, &err))) goto fail;
    if (nf != nq || !nf) {
        rc =
            ww_fail(&err, WW_EFORMAT, "float and int8 outputs differ in size (%zu vs %zu)", nf, nq);
        goto fail;
    }
    report r = {0};
    r.in = in;
    r.out = out;
    r.method_desc = method_desc;
    r.val_source = val_source;
    r.float_bytes = flen;
    r.int8_bytes = res.size;
    r.calib_windows = cw.n;
    r.calib_files = cc.files;
    r.val_windows = vw.n;
    r.res = &res;
    ww_parity_compare(flog, qlog, vw.n, nf, &r.par);

    /* per-tensor SQNR on (at most 64 of) the validation windows */
    size_t na = res.n_acts, nw = res.n_weights;
    rows = calloc(na + nw + 1, sizeof(*rows));
    fnames = calloc(na + 1, sizeof(char *));
    qnames = calloc(na + 1, sizeof(char *));
    sq = calloc(na + 1, sizeof(double));
    if (!rows || !fnames || !qnames || !sq) {
        rc = ww_fail(&err, WW_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < na; i++) {
        fnames[i] = res.acts[i].name;
        qnames[i] = res.acts[i].dq_name;
    }
    size_t nsq = vw.n < 64 ? vw.n : 64;
    if ((rc = ww_calib_act_sqnr(fm, qm, &vw, 0, nsq, fnames, qnames, na, sq, &err))) goto fail;
    show_progress(&prog, 1, 1);
    for (size_t i = 0; i < na; i++)
        rows[r.n_rows++] = (layer_row){res.acts[i].name, sq[i], res.acts[i].lo, res.acts[i].hi, 0};
    for (size_t i = 0; i < nw; i++)
        rows[r.n_rows++] = (layer_row){res.weights[i].name, res.weights[i].sqnr_db, 0, 0, 1};
    qsort(rows, r.n_rows, sizeof(*rows), cmp_row);
    r.rows = rows;

    if (lat_runs > 0) {
        prog.what = "timing";
        show_progress(&prog, 0, 2);
        r.lat.runs = lat_runs;
        if ((rc = ww_calib_latency(fm, &vw, lat_runs, &r.lat.float_median_ms, &r.lat.float_p95_ms,
                                   &err)))
            goto fail;
        show_progress(&prog, 1, 2);
        if ((rc = ww_calib_latency(qm, &vw, lat_runs, &r.lat.int8_median_ms, &r.lat.int8_p95_ms,
                                   &err)))
            goto fail;
        /* after the timing run, which prepares qm fused (the int8 kernels need
         * fusion; the SQNR pass above ran it unfused to observe every tensor) */
        r.lat.int8_execution = ww_model_execution(qm);
        show_progress(&prog, 2, 2);
        r.have_latency = 1;
    }

    if (fwrite(res.data, 1, res.size, of.fp) != res.size) {
        rc = ww_fail(&err, WW_EIO, "%s: write failed: %s", out, strerror(errno));
        goto fail;
    }
    if (report_path) {
        ww_outfile rf;
        if ((rc = ww_outfile_open(&rf, report_path, &err))) goto fail;
        write_json(rf.fp, &r, &qo);
        if ((rc = ww_outfile_commit(&rf, &err))) goto fail;
    }
    if ((rc = ww_outfile_commit(&of, &err))) goto fail;
    of_open = 0;
    if (cc.resampled && !quiet)
        fprintf(stderr, "wakewordd %s: note: %zu calibration file%s resampled to %d Hz\n", CMD,
                cc.resampled, cc.resampled == 1 ? "" : "s", mel.sample_rate);
    if (!quiet) print_report(stdout, &r);
    goto cleanup;
fail:
    status = ww_cli_error(CMD, &err);
cleanup:
    if (of_open) ww_outfile_abort(&of);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    free(flog);
    free(qlog);
    free(rows);
    free(fnames);
    free(qnames);
    free(sq);
    ww_qdq_result_free(&res);
    ww_calib_stats_free(stats);
    ww_windows_free(&cw);
    ww_windows_free(&vw);
    ww_model_free(fm);
    ww_model_free(qm);
    free(fbytes);
    ww_path_list_free(&calib_files);
    ww_path_list_free(&val_files);
    ww_path_list_free(&calib_args);
    ww_path_list_free(&val_args);
    ww_path_list_free(&excl);
    return status;
}
