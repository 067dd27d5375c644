#include "daemon/dbus.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

struct ww_dbus {
    sd_bus *bus;
    sd_bus_slot *slot;
    sd_bus_slot *name_slot; /* the pending asynchronous RequestName */
    ww_dbus_ops ops;
    const char *which;
    int owned;           /* the name is ours */
    int name_error;      /* the asynchronous RequestName failed (negative errno) */
    int name_unanswered; /* ... because no answer came, not because it was refused */
    char name_msg[256];
};

static int get_state(sd_bus *bus, const char *path, const char *iface, const char *prop,
                     sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
    (void)bus, (void)path, (void)iface, (void)error;
    ww_dbus *b = userdata;
    if (!strcmp(prop, "State")) return sd_bus_message_append(reply, "s", b->ops.state(b->ops.user));
    if (!strcmp(prop, "Device"))
        return sd_bus_message_append(reply, "s", b->ops.device(b->ops.user));
    if (!strcmp(prop, "Detections"))
        return sd_bus_message_append(reply, "t", b->ops.detections(b->ops.user));
    if (!strcmp(prop, "Overruns"))
        return sd_bus_message_append(reply, "t", b->ops.overruns(b->ops.user));
    if (!strcmp(prop, "Xruns")) return sd_bus_message_append(reply, "t", b->ops.xruns(b->ops.user));
    if (!strcmp(prop, "DroppedMessages"))
        return sd_bus_message_append(reply, "t", b->ops.dropped_messages(b->ops.user));
    return -EINVAL;
}

static int get_models(sd_bus *bus, const char *path, const char *iface, const char *prop,
                      sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
    (void)bus, (void)path, (void)iface, (void)prop, (void)error;
    ww_dbus *b = userdata;
    int r = sd_bus_message_open_container(reply, 'a', "(ssd)");
    int n = b->ops.n_models(b->ops.user);
    for (int i = 0; r >= 0 && i < n; i++) {
        const char *kw, *file;
        double thr;
        b->ops.model(b->ops.user, i, &kw, &file, &thr);
        r = sd_bus_message_append(reply, "(ssd)", kw, file, thr);
    }
    if (r < 0) return r;
    return sd_bus_message_close_container(reply);
}

static int m_set_threshold(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    ww_dbus *b = userdata;
    const char *kw;
    double v;
    int r = sd_bus_message_read(m, "sd", &kw, &v);
    if (r < 0) return r;
    ww_error err = {{0}};
    if (b->ops.set_threshold(b->ops.user, kw, v, &err))
        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, err.msg);
    return sd_bus_reply_method_return(m, NULL);
}

static int m_pause(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    (void)error;
    ww_dbus *b = userdata;
    b->ops.pause(b->ops.user);
    return sd_bus_reply_method_return(m, NULL);
}

