/* The QDQ writer's layout against ONNX Runtime's quantize_static(QDQ) rules,
 * on the narrow ResNet18 fixture calibrated through the engine: Relu folded
 * into its producer, per-channel int8 weights with axis 0, int32 bias with
 * scale = input scale x weight scale, MaxPool sharing its input's parameters,
 * the graph output name kept on the last DequantizeLinear, metadata copied. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "quant/calib.h"
#include "quant/dynamic.h"
#include "quant/fp16.h"
#include "quant/qdq.h"
#include "wwtest.h"

#define FIXTURE "tests/fixtures/quant/narrow_resnet18.onnx"

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *d = malloc((size_t)n);
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return d;
}

static Onnx__TensorProto *init(Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!strcmp(g->initializer[i]->name, name)) return g->initializer[i];
    return NULL;
}

static Onnx__NodeProto *producer(Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_output; k++)
            if (!strcmp(g->node[i]->output[k], name)) return g->node[i];
    return NULL;
}

static float scalar_f(Onnx__GraphProto *g, const char *name)
{
    Onnx__TensorProto *t = init(g, name);
    float v = NAN;
    if (t && t->raw_data.len == 4) memcpy(&v, t->raw_data.data, 4);
    return v;
}

/* Calibrates the fixture on its inputs.npy and quantizes it. */
static int quantize_fixture(const ww_qdq_options *opt, ww_qdq_result *res, void **fbytes,
                            size_t *flen)
{
    ww_error err = {{0}};
    ww_model *m = NULL;
    ww_windows w;
    ww_windows_init(&w, 64, 101);
    ww_calib_stats *st = ww_calib_stats_new();
    *fbytes = slurp(FIXTURE, flen);
    int rc = *fbytes ? ww_model_load(FIXTURE, &m, &err) : -1;
    if (!rc) rc = ww_windows_add_tensor_file(&w, "tests/fixtures/quant/inputs.npy", &err);
    if (!rc) rc = ww_calib_collect(m, &w, 0, w.n, st, NULL, NULL, &err);
    if (!rc) rc = ww_qdq_quantize(*fbytes, *flen, FIXTURE, opt, ww_calib_stats_get, st, res, &err);
    if (rc) fprintf(stderr, "quantize_fixture: %s\n", err.msg);
    ww_calib_stats_free(st);
    ww_windows_free(&w);
    ww_model_free(m);
    return rc;
}

