/* libFuzzer target: config file bytes -> ww_config_load (the daemon's parser
 * for /etc/wakewordd.conf and SIGHUP reloads), through a memfd so the real
 * file path runs. Whatever it accepts or refuses must leave a usable config:
 * counts in range, strings terminated, one-line errors naming file:line. */
// seeds: etc/wakewordd.conf tests/fuzz/seeds/config/*
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/config.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create("fuzz_config", 0);
        if (fd < 0) abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    ww_config cfg;
    ww_config_defaults(&cfg);
    ww_error err = {{0}};
    int rc = ww_config_load(&cfg, path, &err);
    if (rc != WW_OK && (!err.msg[0] || strchr(err.msg, '\n'))) abort();
    if (cfg.n_models < 0 || cfg.n_models > WW_MAX_MODELS) abort();
    if (!memchr(cfg.device, 0, sizeof cfg.device)) abort();
    for (int i = 0; i < cfg.n_models; i++)
        if (!memchr(cfg.models[i], 0, sizeof cfg.models[i])) abort();
    if (rc == WW_OK) {
        /* an accepted file yields values the daemon can use as they are */
        if (cfg.period_ms < 1 || cfg.buffer_ms < 2 || cfg.ring_ms < 100 ||
            cfg.realtime_priority < 1 || cfg.realtime_priority > 99 || cfg.retry_initial_ms < 1 ||
            cfg.retry_max_ms < 1)
            abort();
        if (!(cfg.threshold == -1 || (cfg.threshold > 0 && cfg.threshold <= 1))) abort();
        for (int i = 0; i < cfg.n_models; i++)
            if (!cfg.models[i][0]) abort();
    }
    return 0;
}
