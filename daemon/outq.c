#include "daemon/outq.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define HDR sizeof(uint32_t) /* each record: its length, then its bytes */

struct ww_outq {
    /* head is written only by the producer, tail only by the writer; each
     * publishes with release and reads the other's with acquire (as in
     * daemon/ring.c), on separate cache lines */
    _Alignas(64) atomic_size_t head;
    _Alignas(64) atomic_size_t tail;
    _Alignas(64) atomic_uint_least64_t dropped;
    atomic_int stopping;
    /* set by whichever of the writer (done) and ww_outq_stop (given up
     * waiting) gets there first; the second one frees the queue */
    atomic_int gone;
    uint64_t pending; /* producer only: drops since the last record queued */
    size_t mask;
    char *ring;
    char *rec; /* the writer's copy of the record it is writing */
    int wake_fd;
    pthread_t thread;
    ww_outq_write_fn write;
    ww_outq_notice_fn notice;
    void *user;
};

static void destroy(ww_outq *q)
{
    if (q->wake_fd >= 0) close(q->wake_fd);
    free(q->ring);
    free(q->rec);
    free(q);
}

static void ring_put(ww_outq *q, size_t at, const void *src, size_t n)
{
    size_t off = at & q->mask, first = q->mask + 1 - off;
    if (first > n) first = n;
    memcpy(q->ring + off, src, first);
    memcpy(q->ring, (const char *)src + first, n - first);
}

static void ring_get(const ww_outq *q, size_t at, void *dst, size_t n)
{
    size_t off = at & q->mask, first = q->mask + 1 - off;
    if (first > n) first = n;
    memcpy(dst, q->ring + off, first);
    memcpy((char *)dst + first, q->ring, n - first);
}

/* --- producer ------------------------------------------------------------ */

static size_t space(ww_outq *q, size_t head)
{
    return q->mask + 1 - (head - atomic_load_explicit(&q->tail, memory_order_acquire));
}

static size_t put_record(ww_outq *q, size_t head, const char *rec, size_t len)
{
    uint32_t n = (uint32_t)len;
    ring_put(q, head, &n, HDR);
    ring_put(q, head + HDR, rec, len);
    return head + HDR + len;
}

static size_t put_notice(ww_outq *q, size_t head)
{
    if (!q->pending) return head;
    char note[WW_OUTQ_MAX_NOTICE];
    size_t n = q->notice ? q->notice(q->user, q->pending, note, sizeof note) : 0;
    q->pending = 0;
    return n ? put_record(q, head, note, n < sizeof note ? n : sizeof note) : head;
}

/* An eventfd write never blocks (EFD_NONBLOCK; it could only refuse when
 * the counter neared 2^64), so waking the writer costs one system call. */
static void publish(ww_outq *q, size_t head)
{
    atomic_store_explicit(&q->head, head, memory_order_release);
    uint64_t one = 1;
    ssize_t r = write(q->wake_fd, &one, sizeof one);
    (void)r;
}

int ww_outq_push(ww_outq *q, const char *rec, size_t len)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    /* room for the notice too, or the record waits: the notice goes first */
    size_t need = HDR + len + (q->pending ? HDR + WW_OUTQ_MAX_NOTICE : 0);
    if (len > WW_OUTQ_MAX_RECORD || space(q, head) < need) {
        q->pending++;
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return 0;
    }
    head = put_notice(q, head);
    publish(q, put_record(q, head, rec, len));
    return 1;
}

void ww_outq_flush_notice(ww_outq *q)
{
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (!q->pending || space(q, head) < HDR + WW_OUTQ_MAX_NOTICE) return;
    size_t after = put_notice(q, head);
    if (after != head) publish(q, after);
}

uint64_t ww_outq_dropped(const ww_outq *q)
{
    return atomic_load_explicit(&((ww_outq *)q)->dropped, memory_order_relaxed);
}