WW_TEST(qdq_layout_follows_ort)
{
    ww_qdq_options opt;
    ww_qdq_options_default(&opt);
    const char *k[] = {"quantization_method"}, *v[] = {"minmax"};
    opt.meta_keys = k;
    opt.meta_values = v;
    opt.n_meta = 1;
    ww_qdq_result res;
    void *fb;
    size_t fl;
    REQUIRE(quantize_fixture(&opt, &res, &fb, &fl) == 0);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, res.size, res.data);
    REQUIRE(m != NULL);
    Onnx__GraphProto *g = m->graph;
    size_t conv = 0, relu = 0, q = 0, dq = 0, per_axis = 0;
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        conv += !strcmp(n->op_type, "Conv");
        relu += !strcmp(n->op_type, "Relu");
        q += !strcmp(n->op_type, "QuantizeLinear");
        dq += !strcmp(n->op_type, "DequantizeLinear");
        if (!strcmp(n->op_type, "DequantizeLinear") && n->n_attribute) per_axis++;
    }
    CHECK_EQ_INT(conv, 20);
    CHECK_EQ_INT(relu, 0); /* all 17 folded */
    CHECK_EQ_INT(res.n_removed_activations, 17);
    CHECK_EQ_INT(per_axis, 42);         /* 20 conv + 1 fc weights, and their biases */
    CHECK_EQ_INT(res.n_float_nodes, 1); /* Flatten */
    CHECK(!strcmp(res.float_nodes[0].op_type, "Flatten"));
    CHECK_EQ_INT(dq, q + 42); /* one DQ per Q, plus 21 weights and 21 biases */

    /* every Conv: X from a DQ of an activation, W per-channel int8 axis 0,
     * B int32 with scale = x_scale * w_scale and zero point 0 */
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        if (strcmp(n->op_type, "Conv")) continue;
        Onnx__NodeProto *xd = producer(g, n->input[0]), *wd = producer(g, n->input[1]),
                        *bd = producer(g, n->input[2]);
        REQUIRE(xd && wd && bd);
        CHECK(!strcmp(xd->op_type, "DequantizeLinear"));
        CHECK(!strcmp(wd->op_type, "DequantizeLinear") && wd->n_attribute == 1 &&
              wd->attribute[0]->i == 0);
        Onnx__TensorProto *wq = init(g, wd->input[0]), *ws = init(g, wd->input[1]),
                          *bq = init(g, bd->input[0]), *bs = init(g, bd->input[1]),
                          *bz = init(g, bd->input[2]);
        REQUIRE(wq && ws && bq && bs && bz);
        CHECK_EQ_INT(wq->data_type, ONNX__TENSOR_PROTO__DATA_TYPE__INT8);
        CHECK_EQ_INT(bq->data_type, ONNX__TENSOR_PROTO__DATA_TYPE__INT32);
        CHECK_EQ_INT(bz->data_type, ONNX__TENSOR_PROTO__DATA_TYPE__INT32);
        CHECK_EQ_INT(ws->n_dims, 1);
        CHECK_EQ_INT(ws->dims[0], wq->dims[0]);
        float xs = scalar_f(g, xd->input[1]);
        const float *wsv = (const float *)ws->raw_data.data,
                    *bsv = (const float *)bs->raw_data.data;
        for (int64_t c = 0; c < ws->dims[0]; c++)
            CHECK_NEAR(bsv[c], xs * wsv[c], 1e-6 * fabs(xs * wsv[c]));
        /* the Conv writes a tensor that goes straight into a QuantizeLinear */
        size_t users = 0, quant = 0;
        for (size_t j = 0; j < g->n_node; j++)
            for (size_t a = 0; a < g->node[j]->n_input; a++)
                if (!strcmp(g->node[j]->input[a], n->output[0])) {
                    users++;
                    quant += !strcmp(g->node[j]->op_type, "QuantizeLinear");
                }
        CHECK_EQ_INT(users, 1);
        CHECK_EQ_INT(quant, 1);
    }

    /* MaxPool's output reuses its input's scale and zero point */
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        if (strcmp(n->op_type, "MaxPool")) continue;
        Onnx__NodeProto *xd = producer(g, n->input[0]);
        REQUIRE(xd);
        Onnx__NodeProto *qn = NULL;
        for (size_t j = 0; j < g->n_node; j++)
            if (!strcmp(g->node[j]->op_type, "QuantizeLinear") &&
                !strcmp(g->node[j]->input[0], n->output[0]))
                qn = g->node[j];
        REQUIRE(qn);
        CHECK_NEAR(scalar_f(g, qn->input[1]), scalar_f(g, xd->input[1]), 0);
    }

    /* the graph output keeps its name, written by the last DequantizeLinear */
    REQUIRE(g->n_output == 1);
    Onnx__NodeProto *od = producer(g, g->output[0]->name);
    REQUIRE(od);
    CHECK(!strcmp(od->op_type, "DequantizeLinear"));
    CHECK(!strcmp(g->output[0]->name, "logits"));

    int has_rate = 0, has_method = 0;
    for (size_t i = 0; i < m->n_metadata_props; i++) {
        has_rate |= !strcmp(m->metadata_props[i]->key, "sample_rate");
        has_method |= !strcmp(m->metadata_props[i]->key, "quantization_method") &&
                      !strcmp(m->metadata_props[i]->value, "minmax");
    }
    CHECK(has_rate && has_method);
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (!m->opset_import[i]->domain || !*m->opset_import[i]->domain)
            CHECK(m->opset_import[i]->version >= 13);
    /* int8 weights: the file shrinks about 4x less the activation params */
    CHECK_MSG(res.size * 2 < fl, "int8 model %zu bytes vs float %zu", res.size, fl);
    for (size_t i = 0; i < res.n_weights; i++)
        CHECK_MSG(res.weights[i].sqnr_db > 30, "%s weight SQNR %.1f dB", res.weights[i].name,
                  res.weights[i].sqnr_db);
    onnx__model_proto__free_unpacked(m, NULL);
    ww_qdq_result_free(&res);
    free(fb);
}

