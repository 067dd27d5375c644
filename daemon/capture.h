/* The capture thread: ALSA snd_pcm_readi into the sample ring, as mono float at
 * the detector's rate whatever the device insists on (S16/S32/S24/float/U8,
 * any channel count, any rate through libsoxr).
 *
 * It recovers on its own: an overrun (-EPIPE) re-prepares, a suspend (-ESTRPIPE)
 * resumes or re-prepares, a vanished device (-ENODEV, -EIO, or any other read
 * error) is closed and reopened with exponential backoff. Each change of state
 * is published for the main loop to log once; the counters are atomics any
 * thread may read. The thread never blocks on the consumer: a full ring drops
 * samples and counts them. */
#ifndef WW_DAEMON_CAPTURE_H
#define WW_DAEMON_CAPTURE_H

#include <stdint.h>

#include "core/error.h"
#include "daemon/ring.h"

typedef enum ww_capture_state {
    WW_CAPTURE_OPENING, /* first open in progress */
    WW_CAPTURE_RUNNING, /* audio flows */
    WW_CAPTURE_LOST,    /* device gone or failing; retrying with backoff */
    WW_CAPTURE_STOPPED,
} ww_capture_state;

typedef struct ww_capture_config {
    const char *device;
    int rate; /* the rate samples go into the ring at */
    int period_ms, buffer_ms;
    int realtime, realtime_priority;
    int retry_initial_ms, retry_max_ms;
} ww_capture_config;

typedef struct ww_capture ww_capture;

/* Starts the thread. wake_fd (an eventfd, or -1) is written after every
 * period so a poll loop can wait for audio. The first open happens on the
 * thread: a missing device is not an error here, it is the LOST state. */
int ww_capture_start(const ww_capture_config *cfg, ww_ring *ring, int wake_fd, ww_capture **out,
                     ww_error *err);

/* Asks the thread to stop and waits up to timeout_ms for it. Returns 1 when
 * it stopped; 0 when it is stuck in a device read and was left behind (it
 * still owns the ring then: the caller must not free it). */
int ww_capture_stop(ww_capture *c, int timeout_ms);

ww_capture_state ww_capture_get_state(const ww_capture *c);
const char *ww_capture_state_name(ww_capture_state s);
uint64_t ww_capture_xruns(const ww_capture *c);
uint64_t ww_capture_suspends(const ww_capture *c);
uint64_t ww_capture_reopens(const ww_capture *c);
/* Advances on every pass of the capture loop, including retries while the
 * device is lost: the watchdog uses it to tell "retrying" from "stuck". */
uint64_t ww_capture_heartbeat(const ww_capture *c);
/* Frames the device delivers at its own rate, and its rate/channels/format as
 * negotiated (0 before the first open). */
int ww_capture_device_rate(const ww_capture *c);

/* The capture thread's reports ("device lost: ...", "capture overrun ...", ...)
 * in order: when event number *seq exists, copies it, advances *seq and
 * returns 1; else returns 0. Start with *seq = 0. The last 16 are kept; older
 * ones missed are counted in the next message. */
int ww_capture_next_event(ww_capture *c, uint64_t *seq, char *buf, size_t size);

#endif
