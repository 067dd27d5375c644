/* The output queue between the processing loop and a writer that may block:
 * records come out whole and in order across two threads; a full queue drops
 * and counts without blocking, and the notice of the drops comes out in their
 * place once the writer has caught up (with the next record, or alone when the
 * producer is idle); stopping drains what is queued, and a writer stuck in a
 * write is left behind after the timeout instead of hanging the caller. */
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "daemon/outq.h"
#include "wwtest.h"

/* --- a writer to watch: keeps what it was given; blocks while the gate is shut */

#define LOG_MAX 256

static struct {
    atomic_int gate_shut;
    atomic_int entered; /* calls of keep() begun */
    atomic_int written; /* calls of keep() ended */
    char log[LOG_MAX][32];
    /* the ordered stream test */
    uint32_t next_seq;
    uint64_t noticed;
    int bad;
} w;

static void reset_writer(void)
{
    atomic_store(&w.gate_shut, 0);
    atomic_store(&w.entered, 0);
    atomic_store(&w.written, 0);
    w.next_seq = 0;
    w.noticed = 0;
    w.bad = 0;
}

static void keep(void *user, const char *rec, size_t len)
{
    (void)user;
    atomic_fetch_add(&w.entered, 1);
    while (atomic_load(&w.gate_shut)) usleep(1000);
    int i = atomic_load(&w.written);
    if (i < LOG_MAX) snprintf(w.log[i], sizeof w.log[i], "%.*s", (int)len, rec);
    atomic_store(&w.written, i + 1);
}

static size_t notice(void *user, uint64_t n, char *buf, size_t size)
{
    (void)user;
    return (size_t)snprintf(buf, size, "D%llu", (unsigned long long)n);
}

static int wait_written(int n)
{
    for (int t = 0; t < 5000 && atomic_load(&w.written) < n; t++) usleep(1000);
    return atomic_load(&w.written) >= n;
}

static int push_str(ww_outq *q, const char *s)
{
    return ww_outq_push(q, s, strlen(s));
}

/* --- order across threads ------------------------------------------------- */

#define TOTAL 200000

/* record: 'R', a 4-byte sequence number, then bytes that depend on it */
static void check_stream(void *user, const char *rec, size_t len)
{
    (void)user;
    if (w.bad) return;
    if (len > 1 && rec[0] == 'D') {
        char n[32];
        snprintf(n, sizeof n, "%.*s", (int)len - 1, rec + 1);
        w.noticed += strtoull(n, NULL, 10);
        return;
    }
    uint32_t seq;
    memcpy(&seq, rec + 1, 4);
    int ok = rec[0] == 'R' && len >= 5 && seq == w.next_seq && len == 5 + seq % 600;
    for (size_t i = 5; ok && i < len; i++) ok = rec[i] == (char)(seq + i);
    if (!ok) {
        w.bad = 1;
        ww_test_fail(__FILE__, __LINE__, "record %u: got seq %u, %zu bytes", w.next_seq, seq, len);
    }
    w.next_seq++;
}

WW_TEST(outq_two_threads_order_kept_and_drops_noticed)
{
    reset_writer();
    ww_error err = {{0}};
    ww_outq *q;
    /* small, so that the producer outruns the writer now and then */
    REQUIRE(ww_outq_start("test-stream", 4096, check_stream, notice, NULL, &q, &err) == 0);
    char rec[5 + 600];
    uint64_t refused = 0;
    for (uint32_t seq = 0; seq < TOTAL; seq++) {
        size_t len = 5 + seq % 600;
        rec[0] = 'R';
        memcpy(rec + 1, &seq, 4);
        for (size_t i = 5; i < len; i++) rec[i] = (char)(seq + i);
        /* a lossless producer for this test: push again what was refused */
        while (!ww_outq_push(q, rec, len)) {
            refused++;
            sched_yield();
        }
    }
    uint64_t dropped = ww_outq_dropped(q);
    CHECK_EQ_INT(ww_outq_stop(q, 10000), 1);
    CHECK_EQ_INT(w.next_seq, TOTAL);
    CHECK_EQ_INT(dropped, refused);
    /* every refusal was followed by an accepted record carrying its notice */
    CHECK_EQ_INT(w.noticed, refused);
}

/* --- full queue ------------------------------------------------------------ */

/* pushes "held" and waits until the writer has taken it and is stuck on it */
static void hold_writer(ww_outq *q)
{
    atomic_store(&w.gate_shut, 1);
    int before = atomic_load(&w.entered);
    CHECK(push_str(q, "held") == 1);
    for (int t = 0; t < 5000 && atomic_load(&w.entered) == before; t++) usleep(1000);
}

/* a queue into keep(), its writer stuck on a first record "held" */
static ww_outq *start_held(const char *name, size_t capacity, ww_outq_notice_fn fn, void *user)
{
    reset_writer();
    ww_error err = {{0}};
    ww_outq *q;
    if (ww_outq_start(name, capacity, keep, fn, user, &q, &err)) {
        ww_test_fail(__FILE__, __LINE__, "%s", err.msg);
        return NULL;
    }
    hold_writer(q);
    return q;
}

