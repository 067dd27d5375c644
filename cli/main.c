/* wakewordd: subcommand dispatch. Each subcommand lives in cli/cmd_<name>.c;
 * the weak definitions below stand for the ones not built yet and say so. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"run", ww_cmd_run, "run the detector daemon on an ALSA capture device"},
    {"detect", ww_cmd_detect, "run the detector over audio files"},
    {"features", ww_cmd_features, "compute log-mel features of an audio file (.npy)"},
    {"infer", ww_cmd_infer, "run an ONNX model on input tensors"},
    {"info", ww_cmd_info, "describe an ONNX model"},
    {"quantize", ww_cmd_quantize, "quantize a float ONNX model to int8 (QDQ)"},
    {"validate", ww_cmd_validate, "compare a float and an int8 model: parity, accuracy, latency"},
    {"bench", ww_cmd_bench, "measure inference latency"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static int not_built(const char *name)
{
    fprintf(stderr, "wakewordd %s: this subcommand is not built yet\n", name);
    return WW_EXIT_USAGE;
}

#define WEAK_CMD(n)                                                                                \
    __attribute__((weak)) int ww_cmd_##n(int argc, char **argv)                                    \
    {                                                                                              \
        (void)argc;                                                                                \
        (void)argv;                                                                                \
        return not_built(#n);                                                                      \
    }
WEAK_CMD(run)
WEAK_CMD(detect)
WEAK_CMD(features)
WEAK_CMD(infer)
WEAK_CMD(info)
WEAK_CMD(quantize)
WEAK_CMD(validate)
WEAK_CMD(bench)

static void usage(FILE *fp)
{
    fprintf(fp, "usage: wakewordd <subcommand> [options]\n"
                "       wakewordd --help | --version\n\n"
                "An always-on wake word detector for Linux voice devices.\n\nsubcommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'wakewordd <subcommand> --help' describes each one.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return WW_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return WW_EXIT_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("wakewordd %s\n", WW_VERSION);
        return WW_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "wakewordd: unknown subcommand '%s'\n", cmd);
    usage(stderr);
    return WW_EXIT_USAGE;
}
