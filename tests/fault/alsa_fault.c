/* An LD_PRELOAD fault-injection layer over alsa-lib for the capture tests: it
 * passes every call through to the real library, except that at chosen
 * snd_pcm_readi calls it returns the error a real device would:
 *   WW_FAULT_PLAN="30:xrun,60:suspend,150:gone"   (call number: fault)
 *   xrun    -EPIPE   (the stream is really stopped first, like an overrun)
 *   suspend -ESTRPIPE
 *   gone    -ENODEV, and the next WW_FAULT_GONE_OPENS (default 3) snd_pcm_open
 *           calls fail with -ENODEV: the device vanished, then comes back.
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

static atomic_long reads;
static atomic_int opens_to_fail;

static int fault_at(long n)
{
    const char *plan = getenv("WW_FAULT_PLAN");
    if (!plan) return 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", plan);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *colon = strchr(tok, ':');
        if (!colon || atol(tok) != n) continue;
        if (!strcmp(colon + 1, "xrun")) return -EPIPE;
        if (!strcmp(colon + 1, "suspend")) return -ESTRPIPE;
        if (!strcmp(colon + 1, "gone")) return -ENODEV;
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
    int f = fault_at(n);
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
