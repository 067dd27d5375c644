/* The float conv kernels: the reference against ONNX's own Conv test data
 * (libonnx-testdata: ONNX node cases and PyTorch-converted Conv1d/Conv2d), and
 * every ISA variant this CPU runs against the reference on random shapes,
 * including the exact ResNet18 layers.
 *
 * Error bound for a variant against the (double-accumulating) reference, per
 * output element: |y - ref| <= 1e-5 * sqrt(K) * mag, where K is the number of
 * products summed (c_in/groups * k_h * k_w) and mag = sum|x*w| + |bias| +
 * |residual| for that element. A float32 sum of K terms accumulated one after
 * the other errs by at most about K * 6e-8 * mag (the usual case is nearer
 * sqrt(K) * 6e-8 * mag); 1e-5 * sqrt(K) covers the worst case for every
 * K < 27000, so a correct kernel cannot fail it, while a wrong tap, channel or
 * edge moves an element by about one product, far above it. RELU and CLIP are
 * 1-Lipschitz so the bound holds after them. It is tighter than ggml's
 * 1e-4 * sqrt(K)-relative style of bound, with the same shape. */
#include "nn/cpu.h"
#include "nn/kernels/conv2d_f32.h"
#include "tests/unit/wwtest.h"

#include "onnx.pb-c.h"

#include <stdint.h>
#include <stdlib.h>

/* ---- random data ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static int rnd_int(int lo, int hi)
{
    return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}

static float rnd_float(void)
{
    return (float)((rnd() & 0xffffff) / 8388608.0 - 1.0);
}

static float *rnd_array(size_t n)
{
    float *a = malloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = rnd_float();
    return a;
}

/* ---- shapes ---- */

static size_t x_count(const ww_conv2d_shape *s)
{
    return (size_t)s->n * s->c_in * s->h_in * s->w_in;
}
static size_t y_count(const ww_conv2d_shape *s)
{
    return (size_t)s->n * s->c_out * s->h_out * s->w_out;
}
static size_t w_count(const ww_conv2d_shape *s)
{
    return (size_t)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w;
}

/* Output size from ONNX's explicit-pads formula; 0 if the shape is empty. */
static int out_dim(int in, int pad_begin, int pad_end, int k, int stride, int dil)
{
    int span = (k - 1) * dil + 1, padded = in + pad_begin + pad_end;
    return padded < span ? 0 : (padded - span) / stride + 1;
}

static void describe(const ww_conv2d_shape *s, char *buf, size_t len)
{
    snprintf(buf, len, "n%d c%d->%d %dx%d->%dx%d k%dx%d s%d,%d p%d,%d d%d,%d g%d", s->n, s->c_in,
             s->c_out, s->h_in, s->w_in, s->h_out, s->w_out, s->k_h, s->k_w, s->stride_h,
             s->stride_w, s->pad_top, s->pad_left, s->dil_h, s->dil_w, s->groups);
}

/* ---- comparing a variant with the reference ---- */

static float *abs_copy(const float *a, size_t n)
{
    if (!a) return NULL;
    float *b = malloc((n ? n : 1) * sizeof *b);
    for (size_t i = 0; i < n; i++) b[i] = fabsf(a[i]);
    return b;
}

/* Runs ww_conv2d_f32 under every ISA this CPU runs, on exactly-sized buffers
 * (so ASan sees any overrun), and checks each against the reference. */
