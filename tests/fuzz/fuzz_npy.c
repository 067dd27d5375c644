/* libFuzzer target: .npy bytes -> parser. */
// seeds: tests/fixtures/mel/*.npy
#include <stddef.h>
#include <stdint.h>

#include "core/npy.h"

static volatile uint8_t sink; /* touch every byte so ASan checks the bounds */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ww_npy a;
    ww_error err;
    if (ww_npy_parse(data, size, &a, &err) == WW_OK) {
        const uint8_t *p = a.data;
        for (size_t i = 0; i < a.count * a.elem_size; i++) sink ^= p[i];
        ww_npy_free(&a);
    }
    return 0;
}
