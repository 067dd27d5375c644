#include "quant/onnx_edit.h"

#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

char *ww_onnx_cat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *d = malloc(na + nb + 1);
    if (!d) return NULL;
    memcpy(d, a, na);
    memcpy(d + na, b, nb + 1);
    return d;
}

char *ww_onnx_strdup(const char *s)
{
    return ww_onnx_cat(s, "");
}

Onnx__TensorProto *ww_onnx_find_init(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->name && !strcmp(g->initializer[i]->name, name))
            return g->initializer[i];
    return NULL;
}

size_t ww_onnx_tensor_count(const Onnx__TensorProto *t)
{
    size_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) n *= (size_t)(t->dims[i] < 0 ? 0 : t->dims[i]);
    return n;
}

int ww_onnx_init_floats(const Onnx__TensorProto *t, const char *model, float **out, size_t *count,
                        ww_error *err)
{
    size_t n = ww_onnx_tensor_count(t);
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return ww_fail(err, WW_EUNSUPPORTED, "%s: initializer '%s' is not float32 (type %d)", model,
                       t->name, (int)t->data_type);
    float *d = malloc((n ? n : 1) * sizeof(float));
    if (!d) return ww_fail(err, WW_ENOMEM, "%s: out of memory while quantizing", model);
    if (t->has_raw_data && t->raw_data.len == n * 4) {
        memcpy(d, t->raw_data.data, n * 4);
    } else if (t->n_float_data == n) {
        memcpy(d, t->float_data, n * 4);
    } else {
        free(d);
        return ww_fail(err, WW_EFORMAT, "%s: initializer '%s' holds no data for its %zu elements%s",
                       model, t->name, n, t->n_external_data ? " (external data)" : "");
    }
    *out = d;
    *count = n;
    return WW_OK;
}

int ww_onnx_referenced(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++)
            if (!strcmp(g->node[i]->input[k], name)) return 1;
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name && !strcmp(g->output[i]->name, name)) return 1;
    return 0;
}

int ww_onnx_set_meta(Onnx__ModelProto *m, const char *const *keys, const char *const *values,
                     size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Onnx__StringStringEntryProto *e = NULL;
        for (size_t j = 0; j < m->n_metadata_props; j++)
            if (m->metadata_props[j]->key && !strcmp(m->metadata_props[j]->key, keys[i]))
                e = m->metadata_props[j];
        if (e) {
            char *s = ww_onnx_strdup(values[i]);
            if (!s) return -1;
            free(e->value);
            e->value = s;
            continue;
        }
        void *p = realloc(m->metadata_props, (m->n_metadata_props + 1) * sizeof(e));
        if (!p) return -1;
        m->metadata_props = p;
        if (!(e = malloc(sizeof(*e)))) return -1;
        onnx__string_string_entry_proto__init(e);
        m->metadata_props[m->n_metadata_props++] = e;
        e->key = ww_onnx_strdup(keys[i]);
        e->value = ww_onnx_strdup(values[i]);
        if (!e->key || !e->value) return -1;
    }
    return 0;
}

int ww_onnx_unpack_model(const void *bytes, size_t len, const char *name, Onnx__ModelProto **out,
                         ww_error *err)
{
    *out = NULL;
    int rc = ww_onnx_check_nesting(bytes, len, err);
    if (rc) return ww_error_prefix(err, rc, name);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, bytes);
    if (!m || !m->graph) {
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return ww_fail(err, WW_EFORMAT, "%s: not an ONNX model (protobuf parse failed)", name);
    }
    *out = m;
    return WW_OK;
}
