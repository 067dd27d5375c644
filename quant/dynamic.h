/* Dynamic int8 quantization (`quantize --mode dynamic`), laid out as ONNX
 * Runtime's quantize_dynamic (IntegerOps) lays it out: weights are quantized
 * offline, activations at run time.
 *   Conv   x -> DynamicQuantizeLinear -> ConvInteger(x_q, W_q, x_zp, W_zp)
 *          -> Cast(float) -> Mul(x_scale * W_scale) [-> Add(bias as [C,1,1])]
 *   MatMul the same with MatMulInteger (constant right-hand side only)
 * Weights are uint8 asymmetric per tensor (ORT's CPU ConvInteger takes uint8
 * weights); each activation is quantized once for all its consumers. Gemm and
 * everything else stay float, as in ORT's IntegerOps registry. No
 * calibration. */
#ifndef WW_QUANT_DYNAMIC_H
#define WW_QUANT_DYNAMIC_H

#include <stddef.h>

#include "core/error.h"

typedef struct ww_dynamic_result {
    void *data; /* serialized model, malloc'd */
    size_t size;
    size_t n_quantized; /* Conv/MatMul nodes rewritten */
} ww_dynamic_result;

int ww_dynamic_quantize(const void *model, size_t len, const char *name, const char *const *exclude,
                        size_t n_exclude, const char *const *meta_keys,
                        const char *const *meta_values, size_t n_meta, ww_dynamic_result *res,
                        ww_error *err);

#endif
