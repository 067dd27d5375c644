/* Calibration windows: audio cut into model-sized windows through the real
 * front end (matching `wakewordd features` frame for frame), short files padded
 * with log(floor), bad files refused with their name; statistics by name. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"
#include "dsp/mel.h"
#include "quant/calib.h"
#include "wwtest.h"

#define SPEECH "tests/fixtures/mel/speech.wav"         /* 2.74 s, 16 kHz */
#define GOLDEN "tests/fixtures/mel/speech.default.npy" /* torchaudio [frames, 64] */

WW_TEST(audio_windows_match_the_front_end)
{
    ww_mel_config cfg = ww_mel_config_default();
    ww_windows w;
    ww_windows_init(&w, 64, 101);
    ww_error err = {{0}};
    int rate = -1;
    REQUIRE(ww_windows_add_audio(&w, SPEECH, &cfg, 50, &rate, &err) == 0);
    CHECK_EQ_INT(rate, 0); /* not resampled */
    /* 43789 samples -> 1 + (43789 - 512) / 160 = 271 frames -> 1 + (271-101)/50 = 4 windows */
    CHECK_EQ_INT(w.n, 4);
    ww_npy g;
    REQUIRE(ww_npy_read(GOLDEN, &g, &err) == 0);
    REQUIRE(g.ndim == 2 && g.shape[1] == 64);
    const float *gd = g.data;
    double maxd = 0;
    for (size_t k = 0; k < w.n; k++)
        for (int m = 0; m < 64; m++)
            for (int t = 0; t < 101; t++) {
                size_t f = k * 50 + (size_t)t;
                double d =
                    fabs(w.data[k * w.per + (size_t)m * 101 + (size_t)t] - gd[f * 64 + (size_t)m]);
                if (d > maxd) maxd = d;
            }
    CHECK_MSG(maxd < 1e-3, "windows differ from torchaudio's features by %g", maxd);
    ww_npy_free(&g);
    ww_windows_free(&w);
}

WW_TEST(short_audio_is_padded_with_silence_frames)
{
    ww_mel_config cfg = ww_mel_config_default();
    ww_windows w;
    ww_windows_init(&w, 64, 400); /* a model wider than the file */
    ww_error err = {{0}};
    REQUIRE(ww_windows_add_audio(&w, SPEECH, &cfg, 50, NULL, &err) == 0);
    CHECK_EQ_INT(w.n, 1);
    float pad = logf(cfg.log_floor);
    CHECK_NEAR(w.data[0 * 400 + 399], pad, 0);
    CHECK_NEAR(w.data[63 * 400 + 271], pad, 0);
    CHECK(w.data[0 * 400 + 100] != pad);
    ww_windows_free(&w);
}

WW_TEST(bad_audio_is_named)
{
    ww_mel_config cfg = ww_mel_config_default();
    ww_windows w;
    ww_windows_init(&w, 64, 101);
    ww_error err = {{0}};
    CHECK(ww_windows_add_audio(&w, "tests/fixtures/mel/silence.wav", &cfg, 50, NULL, &err) < 0);
    CHECK(strstr(err.msg, "silence.wav: silent") != NULL);
    CHECK(ww_windows_add_audio(&w, "no/such.wav", &cfg, 50, NULL, &err) < 0);
    CHECK(strstr(err.msg, "no/such.wav") != NULL);
    ww_mel_config c32 = cfg;
    c32.n_mels = 32;
    CHECK(ww_windows_add_audio(&w, SPEECH, &c32, 50, NULL, &err) < 0);
    CHECK(strstr(err.msg, "32 mels") != NULL);
    CHECK_EQ_INT(w.n, 0);
    ww_windows_free(&w);
}

WW_TEST(tensor_files_must_fit_the_input)
{
    ww_windows w;
    ww_windows_init(&w, 64, 101);
    ww_error err = {{0}};
    REQUIRE(ww_windows_add_tensor_file(&w, "tests/fixtures/quant/inputs.npy", &err) == 0);
    CHECK_EQ_INT(w.n, 16);
    /* [frames, 64] features are not model inputs */
    CHECK(ww_windows_add_tensor_file(&w, GOLDEN, &err) < 0);
    CHECK(strstr(err.msg, "does not end in [64, 101]") != NULL);
    CHECK_EQ_INT(w.n, 16);
    ww_windows_free(&w);
}

WW_TEST(stats_by_name)
{
    ww_calib_stats *s = ww_calib_stats_new();
    REQUIRE(s);
    float a[3] = {1, 2, 3}, b[2] = {-4, 0};
    ww_tensor_view ta = {"a", WW_DT_F32, 1, {3}, 3, a}, tb = {"b", WW_DT_F32, 1, {2}, 2, b};
    for (int i = 0; i < 3; i++) {
        ww_calib_stats_observe(s, &ta);
        ww_calib_stats_observe(s, &tb);
    }
    CHECK_EQ_INT(ww_calib_stats_count(s), 2);
    const ww_observer *oa = ww_calib_stats_get(s, "a"), *ob = ww_calib_stats_get(s, "b");
    REQUIRE(oa && ob);
    CHECK_EQ_INT(oa->count, 9);
    CHECK_NEAR(ob->min, -4, 0);
    CHECK(ww_calib_stats_get(s, "c") == NULL);
    ww_calib_stats_free(s);
}
