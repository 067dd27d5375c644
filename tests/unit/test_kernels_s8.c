/* The int8 kernels: every ISA this CPU runs gives the scalar reference's bytes
 * (memcmp) on random shapes, strides, pads, dilations, groups, zero points and
 * scales, saturating at both ends; the scalar reference itself is within 1 LSB
 * of the same computation done in double precision with round half to even.
 * WW_EXPECT_ISA=name (set by scripts/test-arm.sh) also checks which conv kernel
 * the dispatch picks on this CPU. */
#include "tests/unit/wwtest.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/npy.h"
#include "nn/cpu.h"
#include "nn/kernels/conv2d_s8.h"
#include "nn/kernels/conv2d_s8_internal.h"
#include "nn/kernels/ops_s8.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dull) >> 32);
}
static int rint_in(int lo, int hi)
{
    return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}
static float rlog(float lo, float hi) /* log-uniform */
{
    double t = rnd() / 4294967296.0;
    return (float)exp(log(lo) + t * (log(hi) - log(lo)));
}
static ww_qparam rq(float slo, float shi)
{
    ww_qparam q;
    q.type = rnd() & 1 ? WW_QTYPE_S8 : WW_QTYPE_U8;
    q.scale = rlog(slo, shi);
    int r = rint_in(0, 9); /* extreme zero points often */
    int lo = ww_qtype_min(q.type), hi = ww_qtype_max(q.type);
    q.zp = r == 0 ? lo : r == 1 ? hi : rint_in(lo, hi);
    return q;
}
static void fill_q(void *p, ww_qtype t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ww_qstore(p, t, (long)i, rint_in(ww_qtype_min(t), ww_qtype_max(t)));
}

/* ISAs other than scalar that this CPU runs. */
static int other_isas(ww_isa *out)
{
    int n = 0;
    for (int i = 1; i < WW_ISA_COUNT; i++)
        if (ww_isa_supported((ww_isa)i)) out[n++] = (ww_isa)i;
    return n;
}

typedef struct conv_case {
    ww_conv2d_s8_params p;
    int8_t *w;
    int32_t *bias;
    float *ws;
    uint8_t *x, *r;
    size_t nx, ny, nw;
} conv_case;

static void conv_free(conv_case *c)
{
    free(c->w);
    free(c->bias);
    free(c->ws);
    free(c->x);
    free(c->r);
}

static int out_size(int in, int k, int s, int pt, int d, int pb)
{
    int eff = (k - 1) * d + 1;
    return (in + pt + pb - eff) / s + 1;
}

/* A random conv of at most ~max_macs multiply-adds. */
static void conv_random(conv_case *c, long max_macs, float y_scale_lo, float y_scale_hi)
{
    memset(c, 0, sizeof *c);
    ww_conv2d_shape *s = &c->p.shape;
    for (;;) {
        int kind = rint_in(0, 5);
        s->groups = 1;
        /* 16 and 32: whole 16-byte chunks per tap (the 16x16 tile's 4x4 path) */
        int cg = kind == 0   ? 1
                 : kind == 5 ? rint_in(1, 2) * 16
                             : rint_in(1, 3) * 4 + (kind == 1 ? rint_in(1, 3) : 0);
        int cog = rint_in(1, 80);
        if (kind == 2) { /* depthwise */
            s->groups = rint_in(2, 24);
            cg = 1;
            cog = rint_in(1, 2);
        } else if (kind == 3 || (kind == 5 && rint_in(0, 1))) {
            s->groups = rint_in(2, 4);
            cog = rint_in(1, 20);
        }
        s->n = rint_in(1, 2);
        s->c_in = cg * s->groups;
        s->c_out = cog * s->groups;
        s->k_h = rint_in(1, 5);
        s->k_w = rint_in(1, 7);
        s->stride_h = rint_in(1, 3);
        s->stride_w = rint_in(1, 3);
        s->dil_h = rint_in(1, 2);
        s->dil_w = rint_in(1, 3);
        s->pad_top = rint_in(0, s->k_h);
        s->pad_left = rint_in(0, s->k_w);
        s->h_in = rint_in(1, 14);
        s->w_in = rint_in(1, 16);
        s->h_out = out_size(s->h_in, s->k_h, s->stride_h, s->pad_top, s->dil_h, rint_in(0, 2));
        s->w_out = out_size(s->w_in, s->k_w, s->stride_w, s->pad_left, s->dil_w, rint_in(0, 2));
        long macs = (long)s->n * s->h_out * s->w_out * s->c_out * cg * s->k_h * s->k_w;
        if (s->h_out >= 1 && s->w_out >= 1 && macs <= max_macs) break;
    }
    c->p.x = rq(0.005f, 0.1f);
    c->p.y = rq(y_scale_lo, y_scale_hi);
    c->p.relu = rint_in(0, 1);
    c->p.fuse_add = rint_in(0, 2) == 0;
    if (c->p.fuse_add) {
        c->p.mid = rq(y_scale_lo, y_scale_hi);
        c->p.r = rq(y_scale_lo, y_scale_hi);
        c->p.relu_after_add = rint_in(0, 1);
    }
    int cg = s->c_in / s->groups;
    c->nw = (size_t)s->c_out * cg * s->k_h * s->k_w;
    c->nx = (size_t)s->n * s->h_in * s->w_in * s->c_in;
    c->ny = (size_t)s->n * s->h_out * s->w_out * s->c_out;
    c->w = malloc(c->nw);
    c->ws = malloc(sizeof(float) * s->c_out);
    c->bias = malloc(sizeof(int32_t) * s->c_out);
    c->x = malloc(c->nx);
    c->r = malloc(c->ny);
    int wmode = rint_in(0, 3); /* 0: all extremes, the worst case for saturating products */
    for (size_t i = 0; i < c->nw; i++)
        c->w[i] = (int8_t)(wmode == 0 ? (rnd() & 1 ? 127 : -128) : rint_in(-128, 127));
    for (int o = 0; o < s->c_out; o++) {
        c->ws[o] = rlog(0.001f, 0.05f);
        c->bias[o] = rint_in(-20000, 20000);
    }
    fill_q(c->x, c->p.x.type, c->nx);
    if (wmode == 0) /* all inputs at the far end from the zero point too */
        for (size_t i = 0; i < c->nx; i++)
            ww_qstore(c->x, c->p.x.type, (long)i, c->p.x.type == WW_QTYPE_S8 ? -128 : 255);
    fill_q(c->r, c->p.r.type, c->ny);
    c->p.w_scale = c->ws;
}

/* Packs for isa, runs, returns the ISA whose kernel ran (-1 on a pack error). */
static int conv_run(const conv_case *c, ww_isa isa, uint8_t *y)
{
    size_t ps = ww_conv2d_s8_packed_size(&c->p, isa);
    size_t ss = ww_conv2d_s8_scratch_size(&c->p, isa);
    void *packed = malloc(ps), *scratch = malloc(ss ? ss : 1);
    ww_error err = {{0}};
    int rc = ww_conv2d_s8_pack(&c->p, isa, c->w, c->bias, packed, &err);
    int ran = -1;
    if (rc == WW_OK) {
        ww_conv2d_s8(packed, c->x, c->p.fuse_add ? c->r : NULL, y, scratch);
        ran = (int)ww_conv2d_s8_packed_isa(packed);
    } else {
        printf("#   pack failed: %s\n", err.msg);
    }
    free(packed);
    free(scratch);
    return ran;
}

