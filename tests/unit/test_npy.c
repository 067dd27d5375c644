/* .npy reading and writing, including malformed files. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <dirent.h>

#include "core/npy.h"
#include "tests/unit/wwtest.h"

WW_TEST(round_trip_every_dtype)
{
    unsigned char buf[64];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 37 + 1);
    for (int dt = WW_NPY_F32; dt <= WW_NPY_BOOL; dt++) {
        size_t es = ww_npy_dtype_size((ww_npy_dtype)dt);
        int64_t shape[3] = {2, 2, (int64_t)(8 / es)};
        if (dt == WW_NPY_BOOL)
            for (size_t i = 0; i < 32; i++) buf[i] &= 1;
        ww_error err;
        const char *p = ww_test_tmp("rt.npy");
        REQUIRE(ww_npy_write(p, (ww_npy_dtype)dt, buf, 3, shape, &err) == WW_OK);
        ww_npy a;
        REQUIRE(ww_npy_read(p, &a, &err) == WW_OK);
        CHECK_EQ_INT(a.dtype, dt);
        CHECK_EQ_INT(a.ndim, 3);
        CHECK_EQ_INT(a.shape[2], shape[2]);
        CHECK(memcmp(a.data, buf, 32) == 0);
        ww_npy_free(&a);
    }
}

WW_TEST(scalars_and_vectors)
{
    float v[3] = {1, 2, 3};
    int64_t s1[1] = {3};
    ww_error err;
    ww_npy a;
    REQUIRE(ww_npy_write(ww_test_tmp("v.npy"), WW_NPY_F32, v, 1, s1, &err) == WW_OK);
    REQUIRE(ww_npy_read(ww_test_tmp("v.npy"), &a, &err) == WW_OK);
    CHECK_EQ_INT(a.ndim, 1);
    CHECK_EQ_INT(a.count, 3);
    ww_npy_free(&a);
    REQUIRE(ww_npy_write(ww_test_tmp("s.npy"), WW_NPY_F32, v, 0, NULL, &err) == WW_OK);
    REQUIRE(ww_npy_read(ww_test_tmp("s.npy"), &a, &err) == WW_OK);
    CHECK_EQ_INT(a.ndim, 0);
    CHECK_EQ_INT(a.count, 1);
    ww_npy_free(&a);
}

static void expect_parse_error(const char *bytes, size_t len, const char *needle)
{
    ww_npy a;
    ww_error err = {{0}};
    int rc = ww_npy_parse(bytes, len, &a, &err);
    CHECK_MSG(rc != WW_OK, "accepted: %s", needle);
    CHECK(a.data == NULL);
    CHECK_MSG(strstr(err.msg, needle) != NULL, "'%s' lacks '%s'", err.msg, needle);
}

/* A version-1.0 .npy image with the given header dict and data bytes. */
static void expect_header_error(const char *dict, size_t data_bytes, const char *needle)
{
    char buf[512] = "\x93NUMPY\x01";
    size_t hl = strlen(dict);
    buf[8] = (char)(hl & 0xff);
    buf[9] = (char)(hl >> 8);
    memcpy(buf + 10, dict, hl);
    memset(buf + 10 + hl, 0, data_bytes);
    expect_parse_error(buf, 10 + hl + data_bytes, needle);
}

WW_TEST(malformed_headers_are_refused)
{
    expect_parse_error("hello world", 11, "bad magic");
    expect_parse_error("\x93NUMPY\x01\x00\x40\x00{'descr'", 18, "truncated");
    expect_parse_error("\x93NUMPY\x07\x00\x40\x00{'descr'", 18, "version");
    expect_header_error("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8,
                        "not supported");
    expect_header_error("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4, "fortran");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 12,
                        "truncated");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 20,
                        "trailing");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 9), }", 0,
                        "too large");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", 0,
                        "elements");
    expect_header_error("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 0,
                        "bad shape");
    expect_header_error("{'descr': '<f4', 'fortran_order': False}", 0, "shape");
    expect_header_error("{'fortran_order': False, 'shape': (1,)}", 4, "descr");
}

WW_TEST(failed_write_leaves_no_file)
{
    float v[2] = {0};
    int64_t s[1] = {2};
    ww_error err = {{0}};
    CHECK_EQ_INT(ww_npy_write("/nonexistent-dir/x.npy", WW_NPY_F32, v, 1, s, &err), WW_EIO);
    CHECK(strstr(err.msg, "/nonexistent-dir/x.npy") != NULL);
    /* a read-only directory (root bypasses modes, so use a path under a file) */
    const char *f = ww_test_tmp("plainfile");
    fclose(fopen(f, "w"));
    char under[600];
    snprintf(under, sizeof under, "%s/x.npy", f);
    CHECK_EQ_INT(ww_npy_write(under, WW_NPY_F32, v, 1, s, &err), WW_EIO);
    DIR *d = opendir(ww_test_tmpdir());
    struct dirent *e;
    int temps = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-")) temps++;
    closedir(d);
    CHECK_EQ_INT(temps, 0);
}

/* Every input a fuzzer once crashed on: refused cleanly (ASan watches). */
WW_TEST(fuzz_regressions_are_refused)
{
    DIR *d = opendir("tests/fuzz/regressions/npy");
    REQUIRE(d != NULL);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "tests/fuzz/regressions/npy/%s", e->d_name);
        ww_npy a;
        ww_error err;
        if (ww_npy_read(path, &a, &err) == WW_OK) ww_npy_free(&a);
        n++;
    }
    closedir(d);
    CHECK(n > 0);
}

WW_TEST(output_gets_the_usual_file_mode)
{
    float v[1] = {0};
    int64_t s[1] = {1};
    ww_error err;
    mode_t old = umask(022);
    const char *p = ww_test_tmp("mode.npy");
    REQUIRE(ww_npy_write(p, WW_NPY_F32, v, 1, s, &err) == WW_OK);
    struct stat st;
    REQUIRE(stat(p, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0644);
    chmod(p, 0600); /* an existing file keeps its mode when replaced */
    REQUIRE(ww_npy_write(p, WW_NPY_F32, v, 1, s, &err) == WW_OK);
    REQUIRE(stat(p, &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    umask(old);
}
