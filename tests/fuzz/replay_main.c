/* A main for the libFuzzer targets in ordinary builds (gcc, build/ and
 * build-asan/): runs LLVMFuzzerTestOneInput once on each file given, or on
 * each file of each directory given, so the inputs kept in
 * tests/fuzz/regressions/ replay through the very entry point that found
 * them, with or without sanitizers and without clang's libFuzzer.
 *   fuzz_X [-q] [-r ROUNDS] FILE|DIR...
 * Prints "ok - fuzz_X FILE" per input that returns (a crash or a sanitizer
 * report ends the program, which the test runner counts as a failure);
 * -q prints only the total, -r repeats each input (timing). */
#include <dirent.h>
#include <libgen.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *target;
static int quiet, rounds = 1;
static long n_run;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("not ok - %s %s: cannot open\n", target, path);
        return 1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return 1;
    /* an exact-size copy, so ASan sees reads past the end as libFuzzer would */
    uint8_t *exact = malloc(len ? len : 1);
    if (len) memcpy(exact, buf, len);
    free(buf);
    for (int r = 0; r < rounds; r++) LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    n_run++;
    if (!quiet) printf("ok - %s %s\n", target, path);
    fflush(stdout);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st)) {
        printf("not ok - %s %s: no such file\n", target, path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    DIR *d = opendir(path);
    if (!d) return 1;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (n + 1) * sizeof *names);
        size_t l = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(l);
        snprintf(names[n++], l, "%s/%s", path, e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad |= run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv)
{
    target = basename(argv[0]);
    int bad = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-q"))
            quiet = 1;
        else if (!strcmp(argv[i], "-r") && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else
            break;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (; i < argc; i++) bad |= run_path(argv[i]);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "# %s: %ld inputs x %d in %.3f s\n", target, n_run, rounds, s);
    return bad;
}
