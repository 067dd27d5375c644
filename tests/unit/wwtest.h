/* A minimal test harness: WW_TEST(name) { ... } registers a case; CHECK*
 * macros record failures with file:line. Each test binary prints one TAP-like
 * line per case ("ok - name" / "not ok - name: why"), which tests/run.sh counts.
 * Run one case with `test_x name`. Paths are relative to the repository root. */
#ifndef WW_TESTS_WWTEST_H
#define WW_TESTS_WWTEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef void (*ww_test_fn)(void);
void ww_test_register(const char *name, ww_test_fn fn);
void ww_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ww_test_failed(void);

/* A fresh temporary directory for this test binary, removed at exit. */
const char *ww_test_tmpdir(void);
/* tmpdir/name, in a static buffer that the next call overwrites. */
const char *ww_test_tmp(const char *name);

#define WW_TEST(name)                                                                              \
    static void name(void);                                                                        \
    __attribute__((constructor)) static void ww_register_##name(void)                              \
    {                                                                                              \
        ww_test_register(#name, name);                                                             \
    }                                                                                              \
    static void name(void)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) ww_test_fail(__FILE__, __LINE__, "%s", #cond);                                \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond)) ww_test_fail(__FILE__, __LINE__, __VA_ARGS__);                                \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long ww_a_ = (long long)(a), ww_b_ = (long long)(b);                                  \
        if (ww_a_ != ww_b_)                                                                        \
            ww_test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, ww_a_, ww_b_);     \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
    do {                                                                                           \
        double ww_a_ = (double)(a), ww_b_ = (double)(b);                                           \
        if (!(fabs(ww_a_ - ww_b_) <= (tol)))                                                       \
            ww_test_fail(__FILE__, __LINE__, "%s ~ %s (%.9g vs %.9g, tol %g)", #a, #b, ww_a_,      \
                         ww_b_, (double)(tol));                                                    \
    } while (0)

/* Stops the current case when a check failed (e.g. before using a NULL). */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        CHECK(cond);                                                                               \
        if (ww_test_failed()) return;                                                              \
    } while (0)

#endif
