/* Micro-benchmark of conv2d_s8 on the 20 conv layers of batch-1 ResNet18 on a
 * 1x1x64x101 log-mel input (247 M MACs), per ISA: median time per layer,
 * GMAC/s, the sum of the medians, the median of whole passes over the 20
 * layers in network order, and the fraction of the core's int8 peak.
 *
 * The peak is measured, not assumed: the fastest of many short bursts of a
 * register-only loop of 12 independent vpdpbusd zmm (64 MACs each) on AVX-512
 * VNNI, vpdpbusd ymm (32) on AVX-VNNI, vpmaddwd+vpaddd zmm (32) on AVX-512,
 * ymm (16) on AVX2. For reference, Zen 4 issues one vpdpbusd zmm per cycle
 * (64 MACs/cycle), Zen 5 and recent Intel server cores two (128 MACs/cycle);
 * this machine measures ~440-460 GMAC/s when quiet. Single thread, weights
 * packed once. Then the same for the conv layers of a real int8 model, read
 * from the file as the engine compiles it (shapes, groups, activation
 * quantization, fused joins; random weights and activations): `--net FILE` (an int8 QDQ ONNX),
 * `--net shipped` (models/hey_jarvis.int8.onnx, from the repository's root), `--net resnet18` the
 * first network alone; without --net both resnet18 and shipped. `--tile I` packs every layer with
 * tile shape I of the ISA instead of the estimated best.
 *
 *   build/bench/bench_conv2d_s8 [--runs N] [--isa NAME] [--layer I]
 *                               [--net resnet18|shipped|FILE] [--tile I] [--scalar]
 * (scalar is slow and only runs when asked for). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/cpu.h"
#include "nn/model.h"
#include "nn/kernels/conv2d_s8.h"
#include "nn/kernels/conv2d_s8_internal.h" /* ww_conv2d_s8_tile_override (--tile) */

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* A conv to time: the ResNet18 table's square shorthand, or (has_params) a model
 * file's conv as the engine compiled it, quantization and fusion included */
typedef struct layer {
    char name[32];
    int c_in, c_out, h_in, w_in, k, stride, pad, fuse, groups;
    int has_params;
    ww_conv2d_s8_params params;
} layer;

static const layer resnet18_layers[] = {
    {"stem 7x7 s2", 1, 64, 64, 101, 7, 2, 3, 0},
    {"l1.0 conv1", 64, 64, 16, 26, 3, 1, 1, 0},
    {"l1.0 conv2+add", 64, 64, 16, 26, 3, 1, 1, 1},
    {"l1.1 conv1", 64, 64, 16, 26, 3, 1, 1, 0},
    {"l1.1 conv2+add", 64, 64, 16, 26, 3, 1, 1, 1},
    {"l2.0 conv1 s2", 64, 128, 16, 26, 3, 2, 1, 0},
    {"l2.0 downsample", 64, 128, 16, 26, 1, 2, 0, 0},
    {"l2.0 conv2+add", 128, 128, 8, 13, 3, 1, 1, 1},
    {"l2.1 conv1", 128, 128, 8, 13, 3, 1, 1, 0},
    {"l2.1 conv2+add", 128, 128, 8, 13, 3, 1, 1, 1},
    {"l3.0 conv1 s2", 128, 256, 8, 13, 3, 2, 1, 0},
    {"l3.0 downsample", 128, 256, 8, 13, 1, 2, 0, 0},
    {"l3.0 conv2+add", 256, 256, 4, 7, 3, 1, 1, 1},
    {"l3.1 conv1", 256, 256, 4, 7, 3, 1, 1, 0},
    {"l3.1 conv2+add", 256, 256, 4, 7, 3, 1, 1, 1},
    {"l4.0 conv1 s2", 256, 512, 4, 7, 3, 2, 1, 0},
    {"l4.0 downsample", 256, 512, 4, 7, 1, 2, 0, 0},
    {"l4.0 conv2+add", 512, 512, 2, 4, 3, 1, 1, 1},
    {"l4.1 conv1", 512, 512, 2, 4, 3, 1, 1, 0},
    {"l4.1 conv2+add", 512, 512, 2, 4, 3, 1, 1, 1},
};

#define SHIPPED_MODEL "models/hey_jarvis.int8.onnx"
#define MAX_LAYERS    64

/* the network benchmarked: ResNet18 or a model file's int8 convs */
static const layer *layers = resnet18_layers;
static int NL = (int)(sizeof resnet18_layers / sizeof resnet18_layers[0]);
static layer model_layers[MAX_LAYERS];

