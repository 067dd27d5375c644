/* ONNX's own backend test cases (Debian libonnx-testdata) through
 * `wakewordd infer`, outputs compared with the expected output_N.pb at
 * rtol 1e-3, atol 1e-4. tests/conformance/supported.txt lists every case the
 * engine runs; tests/conformance/unsupported.txt a sample of cases using ops
 * or features it refuses, which must fail with one clear line, exit 1, no
 * crash. `test_onnx_conformance --scan` runs every case in the data folder
 * and prints a status per case (how the lists were made). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/model.h"
#include "nn/tensor_file.h"
#include "wwtest.h"

#define DATA "/usr/share/libonnx-testdata/data"

static const char *binary(void)
{
    const char *b = getenv("WAKEWORDD");
    return b ? b : "build/wakewordd";
}

/* Runs `wakewordd infer` on a case; returns the exit status (or 128+signal)
 * with stderr in errbuf. */
static int case_counter;
static int worker;     /* which of the two processes running the list this is */
static FILE *fail_out; /* the second worker reports failures here */
static int line_no;

static int run_infer(const char *dir, const char *outdir, char *errbuf, size_t cap)
{
    char *argv[80];
    int argc = 0;
    static char paths[64][4400];
    char model[4400];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    argv[argc++] = (char *)binary();
    argv[argc++] = "infer";
    argv[argc++] = model;
    for (int i = 0; i < 64; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/test_data_set_0/input_%d.pb", dir, i);
        if (access(paths[i], R_OK)) break;
        argv[argc++] = "--input";
        argv[argc++] = paths[i];
    }
    argv[argc++] = "--output-dir";
    argv[argc++] = (char *)outdir;
    argv[argc] = NULL;
    char errname[32];
    snprintf(errname, sizeof errname, "stderr%d.txt", worker);
    const char *errpath = ww_test_tmp(errname);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int nul = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 2);
        if (nul >= 0) dup2(nul, 1);
        /* Under ASan, leak checking at exit doubles the cost of each run:
         * keep it on every 8th case (and in the other infer tests), memory
         * error checking on all of them. */
        const char *asan = getenv("ASAN_OPTIONS");
        if (asan && case_counter % 8) {
            static char opts[1024];
            snprintf(opts, sizeof opts, "%s:detect_leaks=0", asan);
            setenv("ASAN_OPTIONS", opts, 1);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    errbuf[0] = 0;
    FILE *f = fopen(errpath, "r");
    if (f) {
        size_t n = fread(errbuf, 1, cap - 1, f);
        errbuf[n] = 0;
        fclose(f);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double value_at(const ww_tensor_buf *t, size_t i)
{
    switch (t->dtype) {
    case WW_DT_F32:
        return ((const float *)t->data)[i];
    case WW_DT_F64:
        return ((const double *)t->data)[i];
    case WW_DT_I64:
        return (double)((const int64_t *)t->data)[i];
    case WW_DT_I32:
        return ((const int32_t *)t->data)[i];
    case WW_DT_I8:
        return ((const int8_t *)t->data)[i];
    default:
        return ((const uint8_t *)t->data)[i];
    }
}

/* Compares one output; returns 0 or writes why into why. */
static int compare(const ww_tensor_buf *got, const ww_tensor_buf *want, char *why, size_t cap)
{
    if (got->dtype != want->dtype) {
        snprintf(why, cap, "dtype %s, expected %s", ww_dtype_name(got->dtype),
                 ww_dtype_name(want->dtype));
        return -1;
    }
    int same = got->ndim == want->ndim;
    for (int i = 0; same && i < got->ndim; i++) same = got->dims[i] == want->dims[i];
    if (!same || got->count != want->count) {
        snprintf(why, cap, "shape differs (rank %d vs %d, %zu vs %zu elements)", got->ndim,
                 want->ndim, got->count, want->count);
        return -1;
    }
    for (size_t i = 0; i < got->count; i++) {
        double a = value_at(got, i), b = value_at(want, i);
        if (a != a && b != b) continue; /* both NaN */
        if (!(fabs(a - b) <= 1e-4 + 1e-3 * fabs(b))) {
            snprintf(why, cap, "element %zu: %.9g, expected %.9g", i, a, b);
            return -1;
        }
    }
    return 0;
}

/* 0 pass, 1 refused (clean error), -1 failure; msg says why */
static int check_case(const char *name, char *msg, size_t cap)
{
    char dir[4096], outdir[4096], errbuf[4096];
    snprintf(dir, sizeof dir, "%s/%s", DATA, name);
    char sub[32];
    snprintf(sub, sizeof sub, "out%d_%d", worker, ++case_counter); /* fresh per case */
    snprintf(outdir, sizeof outdir, "%s", ww_test_tmp(sub));
    int rc = run_infer(dir, outdir, errbuf, sizeof errbuf);
    if (rc == 1) {
        char *nl = strchr(errbuf, '\n');
        if (nl && nl[1]) {
            snprintf(msg, cap, "more than one line on stderr: %.300s", errbuf);
            return -1;
        }
        if (nl) *nl = 0;
        snprintf(msg, cap, "%.1000s", errbuf);
        return 1;
    }
    if (rc != 0) {
        snprintf(msg, cap, "exit status %d: %.300s", rc, errbuf);
        return -1;
    }
    /* output names from the model, in order */
    char model[4200];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    ww_model *m = NULL;
    ww_error err = {{0}};
    if (ww_model_load(model, &m, &err)) {
        snprintf(msg, cap, "library load failed: %s", err.msg);
        return -1;
    }
    int result = 0;
    for (int i = 0; i < ww_model_n_outputs(m) && !result; i++) {
        char want_path[4400], got_path[4400];
        snprintf(want_path, sizeof want_path, "%s/test_data_set_0/output_%d.pb", dir, i);
        snprintf(got_path, sizeof got_path, "%s/%s.pb", outdir, ww_model_output_name(m, i));
        ww_tensor_buf want, got;
        if (ww_tensor_file_read(want_path, &want, &err)) {
            snprintf(msg, cap, "%s", err.msg);
            result = -1;
            break;
        }
        if (ww_tensor_file_read(got_path, &got, &err)) {
            snprintf(msg, cap, "%s", err.msg);
            ww_tensor_buf_free(&want);
            result = -1;
            break;
        }
        char why[512];
        if (compare(&got, &want, why, sizeof why)) {
            snprintf(msg, cap, "output %d '%s': %s", i, ww_model_output_name(m, i), why);
            result = -1;
        }
        ww_tensor_buf_free(&want);
        ww_tensor_buf_free(&got);
    }
    ww_model_free(m);
    return result;
}

static int for_each_line(const char *path, void (*fn)(const char *))
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n#")] = 0;
        size_t len = strlen(line);
        while (len && line[len - 1] == ' ') line[--len] = 0;
        if (!len) continue;
        fn(line);
        n++;
    }
    fclose(f);
    return n;
}

