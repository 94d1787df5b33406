/*
 * main.c - argv to a command; nothing else (src/cli/commands.c has the table).
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
    return kz_cli_main(argc, argv);
}
