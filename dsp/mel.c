#include "dsp/mel.h"

#include <errno.h>
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ww_mel {
    ww_mel_config cfg;
    int n_bins;
    fftw_plan plan;
    double *fft_in;        /* n_fft, windowed frame */
    fftw_complex *fft_out; /* n_bins */
    double *window;        /* win_length */
    int win_offset;        /* where the window starts inside the n_fft span */
    float *hist;           /* the last n_fft samples */
    int fill;              /* valid samples in hist */
    double *power;         /* n_bins */
    int *band_start;       /* first bin with non-zero weight, per band */
    int *band_len;         /* bins with non-zero weight, per band */
    double *band_w;        /* concatenated weights */
    float *frame;          /* n_mels */
};

/* The FFT runs in double precision: in float, FFT round-off next to a loud
 * tone reaches 1e-3 in the log of quiet bands (measured on a sine sweep against
 * torchaudio in float64), and double costs about a microsecond per frame.
 * FFTW's planner is not thread-safe; execution of a made plan is. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

ww_mel_config ww_mel_config_default(void)
{
    ww_mel_config c = {
        .sample_rate = 16000,
        .n_fft = 512,
        .win_length = 400,
        .hop_length = 160,
        .n_mels = 64,
        .f_min = 0.0f,
        .f_max = 8000.0f,
        .mel_scale = WW_MEL_HTK,
        .mel_norm = WW_MEL_NORM_NONE,
        .log_floor = 1e-6f,
    };
    return c;
}

int ww_mel_config_validate(const ww_mel_config *c, ww_error *err)
{
    if (c->sample_rate < 1000 || c->sample_rate > 384000)
        return ww_fail(err, WW_EINVAL, "sample_rate %d is out of range (1000..384000)",
                       c->sample_rate);
    if (c->n_fft < 16 || c->n_fft > 65536)
        return ww_fail(err, WW_EINVAL, "n_fft %d is out of range (16..65536)", c->n_fft);
    if (c->win_length < 2 || c->win_length > c->n_fft)
        return ww_fail(err, WW_EINVAL, "win_length %d is out of range (2..n_fft=%d)", c->win_length,
                       c->n_fft);
    if (c->hop_length < 1 || c->hop_length > c->n_fft)
        return ww_fail(err, WW_EINVAL, "hop_length %d is out of range (1..n_fft=%d)", c->hop_length,
                       c->n_fft);
    if (c->n_mels < 1 || c->n_mels > 1024)
        return ww_fail(err, WW_EINVAL, "n_mels %d is out of range (1..1024)", c->n_mels);
    if (!(c->f_min >= 0.0f))
        return ww_fail(err, WW_EINVAL, "f_min %g must be >= 0", (double)c->f_min);
    if (!(c->f_max > c->f_min) || c->f_max > c->sample_rate / 2.0f)
        return ww_fail(err, WW_EINVAL, "f_max %g must be above f_min %g and at most %g (Nyquist)",
                       (double)c->f_max, (double)c->f_min, c->sample_rate / 2.0);
    if (!(c->log_floor > 0.0f) || !isfinite(c->log_floor))
        return ww_fail(err, WW_EINVAL, "log_floor %g must be a positive number",
                       (double)c->log_floor);
    if (c->mel_scale != WW_MEL_HTK && c->mel_scale != WW_MEL_SLANEY)
        return ww_fail(err, WW_EINVAL, "mel_scale must be htk or slaney");
    if (c->mel_norm != WW_MEL_NORM_NONE && c->mel_norm != WW_MEL_NORM_SLANEY)
        return ww_fail(err, WW_EINVAL, "mel_norm must be none or slaney");
    return WW_OK;
}

static int parse_int(const char *key, const char *v, int *out, ww_error *err)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < -1000000000L || x > 1000000000L)
        return ww_fail(err, WW_EINVAL, "%s: '%s' is not an integer", key, v);
    *out = (int)x;
    return WW_OK;
}

static int parse_float(const char *key, const char *v, float *out, ww_error *err)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x))
        return ww_fail(err, WW_EINVAL, "%s: '%s' is not a finite number", key, v);
    *out = (float)x;
    return WW_OK;
}

int ww_mel_config_set(ww_mel_config *c, const char *key_in, const char *v, ww_error *err)
{
    char key[32];
    size_t i = 0;
    for (; key_in[i] && i + 1 < sizeof key; i++) key[i] = key_in[i] == '-' ? '_' : key_in[i];
    key[i] = '\0';

    if (!strcmp(key, "sample_rate")) return parse_int(key_in, v, &c->sample_rate, err);
    if (!strcmp(key, "n_fft")) return parse_int(key_in, v, &c->n_fft, err);
    if (!strcmp(key, "win_length")) return parse_int(key_in, v, &c->win_length, err);
    if (!strcmp(key, "hop_length")) return parse_int(key_in, v, &c->hop_length, err);
    if (!strcmp(key, "n_mels")) return parse_int(key_in, v, &c->n_mels, err);
    if (!strcmp(key, "f_min")) return parse_float(key_in, v, &c->f_min, err);
    if (!strcmp(key, "f_max")) return parse_float(key_in, v, &c->f_max, err);
    if (!strcmp(key, "log_floor")) return parse_float(key_in, v, &c->log_floor, err);
    if (!strcmp(key, "mel_scale")) {
        if (!strcmp(v, "htk"))
            c->mel_scale = WW_MEL_HTK;
        else if (!strcmp(v, "slaney"))
            c->mel_scale = WW_MEL_SLANEY;
        else
            return ww_fail(err, WW_EINVAL, "%s: '%s' is not htk or slaney", key_in, v);
        return WW_OK;
    }
    if (!strcmp(key, "mel_norm")) {
        if (!strcmp(v, "none"))
            c->mel_norm = WW_MEL_NORM_NONE;
        else if (!strcmp(v, "slaney"))
            c->mel_norm = WW_MEL_NORM_SLANEY;
        else
            return ww_fail(err, WW_EINVAL, "%s: '%s' is not none or slaney", key_in, v);
        return WW_OK;
    }
    return ww_fail(err, WW_EUNSUPPORTED, "unknown front-end setting '%s'", key_in);
}

void ww_mel_config_foreach(const ww_mel_config *c,
                           void (*emit)(void *user, const char *key, const char *value), void *user)
{
    char buf[64];
#define EMIT_INT(k)                                                                                \
    snprintf(buf, sizeof buf, "%d", c->k);                                                         \
    emit(user, #k, buf)
#define EMIT_FLOAT(k)                                                                              \
    snprintf(buf, sizeof buf, "%.9g", (double)c->k);                                               \
    emit(user, #k, buf)
    EMIT_INT(sample_rate);
    EMIT_INT(n_fft);
    EMIT_INT(win_length);
    EMIT_INT(hop_length);
    EMIT_INT(n_mels);
    EMIT_FLOAT(f_min);
    EMIT_FLOAT(f_max);
    emit(user, "mel_scale", c->mel_scale == WW_MEL_SLANEY ? "slaney" : "htk");
    emit(user, "mel_norm", c->mel_norm == WW_MEL_NORM_SLANEY ? "slaney" : "none");
    EMIT_FLOAT(log_floor);
#undef EMIT_INT
#undef EMIT_FLOAT
}

/* Mel scales exactly as torchaudio.functional.melscale_fbanks defines them. */
static double hz_to_mel(double f, ww_mel_scale s)
{
    if (s == WW_MEL_HTK) return 2595.0 * log10(1.0 + f / 700.0);
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    if (f >= min_log_hz) return min_log_mel + log(f / min_log_hz) / logstep;
    return f / f_sp;
}