static void describe(const conv_case *c)
{
    const ww_conv2d_shape *s = &c->p.shape;
    printf("#   n%d c%d->%d g%d %dx%d->%dx%d k%dx%d s%d,%d p%d,%d d%d,%d relu%d fuse%d x%s%d "
           "y%s%d\n",
           s->n, s->c_in, s->c_out, s->groups, s->h_in, s->w_in, s->h_out, s->w_out, s->k_h, s->k_w,
           s->stride_h, s->stride_w, s->pad_top, s->pad_left, s->dil_h, s->dil_w, c->p.relu,
           c->p.fuse_add, c->p.x.type ? "s" : "u", c->p.x.zp, c->p.y.type ? "s" : "u", c->p.y.zp);
}

/* Every tile shape of every ISA this CPU runs, then the one the pack step
 * picks, against ref (the scalar reference's output of c). */
static void conv_every_tile_vs(const conv_case *c, const uint8_t *ref, const char *what, int t)
{
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    uint8_t *got = malloc(c->ny);
    for (int tile = 0; tile <= WW_CONV2D_S8_MAX_TILES; tile++)
        for (int k = 0; k < nisa; k++) {
            ww_conv2d_s8_tile_override = tile < WW_CONV2D_S8_MAX_TILES ? tile : -1;
            memset(got, 0xa5, c->ny);
            int ran = conv_run(c, isas[k], got);
            ww_conv2d_s8_tile_override = -1;
            CHECK(ran >= 0);
            if (memcmp(ref, got, c->ny)) {
                size_t i = 0;
                while (ref[i] == got[i]) i++;
                CHECK_MSG(0, "%s %d: %s (kernel %s, tile %d) differs from scalar at %zu: %d vs %d",
                          what, t, ww_isa_name(isas[k]), ww_isa_name((ww_isa)ran), tile, i, got[i],
                          ref[i]);
                describe(c);
            }
        }
    free(got);
}

static void conv_isas_vs_scalar(int cases, long max_macs, float slo, float shi, int *saw_lo,
                                int *saw_hi)
{
    for (int t = 0; t < cases; t++) {
        conv_case c;
        conv_random(&c, max_macs, slo, shi);
        uint8_t *ref = malloc(c.ny);
        REQUIRE(conv_run(&c, WW_ISA_SCALAR, ref) == WW_ISA_SCALAR);
        for (size_t i = 0; i < c.ny; i++) {
            int32_t v = ww_qload(ref, c.p.y.type, (long)i);
            if (v == ww_qtype_min(c.p.y.type)) (*saw_lo)++;
            if (v == ww_qtype_max(c.p.y.type)) (*saw_hi)++;
        }
        conv_every_tile_vs(&c, ref, "case", t);
        free(ref);
        conv_free(&c);
        if (ww_test_failed()) return;
    }
}

WW_TEST(conv2d_s8_every_isa_matches_scalar_random)
{
    int lo = 0, hi = 0;
    conv_isas_vs_scalar(120, 400000, 0.02f, 2.0f, &lo, &hi);
}

WW_TEST(conv2d_s8_every_isa_matches_scalar_saturating)
{
    /* tiny output scales push nearly everything to both ends of the range */
    int lo = 0, hi = 0;
    conv_isas_vs_scalar(40, 200000, 1e-6f, 1e-4f, &lo, &hi);
    CHECK_MSG(lo > 1000 && hi > 1000, "saturated low %d, high %d", lo, hi);
    /* huge ones round everything onto the zero point */
    conv_isas_vs_scalar(20, 200000, 1e3f, 1e5f, &lo, &hi);
}

/* The scalar reference against the math done in double, rounding half to even. */
WW_TEST(conv2d_s8_scalar_within_1lsb_of_double)
{
    long total = 0, exact = 0;
    for (int t = 0; t < 60; t++) {
        conv_case c;
        conv_random(&c, 200000, 0.02f, 2.0f);
        const ww_conv2d_s8_params *p = &c.p;
        const ww_conv2d_shape *s = &p->shape;
        uint8_t *y = malloc(c.ny);
        REQUIRE(conv_run(&c, WW_ISA_SCALAR, y) == WW_ISA_SCALAR);
        int cg = s->c_in / s->groups, cog = s->c_out / s->groups;
        size_t yi = 0;
        for (int n = 0; n < s->n; n++)
            for (int oh = 0; oh < s->h_out; oh++)
                for (int ow = 0; ow < s->w_out; ow++)
                    for (int oc = 0; oc < s->c_out; oc++, yi++) {
                        int g = oc / cog;
                        double real = (double)c.bias[oc] * p->x.scale * c.ws[oc];
                        for (int kh = 0; kh < s->k_h; kh++)
                            for (int kw = 0; kw < s->k_w; kw++) {
                                int ih = oh * s->stride_h - s->pad_top + kh * s->dil_h;
                                int iw = ow * s->stride_w - s->pad_left + kw * s->dil_w;
                                if (ih < 0 || ih >= s->h_in || iw < 0 || iw >= s->w_in) continue;
                                for (int ci = 0; ci < cg; ci++) {
                                    long xi = (((long)n * s->h_in + ih) * s->w_in + iw) * s->c_in +
                                              g * cg + ci;
                                    double xv = (ww_qload(c.x, p->x.type, xi) - p->x.zp) *
                                                (double)p->x.scale;
                                    double wv = c.w[((oc * cg + ci) * s->k_h + kh) * s->k_w + kw] *
                                                (double)c.ws[oc];
                                    real += xv * wv;
                                }
                            }
                        const ww_qparam *qo = p->fuse_add ? &p->mid : &p->y;
                        double lo = ww_requant_lo(qo, p->relu), hi = ww_requant_hi(qo);
                        double f = real / qo->scale, q = nearbyint(f) + qo->zp;
                        /* when the conv output sits on a .5 boundary the int path
                         * may round its intermediate the other way: try both */
                        double q2 =
                            fabs(f - floor(f) - 0.5) < 1e-3 ? q + (q > f + qo->zp ? -1 : 1) : q;
                        q = q < lo ? lo : q > hi ? hi : q;
                        q2 = q2 < lo ? lo : q2 > hi ? hi : q2;
                        if (p->fuse_add) {
                            double b =
                                (ww_qload(c.r, p->r.type, (long)yi) - p->r.zp) * (double)p->r.scale;
                            lo = ww_requant_lo(&p->y, p->relu_after_add);
                            hi = ww_requant_hi(&p->y);
                            double a = (q - p->mid.zp) * (double)p->mid.scale;
                            q = nearbyint((a + b) / p->y.scale) + p->y.zp;
                            q = q < lo ? lo : q > hi ? hi : q;
                            a = (q2 - p->mid.zp) * (double)p->mid.scale;
                            q2 = nearbyint((a + b) / p->y.scale) + p->y.zp;
                            q2 = q2 < lo ? lo : q2 > hi ? hi : q2;
                        }
                        int32_t got = ww_qload(y, p->y.type, (long)yi);
                        total++;
                        exact += got == (int32_t)q;
                        if (fabs(got - q) > 1 && fabs(got - q2) > 1) {
                            CHECK_MSG(0, "case %d output %zu: %d vs double %g", t, yi, got, q);
                            describe(&c);
                            t = 1000;
                            n = s->n;
                            break;
                        }
                    }
        free(y);
        conv_free(&c);
    }
    /* off-by-one only where float rounding sits on a .5 boundary: rare */
    CHECK_MSG(exact >= total - total / 100, "%ld of %ld exact", exact, total);
}

