/*
 * main.c - argv to a command (src/cli/commands.c has the table), after one
 * piece of process setup that cannot wait: libgomp (through XGBoost) reads
 * OMP_WAIT_POLICY when the program is loaded, before main, and its default
 * lets idle threads spin at every barrier, stealing the cores of the
 * server's other threads and of processes beside it. When the variable is
 * not set, the program sets it to PASSIVE and starts itself again.
 */
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
    if (!getenv("OMP_WAIT_POLICY") && setenv("OMP_WAIT_POLICY", "PASSIVE", 1) == 0)
        execv("/proc/self/exe", argv); /* returns only when it cannot: then go on as we are */
    return kz_cli_main(argc, argv);
}
