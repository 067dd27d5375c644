/* The capture/processing ring: order and count preserved across two threads
 * with random chunk sizes, overruns dropped and counted rather than blocking. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/ring.h"
#include "wwtest.h"

#define TOTAL (1u << 21) /* samples through the ring; < 2^24 so floats hold them exactly */

typedef struct {
    ww_ring *ring;
    unsigned seed;
    int bad;
    size_t received;
} shared;

static void *producer(void *arg)
{
    shared *s = arg;
    unsigned seed = s->seed;
    float chunk[700];
    uint32_t next = 0;
    while (next < TOTAL) {
        size_t n = 1 + (size_t)rand_r(&seed) % 700;
        if (n > TOTAL - next) n = TOTAL - next;
        for (size_t i = 0; i < n; i++) chunk[i] = (float)(next + i);
        /* a lossless producer for this test: retry what did not fit */
        size_t done = 0;
        while (done < n) {
            size_t w = ww_ring_write(s->ring, chunk + done, n - done);
            done += w;
            if (done < n) sched_yield();
        }
        next += (uint32_t)n;
    }
    return NULL;
}

WW_TEST(ring_two_threads_random_chunks)
{
    ww_error err = {{0}};
    shared s = {0};
    REQUIRE(ww_ring_create(1000, &s.ring, &err) == 0);
    CHECK_EQ_INT(ww_ring_capacity(s.ring), 1024);
    s.seed = 12345;
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, producer, &s) == 0);
    unsigned seed = 999;
    float out[900];
    uint32_t expect = 0;
    while (expect < TOTAL) {
        size_t want = 1 + (size_t)rand_r(&seed) % 900;
        size_t got = ww_ring_read(s.ring, out, want);
        if (!got) sched_yield();
        for (size_t i = 0; i < got; i++) {
            if (out[i] != (float)expect && !s.bad) {
                s.bad = 1;
                ww_test_fail(__FILE__, __LINE__, "sample %u: got %.0f", expect, out[i]);
            }
            expect++;
        }
        if (s.bad) break;
    }
    pthread_join(th, NULL);
    CHECK_EQ_INT(expect, TOTAL);
    CHECK_EQ_INT(ww_ring_available(s.ring), 0);
    ww_ring_destroy(s.ring);
}

/* The daemon's producer does not retry: a full ring drops the tail of a write,
 * counts it, and what was accepted comes out intact and in order. */
WW_TEST(ring_overrun_drops_and_counts)
{
    ww_error err = {{0}};
    ww_ring *r;
    REQUIRE(ww_ring_create(8, &r, &err) == 0);
    float in[20], out[20];
    for (int i = 0; i < 20; i++) in[i] = (float)i;
    CHECK_EQ_INT(ww_ring_write(r, in, 5), 5);
    CHECK_EQ_INT(ww_ring_write(r, in + 5, 10), 3);
    CHECK_EQ_INT(ww_ring_overruns(r), 7);
    CHECK_EQ_INT(ww_ring_overrun_events(r), 1);
    CHECK_EQ_INT(ww_ring_write(r, in, 1), 0);
    CHECK_EQ_INT(ww_ring_overruns(r), 8);
    CHECK_EQ_INT(ww_ring_overrun_events(r), 2);
    CHECK_EQ_INT(ww_ring_read(r, out, 20), 8);
    for (int i = 0; i < 8; i++) CHECK_EQ_INT((int)out[i], i);
    /* wrap-around: the indices keep running past the end of the buffer */
    for (int round = 0; round < 5; round++) {
        CHECK_EQ_INT(ww_ring_write(r, in, 6), 6);
        CHECK_EQ_INT(ww_ring_read(r, out, 4), 4);
        CHECK_EQ_INT(ww_ring_read(r, out + 4, 4), 2);
        for (int i = 0; i < 6; i++) CHECK_EQ_INT((int)out[i], i);
    }
    CHECK_EQ_INT(ww_ring_overruns(r), 8);
    ww_ring_destroy(r);
}

WW_TEST(ring_rejects_bad_capacity)
{
    ww_error err = {{0}};
    ww_ring *r = (ww_ring *)1;
    CHECK(ww_ring_create(0, &r, &err) == WW_EINVAL);
    CHECK(r == NULL);
    CHECK(strstr(err.msg, "capacity") != NULL);
}