/* Packing the same conv with and without the fused join gives the bytes of
 * conv -> (intermediate tensor) -> add_s8. */
WW_TEST(conv2d_s8_fused_add_equals_conv_then_add)
{
    ww_isa isas[WW_ISA_COUNT + 1];
    int nisa = other_isas(isas + 1) + 1;
    isas[0] = WW_ISA_SCALAR;
    for (int t = 0; t < 30; t++) {
        conv_case c;
        conv_random(&c, 200000, 0.02f, 2.0f);
        c.p.fuse_add = 1;
        c.p.mid = rq(0.02f, 2.0f);
        c.p.r = rq(0.02f, 2.0f);
        c.p.relu_after_add = rint_in(0, 1);
        conv_case plain = c;
        plain.p.fuse_add = 0;
        plain.p.y = c.p.mid;
        uint8_t *mid = malloc(c.ny), *want = malloc(c.ny), *got = malloc(c.ny);
        REQUIRE(conv_run(&plain, WW_ISA_SCALAR, mid) == WW_ISA_SCALAR);
        ww_add_s8_scalar(mid, &c.p.mid, c.r, &c.p.r, want, &c.p.y, c.p.relu_after_add, c.ny);
        for (int k = 0; k < nisa; k++) {
            CHECK(conv_run(&c, isas[k], got) >= 0);
            CHECK_MSG(!memcmp(want, got, c.ny), "case %d %s: fused differs from conv + add", t,
                      ww_isa_name(isas[k]));
        }
        free(mid);
        free(want);
        free(got);
        conv_free(&c);
        if (ww_test_failed()) return;
    }
}

/* A conv from a table row {c_in, c_out, h_in, w_in, k, stride, pad, fuse,
 * relu, groups (0: 1)} with "same" padding on both sides, random weights and
 * data of the given quantization. */
static void conv_from_row(conv_case *c, const int *L, ww_qparam x, ww_qparam y, ww_qparam mid,
                          ww_qparam r)
{
    memset(c, 0, sizeof *c);
    ww_conv2d_shape *s = &c->p.shape;
    *s = (ww_conv2d_shape){.n = 1,
                           .c_in = L[0],
                           .c_out = L[1],
                           .h_in = L[2],
                           .w_in = L[3],
                           .k_h = L[4],
                           .k_w = L[4],
                           .stride_h = L[5],
                           .stride_w = L[5],
                           .pad_top = L[6],
                           .pad_left = L[6],
                           .dil_h = 1,
                           .dil_w = 1,
                           .groups = L[9] ? L[9] : 1};
    s->h_out = out_size(s->h_in, s->k_h, s->stride_h, s->pad_top, 1, s->pad_top);
    s->w_out = out_size(s->w_in, s->k_w, s->stride_w, s->pad_left, 1, s->pad_left);
    c->p.x = x;
    c->p.y = y;
    c->p.relu = L[8];
    c->p.fuse_add = L[7];
    c->p.mid = mid;
    c->p.r = r;
    c->p.relu_after_add = 1;
    c->nw = (size_t)s->c_out * (s->c_in / s->groups) * s->k_h * s->k_w;
    c->nx = (size_t)s->h_in * s->w_in * s->c_in;
    c->ny = (size_t)s->h_out * s->w_out * s->c_out;
    c->w = malloc(c->nw);
    c->ws = malloc(sizeof(float) * s->c_out);
    c->bias = malloc(sizeof(int32_t) * s->c_out);
    c->x = malloc(c->nx);
    c->r = malloc(c->ny);
    for (size_t i = 0; i < c->nw; i++) c->w[i] = (int8_t)rint_in(-128, 127);
    for (int o = 0; o < s->c_out; o++) {
        c->ws[o] = 0.002f / sqrtf((float)(s->c_in * s->k_h * s->k_w)) * rlog(0.5f, 2.0f);
        c->bias[o] = rint_in(-2000, 2000);
    }
    fill_q(c->x, x.type, c->nx);
    fill_q(c->r, r.type, c->ny);
    c->p.w_scale = c->ws;
}

/* The shapes of the ResNet18 this runs (cut to a smaller input where the
 * scalar reference would be slow), every ISA against scalar. */
WW_TEST(conv2d_s8_resnet_layer_shapes)
{
    static const int L[][10] = {
        /* c_in c_out h_in w_in k stride pad fuse relu groups (0: 1) */
        {1, 64, 16, 26, 7, 2, 3, 0, 1},
        {64, 64, 8, 13, 3, 1, 1, 0, 1},
        {64, 64, 8, 13, 3, 1, 1, 1, 1},
        {64, 128, 8, 13, 3, 2, 1, 0, 1},
        {64, 128, 8, 13, 1, 2, 0, 0, 0},
        {128, 256, 4, 7, 3, 2, 1, 0, 1},
        {256, 512, 4, 7, 3, 2, 1, 0, 1},
        {512, 512, 2, 4, 3, 1, 1, 1, 1},
        {128, 128, 4, 7, 3, 1, 1, 1, 1},
        /* the first stage of six and eight width-16 runs merged (groups of 16) */
        {96, 96, 16, 38, 3, 1, 1, 1, 1, 6},
        {128, 128, 8, 13, 3, 1, 1, 0, 1, 8},
    };
    for (size_t t = 0; t < sizeof L / sizeof L[0]; t++) {
        conv_case c;
        conv_from_row(&c, L[t], (ww_qparam){0.05f, t ? 0 : 131, WW_QTYPE_U8},
                      (ww_qparam){0.08f, L[t][7] ? 90 : 0, WW_QTYPE_U8},
                      (ww_qparam){0.07f, 100, WW_QTYPE_U8}, (ww_qparam){0.06f, 0, WW_QTYPE_U8});
        uint8_t *ref = malloc(c.ny);
        REQUIRE(conv_run(&c, WW_ISA_SCALAR, ref) == WW_ISA_SCALAR);
        int distinct = 0, seen[256] = {0};
        for (size_t i = 0; i < c.ny; i++) distinct += !seen[ref[i]]++;
        CHECK_MSG(distinct > 20, "layer %zu: only %d distinct outputs", t, distinct);
        conv_every_tile_vs(&c, ref, "layer", (int)t);
        free(ref);
        conv_free(&c);
    }
}

/* The edges of the channel and pixel tiles, forced through every tile of
 * every ISA: channel counts that are not a multiple of the 16-channel blocks
 * (a partial vector, a block whose second vector is empty, fewer than 8),
 * groups of 16, the 1x1 stride-2 convs that read x in place, the 7x7
 * stride-2 stem, pixel counts that leave one or an odd number in the last
 * tile, the fused residual join, and int8 as well as uint8 tensors. */
