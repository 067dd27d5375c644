/* The log-mel front end against torchaudio's golden features, and its
 * streaming contract: the same bits however the audio is chunked. */
#include <stdint.h>
#include <stdlib.h>

#include "core/npy.h"
#include "dsp/audio_file.h"
#include "dsp/mel.h"
#include "tests/unit/wwtest.h"

typedef struct frames {
    float *data;
    size_t n, cap, n_mels;
} frames;

static void sink(void *user, const float *frame)
{
    frames *f = user;
    if (f->n < f->cap) memcpy(f->data + f->n * f->n_mels, frame, f->n_mels * sizeof(float));
    f->n++;
}

static ww_mel_config slaney_config(void)
{
    ww_mel_config c = ww_mel_config_default();
    c.n_fft = 400;
    c.win_length = 320;
    c.hop_length = 128;
    c.n_mels = 40;
    c.f_min = 60.0f;
    c.f_max = 7600.0f;
    c.mel_scale = WW_MEL_SLANEY;
    c.mel_norm = WW_MEL_NORM_SLANEY;
    c.log_floor = 1e-3f;
    return c;
}

/* Runs the front end over samples, pushed in chunks of the given sizes
 * (cycled; a 0-length list means all at once). */
static frames run_mel(const ww_mel_config *c, const float *x, size_t n, const size_t *chunks,
                      size_t n_chunks)
{
    frames f = {0};
    f.n_mels = (size_t)c->n_mels;
    f.cap = ww_mel_frame_count(c, n);
    f.data = calloc(f.cap * f.n_mels + 1, sizeof(float));
    ww_mel *m = NULL;
    ww_error err;
    if (ww_mel_create(c, &m, &err)) {
        ww_test_fail(__FILE__, __LINE__, "ww_mel_create: %s", err.msg);
        return f;
    }
    size_t pos = 0, i = 0;
    while (pos < n) {
        size_t len = n_chunks ? chunks[i++ % n_chunks] : n;
        if (len > n - pos) len = n - pos;
        ww_mel_push(m, x + pos, len, sink, &f);
        pos += len;
    }
    ww_mel_destroy(m);
    return f;
}

static float *load_wav(const char *path, size_t *n)
{
    float *x = NULL;
    ww_error err;
    if (ww_audio_read_all(path, 16000, &x, n, NULL, &err))
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
    return x;
}

static void check_golden(const char *signal, const char *cfg_name, const ww_mel_config *c)
{
    char wav[256], golden[256];
    snprintf(wav, sizeof wav, "tests/fixtures/mel/%s.wav", signal);
    snprintf(golden, sizeof golden, "tests/fixtures/mel/%s.%s.npy", signal, cfg_name);
    size_t n;
    float *x = load_wav(wav, &n);
    if (!x) return;
    ww_npy ref;
    ww_error err;
    if (ww_npy_read(golden, &ref, &err)) {
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
        free(x);
        return;
    }
    frames f = run_mel(c, x, n, NULL, 0);
    CHECK_EQ_INT(ref.ndim, 2);
    CHECK_EQ_INT(ref.shape[0], (int64_t)f.n);
    CHECK_EQ_INT(ref.shape[1], c->n_mels);
    if (ref.count == f.n * f.n_mels && ref.dtype == WW_NPY_F32) {
        const float *r = ref.data;
        double worst = 0;
        for (size_t i = 0; i < ref.count; i++) {
            double d = fabs((double)r[i] - f.data[i]);
            if (!(d <= worst)) worst = d;
        }
        /* the bound against torchaudio */
        CHECK_MSG(worst <= 1e-3, "%s/%s: max abs diff %g > 1e-3", signal, cfg_name, worst);
        printf("#   %s/%s: max abs diff vs torchaudio %.3g\n", signal, cfg_name, worst);
    }
    ww_npy_free(&ref);
    free(f.data);
    free(x);
}

static const char *const signals[] = {"speech",     "speech_quiet", "white_noise",
                                      "pink_noise", "silence",      "sweep"};

WW_TEST(matches_torchaudio_default_settings)
{
    ww_mel_config c = ww_mel_config_default();
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        check_golden(signals[i], "default", &c);
}

WW_TEST(matches_torchaudio_slaney_settings)
{
    ww_mel_config c = slaney_config();
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        check_golden(signals[i], "slaney", &c);
}

static void check_filterbank(const char *name, const ww_mel_config *c)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/mel/fbank.%s.npy", name);
    ww_npy ref;
    ww_error err;
    if (ww_npy_read(path, &ref, &err)) {
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
        return;
    }
    size_t n_bins = (size_t)c->n_fft / 2 + 1;
    CHECK_EQ_INT(ref.shape[0], (int64_t)n_bins);
    CHECK_EQ_INT(ref.shape[1], c->n_mels);
    float *fb = calloc(n_bins * (size_t)c->n_mels, sizeof(float));
    CHECK_EQ_INT(ww_mel_filterbank(c, fb, &err), WW_OK);
    if (ref.count == n_bins * (size_t)c->n_mels) {
        const float *r = ref.data;
        double worst = 0;
        for (size_t i = 0; i < ref.count; i++) worst = fmax(worst, fabs((double)r[i] - fb[i]));
        /* torchaudio builds the bank in float32; slaney weights are ~1e-3 in size */
        CHECK_MSG(worst <= 1e-5, "%s filterbank differs by %g", name, worst);
    }
    free(fb);
    ww_npy_free(&ref);
}

WW_TEST(filterbank_matches_torchaudio)
{
    ww_mel_config d = ww_mel_config_default(), s = slaney_config();
    check_filterbank("default", &d);
    check_filterbank("slaney", &s);
}

