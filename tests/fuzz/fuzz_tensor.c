/* libFuzzer target: tensor file bytes (ONNX TensorProto .pb or .npy, told
 * apart by content) -> ww_tensor_mem_read, the reader behind `infer --input`
 * and quantize's .pb calibration. What loads must be self-consistent. */
// clang-format off
// seeds: /usr/share/libonnx-testdata/data/node/test_qlinearconv/test_data_set_0/*.pb
// seeds: /usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding/test_data_set_0/*.pb
// seeds: /usr/share/libonnx-testdata/data/node/test_cast_FLOAT_to_DOUBLE/test_data_set_0/*.pb
// seeds: /usr/share/libonnx-testdata/data/node/test_reshape_extended_dims/test_data_set_0/*.pb
// seeds: /usr/share/libonnx-testdata/data/node/test_dequantizelinear/test_data_set_0/*.pb
// seeds: /usr/share/libonnx-testdata/data/node/test_equal/test_data_set_0/*.pb
// seeds: tests/fixtures/s8/conv_3x3_u8_relu/*.npy
// clang-format on
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn/tensor_file.h"

static volatile uint8_t sink; /* touch every byte so ASan checks the bounds */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ww_tensor_buf t;
    ww_error err;
    if (ww_tensor_mem_read(data, size, "fuzz.pb", &t, &err) != WW_OK) return 0;
    size_t count = 1;
    if (t.ndim < 0 || t.ndim > WW_MAX_DIMS) abort();
    for (int i = 0; i < t.ndim; i++) count *= (size_t)t.dims[i];
    if (count != t.count || ww_dtype_size(t.dtype) == 0) abort();
    const uint8_t *p = t.data;
    for (size_t i = 0; i < t.count * ww_dtype_size(t.dtype); i++) sink ^= p[i];
    ww_tensor_buf_free(&t);
    return 0;
}
