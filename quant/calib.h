/* Calibration and evaluation data for the quantizer: model-sized input
 * windows (from audio through the project's own front end, or from .npy),
 * activation statistics gathered through the engine's observer, and the
 * float-vs-quantized comparisons the report prints. */
#ifndef WW_QUANT_CALIB_H
#define WW_QUANT_CALIB_H

#include <stddef.h>

#include "core/error.h"
#include "dsp/mel.h"
#include "nn/model.h"
#include "quant/observer.h"

/* n windows of `per` floats each ([1, n_mels, frames] for the wakeword model) */
typedef struct ww_windows {
    float *data;
    size_t n, cap;
    size_t per;
    int n_mels, frames;
} ww_windows;

void ww_windows_init(ww_windows *w, int n_mels, int frames);
void ww_windows_free(ww_windows *w);

/* Appends the windows of one audio file: log-mel frames cut into windows of
 * `frames` every `hop` frames; a file shorter than a window is padded with
 * log(floor) frames (silence). Fails (naming the file) for unreadable,
 * empty or silent audio; info may be NULL. */
int ww_windows_add_audio(ww_windows *w, const char *path, const ww_mel_config *cfg, int hop,
                         int *resampled_from, ww_error *err);

/* Appends the samples of a float32 .npy or TensorProto .pb whose trailing dims
 * match the window ([N,1,n_mels,frames], [N,n_mels,frames] or one window). */
int ww_windows_add_tensor_file(ww_windows *w, const char *path, ww_error *err);

/* Per-tensor observers keyed by ONNX name. */
typedef struct ww_calib_stats ww_calib_stats;
ww_calib_stats *ww_calib_stats_new(void);
void ww_calib_stats_free(ww_calib_stats *s);
/* Signatures fit ww_model_observer and ww_qdq_stats_fn. */
void ww_calib_stats_observe(void *stats, const ww_tensor_view *t);
const ww_observer *ww_calib_stats_get(void *stats, const char *name);
size_t ww_calib_stats_count(const ww_calib_stats *s);

/* Progress over batches: called with done and total windows. */
typedef void (*ww_progress_fn)(void *user, size_t done, size_t total);

/* Runs windows [begin, end) through the model (prepared here for batches),
 * feeding every float tensor to stats. The model's input must be one float
 * tensor of the window's size. */
int ww_calib_collect(ww_model *m, const ww_windows *w, size_t begin, size_t end,
                     ww_calib_stats *stats, ww_progress_fn progress, void *puser, ww_error *err);

/* Output 0 for windows [begin, end): out holds (end-begin) * *n_out floats. */
int ww_calib_outputs(ww_model *m, const ww_windows *w, size_t begin, size_t end, float **out,
                     size_t *n_out, ww_error *err);

/* SQNR (dB) of each quantized activation: the QDQ model's q_names[i] against
 * the float model's f_names[i], over windows [begin, end). */
int ww_calib_act_sqnr(ww_model *fm, ww_model *qm, const ww_windows *w, size_t begin, size_t end,
                      const char *const *f_names, const char *const *q_names, size_t n,
                      double *sqnr_db, ww_error *err);

/* Median and 95th percentile of single-window run times, in ms. */
int ww_calib_latency(ww_model *m, const ww_windows *w, int runs, double *median_ms, double *p95_ms,
                     ww_error *err);

#endif
