/* libFuzzer target: model bytes -> ONNX loader -> graph checks -> prepare
 * (shape inference, folding, fusion, QDQ compile, arena plan) -> one run.
 */
// seeds: tests/fixtures/onnx/*/model.onnx tests/fixtures/daemon/tone_model.onnx
#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ww_model *m;
    ww_error err;
    if (ww_model_load_mem(data, size, "fuzz", &m, &err) != WW_OK) return 0;
    /* run what loaded: inputs hold whatever the arena holds, which is enough
     * to walk every kernel over its planned buffers */
    ww_model_run(m, &err);
    ww_model_free(m);
    return 0;
}
