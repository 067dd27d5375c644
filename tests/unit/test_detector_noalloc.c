/* The audio path allocates nothing after start-up: this binary counts calls
 * to malloc/calloc/realloc (by wrapping glibc's) while the detector processes
 * a recording, in random chunks, with the capture ring in between. Under
 * AddressSanitizer, which owns malloc, the case is skipped (it says so). */
#include <stdatomic.h>
#include <stdlib.h>

#include "daemon/detector.h"
#include "daemon/ring.h"
#include "dsp/audio_file.h"
#include "wwtest.h"

#if defined(__SANITIZE_ADDRESS__)
#define WW_NO_WRAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WW_NO_WRAP 1
#endif
#endif

#ifndef WW_NO_WRAP
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static atomic_int counting;
static atomic_long allocations;

void *malloc(size_t n)
{
    if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (atomic_load(&counting)) atomic_fetch_add(&allocations, 1);
    return __libc_realloc(p, n);
}

static int fired;
static void count_detection(void *user, const ww_detection *d)
{
    (void)user, (void)d;
    fired++;
}
#endif


WW_TEST(detector_push_allocates_nothing)
{
#ifdef WW_NO_WRAP
    printf("# skipped under AddressSanitizer (it owns malloc)\n");
#else
    float *x = NULL;
    size_t n = 0;
    ww_error err = {{0}};
    REQUIRE(ww_audio_read_all("tests/fixtures/daemon/tone_bursts.wav", 16000, &x, &n, NULL, &err) ==
            0);
    const char *paths[] = {"tests/fixtures/daemon/tone_model.onnx"};
    ww_detector *d;
    ww_ring *ring;
    REQUIRE(ww_detector_create(paths, 1, -1, &d, &err) == 0);
    REQUIRE(ww_ring_create(4096, &ring, &err) == 0);
    float buf[4096];
    unsigned seed = 5;
    atomic_store(&counting, 1);
    for (size_t at = 0; at < n;) {
        size_t k = 1 + (size_t)rand_r(&seed) % 2000;
        if (k > n - at) k = n - at;
        ww_ring_write(ring, x + at, k);
        size_t got = ww_ring_read(ring, buf, sizeof buf / sizeof buf[0]);
        ww_detector_push(d, buf, got, count_detection, NULL, &err);
        at += k;
    }
    atomic_store(&counting, 0);
    CHECK_EQ_INT(atomic_load(&allocations), 0);
    CHECK_EQ_INT(fired, 2);
    ww_ring_destroy(ring);
    ww_detector_destroy(d);
    free(x);
#endif
}
