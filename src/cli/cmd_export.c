/*
 * cmd_export.c - `kizuna export`: stored rows in the import format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/error.h"
#include "ingest/export.h"

int kz_cmd_export(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 },
    };
    kz_format fmt = KZ_FMT_CSV;
    const char *output = NULL;
    int done, c, status;
    kz_store *st = NULL;
    FILE *f = stdout;
    char *tmp = NULL;

    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "csv") == 0)
                fmt = KZ_FMT_CSV;
            else if (strcmp(optarg, "ndjson") == 0)
                fmt = KZ_FMT_NDJSON;
            else
                return kz_cli_usage(cli, "--format must be csv or ndjson, not '%s'", optarg);
            break;
        case 'o': output = optarg; break;
        default: return done;
        }
    }
    if (argc - optind != 1)
        return kz_cli_usage(cli, "expected one ENTITY");
    int kind = kz_import_kind_parse(argv[optind]);
    if (kind < 0)
        return kz_cli_usage(cli, "unknown entity '%s'", argv[optind]);
    if ((status = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)) != 0)
        return status;
    if (output) {
        size_t n = strlen(output) + 8;
        tmp = malloc(n);
        if (!tmp) {
            status = kz_cli_fail(cli, "out of memory");
            goto done;
        }
        snprintf(tmp, n, "%s.tmp", output);
        f = fopen(tmp, "wb");
        if (!f) {
            kz_cli_err(cli, "cannot write %s: %s", tmp, strerror(errno));
            status = KZ_EXIT_FAIL;
            goto done;
        }
    }
    if (kz_export(st, (kz_import_kind)kind, fmt, f)) {
        status = kz_cli_fail(cli, "export failed");
        goto done;
    }
    if (output) {
        int bad = fclose(f) != 0;
        f = NULL;
        if (bad || rename(tmp, output) != 0) {
            kz_cli_err(cli, "cannot write %s: %s", output, strerror(errno));
            status = KZ_EXIT_FAIL;
            goto done;
        }
    }
done:
    if (f && f != stdout) {
        fclose(f);
        unlink(tmp);
    }
    free(tmp);
    kz_store_close(st);
    return status;
}
