/* libFuzzer target: audio file bytes -> libsndfile (virtual I/O) -> downmix,
 * NaN checks, resampling -> the log-mel front end. */
// seeds: tests/fuzz/seeds/audio/* tests/fixtures/mel/silence.wav
#include <stddef.h>
#include <stdint.h>

#include "dsp/audio_file.h"
#include "dsp/mel.h"

static void sink(void *user, const float *frame)
{
    *(float *)user += frame[0];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ww_audio_reader *r;
    ww_error err;
    if (ww_audio_open_mem(data, size, "fuzz", 16000, &r, NULL, &err) != WW_OK) return 0;
    /* one front end for every input (its FFTW plan is the slow part), reset
     * to a clean state per input as the detector does */
    static ww_mel *mel;
    if (!mel) {
        ww_mel_config cfg = ww_mel_config_default();
        ww_mel_create(&cfg, &mel, &err);
    }
    if (mel) ww_mel_reset(mel);
    float buf[1024], acc = 0;
    size_t total = 0;
    for (;;) {
        ssize_t got = ww_audio_read(r, buf, 1024, &err);
        if (got <= 0) break;
        if (mel) ww_mel_push(mel, buf, (size_t)got, sink, &acc);
        total += (size_t)got;
        if (total > 16000) break; /* keep each input cheap */
    }
    ww_audio_close(r);
    return 0;
}
