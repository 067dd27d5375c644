#include "tests/unit/wwtest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_TESTS 512
static struct {
    const char *name;
    ww_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static int current_failed;
static char tmpdir[256];

void ww_test_register(const char *name, ww_test_fn fn)
{
    if (n_tests < MAX_TESTS) {
        tests[n_tests].name = name;
        tests[n_tests].fn = fn;
        n_tests++;
    }
}

void ww_test_fail(const char *file, int line, const char *fmt, ...)
{
    if (current_failed++ < 5) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stdout, "#   %s:%d: ", file, line);
        vfprintf(stdout, fmt, ap);
        fputc('\n', stdout);
        va_end(ap);
    }
}

int ww_test_failed(void) { return current_failed != 0; }

static void remove_tmpdir(void)
{
    if (tmpdir[0]) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    }
}

const char *ww_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/wwtest-XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *ww_test_tmp(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", ww_test_tmpdir(), name);
    return path;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < n_tests; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name) != 0) continue;
        current_failed = 0;
        tests[i].fn();
        if (current_failed) {
            printf("not ok - %s\n", tests[i].name);
            failed++;
        } else {
            printf("ok - %s\n", tests[i].name);
            passed++;
        }
    }
    printf("# %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