static void check_shape(const ww_conv2d_shape *s, int with_bias, int with_residual,
                        ww_activation act)
{
    size_t nx = x_count(s), ny = y_count(s), nw = w_count(s);
    float *x = rnd_array(nx), *w = rnd_array(nw);
    float *bias = with_bias ? rnd_array((size_t)s->c_out) : NULL;
    float *res = with_residual ? rnd_array(ny) : NULL;
    float *ref = malloc((ny ? ny : 1) * sizeof *ref);
    float *mag = malloc((ny ? ny : 1) * sizeof *mag);
    size_t np = ww_conv2d_f32_packed_size(s), ns = ww_conv2d_f32_scratch_size(s);
    float *packed = malloc((np ? np : 1) * sizeof *packed);
    float *scratch = ns ? malloc(ns * sizeof *scratch) : NULL;
    float *y = malloc((ny ? ny : 1) * sizeof *y);

    ww_conv2d_f32_reference(s, x, w, bias, res, act, ref);
    float *ax = abs_copy(x, nx), *aw = abs_copy(w, nw), *ab = abs_copy(bias, (size_t)s->c_out);
    float *ar = abs_copy(res, ny);
    ww_activation none = {WW_ACT_NONE, 0, 0};
    ww_conv2d_f32_reference(s, ax, aw, ab, ar, none, mag);
    const double k = (double)(s->c_in / s->groups) * s->k_h * s->k_w;

    /* packed once, under whichever ISA is active: the layout is the same for
     * all, as the header promises */
    ww_conv2d_f32_pack(s, w, packed);
    for (int isa = 0; isa < WW_ISA_COUNT; isa++) {
        ww_error err;
        if (!ww_isa_supported((ww_isa)isa)) continue;
        if (ww_isa_set((ww_isa)isa, &err) != WW_OK) {
            CHECK_MSG(0, "ww_isa_set(%s): %s", ww_isa_name((ww_isa)isa), err.msg);
            continue;
        }
        /* every element must be written, and no scratch read before written */
        for (size_t i = 0; i < ny; i++) y[i] = NAN;
        for (size_t i = 0; i < ns; i++) scratch[i] = NAN;
        ww_conv2d_f32(s, x, packed, bias, res, act, y, scratch);
        double worst = 0;
        size_t worst_at = 0;
        for (size_t i = 0; i < ny; i++) {
            double bound = 1e-5 * sqrt(k > 0 ? k : 1) * mag[i] + 1e-30;
            double ratio = isnan(y[i]) ? INFINITY : fabs((double)y[i] - ref[i]) / bound;
            if (!(ratio <= worst)) {
                worst = ratio;
                worst_at = i;
            }
        }
        if (!(worst <= 1.0)) {
            char d[160];
            describe(s, d, sizeof d);
            CHECK_MSG(0,
                      "%s: %s bias%d res%d act%d: y[%zu] = %.9g, reference %.9g (%.2fx the bound)",
                      ww_isa_name((ww_isa)isa), d, with_bias, with_residual, (int)act.kind,
                      worst_at, y[worst_at], ref[worst_at], worst);
        }
    }
    ww_isa_set(ww_isa_best(), NULL);
    free(x), free(w), free(bias), free(res), free(ref), free(mag), free(packed), free(scratch);
    free(y), free(ax), free(aw), free(ab), free(ar);
}

/* ---- random shapes ---- */

static ww_conv2d_shape random_shape(void)
{
    ww_conv2d_shape s;
    for (;;) {
        int kind = rnd_int(0, 9);
        s.groups = 1;
        int cin_g = rnd_int(1, 24), cout_g = rnd_int(1, 70);
        if (kind == 0) { /* depthwise, possibly with a multiplier */
            s.groups = rnd_int(1, 12);
            cin_g = 1;
            cout_g = rnd_int(1, 3);
        } else if (kind == 1) { /* grouped */
            s.groups = rnd_int(2, 4);
            cin_g = rnd_int(1, 8);
            cout_g = rnd_int(1, 40);
        } else if (kind == 2) { /* wide output blocks and their tails */
            cout_g = 16 * rnd_int(1, 5) + rnd_int(-1, 1);
        }
        s.n = rnd_int(1, 2);
        s.c_in = cin_g * s.groups;
        s.c_out = cout_g * s.groups;
        s.h_in = rnd_int(1, 19);
        s.w_in = rnd_int(1, 37);
        s.k_h = rnd_int(1, 5);
        s.k_w = kind == 3 ? 1 : rnd_int(1, 7);
        if (kind == 3) s.k_h = 1; /* pointwise */
        s.stride_h = rnd_int(1, 3);
        s.stride_w = rnd_int(1, 3);
        s.dil_h = rnd_int(0, 3) ? 1 : rnd_int(2, 3);
        s.dil_w = rnd_int(0, 3) ? 1 : rnd_int(2, 3);
        int span_h = (s.k_h - 1) * s.dil_h, span_w = (s.k_w - 1) * s.dil_w;
        s.pad_top = rnd_int(0, span_h);
        s.pad_left = rnd_int(0, span_w);
        int pad_bottom = rnd_int(0, span_h), pad_right = rnd_int(0, span_w);
        s.h_out = out_dim(s.h_in, s.pad_top, pad_bottom, s.k_h, s.stride_h, s.dil_h);
        s.w_out = out_dim(s.w_in, s.pad_left, pad_right, s.k_w, s.stride_w, s.dil_w);
        if (s.h_out > 0 && s.w_out > 0) return s;
    }
}