/* pushes until the queue refuses (that refusal is one drop); returns how many fit */
static int fill(ww_outq *q)
{
    int n = 0;
    char rec[16];
    for (;;) {
        snprintf(rec, sizeof rec, "r%03d", n);
        if (!push_str(q, rec)) return n;
        n++;
    }
}

static void check_filled(int from, int n)
{
    char rec[16];
    for (int i = 0; i < n; i++) {
        snprintf(rec, sizeof rec, "r%03d", i);
        CHECK_MSG(!strcmp(w.log[from + i], rec), "record %d: %s", i, w.log[from + i]);
    }
}

WW_TEST(outq_full_queue_drops_counts_and_notices_in_place)
{
    ww_outq *q = start_held("test-full", 1024, notice, NULL);
    REQUIRE(q != NULL);
    int n = fill(q);
    CHECK(n >= 40 && n <= 128); /* 1024 bytes, 8 per record */
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(push_str(q, "refused"), 0);
    static char big[WW_OUTQ_MAX_RECORD + 1];
    CHECK_EQ_INT(ww_outq_push(q, big, sizeof big), 0); /* too long, whatever the room */
    CHECK_EQ_INT(ww_outq_dropped(q), 7);
    ww_outq_flush_notice(q); /* no room: nothing is queued */
    CHECK_EQ_INT(atomic_load(&w.written), 0);

    atomic_store(&w.gate_shut, 0);
    REQUIRE(wait_written(1 + n));
    CHECK(push_str(q, "next") == 1);
    REQUIRE(wait_written(1 + n + 2));
    CHECK(!strcmp(w.log[0], "held"));
    check_filled(1, n);
    CHECK_MSG(!strcmp(w.log[1 + n], "D7"), "notice: %s", w.log[1 + n]);
    CHECK(!strcmp(w.log[2 + n], "next"));

    /* drops, then an idle producer: the notice goes out without a record */
    reset_writer();
    hold_writer(q);
    n = fill(q);
    CHECK_EQ_INT(push_str(q, "refused"), 0);
    CHECK_EQ_INT(ww_outq_dropped(q), 9);
    atomic_store(&w.gate_shut, 0);
    REQUIRE(wait_written(1 + n));
    ww_outq_flush_notice(q);
    REQUIRE(wait_written(1 + n + 1));
    check_filled(1, n);
    CHECK_MSG(!strcmp(w.log[1 + n], "D2"), "notice: %s", w.log[1 + n]);
    ww_outq_flush_notice(q); /* said once */
    CHECK_EQ_INT(ww_outq_stop(q, 5000), 1);
    CHECK_EQ_INT(atomic_load(&w.written), 1 + n + 1);
}

static size_t no_notice(void *user, uint64_t n, char *buf, size_t size)
{
    (void)buf, (void)size;
    *(uint64_t *)user += n;
    return 0;
}

/* an output that says its drops elsewhere (stdout: in the log) */
WW_TEST(outq_notice_may_go_elsewhere)
{
    uint64_t told = 0;
    ww_outq *q = start_held("test-elsewhere", 1024, no_notice, &told);
    REQUIRE(q != NULL);
    int n = fill(q);
    CHECK_EQ_INT(told, 0); /* not while full: once, when it can be queued */
    atomic_store(&w.gate_shut, 0);
    REQUIRE(wait_written(1 + n));
    CHECK(push_str(q, "next") == 1);
    CHECK_EQ_INT(told, 1);
    CHECK_EQ_INT(ww_outq_stop(q, 5000), 1);
    CHECK_EQ_INT(atomic_load(&w.written), 1 + n + 1);
    CHECK(!strcmp(w.log[1 + n], "next"));
}

/* --- stopping -------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

WW_TEST(outq_stop_writes_what_is_queued)
{
    ww_outq *q = start_held("test-drain", 4096, notice, NULL);
    REQUIRE(q != NULL);
    char rec[16];
    for (int i = 0; i < 10; i++) {
        snprintf(rec, sizeof rec, "r%03d", i);
        CHECK(push_str(q, rec) == 1);
    }
    atomic_store(&w.gate_shut, 0);
    CHECK_EQ_INT(ww_outq_stop(q, 5000), 1);
    CHECK_EQ_INT(atomic_load(&w.written), 11);
    check_filled(1, 10);
}

WW_TEST(outq_stop_leaves_a_stuck_writer_behind)
{
    ww_outq *q = start_held("test-stuck", 4096, notice, NULL);
    REQUIRE(q != NULL);
    CHECK(push_str(q, "queued") == 1);
    double t0 = now_s();
    CHECK_EQ_INT(ww_outq_stop(q, 100), 0);
    double waited = now_s() - t0;
    CHECK_MSG(waited >= 0.09 && waited < 2.0, "stop waited %.3f s", waited);
    /* the write returns at last: the writer finishes the queue, frees it and
     * ends (ASan would see a leak or a use after free otherwise) */
    atomic_store(&w.gate_shut, 0);
    CHECK(wait_written(2));
    CHECK(!strcmp(w.log[1], "queued"));
    usleep(50000);
}
