/* wakewordd run: the daemon. Options override the config file, again at every
 * reload (SIGHUP). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "daemon/daemon.h"

static const char usage[] =
    "usage: wakewordd run [options]\n"
    "\n"
    "Listens on an ALSA capture device and reports the wake word through the\n"
    "journal, D-Bus (org.wakewordd.Detector1) and, with --stdout, JSON lines.\n"
    "Runs until SIGTERM or SIGINT; SIGHUP reloads the configuration and models\n"
    "(keeping the running ones if the new ones fail). Options override the\n"
    "config file; see wakewordd.conf for every setting and its default.\n"
    "\n"
    "options:\n"
    "  -c, --config FILE    config file [" WW_DEFAULT_CONFIG ", if it exists]\n"
    "  -D, --device PCM     ALSA capture device [default]\n"
    "  -m, --model FILE     wake word model (.onnx); repeat for several keywords\n"
    "                       [" WW_DEFAULT_MODEL "]\n"
    "  -t, --threshold X    detection threshold in (0, 1] for every model\n"
    "                       [each model's own]\n"
    "      --stdout         print each detection as a JSON line on stdout\n"
    "      --bus KIND       system, user or none [system; $DBUS_SYSTEM_BUS_ADDRESS\n"
    "                       selects another system bus]\n"
    "      --no-journal     do not send to the journal (log to stderr only)\n"
    "  -h, --help           show this help\n";

int ww_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"device", required_argument, 0, 'D'},
        {"model", required_argument, 0, 'm'},
        {"threshold", required_argument, 0, 't'},
        {"stdout", no_argument, 0, 'J'},
        {"bus", required_argument, 0, 'B'},
        {"no-journal", no_argument, 0, 'N'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    ww_config_source src = {.path = WW_DEFAULT_CONFIG};
    ww_config probe;
    ww_config_defaults(&probe);
    ww_error err = {{0}};
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":c:D:m:t:h", opts, NULL)) != -1) {
        const char *key = NULL, *value = optarg;
        switch (opt) {
        case 'h':
            fputs(usage, stdout);
            return WW_EXIT_OK;
        case 'c':
            src.path = optarg;
            src.path_explicit = 1;
            continue;
        case 'D':
            key = "device";
            break;
        case 'm':
            key = "model";
            break;
        case 't':
            key = "threshold";
            break;
        case 'J':
            key = "stdout", value = "yes";
            break;
        case 'B':
            key = "bus";
            break;
        case 'N':
            key = "journal", value = "no";
            break;
        default:
            return ww_cli_bad_option("run", usage, opt, argv);
        }
        if (src.n >= WW_MAX_OVERRIDES) return ww_cli_usage_error("run", usage, "too many options");
        /* check the value now, so a typo is a usage error and not a failed start */
        if (ww_config_set(&probe, key, value, &err))
            return ww_cli_usage_error("run", usage, "--%s", err.msg);
        src.keys[src.n] = key;
        src.values[src.n++] = value;
    }
    if (optind < argc)
        return ww_cli_usage_error("run", usage, "unexpected argument '%s'", argv[optind]);
    return ww_daemon_run(&src);
}
