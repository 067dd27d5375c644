#include <stdarg.h>
#include <stdio.h>

#include "cli/cli.h"

int ww_cli_error(const char *cmd, const ww_error *err)
{
    fprintf(stderr, "wakewordd %s: %s\n", cmd, err->msg);
    return WW_EXIT_ERROR;
}

int ww_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wakewordd %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n%s", usage);
    va_end(ap);
    return WW_EXIT_USAGE;
}

int ww_cli_bad_option(const char *cmd, const char *usage, int opt, char **argv)
{
    const char *arg = argv[optind - 1];
    if (opt == ':') return ww_cli_usage_error(cmd, usage, "option '%s' needs a value", arg);
    if (optopt) return ww_cli_usage_error(cmd, usage, "unknown option '-%c'", optopt);
    return ww_cli_usage_error(cmd, usage, "unknown option '%s'", arg);
}
