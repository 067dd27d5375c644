/* Audio input: formats, downmix, resampling, and every way a file can be bad. */
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "dsp/audio_file.h"
#include "tests/unit/wwtest.h"

/* Writes frames x channels float samples to path in the given format. */
static int write_audio(const char *path, int format, int rate, int channels, const float *x,
                       sf_count_t frames)
{
    SF_INFO si = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    if (!sf) return -1;
    sf_count_t w = sf_writef_float(sf, x, frames);
    sf_close(sf);
    return w == frames ? 0 : -1;
}

static float *sine(int rate, int channels, double hz, double amp, sf_count_t frames)
{
    float *x = malloc(sizeof(float) * (size_t)(frames * channels));
    for (sf_count_t i = 0; i < frames; i++)
        for (int c = 0; c < channels; c++)
            x[i * channels + c] = (float)(amp * sin(2 * M_PI * hz * (double)i / rate));
    return x;
}

WW_TEST(reads_16k_wav_unchanged)
{
    float *x = sine(16000, 1, 440, 0.5, 16000);
    const char *p = ww_test_tmp("a.wav");
    REQUIRE(write_audio(p, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, 16000) == 0);
    float *y;
    size_t n;
    ww_audio_info info;
    ww_error err;
    REQUIRE(ww_audio_read_all(p, 16000, &y, &n, &info, &err) == WW_OK);
    CHECK_EQ_INT(n, 16000);
    CHECK_EQ_INT(info.resampled, 0);
    CHECK(memcmp(x, y, n * sizeof(float)) == 0);
    free(x);
    free(y);
}

WW_TEST(flac_stereo_is_downmixed)
{
    /* left = sine, right = -sine/2: the mean is sine/4 */
    sf_count_t frames = 8000;
    float *x = malloc(sizeof(float) * 2 * (size_t)frames);
    for (sf_count_t i = 0; i < frames; i++) {
        float s = (float)(0.8 * sin(2 * M_PI * 300.0 * (double)i / 16000));
        x[2 * i] = s;
        x[2 * i + 1] = -s / 2;
    }
    const char *p = ww_test_tmp("b.flac");
    REQUIRE(write_audio(p, SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 16000, 2, x, frames) == 0);
    float *y;
    size_t n;
    ww_audio_info info;
    ww_error err;
    REQUIRE(ww_audio_read_all(p, 16000, &y, &n, &info, &err) == WW_OK);
    CHECK_EQ_INT(info.file_channels, 2);
    CHECK_EQ_INT(n, (size_t)frames);
    double worst = 0;
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(y[i] - (x[2 * i] + x[2 * i + 1]) / 2));
    CHECK_MSG(worst < 1e-6, "downmix error %g", worst);
    free(x);
    free(y);
}

/* 44.1 kHz -> 16 kHz keeps length, pitch and level of a 1 kHz tone. */
WW_TEST(resamples_to_16k)
{
    sf_count_t frames = 44100 * 2;
    float *x = sine(44100, 1, 1000, 0.5, frames);
    const char *p = ww_test_tmp("c.wav");
    REQUIRE(write_audio(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, x, frames) == 0);
    float *y;
    size_t n;
    ww_audio_info info;
    ww_error err;
    REQUIRE(ww_audio_read_all(p, 16000, &y, &n, &info, &err) == WW_OK);
    CHECK_EQ_INT(info.resampled, 1);
    CHECK_EQ_INT(info.file_rate, 44100);
    CHECK_MSG(n >= 31990 && n <= 32010, "got %zu samples for 2 s", n);
    /* compare the middle against the ideal 16 kHz sine (soxr is linear phase, no delay) */
    double worst = 0;
    for (size_t i = 2000; i + 2000 < n; i++)
        worst = fmax(worst, fabs(y[i] - 0.5 * sin(2 * M_PI * 1000.0 * (double)i / 16000)));
    CHECK_MSG(worst < 2e-3, "resampled sine deviates by %g", worst);
    free(x);
    free(y);
}

static void expect_error(const char *path, int code, const char *needle)
{
    float *y = (float *)1;
    size_t n = 99;
    ww_error err = {{0}};
    int rc = ww_audio_read_all(path, 16000, &y, &n, NULL, &err);
    CHECK_MSG(rc == code, "%s: rc %d, expected %d (%s)", path, rc, code, err.msg);
    CHECK(y == NULL && n == 0);
    CHECK_MSG(strstr(err.msg, path) != NULL, "'%s' does not name the file", err.msg);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "'%s' does not say '%s'", err.msg, needle);
}

