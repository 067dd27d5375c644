/* Output files that appear whole or not at all: data goes to a hidden temporary
 * file next to the destination and is renamed over it only on success, so an
 * error or an interrupted run never leaves a half-written output behind. */
#ifndef WW_CORE_OUTFILE_H
#define WW_CORE_OUTFILE_H

#include <stdio.h>

#include "core/error.h"

typedef struct ww_outfile {
    FILE *fp;
    char path[4096];
    char tmp_path[4096 + 32];
} ww_outfile;

/* Opens a temporary file in path's directory; fails early (before any work is
 * done) if the directory is not writable. */
int ww_outfile_open(ww_outfile *of, const char *path, ww_error *err);

/* Flushes, closes and renames the temporary file onto the destination. */
int ww_outfile_commit(ww_outfile *of, ww_error *err);

/* Closes and removes the temporary file; safe to call after commit or twice. */
void ww_outfile_abort(ww_outfile *of);

/* Removes the temporary file of every outfile still open in this process.
 * Async-signal-safe: call it from a SIGINT/SIGTERM handler before exiting. */
void ww_outfile_abort_all_signal_safe(void);

#endif
