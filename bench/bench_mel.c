/* Front-end throughput: frames per second and the real-time factor of the
 * streaming log-mel on one core, pushing audio in 10 ms chunks as the daemon
 * does. Prints the median of several repetitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/audio_file.h"
#include "dsp/mel.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sink(void *user, const float *frame)
{
    *(float *)user += frame[0];
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "tests/fixtures/mel/speech.wav";
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    if (reps < 1 || reps > 1000) reps = 7;
    float *clip;
    size_t n_clip;
    ww_error err;
    if (ww_audio_read_all(path, 16000, &clip, &n_clip, NULL, &err)) {
        fprintf(stderr, "bench_mel: %s\n", err.msg);
        return 1;
    }
    /* 60 s of audio made of the clip repeated */
    size_t n = 16000 * 60;
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = clip[i % n_clip];
    ww_mel_config cfg = ww_mel_config_default();
    ww_mel *mel;
    if (ww_mel_create(&cfg, &mel, &err)) {
        fprintf(stderr, "bench_mel: %s\n", err.msg);
        return 1;
    }
    double t[1000];
    float check = 0;
    size_t frames = 0;
    for (int r = 0; r < reps; r++) {
        ww_mel_reset(mel);
        frames = 0;
        double t0 = now();
        for (size_t i = 0; i < n; i += 160)
            frames += ww_mel_push(mel, x + i, n - i < 160 ? n - i : 160, sink, &check);
        t[r] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double med = t[reps / 2];
    printf("front end: %zu frames of 60 s audio (n_fft %d, %d mels), median of %d runs\n", frames,
           cfg.n_fft, cfg.n_mels, reps);
    printf("  %.0f frames/s, %.2f us/frame, real-time factor %.0fx (target >= 2000x)\n",
           frames / med, med / frames * 1e6, 60.0 / med);
    printf("  min %.4f s, median %.4f s, max %.4f s per 60 s  [checksum %g]\n", t[0], med,
           t[reps - 1], (double)check);
    ww_mel_destroy(mel);
    free(x);
    free(clip);
    return 0;
}
