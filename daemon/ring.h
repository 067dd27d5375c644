/* A lock-free single-producer/single-consumer ring of float samples between the
 * capture thread and the processing loop. The producer never blocks: what does
 * not fit is dropped and counted as an overrun, so a slow consumer costs audio,
 * never a stalled capture. Capacity is rounded up to a power of two; nothing
 * allocates after ww_ring_create(). */
#ifndef WW_DAEMON_RING_H
#define WW_DAEMON_RING_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct ww_ring ww_ring;

int ww_ring_create(size_t min_capacity, ww_ring **out, ww_error *err);
void ww_ring_destroy(ww_ring *r);

size_t ww_ring_capacity(const ww_ring *r);

/* Producer side: copies as many of the n samples as fit and returns that count;
 * the rest are dropped and added to the overrun counter. */
size_t ww_ring_write(ww_ring *r, const float *samples, size_t n);

/* Consumer side: copies up to max samples out and returns how many. */
size_t ww_ring_read(ww_ring *r, float *out, size_t max);

/* Samples available to the consumer right now. */
size_t ww_ring_available(const ww_ring *r);

/* Samples dropped so far because the ring was full (any thread may read it). */
uint64_t ww_ring_overruns(const ww_ring *r);

/* Overrun events (writes that dropped at least one sample). */
uint64_t ww_ring_overrun_events(const ww_ring *r);

#endif