WW_TEST(chunking_does_not_change_a_bit)
{
    size_t n;
    float *x = load_wav("tests/fixtures/mel/speech.wav", &n);
    REQUIRE(x != NULL);
    ww_mel_config c = ww_mel_config_default();
    frames whole = run_mel(&c, x, n, NULL, 0);
    const size_t ones[] = {1};
    const size_t odd[] = {7, 1, 333, 160, 13, 511, 2, 1024, 159, 161};
    frames single = run_mel(&c, x, n, ones, 1);
    frames odds = run_mel(&c, x, n, odd, sizeof odd / sizeof *odd);
    size_t rnd[64];
    srand(42);
    for (size_t i = 0; i < 64; i++) rnd[i] = 1 + (size_t)rand() % 3000;
    frames random = run_mel(&c, x, n, rnd, 64);
    size_t bytes = whole.n * whole.n_mels * sizeof(float);
    CHECK(whole.n > 100);
    CHECK_EQ_INT(single.n, whole.n);
    CHECK_EQ_INT(odds.n, whole.n);
    CHECK_EQ_INT(random.n, whole.n);
    CHECK(memcmp(single.data, whole.data, bytes) == 0);
    CHECK(memcmp(odds.data, whole.data, bytes) == 0);
    CHECK(memcmp(random.data, whole.data, bytes) == 0);
    free(whole.data);
    free(single.data);
    free(odds.data);
    free(random.data);
    free(x);
}

WW_TEST(reset_starts_a_new_stream)
{
    size_t n;
    float *x = load_wav("tests/fixtures/mel/pink_noise.wav", &n);
    REQUIRE(x != NULL);
    ww_mel_config c = ww_mel_config_default();
    ww_mel *m;
    ww_error err;
    REQUIRE(ww_mel_create(&c, &m, &err) == WW_OK);
    frames a = {0}, b = {0};
    a.n_mels = b.n_mels = 64;
    a.cap = b.cap = ww_mel_frame_count(&c, n);
    a.data = calloc(a.cap * 64, sizeof(float));
    b.data = calloc(b.cap * 64, sizeof(float));
    ww_mel_push(m, x + 1000, 777, NULL, NULL); /* a partial stream, then forgotten */
    ww_mel_reset(m);
    CHECK_EQ_INT(ww_mel_push(m, x, n, sink, &a), a.cap);
    ww_mel_reset(m);
    CHECK_EQ_INT(ww_mel_push(m, x, n, sink, &b), b.cap);
    CHECK(memcmp(a.data, b.data, a.cap * 64 * sizeof(float)) == 0);
    ww_mel_destroy(m);
    free(a.data);
    free(b.data);
    free(x);
}

WW_TEST(frame_count_follows_center_false)
{
    ww_mel_config c = ww_mel_config_default();
    CHECK_EQ_INT(ww_mel_frame_count(&c, 0), 0);
    CHECK_EQ_INT(ww_mel_frame_count(&c, 511), 0);
    CHECK_EQ_INT(ww_mel_frame_count(&c, 512), 1);
    CHECK_EQ_INT(ww_mel_frame_count(&c, 671), 1);
    CHECK_EQ_INT(ww_mel_frame_count(&c, 672), 2);
    CHECK_EQ_INT(ww_mel_frame_count(&c, 16512), 101); /* the model's 1.032 s window */
}

WW_TEST(invalid_settings_are_refused_by_name)
{
    struct {
        const char *key, *value, *needle;
    } bad[] = {
        {"n_fft", "8", "n_fft"},
        {"win_length", "600", "win_length"},
        {"hop_length", "0", "hop_length"},
        {"n_mels", "0", "n_mels"},
        {"f_max", "9000", "f_max"},
        {"f_min", "-5", "f_min"},
        {"log_floor", "0", "log_floor"},
        {"sample_rate", "100", "sample_rate"},
        {"hop_length", "700", "hop_length"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ww_mel_config c = ww_mel_config_default();
        ww_error err = {{0}};
        CHECK_EQ_INT(ww_mel_config_set(&c, bad[i].key, bad[i].value, &err), WW_OK);
        ww_mel *m = NULL;
        CHECK_EQ_INT(ww_mel_create(&c, &m, &err), WW_EINVAL);
        CHECK(m == NULL);
        CHECK_MSG(strstr(err.msg, bad[i].needle) != NULL, "'%s' does not name %s", err.msg,
                  bad[i].needle);
    }
    ww_mel_config c = ww_mel_config_default();
    ww_error err;
    CHECK_EQ_INT(ww_mel_config_set(&c, "n-mels", "12x", &err), WW_EINVAL);
    CHECK(strstr(err.msg, "n-mels") != NULL);
    CHECK_EQ_INT(ww_mel_config_set(&c, "mel_scale", "bark", &err), WW_EINVAL);
    CHECK_EQ_INT(ww_mel_config_set(&c, "f_max", "nan", &err), WW_EINVAL);
    CHECK_EQ_INT(ww_mel_config_set(&c, "colour", "red", &err), WW_EUNSUPPORTED);
    CHECK_EQ_INT(ww_mel_config_set(&c, "n-mels", "40", &err), WW_OK);
    CHECK_EQ_INT(c.n_mels, 40);
}

static void count_keys(void *user, const char *key, const char *value)
{
    ww_mel_config *c = user;
    ww_error err;
    CHECK_MSG(ww_mel_config_set(c, key, value, &err) == WW_OK, "%s", err.msg);
}

WW_TEST(settings_round_trip_through_text)
{
    ww_mel_config a = slaney_config(), b = ww_mel_config_default();
    ww_mel_config_foreach(&a, count_keys, &b);
    CHECK(memcmp(&a, &b, sizeof a) == 0);
}
