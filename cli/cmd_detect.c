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
#include "core/outfile.h"
#include "daemon/config.h"
#include "daemon/detector.h"
#include "daemon/events.h"
#include "dsp/audio_file.h"
#include "dsp/mel.h"
#include "nn/model.h"

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
    "      --scores FILE   also write every smoothed score the detector computes:\n"
    "                      a TSV with a header line, then FILE, time_s (the end\n"
    "                      of the window's last frame, as for detections) and\n"
    "                      score, one line per model run; needs one model\n"
    "  -h, --help          show this help\n";

typedef struct sink_ctx {
    const char *file;
    int json;
    size_t count;
    /* --scores: audio is pushed so that each push ends exactly where a frame
     * ends (n_fft, then every hop_length samples), so a push runs the model at
     * most once and its time is the number of samples pushed so far */
    FILE *scores;
    int sample_rate, n_fft, hop;
    long long pos, next_end;
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

/* Pushes n samples; with --scores, in pieces that end on frame ends, writing
 * the smoothed score after each push that ran the model. */
static int push(ww_detector *det, const float *x, size_t n, sink_ctx *ctx, ww_error *err)
{
    if (!ctx->scores) return ww_detector_push(det, x, n, print_detection, ctx, err) < 0 ? -1 : 0;
    while (n > 0) {
        size_t take = n;
        if ((long long)take > ctx->next_end - ctx->pos) take = (size_t)(ctx->next_end - ctx->pos);
        uint64_t runs = ww_detector_runs(det);
        if (ww_detector_push(det, x, take, print_detection, ctx, err) < 0) return -1;
        ctx->pos += (long long)take;
        x += take;
        n -= take;
        if (ctx->pos == ctx->next_end) ctx->next_end += ctx->hop;
        if (ww_detector_runs(det) != runs &&
            fprintf(ctx->scores, "%s\t%.4f\t%.9g\n", ctx->file, (double)ctx->pos / ctx->sample_rate,
                    ww_detector_last_score(det, 0)) < 0)
            return ww_fail(err, WW_EIO, "--scores: write error: %s", strerror(errno));
    }
    return 0;
}

/* The model's frame size and hop (metadata, or the front end's defaults). */
static int frame_geometry(const char *path, sink_ctx *ctx, ww_error *err)
{
    ww_model *m;
    int rc = ww_model_load_unprepared(path, &m, err);
    if (rc) return rc;
    ww_mel_config cfg = ww_mel_config_default();
    static const char *const keys[] = {"sample_rate", "n_fft", "hop_length"};
    for (size_t i = 0; i < 3 && !rc; i++) {
        const char *v = ww_model_meta(m, keys[i]);
        if (v && (rc = ww_mel_config_set(&cfg, keys[i], v, err))) ww_error_prefix(err, rc, path);
    }
    ww_model_free(m);
    ctx->n_fft = cfg.n_fft;
    ctx->hop = cfg.hop_length;
    return rc;
}

/* Returns samples processed, or negative with err set. */
static long long run_file(ww_detector *det, const char *path, sink_ctx *ctx, float *buf,
                          ww_error *err)
{
    long long total = 0;
    ww_detector_reset(det);
    ctx->file = path;
    ctx->pos = 0;
    ctx->next_end = ctx->n_fft;
    if (!strcmp(path, "-")) {
        static int16_t raw[BLOCK];
        size_t n;
        while ((n = fread(raw, 2, BLOCK, stdin)) > 0) {
            for (size_t i = 0; i < n; i++) buf[i] = (float)raw[i] * (1.0f / 32768.0f);
            if (push(det, buf, n, ctx, err) < 0) return -1;
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
        if (push(det, buf, (size_t)n, ctx, err) < 0) {
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
        {"model", required_argument, 0, 'm'}, {"threshold", required_argument, 0, 't'},
        {"json", no_argument, 0, 'J'},        {"scores", required_argument, 0, 'S'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0},
    };
    ww_config cfg;
    ww_config_defaults(&cfg);
    sink_ctx ctx = {0};
    ww_error err = {{0}};
    const char *scores_path = NULL;
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
        case 'S':
            scores_path = optarg;
            break;
        default:
            return ww_cli_bad_option("detect", usage, opt, argv);
        }
    }
    if (optind >= argc) return ww_cli_usage_error("detect", usage, "no input FILE");
    int stdin_uses = 0;
    for (int i = optind; i < argc; i++) stdin_uses += !strcmp(argv[i], "-");
    if (stdin_uses > 1) return ww_cli_usage_error("detect", usage, "'-' given more than once");

    if (scores_path && cfg.n_models != 1)
        return ww_cli_usage_error("detect", usage, "--scores needs exactly one --model, not %d",
                                  cfg.n_models);

    const char *paths[WW_MAX_MODELS];
    for (int i = 0; i < cfg.n_models; i++) paths[i] = cfg.models[i];
    ww_detector *det;
    if (ww_detector_create(paths, cfg.n_models, cfg.threshold, &det, &err))
        return ww_cli_error("detect", &err);
    ww_outfile sof = {0};
    if (scores_path) {
        ctx.sample_rate = ww_detector_sample_rate(det);
        if (frame_geometry(paths[0], &ctx, &err) || ww_outfile_open(&sof, scores_path, &err)) {
            ww_detector_destroy(det);
            return ww_cli_error("detect", &err);
        }
        ctx.scores = sof.fp;
        fputs("file\ttime_s\tscore\n", ctx.scores);
    }
    float *buf = malloc(BLOCK * sizeof(float));
    if (!buf) {
        ww_outfile_abort(&sof);
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
    if (scores_path) {
        if (rc == WW_EXIT_OK && ww_outfile_commit(&sof, &err)) rc = ww_cli_error("detect", &err);
        ww_outfile_abort(&sof);
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
