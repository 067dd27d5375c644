/* An LD_PRELOAD fault-injection layer over alsa-lib for the capture tests: it
 * passes every call through to the real library, except that at chosen
 * snd_pcm_readi calls it returns what a real device would:
 *   WW_FAULT_PLAN="30:xrun,60:suspend,150:gone,200-300:short,400:stall=5000"
 *                 (call number or first-last range: fault)
 *   xrun    -EPIPE   (the stream is really stopped first, like an overrun)
 *   suspend -ESTRPIPE
 *   gone    -ENODEV, and the next WW_FAULT_GONE_OPENS (default 3) snd_pcm_open
 *           calls fail with -ENODEV: the device vanished, then comes back.
 *   eio     -EIO (a failing device; the next opens succeed)
 *   short   a short read: the period is read from the device but only its
 *           first third is returned; the following calls return the rest
 *           (at most what they ask for) before reading the device again, so
 *           the audio stays intact and only arrives in pieces
 *   stall=MS  the read blocks MS milliseconds before reading the device (a
 *           hung driver; the watchdog must notice)
 * WW_FAULT_OPEN_FAILS=N makes the first N snd_pcm_open calls fail with -ENODEV
 * (the device is missing when the daemon starts).
 * and it can make the device insist on a format, rate and channel count, as
 * hardware does (the null-backed file PCM under it accepts anything):
 *   WW_FAULT_FORMAT=S32_LE  every other format fails snd_pcm_hw_params_test_format
 *   WW_FAULT_RATE=48000     snd_pcm_hw_params_set_rate_near gives this rate
 *   WW_FAULT_CHANNELS=2     snd_pcm_hw_params_set_channels_near gives this count
 * Built by tests/cli/test_daemon_faults.sh with cc -shared. */
#define _GNU_SOURCE
#include <alsa/asoundlib.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAULT_SHORT 1
#define FAULT_STALL 2

static atomic_long reads;
static atomic_int opens_to_fail;
static atomic_int start_fails_init;

/* the rest of a period a short read held back (only the capture thread reads) */
static unsigned char held[1 << 16];
static size_t held_bytes, held_off;

/* The fault planned for read n: a negative errno, FAULT_SHORT or FAULT_STALL
 * (with *ms), or 0. */
static int fault_at(long n, long *ms)
{
    const char *plan = getenv("WW_FAULT_PLAN");
    if (!plan) return 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", plan);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon) continue;
        char *end;
        long first = strtol(tok, &end, 10), last = first;
        if (*end == '-') last = strtol(end + 1, &end, 10);
        if (n < first || n > last) continue;
        const char *what = colon + 1;
        if (!strcmp(what, "xrun")) return -EPIPE;
        if (!strcmp(what, "suspend")) return -ESTRPIPE;
        if (!strcmp(what, "gone")) return -ENODEV;
        if (!strcmp(what, "eio")) return -EIO;
        if (!strcmp(what, "short")) return FAULT_SHORT;
        if (!strncmp(what, "stall=", 6)) {
            *ms = atol(what + 6);
            return FAULT_STALL;
        }
    }
    return 0;
}