static int n_fail;
static void run_supported(const char *name)
{
    if (line_no++ % 2 != worker) return;
    char msg[1200];
    int r = check_case(name, msg, sizeof msg);
    if (r != 0) {
        if (fail_out)
            fprintf(fail_out, "%s: %s%s\n", name, r == 1 ? "refused: " : "", msg);
        else
            ww_test_fail(__FILE__, __LINE__, "%s: %s%s", name, r == 1 ? "refused: " : "", msg);
        n_fail++;
    }
}

/* Two processes take alternate cases (each case is a `wakewordd infer` run,
 * mostly process start-up: on two cores this halves the wall time). */
WW_TEST(conformance_supported_cases_match_expected_outputs)
{
    char fail_path[600];
    snprintf(fail_path, sizeof fail_path, "%s", ww_test_tmp("worker1_failures.txt"));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        worker = 1;
        fail_out = fopen(fail_path, "w");
        for_each_line("tests/conformance/supported.txt", run_supported);
        if (fail_out) fclose(fail_out);
        _exit(0); /* not exit(): the harness's atexit would remove the shared tmpdir */
    }
    int n = for_each_line("tests/conformance/supported.txt", run_supported);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK_MSG(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "second worker: status %d", st);
    FILE *f = fopen(fail_path, "r");
    char line[1400];
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        ww_test_fail(__FILE__, __LINE__, "%s", line);
        n_fail++;
    }
    if (f) fclose(f);
    CHECK_MSG(n > 100, "tests/conformance/supported.txt lists %d cases", n);
    printf("# %d conformance cases run in 2 processes, %d failed\n", n, n_fail);
}

static void run_unsupported(const char *name)
{
    char msg[1200];
    int r = check_case(name, msg, sizeof msg);
    CHECK_MSG(r == 1, "%s: expected a clean refusal, got %s", name, r == 0 ? "success" : msg);
    if (r == 1)
        CHECK_MSG(strstr(msg, "supported") && strstr(msg, "model.onnx: "),
                  "%s: the error does not say what is unsupported: %s", name, msg);
}

WW_TEST(conformance_unsupported_cases_fail_cleanly)
{
    int n = for_each_line("tests/conformance/unsupported.txt", run_unsupported);
    CHECK_MSG(n >= 10, "tests/conformance/unsupported.txt lists %d cases", n);
}

/* --scan: status of every case, for regenerating the lists */
static int scan(void)
{
    const char *sub[] = {"node", "pytorch-converted"};
    for (int s = 0; s < 2; s++) {
        char d[512];
        snprintf(d, sizeof d, "%s/%s", DATA, sub[s]);
        struct dirent **ents;
        int n = scandir(d, &ents, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            if (strncmp(ents[i]->d_name, "test_", 5)) {
                free(ents[i]);
                continue;
            }
            char name[600], msg[1200];
            snprintf(name, sizeof name, "%s/%s", sub[s], ents[i]->d_name);
            int r = check_case(name, msg, sizeof msg);
            printf("%s %s %s\n", r == 0 ? "PASS" : r == 1 ? "REFUSED" : "FAIL", name, r ? msg : "");
            fflush(stdout);
            free(ents[i]);
        }
        free(ents);
    }
    return 0;
}

__attribute__((constructor)) static void scan_mode(void)
{
    /* argv is not available to constructors portably; use the environment */
    if (getenv("WW_CONFORMANCE_SCAN")) exit(scan());
}
