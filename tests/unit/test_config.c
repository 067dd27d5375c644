/* The daemon's config file: defaults, every key, and errors naming the line. */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/config.h"
#include "wwtest.h"

static const char *write_conf(const char *name, const char *text)
{
    const char *p = ww_test_tmp(name);
    FILE *fp = fopen(p, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
    return p;
}

WW_TEST(config_defaults)
{
    ww_config c;
    ww_config_defaults(&c);
    CHECK(!strcmp(c.device, "default"));
    CHECK_EQ_INT(c.n_models, 1);
    CHECK(!strcmp(c.models[0], WW_DEFAULT_MODEL));
    CHECK(c.threshold < 0);
    CHECK_EQ_INT(c.bus, WW_BUS_SYSTEM);
    CHECK_EQ_INT(c.journal, 1);
    CHECK_EQ_INT(c.json_stdout, 0);
}

WW_TEST(config_file_sets_every_key)
{
    const char *p = write_conf("all.conf", "# comment\n"
                                           "\n"
                                           "device = hw:1,0\n"
                                           "model = /a.onnx\n"
                                           "model=/b.onnx\n"
                                           "threshold = 0.75\n"
                                           "  period_ms = 10  \n"
                                           "buffer_ms = 120\n"
                                           "ring_ms = 3000\n"
                                           "realtime = yes\n"
                                           "realtime_priority = 50\n"
                                           "bus = user\n"
                                           "journal = no\n"
                                           "stdout = true\n"
                                           "retry_initial_ms = 100\n"
                                           "retry_max_ms = 2000\n");
    ww_config c;
    ww_config_defaults(&c);
    ww_error err = {{0}};
    int rc = ww_config_load(&c, p, &err);
    REQUIRE(rc == 0);
    CHECK(!strcmp(c.device, "hw:1,0"));
    CHECK_EQ_INT(c.n_models, 2);
    CHECK(!strcmp(c.models[0], "/a.onnx"));
    CHECK(!strcmp(c.models[1], "/b.onnx"));
    CHECK_NEAR(c.threshold, 0.75, 1e-12);
    CHECK_EQ_INT(c.period_ms, 10);
    CHECK_EQ_INT(c.buffer_ms, 120);
    CHECK_EQ_INT(c.ring_ms, 3000);
    CHECK_EQ_INT(c.realtime, 1);
    CHECK_EQ_INT(c.realtime_priority, 50);
    CHECK_EQ_INT(c.bus, WW_BUS_USER);
    CHECK_EQ_INT(c.journal, 0);
    CHECK_EQ_INT(c.json_stdout, 1);
    CHECK_EQ_INT(c.retry_initial_ms, 100);
    CHECK_EQ_INT(c.retry_max_ms, 2000);
    /* a later --model replaces the file's list, as command-line options override */
    CHECK(ww_config_set(&c, "model", "/cli.onnx", &err) == 0);
    CHECK_EQ_INT(c.n_models, 1);
}

static void expect_error(const char *text, const char *needle1, const char *needle2)
{
    const char *p = write_conf("bad.conf", text);
    ww_config c;
    ww_config_defaults(&c);
    ww_error err = {{0}};
    int rc = ww_config_load(&c, p, &err);
    CHECK_MSG(rc < 0, "'%s' accepted", text);
    CHECK_MSG(strstr(err.msg, needle1) && strstr(err.msg, needle2), "'%s' -> '%s'", text, err.msg);
    CHECK_MSG(strstr(err.msg, "bad.conf:") != NULL, "no file name in '%s'", err.msg);
}

WW_TEST(config_errors_name_the_line)
{
    expect_error("device = x\nfrobnicate = 1\n", ":2:", "unknown key 'frobnicate'");
    expect_error("\n\nthreshold = 1.5\n", ":3:", "threshold");
    expect_error("threshold = abc\n", ":1:", "threshold");
    expect_error("period_ms = 0\n", ":1:", "period_ms");
    expect_error("period_ms = 10ms\n", ":1:", "period_ms");
    expect_error("realtime = maybe\n", ":1:", "realtime");
    expect_error("bus = session\n", ":1:", "bus");
    expect_error("# ok\njust words\n", ":2:", "key = value");
    expect_error("= 3\n", ":1:", "missing key");
    expect_error("model = \n", ":1:", "model");
    expect_error(
        "model=a\nmodel=b\nmodel=c\nmodel=d\nmodel=e\nmodel=f\nmodel=g\nmodel=h\nmodel=i\n",
        ":9:", "more than");
}

/* A NUL byte used to end the line early (the rest of the line was ignored), and a long
 * line was read in pieces, which shifted later line numbers. */
WW_TEST(config_nul_byte_and_long_lines)
{
    static const char nul[] = "device = x\nthreshold = 0.5\0garbage\n";
    const char *p = ww_test_tmp("nul.conf");
    FILE *fp = fopen(p, "w");
    CHECK(fp != NULL);
    if (!fp) return;
    fwrite(nul, 1, sizeof nul - 1, fp);
    fclose(fp);
    ww_config c;
    ww_config_defaults(&c);
    ww_error err = {{0}};
    CHECK(ww_config_load(&c, p, &err) == WW_EFORMAT);
    CHECK_MSG(strstr(err.msg, "nul.conf:2:") && strstr(err.msg, "NUL"), "got '%s'", err.msg);

    char text[9000];
    memset(text, '#', 5000);
    strcpy(text + 5000, "\nthreshold = 2\n");
    expect_error(text, ":1:", "line too long");
    /* a comment of exactly the longest allowed length is fine; the error after it is on line 2 */
    memset(text, '#', 4095);
    strcpy(text + 4095, "\nthreshold = 2\n");
    expect_error(text, ":2:", "threshold");
}

WW_TEST(config_missing_file)
{
    ww_config c;
    ww_config_defaults(&c);
    ww_error err = {{0}};
    CHECK(ww_config_load(&c, "/nonexistent/wakewordd.conf", &err) == WW_EIO);
    CHECK(strstr(err.msg, "/nonexistent/wakewordd.conf") != NULL);
}

WW_TEST(config_threshold_model_means_unset)
{
    ww_config c;
    ww_config_defaults(&c);
    ww_error err = {{0}};
    CHECK(ww_config_set(&c, "threshold", "0.5", &err) == 0);
    CHECK(ww_config_set(&c, "threshold", "model", &err) == 0);
    CHECK(c.threshold < 0);
    CHECK(ww_config_set(&c, "nope", "1", &err) == WW_EUNSUPPORTED);
}

/* etc/wakewordd.conf documents every key with its default: it must parse, and
 * give exactly the built-in defaults. */
WW_TEST(config_shipped_file_is_the_defaults)
{
    ww_config def, c;
    ww_config_defaults(&def);
    ww_config_defaults(&c);
    c.period_ms = 1; /* so a key missing from the file shows up */
    c.buffer_ms = c.ring_ms = c.realtime_priority = c.retry_initial_ms = c.retry_max_ms = 7;
    c.journal = 0;
    c.realtime = c.json_stdout = 1;
    c.threshold = 0.3;
    c.bus = WW_BUS_NONE;
    c.device[0] = 0;
    ww_error err = {{0}};
    int rc = ww_config_load(&c, "etc/wakewordd.conf", &err);
    CHECK_MSG(rc == 0, "%s", err.msg);
    CHECK(!memcmp(&c, &def, sizeof c));
}
