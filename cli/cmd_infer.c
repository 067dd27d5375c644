/* wakewordd infer: runs an ONNX model on tensors from files and writes each
 * output to DIR/<output name>.pb (or .npy). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "nn/model.h"
#include "nn/tensor_file.h"

static const char usage[] =
    "usage: wakewordd infer [options] MODEL.onnx\n"
    "\n"
    "Runs MODEL on the given inputs (float32 engine, QDQ graphs float-simulated)\n"
    "and prints each output's name, shape and first values.\n"
    "\n"
    "options:\n"
    "  --input [NAME=]FILE  a graph input as an ONNX TensorProto .pb or a .npy;\n"
    "                       without NAME, the TensorProto's name or the next\n"
    "                       unfilled input in order; repeat for each input\n"
    "  --output-dir DIR     write DIR/<output name>.pb for every output\n"
    "  --npy                write .npy files instead of .pb\n"
    "  --no-fuse            keep BatchNorm/Relu/Add as separate steps\n"
    "  -h, --help           show this help\n";

#define MAX_INPUTS 64

typedef struct input_arg {
    const char *name; /* NULL: match by TensorProto name or position */
    const char *path;
} input_arg;

static void print_values(const ww_tensor_view *v)
{
    size_t n = v->count < 8 ? v->count : 8;
    for (size_t i = 0; i < n; i++) {
        switch (v->dtype) {
        case WW_DT_F32:
            printf(" %.6g", ((const float *)v->data)[i]);
            break;
        case WW_DT_F64:
            printf(" %.6g", ((const double *)v->data)[i]);
            break;
        case WW_DT_I64:
            printf(" %lld", (long long)((const int64_t *)v->data)[i]);
            break;
        case WW_DT_I32:
            printf(" %d", ((const int32_t *)v->data)[i]);
            break;
        case WW_DT_I8:
            printf(" %d", ((const int8_t *)v->data)[i]);
            break;
        case WW_DT_U8:
        case WW_DT_BOOL:
            printf(" %u", ((const uint8_t *)v->data)[i]);
            break;
        default:
            printf(" ?");
            break;
        }
    }
    if (v->count > n) printf(" ...");
}

static void print_shape(FILE *f, int ndim, const int64_t *dims)
{
    fputc('[', f);
    for (int i = 0; i < ndim; i++) fprintf(f, "%s%lld", i ? ", " : "", (long long)dims[i]);
    fputc(']', f);
}

/* Output names become file names: keep them inside DIR. */
static void safe_name(const char *name, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *p = name; *p && k + 1 < cap; p++)
        out[k++] = (*p == '/' || (p == name && *p == '.')) ? '_' : *p;
    out[k] = 0;
    if (!k) snprintf(out, cap, "output");
}

static int find_input(ww_model *m, const char *name)
{
    for (int i = 0; i < ww_model_n_inputs(m); i++)
        if (!strcmp(ww_model_input_name(m, i), name)) return i;
    return -1;
}

