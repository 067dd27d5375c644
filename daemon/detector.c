#include "daemon/detector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/mel.h"
#include "nn/model.h"

#define MAX_LABELS 16
#define MAX_SMOOTH 64

typedef struct frontend {
    ww_mel_config cfg;
    ww_mel *mel;
    float *history; /* cap frames of n_mels, circular */
    size_t cap;
    uint64_t frames; /* frames so far in this stream */
} frontend;

typedef struct det_model {
    char *path;
    ww_model *model;
    frontend *fe;
    int window, hop, smooth;
    double threshold, refractory_s;
    char keyword[64];
    int kw_index, n_labels;
    float *input; /* [n_mels][window] */
    float logits[MAX_LABELS];
    double scores[MAX_SMOOTH];
    int n_scores, score_pos;
    double last_score;
    double quiet_until; /* audio time before which no detection fires */
} det_model;

struct ww_detector {
    frontend fes[8];
    int n_fes;
    det_model models[8];
    int n_models;
    uint64_t runs;
    /* the push in progress: the mel callback has no error return */
    ww_detection_sink sink;
    void *user;
    int fired;
    int failed;
    ww_error *err;
};

/* The one place the detector touches the inference engine. */
static int score_window(det_model *dm, ww_error *err)
{
    size_t in_count = (size_t)dm->fe->cfg.n_mels * (size_t)dm->window;
    return ww_model_run_f32(dm->model, dm->input, in_count, dm->logits, (size_t)dm->n_labels, err);
}

static int meta_int(const ww_model *m, const char *path, const char *key, int def, int lo, int hi,
                    int *out, ww_error *err)
{
    const char *v = ww_model_meta(m, key);
    if (!v) {
        *out = def;
        return WW_OK;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return ww_fail(err, WW_EFORMAT, "%s: metadata %s='%s' is not an integer in [%d, %d]", path,
                       key, v, lo, hi);
    *out = (int)x;
    return WW_OK;
}

static int meta_double(const ww_model *m, const char *path, const char *key, double def, double lo,
                       double hi, double *out, ww_error *err)
{
    const char *v = ww_model_meta(m, key);
    if (!v) {
        *out = def;
        return WW_OK;
    }
    char *end;
    double x = strtod(v, &end);
    if (!*v || *end || !isfinite(x) || x < lo || x > hi)
        return ww_fail(err, WW_EFORMAT, "%s: metadata %s='%s' is not a number in [%g, %g]", path,
                       key, v, lo, hi);
    *out = x;
    return WW_OK;
}

static const char *const mel_keys[] = {"sample_rate", "n_fft",    "win_length", "hop_length",
                                       "n_mels",      "f_min",    "f_max",      "mel_scale",
                                       "mel_norm",    "log_floor"};

/* Labels "a,b,c": finds keyword's index and counts them. */
static int parse_labels(const char *path, const char *labels, const char *keyword, char *kw_out,
                        size_t kw_size, int *kw_index, int *n_labels, ww_error *err)
{
    int n = 0, found = -1;
    const char *p = labels, *last = labels;
    size_t last_len = 0;
    while (1) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0)
            return ww_fail(err, WW_EFORMAT, "%s: metadata labels has an empty label", path);
        if (n >= MAX_LABELS)
            return ww_fail(err, WW_EFORMAT, "%s: more than %d labels", path, MAX_LABELS);
        if (keyword && strlen(keyword) == len && !strncmp(p, keyword, len)) found = n;
        last = p;
        last_len = len;
        n++;
        if (!comma) break;
        p = comma + 1;
    }
    if (n < 2) return ww_fail(err, WW_EFORMAT, "%s: metadata labels needs at least 2 labels", path);
    if (!keyword) {
        found = n - 1; /* the last label is the keyword by convention */
        keyword = last;
    } else if (found < 0) {
        return ww_fail(err, WW_EFORMAT, "%s: metadata keyword '%s' is not one of labels '%s'", path,
                       keyword, labels);
    }
    size_t kl = keyword == last ? last_len : strlen(keyword);
    if (kl >= kw_size) return ww_fail(err, WW_EFORMAT, "%s: keyword too long", path);
    memcpy(kw_out, keyword, kl);
    kw_out[kl] = 0;
    *kw_index = found;
    *n_labels = n;
    return WW_OK;
}