WW_TEST(conv2d_s8_tile_edges_every_isa)
{
    static const int L[][10] = {
        /* c_in c_out h_in w_in k stride pad fuse relu groups (0: 1) */
        {16, 20, 5, 7, 3, 1, 1, 1, 0},    /* 16 + 4 channels, 35 pixels, fused */
        {16, 20, 5, 7, 3, 1, 1, 0, 1},    /* the same unfused */
        {32, 12, 3, 3, 3, 1, 1, 1, 0},    /* 12 channels: 8 + 4, 9 pixels */
        {8, 3, 4, 5, 3, 1, 1, 1, 1},      /* 3 channels, fused */
        {8, 7, 1, 1, 1, 1, 0, 0, 1},      /* one pixel */
        {32, 32, 7, 9, 3, 1, 1, 1, 1, 2}, /* two groups of 16, fused */
        {48, 72, 6, 7, 3, 1, 1, 0, 0, 3}, /* groups of 16 in, 24 out */
        {32, 40, 9, 13, 1, 2, 0, 0, 0},   /* 1x1 stride 2 (int8 input: copied) */
        {64, 96, 7, 7, 1, 2, 0, 1, 0, 2}, /* grouped, fused (uint8 input: read in place) */
        {1, 24, 13, 23, 7, 2, 3, 0, 1},   /* the stem: 7x7 stride 2 on one channel */
        {1, 16, 9, 9, 7, 2, 3, 1, 0},     /* the stem shape, fused */
        {24, 40, 4, 4, 3, 2, 1, 1, 1},    /* 3x3 stride 2, 4 pixels */
    };
    for (size_t t = 0; t < sizeof L / sizeof L[0]; t++) {
        /* uint8 inputs in even rows, int8 in odd ones; zero points inside the range */
        ww_qtype ty = t % 2 ? WW_QTYPE_S8 : WW_QTYPE_U8, oy = t % 3 ? WW_QTYPE_U8 : WW_QTYPE_S8;
        ww_qparam x = {0.05f, t % 2 ? -7 : 131, ty}, y = {0.08f, oy ? -20 : 90, oy};
        ww_qparam mid = {0.07f, t % 2 ? 10 : 100, oy}, r = {0.06f, t % 2 ? 3 : 0, ty};
        conv_case c;
        conv_from_row(&c, L[t], x, y, mid, r);
        uint8_t *ref = malloc(c.ny);
        REQUIRE(conv_run(&c, WW_ISA_SCALAR, ref) == WW_ISA_SCALAR);
        conv_every_tile_vs(&c, ref, "edge case", (int)t);
        free(ref);
        conv_free(&c);
        if (ww_test_failed()) return;
    }
}

WW_TEST(conv2d_s8_rejects_bad_parameters)
{
    conv_case c;
    conv_random(&c, 1000, 0.02f, 2.0f);
    void *packed = malloc(ww_conv2d_s8_packed_size(&c.p, WW_ISA_SCALAR) + 4096);
    ww_error err = {{0}};
    ww_conv2d_s8_params p = c.p;
    p.shape.groups = 7 * c.p.shape.c_in + 1;
    CHECK_EQ_INT(ww_conv2d_s8_pack(&p, WW_ISA_SCALAR, c.w, c.bias, packed, &err), WW_EINVAL);
    CHECK_MSG(strstr(err.msg, "groups"), "%s", err.msg);
    p = c.p;
    p.x.zp = 300;
    CHECK_EQ_INT(ww_conv2d_s8_pack(&p, WW_ISA_SCALAR, c.w, c.bias, packed, &err), WW_EINVAL);
    CHECK_MSG(strstr(err.msg, "zero point 300"), "%s", err.msg);
    p = c.p;
    p.y.scale = 0.0f;
    CHECK_EQ_INT(ww_conv2d_s8_pack(&p, WW_ISA_SCALAR, c.w, c.bias, packed, &err), WW_EINVAL);
    CHECK_MSG(strstr(err.msg, "output: scale"), "%s", err.msg);
    p = c.p;
    c.ws[0] = NAN;
    CHECK_EQ_INT(ww_conv2d_s8_pack(&p, WW_ISA_SCALAR, c.w, c.bias, packed, &err), WW_EINVAL);
    CHECK_MSG(strstr(err.msg, "weight scale of output channel 0"), "%s", err.msg);
    p.shape.stride_h = 0;
    CHECK_EQ_INT(ww_conv2d_s8_pack(&p, WW_ISA_SCALAR, c.w, c.bias, packed, &err), WW_EINVAL);
    /* sizes of a nonsensical shape are small and harmless; pack says why */
    p = c.p;
    p.shape.groups = 0;
    CHECK(ww_conv2d_s8_packed_size(&p, ww_isa_best()) <= 4096);
    CHECK_EQ_INT(ww_conv2d_s8_scratch_size(&p, ww_isa_best()), 0);
    CHECK_EQ_INT(ww_conv2d_s8_pack(&p, ww_isa_best(), c.w, c.bias, packed, &err), WW_EINVAL);
    CHECK_MSG(strstr(err.msg, "groups 0"), "%s", err.msg);
    free(packed);
    conv_free(&c);
}

WW_TEST(add_s8_every_isa_matches_scalar_and_double)
{
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    for (int t = 0; t < 200; t++) {
        ww_qparam qa = rq(0.01f, 1.0f), qb = rq(0.01f, 1.0f);
        ww_qparam qc = t % 5 == 0 ? rq(1e-4f, 1e-3f) : rq(0.01f, 1.0f);
        int relu = rint_in(0, 1);
        size_t n = (size_t)rint_in(1, 300);
        uint8_t a[300], b[300], ref[300], got[300];
        fill_q(a, qa.type, n);
        fill_q(b, qb.type, n);
        ww_add_s8_scalar(a, &qa, b, &qb, ref, &qc, relu, n);
        for (size_t i = 0; i < n; i++) {
            double f = ((ww_qload(a, qa.type, (long)i) - qa.zp) * (double)qa.scale +
                        (ww_qload(b, qb.type, (long)i) - qb.zp) * (double)qb.scale) /
                       qc.scale;
            double q = nearbyint(f) + qc.zp, lo = ww_requant_lo(&qc, relu),
                   hi = ww_qtype_max(qc.type);
            q = q < lo ? lo : q > hi ? hi : q;
            CHECK_MSG(fabs(ww_qload(ref, qc.type, (long)i) - q) <= 1, "add %zu: %d vs %g", i,
                      ww_qload(ref, qc.type, (long)i), q);
        }
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8 ops = ww_ops_s8_get(isas[k]);
            memset(got, 0x5a, sizeof got);
            ops.add(a, &qa, b, &qb, got, &qc, relu, n);
            CHECK_MSG(!memcmp(ref, got, n), "add case %d: %s (%s) differs", t, ww_isa_name(isas[k]),
                      ww_isa_name(ops.isa[0]));
        }
        if (ww_test_failed()) return;
    }
}