int ww_cmd_infer(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, 0, 'i'}, {"output-dir", required_argument, 0, 'o'},
        {"npy", no_argument, 0, 'n'},         {"no-fuse", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    input_arg inputs[MAX_INPUTS];
    int n_args = 0, npy = 0, fuse = 1;
    const char *outdir = NULL;
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(usage, stdout);
            return WW_EXIT_OK;
        case 'i': {
            if (n_args == MAX_INPUTS)
                return ww_cli_usage_error("infer", usage, "more than %d --input", MAX_INPUTS);
            char *eq = strchr(optarg, '=');
            if (eq && eq != optarg) {
                *eq = 0;
                inputs[n_args].name = optarg;
                inputs[n_args].path = eq + 1;
            } else {
                inputs[n_args].name = NULL;
                inputs[n_args].path = optarg;
            }
            if (!*inputs[n_args].path)
                return ww_cli_usage_error("infer", usage, "--input needs a file");
            n_args++;
            break;
        }
        case 'o':
            outdir = optarg;
            break;
        case 'n':
            npy = 1;
            break;
        case 'f':
            fuse = 0;
            break;
        default:
            return ww_cli_bad_option("infer", usage, opt, argv);
        }
    }
    if (argc - optind != 1)
        return ww_cli_usage_error("infer", usage, "expected one MODEL.onnx, got %d arguments",
                                  argc - optind);
    const char *path = argv[optind];
    ww_error err = {{0}};
    ww_model *m = NULL;
    ww_tensor_buf bufs[MAX_INPUTS];
    int assigned[MAX_INPUTS];
    memset(bufs, 0, sizeof bufs);
    int rc = ww_model_load(path, &m, &err);
    if (rc) return ww_cli_error("infer", &err);
    ww_model_set_fusion(m, fuse);
    int n_in = ww_model_n_inputs(m);
    if (n_in > MAX_INPUTS) {
        ww_model_free(m);
        ww_fail(&err, WW_EUNSUPPORTED, "%s: more than %d inputs", path, MAX_INPUTS);
        return ww_cli_error("infer", &err);
    }
    for (int i = 0; i < MAX_INPUTS; i++) assigned[i] = -1;
    int exit_code = WW_EXIT_OK;
    for (int a = 0; a < n_args && !rc; a++) {
        rc = ww_tensor_file_read(inputs[a].path, &bufs[a], &err);
        if (rc) break;
        int slot = -1;
        if (inputs[a].name) {
            slot = find_input(m, inputs[a].name);
            if (slot < 0) {
                exit_code = ww_cli_usage_error("infer", usage, "%s has no input named '%s'", path,
                                               inputs[a].name);
                rc = -1;
                break;
            }
        } else if (bufs[a].name[0] && find_input(m, bufs[a].name) >= 0) {
            slot = find_input(m, bufs[a].name);
        } else {
            for (int i = 0; i < n_in && slot < 0; i++)
                if (assigned[i] < 0) slot = i;
        }
        if (slot < 0 || assigned[slot] >= 0) {
            exit_code =
                ww_cli_usage_error("infer", usage,
                                   "%s: input '%s' given twice or too many "
                                   "inputs",
                                   inputs[a].path, slot >= 0 ? ww_model_input_name(m, slot) : "?");
            rc = -1;
            break;
        }
        assigned[slot] = a;
        if (bufs[a].dtype != ww_model_input_dtype(m, slot)) {
            rc =
                ww_fail(&err, WW_EINVAL, "%s: input '%s' must be %s, the file holds %s",
                        inputs[a].path, ww_model_input_name(m, slot),
                        ww_dtype_name(ww_model_input_dtype(m, slot)), ww_dtype_name(bufs[a].dtype));
        }
    }
    for (int i = 0; i < n_in && !rc; i++)
        if (assigned[i] < 0) {
            exit_code = ww_cli_usage_error("infer", usage, "no --input for '%s'",
                                           ww_model_input_name(m, i));
            rc = -1;
        }
    if (!rc) {
        int ndims[MAX_INPUTS];
        const int64_t *dims[MAX_INPUTS];
        const void *values[MAX_INPUTS];
        for (int i = 0; i < n_in; i++) {
            ww_tensor_buf *b = &bufs[assigned[i]];
            ndims[i] = b->ndim;
            dims[i] = b->dims;
            /* integer inputs are shapes, axes or indices: freezing them lets
             * Reshape/Squeeze/... fold */
            values[i] = b->dtype == WW_DT_I64 || b->dtype == WW_DT_I32 ? b->data : NULL;
        }
        rc = ww_model_prepare_values(m, ndims, dims, values, &err);
    }
    for (int i = 0; i < n_in && !rc; i++) {
        ww_tensor_view v;
        ww_model_input(m, i, &v);
        size_t bytes = bufs[assigned[i]].count * ww_dtype_size(v.dtype);
        if (bytes) memcpy(v.data, bufs[assigned[i]].data, bytes);
    }
    if (!rc) rc = ww_model_run(m, &err);
    if (!rc && outdir && mkdir(outdir, 0777) && errno != EEXIST)
        rc = ww_fail(&err, WW_EIO, "%s: %s", outdir, strerror(errno));
    for (int i = 0; i < ww_model_n_outputs(m) && !rc; i++) {
        ww_tensor_view v;
        ww_model_output(m, i, &v);
        printf("%s %s ", v.name, ww_dtype_name(v.dtype));
        print_shape(stdout, v.ndim, v.dims);
        printf(":");
        print_values(&v);
        printf("\n");
        if (outdir) {
            char fname[256], full[4096];
            safe_name(v.name, fname, sizeof fname);
            snprintf(full, sizeof full, "%s/%s.%s", outdir, fname, npy ? "npy" : "pb");
            rc = npy ? ww_tensor_npy_write(full, &v, &err) : ww_tensor_pb_write(full, &v, &err);
        }
    }
    for (int a = 0; a < n_args; a++) ww_tensor_buf_free(&bufs[a]);
    ww_model_free(m);
    if (rc && exit_code == WW_EXIT_OK) return ww_cli_error("infer", &err);
    return exit_code;
}
