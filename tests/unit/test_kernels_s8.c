/* The int8 kernels: every ISA this CPU runs gives the scalar reference's bytes
 * (memcmp) on random shapes, strides, pads, dilations, groups, zero points and
 * scales, saturating at both ends; the scalar reference itself is within 1 LSB
 * of the same computation done in double precision with round half to even.
 * WW_EXPECT_ISA=name (set by scripts/test-arm.sh) also checks which conv kernel
 * the dispatch picks on this CPU. */
#include "tests/unit/wwtest.h"

#include <stdint.h>
#include <stdlib.h>

#include "nn/cpu.h"
#include "nn/kernels/conv2d_s8.h"
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
        int cg = kind == 0 ? 1 : rint_in(1, 3) * 4 + (kind == 1 ? rint_in(1, 3) : 0);
        int cog = rint_in(1, 80);
        if (kind == 2) { /* depthwise */
            s->groups = rint_in(2, 24);
            cg = 1;
            cog = rint_in(1, 2);
        } else if (kind == 3) {
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

static void conv_isas_vs_scalar(int cases, long max_macs, float slo, float shi, int *saw_lo,
                                int *saw_hi)
{
    ww_isa isas[WW_ISA_COUNT];
    int nisa = other_isas(isas);
    for (int t = 0; t < cases; t++) {
        conv_case c;
        conv_random(&c, max_macs, slo, shi);
        uint8_t *ref = malloc(c.ny), *got = malloc(c.ny);
        REQUIRE(conv_run(&c, WW_ISA_SCALAR, ref) == WW_ISA_SCALAR);
        for (size_t i = 0; i < c.ny; i++) {
            int32_t v = ww_qload(ref, c.p.y.type, (long)i);
            if (v == ww_qtype_min(c.p.y.type)) (*saw_lo)++;
            if (v == ww_qtype_max(c.p.y.type)) (*saw_hi)++;
        }
        for (int k = 0; k < nisa; k++) {
            memset(got, 0xa5, c.ny);
            int ran = conv_run(&c, isas[k], got);
            CHECK(ran >= 0);
            if (memcmp(ref, got, c.ny)) {
                size_t i = 0;
                while (ref[i] == got[i]) i++;
                CHECK_MSG(0, "case %d: %s (kernel %s) differs from scalar at %zu: %d vs %d", t,
                          ww_isa_name(isas[k]), ww_isa_name((ww_isa)ran), i, got[i], ref[i]);
                describe(&c);
            }
        }
        free(ref);
        free(got);
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
