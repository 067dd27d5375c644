#include "daemon/capture.h"

#include <alsa/asoundlib.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <soxr.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHANNELS 32
#define EV_KEEP      16

struct ww_capture {
    ww_capture_config cfg;
    char device[256];
    ww_ring *ring;
    int wake_fd;
    int stop_pipe[2]; /* written by stop(); the backoff sleep polls it */
    pthread_t thread;
    atomic_int stop;
    atomic_int state;
    atomic_int done;
    atomic_uint_least64_t xruns, suspends, reopens, heartbeat;
    atomic_int dev_rate;

    /* the last EV_KEEP events, for the main loop to log in order; the lock is
     * taken only on state changes, never per period */
    pthread_mutex_t ev_lock;
    char ev_msg[EV_KEEP][512];
    uint64_t ev_seq; /* events so far; event k is in ev_msg[k % EV_KEEP] */

    /* the open device and its conversion; buffers sized at open */
    snd_pcm_t *pcm;
    snd_pcm_format_t fmt;
    unsigned channels, rate;
    snd_pcm_uframes_t period;
    void *raw;
    float *mono, *resampled;
    size_t resampled_cap;
    soxr_t soxr;
};

static void event(ww_capture *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(ww_capture *c, const char *fmt, ...)
{
    pthread_mutex_lock(&c->ev_lock);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->ev_msg[c->ev_seq % EV_KEEP], sizeof c->ev_msg[0], fmt, ap);
    va_end(ap);
    c->ev_seq++;
    pthread_mutex_unlock(&c->ev_lock);
    if (c->wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(c->wake_fd, &one, sizeof one);
        (void)w;
    }
}

int ww_capture_next_event(ww_capture *c, uint64_t *seq, char *buf, size_t size)
{
    pthread_mutex_lock(&c->ev_lock);
    int have = *seq < c->ev_seq;
    if (have) {
        uint64_t missed = 0;
        if (c->ev_seq - *seq > EV_KEEP) {
            missed = c->ev_seq - EV_KEEP - *seq;
            *seq = c->ev_seq - EV_KEEP;
        }
        if (missed)
            snprintf(buf, size, "(%llu earlier capture events not shown) %s",
                     (unsigned long long)missed, c->ev_msg[*seq % EV_KEEP]);
        else
            snprintf(buf, size, "%s", c->ev_msg[*seq % EV_KEEP]);
        (*seq)++;
    }
    pthread_mutex_unlock(&c->ev_lock);
    return have;
}

static void close_device(ww_capture *c)
{
    if (c->pcm) snd_pcm_close(c->pcm);
    c->pcm = NULL;
    free(c->raw);
    free(c->mono);
    free(c->resampled);
    c->raw = NULL;
    c->mono = c->resampled = NULL;
    if (c->soxr) soxr_delete(c->soxr);
    c->soxr = NULL;
}

/* Formats we can convert, best first. */
static const snd_pcm_format_t formats[] = {
    SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_S32_LE,  SND_PCM_FORMAT_FLOAT_LE,
    SND_PCM_FORMAT_S24_LE, SND_PCM_FORMAT_S24_3LE, SND_PCM_FORMAT_U8,
};

