/* Streaming log-mel spectrogram, the model's front end.
 *
 * Frame t covers samples [t*hop, t*hop + n_fft): a periodic Hann window of
 * win_length samples centred in the n_fft span, FFTW r2c (double), power |X|^2, a
 * triangular mel filterbank, then log(mel + log_floor). This is torchaudio's
 * MelSpectrogram(power=2, center=False) followed by the same log, so models
 * trained in PyTorch on these features see the same numbers here.
 *
 * ww_mel_push() accepts any number of samples and hands each completed frame to
 * a callback; the result does not depend on how the audio is chunked. After
 * ww_mel_create() nothing allocates, locks or blocks, so it is safe on the
 * audio path. */
#ifndef WW_DSP_MEL_H
#define WW_DSP_MEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum ww_mel_scale { WW_MEL_HTK, WW_MEL_SLANEY } ww_mel_scale;
typedef enum ww_mel_norm { WW_MEL_NORM_NONE, WW_MEL_NORM_SLANEY } ww_mel_norm;

typedef struct ww_mel_config {
    int sample_rate;  /* Hz of the input samples */
    int n_fft;        /* FFT size; also the span of one frame */
    int win_length;   /* Hann window length, <= n_fft */
    int hop_length;   /* samples between frame starts */
    int n_mels;       /* mel bands per frame */
    float f_min;      /* Hz, lower edge of the lowest band */
    float f_max;      /* Hz, upper edge of the highest band; <= sample_rate / 2 */
    ww_mel_scale mel_scale;
    ww_mel_norm mel_norm;
    float log_floor; /* added before the natural log; > 0 */
} ww_mel_config;

/* 16 kHz, n_fft 512, 400-sample window, 160 hop, 64 bands, 0..8000 Hz, HTK
 * scale, no band normalisation, floor 1e-6. */
ww_mel_config ww_mel_config_default(void);

/* Checks every field; the message names the offending setting. */
int ww_mel_config_validate(const ww_mel_config *cfg, ww_error *err);

/* Sets one field from text, by the key used in options (with '-' or '_') and
 * in ONNX metadata_props: sample_rate, n_fft, win_length, hop_length, n_mels,
 * f_min, f_max, mel_scale (htk|slaney), mel_norm (none|slaney), log_floor.
 * Returns WW_EUNSUPPORTED for an unknown key, WW_EINVAL for a bad value. */
int ww_mel_config_set(ww_mel_config *cfg, const char *key, const char *value, ww_error *err);

/* Writes "key=value" pairs for every field, one per call of emit; used to put
 * the settings into a model's metadata and to print them. */
void ww_mel_config_foreach(const ww_mel_config *cfg,
                           void (*emit)(void *user, const char *key, const char *value),
                           void *user);

typedef struct ww_mel ww_mel;

/* Called once per completed frame with n_mels log-mel values. */
typedef void (*ww_mel_sink)(void *user, const float *frame);

int ww_mel_create(const ww_mel_config *cfg, ww_mel **out, ww_error *err);
void ww_mel_destroy(ww_mel *mel);

/* Feeds n samples; returns the number of frames emitted. */
size_t ww_mel_push(ww_mel *mel, const float *samples, size_t n, ww_mel_sink sink, void *user);

/* Forgets buffered samples so the next push starts a new stream. */
void ww_mel_reset(ww_mel *mel);

const ww_mel_config *ww_mel_get_config(const ww_mel *mel);

/* Frames a signal of n samples yields: 1 + (n - n_fft) / hop, or 0. */
size_t ww_mel_frame_count(const ww_mel_config *cfg, size_t n_samples);

/* The filterbank as a dense [n_fft/2+1][n_mels] matrix (torchaudio's layout),
 * for tests. */
int ww_mel_filterbank(const ww_mel_config *cfg, float *fb, ww_error *err);

#endif