/* A step name like "/net/layer2/layer2.0/downsample/downsample.0/Conv" (what
 * torch.onnx.export writes) as "net layer2.0 downsample.0": the path's parts,
 * without those a next part extends and without the op type at the end. */
static void short_step_name(const char *name, char *out, size_t cap)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", name);
    size_t len = strlen(buf);
    if (len > 5 && !strcmp(buf + len - 5, "/Conv")) buf[len - 5] = 0;
    char *parts[32];
    int n = 0;
    for (char *tok = strtok(buf, "/"); tok && n < 32; tok = strtok(NULL, "/")) parts[n++] = tok;
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n && used + 1 < cap; i++) {
        if (i + 1 < n && !strncmp(parts[i + 1], parts[i], strlen(parts[i]))) continue;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? " " : "", parts[i]);
    }
    if (!out[0]) snprintf(out, cap, "%s", name);
}

/* The int8 conv steps of the model at path, in execution order, into
 * model_layers. Returns the count, or -1 with a message. */
static int load_model_layers(const char *path)
{
    ww_model *m;
    ww_error err;
    if (ww_model_load(path, &m, &err) < 0) {
        fprintf(stderr, "bench_conv2d_s8: %s\n", err.msg);
        return -1;
    }
    ww_model_stats st;
    ww_model_get_stats(m, &st);
    int n = 0, rc = 0;
    for (size_t i = 0; i < st.n_exec_nodes && rc == 0; i++) {
        ww_conv2d_s8_params p;
        ww_step_profile sp;
        if (ww_model_step_conv_s8(m, i, &p) < 0 || ww_model_profile_at(m, i, &sp) < 0) continue;
        if (n == MAX_LAYERS) {
            fprintf(stderr, "bench_conv2d_s8: %s: more than %d int8 convs\n", path, MAX_LAYERS);
            rc = -1;
        } else {
            layer *L = &model_layers[n++];
            short_step_name(sp.name, L->name, sizeof L->name - 4);
            if (p.fuse_add) strcat(L->name, "+add");
            L->has_params = 1;
            L->params = p;
        }
    }
    ww_model_free(m);
    if (rc == 0 && n == 0) {
        fprintf(stderr, "bench_conv2d_s8: %s: no step runs the int8 conv kernel (not int8 QDQ?)\n",
                path);
        rc = -1;
    }
    return rc < 0 ? -1 : n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return v[n / 2];
}

static uint32_t seed = 12345;
static uint32_t rnd(void)
{
    return seed = seed * 1664525u + 1013904223u;
}

typedef struct prepared {
    ww_conv2d_s8_params p;
    void *packed, *x, *r, *y;
    long macs;
} prepared;

static void *xalloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? n : 64)) {
        fprintf(stderr, "bench_conv2d_s8: out of memory\n");
        exit(1);
    }
    return p;
}

/* Random weights (scale 0.0005), bias and activations for P->p's shape, packed
 * for isa; the MAC count. */
static int prepare_buffers(ww_isa isa, prepared *P)
{
    const ww_conv2d_shape *s = &P->p.shape;
    size_t taps = (size_t)(s->c_in / s->groups) * s->k_h * s->k_w, nw = (size_t)s->c_out * taps;
    P->macs = (long)((size_t)s->h_out * s->w_out * nw);
    int8_t *w = xalloc(nw);
    float *ws = xalloc(sizeof(float) * s->c_out);
    int32_t *b = xalloc(sizeof(int32_t) * s->c_out);
    for (size_t i = 0; i < nw; i++) w[i] = (int8_t)(rnd() >> 24);
    for (int o = 0; o < s->c_out; o++) ws[o] = 0.0005f, b[o] = (int32_t)(rnd() >> 20) - 2048;
    P->p.w_scale = ws;
    size_t nx = (size_t)s->h_in * s->w_in * s->c_in, ny = (size_t)s->h_out * s->w_out * s->c_out;
    P->x = xalloc(nx);
    P->r = xalloc(ny);
    P->y = xalloc(ny);
    for (size_t i = 0; i < nx; i++) ((uint8_t *)P->x)[i] = (uint8_t)(rnd() >> 24);
    for (size_t i = 0; i < ny; i++) ((uint8_t *)P->r)[i] = (uint8_t)(rnd() >> 24);
    P->packed = xalloc(ww_conv2d_s8_packed_size(&P->p, isa));
    ww_error err;
    int rc = ww_conv2d_s8_pack(&P->p, isa, w, b, P->packed, &err);
    if (rc < 0) fprintf(stderr, "bench_conv2d_s8: %s\n", err.msg);
    free(w);
    free(ws);
    free(b);
    return rc;
}