static int open_device(ww_capture *c, char *why, size_t why_size)
{
    snd_pcm_hw_params_t *hw;
    snd_pcm_hw_params_alloca(&hw);
    int rc = snd_pcm_open(&c->pcm, c->device, SND_PCM_STREAM_CAPTURE, 0);
    if (rc < 0) {
        c->pcm = NULL;
        snprintf(why, why_size, "cannot open '%s': %s", c->device, snd_strerror(rc));
        return rc;
    }
    const char *step = "hw_params_any";
    if ((rc = snd_pcm_hw_params_any(c->pcm, hw)) < 0) goto fail;
    step = "access";
    if ((rc = snd_pcm_hw_params_set_access(c->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0)
        goto fail;
    step = "format";
    rc = -EINVAL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (snd_pcm_hw_params_test_format(c->pcm, hw, formats[i]) == 0) {
            c->fmt = formats[i];
            rc = snd_pcm_hw_params_set_format(c->pcm, hw, formats[i]);
            break;
        }
    if (rc < 0) goto fail;
    step = "channels";
    c->channels = 1;
    if ((rc = snd_pcm_hw_params_set_channels_near(c->pcm, hw, &c->channels)) < 0) goto fail;
    rc = -EINVAL;
    if (c->channels < 1 || c->channels > MAX_CHANNELS) goto fail;
    step = "rate";
    c->rate = (unsigned)c->cfg.rate;
    if ((rc = snd_pcm_hw_params_set_rate_near(c->pcm, hw, &c->rate, NULL)) < 0) goto fail;
    step = "period";
    snd_pcm_uframes_t period = (snd_pcm_uframes_t)c->rate * (unsigned)c->cfg.period_ms / 1000;
    snd_pcm_uframes_t buffer = (snd_pcm_uframes_t)c->rate * (unsigned)c->cfg.buffer_ms / 1000;
    if (period < 16) period = 16;
    if (buffer < 2 * period) buffer = 2 * period;
    if ((rc = snd_pcm_hw_params_set_period_size_near(c->pcm, hw, &period, NULL)) < 0) goto fail;
    step = "buffer";
    if ((rc = snd_pcm_hw_params_set_buffer_size_near(c->pcm, hw, &buffer)) < 0) goto fail;
    step = "hw_params";
    if ((rc = snd_pcm_hw_params(c->pcm, hw)) < 0) goto fail;
    snd_pcm_hw_params_get_period_size(hw, &c->period, NULL);
    if (c->period == 0) c->period = period;

    ssize_t width = snd_pcm_format_physical_width(c->fmt) / 8;
    c->raw = malloc(c->period * c->channels * (size_t)width);
    c->mono = malloc(c->period * sizeof(float));
    rc = -ENOMEM;
    step = "buffers";
    if (!c->raw || !c->mono) goto fail;
    if (c->rate != (unsigned)c->cfg.rate) {
        soxr_error_t e;
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        c->soxr = soxr_create(c->rate, c->cfg.rate, 1, &e, NULL, &q, NULL);
        step = "resampler";
        if (!c->soxr) goto fail;
        c->resampled_cap = c->period * (size_t)c->cfg.rate / c->rate + 64;
        c->resampled = malloc(c->resampled_cap * sizeof(float));
        if (!c->resampled) goto fail;
    }
    step = "prepare";
    if ((rc = snd_pcm_prepare(c->pcm)) < 0) goto fail;
    atomic_store(&c->dev_rate, (int)c->rate);
    return 0;
fail:
    snprintf(why, why_size, "'%s': %s: %s", c->device, step, snd_strerror(rc));
    close_device(c);
    return rc < 0 ? rc : -EINVAL;
}

static inline float to_float(const unsigned char *p, snd_pcm_format_t fmt)
{
    switch (fmt) {
    case SND_PCM_FORMAT_S16_LE: {
        int16_t v;
        memcpy(&v, p, 2);
        return (float)v * (1.0f / 32768.0f);
    }
    case SND_PCM_FORMAT_S32_LE: {
        int32_t v;
        memcpy(&v, p, 4);
        return (float)((double)v * (1.0 / 2147483648.0));
    }
    case SND_PCM_FORMAT_FLOAT_LE: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    case SND_PCM_FORMAT_S24_LE: { /* low 3 bytes of 4 */
        int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24);
        return (float)((double)(v >> 8) * (1.0 / 8388608.0));
    }
    case SND_PCM_FORMAT_S24_3LE: {
        int32_t v = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 24);
        return (float)((double)(v >> 8) * (1.0 / 8388608.0));
    }
    case SND_PCM_FORMAT_U8:
        return ((float)p[0] - 128.0f) * (1.0f / 128.0f);
    default:
        return 0;
    }
}

