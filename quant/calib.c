#include "quant/calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/audio_file.h"
#include "nn/tensor_file.h"

#define CALIB_BATCH 8

void ww_windows_init(ww_windows *w, int n_mels, int frames)
{
    memset(w, 0, sizeof(*w));
    w->n_mels = n_mels;
    w->frames = frames;
    w->per = (size_t)n_mels * (size_t)frames;
}

void ww_windows_free(ww_windows *w)
{
    free(w->data);
    w->data = NULL;
    w->n = w->cap = 0;
}

static float *windows_grow(ww_windows *w, size_t more, ww_error *err)
{
    if (w->n + more > w->cap) {
        size_t cap = w->cap ? w->cap : 64;
        while (cap < w->n + more) cap *= 2;
        float *p = realloc(w->data, cap * w->per * sizeof(float));
        if (!p) {
            ww_fail(err, WW_ENOMEM, "out of memory for %zu calibration windows", cap);
            return NULL;
        }
        w->data = p;
        w->cap = cap;
    }
    return w->data + w->n * w->per;
}

typedef struct frames_sink {
    float *data; /* [frames][n_mels] */
    size_t n, cap, n_mels;
    int failed;
} frames_sink;

static void sink_frame(void *user, const float *frame)
{
    frames_sink *s = user;
    if (s->failed) return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        float *p = realloc(s->data, cap * s->n_mels * sizeof(float));
        if (!p) {
            s->failed = 1;
            return;
        }
        s->data = p;
        s->cap = cap;
    }
    memcpy(s->data + s->n * s->n_mels, frame, s->n_mels * sizeof(float));
    s->n++;
}

int ww_windows_add_audio(ww_windows *w, const char *path, const ww_mel_config *cfg, int hop,
                         int *resampled_from, ww_error *err)
{
    if (cfg->n_mels != w->n_mels)
        return ww_fail(err, WW_EINVAL, "%s: front end has %d mels, the model takes %d", path,
                       cfg->n_mels, w->n_mels);
    float *x = NULL;
    size_t n = 0;
    ww_audio_info info = {0};
    int rc = ww_audio_read_all(path, cfg->sample_rate, &x, &n, &info, err);
    if (rc) return rc;
    if (resampled_from) *resampled_from = info.resampled ? info.file_rate : 0;
    if (n == 0) {
        free(x);
        return ww_fail(err, WW_EFORMAT, "%s: no audio samples", path);
    }
    float peak = 0;
    for (size_t i = 0; i < n; i++) peak = fmaxf(peak, fabsf(x[i]));
    if (peak < 1e-5f) { /* -100 dBFS: digital silence tells nothing about ranges */
        free(x);
        return ww_fail(err, WW_EINVAL, "%s: silent (peak %.2g)", path, peak);
    }
    ww_mel *mel = NULL;
    frames_sink s = {0};
    s.n_mels = (size_t)cfg->n_mels;
    rc = ww_mel_create(cfg, &mel, err);
    if (!rc) ww_mel_push(mel, x, n, sink_frame, &s);
    ww_mel_destroy(mel);
    free(x);
    if (!rc && s.failed) rc = ww_fail(err, WW_ENOMEM, "%s: out of memory for features", path);
    if (!rc) {
        size_t frames = (size_t)w->frames, nwin;
        if (s.n < frames)
            nwin = 1;
        else
            nwin = 1 + (s.n - frames) / (size_t)hop;
        float *dst = windows_grow(w, nwin, err);
        if (!dst) rc = WW_ENOMEM;
        float pad = logf(cfg->log_floor);
        for (size_t k = 0; !rc && k < nwin; k++) {
            /* window [mels][frames]: frame t of the window is feature frame start+t */
            float *win = dst + k * w->per;
            size_t start = k * (size_t)hop;
            for (size_t m = 0; m < (size_t)w->n_mels; m++)
                for (size_t t = 0; t < frames; t++) {
                    size_t f = start + t;
                    win[m * frames + t] = f < s.n ? s.data[f * s.n_mels + m] : pad;
                }
        }
        if (!rc) w->n += nwin;
    }
    free(s.data);
    return rc;
}

