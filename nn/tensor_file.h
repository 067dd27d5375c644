/* Tensors in files, for `infer` and tests: ONNX TensorProto .pb (the format
 * of ONNX's own test data) and .npy, told apart by content. Writes go through
 * core/outfile.h so a failed write leaves nothing behind. */
#ifndef WW_NN_TENSOR_FILE_H
#define WW_NN_TENSOR_FILE_H

#include "core/error.h"
#include "nn/model.h"

typedef struct ww_tensor_buf {
    char name[256]; /* the TensorProto's name, empty for .npy */
    ww_dtype dtype;
    int ndim;
    int64_t dims[WW_MAX_DIMS];
    size_t count;
    void *data; /* owned */
} ww_tensor_buf;

int ww_tensor_file_read(const char *path, ww_tensor_buf *out, ww_error *err);
/* Same from memory (.npy or TensorProto bytes); name is used in messages. */
int ww_tensor_mem_read(const void *data, size_t len, const char *name, ww_tensor_buf *out,
                       ww_error *err);
void ww_tensor_buf_free(ww_tensor_buf *t);

int ww_tensor_pb_write(const char *path, const ww_tensor_view *v, ww_error *err);
int ww_tensor_npy_write(const char *path, const ww_tensor_view *v, ww_error *err);

#endif