/* Interleaved device frames -> mono float (channel average) -> ring. */
static void deliver(ww_capture *c, size_t frames)
{
    size_t width = (size_t)snd_pcm_format_physical_width(c->fmt) / 8;
    const unsigned char *p = c->raw;
    float inv = 1.0f / (float)c->channels;
    for (size_t i = 0; i < frames; i++) {
        float s = 0;
        for (unsigned ch = 0; ch < c->channels; ch++, p += width) s += to_float(p, c->fmt);
        c->mono[i] = s * inv;
    }
    if (!c->soxr) {
        ww_ring_write(c->ring, c->mono, frames);
    } else {
        size_t done = 0;
        soxr_process(c->soxr, c->mono, frames, NULL, c->resampled, c->resampled_cap, &done);
        ww_ring_write(c->ring, c->resampled, done);
    }
    if (c->wake_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(c->wake_fd, &one, sizeof one);
        (void)w;
    }
}

/* Sleeps ms unless stop() is called meanwhile; returns nonzero on stop. */
static int sleep_or_stop(ww_capture *c, int ms)
{
    struct pollfd pfd = {.fd = c->stop_pipe[0], .events = POLLIN};
    poll(&pfd, 1, ms);
    return atomic_load(&c->stop);
}

static void set_state(ww_capture *c, ww_capture_state s)
{
    atomic_store(&c->state, (int)s);
}

static void *capture_main(void *arg)
{
    ww_capture *c = arg;
    char why[600];
    int backoff = c->cfg.retry_initial_ms;
    int lost_reported = 0;
    time_t last_xrun_report = 0;
    if (c->cfg.realtime) {
        struct sched_param sp = {.sched_priority = c->cfg.realtime_priority};
        int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
        if (e) event(c, "real-time scheduling not granted (%s); running without", strerror(e));
    }
    while (!atomic_load(&c->stop)) {
        atomic_fetch_add(&c->heartbeat, 1);
        if (!c->pcm) {
            int rc = open_device(c, why, sizeof why);
            if (rc < 0) {
                if (!lost_reported) {
                    set_state(c, WW_CAPTURE_LOST);
                    event(c, "device unavailable: %s; retrying", why);
                    lost_reported = 1;
                }
                if (sleep_or_stop(c, backoff)) break;
                backoff = backoff * 2 > c->cfg.retry_max_ms ? c->cfg.retry_max_ms : backoff * 2;
                continue;
            }
            if (lost_reported) atomic_fetch_add(&c->reopens, 1);
            set_state(c, WW_CAPTURE_RUNNING);
            event(c, "%s '%s': %u Hz, %u channel%s, %s, period %lu frames",
                  lost_reported ? "device recovered" : "capturing from", c->device, c->rate,
                  c->channels, c->channels == 1 ? "" : "s", snd_pcm_format_name(c->fmt),
                  (unsigned long)c->period);
            lost_reported = 0;
            backoff = c->cfg.retry_initial_ms;
        }
        snd_pcm_sframes_t n = snd_pcm_readi(c->pcm, c->raw, c->period);
        if (n > 0) {
            deliver(c, (size_t)n);
            continue;
        }
        if (n == 0 || n == -EAGAIN || n == -EINTR) continue;
        if (n == -EPIPE) {
            uint64_t k = atomic_fetch_add(&c->xruns, 1) + 1;
            /* the first one, then at most one report a minute with the total */
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (k == 1 || now.tv_sec - last_xrun_report >= 60) {
                event(c, "capture overrun (xrun), %llu so far; recovered", (unsigned long long)k);
                last_xrun_report = now.tv_sec;
            }
            if (snd_pcm_prepare(c->pcm) >= 0) continue;
        } else if (n == -ESTRPIPE) {
            atomic_fetch_add(&c->suspends, 1);
            event(c, "device suspended; resuming");
            int r;
            while ((r = snd_pcm_resume(c->pcm)) == -EAGAIN)
                if (sleep_or_stop(c, 50)) break;
            if (r < 0) r = snd_pcm_prepare(c->pcm);
            if (r >= 0) continue;
        }
        /* -ENODEV, -EIO, or recovery failed: start over with a fresh open */
        set_state(c, WW_CAPTURE_LOST);
        event(c, "device lost: '%s': %s; reopening", c->device, snd_strerror((int)n));
        lost_reported = 1;
        close_device(c);
        if (sleep_or_stop(c, backoff)) break;
    }
    close_device(c);
    set_state(c, WW_CAPTURE_STOPPED);
    atomic_store(&c->done, 1);
    return NULL;
}