static double mel_to_hz(double m, ww_mel_scale s)
{
    if (s == WW_MEL_HTK) return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    if (m >= min_log_mel) return min_log_hz * exp(logstep * (m - min_log_mel));
    return f_sp * m;
}

int ww_mel_filterbank(const ww_mel_config *c, float *fb, ww_error *err)
{
    int rc = ww_mel_config_validate(c, err);
    if (rc) return rc;
    int n_bins = c->n_fft / 2 + 1, n_mels = c->n_mels;
    double *f_pts = malloc(sizeof(double) * (size_t)(n_mels + 2));
    if (!f_pts) return ww_fail(err, WW_ENOMEM, "out of memory");
    double m_min = hz_to_mel(c->f_min, c->mel_scale), m_max = hz_to_mel(c->f_max, c->mel_scale);
    for (int i = 0; i < n_mels + 2; i++)
        f_pts[i] = mel_to_hz(m_min + (m_max - m_min) * i / (n_mels + 1), c->mel_scale);
    /* torchaudio spaces the bins over [0, sample_rate // 2] (integer division) */
    double top = (double)(c->sample_rate / 2);
    for (int k = 0; k < n_bins; k++) {
        double f = n_bins > 1 ? top * k / (n_bins - 1) : 0.0;
        for (int m = 0; m < n_mels; m++) {
            double down = (f - f_pts[m]) / (f_pts[m + 1] - f_pts[m]);
            double up = (f_pts[m + 2] - f) / (f_pts[m + 2] - f_pts[m + 1]);
            double w = fmax(0.0, fmin(down, up));
            if (c->mel_norm == WW_MEL_NORM_SLANEY) w *= 2.0 / (f_pts[m + 2] - f_pts[m]);
            fb[(size_t)k * n_mels + m] = (float)w;
        }
    }
    free(f_pts);
    return WW_OK;
}