WW_TEST(maxpool_s8_every_isa_matches_scalar_and_definition)
{
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    /* channel counts at the vector edges of the SIMD variants (16, 32, 64) */
    static const int edge_c[] = {15, 16, 17, 31, 32, 33, 47, 63, 64, 65, 96, 97};
    for (int t = 0; t < 150; t++) {
        ww_pool_shape s = {.n = rint_in(1, 2),
                           .c = t % 3 ? rint_in(1, 140) : edge_c[rint_in(0, 11)],
                           .h_in = rint_in(1, 12),
                           .w_in = rint_in(1, 12),
                           .k_h = rint_in(1, 4),
                           .k_w = rint_in(1, 4),
                           .stride_h = rint_in(1, 3),
                           .stride_w = rint_in(1, 3),
                           .dil_h = rint_in(1, 2),
                           .dil_w = rint_in(1, 2)};
        /* pads up to the dilated window less one, bottom/right drawn apart
         * from top/left, and sometimes one more output (ceil_mode): windows
         * partly or wholly in the padding */
        int eff_h = (s.k_h - 1) * s.dil_h + 1, eff_w = (s.k_w - 1) * s.dil_w + 1;
        s.pad_top = rint_in(0, eff_h - 1);
        s.pad_left = rint_in(0, eff_w - 1);
        int pad_bottom = rint_in(0, eff_h - 1), pad_right = rint_in(0, eff_w - 1);
        if (s.h_in + s.pad_top + pad_bottom < eff_h || s.w_in + s.pad_left + pad_right < eff_w)
            continue;
        s.h_out =
            out_size(s.h_in, s.k_h, s.stride_h, s.pad_top, s.dil_h, pad_bottom) + rint_in(0, 1);
        s.w_out =
            out_size(s.w_in, s.k_w, s.stride_w, s.pad_left, s.dil_w, pad_right) + rint_in(0, 1);
        CHECK_EQ_INT(ww_pool_shape_check(&s, NULL), WW_OK);
        ww_qtype ty = rnd() & 1 ? WW_QTYPE_S8 : WW_QTYPE_U8;
        size_t nx = (size_t)s.n * s.h_in * s.w_in * s.c, ny = (size_t)s.n * s.h_out * s.w_out * s.c;
        uint8_t *x = malloc(nx), *ref = malloc(ny), *got = malloc(ny);
        fill_q(x, ty, nx);
        ww_maxpool_s8_scalar(&s, ty, x, ref);
        /* spot check the definition: the max over the in-bounds window */
        for (int q = 0; q < 20; q++) {
            int b = rint_in(0, s.n - 1), oh = rint_in(0, s.h_out - 1), ow = rint_in(0, s.w_out - 1),
                ch = rint_in(0, s.c - 1);
            int m = -1000;
            for (int kh = 0; kh < s.k_h; kh++)
                for (int kw = 0; kw < s.k_w; kw++) {
                    int ih = oh * s.stride_h - s.pad_top + kh * s.dil_h;
                    int iw = ow * s.stride_w - s.pad_left + kw * s.dil_w;
                    if (ih < 0 || iw < 0 || ih >= s.h_in || iw >= s.w_in) continue;
                    int v = ww_qload(x, ty, (((long)b * s.h_in + ih) * s.w_in + iw) * s.c + ch);
                    m = v > m ? v : m;
                }
            if (m == -1000) m = ww_qtype_min(ty);
            CHECK_EQ_INT(ww_qload(ref, ty, (((long)b * s.h_out + oh) * s.w_out + ow) * s.c + ch),
                         m);
        }
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8 ops = ww_ops_s8_get(isas[k]);
            memset(got, 0x5a, ny);
            ops.maxpool(&s, ty, x, got);
            CHECK_MSG(!memcmp(ref, got, ny), "maxpool case %d (c %d): %s (%s) differs", t, s.c,
                      ww_isa_name(isas[k]), ww_isa_name(ops.isa[1]));
        }
        free(x);
        free(ref);
        free(got);
        if (ww_test_failed()) return;
    }
}

WW_TEST(gavgpool_s8_matches_double)
{
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    for (int t = 0; t < 40; t++) {
        int n = rint_in(1, 2), hw = rint_in(1, 60), c = rint_in(1, 70);
        ww_qparam qx = rq(0.01f, 1.0f), qy = t % 4 == 0 ? rq(1e-4f, 1e-3f) : rq(0.01f, 1.0f);
        size_t nx = (size_t)n * hw * c;
        uint8_t *x = malloc(nx), *ref = malloc((size_t)n * c), *got = malloc((size_t)n * c);
        fill_q(x, qx.type, nx);
        ww_gavgpool_s8_scalar(n, hw, c, x, &qx, ref, &qy);
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++) {
                double sum = 0;
                for (int p = 0; p < hw; p++)
                    sum += (ww_qload(x, qx.type, ((long)b * hw + p) * c + ch) - qx.zp) *
                           (double)qx.scale;
                double q = nearbyint(sum / hw / qy.scale) + qy.zp;
                q = q < ww_qtype_min(qy.type)   ? ww_qtype_min(qy.type)
                    : q > ww_qtype_max(qy.type) ? ww_qtype_max(qy.type)
                                                : q;
                CHECK(fabs(ww_qload(ref, qy.type, (long)b * c + ch) - q) <= 1);
            }
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8 ops = ww_ops_s8_get(isas[k]);
            memset(got, 0x5a, (size_t)n * c);
            ops.gavgpool(n, hw, c, x, &qx, got, &qy);
            CHECK_MSG(!memcmp(ref, got, (size_t)n * c), "gavgpool case %d: %s (%s) differs", t,
                      ww_isa_name(isas[k]), ww_isa_name(ops.isa[2]));
        }
        free(x);
        free(ref);
        free(got);
        if (ww_test_failed()) return;
    }
}

WW_TEST(gemm_s8_all_outputs_match_double)
{
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    for (int t = 0; t < 30; t++) {
        ww_gemm_s8_params p = {
            .rows = rint_in(1, 3), .k = rint_in(1, 600), .n_out = rint_in(1, 12)};
        p.x = rq(0.01f, 0.5f);
        p.y = rq(0.01f, 2.0f);
        p.relu = rint_in(0, 1);
        p.out = (ww_gemm_s8_out)(t % 3);
        int8_t *w = malloc((size_t)p.k * p.n_out);
        float ws[12];
        int32_t bias[12];
        uint8_t *x = malloc((size_t)p.rows * p.k);
        for (long i = 0; i < (long)p.k * p.n_out; i++) w[i] = (int8_t)rint_in(-128, 127);
        for (int o = 0; o < p.n_out; o++)
            ws[o] = rlog(0.001f, 0.05f), bias[o] = rint_in(-9999, 9999);
        fill_q(x, p.x.type, (size_t)p.rows * p.k);
        p.w_scale = ws;
        void *packed = malloc(ww_gemm_s8_packed_size(&p));
        ww_error err;
        REQUIRE(ww_gemm_s8_pack(&p, w, bias, packed, &err) == WW_OK);
        size_t ny = (size_t)p.rows * p.n_out;
        char ref[36 * 4], got[36 * 4];
        ww_gemm_s8_scalar(packed, x, ref);
        for (int r = 0; r < p.rows; r++)
            for (int o = 0; o < p.n_out; o++) {
                int64_t acc = bias[o];
                for (int k = 0; k < p.k; k++)
                    acc += (int64_t)(ww_qload(x, p.x.type, (long)r * p.k + k) - p.x.zp) *
                           w[(long)o * p.k + k];
                long i = (long)r * p.n_out + o;
                double real = (double)acc * p.x.scale * ws[o];
                if (p.out == WW_GEMM_S8_OUT_I32) {
                    CHECK_EQ_INT(((int32_t *)ref)[i], acc);
                } else if (p.out == WW_GEMM_S8_OUT_FLOAT) {
                    CHECK_NEAR(((float *)ref)[i], real, 1e-5 * fabs(real) + 1e-30);
                } else {
                    double q = nearbyint(real / p.y.scale) + p.y.zp;
                    double lo = ww_requant_lo(&p.y, p.relu), hi = ww_qtype_max(p.y.type);
                    q = q < lo ? lo : q > hi ? hi : q;
                    CHECK(fabs(ww_qload(ref, p.y.type, i) - q) <= 1);
                }
            }
        size_t esz = p.out == WW_GEMM_S8_OUT_QUANT ? 1 : 4;
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8_get(isas[k]).gemm(packed, x, got);
            CHECK(!memcmp(ref, got, ny * esz));
        }
        free(w);
        free(x);
        free(packed);
        if (ww_test_failed()) return;
    }
    ww_gemm_s8_params bad = {.rows = 1, .k = 0, .n_out = 2};
    ww_error err;
    CHECK_EQ_INT(ww_gemm_s8_pack(&bad, NULL, NULL, NULL, &err), WW_EINVAL);
    /* a bias that bias + sum(x * w) could push out of int32 is refused (found
     * by fuzz_qdq: signed overflow in the accumulator) */
    float ws[2] = {0.01f, 0.01f};
    int8_t w2[2 * 3] = {1, 2, 3, 4, 5, 6};
    int32_t big[2] = {0, 2147479569};
    ww_gemm_s8_params g = {.rows = 1,
                           .k = 3,
                           .n_out = 2,
                           .x = {0.1f, 0, WW_QTYPE_U8},
                           .w_scale = ws,
                           .out = WW_GEMM_S8_OUT_I32};
    void *blob = malloc(ww_gemm_s8_packed_size(&g));
    CHECK_EQ_INT(ww_gemm_s8_pack(&g, w2, big, blob, &err), WW_EUNSUPPORTED);
    CHECK(strstr(err.msg, "bias 2147479569 of output 1") != NULL);
    big[1] = -1073741823; /* INT32_MIN / 2 + 1: fine */
    CHECK_EQ_INT(ww_gemm_s8_pack(&g, w2, big, blob, &err), WW_OK);
    free(blob);
}

