/* wakewordd validate: a float model and its int8 quantization side by side on
 * the same data windows: output parity and the latency of both, in the report
 * format of quantize (quant/report.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/outfile.h"
#include "dsp/mel.h"
#include "nn/cpu.h"
#include "nn/model.h"
#include "quant/calib.h"
#include "quant/datafiles.h"
#include "quant/report.h"

static const char usage[] =
    "usage: wakewordd validate [options] FLOAT.onnx INT8.onnx --data DATA\n"
    "\n"
    "Runs both models on every window of DATA and prints their output parity\n"
    "(logits max/mean |d|, cosine, top-1 agreement, keyword score after softmax)\n"
    "and the latency of each with the project's own engine, as quantize reports.\n"
    "\n"
    "DATA (repeatable): an audio file (features from FLOAT's metadata settings,\n"
    "resampled as needed), a directory of them, a text file listing paths\n"
    "(.txt/.list), or model inputs as float32 .npy or TensorProto .pb.\n"
    "\n"
    "options (defaults in brackets):\n"
    "  --data DATA         the windows to compare on (required)\n"
    "  --hop-frames N      frames between audio windows [half a window]\n"
    "  --runs N            timed single-window runs per model, 0 to skip [100]\n"
    "  --isa NAME          kernel variant (scalar, avx2, avxvnni, avx512, avx512vnni,\n"
    "                      neon, neondot) [the best this CPU runs, or $WW_ISA]\n"
    "  --report FILE.json  also write the report as JSON\n"
    "  --json              print the JSON report instead of the table\n"
    "  -h, --help          show this help\n";

#define CMD "validate"

static void warn_skipped(void *user, const char *msg)
{
    (void)user;
    fprintf(stderr, "wakewordd %s: warning: %s (skipped)\n", CMD, msg);
}

typedef struct vreport {
    const char *fpath, *qpath, *fkind, *qkind, *isa;
    size_t fbytes, qbytes;
    ww_data_counts dc;
    ww_parity par;
    int have_latency;
    ww_latency_pair lat;
} vreport;

static void print_text(FILE *f, const vreport *r)
{
    fprintf(f, "%s (%s) vs %s (%s), ISA %s\n", r->fpath, r->fkind, r->qpath, r->qkind, r->isa);
    fprintf(f, "  data: %zu windows from %zu files (%zu skipped)\n", r->par.n, r->dc.files,
            r->dc.skipped);
    fprintf(f, "size: float %zu bytes, int8 %zu bytes, ratio %.2fx\n", r->fbytes, r->qbytes,
            r->qbytes ? (double)r->fbytes / (double)r->qbytes : 0);
    ww_parity_print(f, &r->par);
    if (r->have_latency) ww_latency_print(f, &r->lat);
}

static void write_json(FILE *f, const vreport *r)
{
    fputs("{\n  \"float_model\": ", f);
    ww_json_str(f, r->fpath);
    fputs(", \"int8_model\": ", f);
    ww_json_str(f, r->qpath);
    fprintf(f, ",\n  \"float_kind\": \"%s\", \"int8_kind\": \"%s\", \"isa\": \"%s\",\n", r->fkind,
            r->qkind, r->isa);
    fprintf(f, "  \"files\": %zu, \"skipped_files\": %zu,\n", r->dc.files, r->dc.skipped);
    fprintf(f, "  \"size\": {\"float_bytes\": %zu, \"int8_bytes\": %zu, \"ratio\": ", r->fbytes,
            r->qbytes);
    ww_json_num(f, r->qbytes ? (double)r->fbytes / (double)r->qbytes : 0);
    fputs("},\n  \"parity\": ", f);
    ww_parity_json(f, &r->par);
    if (r->have_latency) {
        fputs(",\n  \"latency\": ", f);
        ww_latency_json(f, &r->lat);
    }
    fputs("\n}\n", f);
}

static int file_size(const char *path, size_t *n, ww_error *err)
{
    struct stat st;
    if (stat(path, &st)) return ww_fail(err, WW_EIO, "%s: %s", path, strerror(errno));
    *n = (size_t)st.st_size;
    return WW_OK;
}

static void shape_str(char *buf, size_t cap, const int64_t *d, int nd)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < nd && k < cap; i++) {
        if (d[i] < 0)
            k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? "," : "");
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)d[i]);
    }
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

/* Both models must take one input with the same non-batch dims, the window
 * [.., n_mels, frames] with fixed n_mels and frames. */
