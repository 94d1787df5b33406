#include "cli/cli.h"
int kz_cmd_import(kz_cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kz_cli_err(cli, "not built yet");
    return KZ_EXIT_FAIL;
}
int kz_cmd_export(kz_cli *cli, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    kz_cli_err(cli, "not built yet");
    return KZ_EXIT_FAIL;
}
