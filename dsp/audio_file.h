/* Audio files in, mono float samples at the model's rate out.
 *
 * Anything libsndfile reads (WAV, FLAC, Ogg, AIFF, ...) is opened, downmixed to
 * mono by averaging the channels, checked for NaN/Inf, and resampled with libsoxr
 * (high quality) when the file's rate differs from the one asked for. Integer
 * formats come out scaled to [-1, 1). Reading is streaming, so hour-long files
 * need no more memory than a block. */
#ifndef WW_DSP_AUDIO_FILE_H
#define WW_DSP_AUDIO_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"

#define WW_AUDIO_MIN_RATE 1000
#define WW_AUDIO_MAX_RATE 768000

typedef struct ww_audio_info {
    int file_rate;       /* the file's own sample rate */
    int file_channels;   /* the file's channel count */
    int64_t file_frames; /* frames in the file at its own rate */
    int out_rate;        /* the rate samples are delivered at */
    int resampled;       /* 1 when out_rate != file_rate */
} ww_audio_info;

typedef struct ww_audio_reader ww_audio_reader;

int ww_audio_open(const char *path, int out_rate, ww_audio_reader **out, ww_audio_info *info,
                  ww_error *err);

/* Delivers up to max mono samples; returns how many (0 at the end), or a
 * negative ww_status with err naming the file and the reason. */
/* The same from a buffer in memory (through libsndfile's virtual I/O); name
 * is used in messages. The buffer must outlive the reader. */
int ww_audio_open_mem(const void *data, size_t len, const char *name, int out_rate,
                      ww_audio_reader **out, ww_audio_info *info, ww_error *err);

ssize_t ww_audio_read(ww_audio_reader *r, float *out, size_t max, ww_error *err);

void ww_audio_close(ww_audio_reader *r);

/* Reads a whole file into a malloc'd buffer the caller frees. */
int ww_audio_read_all(const char *path, int out_rate, float **samples, size_t *n,
                      ww_audio_info *info, ww_error *err);

#endif