static int check_inputs(ww_model *fm, ww_model *qm, const char *fp, const char *qp, int *n_mels,
                        int *frames, ww_error *err)
{
    int64_t fd[WW_MAX_DIMS], qd[WW_MAX_DIMS];
    if (ww_model_n_inputs(fm) != 1 || ww_model_n_inputs(qm) != 1)
        return ww_fail(err, WW_EUNSUPPORTED, "%s: expected one input, not %d",
                       ww_model_n_inputs(fm) != 1 ? fp : qp,
                       ww_model_n_inputs(fm) != 1 ? ww_model_n_inputs(fm) : ww_model_n_inputs(qm));
    int fn = ww_model_input_shape(fm, 0, fd), qn = ww_model_input_shape(qm, 0, qd);
    if (fn < 3 || fd[fn - 1] <= 0 || fd[fn - 2] <= 0)
        return ww_fail(err, WW_EUNSUPPORTED,
                       "%s: expected one input shaped [N,1,n_mels,frames] with fixed mels and "
                       "frames",
                       fp);
    int same = fn == qn;
    for (int i = 1; same && i < fn; i++) same = fd[i] == qd[i];
    if (!same) {
        char a[96], b[96];
        shape_str(a, sizeof a, fd, fn);
        shape_str(b, sizeof b, qd, qn);
        return ww_fail(err, WW_EINVAL, "%s takes %s but %s takes %s: not the same model's input",
                       fp, a, qp, b);
    }
    if (ww_model_input_dtype(fm, 0) != WW_DT_F32 || ww_model_input_dtype(qm, 0) != WW_DT_F32)
        return ww_fail(err, WW_EUNSUPPORTED, "%s: the input is not float32",
                       ww_model_input_dtype(fm, 0) != WW_DT_F32 ? fp : qp);
    *n_mels = (int)fd[fn - 2];
    *frames = (int)fd[fn - 1];
    return WW_OK;
}

int ww_cmd_validate(int argc, char **argv)
{
    enum { O_DATA = 256, O_HOP, O_RUNS, O_ISA, O_REPORT, O_JSON };
    static const struct option opts[] = {
        {"data", required_argument, 0, O_DATA},
        {"hop-frames", required_argument, 0, O_HOP},
        {"runs", required_argument, 0, O_RUNS},
        {"isa", required_argument, 0, O_ISA},
        {"report", required_argument, 0, O_REPORT},
        {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    ww_path_list data_args = {0}, files = {0};
    const char *report_path = NULL, *isa_name = NULL;
    int hop = 0, runs = 100, json = 0, opt, stop = 0, status = WW_EXIT_OK;
    char *end;
    ww_error err = {{0}};
    opterr = 0;
    optind = 1;
#define USAGE_FAIL(...)                                                                            \
    do {                                                                                           \
        status = ww_cli_usage_error(CMD, usage, __VA_ARGS__);                                      \
        goto done_args;                                                                            \
    } while (0)
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(usage, stdout);
            stop = 1;
            goto done_args;
        case O_DATA:
            if (ww_path_list_add(&data_args, optarg)) USAGE_FAIL("out of memory");
            break;
        case O_HOP: {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 100000)
                USAGE_FAIL("--hop-frames: '%s' is not a positive count", optarg);
            hop = (int)v;
            break;
        }
        case O_RUNS: {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 0 || v > 1000000)
                USAGE_FAIL("--runs: '%s' is not a count", optarg);
            runs = (int)v;
            break;
        }
        case O_ISA:
            isa_name = optarg;
            break;
        case O_REPORT:
            report_path = optarg;
            break;
        case O_JSON:
            json = 1;
            break;
        default:
            status = ww_cli_bad_option(CMD, usage, opt, argv);
            goto done_args;
        }
    }
    if (argc - optind != 2)
        USAGE_FAIL("expected FLOAT.onnx and INT8.onnx, got %d arguments", argc - optind);
    if (!data_args.n) USAGE_FAIL("--data DATA is required");
    if (isa_name) {
        ww_isa isa;
        if (ww_isa_from_name(isa_name, &isa, &err)) USAGE_FAIL("--isa: %s", err.msg);
    }