int ww_windows_add_tensor_file(ww_windows *w, const char *path, ww_error *err)
{
    ww_tensor_buf a;
    int rc = ww_tensor_file_read(path, &a, err);
    if (rc) return rc;
    if (a.dtype != WW_DT_F32) {
        rc = ww_fail(err, WW_EFORMAT, "%s: %s data; model inputs are float32", path,
                     ww_dtype_name(a.dtype));
    } else if (a.count == 0 || a.count % w->per != 0 || a.ndim < 2 ||
               a.dims[a.ndim - 1] != w->frames || a.dims[a.ndim - 2] != w->n_mels) {
        rc = ww_fail(err, WW_EFORMAT,
                     "%s: shape does not end in [%d, %d] (mels, frames) as the model's input", path,
                     w->n_mels, w->frames);
    }
    const float *src = a.data;
    for (size_t i = 0; !rc && i < a.count; i++)
        if (!isfinite(src[i]))
            rc = ww_fail(err, WW_EFORMAT, "%s: NaN or Inf at element %zu", path, i);
    if (!rc) {
        size_t nwin = a.count / w->per;
        float *dst = windows_grow(w, nwin, err);
        if (!dst) {
            rc = WW_ENOMEM;
        } else {
            memcpy(dst, a.data, a.count * sizeof(float));
            w->n += nwin;
        }
    }
    ww_tensor_buf_free(&a);
    return rc;
}

/* ---- statistics by tensor name ---- */

typedef struct stat_entry {
    char *name;
    ww_observer obs;
} stat_entry;

struct ww_calib_stats {
    stat_entry **e;
    size_t n, cap;
    size_t last; /* tensors come in the same order every run */
    int failed;
};

ww_calib_stats *ww_calib_stats_new(void)
{
    return calloc(1, sizeof(ww_calib_stats));
}

void ww_calib_stats_free(ww_calib_stats *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->e[i]->name);
        free(s->e[i]);
    }
    free(s->e);
    free(s);
}

static stat_entry *stats_find(ww_calib_stats *s, const char *name)
{
    for (size_t k = 0; k < s->n; k++) {
        size_t i = (s->last + k) % s->n;
        if (!strcmp(s->e[i]->name, name)) {
            s->last = i + 1 < s->n ? i + 1 : 0;
            return s->e[i];
        }
    }
    return NULL;
}

void ww_calib_stats_observe(void *user, const ww_tensor_view *t)
{
    ww_calib_stats *s = user;
    if (t->dtype != WW_DT_F32 || !t->name) return;
    stat_entry *e = stats_find(s, t->name);
    if (!e) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 64;
            void *p = realloc(s->e, cap * sizeof(*s->e));
            if (!p) {
                s->failed = 1;
                return;
            }
            s->e = p;
            s->cap = cap;
        }
        e = malloc(sizeof(*e));
        if (!e || !(e->name = strdup(t->name))) {
            free(e);
            s->failed = 1;
            return;
        }
        ww_observer_init(&e->obs);
        s->e[s->n++] = e;
    }
    ww_observer_update(&e->obs, t->data, t->count);
}

const ww_observer *ww_calib_stats_get(void *user, const char *name)
{
    stat_entry *e = stats_find(user, name);
    return e ? &e->obs : NULL;
}

size_t ww_calib_stats_count(const ww_calib_stats *s)
{
    return s->n;
}

/* ---- running windows ---- */

static int prepare_batch(ww_model *m, size_t want, size_t *batch, ww_error *err)
{
    int64_t dims[WW_MAX_DIMS];
    if (ww_model_n_inputs(m) != 1)
        return ww_fail(err, WW_EUNSUPPORTED, "model has %d inputs; calibration feeds one",
                       ww_model_n_inputs(m));
    int nd = ww_model_input_shape(m, 0, dims);
    size_t b = nd > 0 && dims[0] > 0 ? (size_t)dims[0] : want;
    int rc = ww_model_prepare(m, (int)b, err);
    if (rc) return rc;
    *batch = b;
    return WW_OK;
}