snd_pcm_sframes_t snd_pcm_readi(snd_pcm_t *pcm, void *buf, snd_pcm_uframes_t size)
{
    static snd_pcm_sframes_t (*real)(snd_pcm_t *, void *, snd_pcm_uframes_t);
    if (!real)
        real = (snd_pcm_sframes_t(*)(snd_pcm_t *, void *, snd_pcm_uframes_t))dlsym(RTLD_NEXT,
                                                                                   "snd_pcm_readi");
    long n = atomic_fetch_add(&reads, 1) + 1;
    ssize_t frame = snd_pcm_frames_to_bytes(pcm, 1);
    if (held_bytes > held_off && frame > 0) {
        /* the rest of a period a short read held back */
        size_t bytes = held_bytes - held_off, max = size * (size_t)frame;
        if (bytes > max) bytes = max;
        memcpy(buf, held + held_off, bytes);
        held_off += bytes;
        return (snd_pcm_sframes_t)(bytes / (size_t)frame);
    }
    long ms = 0;
    int f = fault_at(n, &ms);
    if (f == FAULT_STALL) {
        fprintf(stderr, "alsa_fault: read %ld: injecting a stall of %ld ms\n", n, ms);
        usleep((useconds_t)ms * 1000);
        return real(pcm, buf, size);
    }
    if (f == FAULT_SHORT) {
        snd_pcm_sframes_t r = real(pcm, buf, size);
        if (r < 3 || frame <= 0 || (size_t)(r * frame) > sizeof held) return r;
        static int said;
        if (!said++) fprintf(stderr, "alsa_fault: read %ld: short reads from here on\n", n);
        snd_pcm_sframes_t give = r / 3;
        held_bytes = (size_t)(r - give) * (size_t)frame;
        held_off = 0;
        memcpy(held, (unsigned char *)buf + give * frame, held_bytes);
        return give;
    }
    if (f == -EPIPE) snd_pcm_drop(pcm); /* an overrun leaves the stream stopped */
    if (f == -ENODEV) {
        const char *k = getenv("WW_FAULT_GONE_OPENS");
        atomic_store(&opens_to_fail, k ? atoi(k) : 3);
    }
    if (f) {
        fprintf(stderr, "alsa_fault: read %ld: injecting %s\n", n, snd_strerror(f));
        return f;
    }
    return real(pcm, buf, size);
}

int snd_pcm_open(snd_pcm_t **pcm, const char *name, snd_pcm_stream_t stream, int mode)
{
    static int (*real)(snd_pcm_t **, const char *, snd_pcm_stream_t, int);
    if (!real)
        real = (int (*)(snd_pcm_t **, const char *, snd_pcm_stream_t, int))dlsym(RTLD_NEXT,
                                                                                 "snd_pcm_open");
    if (!atomic_exchange(&start_fails_init, 1)) {
        const char *k = getenv("WW_FAULT_OPEN_FAILS");
        if (k) atomic_store(&opens_to_fail, atoi(k));
    }
    if (atomic_load(&opens_to_fail) > 0) {
        atomic_fetch_sub(&opens_to_fail, 1);
        fprintf(stderr, "alsa_fault: open '%s': injecting No such device\n", name);
        return -ENODEV;
    }
    return real(pcm, name, stream, mode);
}

int snd_pcm_hw_params_test_format(snd_pcm_t *pcm, snd_pcm_hw_params_t *params, snd_pcm_format_t f)
{
    static int (*real)(snd_pcm_t *, snd_pcm_hw_params_t *, snd_pcm_format_t);
    if (!real)
        real = (int (*)(snd_pcm_t *, snd_pcm_hw_params_t *, snd_pcm_format_t))dlsym(
            RTLD_NEXT, "snd_pcm_hw_params_test_format");
    const char *want = getenv("WW_FAULT_FORMAT");
    if (want && snd_pcm_format_value(want) != f) return -EINVAL;
    return real(pcm, params, f);
}

int snd_pcm_hw_params_set_rate_near(snd_pcm_t *pcm, snd_pcm_hw_params_t *params, unsigned *val,
                                    int *dir)
{
    static int (*real)(snd_pcm_t *, snd_pcm_hw_params_t *, unsigned *, int *);
    if (!real)
        real = (int (*)(snd_pcm_t *, snd_pcm_hw_params_t *, unsigned *, int *))dlsym(
            RTLD_NEXT, "snd_pcm_hw_params_set_rate_near");
    const char *want = getenv("WW_FAULT_RATE");
    if (want) *val = (unsigned)atoi(want);
    return real(pcm, params, val, dir);
}

int snd_pcm_hw_params_set_channels_near(snd_pcm_t *pcm, snd_pcm_hw_params_t *params, unsigned *val)
{
    static int (*real)(snd_pcm_t *, snd_pcm_hw_params_t *, unsigned *);
    if (!real)
        real = (int (*)(snd_pcm_t *, snd_pcm_hw_params_t *, unsigned *))dlsym(
            RTLD_NEXT, "snd_pcm_hw_params_set_channels_near");
    const char *want = getenv("WW_FAULT_CHANNELS");
    if (want) *val = (unsigned)atoi(want);
    return real(pcm, params, val);
}
