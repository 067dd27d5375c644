/* The detector shared by `run` and `detect`, with the tone test model
 * (tests/gen/make_daemon_test_model.py): detections at the times and scores the
 * generator's numpy reference of the same rule predicts, independent of how
 * the audio is chunked; reset, thresholds, several models; and models whose
 * metadata does not fit are refused with a message naming the problem. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/detector.h"
#include "dsp/audio_file.h"
#include "onnx.pb-c.h"
#include "wwtest.h"

#define MODEL "tests/fixtures/daemon/tone_model.onnx"
#define WAV   "tests/fixtures/daemon/tone_bursts.wav"

typedef struct hits {
    int n;
    ww_detection d[16];
    char kw[16][32];
} hits;

static void collect(void *user, const ww_detection *d)
{
    hits *h = user;
    if (h->n < 16) {
        h->d[h->n] = *d;
        snprintf(h->kw[h->n], sizeof h->kw[0], "%s", d->keyword);
        h->n++;
    }
}

static float *load_wav(size_t *n)
{
    float *x = NULL;
    ww_error err = {{0}};
    if (ww_audio_read_all(WAV, 16000, &x, n, NULL, &err)) return NULL;
    return x;
}

static void run_chunked(ww_detector *d, const float *x, size_t n, unsigned seed, hits *h)
{
    ww_error err = {{0}};
    size_t at = 0;
    while (at < n) {
        size_t k = seed ? 1 + (size_t)rand_r(&seed) % 3000 : n - at;
        if (k > n - at) k = n - at;
        CHECK(ww_detector_push(d, x + at, k, collect, h, &err) >= 0);
        at += k;
    }
}

WW_TEST(detector_tone_bursts_match_reference)
{
    size_t n;
    float *x = load_wav(&n);
    REQUIRE(x != NULL);
    const char *paths[] = {MODEL};
    ww_detector *d;
    ww_error err = {{0}};
    int rc = ww_detector_create(paths, 1, -1, &d, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (rc) {
        free(x);
        return;
    }
    CHECK_EQ_INT(ww_detector_sample_rate(d), 16000);
    CHECK(!strcmp(ww_detector_keyword(d, 0), "tone"));
    CHECK_NEAR(ww_detector_threshold(d, 0), 0.5, 1e-12);
    hits h = {0};
    run_chunked(d, x, n, 0, &h);
    /* the generator's reference (torchaudio features, the graph in numpy):
     * P = .2386 .9029 .9960 at 2.552 2.632 2.712 s -> mean .7125 at 2.712;
     * P = .0242 .4178 .9584 .9964 -> mean .7909 at 6.232 */
    CHECK_EQ_INT(h.n, 2);
    if (h.n == 2) {
        CHECK(!strcmp(h.kw[0], "tone"));
        CHECK_NEAR(h.d[0].time_s, 2.712, 1e-9);
        CHECK_NEAR(h.d[0].score, 0.7125, 2e-3);
        CHECK_NEAR(h.d[1].time_s, 6.232, 1e-9);
        CHECK_NEAR(h.d[1].score, 0.7909, 2e-3);
        CHECK(!strcmp(h.d[0].model, MODEL));
    }
    /* (8 s - 512/16000) / 10 ms frames, a run every 8 from frame 101 */
    CHECK_EQ_INT(ww_detector_runs(d), (797 - 101) / 8 + 1);

    /* the same audio in random chunks after a reset: the same detections */
    for (unsigned seed = 1; seed <= 3; seed++) {
        hits h2 = {0};
        ww_detector_reset(d);
        run_chunked(d, x, n, seed, &h2);
        CHECK_EQ_INT(h2.n, h.n);
        for (int i = 0; i < h.n && i < h2.n; i++) {
            CHECK(h2.d[i].time_s == h.d[i].time_s);
            CHECK(h2.d[i].score == h.d[i].score);
        }
    }

    /* a threshold above every smoothed score (max .9964): nothing fires */
    CHECK(ww_detector_set_threshold(d, "tone", 0.999, &err) == 0);
    hits h3 = {0};
    ww_detector_reset(d);
    run_chunked(d, x, n, 0, &h3);
    CHECK_EQ_INT(h3.n, 0);
    CHECK(ww_detector_set_threshold(d, "tone", 0, &err) == WW_EINVAL);
    CHECK(ww_detector_set_threshold(d, "other", 0.5, &err) == WW_EINVAL);
    CHECK(strstr(err.msg, "other") != NULL);
    ww_detector_destroy(d);

    /* a lower threshold from the caller fires earlier in the first burst */
    REQUIRE(ww_detector_create(paths, 1, 0.3, &d, &err) == 0);
    hits h4 = {0};
    run_chunked(d, x, n, 0, &h4);
    CHECK_EQ_INT(h4.n, 2);
    if (h4.n) CHECK_NEAR(h4.d[0].time_s, 2.632, 1e-9);
    ww_detector_destroy(d);
    free(x);
}