static int load_model(ww_detector *d, const char *path, double threshold, ww_error *err)
{
    det_model *dm = &d->models[d->n_models];
    memset(dm, 0, sizeof *dm);
    dm->path = strdup(path);
    if (!dm->path) return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    d->n_models++; /* so destroy frees what is set up so far */
    int rc = ww_model_load(path, &dm->model, err);
    if (rc) return rc;
    ww_model *m = dm->model;

    ww_mel_config cfg = ww_mel_config_default();
    for (size_t i = 0; i < sizeof mel_keys / sizeof mel_keys[0]; i++) {
        const char *v = ww_model_meta(m, mel_keys[i]);
        if (v && (rc = ww_mel_config_set(&cfg, mel_keys[i], v, err)))
            return ww_error_prefix(err, WW_EFORMAT, path);
    }
    if ((rc = ww_mel_config_validate(&cfg, err))) return ww_error_prefix(err, WW_EFORMAT, path);

    if (ww_model_n_inputs(m) != 1 || ww_model_n_outputs(m) != 1)
        return ww_fail(err, WW_EFORMAT,
                       "%s: a wake word model has 1 input and 1 output, not %d and %d", path,
                       ww_model_n_inputs(m), ww_model_n_outputs(m));
    int64_t dims[WW_MAX_DIMS];
    int nd = ww_model_input_shape(m, 0, dims);
    if (nd != 4 || (dims[0] != 1 && dims[0] != -1) || dims[1] != 1 || dims[2] != cfg.n_mels)
        return ww_fail(err, WW_EFORMAT,
                       "%s: input '%s' must be [1,1,%d,frames] (n_mels from the metadata)", path,
                       ww_model_input_name(m, 0), cfg.n_mels);
    int def_window = dims[3] > 0 ? (int)dims[3] : 101;
    if ((rc = meta_int(m, path, "window_frames", def_window, 1, 10000, &dm->window, err)))
        return rc;
    if (dims[3] > 0 && dims[3] != dm->window)
        return ww_fail(err, WW_EFORMAT,
                       "%s: metadata window_frames=%d but the input has %lld frames", path,
                       dm->window, (long long)dims[3]);
    if ((rc = meta_int(m, path, "hop_frames", 8, 1, 10000, &dm->hop, err))) return rc;
    if ((rc = meta_int(m, path, "smoothing_frames", 3, 1, MAX_SMOOTH, &dm->smooth, err))) return rc;
    double thr;
    if ((rc = meta_double(m, path, "threshold", 0.5, 1e-9, 1.0, &thr, err))) return rc;
    dm->threshold = threshold >= 0 ? threshold : thr;
    if ((rc = meta_double(m, path, "refractory_s", 1.5, 0, 3600, &dm->refractory_s, err)))
        return rc;
    const char *labels = ww_model_meta(m, "labels");
    if (!labels) return ww_fail(err, WW_EFORMAT, "%s: metadata has no 'labels'", path);
    if ((rc = parse_labels(path, labels, ww_model_meta(m, "keyword"), dm->keyword,
                           sizeof dm->keyword, &dm->kw_index, &dm->n_labels, err)))
        return rc;
    if ((rc = ww_model_prepare(m, 1, err))) return ww_error_prefix(err, rc, path);
    int64_t odims[WW_MAX_DIMS];
    int ond = ww_model_output_shape(m, 0, odims);
    int64_t ocount = 1;
    for (int i = 0; i < ond; i++) ocount *= odims[i] < 0 ? 1 : odims[i];
    if (ocount != dm->n_labels)
        return ww_fail(err, WW_EFORMAT, "%s: output has %lld values but labels has %d", path,
                       (long long)ocount, dm->n_labels);

    /* share a front end with an earlier model of the same settings */
    frontend *fe = NULL;
    for (int i = 0; i < d->n_fes; i++)
        if (!memcmp(&d->fes[i].cfg, &cfg, sizeof cfg)) fe = &d->fes[i];
    if (!fe) {
        if (d->n_fes && d->fes[0].cfg.sample_rate != cfg.sample_rate)
            return ww_fail(err, WW_EINVAL, "%s: sample_rate %d differs from %s's %d", path,
                           cfg.sample_rate, d->models[0].path, d->fes[0].cfg.sample_rate);
        fe = &d->fes[d->n_fes++];
        memset(fe, 0, sizeof *fe);
        fe->cfg = cfg;
        if ((rc = ww_mel_create(&cfg, &fe->mel, err))) return ww_error_prefix(err, rc, path);
    }
    if ((size_t)dm->window > fe->cap) {
        float *h = calloc((size_t)dm->window * (size_t)cfg.n_mels, sizeof(float));
        if (!h) return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
        free(fe->history);
        fe->history = h;
        fe->cap = (size_t)dm->window;
    }
    dm->fe = fe;
    dm->input = calloc((size_t)dm->window * (size_t)cfg.n_mels, sizeof(float));
    if (!dm->input) return ww_fail(err, WW_ENOMEM, "%s: out of memory", path);
    return WW_OK;
}

