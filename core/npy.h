/* NumPy .npy files (format 1.0/2.0/3.0, little-endian, C order): the exchange
 * format for features, model inputs and outputs. Readers validate everything a
 * downloaded file could get wrong; writers go through ww_outfile so a failed
 * write leaves no file behind. */
#ifndef WW_CORE_NPY_H
#define WW_CORE_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WW_NPY_MAX_DIMS 8
#define WW_NPY_MAX_ELEMS ((size_t)1 << 30)

typedef enum ww_npy_dtype {
    WW_NPY_F32,
    WW_NPY_F64,
    WW_NPY_I64,
    WW_NPY_I32,
    WW_NPY_I16,
    WW_NPY_I8,
    WW_NPY_U8,
    WW_NPY_BOOL,
} ww_npy_dtype;

typedef struct ww_npy {
    ww_npy_dtype dtype;
    int ndim;
    int64_t shape[WW_NPY_MAX_DIMS];
    size_t count;     /* product of shape */
    size_t elem_size; /* bytes per element */
    void *data;       /* count * elem_size bytes, owned, native order */
} ww_npy;

/* The descr string numpy writes for a dtype ("<f4", "|u1", ...). */
const char *ww_npy_descr(ww_npy_dtype dtype);
size_t ww_npy_dtype_size(ww_npy_dtype dtype);

int ww_npy_read(const char *path, ww_npy *out, ww_error *err);
/* Parses an in-memory .npy image; the error message does not name a file. */
int ww_npy_parse(const void *buf, size_t len, ww_npy *out, ww_error *err);
void ww_npy_free(ww_npy *npy);

int ww_npy_write(const char *path, ww_npy_dtype dtype, const void *data, int ndim,
                 const int64_t *shape, ww_error *err);

#endif
