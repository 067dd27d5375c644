/* The wake word detector, shared by `wakewordd run` and `wakewordd detect` so
 * a file and a live stream of the same audio give the same detections.
 *
 * Each model brings its front-end settings in its ONNX metadata_props (the keys
 * of ww_mel_config_set, plus window_frames, labels, keyword, threshold,
 * hop_frames, smoothing_frames, refractory_s). Models with identical front ends
 * share one streaming log-mel. The rule, per model, after each new frame (c =
 * frames so far in this stream):
 *   when c >= window_frames and (c - window_frames) % hop_frames == 0:
 *     run the model on the last window_frames frames (input [1,1,n_mels,W],
 *     mels on H, time on W), softmax, take P(keyword), average the last
 *     smoothing_frames such scores (fewer at the start of a stream), and fire
 *     when the average >= threshold and the refractory period since the last
 *     detection (refractory_s, in audio time) has passed.
 * time_s of a detection is the end of the window's last frame: frame t ends at
 * sample t*hop + n_fft.
 *
 * Everything is allocated by ww_detector_create(); push does not allocate, lock
 * or block. Not thread-safe: one thread pushes and changes thresholds. */
#ifndef WW_DAEMON_DETECTOR_H
#define WW_DAEMON_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ww_detection {
    const char *keyword;
    const char *model; /* the model file */
    int model_index;
    double score;  /* the smoothed score that crossed the threshold */
    double time_s; /* audio seconds since the start of the stream */
} ww_detection;

typedef void (*ww_detection_sink)(void *user, const ww_detection *d);

typedef struct ww_detector ww_detector;

/* Loads every model and checks they agree on the sample rate. threshold >= 0
 * overrides every model's own. */
int ww_detector_create(const char *const *model_paths, int n_models, double threshold,
                       ww_detector **out, ww_error *err);
void ww_detector_destroy(ww_detector *d);

/* Feeds mono float samples at ww_detector_sample_rate(); calls sink for each
 * detection. Returns the number of detections, or a negative ww_status. */
int ww_detector_push(ww_detector *d, const float *samples, size_t n, ww_detection_sink sink,
                     void *user, ww_error *err);

/* Starts a new stream: audio time back to 0, features and scores forgotten. */
void ww_detector_reset(ww_detector *d);

int ww_detector_sample_rate(const ww_detector *d);
int ww_detector_n_models(const ww_detector *d);
const char *ww_detector_keyword(const ww_detector *d, int i);
const char *ww_detector_model_path(const ww_detector *d, int i);
double ww_detector_threshold(const ww_detector *d, int i);
/* The last smoothed score of model i (0 before its first run). */
double ww_detector_last_score(const ww_detector *d, int i);
/* Model runs so far in this process (all models, all streams). */
uint64_t ww_detector_runs(const ww_detector *d);

/* Sets the threshold of every model whose keyword matches. WW_EINVAL for a value
 * outside (0, 1] or an unknown keyword. */
int ww_detector_set_threshold(ww_detector *d, const char *keyword, double value, ww_error *err);

#endif