void ww_mel_destroy(ww_mel *m)
{
    if (!m) return;
    if (m->plan) {
        pthread_mutex_lock(&planner_lock);
        fftw_destroy_plan(m->plan);
        pthread_mutex_unlock(&planner_lock);
    }
    fftw_free(m->fft_in);
    fftw_free(m->fft_out);
    free(m->window);
    free(m->hist);
    free(m->power);
    free(m->band_start);
    free(m->band_len);
    free(m->band_w);
    free(m->frame);
    free(m);
}

static int build_bands(ww_mel *m, ww_error *err)
{
    int n_bins = m->n_bins, n_mels = m->cfg.n_mels;
    float *fb = malloc(sizeof(float) * (size_t)n_bins * (size_t)n_mels);
    m->band_start = calloc((size_t)n_mels, sizeof(int));
    m->band_len = calloc((size_t)n_mels, sizeof(int));
    m->band_w = malloc(sizeof(double) * (size_t)n_bins * (size_t)n_mels);
    if (!fb || !m->band_start || !m->band_len || !m->band_w) {
        free(fb);
        return ww_fail(err, WW_ENOMEM, "out of memory");
    }
    int rc = ww_mel_filterbank(&m->cfg, fb, err);
    size_t used = 0;
    for (int b = 0; !rc && b < n_mels; b++) {
        int first = -1, last = -1;
        for (int k = 0; k < n_bins; k++) {
            if (fb[(size_t)k * n_mels + b] != 0.0f) {
                if (first < 0) first = k;
                last = k;
            }
        }
        /* an empty band (too many bands for the FFT size) stays at log(floor) */
        m->band_start[b] = first < 0 ? 0 : first;
        m->band_len[b] = first < 0 ? 0 : last - first + 1;
        for (int k = 0; k < m->band_len[b]; k++)
            m->band_w[used++] = fb[(size_t)(first + k) * n_mels + b];
    }
    free(fb);
    return rc;
}

