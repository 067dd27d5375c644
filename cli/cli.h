/* The wakewordd command line: one function per subcommand, each in its own
 * cli/cmd_<name>.c, taking argv from the subcommand's name on. Exit codes:
 * 0 success, 1 a runtime error (message on stderr), 2 a usage error. */
#ifndef WW_CLI_H
#define WW_CLI_H

#include <getopt.h>

#include "core/error.h"

#define WW_VERSION "0.1.0"

enum { WW_EXIT_OK = 0, WW_EXIT_ERROR = 1, WW_EXIT_USAGE = 2 };

int ww_cmd_run(int argc, char **argv);
int ww_cmd_detect(int argc, char **argv);
int ww_cmd_features(int argc, char **argv);
int ww_cmd_infer(int argc, char **argv);
int ww_cmd_info(int argc, char **argv);
int ww_cmd_quantize(int argc, char **argv);
int ww_cmd_validate(int argc, char **argv);
int ww_cmd_bench(int argc, char **argv);

/* Prints "wakewordd CMD: <message>" on stderr; returns WW_EXIT_ERROR. */
int ww_cli_error(const char *cmd, const ww_error *err);

/* Prints "wakewordd CMD: <reason>" then the usage text on stderr; returns
 * WW_EXIT_USAGE. */
int ww_cli_usage_error(const char *cmd, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports getopt_long's '?' or ':' result for argv in a uniform way. */
int ww_cli_bad_option(const char *cmd, const char *usage, int opt, char **argv);

#endif
