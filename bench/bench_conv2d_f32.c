/* Float conv kernels on the wakeword ResNet18 (input 1x1x64x101): runs the
 * network's 20 convs in order, each with its own weights (45 MB in all, as in
 * the real model, so the deep layers stream their weights from memory the way
 * inference does), with the bias/residual/ReLU the model fuses. Prints, per
 * ISA, each layer's median time and GFLOP/s and the median of the sum over
 * all 20 convs, with the fraction of the CPU's peak; then each layer run
 * alone, repeatedly, with its weights in cache ("alone"), to show what the
 * network order costs in memory traffic.
 *   bench_conv2d_f32 [--isa NAME] [--runs N] [--seconds S] [--quiet] [--active-isa]
 * Times are this thread's CPU time (the machine is shared; the wall-clock
 * median of the sum is printed too). Peak = 2 FMA pipes x lanes x 2 flops x
 * GHz; the GHz is measured (a chain of dependent register adds runs one per
 * cycle), since /proc/cpuinfo shows the base clock of a VM, not the boost
 * clock the kernels run at. */
#include "nn/cpu.h"
#include "nn/kernels/conv2d_f32.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* This thread's CPU time: on a shared machine the wall clock also counts the
 * time other processes held the core; this does not. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct layer {
    const char *name;
    int c_in, c_out, h_in, w_in, k, stride, pad, h_out, w_out;
    int relu;
    int in, res, out; /* activation buffers, as the network passes them on */
} layer;

/* torchvision resnet18 with a 1-channel 7x7 stem on 64x101 (after the stem's
 * 3x3/2 max-pool the first block sees 16x26). Each conv reads the buffer an
 * earlier one wrote, as in the network, so activations are as warm in cache
 * as they are there (the max-pool is left out: layer1 reads the start of the
 * stem's output). */
static const layer net[] = {
    {"stem 7x7/2 1->64", 1, 64, 64, 101, 7, 2, 3, 32, 51, 1, 0, -1, 1},
    {"l1.0 conv1 64", 64, 64, 16, 26, 3, 1, 1, 16, 26, 1, 1, -1, 2},
    {"l1.0 conv2 64 +res", 64, 64, 16, 26, 3, 1, 1, 16, 26, 1, 2, 1, 3},
    {"l1.1 conv1 64", 64, 64, 16, 26, 3, 1, 1, 16, 26, 1, 3, -1, 2},
    {"l1.1 conv2 64 +res", 64, 64, 16, 26, 3, 1, 1, 16, 26, 1, 2, 3, 4},
    {"l2.0 conv1 64->128 /2", 64, 128, 16, 26, 3, 2, 1, 8, 13, 1, 4, -1, 2},
    {"l2.0 down 1x1/2", 64, 128, 16, 26, 1, 2, 0, 8, 13, 0, 4, -1, 3},
    {"l2.0 conv2 128 +res", 128, 128, 8, 13, 3, 1, 1, 8, 13, 1, 2, 3, 5},
    {"l2.1 conv1 128", 128, 128, 8, 13, 3, 1, 1, 8, 13, 1, 5, -1, 2},
    {"l2.1 conv2 128 +res", 128, 128, 8, 13, 3, 1, 1, 8, 13, 1, 2, 5, 3},
    {"l3.0 conv1 128->256 /2", 128, 256, 8, 13, 3, 2, 1, 4, 7, 1, 3, -1, 2},
    {"l3.0 down 1x1/2", 128, 256, 8, 13, 1, 2, 0, 4, 7, 0, 3, -1, 4},
    {"l3.0 conv2 256 +res", 256, 256, 4, 7, 3, 1, 1, 4, 7, 1, 2, 4, 5},
    {"l3.1 conv1 256", 256, 256, 4, 7, 3, 1, 1, 4, 7, 1, 5, -1, 2},
    {"l3.1 conv2 256 +res", 256, 256, 4, 7, 3, 1, 1, 4, 7, 1, 2, 5, 3},
    {"l4.0 conv1 256->512 /2", 256, 512, 4, 7, 3, 2, 1, 2, 4, 1, 3, -1, 2},
    {"l4.0 down 1x1/2", 256, 512, 4, 7, 1, 2, 0, 2, 4, 0, 3, -1, 4},
    {"l4.0 conv2 512 +res", 512, 512, 2, 4, 3, 1, 1, 2, 4, 1, 2, 4, 5},
    {"l4.1 conv1 512", 512, 512, 2, 4, 3, 1, 1, 2, 4, 1, 5, -1, 2},
    {"l4.1 conv2 512 +res", 512, 512, 2, 4, 3, 1, 1, 2, 4, 1, 2, 5, 3},
};
#define NLAYERS  ((int)(sizeof net / sizeof net[0]))
#define MAX_RUNS 2000