/* The refractory period: a burst longer than it fires again; one shorter not. */
WW_TEST(detector_refractory_period)
{
    size_t n;
    float *x = load_wav(&n);
    REQUIRE(x != NULL);
    /* the first burst (2.0-2.7 s) repeated to 2.0-5.0 s: 3 s of tone */
    float *y = malloc(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    for (size_t i = 32000 + 8000; i < 80000; i++) y[i] = x[32000 + 1600 + (i - 32000) % 8000];
    const char *paths[] = {MODEL};
    ww_detector *d;
    ww_error err = {{0}};
    REQUIRE(ww_detector_create(paths, 1, -1, &d, &err) == 0);
    hits h = {0};
    run_chunked(d, y, n, 0, &h);
    /* fires at 2.712, then quiet for 1.5 s, then again while the tone lasts */
    CHECK(h.n >= 3);
    if (h.n >= 2) {
        CHECK_NEAR(h.d[0].time_s, 2.712, 1e-9);
        CHECK(h.d[1].time_s >= h.d[0].time_s + 1.5);
        CHECK(h.d[1].time_s < h.d[0].time_s + 1.5 + 0.081);
    }
    ww_detector_destroy(d);
    free(x);
    free(y);
}

/* Writes the test model with metadata entries changed (key, value pairs;
 * a NULL value removes the key) into a temp file and returns its path. */
static const char *model_with(const char *name, int npairs, const char *const *kv)
{
    FILE *fp = fopen(MODEL, "rb");
    if (!fp) return NULL;
    static uint8_t buf[65536];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m) return NULL;
    /* edit a copy of the entry list; the unpacked message stays intact */
    size_t n = m->n_metadata_props, j = 0;
    Onnx__StringStringEntryProto **orig = m->metadata_props;
    Onnx__StringStringEntryProto *ents = calloc(n, sizeof *ents);
    Onnx__StringStringEntryProto **list = calloc(n, sizeof *list);
    for (size_t i = 0; i < n; i++) {
        ents[i] = *orig[i];
        int drop = 0;
        for (int k = 0; k < npairs; k++)
            if (!strcmp(ents[i].key, kv[2 * k])) {
                if (kv[2 * k + 1])
                    ents[i].value = (char *)kv[2 * k + 1];
                else
                    drop = 1;
            }
        if (!drop) list[j++] = &ents[i];
    }
    m->metadata_props = list;
    m->n_metadata_props = j;
    uint8_t *out = malloc(onnx__model_proto__get_packed_size(m));
    size_t olen = onnx__model_proto__pack(m, out);
    m->metadata_props = orig;
    m->n_metadata_props = n;
    onnx__model_proto__free_unpacked(m, NULL);
    free(list);
    free(ents);
    const char *path = ww_test_tmp(name);
    fp = fopen(path, "wb");
    if (fp) {
        fwrite(out, 1, olen, fp);
        fclose(fp);
    }
    free(out);
    return path;
}

