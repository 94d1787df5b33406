/*
 * cmd_demo.c - placeholder until the demo generator lands (same session).
 */
#include "cli/cli.h"

int kz_cmd_demo(kz_cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kz_cli_err(cli, "not built yet");
    return KZ_EXIT_FAIL;
}