int ww_detector_create(const char *const *paths, int n, double threshold, ww_detector **out,
                       ww_error *err)
{
    *out = NULL;
    if (n < 1 || n > 8) return ww_fail(err, WW_EINVAL, "detector: %d models (1 to 8 allowed)", n);
    if (threshold > 1) return ww_fail(err, WW_EINVAL, "threshold %g is above 1", threshold);
    ww_detector *d = calloc(1, sizeof *d);
    if (!d) return ww_fail(err, WW_ENOMEM, "detector: out of memory");
    for (int i = 0; i < n; i++) {
        int rc = load_model(d, paths[i], threshold, err);
        if (rc) {
            ww_detector_destroy(d);
            return rc;
        }
    }
    *out = d;
    return WW_OK;
}

void ww_detector_destroy(ww_detector *d)
{
    if (!d) return;
    for (int i = 0; i < d->n_models; i++) {
        ww_model_free(d->models[i].model);
        free(d->models[i].input);
        free(d->models[i].path);
    }
    for (int i = 0; i < d->n_fes; i++) {
        ww_mel_destroy(d->fes[i].mel);
        free(d->fes[i].history);
    }
    free(d);
}

static void run_model(ww_detector *d, det_model *dm)
{
    frontend *fe = dm->fe;
    int nm = fe->cfg.n_mels, w = dm->window;
    uint64_t first = fe->frames - (uint64_t)w;
    for (int j = 0; j < w; j++) {
        const float *f = fe->history + ((first + (uint64_t)j) % fe->cap) * (size_t)nm;
        for (int m = 0; m < nm; m++) dm->input[(size_t)m * (size_t)w + (size_t)j] = f[m];
    }
    if (score_window(dm, d->err)) {
        ww_error_prefix(d->err, WW_EINVAL, dm->path);
        d->failed = 1;
        return;
    }
    d->runs++;
    /* softmax, stable against large logits */
    double mx = dm->logits[0], sum = 0;
    for (int i = 1; i < dm->n_labels; i++)
        if (dm->logits[i] > mx) mx = dm->logits[i];
    for (int i = 0; i < dm->n_labels; i++) sum += exp(dm->logits[i] - mx);
    double p = exp(dm->logits[dm->kw_index] - mx) / sum;

    dm->scores[dm->score_pos] = p;
    dm->score_pos = (dm->score_pos + 1) % dm->smooth;
    if (dm->n_scores < dm->smooth) dm->n_scores++;
    double mean = 0;
    for (int i = 0; i < dm->n_scores; i++) mean += dm->scores[i];
    mean /= dm->n_scores;
    dm->last_score = mean;

    double t =
        ((double)(fe->frames - 1) * fe->cfg.hop_length + fe->cfg.n_fft) / fe->cfg.sample_rate;
    if (mean >= dm->threshold && t >= dm->quiet_until) {
        dm->quiet_until = t + dm->refractory_s;
        ww_detection det = {.keyword = dm->keyword,
                            .model = dm->path,
                            .model_index = (int)(dm - d->models),
                            .score = mean,
                            .time_s = t};
        d->fired++;
        if (d->sink) d->sink(d->user, &det);
    }
}

