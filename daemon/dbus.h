/* The daemon on D-Bus (sd-bus): name org.wakewordd, object
 * /org/wakewordd/Detector1, interface org.wakewordd.Detector1 (described in
 * etc/org.wakewordd.Detector1.xml):
 *   signal   Detected(s keyword, d score, t timestamp_usec)
 *   property State s, Device s, Models a(ssd) (keyword, file, threshold),
 *            Detections t, Overruns t, Xruns t, DroppedMessages t  (read-only)
 *   method   SetThreshold(s keyword, d value), Pause(), Resume()
 * Who may call the methods is the bus policy's job (etc/org.wakewordd.conf).
 * The daemon owns the state; this module asks for it through ww_dbus_ops. */
#ifndef WW_DAEMON_DBUS_H
#define WW_DAEMON_DBUS_H

#include <stdint.h>

#include "core/error.h"
#include "daemon/config.h"

#define WW_DBUS_NAME      "org.wakewordd"
#define WW_DBUS_PATH      "/org/wakewordd/Detector1"
#define WW_DBUS_INTERFACE "org.wakewordd.Detector1"

typedef struct ww_dbus_ops {
    void *user;
    const char *(*state)(void *user);
    const char *(*device)(void *user);
    int (*n_models)(void *user);
    void (*model)(void *user, int i, const char **keyword, const char **file, double *threshold);
    uint64_t (*detections)(void *user);
    uint64_t (*overruns)(void *user);
    uint64_t (*xruns)(void *user);
    uint64_t (*dropped_messages)(void *user);
    int (*set_threshold)(void *user, const char *keyword, double value, ww_error *err);
    void (*pause)(void *user);
    void (*resume)(void *user);
} ww_dbus_ops;

typedef struct ww_dbus ww_dbus;

/* Connects to the system bus (or $DBUS_SYSTEM_BUS_ADDRESS) or the user bus and
 * exports the object; the name comes with ww_dbus_request_name. WW_EIO when
 * the bus cannot be reached (the caller may retry later). Connecting does not
 * wait: a missing or dead bus fails at once. */
int ww_dbus_open(ww_bus_kind kind, const ww_dbus_ops *ops, ww_dbus **out, ww_error *err);
void ww_dbus_close(ww_dbus *b);

/* Asks for the name org.wakewordd. wait = 1 waits a few seconds at most for
 * the bus's answer (at start-up, where a refusal is fatal): on failure,
 * *unanswered (may be NULL) tells a bus that did not answer in time or went
 * away (recoverable: close and retry later) from one that refused the name
 * (policy, owned by another connection). wait = 0 returns at once: the answer
 * arrives through ww_dbus_process, which fails if the name was refused, and
 * ww_dbus_owned() turns 1 once it is granted (used when reconnecting, so the
 * processing loop never waits for the bus). */
int ww_dbus_request_name(ww_dbus *b, int wait, int *unanswered, ww_error *err);
int ww_dbus_owned(const ww_dbus *b);

/* For a poll loop: the fd, the poll events it wants, and the absolute
 * CLOCK_MONOTONIC deadline in usec (UINT64_MAX: none). */
int ww_dbus_fd(ww_dbus *b);
int ww_dbus_events(ww_dbus *b);
uint64_t ww_dbus_timeout(ww_dbus *b);

/* Handles everything pending; negative when the connection is gone (or an
 * asynchronous name request was refused): close it and open a new one. */
int ww_dbus_process(ww_dbus *b, ww_error *err);

void ww_dbus_emit_detected(ww_dbus *b, const char *keyword, double score, uint64_t usec);
/* Announces new values of the named properties (NULL-terminated names). */
void ww_dbus_changed(ww_dbus *b, const char *prop, ...);

#endif