WW_TEST(symmetric_activations_keep_relu)
{
    /* with int8 symmetric activations the clamp is not implicit: ORT keeps
     * the Relu between QDQ pairs */
    ww_qdq_options opt;
    ww_qdq_options_default(&opt);
    opt.symmetric_activations = 1;
    ww_qdq_result res;
    void *fb;
    size_t fl;
    REQUIRE(quantize_fixture(&opt, &res, &fb, &fl) == 0);
    CHECK_EQ_INT(res.n_removed_activations, 0);
    for (size_t i = 0; i < res.n_acts; i++) CHECK_EQ_INT(res.acts[i].zero_point, 0);
    ww_qdq_result_free(&res);
    free(fb);
}

WW_TEST(exclude_and_per_tensor)
{
    ww_qdq_options opt;
    ww_qdq_options_default(&opt);
    opt.per_channel = 0;
    const char *ex[] = {"/fc/Gemm"};
    opt.exclude = ex;
    opt.n_exclude = 1;
    ww_qdq_result res;
    void *fb;
    size_t fl;
    REQUIRE(quantize_fixture(&opt, &res, &fb, &fl) == 0);
    int gemm_float = 0;
    for (size_t i = 0; i < res.n_float_nodes; i++)
        gemm_float |= !strcmp(res.float_nodes[i].name, "/fc/Gemm") &&
                      !strcmp(res.float_nodes[i].why, "excluded");
    CHECK(gemm_float);
    CHECK_EQ_INT(res.n_weights, 20); /* fc.weight stays float */
    for (size_t i = 0; i < res.n_weights; i++) CHECK_EQ_INT(res.weights[i].channels, 1);
    ww_qdq_result_free(&res);
    free(fb);
}

WW_TEST(already_quantized_and_garbage)
{
    ww_qdq_options opt;
    ww_qdq_options_default(&opt);
    ww_qdq_result res, res2;
    void *fb;
    size_t fl;
    REQUIRE(quantize_fixture(&opt, &res, &fb, &fl) == 0);
    ww_error err = {{0}};
    ww_calib_stats *st = ww_calib_stats_new();
    CHECK_EQ_INT(
        ww_qdq_quantize(res.data, res.size, "q.onnx", &opt, ww_calib_stats_get, st, &res2, &err),
        WW_EUNSUPPORTED);
    CHECK(strstr(err.msg, "already quantized") != NULL);
    CHECK(ww_qdq_quantize("garbage!", 8, "g.onnx", &opt, ww_calib_stats_get, st, &res2, &err) < 0);
    CHECK(strstr(err.msg, "g.onnx") != NULL);
    /* protobuf nested 5000 deep (overflowed the stack in protobuf-c's
     * recursive unpack when the loader had no depth check): every writer that
     * unpacks bytes itself refuses it with the model's name */
    size_t nl = 0;
    void *nested = slurp("tests/fuzz/regressions/onnx/nested-5000-levels.onnx", &nl);
    REQUIRE(nested);
    CHECK_EQ_INT(ww_qdq_quantize(nested, nl, "n.onnx", &opt, ww_calib_stats_get, st, &res2, &err),
                 WW_EUNSUPPORTED);
    CHECK(strstr(err.msg, "n.onnx") && strstr(err.msg, "nested"));
    ww_dynamic_result dr;
    CHECK(ww_dynamic_quantize(nested, nl, "n.onnx", NULL, 0, NULL, NULL, 0, &dr, &err) < 0);
    CHECK(strstr(err.msg, "nested") != NULL);
    void *fo = NULL;
    size_t fol = 0;
    CHECK(ww_fp16_convert(nested, nl, "n.onnx", NULL, NULL, 0, &fo, &fol, &err) < 0);
    CHECK(strstr(err.msg, "nested") != NULL);
    free(nested);
    /* no statistics at all: the error names the tensor */
    CHECK_EQ_INT(ww_qdq_quantize(fb, fl, "f.onnx", &opt, ww_calib_stats_get, st, &res2, &err),
                 WW_OK); /* nothing observed = nothing quantized, all float */
    CHECK_EQ_INT(res2.n_acts, 0);
    ww_qdq_result_free(&res2);
    ww_calib_stats_free(st);
    ww_qdq_result_free(&res);
    free(fb);
}