WW_TEST(quantize_dequantize_round_half_even_and_saturate)
{
    ww_qparam u = {0.5f, 10, WW_QTYPE_U8}, s = {1.0f, 0, WW_QTYPE_S8};
    /* x/scale = 0.5, 1.5, 2.5, -0.5, -1.5 -> 0, 2, 2, -0, -2 (ties to even) */
    float xs[] = {0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 1e30f, -1e30f, NAN};
    uint8_t q[8];
    ww_quantize_s8_scalar(xs, 8, &u, q);
    uint8_t want_u[] = {10, 12, 12, 10, 8, 255, 0, 10};
    CHECK(!memcmp(q, want_u, 8));
    float xs2[] = {126.5f, 127.5f, -128.5f, -127.5f, 2.5f, -2.5f};
    int8_t q2[6];
    ww_quantize_s8_scalar(xs2, 6, &s, q2);
    int8_t want_s[] = {126, 127, -128, -128, 2, -2};
    CHECK(!memcmp(q2, want_s, 6));
    float back[8];
    ww_dequantize_s8_scalar(q, 8, &u, back);
    CHECK_NEAR(back[1], 1.0, 0);
    CHECK_NEAR(back[6], -5.0, 0);
}

/* Every ISA's quantize and dequantize against the scalar reference: lengths
 * 1-300 (every vector tail), exact ties anywhere (scales that are powers of two
 * make x / scale exact), values at and half a step around both saturating
 * ends, NaN, infinities, signed zeros, subnormals and values past int32. */
WW_TEST(quantize_dequantize_every_isa_matches_scalar)
{
    static const float special[] = {NAN,           -NAN,           INFINITY, -INFINITY, 0.0f,
                                    -0.0f,         1e-40f,         -1e-40f,  3e38f,     -3e38f,
                                    2147483648.0f, -2147483904.0f, 1e-30f,   -1e-30f};
    const int nspecial = (int)(sizeof special / sizeof special[0]);
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    long ties = 0;
    for (int t = 0; t < 400; t++) {
        ww_qparam qp = rq(0.001f, 1.0f);
        if (t % 3 == 0) qp.scale = ldexpf(1.0f, rint_in(-12, 3));
        size_t n = (size_t)rint_in(1, 300);
        float x[300], b1[300], b2[300];
        uint8_t codes[300], r1[300], r2[300];
        float lo = (float)(ww_qtype_min(qp.type) - qp.zp),
              hi = (float)(ww_qtype_max(qp.type) - qp.zp);
        for (size_t i = 0; i < n; i++) {
            switch (rint_in(0, 5)) {
            case 0: /* a tie, in steps */
                x[i] = ((float)rint_in(-300, 300) + 0.5f) * qp.scale;
                break;
            case 1: /* a saturating end, or half a step or one step either side */
                x[i] = ((rnd() & 1 ? hi : lo) + (float)rint_in(-2, 2) * 0.5f) * qp.scale;
                break;
            case 2:
                x[i] = special[rint_in(0, nspecial - 1)];
                break;
            default:
                x[i] = (float)((rnd() / 4294967296.0 - 0.5) * 600) * qp.scale;
            }
            float f = x[i] / qp.scale;
            ties += isfinite(f) && f - floorf(f) == 0.5f;
        }
        fill_q(codes, qp.type, n);
        ww_quantize_s8_scalar(x, n, &qp, r1);
        ww_dequantize_s8_scalar(codes, n, &qp, b1);
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8 ops = ww_ops_s8_get(isas[k]);
            memset(r2, 0x5a, sizeof r2);
            memset(b2, 0x5a, sizeof b2);
            ops.quantize(x, n, &qp, r2);
            ops.dequantize(codes, n, &qp, b2);
            for (size_t i = 0; i < n && !ww_test_failed(); i++)
                CHECK_MSG(
                    r1[i] == r2[i],
                    "quantize case %d (n %zu, scale %g, zp %d, %s) [%zu]: %g -> %d, %s (%s) %d", t,
                    n, (double)qp.scale, qp.zp, qp.type ? "s8" : "u8", i, (double)x[i],
                    ww_qload(r1, qp.type, (long)i), ww_isa_name(isas[k]), ww_isa_name(ops.isa[4]),
                    ww_qload(r2, qp.type, (long)i));
            CHECK_MSG(!memcmp(b1, b2, n * sizeof *b1),
                      "dequantize case %d (n %zu): %s (%s) differs", t, n, ww_isa_name(isas[k]),
                      ww_isa_name(ops.isa[5]));
        }
        if (ww_test_failed()) return;
    }
    printf("#   %ld exact ties\n", ties);
    CHECK(ties > 1000);
}

/* ... and on random bit patterns (every class of float, NaN payloads
 * included), for zero points at both ends and in the middle of each type. */
