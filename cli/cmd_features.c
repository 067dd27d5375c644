/* wakewordd features: an audio file in, its log-mel features out as .npy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/npy.h"
#include "dsp/audio_file.h"
#include "dsp/mel.h"

static const char usage[] =
    "usage: wakewordd features [options] IN OUT.npy\n"
    "\n"
    "Reads IN (any format libsndfile reads), downmixes to mono, resamples to the\n"
    "front end's rate, and writes log-mel features as float32 [frames, n_mels].\n"
    "\n"
    "options (defaults in brackets):\n"
    "  --sample-rate HZ   rate the features are computed at [16000]\n"
    "  --n-fft N          FFT size and frame span [512]\n"
    "  --win-length N     Hann window length, <= n-fft [400]\n"
    "  --hop-length N     samples between frames [160]\n"
    "  --n-mels N         mel bands [64]\n"
    "  --f-min HZ         lowest band edge [0]\n"
    "  --f-max HZ         highest band edge, <= sample-rate/2 [8000]\n"
    "  --mel-scale S      htk or slaney [htk]\n"
    "  --mel-norm S       none or slaney (area normalisation) [none]\n"
    "  --log-floor X      features are log(mel + X) [1e-6]\n"
    "  -h, --help         show this help\n";

typedef struct frame_sink {
    float *data;
    size_t frames, cap, n_mels;
} frame_sink;

static void collect(void *user, const float *frame)
{
    frame_sink *s = user;
    if (s->frames < s->cap) memcpy(s->data + s->frames * s->n_mels, frame, s->n_mels * 4);
    s->frames++;
}

int ww_cmd_features(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sample-rate", required_argument, 0, 0},
        {"n-fft", required_argument, 0, 0},
        {"win-length", required_argument, 0, 0},
        {"hop-length", required_argument, 0, 0},
        {"n-mels", required_argument, 0, 0},
        {"f-min", required_argument, 0, 0},
        {"f-max", required_argument, 0, 0},
        {"mel-scale", required_argument, 0, 0},
        {"mel-norm", required_argument, 0, 0},
        {"log-floor", required_argument, 0, 0},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    ww_mel_config cfg = ww_mel_config_default();
    ww_error err = {{0}};
    int opt, idx;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, &idx)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return WW_EXIT_OK;
        }
        if (opt != 0) return ww_cli_bad_option("features", usage, opt, argv);
        if (ww_mel_config_set(&cfg, opts[idx].name, optarg, &err))
            return ww_cli_usage_error("features", usage, "--%s", err.msg);
    }
    if (argc - optind != 2)
        return ww_cli_usage_error("features", usage, "expected IN and OUT.npy, got %d argument%s",
                                  argc - optind, argc - optind == 1 ? "" : "s");
    const char *in = argv[optind], *out = argv[optind + 1];
    if (ww_mel_config_validate(&cfg, &err))
        return ww_cli_usage_error("features", usage, "%s", err.msg);

    float *samples = NULL;
    size_t n = 0;
    ww_mel *mel = NULL;
    frame_sink sink = {0};
    int rc = ww_audio_read_all(in, cfg.sample_rate, &samples, &n, NULL, &err);
    if (!rc) rc = ww_mel_create(&cfg, &mel, &err);
    if (!rc) {
        sink.n_mels = (size_t)cfg.n_mels;
        sink.cap = ww_mel_frame_count(&cfg, n);
        if (sink.cap == 0)
            rc = ww_fail(&err, WW_EFORMAT, "%s: too short: %zu samples at %d Hz, a frame needs %d",
                         in, n, cfg.sample_rate, cfg.n_fft);
    }
    if (!rc) {
        sink.data = malloc(sink.cap * sink.n_mels * sizeof(float));
        if (!sink.data) rc = ww_fail(&err, WW_ENOMEM, "%s: out of memory", in);
    }
    if (!rc) {
        ww_mel_push(mel, samples, n, collect, &sink);
        int64_t shape[2] = {(int64_t)sink.frames, (int64_t)sink.n_mels};
        rc = ww_npy_write(out, WW_NPY_F32, sink.data, 2, shape, &err);
    }
    free(sink.data);
    free(samples);
    ww_mel_destroy(mel);
    return rc ? ww_cli_error("features", &err) : WW_EXIT_OK;
}