static int prepare(const layer *L, ww_isa isa, prepared *P)
{
    ww_conv2d_shape *s = &P->p.shape;
    memset(P, 0, sizeof *P);
    if (L->has_params) {
        P->p = L->params;
        return prepare_buffers(isa, P);
    }
    *s = (ww_conv2d_shape){.n = 1,
                           .c_in = L->c_in,
                           .c_out = L->c_out,
                           .h_in = L->h_in,
                           .w_in = L->w_in,
                           .k_h = L->k,
                           .k_w = L->k,
                           .stride_h = L->stride,
                           .stride_w = L->stride,
                           .pad_top = L->pad,
                           .pad_left = L->pad,
                           .dil_h = 1,
                           .dil_w = 1,
                           .groups = L->groups > 1 ? L->groups : 1};
    s->h_out = (L->h_in + 2 * L->pad - L->k) / L->stride + 1;
    s->w_out = (L->w_in + 2 * L->pad - L->k) / L->stride + 1;
    P->p.x = (ww_qparam){0.05f, L->c_in == 1 ? 128 : 0, WW_QTYPE_U8};
    P->p.y = (ww_qparam){0.05f, 0, WW_QTYPE_U8};
    P->p.relu = 1;
    P->p.fuse_add = L->fuse;
    P->p.mid = (ww_qparam){0.06f, 120, WW_QTYPE_U8};
    P->p.r = (ww_qparam){0.05f, 0, WW_QTYPE_U8};
    P->p.relu_after_add = 1;
    if (L->fuse) P->p.relu = 0;
    return prepare_buffers(isa, P);
}

#if defined(__x86_64__)
/* 12 independent accumulator chains in registers, enough to cover the
 * instruction latency at 2 per cycle. Empty asm statements hide values from
 * the optimizers: w before every DOT (or vpmaddwd(x, w), the same for all
 * twelve, is computed once and the adds alone are timed), the accumulators
 * after every round (or gcc moves and spills them inside the loop: its
 * AVX-VNNI loop ran at 3/4 of the rate). */
#define PEAK_DOT(DOT, a)                                                                           \
    __asm__("" : "+v"(w));                                                                         \
    a = DOT(a, x, w)
#define PEAK_BODY(T, DOT, SET1, ADD, MACS_PER_OP)                                                  \
    T w = SET1(0x01020304), x = SET1(0x05060708);                                                  \
    /* distinct starting values, or the compiler merges the chains into one */                     \
    T a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3), a4 = SET1(4), a5 = SET1(5);          \
    T a6 = SET1(6), a7 = SET1(7), a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);      \
    for (long i = 0; i < iters; i++) {                                                             \
        PEAK_DOT(DOT, a0);                                                                         \
        PEAK_DOT(DOT, a1);                                                                         \
        PEAK_DOT(DOT, a2);                                                                         \
        PEAK_DOT(DOT, a3);                                                                         \
        PEAK_DOT(DOT, a4);                                                                         \
        PEAK_DOT(DOT, a5);                                                                         \
        PEAK_DOT(DOT, a6);                                                                         \
        PEAK_DOT(DOT, a7);                                                                         \
        PEAK_DOT(DOT, a8);                                                                         \
        PEAK_DOT(DOT, a9);                                                                         \
        PEAK_DOT(DOT, a10);                                                                        \
        PEAK_DOT(DOT, a11);                                                                        \
        __asm__("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));                  \
        __asm__("" : "+v"(a6), "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));                \
    }                                                                                              \
    a0 = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                        \
    a0 = ADD(a0, ADD(ADD(a8, a9), ADD(a10, a11)));                                                 \
    /* stored as a volatile: through a memcpy that casts it away, clang */                         \
    /* drops the store and then the whole loop */                                                  \
    long out;                                                                                      \
    memcpy(&out, &a0, sizeof out);                                                                 \
    sink = out;                                                                                    \
    return (double)iters * 12 * (MACS_PER_OP);

static volatile long sink;

/* name(iters): the loop above on OP(a, x, w), both compiled for TGT alone
 * (the file is built for plain x86-64 and runs them only where supported). */
