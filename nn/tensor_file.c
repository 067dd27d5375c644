/* TensorProto and .npy tensor files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/npy.h"
#include "core/outfile.h"
#include "nn/graph.h"
#include "nn/tensor_file.h"

#define MAX_TENSOR_FILE ((size_t)1 << 30)

void ww_tensor_buf_free(ww_tensor_buf *t)
{
    if (!t) return;
    free(t->data);
    memset(t, 0, sizeof *t);
}

static int from_npy(const void *buf, size_t len, const char *path, ww_tensor_buf *out,
                    ww_error *err)
{
    ww_npy npy;
    int rc = ww_npy_parse(buf, len, &npy, err);
    if (rc) return ww_error_prefix(err, rc, path);
    static const ww_dtype map[] = {
        [WW_NPY_F32] = WW_DT_F32, [WW_NPY_F64] = WW_DT_F64,       [WW_NPY_I64] = WW_DT_I64,
        [WW_NPY_I32] = WW_DT_I32, [WW_NPY_I16] = WW_DT_UNDEFINED, [WW_NPY_I8] = WW_DT_I8,
        [WW_NPY_U8] = WW_DT_U8,   [WW_NPY_BOOL] = WW_DT_BOOL};
    ww_dtype dt = map[npy.dtype];
    if (dt == WW_DT_UNDEFINED) {
        ww_npy_free(&npy);
        return ww_fail(err, WW_EUNSUPPORTED, "%s: int16 arrays are not supported", path);
    }
    out->dtype = dt;
    out->ndim = npy.ndim;
    memcpy(out->dims, npy.shape, sizeof(int64_t) * (size_t)npy.ndim);
    out->count = npy.count;
    out->data = npy.data; /* ownership moves */
    return 0;
}

int ww_tensor_mem_read(const void *data, size_t len, const char *name, ww_tensor_buf *out,
                       ww_error *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *buf = data;
    if (len >= 6 && !memcmp(buf, "\x93NUMPY", 6)) return from_npy(buf, len, name, out, err);
    Onnx__TensorProto *tp = len ? onnx__tensor_proto__unpack(NULL, len, buf) : NULL;
    int rc;
    if (!tp) {
        rc = ww_fail(err, WW_EFORMAT, "%s: neither .npy nor an ONNX TensorProto", name);
    } else if (!tp->has_data_type ||
               (tp->n_dims == 0 && !tp->has_raw_data && !tp->n_float_data && !tp->n_int64_data &&
                !tp->n_int32_data && !tp->n_double_data)) {
        rc = ww_fail(err, WW_EFORMAT, "%s: not an ONNX TensorProto (no type or data)", name);
    } else {
        ww_tensor t = {.name = tp->name ? tp->name : ""};
        void *tdata = NULL;
        rc = ww_tensor_from_proto(tp, &t, &tdata, err);
        if (rc) {
            ww_error_prefix(err, rc, name);
        } else {
            snprintf(out->name, sizeof out->name, "%s", tp->name ? tp->name : "");
            out->dtype = t.dtype;
            out->ndim = t.ndim;
            memcpy(out->dims, t.dims, sizeof out->dims);
            out->count = t.count;
            out->data = tdata;
        }
    }
    if (tp) onnx__tensor_proto__free_unpacked(tp, NULL);
    return rc;
}

int ww_tensor_file_read(const char *path, ww_tensor_buf *out, ww_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return ww_fail(err, WW_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_TENSOR_FILE) {
        fclose(f);
        return ww_fail(err, WW_EIO, "%s: not a regular file under 1 GiB", path);
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, len, f);
    fclose(f);
    if (got != len) {
        free(buf);
        return ww_fail(err, WW_EIO, "%s: read error", path);
    }
    int rc = ww_tensor_mem_read(buf, len, path, out, err);
    free(buf);
    return rc;
}

int ww_tensor_pb_write(const char *path, const ww_tensor_view *v, ww_error *err)
{
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[WW_MAX_DIMS];
    for (int i = 0; i < v->ndim; i++) dims[i] = v->dims[i];
    tp.n_dims = (size_t)v->ndim;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = v->dtype;
    tp.name = (char *)v->name;
    tp.has_raw_data = 1;
    tp.raw_data.len = v->count * ww_dtype_size(v->dtype);
    tp.raw_data.data = v->data;
    size_t len = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    onnx__tensor_proto__pack(&tp, buf);
    ww_outfile of;
    int rc = ww_outfile_open(&of, path, err);
    if (!rc) {
        if (fwrite(buf, 1, len, of.fp) != len) {
            ww_outfile_abort(&of);
            rc = ww_fail(err, WW_EIO, "%s: write error", path);
        } else {
            rc = ww_outfile_commit(&of, err);
        }
    }
    free(buf);
    return rc;
}

int ww_tensor_npy_write(const char *path, const ww_tensor_view *v, ww_error *err)
{
    ww_npy_dtype dt;
    switch (v->dtype) {
    case WW_DT_F32:
        dt = WW_NPY_F32;
        break;
    case WW_DT_F64:
        dt = WW_NPY_F64;
        break;
    case WW_DT_I64:
        dt = WW_NPY_I64;
        break;
    case WW_DT_I32:
        dt = WW_NPY_I32;
        break;
    case WW_DT_I8:
        dt = WW_NPY_I8;
        break;
    case WW_DT_U8:
        dt = WW_NPY_U8;
        break;
    case WW_DT_BOOL:
        dt = WW_NPY_BOOL;
        break;
    default:
        return ww_fail(err, WW_EUNSUPPORTED, "%s: cannot write %s as .npy", path,
                       ww_dtype_name(v->dtype));
    }
    return ww_npy_write(path, dt, v->data, v->ndim, v->dims, err);
}
