/*
 * cli.h - the command line: one table of commands, shared option handling.
 *
 * `kizuna [global options] <command> [options] [args]`. Every command has
 * --help; exit status is 0 on success, 1 when the work failed, 2 when the command
 * line is wrong (KZ_EXIT_*). Messages go to stderr and say what went wrong and
 * what to do; results go to stdout.
 */
#ifndef KZ_CLI_CLI_H
#define KZ_CLI_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/config.h"
#include "store/store.h"

enum { KZ_EXIT_OK = 0, KZ_EXIT_FAIL = 1, KZ_EXIT_USAGE = 2 };

typedef struct kz_command kz_command;

typedef struct kz_cli {
    kz_config cfg;         /* the process configuration, loaded before the command runs */
    const char *command;   /* name of the running command */
    const kz_command *cmd; /* the running command's table row */
    int out_tty, err_tty;
} kz_cli;

struct kz_command {
    const char *name;
    int (*run)(kz_cli *cli, int argc, char **argv);
    const char *summary; /* one line for `kizuna --help` */
    const char *help;    /* the whole --help text after the usage line */
    const char *usage;   /* "import [options] ENTITY FILE" */
};

/* The entry point: parses global options, loads the configuration, runs the
 * command. Returns the exit status. */
int kz_cli_main(int argc, char **argv);

/* Prints "kizuna <command>: <message>" on stderr (printf format). */
void kz_cli_err(const kz_cli *cli, const char *fmt, ...) KZ_PRINTF(2, 3);

/* Prints the message and a hint to run --help, returns KZ_EXIT_USAGE. */
int kz_cli_usage(const kz_cli *cli, const char *fmt, ...) KZ_PRINTF(2, 3);

/* Reports kz_error_msg() as the failure of what; returns KZ_EXIT_FAIL. */
int kz_cli_fail(const kz_cli *cli, const char *what);

/* Options every command accepts (--db, --config, --set, --help); a command's own
 * long options are listed first in its table, these are appended by
 * kz_cli_getopt(). Returns like getopt_long; the common ones are handled inside
 * (and return 0), --help prints the command's help and returns 'h'. */
int kz_cli_getopt(kz_cli *cli, int argc, char **argv, const char *shortopts,
                  const struct option *own, int *done);

/* Opens the configured database. flags as kz_store_open(). Reports failures. */
int kz_cli_open_store(kz_cli *cli, kz_store **out, int flags);

/* Reads the whole file at path (at most max bytes) into out, which it
 * initialises (the caller frees it with kz_buf_free, also on failure).
 * Reports a failure, naming the file, and returns KZ_EXIT_USAGE. */
int kz_cli_read_file(const kz_cli *cli, const char *path, size_t max, kz_buf *out);

/* Prints the help of the running command to out. */
void kz_cli_print_help(const kz_cli *cli, FILE *out);

/* The commands (one file each). */
int kz_cmd_import(kz_cli *cli, int argc, char **argv);
int kz_cmd_export(kz_cli *cli, int argc, char **argv);
int kz_cmd_status(kz_cli *cli, int argc, char **argv);
int kz_cmd_demo(kz_cli *cli, int argc, char **argv);
int kz_cmd_config(kz_cli *cli, int argc, char **argv);
int kz_cmd_fields(kz_cli *cli, int argc, char **argv);
int kz_cmd_metrics(kz_cli *cli, int argc, char **argv);
int kz_cmd_anomalies(kz_cli *cli, int argc, char **argv);
int kz_cmd_anomaly(kz_cli *cli, int argc, char **argv);
int kz_cmd_churn(kz_cli *cli, int argc, char **argv);
int kz_cmd_health(kz_cli *cli, int argc, char **argv);
int kz_cmd_serve(kz_cli *cli, int argc, char **argv);
int kz_cmd_user(kz_cli *cli, int argc, char **argv);
int kz_cmd_rules(kz_cli *cli, int argc, char **argv);
int kz_cmd_tasks(kz_cli *cli, int argc, char **argv);

#endif
