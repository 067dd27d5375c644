/* libFuzzer target for the QDQ -> int8 compile pass (nn/qdq_compile.c) and
 * the int8 kernels, fast: instead of whole model files it mutates a small
 * fixed QDQ model (tests/fuzz/qdq_u8.onnx or qdq_s8.onnx, made by
 * make_qdq_template.sh) field by field, so nearly every input is a graph
 * the pass works on. The input is XORed over the model's fields in this
 * order (missing bytes are 0 = unchanged, so an empty input is the template):
 *   byte 0: template (bit 0: u8/s8 activations), bit 1: also run the
 *           float-simulated path
 *   graph input dims (kept under 16); every INT/FLOAT/INTS attribute (a byte
 *   per int, see mut_int; 4 bytes XORed per float); one byte per node input (non-zero: rewire it to
 *   another tensor); per initializer (small ones first) its data type and
 *   dims (resized raw_data refilled from the template's bytes); every
 *   raw_data byte; what is left: the float input values.
 * Then load (compile, pack), run on int8 kernels, optionally run again
 * float-simulated. Anything may be refused; nothing may crash.
 * WW_FUZZ_VERBOSE=1 prints per input whether it loaded and how many steps
 * run int8 (to judge how much of a corpus reaches the kernels). */
// seeds: tests/fuzz/seeds/qdq/*
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "onnx.pb-c.h"

typedef struct tmpl {
    uint8_t *bytes;
    size_t len;
} tmpl;

static tmpl templates[2];

static void load_template(tmpl *t, const char *name)
{
    char path[4096];
    const char *dir = getenv("WW_FUZZ_DIR");
    snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/fuzz", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr,
                "fuzz_qdq: cannot open %s (run from the repository root or set "
                "WW_FUZZ_DIR)\n",
                path);
        abort();
    }
    fseek(f, 0, SEEK_END);
    t->len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    t->bytes = malloc(t->len);
    if (!t->bytes || fread(t->bytes, 1, t->len, f) != t->len) abort();
    fclose(f);
}

typedef struct rd {
    const uint8_t *p;
    size_t n, i;
} rd;

static uint8_t take(rd *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

static int64_t sx(uint8_t b)
{
    return (int64_t)(int8_t)b;
}

/* One byte's change to an integer field: 0 none, then small flips, small
 * signed values, single high bits, and wild sign-extended flips. */
static int64_t mut_int(int64_t v, uint8_t b)
{
    if (b < 0x40) return v ^ b;
    if (b < 0x80) return (int64_t)(b & 0x3f) - 32;
    if (b < 0xc0) return (int64_t)((uint64_t)v ^ ((uint64_t)1 << (b & 63)));
    return v ^ sx(b);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (!d) abort();
    memcpy(d, s, n);
    return d;
}

static int by_size(const void *a, const void *b)
{
    const Onnx__TensorProto *x = *(Onnx__TensorProto *const *)a,
                            *y = *(Onnx__TensorProto *const *)b;
    return x->raw_data.len < y->raw_data.len ? -1 : x->raw_data.len > y->raw_data.len;
}

static void mutate(Onnx__ModelProto *mp, rd *r)
{
    Onnx__GraphProto *g = mp->graph;
    for (size_t i = 0; i < g->n_input; i++) {
        Onnx__TypeProto *tp = g->input[i]->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type->shape)
            continue;
        Onnx__TensorShapeProto *s = tp->tensor_type->shape;
        for (size_t d = 0; d < s->n_dim; d++)
            if (s->dim[d]->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) { /* kept small: big inputs
                                                                           only slow the run down */
                uint8_t b = take(r);
                int64_t *v = &s->dim[d]->dim_value;
                *v = b & 0x80 ? -(*v & 0x0f) : *v ^ (b & 0x0f);
            }
    }
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        for (size_t a = 0; a < n->n_attribute; a++) {
            Onnx__AttributeProto *at = n->attribute[a];
            switch (at->type) {
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
                at->i = mut_int(at->i, take(r));
                break;
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: {
                uint32_t bits;
                memcpy(&bits, &at->f, 4);
                for (int k = 0; k < 4; k++) bits ^= (uint32_t)take(r) << (8 * k);
                memcpy(&at->f, &bits, 4);
                break;
            }
            case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
                for (size_t k = 0; k < at->n_ints; k++) at->ints[k] = mut_int(at->ints[k], take(r));
                break;
            default:
                break;
            }
        }
    }
    /* every tensor name, as it stands before rewiring */
    size_t nnames = 0, cap = g->n_initializer + g->n_input;
    for (size_t i = 0; i < g->n_node; i++) cap += g->node[i]->n_output;
    char **names = malloc((cap + 1) * sizeof *names);
    if (!names) abort();
    for (size_t i = 0; i < g->n_initializer; i++)
        names[nnames++] = dup_str(g->initializer[i]->name);
    for (size_t i = 0; i < g->n_input; i++) names[nnames++] = dup_str(g->input[i]->name);
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_output; k++)
            names[nnames++] = dup_str(g->node[i]->output[k]);
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        for (size_t k = 0; k < n->n_input; k++) {
            uint8_t b = take(r);
            if (!b) continue;
            free(n->input[k]);
            n->input[k] = dup_str(b == 0xff ? "" : names[(b - 1u) % nnames]);
        }
    }
    for (size_t i = 0; i < nnames; i++) free(names[i]);
    free(names);
    Onnx__TensorProto **inits = malloc((g->n_initializer + 1) * sizeof *inits);
    if (!inits) abort();
    memcpy(inits, g->initializer, g->n_initializer * sizeof *inits);
    qsort(inits, g->n_initializer, sizeof *inits, by_size);
    for (size_t i = 0; i < g->n_initializer; i++) {
        Onnx__TensorProto *t = inits[i];
        t->data_type ^= take(r) & 0x0f;
        size_t count = 1;
        int fits = 1;
        for (size_t d = 0; d < t->n_dims; d++) {
            t->dims[d] = mut_int(t->dims[d], take(r));
            if (t->dims[d] < 0 || t->dims[d] > 4096)
                fits = 0;
            else
                count *= (size_t)t->dims[d];
            if (count > 65536) fits = 0;
        }
        size_t need = count * ww_dtype_size(t->data_type);
        if (fits && need && need != t->raw_data.len && t->has_raw_data) {
            uint8_t *buf = malloc(need);
            if (!buf) abort();
            for (size_t k = 0; k < need; k++)
                buf[k] = t->raw_data.len ? t->raw_data.data[k % t->raw_data.len] : 0;
            free(t->raw_data.data);
            t->raw_data.data = buf;
            t->raw_data.len = need;
        }
    }
    for (size_t i = 0; i < g->n_initializer; i++)
        for (size_t k = 0; k < inits[i]->raw_data.len; k++) inits[i]->raw_data.data[k] ^= take(r);
    free(inits);
}