/* Runs windows [i, i+b) (zero-padded past end) */
static int run_batch(ww_model *m, const ww_windows *w, size_t i, size_t end, size_t batch,
                     ww_error *err)
{
    ww_tensor_view in;
    int rc = ww_model_input(m, 0, &in);
    if (rc) return ww_fail(err, rc, "cannot get the model's input");
    if (in.count != batch * w->per)
        return ww_fail(err, WW_EINVAL,
                       "model input holds %zu values per batch of %zu, windows have %zu each",
                       in.count, batch, w->per);
    size_t take = end - i < batch ? end - i : batch;
    memcpy(in.data, w->data + i * w->per, take * w->per * sizeof(float));
    if (take < batch)
        memset((float *)in.data + take * w->per, 0, (batch - take) * w->per * sizeof(float));
    return ww_model_run(m, err);
}

int ww_calib_collect(ww_model *m, const ww_windows *w, size_t begin, size_t end,
                     ww_calib_stats *stats, ww_progress_fn progress, void *puser, ww_error *err)
{
    size_t batch;
    ww_model_set_fusion(m, 0);
    int rc = prepare_batch(m, CALIB_BATCH, &batch, err);
    if (rc) return rc;
    for (size_t i = begin; !rc && i < end; i += batch) {
        /* a padded tail batch would skew the statistics: run it one by one */
        if (end - i < batch && batch > 1) {
            rc = ww_model_prepare(m, 1, err);
            if (!rc) batch = 1;
            if (rc) break;
        }
        ww_model_set_observer(m, ww_calib_stats_observe, stats);
        rc = run_batch(m, w, i, end, batch, err);
        ww_model_set_observer(m, NULL, NULL);
        if (!rc && stats->failed) rc = ww_fail(err, WW_ENOMEM, "out of memory for statistics");
        if (progress)
            progress(puser, i + batch - begin < end - begin ? i + batch - begin : end - begin,
                     end - begin);
    }
    return rc;
}

int ww_calib_outputs(ww_model *m, const ww_windows *w, size_t begin, size_t end, float **out,
                     size_t *n_out, ww_error *err)
{
    size_t batch;
    *out = NULL;
    int rc = prepare_batch(m, CALIB_BATCH, &batch, err);
    float *res = NULL;
    size_t per = 0;
    for (size_t i = begin; !rc && i < end; i += batch) {
        rc = run_batch(m, w, i, end, batch, err);
        ww_tensor_view o;
        if (!rc && (rc = ww_model_output(m, 0, &o)))
            ww_fail(err, rc, "cannot read the model's output");
        if (!rc && o.dtype != WW_DT_F32)
            rc = ww_fail(err, WW_EUNSUPPORTED, "output '%s' is %s, not float", o.name,
                         ww_dtype_name(o.dtype));
        if (!rc && !res) {
            per = o.count / batch;
            res = malloc((end - begin) * per * sizeof(float) + 1);
            if (!res) rc = ww_fail(err, WW_ENOMEM, "out of memory for outputs");
        }
        if (!rc) {
            size_t take = end - i < batch ? end - i : batch;
            memcpy(res + (i - begin) * per, o.data, take * per * sizeof(float));
        }
    }
    if (rc) {
        free(res);
        return rc;
    }
    *out = res;
    *n_out = per;
    return WW_OK;
}

typedef struct capture {
    const char *const *names;
    size_t n;
    float **buf;
    size_t *count;
    int failed;
} capture;

static void capture_tensor(void *user, const ww_tensor_view *t)
{
    capture *c = user;
    if (t->dtype != WW_DT_F32 || !t->name) return;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->names[i], t->name)) continue;
        if (c->count[i] != t->count) {
            float *p = realloc(c->buf[i], t->count * sizeof(float) + 1);
            if (!p) {
                c->failed = 1;
                return;
            }
            c->buf[i] = p;
            c->count[i] = t->count;
        }
        memcpy(c->buf[i], t->data, t->count * sizeof(float));
        return;
    }
}

