/* Error reporting for library code: every fallible function returns a negative
 * ww_status and fills a caller-owned ww_error with a one-line message that names
 * the file or option and the reason. Library code never prints and never exits. */
#ifndef WW_CORE_ERROR_H
#define WW_CORE_ERROR_H

typedef enum ww_status {
    WW_OK = 0,
    WW_EINVAL = -1,       /* bad argument, option or setting */
    WW_EIO = -2,          /* cannot open, read or write a file */
    WW_ENOMEM = -3,       /* allocation failed or a size limit was hit */
    WW_EFORMAT = -4,      /* a file is not what it claims to be */
    WW_EUNSUPPORTED = -5, /* valid input we do not handle (op, dtype, ...) */
} ww_status;

typedef struct ww_error {
    char msg[512];
} ww_error;

/* Formats the message into err (if not NULL) and returns code, so callers can
 * write `return ww_fail(err, WW_EIO, "%s: %s", path, strerror(errno));`. */
int ww_fail(ww_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (e.g. the file name a lower layer
 * did not know). Returns code. */
int ww_error_prefix(ww_error *err, int code, const char *prefix);

void ww_error_clear(ww_error *err);

#endif
