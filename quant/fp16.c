/* Works on the unpacked protobuf-c tree in place; everything added is its own
 * malloc'd block so onnx__model_proto__free_unpacked() frees it (see qdq.c). */
#include "quant/fp16.h"

#include "quant/onnx_edit.h"

#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "quant/qdq.h"

uint16_t ww_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) { /* half subnormal: m * 2^-24 */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        int shift = 14 - e;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* a carry may reach inf: right */
    return (uint16_t)half;
}

float ww_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, x;
    if (exp == 0) {
        if (!man) {
            x = sign;
        } else {
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400));
            x = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 0x1f) {
        x = sign | 0x7f800000 | (man << 13);
    } else {
        x = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

static int to_f16(Onnx__TensorProto *t, const char *name, ww_error *err)
{
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) return WW_OK;
    size_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) n *= (size_t)(t->dims[i] < 0 ? 0 : t->dims[i]);
    const float *src;
    if (t->has_raw_data && t->raw_data.len == n * 4)
        src = (const float *)t->raw_data.data;
    else if (t->n_float_data == n)
        src = t->float_data;
    else
        return ww_fail(err, WW_EFORMAT, "%s: tensor '%s' holds no data for its %zu elements", name,
                       t->name ? t->name : "", n);
    uint8_t *d = malloc(n * 2 + 1);
    if (!d) return ww_fail(err, WW_ENOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, src + i, 4); /* raw_data need not be aligned */
        uint16_t h = ww_f32_to_f16(v);
        d[2 * i] = (uint8_t)(h & 0xff); /* ONNX raw_data is little-endian */
        d[2 * i + 1] = (uint8_t)(h >> 8);
    }
    free(t->raw_data.data);
    free(t->float_data);
    t->float_data = NULL;
    t->n_float_data = 0;
    t->raw_data.data = d;
    t->raw_data.len = n * 2;
    t->has_raw_data = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
    return WW_OK;
}

static Onnx__NodeProto *make_cast(const char *in, const char *out, int to)
{
    Onnx__NodeProto *n = malloc(sizeof(*n));
    Onnx__AttributeProto *a = malloc(sizeof(*a));
    if (!n || !a) {
        free(n);
        free(a);
        return NULL;
    }
    onnx__node_proto__init(n);
    onnx__attribute_proto__init(a);
    n->op_type = ww_onnx_strdup("Cast");
    size_t len = strlen(out) + 8;
    n->name = malloc(len);
    if (n->name) {
        memcpy(n->name, out, len - 8);
        memcpy(n->name + len - 8, "_Cast", 6);
    }
    n->input = malloc(sizeof(char *));
    n->output = malloc(sizeof(char *));
    n->attribute = malloc(sizeof(*n->attribute));
    a->name = ww_onnx_strdup("to");
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = to;
    if (n->attribute) {
        n->attribute[0] = a;
        n->n_attribute = 1;
    } else {
        onnx__attribute_proto__free_unpacked(a, NULL);
    }
    if (n->input) {
        n->input[0] = ww_onnx_strdup(in);
        n->n_input = 1;
    }
    if (n->output) {
        n->output[0] = ww_onnx_strdup(out);
        n->n_output = 1;
    }
    if (!n->op_type || !n->name || !n->n_input || !n->n_output || !n->n_attribute || !n->input[0] ||
        !n->output[0] || !a->name) {
        onnx__node_proto__free_unpacked(n, NULL);
        return NULL;
    }
    return n;
}

static int is_float_value(const Onnx__ValueInfoProto *v)
{
    return v->type && v->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
           v->type->tensor_type && v->type->tensor_type->elem_type == 1;
}

static int rename_uses(Onnx__GraphProto *g, const char *from, const char *to, int outputs)
{
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        size_t cnt = outputs ? n->n_output : n->n_input;
        char **v = outputs ? n->output : n->input;
        for (size_t k = 0; k < cnt; k++)
            if (!strcmp(v[k], from)) {
                char *s = ww_onnx_strdup(to);
                if (!s) return -1;
                free(v[k]);
                v[k] = s;
            }
    }
    return 0;
}