WW_TEST(random_shapes_every_isa_matches_reference)
{
    for (int t = 0; t < 60; t++) {
        ww_conv2d_shape s = random_shape();
        ww_activation act = {(ww_act_kind)rnd_int(0, 2), -0.5f, 0.75f};
        check_shape(&s, rnd_int(0, 1), rnd_int(0, 1), act);
        if (ww_test_failed()) return;
    }
}

/* ---- the ResNet18 layers of the wakeword model (input 1x1x64x101) ---- */

WW_TEST(resnet18_layers_every_isa_match_reference)
{
    static const int layers[][9] = {
        /* c_in c_out h_in w_in k stride pad h_out w_out */
        {1, 64, 64, 101, 7, 2, 3, 32, 51}, {64, 64, 16, 26, 3, 1, 1, 16, 26},
        {64, 128, 16, 26, 3, 2, 1, 8, 13}, {128, 128, 8, 13, 3, 1, 1, 8, 13},
        {64, 128, 16, 26, 1, 2, 0, 8, 13}, {128, 256, 8, 13, 3, 2, 1, 4, 7},
        {256, 256, 4, 7, 3, 1, 1, 4, 7},   {128, 256, 8, 13, 1, 2, 0, 4, 7},
        {256, 512, 4, 7, 3, 2, 1, 2, 4},   {512, 512, 2, 4, 3, 1, 1, 2, 4},
        {256, 512, 4, 7, 1, 2, 0, 2, 4},
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        const int *l = layers[i];
        ww_conv2d_shape s = {1,    l[0], l[2], l[3], l[1], l[7], l[8], l[4],
                             l[4], l[5], l[5], l[6], l[6], 1,    1,    1};
        ww_activation relu = {WW_ACT_RELU, 0, 0}, none = {WW_ACT_NONE, 0, 0};
        /* the three ways the model uses a conv: +ReLU, +residual+ReLU, plain */
        check_shape(&s, 1, 0, relu);
        if (l[4] == 3 && l[5] == 1) check_shape(&s, 1, 1, relu);
        if (l[4] == 1) check_shape(&s, 1, 0, none);
    }
}

/* Batch > 1 and a non-zero clip range on a ResNet-sized layer. */
WW_TEST(batch_and_clip_every_isa_match_reference)
{
    ww_conv2d_shape s = {3, 64, 9, 14, 96, 9, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    ww_activation clip = {WW_ACT_CLIP, -0.25f, 6.0f};
    check_shape(&s, 1, 1, clip);
}

/* Narrow outputs with a long k: the tiles' panels exceed the panel budget
 * together, so they are gathered in several runs; c_out ends mid-block. */
WW_TEST(long_k_several_panel_runs_every_isa_match_reference)
{
    ww_conv2d_shape s = {1, 512, 8, 7, 40, 6, 5, 3, 3, 1, 1, 0, 0, 1, 1, 1};
    ww_activation relu = {WW_ACT_RELU, 0, 0};
    check_shape(&s, 1, 1, relu);
}

/* A 1x1 stride-1 conv without padding reads x in place (no padded copy);
 * with padding it does not. */
WW_TEST(pointwise_every_isa_match_reference)
{
    ww_conv2d_shape s = {2, 48, 9, 13, 80, 9, 13, 1, 1, 1, 1, 0, 0, 1, 1, 1};
    ww_activation relu = {WW_ACT_RELU, 0, 0};
    check_shape(&s, 1, 1, relu);
    ww_conv2d_shape padded = {1, 48, 9, 13, 40, 11, 14, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    check_shape(&padded, 0, 0, relu);
}

WW_TEST(empty_output_is_a_no_op)
{
    ww_conv2d_shape s = {1, 4, 2, 2, 16, 0, 0, 3, 3, 1, 1, 0, 0, 1, 1, 1};
    float x[16] = {0}, w[16 * 4 * 9] = {0}, y[1] = {42.0f};
    float packed[16 * 4 * 9 * 2];
    CHECK_EQ_INT(ww_conv2d_f32_scratch_size(&s), 0);
    ww_conv2d_f32_pack(&s, w, packed);
    ww_activation none = {WW_ACT_NONE, 0, 0};
    ww_conv2d_f32(&s, x, packed, NULL, NULL, none, y, NULL);
    CHECK(y[0] == 42.0f);
}

/* ---- ONNX's own Conv test data ---- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (n < 0 || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* A float tensor's values (raw_data or float_data); NULL if not float. */
static float *tensor_floats(const Onnx__TensorProto *t, size_t *count)
{
    size_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) n *= (size_t)t->dims[i];
    *count = n;
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) return NULL;
    float *v = malloc((n ? n : 1) * sizeof *v);
    if (t->has_raw_data && t->raw_data.len == n * sizeof(float)) {
        memcpy(v, t->raw_data.data, n * sizeof(float));
    } else if (t->n_float_data == n) {
        memcpy(v, t->float_data, n * sizeof(float));
    } else {
        free(v);
        return NULL;
    }
    return v;
}

