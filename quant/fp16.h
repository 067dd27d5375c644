/* float16 conversion of a float ONNX model (`quantize --mode fp16`): every
 * float32 initializer and Constant becomes float16, internal Casts to float
 * become Casts to float16, and the graph keeps float32 inputs and outputs with
 * a Cast at each edge, as onnxconverter-common's convert_float_to_float16
 * (keep_io_types=True) lays it out. Halves the size; no calibration. */
#ifndef WW_QUANT_FP16_H
#define WW_QUANT_FP16_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Round-to-nearest-even float32 -> IEEE half (overflow to inf, NaN kept). */
uint16_t ww_f32_to_f16(float f);
float ww_f16_to_f32(uint16_t h);

/* Converts a serialized model; *out is malloc'd. The metadata pairs are added
 * (or overwrite keys already present). Fails for a model that is already
 * quantized or float16. */
int ww_fp16_convert(const void *model, size_t len, const char *name, const char *const *meta_keys,
                    const char *const *meta_values, size_t n_meta, void **out, size_t *out_len,
                    ww_error *err);

#endif