int ww_calib_act_sqnr(ww_model *fm, ww_model *qm, const ww_windows *w, size_t begin, size_t end,
                      const char *const *f_names, const char *const *q_names, size_t n,
                      double *sqnr_db, ww_error *err)
{
    capture cf = {f_names, n, calloc(n + 1, sizeof(float *)), calloc(n + 1, sizeof(size_t)), 0};
    double *sig = calloc(n + 1, sizeof(double)), *noise = calloc(n + 1, sizeof(double));
    int rc = WW_OK;
    if (!cf.buf || !cf.count || !sig || !noise) rc = ww_fail(err, WW_ENOMEM, "out of memory");
    size_t bf = 1, bq = 1;
    ww_model_set_fusion(fm, 0);
    ww_model_set_fusion(qm, 0);
    if (!rc) rc = ww_model_prepare(fm, 1, err);
    if (!rc) rc = ww_model_prepare(qm, 1, err);
    for (size_t i = begin; !rc && i < end; i++) {
        ww_model_set_observer(fm, capture_tensor, &cf);
        rc = run_batch(fm, w, i, end, bf, err);
        ww_model_set_observer(fm, NULL, NULL);
        if (rc) break;
        /* compare in the QDQ run as its tensors appear */
        float **fbuf = cf.buf;
        size_t *fcount = cf.count;
        capture cq = {q_names, n, calloc(n + 1, sizeof(float *)), calloc(n + 1, sizeof(size_t)), 0};
        if (!cq.buf || !cq.count) {
            free(cq.buf);
            free(cq.count);
            rc = ww_fail(err, WW_ENOMEM, "out of memory");
            break;
        }
        ww_model_set_observer(qm, capture_tensor, &cq);
        rc = run_batch(qm, w, i, end, bq, err);
        ww_model_set_observer(qm, NULL, NULL);
        for (size_t k = 0; !rc && k < n; k++) {
            if (!fbuf[k] || !cq.buf[k] || fcount[k] != cq.count[k]) continue;
            for (size_t j = 0; j < fcount[k]; j++) {
                double d = (double)fbuf[k][j] - cq.buf[k][j];
                sig[k] += (double)fbuf[k][j] * fbuf[k][j];
                noise[k] += d * d;
            }
        }
        if (cf.failed || cq.failed) rc = ww_fail(err, WW_ENOMEM, "out of memory");
        for (size_t k = 0; k < n; k++) free(cq.buf[k]);
        free(cq.buf);
        free(cq.count);
    }
    for (size_t k = 0; !rc && k < n; k++) {
        if (noise[k] == 0)
            sqnr_db[k] = sig[k] > 0 ? 200 : NAN;
        else
            sqnr_db[k] = sig[k] > 0 ? 10 * log10(sig[k] / noise[k]) : -200;
    }
    if (cf.buf)
        for (size_t k = 0; k < n; k++) free(cf.buf[k]);
    free(cf.buf);
    free(cf.count);
    free(sig);
    free(noise);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int ww_calib_latency(ww_model *m, const ww_windows *w, int runs, double *median_ms, double *p95_ms,
                     ww_error *err)
{
    ww_model_set_fusion(m, 1);
    int rc = ww_model_prepare(m, 1, err);
    if (rc) return rc;
    if (runs < 1) runs = 1;
    double *t = malloc((size_t)runs * sizeof(double));
    if (!t) return ww_fail(err, WW_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < 5; i++) rc = run_batch(m, w, i % w->n, w->n, 1, err); /* warm up */
    for (int i = 0; !rc && i < runs; i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        rc = run_batch(m, w, (size_t)i % w->n, w->n, 1, err);
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    if (!rc) {
        qsort(t, (size_t)runs, sizeof(double), cmp_double);
        *median_ms = t[runs / 2];
        *p95_ms = t[(size_t)(0.95 * (runs - 1) + 0.5)];
    }
    free(t);
    return rc;
}
