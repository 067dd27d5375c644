#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ww_fail(ww_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int ww_error_prefix(ww_error *err, int code, const char *prefix)
{
    if (err) {
        size_t cap = sizeof err->msg, plen = strlen(prefix);
        if (plen > cap / 2) plen = cap / 2;
        memmove(err->msg + plen + 2, err->msg, cap - plen - 3);
        memcpy(err->msg, prefix, plen);
        err->msg[plen] = ':';
        err->msg[plen + 1] = ' ';
        err->msg[cap - 1] = '\0';
    }
    return code;
}

void ww_error_clear(ww_error *err)
{
    if (err) err->msg[0] = '\0';
}