static Onnx__TensorProto *load_tensor(const char *path)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    if (!buf) return NULL;
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, len, buf);
    free(buf);
    return t;
}

typedef struct conv_case {
    ww_conv2d_shape s;
    float *x, *w, *b, *expected;
    size_t n_expected;
} conv_case;

static const Onnx__AttributeProto *attr(const Onnx__NodeProto *node, const char *name)
{
    for (size_t i = 0; i < node->n_attribute; i++)
        if (!strcmp(node->attribute[i]->name, name)) return node->attribute[i];
    return NULL;
}

/* The tensor named `name`: an initializer, or the graph input it is, read
 * from the data set's input_<i>.pb. */
static float *conv_operand(const Onnx__GraphProto *g, const char *dir, const char *name,
                           Onnx__TensorProto **kept)
{
    size_t n;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (!strcmp(g->initializer[i]->name, name)) {
            *kept = NULL;
            return tensor_floats(g->initializer[i], &n);
        }
    int input_no = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        int is_init = 0;
        for (size_t j = 0; j < g->n_initializer; j++)
            if (!strcmp(g->initializer[j]->name, g->input[i]->name)) is_init = 1;
        if (is_init) continue;
        if (!strcmp(g->input[i]->name, name)) {
            char path[512];
            snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, input_no);
            *kept = load_tensor(path);
            return *kept ? tensor_floats(*kept, &n) : NULL;
        }
        input_no++;
    }
    return NULL;
}

/* Reads a single-Conv model and its first data set; 1-D convs become 2-D
 * with height 1. Returns 0 on success. */