typedef struct frame_ctx {
    ww_detector *d;
    frontend *fe;
} frame_ctx;

static void on_frame_ctx(void *user, const float *frame)
{
    frame_ctx *c = user;
    frontend *fe = c->fe;
    ww_detector *d = c->d;
    if (d->failed) return;
    size_t nm = (size_t)fe->cfg.n_mels;
    memcpy(fe->history + (fe->frames % fe->cap) * nm, frame, nm * sizeof(float));
    fe->frames++;
    for (int i = 0; i < d->n_models && !d->failed; i++) {
        det_model *dm = &d->models[i];
        if (dm->fe != fe || fe->frames < (uint64_t)dm->window) continue;
        if ((fe->frames - (uint64_t)dm->window) % (uint64_t)dm->hop) continue;
        run_model(d, dm);
    }
}

int ww_detector_push(ww_detector *d, const float *samples, size_t n, ww_detection_sink sink,
                     void *user, ww_error *err)
{
    d->sink = sink;
    d->user = user;
    d->fired = 0;
    d->failed = 0;
    d->err = err;
    for (int i = 0; i < d->n_fes && !d->failed; i++) {
        frame_ctx c = {d, &d->fes[i]};
        ww_mel_push(d->fes[i].mel, samples, n, on_frame_ctx, &c);
    }
    d->sink = NULL;
    d->err = NULL;
    return d->failed ? WW_EINVAL : d->fired;
}

void ww_detector_reset(ww_detector *d)
{
    for (int i = 0; i < d->n_fes; i++) {
        ww_mel_reset(d->fes[i].mel);
        d->fes[i].frames = 0;
    }
    for (int i = 0; i < d->n_models; i++) {
        det_model *dm = &d->models[i];
        dm->n_scores = dm->score_pos = 0;
        dm->last_score = 0;
        dm->quiet_until = 0;
    }
}

int ww_detector_sample_rate(const ww_detector *d)
{
    return d->fes[0].cfg.sample_rate;
}
int ww_detector_n_models(const ww_detector *d)
{
    return d->n_models;
}
const char *ww_detector_keyword(const ww_detector *d, int i)
{
    return d->models[i].keyword;
}
const char *ww_detector_model_path(const ww_detector *d, int i)
{
    return d->models[i].path;
}
double ww_detector_threshold(const ww_detector *d, int i)
{
    return d->models[i].threshold;
}
double ww_detector_last_score(const ww_detector *d, int i)
{
    return d->models[i].last_score;
}
uint64_t ww_detector_runs(const ww_detector *d)
{
    return d->runs;
}

int ww_detector_set_threshold(ww_detector *d, const char *keyword, double value, ww_error *err)
{
    if (!(value > 0 && value <= 1))
        return ww_fail(err, WW_EINVAL, "threshold %g is not in (0, 1]", value);
    int hits = 0;
    for (int i = 0; i < d->n_models; i++)
        if (!strcmp(d->models[i].keyword, keyword)) {
            d->models[i].threshold = value;
            hits++;
        }
    if (!hits) return ww_fail(err, WW_EINVAL, "no model for keyword '%s'", keyword);
    return WW_OK;
}
