#include "daemon/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "daemon/capture.h"
#include "daemon/dbus.h"
#include "daemon/detector.h"
#include "daemon/events.h"
#include "daemon/ring.h"

int ww_config_build(const ww_config_source *src, ww_config *out, ww_error *err)
{
    ww_config c;
    ww_config_defaults(&c);
    if (src->path && (src->path_explicit || access(src->path, F_OK) == 0)) {
        int rc = ww_config_load(&c, src->path, err);
        if (rc) return rc;
    }
    for (int i = 0; i < src->n; i++) {
        int rc = ww_config_set(&c, src->keys[i], src->values[i], err);
        if (rc) return rc;
    }
    *out = c;
    return WW_OK;
}

typedef struct daemon_state {
    ww_config cfg;
    const ww_config_source *src;
    ww_detector *det;
    ww_ring *ring;
    ww_capture *cap;
    ww_dbus *bus;
    ww_dbus_ops bus_ops;
    /* D-Bus unreachable or lost: said once, retried with backoff from the loop */
    int bus_down, bus_backoff_ms;
    uint64_t bus_retry_at;
    int wake_fd, sig_fd;
    int paused, stopping, ready, failed;
    uint64_t detections, processed, cap_event_seq;
    /* samples captured before the detector's current stream began (a reload
     * or a resume starts a new one), so time_s counts from the capture start */
    uint64_t stream_start;
    uint64_t xruns_before, overruns_before; /* totals of captures replaced by reloads */
    const char *state;                      /* the State property */
} daemon_state;