/* --- writer -------------------------------------------------------------- */

static int pop(ww_outq *q, size_t *len)
{
    size_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&q->head, memory_order_acquire);
    if (head == tail) return 0;
    uint32_t n;
    ring_get(q, tail, &n, HDR);
    ring_get(q, tail + HDR, q->rec, n);
    /* the room is the producer's again before the write, which may block */
    atomic_store_explicit(&q->tail, tail + HDR + n, memory_order_release);
    *len = n;
    return 1;
}

static void write_queued(ww_outq *q)
{
    size_t n;
    while (pop(q, &n)) q->write(q->user, q->rec, n);
}

static void *writer_main(void *arg)
{
    ww_outq *q = arg;
    for (;;) {
        write_queued(q);
        if (atomic_load_explicit(&q->stopping, memory_order_acquire)) {
            write_queued(q); /* what was pushed before the stop request */
            break;
        }
        /* a push or a stop after the last pop left the counter nonzero, so
         * this returns at once then: no wake-up is lost */
        struct pollfd p = {.fd = q->wake_fd, .events = POLLIN};
        if (poll(&p, 1, -1) > 0) {
            uint64_t v;
            ssize_t r = read(q->wake_fd, &v, sizeof v);
            (void)r;
        }
    }
    if (atomic_exchange(&q->gone, 1)) destroy(q); /* ww_outq_stop gave up on us */
    return NULL;
}

int ww_outq_start(const char *name, size_t capacity, ww_outq_write_fn write,
                  ww_outq_notice_fn notice, void *user, ww_outq **out, ww_error *err)
{
    *out = NULL;
    if (capacity < 1024 || capacity > ((size_t)1 << 30))
        return ww_fail(err, WW_EINVAL, "output queue %s: capacity %zu out of range", name,
                       capacity);
    size_t cap = 1024;
    while (cap < capacity) cap <<= 1;
    ww_outq *q = aligned_alloc(64, sizeof *q);
    if (!q) return ww_fail(err, WW_ENOMEM, "output queue %s: out of memory", name);
    memset(q, 0, sizeof *q);
    atomic_init(&q->head, 0);
    atomic_init(&q->tail, 0);
    atomic_init(&q->dropped, 0);
    atomic_init(&q->stopping, 0);
    atomic_init(&q->gone, 0);
    q->mask = cap - 1;
    q->write = write;
    q->notice = notice;
    q->user = user;
    q->ring = malloc(cap);
    q->rec = malloc(WW_OUTQ_MAX_RECORD);
    q->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!q->ring || !q->rec || q->wake_fd < 0) {
        int e = errno;
        destroy(q);
        return ww_fail(err, WW_ENOMEM, "output queue %s: %s", name, strerror(e));
    }
    /* the thread inherits the mask: all blocked, so a signal meant for the
     * process (SIGTERM, SIGHUP) never lands here */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&q->thread, NULL, writer_main, q);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        destroy(q);
        return ww_fail(err, WW_ENOMEM, "output queue %s: cannot start its thread: %s", name,
                       strerror(rc));
    }
    pthread_setname_np(q->thread, name);
    *out = q;
    return WW_OK;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ww_outq_close(ww_outq *q)
{
    atomic_store_explicit(&q->stopping, 1, memory_order_release);
    publish(q, atomic_load_explicit(&q->head, memory_order_relaxed));
}

int ww_outq_stop(ww_outq *q, int timeout_ms)
{
    if (!q) return 1;
    ww_outq_close(q);
    uint64_t deadline = now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
    while (!atomic_load(&q->gone) && now_ms() < deadline) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    if (atomic_load(&q->gone)) {
        pthread_join(q->thread, NULL);
        destroy(q);
        return 1;
    }
    pthread_detach(q->thread);
    if (atomic_exchange(&q->gone, 1)) { /* it finished just now */
        destroy(q);
        return 1;
    }
    return 0;
}