#define PEAK_FN(name, TGT, T, OP, SET1, ADD, MACS_PER_OP)                                          \
    static inline T name##_op(T a, T x, T w) __attribute__((target(TGT), always_inline));          \
    static inline T name##_op(T a, T x, T w)                                                       \
    {                                                                                              \
        return OP;                                                                                 \
    }                                                                                              \
    __attribute__((target(TGT))) static double name(long iters)                                    \
    {                                                                                              \
        PEAK_BODY(T, name##_op, SET1, ADD, MACS_PER_OP)                                            \
    }
PEAK_FN(peak_vnni, "avx512f,avx512vnni", __m512i, _mm512_dpbusd_epi32(a, x, w), _mm512_set1_epi32,
        _mm512_add_epi32, 64)
PEAK_FN(peak_avxvnni, "avx2,avxvnni", __m256i, _mm256_dpbusd_avx_epi32(a, x, w), _mm256_set1_epi32,
        _mm256_add_epi32, 32)
PEAK_FN(peak_avx512, "avx512f,avx512bw", __m512i, _mm512_add_epi32(a, _mm512_madd_epi16(x, w)),
        _mm512_set1_epi32, _mm512_add_epi32, 32)
PEAK_FN(peak_avx2, "avx2", __m256i, _mm256_add_epi32(a, _mm256_madd_epi16(x, w)), _mm256_set1_epi32,
        _mm256_add_epi32, 16)
#endif

/* Measured peak int8 MAC rate of one core for this ISA, in GMAC/s. */
static double peak_gmacs(ww_isa isa)
{
#if defined(__x86_64__)
    if (isa == WW_ISA_AVX512VNNI || isa == WW_ISA_AVX512 || isa == WW_ISA_AVXVNNI ||
        isa == WW_ISA_AVX2) {
        /* many short bursts, the fastest wins: on a shared machine some
         * burst runs undisturbed at the core's real clock */
        long iters = 100000;
        double best = 0;
        for (int rep = 0; rep < 60; rep++) {
            double t0 = now();
            double macs = isa == WW_ISA_AVX512VNNI ? peak_vnni(iters)
                          : isa == WW_ISA_AVX512   ? peak_avx512(iters)
                          : isa == WW_ISA_AVXVNNI  ? peak_avxvnni(iters)
                                                   : peak_avx2(iters);
            double g = macs / (now() - t0) * 1e-9;
            best = g > best ? g : best;
        }
        return best;
    }
#endif
    (void)isa;
    return 0;
}

static int only_layer = -1;

static void bench_isa(ww_isa isa, int runs)
{
    prepared P[MAX_LAYERS];
    size_t scratch_sz = 0;
    for (int l = 0; l < NL; l++) {
        if (prepare(&layers[l], isa, &P[l]) < 0) exit(1);
        size_t s = ww_conv2d_s8_scratch_size(&P[l].p, isa);
        scratch_sz = s > scratch_sz ? s : scratch_sz;
    }
    void *scratch = xalloc(scratch_sz);
    ww_isa kernel = ww_conv2d_s8_packed_isa(P[0].packed);
    double peak = peak_gmacs(kernel);
    printf("== ISA %s (conv kernel %s), %d runs per layer", ww_isa_name(isa), ww_isa_name(kernel),
           runs);
    if (peak > 0) printf(", measured peak %.1f GMAC/s", peak);
    printf("\n%-26s %6s %10s %10s %8s\n", "layer", "MMAC", "median us", "GMAC/s", "of peak");
    double *t = malloc(sizeof(double) * runs);
    double sum = 0;
    long total_macs = 0;
    for (int l = 0; l < NL; l++) {
        if (only_layer >= 0 && l != only_layer) continue;
        for (int i = 0; i < 3; i++)
            ww_conv2d_s8(P[l].packed, P[l].x, P[l].p.fuse_add ? P[l].r : NULL, P[l].y, scratch);
        for (int i = 0; i < runs; i++) {
            double t0 = now();
            ww_conv2d_s8(P[l].packed, P[l].x, P[l].p.fuse_add ? P[l].r : NULL, P[l].y, scratch);
            t[i] = now() - t0;
        }
        double m = median(t, runs);
        double g = P[l].macs / m * 1e-9;
        sum += m;
        total_macs += P[l].macs;
        printf("%-26s %6.1f %10.1f %10.1f", layers[l].name, P[l].macs * 1e-6, m * 1e6, g);
        if (peak > 0) printf(" %7.0f%%", 100 * g / peak);
        printf("\n");
    }
    /* whole passes in network order, each layer's weights cold from L2 as in
     * a real inference; per-layer times inside the pass too */
    double *tl = malloc(sizeof(double) * runs * NL);
    for (int i = 0; i < (only_layer >= 0 ? 1 : runs); i++) {
        double t0 = now(), tp = t0;
        for (int l = 0; l < NL; l++) {
            ww_conv2d_s8(P[l].packed, P[l].x, P[l].p.fuse_add ? P[l].r : NULL, P[l].y, scratch);
            double tn = now();
            tl[l * runs + i] = tn - tp;
            tp = tn;
        }
        t[i] = tp - t0;
    }
    if (only_layer >= 0) goto done;
    printf("in a whole pass (us):");
    for (int l = 0; l < NL; l++) printf(" %.0f", median(tl + l * runs, runs) * 1e6);
    printf("\n");
    double whole = median(t, runs), whole_min = t[0]; /* median() sorted t */
    printf("%-26s %6.1f %10.1f %10.1f", "sum of medians", total_macs * 1e-6, sum * 1e6,
           total_macs / sum * 1e-9);
    if (peak > 0) printf(" %7.0f%%", 100 * total_macs / sum * 1e-9 / peak);
    printf("\n%-26s %6.1f %10.1f %10.1f", "whole pass", total_macs * 1e-6, whole * 1e6,
           total_macs / whole * 1e-9);
    if (peak > 0) printf(" %7.0f%%", 100 * total_macs / whole * 1e-9 / peak);
    printf("\n%-26s %6.1f %10.1f %10.1f", "whole pass, min", total_macs * 1e-6, whole_min * 1e6,
           total_macs / whole_min * 1e-9);
    if (peak > 0) printf(" %7.0f%%", 100 * total_macs / whole_min * 1e-9 / peak);
    printf("\n");
done:
    free(tl);
    free(t);
    free(scratch);
    for (int l = 0; l < NL; l++) {
        free(P[l].packed);
        free(P[l].x);
        free(P[l].r);
        free(P[l].y);
    }
}

int main(int argc, char **argv)
{
    int runs = 200, scalar = 0;
    int only = -1;
    const char *net = NULL; /* NULL: resnet18, then the shipped model */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--layer") && i + 1 < argc) {
            only_layer = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--net") && i + 1 < argc) {
            net = argv[++i];
        } else if (!strcmp(argv[i], "--tile") && i + 1 < argc) {
            /* every layer on tile shape I of the ISA (0..3), not the estimated best */
            ww_conv2d_s8_tile_override = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--scalar")) {
            scalar = 1;
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            ww_isa isa;
            ww_error err;
            if (ww_isa_from_name(argv[++i], &isa, &err) < 0) {
                fprintf(stderr, "bench_conv2d_s8: %s\n", err.msg);
                return 2;
            }
            only = (int)isa;
        } else {
            fprintf(stderr, "usage: bench_conv2d_s8 [--runs N] [--isa NAME] [--layer I] [--net "
                            "resnet18|shipped|FILE] [--tile I] [--scalar]\n");
            return 2;
        }
    }
    if (runs < 1) runs = 1;
    const char *nets[2] = {"resnet18", SHIPPED_MODEL};
    int n_nets = 2;
    if (net) {
        nets[0] = !strcmp(net, "shipped") ? SHIPPED_MODEL : net;
        n_nets = 1;
    }
    for (int k = 0; k < n_nets; k++) {
        if (!strcmp(nets[k], "resnet18")) {
            layers = resnet18_layers;
            NL = (int)(sizeof resnet18_layers / sizeof resnet18_layers[0]);
        } else {
            NL = load_model_layers(nets[k]);
            if (NL < 0) return 2;
            layers = model_layers;
        }
        if (only_layer >= NL) {
            fprintf(stderr, "bench_conv2d_s8: --layer %d: %s has %d conv layers\n", only_layer,
                    nets[k], NL);
            return 2;
        }
        printf("%s== network: %s (%d convs)\n", k ? "\n" : "",
               layers == resnet18_layers ? "ResNet18, 64 x 101" : nets[k], NL);
        for (int i = WW_ISA_COUNT - 1; i >= 0; i--) {
            ww_isa isa = (ww_isa)i;
            if (only >= 0 && i != only) continue;
            if (!ww_isa_supported(isa)) continue;
            if (only < 0 && ww_conv2d_s8_isa(isa) != isa) continue; /* same kernel as another */
            if (isa == WW_ISA_SCALAR && !scalar && only < 0) continue;
            bench_isa(isa, isa == WW_ISA_SCALAR ? (runs < 5 ? runs : 5) : runs);
        }
    }
    return 0;
}