static int load_conv_case(const char *dir, conv_case *c)
{
    char path[512];
    size_t len;
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    uint8_t *buf = read_file(path, &len);
    if (!buf) return -1;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (!m || !m->graph || m->graph->n_node != 1 || strcmp(m->graph->node[0]->op_type, "Conv")) {
        if (m) onnx__model_proto__free_unpacked(m, NULL);
        return -1;
    }
    const Onnx__GraphProto *g = m->graph;
    const Onnx__NodeProto *node = g->node[0];
    Onnx__TensorProto *xt = NULL, *wt = NULL, *bt = NULL;
    c->x = conv_operand(g, dir, node->input[0], &xt);
    c->w = conv_operand(g, dir, node->input[1], &wt);
    if (node->n_input > 2 && node->input[2][0]) c->b = conv_operand(g, dir, node->input[2], &bt);

    /* shapes: the data set's x, and the weight from wherever it came from */
    snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
    Onnx__TensorProto *x0 = load_tensor(path);
    const Onnx__TensorProto *wdesc = wt;
    for (size_t i = 0; !wdesc && i < g->n_initializer; i++)
        if (!strcmp(g->initializer[i]->name, node->input[1])) wdesc = g->initializer[i];
    int ok = c->x && c->w && x0 && wdesc && x0->n_dims == wdesc->n_dims &&
             (x0->n_dims == 3 || x0->n_dims == 4);
    if (ok) {
        int two_d = x0->n_dims == 4;
        ww_conv2d_shape *s = &c->s;
        s->n = (int)x0->dims[0];
        s->c_in = (int)x0->dims[1];
        s->h_in = two_d ? (int)x0->dims[2] : 1;
        s->w_in = (int)x0->dims[two_d ? 3 : 2];
        s->c_out = (int)wdesc->dims[0];
        s->k_h = two_d ? (int)wdesc->dims[2] : 1;
        s->k_w = (int)wdesc->dims[two_d ? 3 : 2];
        int strides[2] = {1, 1}, dils[2] = {1, 1}, pads[4] = {0, 0, 0, 0};
        int nd = two_d ? 2 : 1;
        const Onnx__AttributeProto *a;
        if ((a = attr(node, "strides")))
            for (int i = 0; i < nd; i++) strides[2 - nd + i] = (int)a->ints[i];
        if ((a = attr(node, "dilations")))
            for (int i = 0; i < nd; i++) dils[2 - nd + i] = (int)a->ints[i];
        if ((a = attr(node, "pads")))
            for (int i = 0; i < nd; i++) {
                pads[2 - nd + i] = (int)a->ints[i];
                pads[4 - nd + i] = (int)a->ints[nd + i];
            }
        s->groups = (a = attr(node, "group")) ? (int)a->i : 1;
        int ins[2] = {s->h_in, s->w_in}, ks[2] = {s->k_h, s->k_w};
        if ((a = attr(node, "auto_pad")) && a->s.len > 4 && !memcmp(a->s.data, "SAME", 4)) {
            int lower = a->s.len == 10 && !memcmp(a->s.data, "SAME_LOWER", 10);
            for (int i = 0; i < 2; i++) {
                int out = (ins[i] + strides[i] - 1) / strides[i];
                int total = (out - 1) * strides[i] + (ks[i] - 1) * dils[i] + 1 - ins[i];
                if (total < 0) total = 0;
                pads[i] = lower ? total - total / 2 : total / 2;
                pads[2 + i] = total - pads[i];
            }
        }
        s->stride_h = strides[0], s->stride_w = strides[1];
        s->dil_h = dils[0], s->dil_w = dils[1];
        s->pad_top = pads[0], s->pad_left = pads[1];
        s->h_out = out_dim(s->h_in, pads[0], pads[2], s->k_h, strides[0], dils[0]);
        s->w_out = out_dim(s->w_in, pads[1], pads[3], s->k_w, strides[1], dils[1]);
        snprintf(path, sizeof path, "%s/test_data_set_0/output_0.pb", dir);
        Onnx__TensorProto *yt = load_tensor(path);
        c->expected = yt ? tensor_floats(yt, &c->n_expected) : NULL;
        ok = c->expected && c->n_expected == y_count(s);
        if (yt) onnx__tensor_proto__free_unpacked(yt, NULL);
    }
    if (x0) onnx__tensor_proto__free_unpacked(x0, NULL);
    if (xt) onnx__tensor_proto__free_unpacked(xt, NULL);
    if (wt) onnx__tensor_proto__free_unpacked(wt, NULL);
    if (bt) onnx__tensor_proto__free_unpacked(bt, NULL);
    onnx__model_proto__free_unpacked(m, NULL);
    return ok ? 0 : -1;
}

static void free_conv_case(conv_case *c)
{
    free(c->x), free(c->w), free(c->b), free(c->expected);
}

