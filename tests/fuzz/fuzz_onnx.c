/* libFuzzer target: model bytes -> ONNX loader -> graph checks -> prepare
 * (shape inference, folding, fusion, QDQ compile, arena plan) -> one run.
 * Inputs over 64 KB are skipped and so is the run of a graph over 20 M MACs:
 * the seeds are small models (ONNX's own node tests, the daemon's test model,
 * the QDQ templates) so each execution is cheap and many run; the 700 KB
 * ResNet fixtures are covered by test_onnx_bad's corruption test and the
 * 256 MiB file limit by its own test.
 */
// clang-format off
// seeds: tests/fixtures/daemon/tone_model.onnx tests/fuzz/qdq_u8.onnx tests/fuzz/qdq_s8.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_conv*/model.onnx /usr/share/libonnx-testdata/data/node/test_maxpool*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_averagepool*/model.onnx /usr/share/libonnx-testdata/data/node/test_gemm*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_relu*/model.onnx /usr/share/libonnx-testdata/data/node/test_add*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_quantizelinear*/model.onnx /usr/share/libonnx-testdata/data/node/test_dequantizelinear*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_reshape*/model.onnx /usr/share/libonnx-testdata/data/node/test_flatten*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_globalaveragepool*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_batchnorm*/model.onnx /usr/share/libonnx-testdata/data/node/test_concat*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_gather*/model.onnx /usr/share/libonnx-testdata/data/node/test_shape*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_unsqueeze*/model.onnx /usr/share/libonnx-testdata/data/node/test_clip*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_softmax*/model.onnx /usr/share/libonnx-testdata/data/node/test_transpose*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_matmul*/model.onnx /usr/share/libonnx-testdata/data/node/test_identity*/model.onnx
// seeds: /usr/share/libonnx-testdata/data/node/test_constant*/model.onnx /usr/share/libonnx-testdata/data/node/test_cast*/model.onnx
// clang-format on
#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536) return 0;
    ww_model *m;
    ww_error err;
    if (ww_model_load_mem(data, size, "fuzz", &m, &err) != WW_OK) return 0;
    ww_model_stats st;
    ww_model_get_stats(m, &st);
    /* run what loaded: inputs hold whatever the arena holds, which is enough
     * to walk every kernel over its planned buffers */
    if (st.macs < 20000000 && st.arena_bytes < ((size_t)64 << 20)) ww_model_run(m, &err);
    ww_model_free(m);
    return 0;
}