static void expect_refused(const char *key, const char *value, const char *needle)
{
    const char *kv[] = {key, value};
    const char *p = model_with("bad.onnx", 1, kv);
    REQUIRE(p != NULL);
    const char *paths[] = {p};
    ww_detector *d = NULL;
    ww_error err = {{0}};
    int rc = ww_detector_create(paths, 1, -1, &d, &err);
    CHECK_MSG(rc < 0, "%s=%s accepted", key, value ? value : "(none)");
    CHECK_MSG(strstr(err.msg, needle) && strstr(err.msg, "bad.onnx"), "%s=%s: '%s'", key,
              value ? value : "(none)", err.msg);
    if (!rc) ww_detector_destroy(d);
}

WW_TEST(detector_refuses_bad_metadata)
{
    expect_refused("labels", NULL, "labels");
    expect_refused("labels", "tone", "at least 2");
    expect_refused("keyword", "jarvis", "'jarvis' is not one of labels");
    expect_refused("labels", "a,b,tone", "labels has 3");
    expect_refused("window_frames", "99", "window_frames=99");
    expect_refused("n_mels", "40", "n_mels");
    expect_refused("hop_frames", "0", "hop_frames");
    expect_refused("threshold", "1.5", "threshold");
    expect_refused("smoothing_frames", "x", "smoothing_frames");
    expect_refused("sample_rate", "-3", "sample_rate");
    expect_refused("refractory_s", "-1", "refractory_s");
}

WW_TEST(detector_refuses_missing_files_and_bad_counts)
{
    ww_detector *d = NULL;
    ww_error err = {{0}};
    const char *missing[] = {"/nonexistent/model.onnx"};
    CHECK(ww_detector_create(missing, 1, -1, &d, &err) < 0);
    CHECK(strstr(err.msg, "/nonexistent/model.onnx") != NULL);
    CHECK(ww_detector_create(missing, 0, -1, &d, &err) == WW_EINVAL);
    const char *paths[] = {MODEL};
    CHECK(ww_detector_create(paths, 1, 1.5, &d, &err) == WW_EINVAL);
}

/* Two keywords at once: the tone model and a copy whose keyword is renamed;
 * both fire on the same audio, and thresholds are per keyword. */
WW_TEST(detector_several_models)
{
    size_t n;
    float *x = load_wav(&n);
    REQUIRE(x != NULL);
    const char *kv[] = {"labels", "background,beep", "keyword", "beep"};
    const char *copy = model_with("beep.onnx", 2, kv);
    REQUIRE(copy != NULL);
    char copy_path[512];
    snprintf(copy_path, sizeof copy_path, "%s", copy);
    const char *paths[] = {MODEL, copy_path};
    ww_detector *d = NULL;
    ww_error err = {{0}};
    int rc = ww_detector_create(paths, 2, -1, &d, &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    if (!rc) {
        CHECK_EQ_INT(ww_detector_n_models(d), 2);
        CHECK(!strcmp(ww_detector_keyword(d, 1), "beep"));
        hits h = {0};
        run_chunked(d, x, n, 7, &h);
        CHECK_EQ_INT(h.n, 4);
        int tone = 0, beep = 0;
        for (int i = 0; i < h.n; i++) {
            tone += !strcmp(h.kw[i], "tone");
            beep += !strcmp(h.kw[i], "beep");
        }
        CHECK_EQ_INT(tone, 2);
        CHECK_EQ_INT(beep, 2);
        /* silence one keyword only */
        CHECK(ww_detector_set_threshold(d, "beep", 0.999, &err) == 0);
        CHECK_NEAR(ww_detector_threshold(d, 0), 0.5, 1e-12);
        hits h2 = {0};
        ww_detector_reset(d);
        run_chunked(d, x, n, 0, &h2);
        CHECK_EQ_INT(h2.n, 2);
        for (int i = 0; i < h2.n; i++) CHECK(!strcmp(h2.kw[i], "tone"));
        ww_detector_destroy(d);
    }
    free(x);
}