WW_TEST(quantize_every_isa_matches_scalar_on_random_bits)
{
    static const ww_qparam qps[] = {{0.02f, 0, WW_QTYPE_U8},    {0.02f, 255, WW_QTYPE_U8},
                                    {0.5f, 128, WW_QTYPE_U8},   {0.003f, -128, WW_QTYPE_S8},
                                    {0.003f, 127, WW_QTYPE_S8}, {1.0f, 0, WW_QTYPE_S8}};
    enum { N = 1 << 16 };
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    float *x = malloc(N * sizeof *x);
    uint8_t *ref = malloc(N), *got = malloc(N);
    for (size_t q = 0; q < sizeof qps / sizeof qps[0]; q++) {
        for (size_t i = 0; i < N; i++) {
            uint32_t bits = rnd();
            /* half of them with exponents near the quantization range */
            if (i & 1) bits = (bits & 0x807fffffu) | (uint32_t)rint_in(100, 150) << 23;
            memcpy(&x[i], &bits, sizeof bits);
        }
        size_t n = N - (size_t)rint_in(0, 31);
        ww_quantize_s8_scalar(x, n, &qps[q], ref);
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8 ops = ww_ops_s8_get(isas[k]);
            memset(got, 0x5a, N);
            ops.quantize(x, n, &qps[q], got);
            CHECK_MSG(!memcmp(ref, got, n), "qparam %zu: %s (%s) differs", q, ww_isa_name(isas[k]),
                      ww_isa_name(ops.isa[4]));
        }
    }
    free(x);
    free(ref);
    free(got);
}

WW_TEST(nchw_nhwc_round_trip)
{
    uint8_t x[2 * 3 * 4 * 5], y[sizeof x], z[sizeof x];
    for (size_t i = 0; i < sizeof x; i++) x[i] = (uint8_t)i;
    ww_nchw_to_nhwc_8(x, 2, 3, 4, 5, y);
    CHECK_EQ_INT(y[1], x[20]); /* n0 h0 w0 c1 */
    CHECK_EQ_INT(y[3], x[1]);  /* n0 h0 w1 c0 */
    ww_nhwc_to_nchw_8(y, 2, 3, 4, 5, z);
    CHECK(!memcmp(x, z, sizeof x));
}

/* Which conv kernel the dispatch picks here (scripts/test-arm.sh sets it). */
WW_TEST(dispatch_picks_expected_isa)
{
    const char *want = getenv("WW_EXPECT_ISA");
    ww_isa active = ww_isa_active();
    printf("#   active ISA %s, conv2d_s8 kernel %s\n", ww_isa_name(active),
           ww_isa_name(ww_conv2d_s8_isa(active)));
    CHECK(ww_conv2d_s8_isa(WW_ISA_SCALAR) == WW_ISA_SCALAR);
    /* every ISA this CPU runs falls back, operator by operator, to a
     * supported ISA at or below itself: AVX-VNNI sits between AVX2 and
     * AVX-512 in the enum but implies neither AVX-512 nor its kernels */
    for (int i = 1; i < WW_ISA_COUNT; i++) {
        if (!ww_isa_supported((ww_isa)i)) continue;
        ww_isa conv = ww_conv2d_s8_isa((ww_isa)i);
        ww_ops_s8 ops = ww_ops_s8_get((ww_isa)i);
        printf("#   %s: conv2d_s8 kernel %s, maxpool %s\n", ww_isa_name((ww_isa)i),
               ww_isa_name(conv), ww_isa_name(ops.isa[1]));
        CHECK((int)conv <= i && ww_isa_supported(conv));
        for (int e = 0; e < 6; e++) CHECK((int)ops.isa[e] <= i && ww_isa_supported(ops.isa[e]));
    }
#if defined(__x86_64__)
    if (ww_isa_supported(WW_ISA_AVXVNNI)) {
        CHECK(ww_conv2d_s8_isa(WW_ISA_AVXVNNI) == WW_ISA_AVXVNNI);
        CHECK(ww_ops_s8_get(WW_ISA_AVXVNNI).isa[1] == WW_ISA_AVX2);
    }
#endif
    if (!want) return;
    CHECK_MSG(!strcmp(ww_isa_name(active), want), "active ISA %s, expected %s", ww_isa_name(active),
              want);
    CHECK_MSG(!strcmp(ww_isa_name(ww_conv2d_s8_isa(active)), want), "conv2d_s8 kernel %s",
              ww_isa_name(ww_conv2d_s8_isa(active)));
}

/* ---- ONNX Runtime's outputs on the same data (tests/fixtures/s8, made by
 * tests/gen/make_s8_ort_fixture.py with onnxruntime-node: QDQ graphs that ORT
 * runs as QLinearConv, QLinearAdd, ...). Every ISA must match ORT within one
 * output quantization step; the counts of exact matches are printed. */

#define S8_FIX "tests/fixtures/s8/"

static int fix_load(const char *cas, const char *name, ww_npy *out)
{
    char path[256];
    snprintf(path, sizeof path, S8_FIX "%s/%s.npy", cas, name);
    ww_error err;
    if (ww_npy_read(path, out, &err) < 0) {
        CHECK_MSG(0, "%s", err.msg);
        return -1;
    }
    return 0;
}

static ww_qparam qp_meta(const double *m, int i)
{
    return (ww_qparam){(float)m[i], (int32_t)m[i + 1], m[i + 2] ? WW_QTYPE_S8 : WW_QTYPE_U8};
}

/* Compares n outputs against ORT's; returns the exact count, fails above 1 step. */
static long vs_ort(const char *cas, const char *isa, const void *got, const ww_npy *want,
                   ww_qtype t)
{
    long exact = 0;
    int worst = 0;
    for (size_t i = 0; i < want->count; i++) {
        int d = abs(ww_qload(got, t, (long)i) - ww_qload(want->data, t, (long)i));
        exact += d == 0;
        worst = d > worst ? d : worst;
    }
    CHECK_MSG(worst <= 1, "%s on %s: %d steps from ONNX Runtime", cas, isa, worst);
    return exact;
}

static const char *const ort_convs[] = {
    "conv_stem_u8",   "conv_3x3_u8_relu", "conv_3x3_s2_u8_norelu", "conv_s8_act",
    "conv_dil_group", "conv_depthwise",   "conv_saturating",       "conv_residual"};

