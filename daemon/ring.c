#include "daemon/ring.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct ww_ring {
    /* head is written only by the producer, tail only by the consumer; each
     * side publishes with release and reads the other's with acquire. They sit
     * on separate cache lines so the two threads do not false-share. */
    _Alignas(64) atomic_size_t head;
    _Alignas(64) atomic_size_t tail;
    _Alignas(64) atomic_uint_least64_t dropped;
    atomic_uint_least64_t drop_events;
    size_t mask;
    float *buf;
};

int ww_ring_create(size_t min_capacity, ww_ring **out, ww_error *err)
{
    *out = NULL;
    if (min_capacity == 0 || min_capacity > ((size_t)1 << 30))
        return ww_fail(err, WW_EINVAL, "ring buffer: capacity %zu out of range", min_capacity);
    size_t cap = 1;
    while (cap < min_capacity) cap <<= 1;
    ww_ring *r = aligned_alloc(64, sizeof *r);
    if (!r) return ww_fail(err, WW_ENOMEM, "ring buffer: out of memory");
    memset(r, 0, sizeof *r);
    r->buf = calloc(cap, sizeof(float));
    if (!r->buf) {
        free(r);
        return ww_fail(err, WW_ENOMEM, "ring buffer: out of memory for %zu samples", cap);
    }
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    atomic_init(&r->dropped, 0);
    atomic_init(&r->drop_events, 0);
    r->mask = cap - 1;
    *out = r;
    return WW_OK;
}

void ww_ring_destroy(ww_ring *r)
{
    if (!r) return;
    free(r->buf);
    free(r);
}

size_t ww_ring_capacity(const ww_ring *r)
{
    return r->mask + 1;
}

size_t ww_ring_write(ww_ring *r, const float *samples, size_t n)
{
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t space = r->mask + 1 - (head - tail);
    size_t k = n < space ? n : space;
    size_t at = head & r->mask, first = r->mask + 1 - at;
    if (first > k) first = k;
    memcpy(r->buf + at, samples, first * sizeof(float));
    memcpy(r->buf, samples + first, (k - first) * sizeof(float));
    atomic_store_explicit(&r->head, head + k, memory_order_release);
    if (k < n) {
        atomic_fetch_add_explicit(&r->dropped, n - k, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->drop_events, 1, memory_order_relaxed);
    }
    return k;
}

size_t ww_ring_read(ww_ring *r, float *out, size_t max)
{
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t avail = head - tail;
    size_t k = max < avail ? max : avail;
    size_t at = tail & r->mask, first = r->mask + 1 - at;
    if (first > k) first = k;
    memcpy(out, r->buf + at, first * sizeof(float));
    memcpy(out + first, r->buf, (k - first) * sizeof(float));
    atomic_store_explicit(&r->tail, tail + k, memory_order_release);
    return k;
}

size_t ww_ring_available(const ww_ring *r)
{
    size_t head = atomic_load_explicit(&((ww_ring *)r)->head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&((ww_ring *)r)->tail, memory_order_acquire);
    return head - tail;
}

uint64_t ww_ring_overruns(const ww_ring *r)
{
    return atomic_load_explicit(&((ww_ring *)r)->dropped, memory_order_relaxed);
}

uint64_t ww_ring_overrun_events(const ww_ring *r)
{
    return atomic_load_explicit(&((ww_ring *)r)->drop_events, memory_order_relaxed);
}