static ww_conv2d_shape shape_of(const layer *l)
{
    ww_conv2d_shape s = {1,    l->c_in,   l->h_in,   l->w_in, l->c_out, l->h_out, l->w_out, l->k,
                         l->k, l->stride, l->stride, l->pad,  l->pad,   1,        1,        1};
    return s;
}

static double macs_of(const layer *l)
{
    return (double)l->c_out * l->h_out * l->w_out * l->c_in * l->k * l->k;
}

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "bench_conv2d_f32: out of memory\n");
        exit(1);
    }
    return p;
}

static uint32_t seed = 1;
static void fill(float *a, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        a[i] = ((float)(seed >> 8) / 8388608.0f - 1.0f) * scale;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "cpu MHz" of /proc/cpuinfo, in GHz (0 if absent). */
static double cpuinfo_ghz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7) && strchr(line, ':')) {
            mhz = atof(strchr(line, ':') + 1);
            break;
        }
    if (f) fclose(f);
    return mhz / 1000.0;
}

/* Core clock in GHz: best of many short timings of a 1-cycle dependent chain
 * (short, so that some run without being preempted on a busy machine). The
 * chain adds a register, not an immediate: Intel's cores since Golden Cove
 * fold dependent add-immediates at rename, several per cycle (the Emerald
 * Rapids of session 20 measured 14.2 GHz with them, 3.56 GHz with this). */
static double measure_ghz(void)
{
#if defined(__x86_64__)
    double best = 0;
    for (int rep = 0; rep < 40; rep++) {
        long x = 0, one = 1;
        const long n = 20000000;
        double t0 = cpu_now();
        for (long i = 0; i < n; i += 8)
            __asm__ volatile("add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\t"
                             "add %1, %0\n\tadd %1, %0\n\tadd %1, %0\n\tadd %1, %0"
                             : "+r"(x)
                             : "r"(one));
        double ghz = n / (cpu_now() - t0) / 1e9;
        if (ghz > best) best = ghz;
    }
    return best;
#else
    return cpuinfo_ghz();
#endif
}

static int lanes_of(ww_isa isa)
{
    switch (isa) {
    case WW_ISA_AVX512:
    case WW_ISA_AVX512VNNI:
        return 16;
    case WW_ISA_AVX2:
    case WW_ISA_AVXVNNI:
        return 8;
    case WW_ISA_NEON:
    case WW_ISA_NEONDOT:
        return 4;
    default:
        return 4; /* generic C: the compiler vectorises it for SSE2 or NEON */
    }
}

typedef struct net_buffers {
    float *w[NLAYERS], *bias[NLAYERS], *act[6];
    float *scratch;
} net_buffers;

static void run_layer(const net_buffers *b, int l)
{
    const layer *n = &net[l];
    ww_conv2d_shape s = shape_of(n);
    ww_activation act = {n->relu ? WW_ACT_RELU : WW_ACT_NONE, 0, 0};
    ww_conv2d_f32(&s, b->act[n->in], b->w[l], b->bias[l], n->res >= 0 ? b->act[n->res] : NULL, act,
                  b->act[n->out], b->scratch);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: bench_conv2d_f32 [--isa NAME] [--runs N] [--seconds S] [--quiet] [--active-isa]\n");
}