static int m_resume(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    (void)error;
    ww_dbus *b = userdata;
    b->ops.resume(b->ops.user);
    return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("State", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Device", "s", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Models", "a(ssd)", get_models, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Detections", "t", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("Overruns", "t", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("Xruns", "t", get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_PROPERTY("DroppedMessages", "t", get_state, 0,
                    SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
    SD_BUS_METHOD_WITH_NAMES("SetThreshold", "sd", SD_BUS_PARAM(keyword) SD_BUS_PARAM(value), "", ,
                             m_set_threshold, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Pause", "", "", m_pause, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("Resume", "", "", m_resume, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_SIGNAL_WITH_NAMES("Detected", "sdt",
                             SD_BUS_PARAM(keyword) SD_BUS_PARAM(score) SD_BUS_PARAM(timestamp_usec),
                             0),
    SD_BUS_VTABLE_END,
};

int ww_dbus_open(ww_bus_kind kind, const ww_dbus_ops *ops, ww_dbus **out, ww_error *err)
{
    *out = NULL;
    ww_dbus *b = calloc(1, sizeof *b);
    if (!b) return ww_fail(err, WW_ENOMEM, "D-Bus: out of memory");
    b->ops = *ops;
    b->which = kind == WW_BUS_USER ? "user" : "system";
    int r = kind == WW_BUS_USER ? sd_bus_open_user(&b->bus) : sd_bus_open_system(&b->bus);
    if (r < 0) {
        const char *which = b->which;
        free(b);
        return ww_fail(err, WW_EIO, "D-Bus: cannot connect to the %s bus: %s", which, strerror(-r));
    }
    r = sd_bus_add_object_vtable(b->bus, &b->slot, WW_DBUS_PATH, WW_DBUS_INTERFACE, vtable, b);
    if (r < 0) {
        ww_dbus_close(b);
        return ww_fail(err, WW_ENOMEM, "D-Bus: cannot export %s: %s", WW_DBUS_PATH, strerror(-r));
    }
    *out = b;
    return WW_OK;
}

static int on_name_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
    (void)error;
    ww_dbus *b = userdata;
    const sd_bus_error *e = sd_bus_message_get_error(m);
    b->name_slot = sd_bus_slot_unref(b->name_slot);
    if (e) {
        b->name_error = -sd_bus_message_get_errno(m);
        /* sd-bus makes these up itself when the call times out or the
         * connection closes: the bus never said no */
        b->name_unanswered = sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
                                                    SD_BUS_ERROR_DISCONNECTED);
        if (b->name_error >= 0) b->name_error = -EIO;
        snprintf(b->name_msg, sizeof b->name_msg, "cannot own %s on the %s bus: %s", WW_DBUS_NAME,
                 b->which, e->message ? e->message : e->name);
        return 0;
    }
    /* RequestName answers 1 (primary owner) or 4 (already the owner); 2 or 3
     * when another connection has it (sd-bus asks not to be queued) */
    uint32_t code = 0;
    if (sd_bus_message_read(m, "u", &code) < 0 || (code != 1 && code != 4)) {
        b->name_error = -EEXIST;
        snprintf(b->name_msg, sizeof b->name_msg, "cannot own %s on the %s bus: %s", WW_DBUS_NAME,
                 b->which, "owned by another connection");
        return 0;
    }
    b->owned = 1;
    return 0;
}

/* How long start-up waits for the bus to answer the connection's
 * authentication, its Hello and RequestName. A dbus-daemon that accepts the
 * connection but is stopped or overloaded would otherwise hold start-up for
 * sd-bus's own timeouts (25 s for a call, 90 s for authentication), then the
 * daemon would give up; a few seconds tell a frozen bus from a busy one and
 * stay well inside systemd's TimeoutStartSec (90 s by default). */
#define STARTUP_NAME_TIMEOUT_USEC 5000000u

static uint64_t monotonic_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Runs the connection (process, then wait) until done() says so: 0 then,
 * -ETIMEDOUT once timeout_usec has passed, or the connection's error. The
 * deadline is checked on every turn, so a peer that keeps sending cannot hold
 * the caller past it. */
static int pump_until(sd_bus *bus, uint64_t timeout_usec, int (*done)(sd_bus *, void *), void *arg)
{
    uint64_t end = monotonic_usec() + timeout_usec;
    for (;;) {
        if (done(bus, arg)) return 0;
        uint64_t now = monotonic_usec();
        if (now >= end) return -ETIMEDOUT;
        int r = sd_bus_process(bus, NULL);
        if (r == 0) r = sd_bus_wait(bus, end - now);
        if (r < 0) return r;
    }
}

static int name_answered(sd_bus *bus, void *arg)
{
    (void)bus;
    const ww_dbus *b = arg;
    return b->owned || b->name_error;
}

/* The asynchronous request, driven here until the answer or the deadline:
 * sd_bus_request_name would first wait for the authentication and Hello
 * without the call's timeout, and its timeout would only cover the call. */
static int request_name_bounded(ww_dbus *b, int *unanswered, ww_error *err)
{
    *unanswered = 1;
    int r = sd_bus_request_name_async(b->bus, &b->name_slot, WW_DBUS_NAME, 0, on_name_reply, b);
    if (r < 0)
        return ww_fail(err, WW_EIO, "D-Bus: cannot ask the %s bus for %s: %s", b->which,
                       WW_DBUS_NAME, strerror(-r));
    r = pump_until(b->bus, STARTUP_NAME_TIMEOUT_USEC, name_answered, b);
    if (r == -ETIMEDOUT)
        return ww_fail(err, WW_EIO, "D-Bus: no answer from the %s bus within %u s (asking for %s)",
                       b->which, STARTUP_NAME_TIMEOUT_USEC / 1000000u, WW_DBUS_NAME);
    if (r < 0)
        return ww_fail(err, WW_EIO, "D-Bus: lost the %s bus while asking for %s: %s", b->which,
                       WW_DBUS_NAME, strerror(-r));
    if (b->name_error) {
        *unanswered = b->name_unanswered;
        return ww_fail(err, WW_EIO, "D-Bus: %s", b->name_msg);
    }
    return WW_OK;
}

