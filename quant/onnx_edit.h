/* Small helpers for rewriting an unpacked ONNX model (protobuf-c structures):
 * the pieces the static QDQ, dynamic and fp16 writers all need, in one place.
 * Strings and entries are malloc'd so onnx__model_proto__free_unpacked frees
 * them with the rest of the model. */
#ifndef WW_QUANT_ONNX_EDIT_H
#define WW_QUANT_ONNX_EDIT_H

#include <stddef.h>

#include "core/error.h"
#include "onnx.pb-c.h"

/* Unpacks model bytes after the loader's nesting check; name goes into the
 * one-line error ("NAME: not an ONNX model ..."). */
int ww_onnx_unpack_model(const void *bytes, size_t len, const char *name, Onnx__ModelProto **out,
                         ww_error *err);

char *ww_onnx_strdup(const char *s);
/* a followed by b, malloc'd; NULL when out of memory */
char *ww_onnx_cat(const char *a, const char *b);

Onnx__TensorProto *ww_onnx_find_init(const Onnx__GraphProto *g, const char *name);

/* Elements of a tensor (negative dims count as 0). */
size_t ww_onnx_tensor_count(const Onnx__TensorProto *t);

/* A float32 initializer's data, copied out of raw_data or float_data into a
 * malloc'd array; model names the file in errors. */
int ww_onnx_init_floats(const Onnx__TensorProto *t, const char *model, float **out, size_t *count,
                        ww_error *err);

/* 1 when a node reads the tensor or it is a graph output. */
int ww_onnx_referenced(const Onnx__GraphProto *g, const char *name);

/* Sets metadata_props key[i] = value[i], overwriting keys already present.
 * Returns 0, or -1 when out of memory. */
int ww_onnx_set_meta(Onnx__ModelProto *m, const char *const *keys, const char *const *values,
                     size_t n);

#endif
