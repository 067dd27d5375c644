/* Where the daemon says what happened: the systemd journal (structured fields,
 * a MESSAGE_ID per kind of event, described in etc/wakewordd.catalog), stderr
 * when stderr is not already the journal, and JSON lines on stdout for people
 * without systemd. D-Bus signals are in daemon/dbus.h.
 *
 * Between ww_events_start() and ww_events_stop() none of this blocks: each of
 * the outputs, and the notifications to the service manager, has its own
 * writer thread fed through a bounded queue (daemon/outq.h), so a hung journald or a pipe nobody
 * reads costs messages (counted, and said in their place once that output catches up), never a
 * stalled processing loop; and one stuck output does not hold up the others.
 * Outside that span the writes happen at once, on the caller's thread. Call
 * all of it from one thread, the queues' only producer. */
#ifndef WW_DAEMON_EVENTS_H
#define WW_DAEMON_EVENTS_H

#include <stdint.h>
#include <stdio.h>

#include "core/error.h"
#include "daemon/detector.h"

/* MESSAGE_IDs, also in etc/wakewordd.catalog. */
#define WW_MSGID_DETECTED      "08ef960d2052460ca397d7ba5557eac9"
#define WW_MSGID_STARTED       "62270ea0d04d474bbb8100e2616b293f"
#define WW_MSGID_STOPPED       "58748206a7ef43508796717d0a5460be"
#define WW_MSGID_RELOADED      "c781ef1423864ef0b82acc174d65d3f1"
#define WW_MSGID_RELOAD_FAILED "c6fc44110a9c4e2f97b93c8946798568"
#define WW_MSGID_DEVICE_LOST   "32a7f5cb61fa4ff3968f336933dbf2a6"
#define WW_MSGID_DEVICE_BACK   "ff07bacaa552434e97d645cd19717f0f"
#define WW_MSGID_DROPPED       "820fcfb1fcb7417cad38bbbaebba9a7e"

/* journal: send to journald; echo_stderr: also print "wakewordd: msg" on stderr
 * (decided by ww_events_init from $JOURNAL_STREAM unless forced). */
void ww_events_init(int journal);

/* Starts the writer threads of the journal, stderr, stdout and the
 * service manager's notifications. */
int ww_events_start(ww_error *err);

/* Lets each writer write what is queued, waiting up to timeout_ms in all;
 * a writer still stuck then (journald hung) is left behind with its queue. */
void ww_events_stop(int timeout_ms);

/* Queues the notice of messages dropped by an output that has caught up since
 * (call it from the processing loop: when nothing else is said, the notice
 * would otherwise wait for the next message). */
void ww_events_tick(void);

/* Records dropped so far by the outputs (the D-Bus DroppedMessages). */
uint64_t ww_events_dropped(void);

/* A log line at syslog priority (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO),
 * with a MESSAGE_ID when msgid is not NULL. */
void ww_log(int priority, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A message to the service manager, sd_notify(3)'s READY=1, STATUS=...,
 * WATCHDOG=1 (nothing without $NOTIFY_SOCKET). Queued to a writer of its own
 * like the outputs above: a service manager that does not read its socket
 * (hung, or a supervisor that only waits for READY=1) costs notifications,
 * counted in DroppedMessages and said in the log, never a stalled loop. */
void ww_events_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A detection: journal entry with WAKEWORD=, WAKEWORD_SCORE=, WAKEWORD_MODEL=,
 * WAKEWORD_TIME_S= (audio time) and WAKEWORD_TIMESTAMP_USEC= (wall clock). */
void ww_events_detection(const ww_detection *d, uint64_t realtime_usec);

/* A detection as a JSON line on stdout (ww_json_detection without a file). */
void ww_events_json_detection(const ww_detection *d, uint64_t realtime_usec);

/* One JSON object per line, as `detect --json` prints: file (NULL: omitted),
 * keyword, score, time_s, model; timestamp_usec when nonzero. Flushed. */
void ww_json_detection(FILE *fp, const char *file, const ww_detection *d, uint64_t realtime_usec);

#endif
