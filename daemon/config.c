#include "daemon/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longer lines are refused rather than read in pieces. */
#define WW_CONFIG_MAX_LINE 4096

void ww_config_defaults(ww_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->device, sizeof cfg->device, "default");
    snprintf(cfg->models[0], sizeof cfg->models[0], "%s", WW_DEFAULT_MODEL);
    cfg->n_models = 1;
    cfg->threshold = -1;
    cfg->period_ms = 20;
    cfg->buffer_ms = 200;
    cfg->ring_ms = 2000;
    cfg->realtime = 0;
    cfg->realtime_priority = 10;
    cfg->bus = WW_BUS_SYSTEM;
    cfg->journal = 1;
    cfg->json_stdout = 0;
    cfg->retry_initial_ms = 250;
    cfg->retry_max_ms = 8000;
}

const char *ww_bus_kind_name(ww_bus_kind k)
{
    return k == WW_BUS_SYSTEM ? "system" : k == WW_BUS_USER ? "user" : "none";
}

static int parse_int(const char *key, const char *v, int lo, int hi, int *out, ww_error *err)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return ww_fail(err, WW_EINVAL, "%s: '%s' is not an integer in [%d, %d]", key, v, lo, hi);
    *out = (int)x;
    return WW_OK;
}

static int parse_bool(const char *key, const char *v, int *out, ww_error *err)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1") ||
        !strcasecmp(v, "on")) {
        *out = 1;
        return WW_OK;
    }
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0") ||
        !strcasecmp(v, "off")) {
        *out = 0;
        return WW_OK;
    }
    return ww_fail(err, WW_EINVAL, "%s: '%s' is not yes or no", key, v);
}

int ww_config_add_model(ww_config *cfg, const char *path, ww_error *err)
{
    if (!*path) return ww_fail(err, WW_EINVAL, "model: empty path");
    if (cfg->n_models >= WW_MAX_MODELS)
        return ww_fail(err, WW_EINVAL, "model: more than %d models", WW_MAX_MODELS);
    if (strlen(path) >= sizeof cfg->models[0])
        return ww_fail(err, WW_EINVAL, "model: path too long");
    snprintf(cfg->models[cfg->n_models++], sizeof cfg->models[0], "%s", path);
    return WW_OK;
}

int ww_config_set(ww_config *cfg, const char *key, const char *v, ww_error *err)
{
    if (!strcmp(key, "device")) {
        if (!*v || strlen(v) >= sizeof cfg->device)
            return ww_fail(err, WW_EINVAL, "device: '%s' is not a usable PCM name", v);
        snprintf(cfg->device, sizeof cfg->device, "%s", v);
        return WW_OK;
    }
    if (!strcmp(key, "model")) {
        if (!cfg->models_from_file) {
            cfg->n_models = 0;
            cfg->models_from_file = 1;
        }
        return ww_config_add_model(cfg, v, err);
    }
    if (!strcmp(key, "threshold")) {
        if (!*v || !strcmp(v, "model")) {
            cfg->threshold = -1;
            return WW_OK;
        }
        char *end;
        double x = strtod(v, &end);
        if (*end || !isfinite(x) || x <= 0 || x > 1)
            return ww_fail(err, WW_EINVAL, "threshold: '%s' is not a number in (0, 1]", v);
        cfg->threshold = x;
        return WW_OK;
    }
    if (!strcmp(key, "period_ms")) return parse_int(key, v, 1, 1000, &cfg->period_ms, err);
    if (!strcmp(key, "buffer_ms")) return parse_int(key, v, 2, 10000, &cfg->buffer_ms, err);
    if (!strcmp(key, "ring_ms")) return parse_int(key, v, 100, 60000, &cfg->ring_ms, err);
    if (!strcmp(key, "realtime")) return parse_bool(key, v, &cfg->realtime, err);
    if (!strcmp(key, "realtime_priority"))
        return parse_int(key, v, 1, 99, &cfg->realtime_priority, err);
    if (!strcmp(key, "bus")) {
        if (!strcmp(v, "system"))
            cfg->bus = WW_BUS_SYSTEM;
        else if (!strcmp(v, "user"))
            cfg->bus = WW_BUS_USER;
        else if (!strcmp(v, "none"))
            cfg->bus = WW_BUS_NONE;
        else
            return ww_fail(err, WW_EINVAL, "bus: '%s' is not system, user or none", v);
        return WW_OK;
    }
    if (!strcmp(key, "journal")) return parse_bool(key, v, &cfg->journal, err);
    if (!strcmp(key, "stdout")) return parse_bool(key, v, &cfg->json_stdout, err);
    if (!strcmp(key, "retry_initial_ms"))
        return parse_int(key, v, 1, 60000, &cfg->retry_initial_ms, err);
    if (!strcmp(key, "retry_max_ms")) return parse_int(key, v, 1, 600000, &cfg->retry_max_ms, err);
    return ww_fail(err, WW_EUNSUPPORTED, "unknown key '%s'", key);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

int ww_config_load(ww_config *cfg, const char *path, ww_error *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) return ww_fail(err, WW_EIO, "%s: %s", path, strerror(errno));
    /* getline, not fgets: it reports the real length, so a NUL byte inside a line is
     * seen (and refused) instead of silently ending the line, and a long line is one
     * line, which keeps the line numbers in later messages right. */
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = WW_OK;
    cfg->models_from_file = 0;
    while ((len = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        if (len > WW_CONFIG_MAX_LINE) {
            rc = ww_fail(err, WW_EFORMAT, "%s:%d: line too long (more than %d bytes)", path, lineno,
                         WW_CONFIG_MAX_LINE);
            break;
        }
        if (memchr(line, 0, (size_t)len)) {
            rc = ww_fail(err, WW_EFORMAT, "%s:%d: NUL byte in line", path, lineno);
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';') continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = ww_fail(err, WW_EFORMAT, "%s:%d: expected 'key = value', got '%s'", path, lineno,
                         s);
            break;
        }
        *eq = 0;
        char *key = trim(s), *value = trim(eq + 1);
        if (!*key) {
            rc = ww_fail(err, WW_EFORMAT, "%s:%d: missing key before '='", path, lineno);
            break;
        }
        ww_error e2 = {{0}};
        int r = ww_config_set(cfg, key, value, &e2);
        if (r) {
            rc = ww_fail(err, r, "%s:%d: %s", path, lineno, e2.msg);
            break;
        }
    }
    if (!rc && ferror(fp)) rc = ww_fail(err, WW_EIO, "%s: read error", path);
    free(line);
    fclose(fp);
    cfg->models_from_file = 0;
    return rc;
}