done_args:
    if (status != WW_EXIT_OK || stop) {
        ww_path_list_free(&data_args);
        return status;
    }
    const char *fpath = argv[optind], *qpath = argv[optind + 1];
    int rc = WW_OK;
    ww_model *fm = NULL, *qm = NULL;
    ww_windows w;
    float *flog = NULL, *qlog = NULL;
    vreport r = {0};
    ww_windows_init(&w, 1, 1);
    if (isa_name) {
        ww_isa isa;
        /* before load: kernels and weight layouts are chosen at prepare */
        if ((rc = ww_isa_from_name(isa_name, &isa, &err)) || (rc = ww_isa_set(isa, &err)))
            goto fail;
    }
    if ((rc = file_size(fpath, &r.fbytes, &err)) || (rc = file_size(qpath, &r.qbytes, &err)))
        goto fail;
    if ((rc = ww_model_load(fpath, &fm, &err)) || (rc = ww_model_load(qpath, &qm, &err))) goto fail;
    int n_mels = 0, frames = 0;
    if ((rc = check_inputs(fm, qm, fpath, qpath, &n_mels, &frames, &err))) goto fail;
    ww_mel_config mel = ww_mel_config_default();
    ww_mel_config_from_model(fm, &mel);
    if ((rc = ww_mel_config_validate(&mel, &err))) {
        ww_error_prefix(&err, rc, fpath);
        goto fail;
    }
    if (!hop) hop = frames / 2 > 0 ? frames / 2 : 1;
    ww_windows_init(&w, n_mels, frames);
    for (size_t i = 0; i < data_args.n && !rc; i++)
        rc = ww_data_expand(&files, data_args.p[i], &err);
    if (rc) goto fail;
    ww_data_load(&files, &w, &mel, hop, &r.dc, warn_skipped, NULL);
    if (!w.n) {
        rc = ww_fail(&err, WW_EINVAL, "no usable data: %zu of %zu files skipped", r.dc.skipped,
                     files.n);
        goto fail;
    }
    size_t nf = 0, nq = 0;
    if ((rc = ww_calib_outputs(fm, &w, 0, w.n, &flog, &nf, &err))) goto fail;
    if ((rc = ww_calib_outputs(qm, &w, 0, w.n, &qlog, &nq, &err))) goto fail;
    if (nf != nq || !nf) {
        rc = ww_fail(&err, WW_EFORMAT, "%s gives %zu outputs per window but %s gives %zu", fpath,
                     nf, qpath, nq);
        goto fail;
    }
    ww_parity_compare(flog, qlog, w.n, nf, &r.par);
    r.fpath = fpath;
    r.qpath = qpath;
    ww_model_stats fs, qs;
    ww_model_get_stats(fm, &fs);
    ww_model_get_stats(qm, &qs);
    r.fkind = ww_model_kind_name(fs.kind);
    r.qkind = ww_model_kind_name(qs.kind);
    r.isa = ww_isa_name(ww_isa_active());
    if (runs > 0) {
        r.lat.runs = runs;
        r.lat.int8_execution = ww_model_execution(qm);
        if ((rc =
                 ww_calib_latency(fm, &w, runs, &r.lat.float_median_ms, &r.lat.float_p95_ms, &err)))
            goto fail;
        if ((rc = ww_calib_latency(qm, &w, runs, &r.lat.int8_median_ms, &r.lat.int8_p95_ms, &err)))
            goto fail;
        r.have_latency = 1;
    }
    if (report_path) {
        ww_outfile of;
        if ((rc = ww_outfile_open(&of, report_path, &err))) goto fail;
        write_json(of.fp, &r);
        if ((rc = ww_outfile_commit(&of, &err))) goto fail;
    }
    if (r.dc.resampled && !json)
        fprintf(stderr, "wakewordd %s: note: %zu file%s resampled to %d Hz\n", CMD, r.dc.resampled,
                r.dc.resampled == 1 ? "" : "s", mel.sample_rate);
    if (json)
        write_json(stdout, &r);
    else
        print_text(stdout, &r);
    goto cleanup;
fail:
    status = ww_cli_error(CMD, &err);
cleanup:
    free(flog);
    free(qlog);
    ww_windows_free(&w);
    ww_model_free(fm);
    ww_model_free(qm);
    ww_path_list_free(&files);
    ww_path_list_free(&data_args);
    return status;
}