static int add_node(Onnx__GraphProto *g, Onnx__NodeProto *n, int at_front)
{
    if (!n) return -1;
    void *p = realloc(g->node, (g->n_node + 1) * sizeof(*g->node));
    if (!p) {
        onnx__node_proto__free_unpacked(n, NULL);
        return -1;
    }
    g->node = p;
    if (at_front) {
        memmove(g->node + 1, g->node, g->n_node * sizeof(*g->node));
        g->node[0] = n;
    } else {
        g->node[g->n_node] = n;
    }
    g->n_node++;
    return 0;
}

static char *suffixed(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *d = malloc(na + nb + 1);
    if (d) {
        memcpy(d, a, na);
        memcpy(d + na, b, nb + 1);
    }
    return d;
}

static int convert(Onnx__ModelProto *m, const char *name, ww_error *err)
{
    Onnx__GraphProto *g = m->graph;
    int rc;
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        if (ww_qdq_is_quantized_op(n->op_type))
            return ww_fail(
                err, WW_EUNSUPPORTED,
                "%s: the model is already quantized (node '%s' is %s); convert the float "
                "model",
                name, n->name ? n->name : "", n->op_type);
        for (size_t k = 0; k < n->n_attribute; k++) {
            Onnx__AttributeProto *a = n->attribute[k];
            if (!strcmp(n->op_type, "Cast") && !strcmp(a->name, "to") && a->i == 1) a->i = 10;
            if (a->t && (rc = to_f16(a->t, name, err))) return rc;
        }
    }
    for (size_t i = 0; i < g->n_initializer; i++) {
        if (g->initializer[i]->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16)
            return ww_fail(err, WW_EUNSUPPORTED, "%s: the model is already float16", name);
        if ((rc = to_f16(g->initializer[i], name, err))) return rc;
    }
    for (size_t i = 0; i < g->n_input; i++) {
        Onnx__ValueInfoProto *v = g->input[i];
        if (!is_float_value(v)) continue;
        int init = 0;
        for (size_t k = 0; k < g->n_initializer; k++)
            init |= g->initializer[k]->name && !strcmp(g->initializer[k]->name, v->name);
        if (init) { /* old IR: the initializer is float16 now */
            v->type->tensor_type->elem_type = 10;
            continue;
        }
        char *h = suffixed(v->name, "_fp16");
        if (!h || rename_uses(g, v->name, h, 0) ||
            add_node(g, make_cast(v->name, h, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16), 1)) {
            free(h);
            return ww_fail(err, WW_ENOMEM, "%s: out of memory", name);
        }
        free(h);
    }
    for (size_t i = 0; i < g->n_output; i++) {
        Onnx__ValueInfoProto *v = g->output[i];
        if (!is_float_value(v)) continue;
        char *h = suffixed(v->name, "_fp16");
        if (!h || rename_uses(g, v->name, h, 1) || rename_uses(g, v->name, h, 0) ||
            add_node(g, make_cast(h, v->name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT), 0)) {
            free(h);
            return ww_fail(err, WW_ENOMEM, "%s: out of memory", name);
        }
        free(h);
    }
    for (size_t i = 0; i < g->n_value_info; i++)
        onnx__value_info_proto__free_unpacked(g->value_info[i], NULL);
    free(g->value_info);
    g->value_info = NULL;
    g->n_value_info = 0;
    return WW_OK;
}

int ww_fp16_convert(const void *model, size_t len, const char *name, const char *const *meta_keys,
                    const char *const *meta_values, size_t n_meta, void **out, size_t *out_len,
                    ww_error *err)
{
    *out = NULL;
    Onnx__ModelProto *m;
    int urc = ww_onnx_unpack_model(model, len, name, &m, err);
    if (urc) return urc;
    int rc = convert(m, name, err);
    if (!rc && ww_onnx_set_meta(m, meta_keys, meta_values, n_meta))
        rc = ww_fail(err, WW_ENOMEM, "%s: out of memory", name);
    if (!rc) {
        *out_len = onnx__model_proto__get_packed_size(m);
        *out = malloc(*out_len + 1);
        if (!*out)
            rc = ww_fail(err, WW_ENOMEM, "%s: out of memory", name);
        else
            onnx__model_proto__pack(m, *out);
    }
    onnx__model_proto__free_unpacked(m, NULL);
    return rc;
}