static uint64_t now_usec(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char *compute_state(daemon_state *s)
{
    if (s->stopping) return "stopping";
    if (s->paused) return "paused";
    if (!s->cap) return "starting";
    switch (ww_capture_get_state(s->cap)) {
    case WW_CAPTURE_OPENING:
        return "starting";
    case WW_CAPTURE_RUNNING:
        return "listening";
    case WW_CAPTURE_LOST:
        return "device-lost";
    case WW_CAPTURE_STOPPED:
        return "stopped";
    }
    return "starting";
}

static void send_status(daemon_state *s)
{
    char kws[256] = "";
    for (int i = 0; i < ww_detector_n_models(s->det); i++) {
        size_t l = strlen(kws);
        snprintf(kws + l, sizeof kws - l, "%s%s", i ? "," : "", ww_detector_keyword(s->det, i));
    }
    ww_events_notify("STATUS=%s on '%s' for %s; %" PRIu64 " detection%s", s->state, s->cfg.device,
                     kws, s->detections, s->detections == 1 ? "" : "s");
}

static void update_state(daemon_state *s)
{
    const char *st = compute_state(s);
    if (st != s->state) {
        s->state = st;
        ww_dbus_changed(s->bus, "State", NULL);
        send_status(s);
    }
}

/* --- D-Bus callbacks -------------------------------------------------- */

static const char *op_state(void *u)
{
    return ((daemon_state *)u)->state;
}
static const char *op_device(void *u)
{
    return ((daemon_state *)u)->cfg.device;
}
static int op_n_models(void *u)
{
    return ww_detector_n_models(((daemon_state *)u)->det);
}
static void op_model(void *u, int i, const char **kw, const char **file, double *thr)
{
    daemon_state *s = u;
    *kw = ww_detector_keyword(s->det, i);
    *file = ww_detector_model_path(s->det, i);
    *thr = ww_detector_threshold(s->det, i);
}
static uint64_t op_detections(void *u)
{
    return ((daemon_state *)u)->detections;
}
static uint64_t op_overruns(void *u)
{
    daemon_state *s = u;
    return s->overruns_before + ww_ring_overruns(s->ring);
}
static uint64_t op_xruns(void *u)
{
    daemon_state *s = u;
    return s->xruns_before + (s->cap ? ww_capture_xruns(s->cap) : 0);
}
static uint64_t op_dropped_messages(void *u)
{
    (void)u;
    return ww_events_dropped();
}
static int op_set_threshold(void *u, const char *kw, double v, ww_error *err)
{
    daemon_state *s = u;
    int rc = ww_detector_set_threshold(s->det, kw, v, err);
    if (!rc) {
        ww_log(LOG_INFO, NULL, "threshold of '%s' set to %g over D-Bus", kw, v);
        ww_dbus_changed(s->bus, "Models", NULL);
    }
    return rc;
}
static void op_pause(void *u)
{
    daemon_state *s = u;
    if (!s->paused) ww_log(LOG_INFO, NULL, "paused over D-Bus");
    s->paused = 1;
    update_state(s);
}
static void op_resume(void *u)
{
    daemon_state *s = u;
    if (s->paused) {
        ww_log(LOG_INFO, NULL, "resumed over D-Bus");
        /* the audio skipped while paused makes this a new stream */
        ww_detector_reset(s->det);
        s->stream_start = s->processed;
    }
    s->paused = 0;
    update_state(s);
}

/* --- D-Bus connection -------------------------------------------------- */

/* D-Bus is a side channel: detection goes on without it. When the bus cannot
 * be reached at start-up or the connection is lost (dbus-daemon restarted),
 * that is logged once, and the loop reconnects with backoff; the name is then
 * requested asynchronously, so the processing loop never waits for the bus.
 * Connecting to a missing or dead bus fails at once (connect(2) on a unix
 * socket), so a retry costs a system call or two. */
#define BUS_RETRY_INITIAL_MS 100
#define BUS_RETRY_MAX_MS     5000

static void bus_schedule_retry(daemon_state *s)
{
    s->bus_retry_at = now_usec(CLOCK_MONOTONIC) + (uint64_t)s->bus_backoff_ms * 1000u;
    s->bus_backoff_ms =
        s->bus_backoff_ms * 2 > BUS_RETRY_MAX_MS ? BUS_RETRY_MAX_MS : s->bus_backoff_ms * 2;
}

static void bus_lost(daemon_state *s, const char *why)
{
    ww_dbus_close(s->bus);
    s->bus = NULL;
    if (!s->bus_down) {
        ww_log(LOG_WARNING, NULL, "%s; detection goes on, reconnecting to D-Bus in the background",
               why);
        s->bus_down = 1;
        s->bus_backoff_ms = BUS_RETRY_INITIAL_MS;
    }
    bus_schedule_retry(s);
}

static void bus_retry(daemon_state *s)
{
    ww_error err = {{0}};
    ww_dbus *b = NULL;
    if (ww_dbus_open(s->cfg.bus, &s->bus_ops, &b, &err) == WW_OK &&
        ww_dbus_request_name(b, 0, NULL, &err) == WW_OK) {
        s->bus = b; /* ww_dbus_owned() tells when the name is granted */
        return;
    }
    ww_dbus_close(b);
    bus_schedule_retry(s);
}

static void bus_check(daemon_state *s)
{
    ww_error err = {{0}};
    if (s->bus && ww_dbus_process(s->bus, &err)) {
        bus_lost(s, err.msg);
    } else if (s->bus && s->bus_down && ww_dbus_owned(s->bus)) {
        s->bus_down = 0;
        ww_log(LOG_NOTICE, NULL, "D-Bus: connected to the %s bus again, %s owned",
               ww_bus_kind_name(s->cfg.bus), WW_DBUS_NAME);
        ww_dbus_changed(s->bus, "State", "Detections", NULL);
    }
    if (!s->bus && s->cfg.bus != WW_BUS_NONE && now_usec(CLOCK_MONOTONIC) >= s->bus_retry_at)
        bus_retry(s);
}

/* --- pipeline ----------------------------------------------------------- */

static void on_detection(void *user, const ww_detection *d)
{
    daemon_state *s = user;
    uint64_t usec = now_usec(CLOCK_REALTIME);
    ww_detection det = *d;
    det.time_s += (double)s->stream_start / ww_detector_sample_rate(s->det);
    s->detections++;
    ww_events_detection(&det, usec);
    ww_dbus_emit_detected(s->bus, det.keyword, det.score, usec);
    ww_dbus_changed(s->bus, "Detections", NULL);
    if (s->cfg.json_stdout) ww_events_json_detection(&det, usec);
    send_status(s);
}

static int start_capture(daemon_state *s, ww_error *err)
{
    int rate = ww_detector_sample_rate(s->det);
    size_t cap = (size_t)rate * (size_t)s->cfg.ring_ms / 1000;
    int rc = ww_ring_create(cap, &s->ring, err);
    if (rc) return rc;
    ww_capture_config cc = {
        .device = s->cfg.device,
        .rate = rate,
        .period_ms = s->cfg.period_ms,
        .buffer_ms = s->cfg.buffer_ms,
        .realtime = s->cfg.realtime,
        .realtime_priority = s->cfg.realtime_priority,
        .retry_initial_ms = s->cfg.retry_initial_ms,
        .retry_max_ms = s->cfg.retry_max_ms,
    };
    s->cap_event_seq = 0;
    return ww_capture_start(&cc, s->ring, s->wake_fd, &s->cap, err);
}

static void stop_capture(daemon_state *s)
{
    int stopped = 1;
    if (s->cap) {
        s->xruns_before += ww_capture_xruns(s->cap);
        stopped = ww_capture_stop(s->cap, 500);
        s->cap = NULL;
    }
    if (s->ring) {
        s->overruns_before += ww_ring_overruns(s->ring);
        /* a capture thread left behind still writes into it: leave it be */
        if (stopped) ww_ring_destroy(s->ring);
        s->ring = NULL;
    }
}

/* Runs the detector over what the capture delivered, at most about 100 ms of
 * audio per call, so signals, D-Bus and the watchdog are served between
 * slices even when the detector cannot keep up. Returns 1 if audio remains. */
static int drain(daemon_state *s)
{
    static float buf[4096];
    size_t budget = (size_t)ww_detector_sample_rate(s->det) / 10, done = 0, n;
    while (done < budget && (n = ww_ring_read(s->ring, buf, sizeof buf / sizeof buf[0])) > 0) {
        s->processed += n;
        done += n;
        if (s->paused) continue;
        ww_error err = {{0}};
        if (ww_detector_push(s->det, buf, n, on_detection, s, &err) < 0) {
            ww_log(LOG_ERR, NULL, "detector failed: %s", err.msg);
            s->failed = 1;
            s->stopping = 1;
            return 0;
        }
    }
    return ww_ring_available(s->ring) > 0;
}

static void check_capture_events(daemon_state *s)
{
    char msg[1024];
    while (ww_capture_next_event(s->cap, &s->cap_event_seq, msg, sizeof msg)) {
        if (strstr(msg, "device lost") || strstr(msg, "device unavailable"))
            ww_log(LOG_WARNING, WW_MSGID_DEVICE_LOST, "%s", msg);
        else if (strstr(msg, "device recovered"))
            ww_log(LOG_NOTICE, WW_MSGID_DEVICE_BACK, "%s", msg);
        else if (strstr(msg, "capturing from"))
            ww_log(LOG_INFO, NULL, "%s", msg);
        else
            ww_log(LOG_WARNING, NULL, "%s", msg);
    }
}

static void reload(daemon_state *s)
{
    ww_events_notify("RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading",
                     now_usec(CLOCK_MONOTONIC));
    ww_error err = {{0}};
    ww_config nc;
    ww_detector *nd = NULL;
    int rc = ww_config_build(s->src, &nc, &err);
    if (!rc) {
        const char *paths[WW_MAX_MODELS];
        for (int i = 0; i < nc.n_models; i++) paths[i] = nc.models[i];
        rc = ww_detector_create(paths, nc.n_models, nc.threshold, &nd, &err);
    }
    if (rc) {
        ww_log(LOG_ERR, WW_MSGID_RELOAD_FAILED,
               "reload failed, keeping the running configuration: %s", err.msg);
        malloc_trim(0); /* what the failed load allocated and freed */
        ww_events_notify("READY=1");
        send_status(s);
        return;
    }
    int restart = strcmp(nc.device, s->cfg.device) || nc.period_ms != s->cfg.period_ms ||
                  nc.buffer_ms != s->cfg.buffer_ms || nc.ring_ms != s->cfg.ring_ms ||
                  nc.realtime != s->cfg.realtime ||
                  nc.realtime_priority != s->cfg.realtime_priority ||
                  ww_detector_sample_rate(nd) != ww_detector_sample_rate(s->det);
    if (restart) stop_capture(s);
    if (nc.bus != s->cfg.bus)
        ww_log(LOG_WARNING, NULL, "bus changed from %s to %s: takes effect at the next restart",
               ww_bus_kind_name(s->cfg.bus), ww_bus_kind_name(nc.bus));
    nc.bus = s->cfg.bus;
    ww_detector_destroy(s->det);
    /* give the old models' memory back to the system: glibc keeps freed heap
     * pages otherwise, and the resident size would settle at old + new models
     * (measured: 10 -> 18 MB with the shipped model over 60 reloads) */
    malloc_trim(0);
    s->det = nd;
    s->stream_start = s->processed;
    s->cfg = nc;
    ww_events_init(s->cfg.journal);
    if (restart && start_capture(s, &err)) {
        ww_log(LOG_ERR, NULL, "reload: %s", err.msg);
        s->failed = 1;
        s->stopping = 1;
        return;
    }
    ww_log(LOG_NOTICE, WW_MSGID_RELOADED, "configuration reloaded: %d model%s, device '%s'",
           s->cfg.n_models, s->cfg.n_models == 1 ? "" : "s", s->cfg.device);
    ww_dbus_changed(s->bus, "Models", "Device", NULL);
    ww_events_notify("READY=1");
    send_status(s);
}

/* How long the exit waits for the journal, stderr and stdout to take what is
 * queued for them: with the capture's 500 ms, SIGTERM ends the process within
 * about a second even when journald is hung (what is still queued is lost). */
#define EVENTS_DRAIN_MS 500

static int setup_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* blocked in every thread, so the capture thread inherits the mask */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int ww_daemon_run(const ww_config_source *src)
{
    daemon_state s = {.src = src, .wake_fd = -1, .sig_fd = -1, .state = "starting"};
    ww_error err = {{0}};
    if (ww_config_build(src, &s.cfg, &err)) {
        fprintf(stderr, "wakewordd run: %s\n", err.msg);
        return 1;
    }
    ww_events_init(s.cfg.journal);
    s.sig_fd = setup_signals();
    s.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s.sig_fd < 0 || s.wake_fd < 0) {
        fprintf(stderr, "wakewordd run: signalfd/eventfd: %s\n", strerror(errno));
        return 1;
    }
    /* from here on the journal, stderr and stdout are written by threads of
     * their own: a hung journald or an unread pipe must not stop detection */
    if (ww_events_start(&err)) {
        fprintf(stderr, "wakewordd run: %s\n", err.msg);
        close(s.sig_fd);
        close(s.wake_fd);
        return 1;
    }
    const char *paths[WW_MAX_MODELS];
    for (int i = 0; i < s.cfg.n_models; i++) paths[i] = s.cfg.models[i];
    int rc = ww_detector_create(paths, s.cfg.n_models, s.cfg.threshold, &s.det, &err);
    if (!rc && s.cfg.bus != WW_BUS_NONE) {
        ww_dbus_ops ops = {.user = &s,
                           .state = op_state,
                           .device = op_device,
                           .n_models = op_n_models,
                           .model = op_model,
                           .detections = op_detections,
                           .overruns = op_overruns,
                           .xruns = op_xruns,
                           .dropped_messages = op_dropped_messages,
                           .set_threshold = op_set_threshold,
                           .pause = op_pause,
                           .resume = op_resume};
        s.bus_ops = ops;
        ww_error berr = {{0}};
        int unanswered = 1; /* no bus yet counts as a bus that did not answer */
        if (ww_dbus_open(s.cfg.bus, &s.bus_ops, &s.bus, &berr) ||
            ww_dbus_request_name(s.bus, 1, &unanswered, &berr)) {
            if (unanswered)
                bus_lost(&s, berr.msg); /* no bus, or a frozen one: detect without it, retry */
            else
                rc = ww_fail(&err, WW_EIO, "%s", berr.msg); /* refused (policy, taken): fatal */
        }
    }
    if (!rc) rc = start_capture(&s, &err);
    if (rc) {
        ww_log(LOG_ERR, NULL, "cannot start: %s", err.msg);
        stop_capture(&s);
        ww_dbus_close(s.bus);
        ww_detector_destroy(s.det);
        ww_events_stop(EVENTS_DRAIN_MS);
        close(s.sig_fd);
        close(s.wake_fd);
        return 1;
    }
    ww_log(LOG_INFO, WW_MSGID_STARTED, "started: device '%s', %d model%s, bus %s", s.cfg.device,
           s.cfg.n_models, s.cfg.n_models == 1 ? "" : "s", ww_bus_kind_name(s.cfg.bus));
    update_state(&s);

    uint64_t wd_usec = 0;
    if (sd_watchdog_enabled(0, &wd_usec) <= 0) wd_usec = 0;
    uint64_t wd_next = now_usec(CLOCK_MONOTONIC) + wd_usec / 2;
    uint64_t wd_processed = 0, wd_heartbeat = 0;

    int more = 0; /* audio left in the ring: poll without waiting */
    while (!s.stopping) {
        struct pollfd fds[3] = {
            {.fd = s.sig_fd, .events = POLLIN}, {.fd = s.wake_fd, .events = POLLIN}, {.fd = -1}};
        int nfds = 2;
        uint64_t now = now_usec(CLOCK_MONOTONIC), deadline = now + 200000;
        if (s.bus) {
            fds[2].fd = ww_dbus_fd(s.bus);
            fds[2].events = (short)ww_dbus_events(s.bus);
            nfds = 3;
            uint64_t t = ww_dbus_timeout(s.bus);
            if (t < deadline) deadline = t;
        } else if (s.cfg.bus != WW_BUS_NONE && s.bus_retry_at < deadline) {
            deadline = s.bus_retry_at;
        }
        if (wd_usec && wd_next < deadline) deadline = wd_next;
        int timeout = deadline > now && !more ? (int)((deadline - now + 999) / 1000) : 0;
        if (poll(fds, (nfds_t)nfds, timeout) < 0 && errno != EINTR) {
            ww_log(LOG_ERR, NULL, "poll: %s", strerror(errno));
            s.failed = 1;
            break;
        }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(s.sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGHUP)
                    reload(&s);
                else
                    s.stopping = 1;
            }
        }
        if (fds[1].revents & POLLIN) {
            uint64_t v;
            ssize_t r = read(s.wake_fd, &v, sizeof v);
            (void)r;
        }
        if (s.stopping) break;
        /* events first: a "device recovered" precedes the audio it brings */
        check_capture_events(&s);
        more = drain(&s);
        update_state(&s);
        if (!s.ready && s.processed > 0) {
            s.ready = 1;
            ww_events_notify("READY=1");
            send_status(&s);
        }
        bus_check(&s);
        ww_events_tick();
        now = now_usec(CLOCK_MONOTONIC);
        if (wd_usec && now >= wd_next) {
            /* alive = audio went through since the last ping, or the capture
             * thread is busy retrying a lost device; a stall gets no ping */
            uint64_t hb = ww_capture_heartbeat(s.cap);
            int retrying = ww_capture_get_state(s.cap) == WW_CAPTURE_LOST && hb != wd_heartbeat;
            if (s.processed != wd_processed || retrying) ww_events_notify("WATCHDOG=1");
            wd_processed = s.processed;
            wd_heartbeat = hb;
            wd_next = now + wd_usec / 2;
        }
    }
    s.stopping = 1;
    ww_events_notify("STOPPING=1\nSTATUS=stopping");
    s.state = "stopping";
    ww_dbus_changed(s.bus, "State", NULL);
    stop_capture(&s);
    ww_log(LOG_INFO, WW_MSGID_STOPPED, "stopped after %" PRIu64 " detection%s", s.detections,
           s.detections == 1 ? "" : "s");
    ww_dbus_close(s.bus);
    ww_detector_destroy(s.det);
    ww_events_stop(EVENTS_DRAIN_MS);
    close(s.sig_fd);
    close(s.wake_fd);
    return s.failed ? 1 : 0;
}
