/* The int8 nodes nn/qdq_compile.c installs: thin calls into the kernels of
 * nn/kernels/ with everything (packed weights, qparams, shapes, the ISA's
 * function row) fixed at compile, so run does no work but the kernel's. */
#include <stdlib.h>

#include "nn/qdq.h"

static int conv_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_conv_s8_params *p = n->params;
    const ww_tensor *r = ww_in(g, n, 1); /* the fused residual join's other input */
    ww_conv2d_s8(p->packed, ww_in(g, n, 0)->data, r ? r->data : NULL, ww_out(g, n, 0)->data,
                 g->scratch);
    return 0;
}

static void conv_s8_release(ww_node *n)
{
    ww_conv_s8_params *p = n->params;
    if (p) free(p->packed);
    free(p);
    n->params = NULL;
}

static int add_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_add_s8_params *p = n->params;
    p->ops.add(ww_in(g, n, 0)->data, &p->a, ww_in(g, n, 1)->data, &p->b, ww_out(g, n, 0)->data,
               &p->c, p->relu, p->n);
    return 0;
}

static int maxpool_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_maxpool_s8_params *p = n->params;
    p->ops.maxpool(&p->s, p->t, ww_in(g, n, 0)->data, ww_out(g, n, 0)->data);
    return 0;
}

static int gap_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_gap_s8_params *p = n->params;
    p->ops.gavgpool(p->n, p->hw, p->c, ww_in(g, n, 0)->data, &p->x, ww_out(g, n, 0)->data, &p->y);
    return 0;
}

static int gemm_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_gemm_s8_op_params *p = n->params;
    p->ops.gemm(p->packed, ww_in(g, n, 0)->data, ww_out(g, n, 0)->data);
    return 0;
}

static void gemm_s8_release(ww_node *n)
{
    ww_gemm_s8_op_params *p = n->params;
    if (p) free(p->packed);
    free(p);
    n->params = NULL;
}

static int lut_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_lut_s8_params *p = n->params;
    const uint8_t *x = ww_in(g, n, 0)->data;
    uint8_t *y = ww_out(g, n, 0)->data;
    for (size_t i = 0; i < p->n; i++) y[i] = p->lut[x[i]];
    return 0;
}

static int quantize_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_qdq_s8_params *p = n->params;
    p->ops.quantize(ww_in(g, n, 0)->data, p->n, &p->q, ww_out(g, n, 0)->data);
    return 0;
}

static int dequantize_s8_run(ww_graph *g, ww_node *n, ww_error *err)
{
    (void)err;
    const ww_qdq_s8_params *p = n->params;
    p->ops.dequantize(ww_in(g, n, 0)->data, p->n, &p->q, ww_out(g, n, 0)->data);
    return 0;
}

static void plain_release(ww_node *n)
{
    free(n->params);
    n->params = NULL;
}

const ww_op ww_op_lut_s8 = {"Relu/Clip(int8)", NULL, lut_s8_run, NULL, plain_release, 1};
const ww_op ww_op_quantize_s8 = {"QuantizeLinear(int8)", NULL, quantize_s8_run, NULL,
                                 plain_release,          1};
const ww_op ww_op_dequantize_s8 = {
    "DequantizeLinear(int8)", NULL, dequantize_s8_run, NULL, plain_release, 1};
const ww_op ww_op_conv_s8 = {"Conv(int8)", NULL, conv_s8_run, NULL, conv_s8_release, 1};
const ww_op ww_op_add_s8 = {"Add(int8)", NULL, add_s8_run, NULL, plain_release, 1};
const ww_op ww_op_maxpool_s8 = {"MaxPool(int8)", NULL, maxpool_s8_run, NULL, plain_release, 1};
const ww_op ww_op_gap_s8 = {"GlobalAveragePool(int8)", NULL, gap_s8_run, NULL, plain_release, 1};
const ww_op ww_op_gemm_s8 = {"Gemm(int8)", NULL, gemm_s8_run, NULL, gemm_s8_release, 1};

int ww_op_is_int8(const ww_op *op)
{
    return op == &ww_op_conv_s8 || op == &ww_op_add_s8 || op == &ww_op_maxpool_s8 ||
           op == &ww_op_gap_s8 || op == &ww_op_gemm_s8 || op == &ww_op_lut_s8 ||
           op == &ww_op_quantize_s8 || op == &ww_op_dequantize_s8;
}
