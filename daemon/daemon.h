/* The daemon proper (`wakewordd run`): capture thread -> ring -> detector ->
 * events, a poll loop that also serves D-Bus and signals, and the systemd
 * protocol (READY/STATUS/WATCHDOG/RELOADING/STOPPING). */
#ifndef WW_DAEMON_DAEMON_H
#define WW_DAEMON_DAEMON_H

#include "core/error.h"
#include "daemon/config.h"

#define WW_MAX_OVERRIDES 32

/* How to build the configuration, again at every SIGHUP: defaults, then the
 * file (a missing file is an error only if it was named explicitly), then the
 * command-line overrides in order. */
typedef struct ww_config_source {
    const char *path;
    int path_explicit;
    const char *keys[WW_MAX_OVERRIDES];
    const char *values[WW_MAX_OVERRIDES];
    int n;
} ww_config_source;

int ww_config_build(const ww_config_source *src, ww_config *out, ww_error *err);

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int ww_daemon_run(const ww_config_source *src);

#endif
