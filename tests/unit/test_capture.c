/* The capture thread through real ALSA: a file-backed capture PCM (type file,
 * null slave, raw infile) delivers a known ramp, which must come out of the
 * ring intact; a missing device is the LOST state, reported once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "daemon/capture.h"
#include "wwtest.h"

#define N 48000

static void setup_alsa(void)
{
    static int done;
    if (done) return;
    done = 1;
    const char *conf = ww_test_tmp("asound.conf");
    FILE *fp = fopen(conf, "w");
    if (!fp) return;
    fputs("pcm.filecap { @args [ IFILE ] @args.IFILE { type string } type file\n"
          "  slave.pcm { type null } file \"/dev/null\" infile $IFILE format \"raw\" }\n",
          fp);
    fclose(fp);
    /* before the first ALSA call: alsa-lib reads its configuration once */
    setenv("ALSA_CONFIG_PATH", conf, 1);
}

static int wait_for(int (*cond)(void *), void *arg, int ms)
{
    for (int t = 0; t < ms; t += 10) {
        if (cond(arg)) return 1;
        usleep(10000);
    }
    return cond(arg);
}

static int have_samples(void *r)
{
    return ww_ring_available(r) >= N;
}

WW_TEST(capture_reads_file_pcm_intact)
{
    setup_alsa();
    const char *raw = ww_test_tmp("ramp.raw");
    FILE *fp = fopen(raw, "wb");
    REQUIRE(fp != NULL);
    for (int i = 0; i < N + 16000; i++) {
        int16_t v = (int16_t)((i * 7) % 65536 - 32768);
        fwrite(&v, 2, 1, fp);
    }
    fclose(fp);
    char dev[512];
    snprintf(dev, sizeof dev, "filecap:IFILE=%s", raw);
    ww_error err = {{0}};
    ww_ring *ring;
    REQUIRE(ww_ring_create(N * 2, &ring, &err) == 0);
    ww_capture_config cc = {.device = dev,
                            .rate = 16000,
                            .period_ms = 20,
                            .buffer_ms = 200,
                            .retry_initial_ms = 10,
                            .retry_max_ms = 100};
    ww_capture *cap;
    REQUIRE(ww_capture_start(&cc, ring, -1, &cap, &err) == 0);
    CHECK(wait_for(have_samples, ring, 20000));
    float *out = malloc(N * sizeof(float));
    size_t got = ww_ring_read(ring, out, N);
    CHECK_EQ_INT(got, N);
    CHECK_EQ_INT(ww_capture_get_state(cap), WW_CAPTURE_RUNNING);
    CHECK_EQ_INT(ww_capture_device_rate(cap), 16000);
    int bad = 0;
    for (size_t i = 0; i < got && bad < 3; i++) {
        float want = (float)((int)((i * 7) % 65536) - 32768) / 32768.0f;
        if (out[i] != want) {
            bad++;
            CHECK_MSG(0, "sample %zu: %g != %g", i, out[i], want);
        }
    }
    char msg[1024];
    uint64_t seq = 0;
    CHECK(ww_capture_next_event(cap, &seq, msg, sizeof msg) == 1);
    CHECK_MSG(strstr(msg, "capturing from") != NULL, "event '%s'", msg);
    CHECK(ww_capture_next_event(cap, &seq, msg, sizeof msg) == 0);
    CHECK_EQ_INT(ww_capture_stop(cap, 5000), 1);
    free(out);
    ww_ring_destroy(ring);
}

static int is_lost(void *c)
{
    return ww_capture_get_state(c) == WW_CAPTURE_LOST;
}

WW_TEST(capture_missing_device_is_lost_and_retried)
{
    setup_alsa();
    ww_error err = {{0}};
    ww_ring *ring;
    REQUIRE(ww_ring_create(1024, &ring, &err) == 0);
    ww_capture_config cc = {.device = "nosuchpcm_wakewordd_test",
                            .rate = 16000,
                            .period_ms = 20,
                            .buffer_ms = 200,
                            .retry_initial_ms = 5,
                            .retry_max_ms = 20};
    ww_capture *cap;
    REQUIRE(ww_capture_start(&cc, ring, -1, &cap, &err) == 0);
    CHECK(wait_for(is_lost, cap, 10000));
    /* retries keep the heartbeat moving; the loss is reported once */
    uint64_t hb = ww_capture_heartbeat(cap);
    for (int t = 0; t < 500 && ww_capture_heartbeat(cap) < hb + 3; t++) usleep(10000);
    CHECK(ww_capture_heartbeat(cap) >= hb + 3);
    char msg[1024];
    uint64_t seq = 0;
    CHECK(ww_capture_next_event(cap, &seq, msg, sizeof msg) == 1);
    CHECK_MSG(strstr(msg, "nosuchpcm_wakewordd_test") != NULL, "event '%s'", msg);
    CHECK(ww_capture_next_event(cap, &seq, msg, sizeof msg) == 0);
    CHECK_EQ_INT(ww_capture_stop(cap, 5000), 1);
    ww_ring_destroy(ring);
}
