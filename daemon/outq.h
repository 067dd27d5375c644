/* A bounded queue of byte records with its own writer thread, between the
 * processing loop and an output that may block: journald's socket when
 * journald is hung, a pipe on stderr or stdout that nobody reads. The producer
 * never blocks, locks or allocates: a record that does not fit is dropped and
 * counted, so a stuck reader costs messages, never a stalled detector. Once the
 * writer has caught up, the next record is preceded by a notice of how many
 * were dropped, in their place. Records leave in the order they were pushed.
 * One producer thread; nothing allocates after ww_outq_start(). */
#ifndef WW_DAEMON_OUTQ_H
#define WW_DAEMON_OUTQ_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define WW_OUTQ_MAX_RECORD 8192 /* longer records are dropped */
#define WW_OUTQ_MAX_NOTICE 256

typedef struct ww_outq ww_outq;

/* Writes one record to the output. Runs on the writer thread; may block. */
typedef void (*ww_outq_write_fn)(void *user, const char *rec, size_t len);

/* Formats the notice that n records were dropped into buf (size bytes) and
 * returns its length; 0 puts no notice into this output. Runs on the
 * producer's thread, once per run of drops, when the notice is sure to be
 * queued (so it may do things of its own, like log elsewhere). */
typedef size_t (*ww_outq_notice_fn)(void *user, uint64_t n, char *buf, size_t size);

/* Starts the writer thread (named name, at most 15 characters) over a ring of
 * at least capacity bytes, 1024 or more (a record takes its length plus 4; a
 * record after drops needs room for itself and WW_OUTQ_MAX_NOTICE more). The thread takes
 * no signals: they stay with the threads that handle them. */
int ww_outq_start(const char *name, size_t capacity, ww_outq_write_fn write,
                  ww_outq_notice_fn notice, void *user, ww_outq **out, ww_error *err);

/* Producer: queues a copy of the len bytes at rec (and first the notice, when
 * records were dropped since the last one queued). Returns 1 when queued, 0
 * when dropped: no room, or longer than WW_OUTQ_MAX_RECORD. */
int ww_outq_push(ww_outq *q, const char *rec, size_t len);

/* Producer: queues the notice of records dropped since the last one queued,
 * if any and if it fits now. Call it when idle, so that a notice does not
 * wait for the next record. */
void ww_outq_flush_notice(ww_outq *q);

/* Records dropped so far (any thread may read it). */
uint64_t ww_outq_dropped(const ww_outq *q);

/* Producer, done pushing: asks the writer to stop once the queue is written,
 * without waiting (so that several queues can drain at the same time). */
void ww_outq_close(ww_outq *q);

/* Producer: closes q and waits up to timeout_ms for the writer to stop.
 * Returns 1 when it stopped and the queue is freed; 0 when the writer is stuck
 * in a write and was left behind: it frees the queue itself if that write ever
 * returns. q must not be used again either way. */
int ww_outq_stop(ww_outq *q, int timeout_ms);

#endif