WW_TEST(bad_files_are_named_with_the_reason)
{
    expect_error("/nonexistent/x.wav", WW_EFORMAT, "No such file");

    const char *txt = ww_test_tmp("text.wav");
    FILE *fp = fopen(txt, "w");
    fputs("this is not audio at all, just some text that looks like nothing\n", fp);
    fclose(fp);
    expect_error(txt, WW_EFORMAT, "cannot read audio");

    const char *empty = ww_test_tmp("empty.wav");
    fclose(fopen(empty, "w"));
    expect_error(empty, WW_EFORMAT, "cannot read audio");

    const char *nosamples = ww_test_tmp("nosamples.wav");
    REQUIRE(write_audio(nosamples, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, NULL, 0) == 0);
    expect_error(nosamples, WW_EFORMAT, "no audio");

    float x[4000] = {0};
    x[1234] = NAN;
    const char *nan = ww_test_tmp("nan.wav");
    REQUIRE(write_audio(nan, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, 4000) == 0);
    expect_error(nan, WW_EFORMAT, "sample 1234 is NaN or infinite");
    x[1234] = 0;
    x[3999] = INFINITY;
    const char *inf = ww_test_tmp("inf.wav");
    REQUIRE(write_audio(inf, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, x, 4000) == 0);
    expect_error(inf, WW_EFORMAT, "NaN or infinite");
}

/* A WAV header claiming 1 Hz or 4 GHz. */
WW_TEST(absurd_sample_rates_are_refused)
{
    float x[1000] = {0};
    const char *p = ww_test_tmp("rate.wav");
    REQUIRE(write_audio(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, x, 1000) == 0);
    const unsigned rates[] = {1, 999, 4000000000u, 800000};
    for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
        FILE *fp = fopen(p, "r+b");
        REQUIRE(fp != NULL);
        unsigned char le[4] = {rates[i] & 0xff, (rates[i] >> 8) & 0xff, (rates[i] >> 16) & 0xff,
                               rates[i] >> 24};
        fseek(fp, 24, SEEK_SET); /* WAV fmt chunk: sample rate */
        fwrite(le, 1, 4, fp);
        fclose(fp);
        float *y = NULL;
        size_t n;
        ww_error err = {{0}};
        int rc = ww_audio_read_all(p, 16000, &y, &n, NULL, &err);
        CHECK_MSG(rc != WW_OK, "rate %u accepted", rates[i]);
        CHECK(y == NULL);
        CHECK_MSG(strstr(err.msg, p) != NULL, "'%s' does not name the file", err.msg);
    }
}

WW_TEST(streaming_reads_match_read_all)
{
    sf_count_t frames = 22050 * 3 + 17;
    float *x = sine(22050, 1, 523, 0.3, frames);
    const char *p = ww_test_tmp("d.wav");
    REQUIRE(write_audio(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, x, frames) == 0);
    float *all;
    size_t n_all;
    ww_error err;
    REQUIRE(ww_audio_read_all(p, 16000, &all, &n_all, NULL, &err) == WW_OK);
    ww_audio_reader *r;
    REQUIRE(ww_audio_open(p, 16000, &r, NULL, &err) == WW_OK);
    float *y = malloc(sizeof(float) * (n_all + 100));
    size_t n = 0;
    const size_t sizes[] = {1, 100, 4097, 3, 1000};
    for (int i = 0;; i++) {
        size_t want = sizes[i % 5];
        if (n + want > n_all + 100) want = n_all + 100 - n;
        ssize_t got = ww_audio_read(r, y + n, want, &err);
        REQUIRE(got >= 0);
        if (got == 0) break;
        n += (size_t)got;
    }
    ww_audio_close(r);
    CHECK_EQ_INT(n, n_all);
    CHECK(memcmp(all, y, n_all * sizeof(float)) == 0);
    free(all);
    free(y);
    free(x);
}

WW_TEST(memory_source_matches_file)
{
    const char *p = "tests/fixtures/mel/speech.wav";
    FILE *fp = fopen(p, "rb");
    REQUIRE(fp != NULL);
    static unsigned char buf[1 << 18];
    size_t len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    float *all, *y = malloc(sizeof(float) * 100000);
    size_t n_all;
    ww_error err;
    REQUIRE(ww_audio_read_all(p, 16000, &all, &n_all, NULL, &err) == WW_OK);
    ww_audio_reader *r;
    REQUIRE(ww_audio_open_mem(buf, len, "speech(mem)", 16000, &r, NULL, &err) == WW_OK);
    ssize_t got = ww_audio_read(r, y, 100000, &err);
    ww_audio_close(r);
    CHECK_EQ_INT(got, (ssize_t)n_all);
    CHECK(memcmp(all, y, n_all * sizeof(float)) == 0);
    /* garbage in memory: an error naming the source */
    memset(buf, 'x', 64);
    CHECK(ww_audio_open_mem(buf, 64, "junk(mem)", 16000, &r, NULL, &err) == WW_EFORMAT);
    CHECK(strstr(err.msg, "junk(mem)") != NULL);
    free(all);
    free(y);
}