static const char *const onnx_cases[] = {
    "node/test_basic_conv_with_padding",
    "node/test_basic_conv_without_padding",
    "node/test_conv_with_autopad_same",
    "node/test_conv_with_strides_and_asymmetric_padding",
    "node/test_conv_with_strides_no_padding",
    "node/test_conv_with_strides_padding",
    "pytorch-converted/test_Conv1d",
    "pytorch-converted/test_Conv1d_dilated",
    "pytorch-converted/test_Conv1d_groups",
    "pytorch-converted/test_Conv1d_pad1",
    "pytorch-converted/test_Conv1d_pad1size1",
    "pytorch-converted/test_Conv1d_pad2",
    "pytorch-converted/test_Conv1d_pad2size1",
    "pytorch-converted/test_Conv1d_stride",
    "pytorch-converted/test_Conv2d",
    "pytorch-converted/test_Conv2d_depthwise",
    "pytorch-converted/test_Conv2d_depthwise_padded",
    "pytorch-converted/test_Conv2d_depthwise_strided",
    "pytorch-converted/test_Conv2d_depthwise_with_multiplier",
    "pytorch-converted/test_Conv2d_dilated",
    "pytorch-converted/test_Conv2d_groups",
    "pytorch-converted/test_Conv2d_groups_thnn",
    "pytorch-converted/test_Conv2d_no_bias",
    "pytorch-converted/test_Conv2d_padding",
    "pytorch-converted/test_Conv2d_strided",
};

#define ONNX_DATA "/usr/share/libonnx-testdata/data/"

/* ONNX backend tests compare with rtol 1e-3; atol 1e-5 allows for outputs
 * near zero. */
static int close_to(float got, float want)
{
    return fabsf(got - want) <= 1e-5f + 1e-3f * fabsf(want);
}

static void check_onnx_case(const conv_case *c, const char *name, const char *what, const float *y)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < c->n_expected; i++)
        if (!close_to(y[i], c->expected[i]) && !bad++) first = i;
    CHECK_MSG(!bad, "%s (%s): %zu of %zu outputs differ, first y[%zu] = %.7g, expected %.7g", name,
              what, bad, c->n_expected, first, y[first], c->expected[first]);
}

WW_TEST(onnx_conv_test_data_reference_and_every_isa)
{
    for (size_t i = 0; i < sizeof onnx_cases / sizeof onnx_cases[0]; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, ONNX_DATA "%s", onnx_cases[i]);
        conv_case c;
        int rc = load_conv_case(dir, &c);
        CHECK_MSG(rc == 0, "%s: could not load the case (is libonnx-testdata installed?)", dir);
        if (rc) {
            free_conv_case(&c);
            continue;
        }
        ww_activation none = {WW_ACT_NONE, 0, 0};
        float *y = malloc(c.n_expected * sizeof *y);
        ww_conv2d_f32_reference(&c.s, c.x, c.w, c.b, NULL, none, y);
        check_onnx_case(&c, onnx_cases[i], "reference", y);

        float *packed = malloc((ww_conv2d_f32_packed_size(&c.s) + 1) * sizeof *packed);
        size_t ns = ww_conv2d_f32_scratch_size(&c.s);
        float *scratch = ns ? malloc(ns * sizeof *scratch) : NULL;
        for (int isa = 0; isa < WW_ISA_COUNT; isa++) {
            if (!ww_isa_supported((ww_isa)isa) || ww_isa_set((ww_isa)isa, NULL) != WW_OK) continue;
            ww_conv2d_f32_pack(&c.s, c.w, packed);
            ww_conv2d_f32(&c.s, c.x, packed, c.b, NULL, none, y, scratch);
            check_onnx_case(&c, onnx_cases[i], ww_isa_name((ww_isa)isa), y);
        }
        ww_isa_set(ww_isa_best(), NULL);
        free(packed), free(scratch), free(y);
        free_conv_case(&c);
    }
}

/* The hand-checkable case from ONNX's Conv documentation, so the reference
 * is pinned even without the test data package. */
WW_TEST(onnx_documentation_example)
{
    float x[25], w[9], y[25];
    for (int i = 0; i < 25; i++) x[i] = (float)i;
    for (int i = 0; i < 9; i++) w[i] = 1.0f;
    ww_conv2d_shape s = {1, 1, 5, 5, 1, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    ww_activation none = {WW_ACT_NONE, 0, 0};
    ww_conv2d_f32_reference(&s, x, w, NULL, NULL, none, y);
    static const float want[25] = {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                                   117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84};
    for (int i = 0; i < 25; i++) CHECK_NEAR(y[i], want[i], 0);
}