WW_TEST(conv2d_s8_matches_onnxruntime)
{
    ww_isa isas[WW_ISA_COUNT + 1];
    int nisa = other_isas(isas + 1) + 1;
    isas[0] = WW_ISA_SCALAR;
    for (size_t t = 0; t < sizeof ort_convs / sizeof ort_convs[0]; t++) {
        const char *cas = ort_convs[t];
        ww_npy meta = {0}, x = {0}, w = {0}, ws = {0}, b = {0}, y = {0}, r = {0};
        if (fix_load(cas, "meta", &meta) || fix_load(cas, "x", &x) || fix_load(cas, "w", &w) ||
            fix_load(cas, "ws", &ws) || fix_load(cas, "b", &b) || fix_load(cas, "y", &y))
            return;
        const double *m = meta.data;
        ww_conv2d_s8_params p = {0};
        ww_conv2d_shape *s = &p.shape;
        *s = (ww_conv2d_shape){.n = 1,
                               .c_in = (int)m[0],
                               .c_out = (int)m[1],
                               .h_in = (int)m[2],
                               .w_in = (int)m[3],
                               .k_h = (int)m[4],
                               .k_w = (int)m[5],
                               .stride_h = (int)m[6],
                               .stride_w = (int)m[7],
                               .pad_top = (int)m[8],
                               .pad_left = (int)m[9],
                               .dil_h = (int)m[10],
                               .dil_w = (int)m[11],
                               .groups = (int)m[12],
                               .h_out = (int)m[13],
                               .w_out = (int)m[14]};
        p.x = qp_meta(m, 15);
        p.y = qp_meta(m, 18);
        p.relu = (int)m[21];
        p.fuse_add = (int)m[22];
        p.mid = qp_meta(m, 23);
        p.r = qp_meta(m, 26);
        p.relu_after_add = (int)m[29];
        p.w_scale = ws.data;
        size_t npix = (size_t)s->h_out * s->w_out, ny = npix * s->c_out;
        REQUIRE(y.count == ny);
        uint8_t *xh = malloc(x.count), *rh = malloc(ny), *yh = malloc(ny), *yc = malloc(ny);
        ww_nchw_to_nhwc_8(x.data, 1, s->c_in, s->h_in, s->w_in, xh);
        if (p.fuse_add) {
            if (fix_load(cas, "r", &r)) return;
            ww_nchw_to_nhwc_8(r.data, 1, s->c_out, s->h_out, s->w_out, rh);
        }
        for (int k = 0; k < nisa; k++) {
            size_t ps = ww_conv2d_s8_packed_size(&p, isas[k]);
            size_t ss = ww_conv2d_s8_scratch_size(&p, isas[k]);
            void *packed = malloc(ps), *scratch = malloc(ss ? ss : 1);
            ww_error err;
            CHECK_MSG(ww_conv2d_s8_pack(&p, isas[k], w.data, b.data, packed, &err) == WW_OK, "%s",
                      err.msg);
            ww_conv2d_s8(packed, xh, p.fuse_add ? rh : NULL, yh, scratch);
            ww_nhwc_to_nchw_8(yh, 1, s->c_out, s->h_out, s->w_out, yc);
            long exact = vs_ort(cas, ww_isa_name(isas[k]), yc, &y, p.y.type);
            if (k == 0) printf("#   %s: %ld of %zu equal to ONNX Runtime's\n", cas, exact, ny);
            free(packed);
            free(scratch);
        }
        free(xh);
        free(rh);
        free(yh);
        free(yc);
        ww_npy_free(&meta), ww_npy_free(&x), ww_npy_free(&w), ww_npy_free(&ws);
        ww_npy_free(&b), ww_npy_free(&y), ww_npy_free(&r);
    }
}

WW_TEST(add_pool_quantize_match_onnxruntime)
{
    ww_isa isas[WW_ISA_COUNT + 1];
    int nisa = other_isas(isas + 1) + 1;
    isas[0] = WW_ISA_SCALAR;
    static const char *const adds[] = {"add_u8_relu", "add_mixed"};
    for (int t = 0; t < 2; t++) {
        ww_npy meta = {0}, a = {0}, b = {0}, y = {0};
        if (fix_load(adds[t], "meta", &meta) || fix_load(adds[t], "a", &a) ||
            fix_load(adds[t], "b", &b) || fix_load(adds[t], "y", &y))
            return;
        const double *m = meta.data;
        ww_qparam qa = qp_meta(m, 1), qb = qp_meta(m, 4), qc = qp_meta(m, 7);
        uint8_t got[1024];
        REQUIRE(y.count <= sizeof got);
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8_get(isas[k]).add(a.data, &qa, b.data, &qb, got, &qc, (int)m[10], y.count);
            long exact = vs_ort(adds[t], ww_isa_name(isas[k]), got, &y, qc.type);
            if (k == 0) printf("#   %s: %ld of %zu equal\n", adds[t], exact, y.count);
        }
        ww_npy_free(&meta), ww_npy_free(&a), ww_npy_free(&b), ww_npy_free(&y);
    }
    static const char *const pools[] = {"maxpool_u8", "maxpool_s8"};
    for (int t = 0; t < 2; t++) {
        ww_npy meta = {0}, x = {0}, y = {0};
        if (fix_load(pools[t], "meta", &meta) || fix_load(pools[t], "x", &x) ||
            fix_load(pools[t], "y", &y))
            return;
        const double *m = meta.data;
        ww_qtype ty = m[6] ? WW_QTYPE_S8 : WW_QTYPE_U8;
        ww_pool_shape s = {.n = 1,
                           .c = (int)m[0],
                           .h_in = (int)m[1],
                           .w_in = (int)m[2],
                           .k_h = (int)m[3],
                           .k_w = (int)m[3],
                           .stride_h = (int)m[4],
                           .stride_w = (int)m[4],
                           .pad_top = (int)m[5],
                           .pad_left = (int)m[5],
                           .dil_h = 1,
                           .dil_w = 1};
        REQUIRE(y.ndim == 4);
        s.h_out = (int)y.shape[2];
        s.w_out = (int)y.shape[3];
        uint8_t *xh = malloc(x.count), *yh = malloc(y.count), *yc = malloc(y.count);
        ww_nchw_to_nhwc_8(x.data, 1, s.c, s.h_in, s.w_in, xh);
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8_get(isas[k]).maxpool(&s, ty, xh, yh);
            ww_nhwc_to_nchw_8(yh, 1, s.c, s.h_out, s.w_out, yc);
            CHECK_MSG(!memcmp(yc, y.data, y.count), "%s on %s differs from ONNX Runtime", pools[t],
                      ww_isa_name(isas[k]));
        }
        free(xh), free(yh), free(yc);
        ww_npy_free(&meta), ww_npy_free(&x), ww_npy_free(&y);
    }
    static const char *const gaps[] = {"gap_u8", "gap_s8"};
    for (int t = 0; t < 2; t++) {
        ww_npy meta = {0}, x = {0}, y = {0};
        if (fix_load(gaps[t], "meta", &meta) || fix_load(gaps[t], "x", &x) ||
            fix_load(gaps[t], "y", &y))
            return;
        const double *m = meta.data;
        int c = (int)m[0], hw = (int)(m[1] * m[2]);
        ww_qparam qx = qp_meta(m, 3), qy = qp_meta(m, 6);
        uint8_t *xh = malloc(x.count), got[256];
        ww_nchw_to_nhwc_8(x.data, 1, c, (int)m[1], (int)m[2], xh);
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8_get(isas[k]).gavgpool(1, hw, c, xh, &qx, got, &qy);
            long exact = vs_ort(gaps[t], ww_isa_name(isas[k]), got, &y, qy.type);
            if (k == 0) printf("#   %s: %ld of %zu equal\n", gaps[t], exact, y.count);
        }
        free(xh);
        ww_npy_free(&meta), ww_npy_free(&x), ww_npy_free(&y);
    }
    static const char *const qs[] = {"quantize_u8", "quantize_s8"};
    for (int t = 0; t < 2; t++) {
        ww_npy meta = {0}, x = {0}, y = {0};
        if (fix_load(qs[t], "meta", &meta) || fix_load(qs[t], "x", &x) || fix_load(qs[t], "y", &y))
            return;
        const double *m = meta.data;
        ww_qparam q = qp_meta(m, 1);
        uint8_t got[1024];
        for (int k = 0; k < nisa; k++) {
            ww_ops_s8_get(isas[k]).quantize(x.data, x.count, &q, got);
            CHECK_MSG(!memcmp(got, y.data, y.count), "%s on %s differs from ONNX Runtime", qs[t],
                      ww_isa_name(isas[k]));
        }
        ww_npy_free(&meta), ww_npy_free(&x), ww_npy_free(&y);
    }
}