static void fill_inputs(ww_model *m, rd *r)
{
    for (int i = 0; i < ww_model_n_inputs(m); i++) {
        ww_tensor_view v;
        if (ww_model_input(m, i, &v)) continue;
        size_t bytes = v.count * ww_dtype_size(v.dtype);
        if (v.dtype == WW_DT_F32) {
            float *x = v.data;
            for (size_t k = 0; k < v.count; k++) {
                uint8_t b = take(r);
                x[k] = r->i < r->n ? (float)sx(b) / 8.0f : sinf((float)k * 0.7f) * 3.0f;
            }
        } else {
            for (size_t k = 0; k < bytes; k++) ((uint8_t *)v.data)[k] = take(r);
        }
    }
}

static volatile float sink;

static void touch_outputs(ww_model *m)
{
    for (int i = 0; i < ww_model_n_outputs(m); i++) {
        ww_tensor_view v;
        if (ww_model_output(m, i, &v) || v.dtype != WW_DT_F32) continue;
        for (size_t k = 0; k < v.count; k++) sink += ((const float *)v.data)[k];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!templates[0].bytes) {
        load_template(&templates[0], "qdq_u8.onnx");
        load_template(&templates[1], "qdq_s8.onnx");
    }
    rd r = {data, size, 0};
    uint8_t mode = take(&r);
    const tmpl *t = &templates[mode & 1];
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, t->len, t->bytes);
    if (!mp) abort();
    mutate(mp, &r);
    size_t len = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(len);
    if (!buf) abort();
    onnx__model_proto__pack(mp, buf);
    onnx__model_proto__free_unpacked(mp, NULL);
    ww_model *m;
    ww_error err;
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("WW_FUZZ_VERBOSE") != NULL;
    if (ww_model_load_mem(buf, len, "fuzz_qdq", &m, &err) == WW_OK) {
        if (verbose) { /* how much of the corpus reaches the int8 kernels */
            ww_model_stats st;
            ww_model_get_stats(m, &st);
            fprintf(stderr, "# loaded: %zu of %zu steps int8\n", st.n_int8_nodes, st.n_exec_nodes);
        }
        size_t at = r.i;
        fill_inputs(m, &r);
        if (ww_model_run(m, &err) == WW_OK) touch_outputs(m);
        if (mode & 2) {
            ww_model_set_int8(m, 0);
            if (ww_model_prepare(m, 0, &err) == WW_OK) {
                r.i = at; /* the same input values */
                fill_inputs(m, &r);
                if (ww_model_run(m, &err) == WW_OK) touch_outputs(m);
            }
        }
        ww_model_free(m);
    } else if (verbose) {
        fprintf(stderr, "# refused: %s\n", err.msg);
    }
    free(buf);
    return 0;
}