int ww_mel_create(const ww_mel_config *cfg, ww_mel **out, ww_error *err)
{
    *out = NULL;
    int rc = ww_mel_config_validate(cfg, err);
    if (rc) return rc;
    ww_mel *m = calloc(1, sizeof *m);
    if (!m) return ww_fail(err, WW_ENOMEM, "out of memory");
    m->cfg = *cfg;
    m->n_bins = cfg->n_fft / 2 + 1;
    m->win_offset = (cfg->n_fft - cfg->win_length) / 2; /* as torch.stft pads the window */
    m->fft_in = fftw_malloc(sizeof(double) * (size_t)cfg->n_fft);
    m->fft_out = fftw_malloc(sizeof(fftw_complex) * (size_t)m->n_bins);
    m->window = malloc(sizeof(double) * (size_t)cfg->win_length);
    m->hist = malloc(sizeof(float) * (size_t)cfg->n_fft);
    m->power = malloc(sizeof(double) * (size_t)m->n_bins);
    m->frame = malloc(sizeof(float) * (size_t)cfg->n_mels);
    if (!m->fft_in || !m->fft_out || !m->window || !m->hist || !m->power || !m->frame) {
        ww_mel_destroy(m);
        return ww_fail(err, WW_ENOMEM, "out of memory");
    }
    memset(m->fft_in, 0, sizeof(double) * (size_t)cfg->n_fft);
    /* periodic Hann, as torch.hann_window(win_length) */
    for (int i = 0; i < cfg->win_length; i++)
        m->window[i] = 0.5 - 0.5 * cos(2.0 * M_PI * i / cfg->win_length);
    rc = build_bands(m, err);
    if (rc) {
        ww_mel_destroy(m);
        return rc;
    }
    /* FFTW_ESTIMATE: the same plan, hence the same rounding, in every process,
     * so training and deployment features agree bit for bit. */
    pthread_mutex_lock(&planner_lock);
    m->plan = fftw_plan_dft_r2c_1d(cfg->n_fft, m->fft_in, m->fft_out, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!m->plan) {
        ww_mel_destroy(m);
        return ww_fail(err, WW_ENOMEM, "FFTW could not plan a %d-point FFT", cfg->n_fft);
    }
    *out = m;
    return WW_OK;
}

static void compute_frame(ww_mel *m)
{
    const int off = m->win_offset, wl = m->cfg.win_length;
    const float *src = m->hist + off;
    double *dst = m->fft_in + off;
    for (int i = 0; i < wl; i++) dst[i] = (double)src[i] * m->window[i];
    fftw_execute(m->plan);
    for (int k = 0; k < m->n_bins; k++) {
        double re = m->fft_out[k][0], im = m->fft_out[k][1];
        m->power[k] = re * re + im * im;
    }
    const double *w = m->band_w;
    for (int b = 0; b < m->cfg.n_mels; b++) {
        const double *p = m->power + m->band_start[b];
        double acc = 0.0;
        for (int k = 0; k < m->band_len[b]; k++) acc += w[k] * p[k];
        w += m->band_len[b];
        m->frame[b] = (float)log(acc + m->cfg.log_floor);
    }
}

size_t ww_mel_push(ww_mel *m, const float *x, size_t n, ww_mel_sink sink, void *user)
{
    const int n_fft = m->cfg.n_fft, hop = m->cfg.hop_length;
    size_t frames = 0;
    while (n > 0) {
        size_t take = (size_t)(n_fft - m->fill);
        if (take > n) take = n;
        memcpy(m->hist + m->fill, x, take * sizeof(float));
        m->fill += (int)take;
        x += take;
        n -= take;
        if (m->fill == n_fft) {
            compute_frame(m);
            if (sink) sink(user, m->frame);
            frames++;
            memmove(m->hist, m->hist + hop, sizeof(float) * (size_t)(n_fft - hop));
            m->fill = n_fft - hop;
        }
    }
    return frames;
}

void ww_mel_reset(ww_mel *m)
{
    m->fill = 0;
}

const ww_mel_config *ww_mel_get_config(const ww_mel *m)
{
    return &m->cfg;
}

size_t ww_mel_frame_count(const ww_mel_config *c, size_t n)
{
    if (n < (size_t)c->n_fft) return 0;
    return 1 + (n - (size_t)c->n_fft) / (size_t)c->hop_length;
}
