/* wakewordd detect: the daemon's detector over audio files, as fast as the CPU
 * allows. The same code path as `run`, so a file gives the detections the
 * daemon would give for the same audio. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "daemon/config.h"
#include "daemon/detector.h"
#include "daemon/events.h"
#include "dsp/audio_file.h"

static const char usage[] =
    "usage: wakewordd detect [options] FILE...\n"
    "\n"
    "Runs the wake word detector over each FILE (anything libsndfile reads,\n"
    "resampled to the model's rate; '-' reads raw signed 16-bit little-endian\n"
    "mono at the model's rate from stdin) and prints one line per detection:\n"
    "FILE, keyword, time (s from the start of that file) and score. A summary\n"
    "(audio seconds, processing seconds, real-time factor) goes to stderr.\n"
    "Exit status 0 with or without detections; 1 on errors.\n"
    "\n"
    "options:\n"
    "  -m, --model FILE    wake word model (.onnx); repeat for several keywords\n"
    "                      [" WW_DEFAULT_MODEL "]\n"
    "  -t, --threshold X   detection threshold in (0, 1] [each model's own]\n"
    "      --json          one JSON object per detection: file, keyword, score,\n"
    "                      time_s, model\n"
    "  -h, --help          show this help\n";

typedef struct sink_ctx {
    const char *file;
    int json;
    size_t count;
} sink_ctx;

static void print_detection(void *user, const ww_detection *d)
{
    sink_ctx *c = user;
    c->count++;
    if (c->json)
        ww_json_detection(stdout, c->file, d, 0);
    else
        printf("%s\t%s\t%.3f\t%.4f\n", c->file, d->keyword, d->time_s, d->score);
}

#define BLOCK 16000

/* Returns samples processed, or negative with err set. */
static long long run_file(ww_detector *det, const char *path, sink_ctx *ctx, float *buf,
                          ww_error *err)
{
    long long total = 0;
    ww_detector_reset(det);
    ctx->file = path;
    if (!strcmp(path, "-")) {
        static int16_t raw[BLOCK];
        size_t n;
        while ((n = fread(raw, 2, BLOCK, stdin)) > 0) {
            for (size_t i = 0; i < n; i++) buf[i] = (float)raw[i] * (1.0f / 32768.0f);
            if (ww_detector_push(det, buf, n, print_detection, ctx, err) < 0) return -1;
            total += (long long)n;
        }
        if (ferror(stdin)) return ww_fail(err, WW_EIO, "-: read error: %s", strerror(errno));
        return total;
    }
    ww_audio_reader *r;
    int rc = ww_audio_open(path, ww_detector_sample_rate(det), &r, NULL, err);
    if (rc) return rc;
    ssize_t n;
    while ((n = ww_audio_read(r, buf, BLOCK, err)) > 0) {
        if (ww_detector_push(det, buf, (size_t)n, print_detection, ctx, err) < 0) {
            ww_audio_close(r);
            return -1;
        }
        total += n;
    }
    ww_audio_close(r);
    return n < 0 ? n : total;
}

int ww_cmd_detect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},
        {"threshold", required_argument, 0, 't'},
        {"json", no_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    ww_config cfg;
    ww_config_defaults(&cfg);
    sink_ctx ctx = {0};
    ww_error err = {{0}};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":m:t:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(usage, stdout);
            return WW_EXIT_OK;
        case 'm':
        case 't':
            if (ww_config_set(&cfg, opt == 'm' ? "model" : "threshold", optarg, &err))
                return ww_cli_usage_error("detect", usage, "--%s", err.msg);
            break;
        case 'J':
            ctx.json = 1;
            break;
        default:
            return ww_cli_bad_option("detect", usage, opt, argv);
        }
    }
    if (optind >= argc) return ww_cli_usage_error("detect", usage, "no input FILE");
    int stdin_uses = 0;
    for (int i = optind; i < argc; i++) stdin_uses += !strcmp(argv[i], "-");
    if (stdin_uses > 1) return ww_cli_usage_error("detect", usage, "'-' given more than once");

    const char *paths[WW_MAX_MODELS];
    for (int i = 0; i < cfg.n_models; i++) paths[i] = cfg.models[i];
    ww_detector *det;
    if (ww_detector_create(paths, cfg.n_models, cfg.threshold, &det, &err))
        return ww_cli_error("detect", &err);
    float *buf = malloc(BLOCK * sizeof(float));
    if (!buf) {
        ww_detector_destroy(det);
        ww_fail(&err, WW_ENOMEM, "out of memory");
        return ww_cli_error("detect", &err);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long long samples = 0;
    int rc = WW_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        long long n = run_file(det, argv[i], &ctx, buf, &err);
        if (n < 0) {
            rc = ww_cli_error("detect", &err);
            break;
        }
        samples += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double audio = (double)samples / ww_detector_sample_rate(det);
    fflush(stdout);
    fprintf(stderr,
            "wakewordd detect: %zu detection%s in %.1f s of audio, processed in %.3f s "
            "(real-time factor %.5f, %llu model runs)\n",
            ctx.count, ctx.count == 1 ? "" : "s", audio, secs, audio > 0 ? secs / audio : 0.0,
            (unsigned long long)ww_detector_runs(det));
    free(buf);
    ww_detector_destroy(det);
    return rc;
}