int main(int argc, char **argv)
{
    int only = -1, max_runs = 300, quiet = 0;
    double seconds = 3.0;
    for (int i = 1; i < argc; i++) {
        ww_error err;
        ww_isa isa;
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) {
            if (ww_isa_from_name(argv[++i], &isa, &err) != WW_OK) {
                fprintf(stderr, "bench_conv2d_f32: --isa: %s\n", err.msg);
                return 2;
            }
            if (!ww_isa_supported(isa)) {
                fprintf(stderr, "bench_conv2d_f32: --isa %s: this CPU cannot run it\n",
                        ww_isa_name(isa));
                return 2;
            }
            only = (int)isa;
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            max_runs = atoi(argv[++i]);
            if (max_runs < 1 || max_runs > MAX_RUNS) {
                fprintf(stderr, "bench_conv2d_f32: --runs wants 1..%d\n", MAX_RUNS);
                return 2;
            }
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--active-isa")) {
            /* for scripts: the ISA the kernels use here ($WW_ISA or the best) */
            printf("%s\n", ww_isa_name(ww_isa_active()));
            return 0;
        } else if (!strcmp(argv[i], "--quiet")) {
            quiet = 1;
        } else {
            usage(stderr);
            return 2;
        }
    }

    net_buffers b;
    size_t scratch = 0, act_floats = 0;
    double total_macs = 0;
    for (int l = 0; l < NLAYERS; l++) {
        ww_conv2d_shape s = shape_of(&net[l]);
        size_t nx = (size_t)s.c_in * s.h_in * s.w_in, ny = (size_t)s.c_out * s.h_out * s.w_out;
        size_t nw = (size_t)s.c_out * s.c_in * s.k_h * s.k_w;
        float *w = alloc_floats(nw);
        /* He-like scale keeps activations O(1), as in a trained network */
        fill(w, nw, sqrtf(6.0f / (float)(s.c_in * s.k_h * s.k_w)));
        b.w[l] = alloc_floats(ww_conv2d_f32_packed_size(&s));
        b.bias[l] = alloc_floats((size_t)s.c_out);
        fill(b.bias[l], (size_t)s.c_out, 0.1f);
        if (nx > act_floats) act_floats = nx;
        if (ny > act_floats) act_floats = ny;
        /* pack under the ISA that will run: the layout is the same for all */
        ww_conv2d_f32_pack(&s, w, b.w[l]);
        free(w);
        size_t sc = ww_conv2d_f32_scratch_size(&s);
        if (sc > scratch) scratch = sc;
        total_macs += macs_of(&net[l]);
    }
    b.scratch = alloc_floats(scratch);
    for (int i = 0; i < 6; i++) {
        b.act[i] = alloc_floats(act_floats);
        fill(b.act[i], act_floats, 1.0f);
    }

    double ghz = measure_ghz();
    printf("ResNet18 convs, input 1x1x64x101: %d convs, %.1f M MACs; clock %.2f GHz measured "
           "(/proc/cpuinfo says %.2f)\n",
           NLAYERS, total_macs / 1e6, ghz, cpuinfo_ghz());

    for (int isa_i = 0; isa_i < WW_ISA_COUNT; isa_i++) {
        ww_isa isa = (ww_isa)isa_i;
        if (only >= 0 ? isa_i != only : !ww_isa_supported(isa)) continue;
        /* the VNNI variants run the float kernels of the ISA below them */
        if (only < 0 && (isa == WW_ISA_AVX512VNNI || isa == WW_ISA_AVXVNNI)) continue;
        ww_error err;
        if (ww_isa_set(isa, &err) != WW_OK) continue;

        static double per_layer[NLAYERS][MAX_RUNS], total[MAX_RUNS], wall[MAX_RUNS];
        int runs = 0;
        double start = now();
        for (int warm = 0; warm < 3; warm++)
            for (int l = 0; l < NLAYERS; l++) {
                run_layer(&b, l);
            }
        start = now();
        while (runs < max_runs && (runs < 5 || now() - start < seconds)) {
            double sum = 0, wall0 = now();
            for (int l = 0; l < NLAYERS; l++) {
                double t0 = cpu_now();
                run_layer(&b, l);
                double dt = cpu_now() - t0;
                per_layer[l][runs] = dt;
                sum += dt;
            }
            wall[runs] = now() - wall0;
            total[runs++] = sum;
        }
        /* each layer alone, repeated: its weights and input stay in cache,
         * which shows what the network order costs in memory traffic */
        static double hot[NLAYERS];
        for (int l = 0; l < NLAYERS; l++) {
            static double t[MAX_RUNS];
            int n = runs < 20 ? runs : 20;
            for (int i = -2; i < n; i++) {
                double t0 = cpu_now();
                run_layer(&b, l);
                if (i >= 0) t[i] = cpu_now() - t0;
            }
            hot[l] = median(t, n);
        }
        double peak = 2.0 * lanes_of(isa) * 2.0 * ghz; /* GFLOP/s */
        printf("\n[%s] %d runs; peak %.0f GFLOP/s (2 FMA x %d lanes x 2 flops x %.2f GHz)\n",
               ww_isa_name(isa), runs, peak, lanes_of(isa), ghz);
        double hot_sum = 0;
        for (int l = 0; l < NLAYERS; l++) hot_sum += hot[l];
        if (!quiet) {
            printf("  %-24s %9s %9s %7s %9s\n", "layer", "median ms", "GFLOP/s", "of peak",
                   "alone ms");
            for (int l = 0; l < NLAYERS; l++) {
                double t = median(per_layer[l], runs);
                double gf = 2.0 * macs_of(&net[l]) / t / 1e9;
                printf("  %-24s %9.4f %9.1f %6.1f%% %9.4f\n", net[l].name, t * 1e3, gf,
                       100.0 * gf / peak, hot[l] * 1e3);
            }
        }
        double t = median(total, runs);
        double gf = 2.0 * total_macs / t / 1e9;
        qsort(total, (size_t)runs, sizeof total[0], cmp_double);
        printf("  %-24s %9.4f %9.1f %6.1f%%   (min %.4f ms; wall clock median %.4f ms)\n",
               "sum of 20 convs", t * 1e3, gf, 100.0 * gf / peak, total[0] * 1e3,
               median(wall, runs) * 1e3);
        printf("  %-24s %9.4f %9.1f %6.1f%%   (each layer alone, in cache)\n", "sum, layers alone",
               hot_sum * 1e3, 2.0 * total_macs / hot_sum / 1e9,
               100.0 * 2.0 * total_macs / hot_sum / 1e9 / peak);
    }
    ww_isa_set(ww_isa_best(), NULL);
    return 0;
}
