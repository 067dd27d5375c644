/* The operator table: every ONNX op type the engine runs. */
#include <string.h>

#include "nn/graph.h"

extern const ww_op ww_op_identity, ww_op_constant, ww_op_shape, ww_op_gather, ww_op_unsqueeze,
    ww_op_squeeze, ww_op_flatten, ww_op_reshape, ww_op_concat, ww_op_cast, ww_op_add, ww_op_sub,
    ww_op_mul, ww_op_div, ww_op_relu, ww_op_sigmoid, ww_op_clip, ww_op_conv, ww_op_maxpool,
    ww_op_avgpool, ww_op_gap, ww_op_gmp, ww_op_gemm, ww_op_matmul, ww_op_batchnorm, ww_op_softmax,
    ww_op_logsoftmax, ww_op_quantize, ww_op_dequantize, ww_op_transpose, ww_op_reducemean;

static const ww_op *const ops[] = {
    &ww_op_conv,       &ww_op_relu,       &ww_op_add,      &ww_op_maxpool,    &ww_op_gap,
    &ww_op_flatten,    &ww_op_gemm,       &ww_op_identity, &ww_op_constant,   &ww_op_shape,
    &ww_op_gather,     &ww_op_unsqueeze,  &ww_op_squeeze,  &ww_op_reshape,    &ww_op_concat,
    &ww_op_cast,       &ww_op_sub,        &ww_op_mul,      &ww_op_div,        &ww_op_sigmoid,
    &ww_op_clip,       &ww_op_avgpool,    &ww_op_gmp,      &ww_op_matmul,     &ww_op_batchnorm,
    &ww_op_softmax,    &ww_op_logsoftmax, &ww_op_quantize, &ww_op_dequantize, &ww_op_transpose,
    &ww_op_reducemean,
};

const ww_op *ww_op_find(const char *type)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i]->type, type)) return ops[i];
    return NULL;
}