int ww_dbus_request_name(ww_dbus *b, int wait, int *unanswered, ww_error *err)
{
    int dummy;
    if (!unanswered) unanswered = &dummy;
    *unanswered = 0;
    if (wait) return request_name_bounded(b, unanswered, err);
    int r = sd_bus_request_name_async(b->bus, &b->name_slot, WW_DBUS_NAME, 0, on_name_reply, b);
    if (r < 0)
        return ww_fail(err, WW_EIO, "D-Bus: cannot own %s on the %s bus: %s", WW_DBUS_NAME,
                       b->which, strerror(-r));
    return WW_OK;
}

int ww_dbus_owned(const ww_dbus *b)
{
    return b && b->owned;
}

/* What is still queued at close (a Detected signal sent just before SIGTERM,
 * the last PropertiesChanged) gets this long to go out. Not sd_bus_flush: it
 * waits without limit on a stopped dbus-daemon, one that never answers the
 * connection's Hello, or a full socket, and the daemon must still exit well
 * within systemd's TimeoutStopSec (and a reconnection not stall detection). */
#define CLOSE_FLUSH_USEC 1000000u

static int nothing_queued(sd_bus *bus, void *arg)
{
    (void)arg;
    uint64_t queued;
    return sd_bus_get_n_queued_write(bus, &queued) < 0 || !queued;
}

void ww_dbus_close(ww_dbus *b)
{
    if (!b) return;
    /* the slots go first: a method call or name reply dispatched while
     * flushing must not reach the daemon, which is done with this connection */
    sd_bus_slot_unref(b->name_slot);
    sd_bus_slot_unref(b->slot);
    pump_until(b->bus, CLOSE_FLUSH_USEC, nothing_queued, NULL);
    sd_bus_close_unref(b->bus);
    free(b);
}

int ww_dbus_fd(ww_dbus *b)
{
    return sd_bus_get_fd(b->bus);
}
int ww_dbus_events(ww_dbus *b)
{
    int e = sd_bus_get_events(b->bus);
    return e < 0 ? 0 : e;
}
uint64_t ww_dbus_timeout(ww_dbus *b)
{
    uint64_t t;
    return sd_bus_get_timeout(b->bus, &t) < 0 ? UINT64_MAX : t;
}

int ww_dbus_process(ww_dbus *b, ww_error *err)
{
    int r;
    while ((r = sd_bus_process(b->bus, NULL)) > 0) {
    }
    if (r < 0) return ww_fail(err, WW_EIO, "D-Bus: connection lost: %s", strerror(-r));
    if (b->name_error) return ww_fail(err, WW_EIO, "D-Bus: %s", b->name_msg);
    return WW_OK;
}

void ww_dbus_emit_detected(ww_dbus *b, const char *keyword, double score, uint64_t usec)
{
    if (!b) return;
    /* queued and written as far as the socket takes it; the rest goes out from
     * ww_dbus_process. No sd_bus_flush: it waits without limit, and a stopped
     * dbus-daemon must not stop detection. */
    sd_bus_emit_signal(b->bus, WW_DBUS_PATH, WW_DBUS_INTERFACE, "Detected", "sdt", keyword, score,
                       usec);
}

void ww_dbus_changed(ww_dbus *b, const char *prop, ...)
{
    if (!b) return;
    const char *names[8];
    int n = 0;
    va_list ap;
    va_start(ap, prop);
    for (const char *p = prop; p && n < 7; p = va_arg(ap, const char *)) names[n++] = p;
    va_end(ap);
    names[n] = NULL;
    sd_bus_emit_properties_changed_strv(b->bus, WW_DBUS_PATH, WW_DBUS_INTERFACE, (char **)names);
}