/* alsa-lib prints its own errors on stderr at every failed open; the capture
 * thread reports each state change once, in its own words, instead. */
static void quiet_alsa(const char *file, int line, const char *function, int err, const char *fmt,
                       ...)
{
    (void)file, (void)line, (void)function, (void)err, (void)fmt;
}

int ww_capture_start(const ww_capture_config *cfg, ww_ring *ring, int wake_fd, ww_capture **out,
                     ww_error *err)
{
    *out = NULL;
    ww_capture *c = calloc(1, sizeof *c);
    if (!c) return ww_fail(err, WW_ENOMEM, "capture: out of memory");
    c->cfg = *cfg;
    snprintf(c->device, sizeof c->device, "%s", cfg->device);
    c->cfg.device = c->device;
    if (c->cfg.retry_initial_ms < 1) c->cfg.retry_initial_ms = 1;
    if (c->cfg.retry_max_ms < c->cfg.retry_initial_ms)
        c->cfg.retry_max_ms = c->cfg.retry_initial_ms;
    c->ring = ring;
    c->wake_fd = wake_fd;
    snd_lib_error_set_handler(quiet_alsa);
    pthread_mutex_init(&c->ev_lock, NULL);
    if (pipe(c->stop_pipe)) {
        free(c);
        return ww_fail(err, WW_EIO, "capture: pipe: %s", strerror(errno));
    }
    atomic_init(&c->state, WW_CAPTURE_OPENING);
    int e = pthread_create(&c->thread, NULL, capture_main, c);
    if (e) {
        close(c->stop_pipe[0]);
        close(c->stop_pipe[1]);
        free(c);
        return ww_fail(err, WW_EIO, "capture: cannot start thread: %s", strerror(e));
    }
    *out = c;
    return WW_OK;
}

int ww_capture_stop(ww_capture *c, int timeout_ms)
{
    if (!c) return 1;
    atomic_store(&c->stop, 1);
    ssize_t w = write(c->stop_pipe[1], "x", 1);
    (void)w;
    for (int waited = 0; !atomic_load(&c->done) && waited < timeout_ms; waited += 5) usleep(5000);
    if (!atomic_load(&c->done)) {
        /* stuck in a read: the process is exiting, leave the thread behind */
        pthread_detach(c->thread);
        return 0;
    }
    pthread_join(c->thread, NULL);
    close(c->stop_pipe[0]);
    close(c->stop_pipe[1]);
    pthread_mutex_destroy(&c->ev_lock);
    free(c);
    return 1;
}

ww_capture_state ww_capture_get_state(const ww_capture *c)
{
    return (ww_capture_state)atomic_load(&((ww_capture *)c)->state);
}

const char *ww_capture_state_name(ww_capture_state s)
{
    switch (s) {
    case WW_CAPTURE_OPENING:
        return "opening";
    case WW_CAPTURE_RUNNING:
        return "running";
    case WW_CAPTURE_LOST:
        return "device-lost";
    case WW_CAPTURE_STOPPED:
        return "stopped";
    }
    return "?";
}

uint64_t ww_capture_xruns(const ww_capture *c)
{
    return atomic_load(&((ww_capture *)c)->xruns);
}
uint64_t ww_capture_suspends(const ww_capture *c)
{
    return atomic_load(&((ww_capture *)c)->suspends);
}
uint64_t ww_capture_reopens(const ww_capture *c)
{
    return atomic_load(&((ww_capture *)c)->reopens);
}
uint64_t ww_capture_heartbeat(const ww_capture *c)
{
    return atomic_load(&((ww_capture *)c)->heartbeat);
}
int ww_capture_device_rate(const ww_capture *c)
{
    return atomic_load(&((ww_capture *)c)->dev_rate);
}
