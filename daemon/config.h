/* The daemon's settings: defaults, the config file (/etc/wakewordd.conf), and
 * command-line overrides, all through the same key=value setter so a key means
 * the same thing everywhere. File syntax: `key = value` per line, `#` starts a
 * comment line, blank lines ignored. An unknown key or a bad value is an error
 * naming the file and line. `model` may repeat (one keyword model each); the
 * first `model` line of a file replaces the built-in default list. */
#ifndef WW_DAEMON_CONFIG_H
#define WW_DAEMON_CONFIG_H

#include <limits.h>

#include "core/error.h"

#define WW_MAX_MODELS     8
#define WW_DEFAULT_CONFIG "/etc/wakewordd.conf"
#ifndef WW_DEFAULT_MODEL
#define WW_DEFAULT_MODEL "/usr/share/wakewordd/models/hey_jarvis.int8.onnx"
#endif

typedef enum ww_bus_kind { WW_BUS_SYSTEM, WW_BUS_USER, WW_BUS_NONE } ww_bus_kind;

typedef struct ww_config {
    char device[256];                     /* ALSA PCM name */
    char models[WW_MAX_MODELS][PATH_MAX]; /* model files */
    int n_models;
    double threshold;         /* < 0: each model's own */
    int period_ms, buffer_ms; /* ALSA period and buffer */
    int ring_ms;              /* capture -> processing ring */
    int realtime;             /* SCHED_FIFO for capture, if allowed */
    int realtime_priority;
    ww_bus_kind bus;
    int journal;
    int json_stdout;
    int retry_initial_ms, retry_max_ms; /* device reopen backoff */
    int models_from_file;               /* internal: a `model` line was seen */
} ww_config;

void ww_config_defaults(ww_config *cfg);

/* Sets one key from text. Returns WW_EUNSUPPORTED for an unknown key,
 * WW_EINVAL for a bad value; the message names the key and the value. */
int ww_config_set(ww_config *cfg, const char *key, const char *value, ww_error *err);

/* Applies a config file on top of cfg; on error cfg may be partly changed
 * (callers load into a copy). */
int ww_config_load(ww_config *cfg, const char *path, ww_error *err);

/* Adds a model path (used by `model` in files and --model). */
int ww_config_add_model(ww_config *cfg, const char *path, ww_error *err);

const char *ww_bus_kind_name(ww_bus_kind k);

#endif
