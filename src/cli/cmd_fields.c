/*
 * cmd_fields.c - `kizuna fields`: the custom fields of accounts.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/jsonw.h"

int kz_cmd_fields(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "format", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    const char *format = "table";
    int done, c, rc = KZ_EXIT_OK;
    kz_store *st = NULL;
    kz_field_def *defs = NULL;
    size_t n = 0;

    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        if (c != 'f')
            return done;
        format = optarg;
    }
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return kz_cli_usage(cli, "--format must be table or json, not '%s'", format);
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)) != 0)
        return rc;
    if (kz_store_fields(st, &defs, &n)) {
        rc = kz_cli_fail(cli, "reading custom fields");
        goto done;
    }
    if (strcmp(format, "json") == 0) {
        kz_buf b;
        kz_jw w;
        kz_buf_init(&b, KZ_BUF_UNLIMITED);
        kz_jw_init(&w, &b);
        kz_jw_arr(&w);
        for (size_t i = 0; i < n; i++) {
            kz_jw_obj(&w);
            kz_jw_key(&w, "name");
            kz_jw_str(&w, defs[i].name);
            kz_jw_key(&w, "type");
            kz_jw_str(&w, kz_field_type_name(defs[i].type));
            kz_jw_end(&w);
        }
        kz_jw_end(&w);
        if (kz_jw_error(&w))
            rc = kz_cli_fail(cli, "writing JSON");
        else
            printf("%s\n", kz_buf_cstr(&b));
        kz_buf_free(&b);
    } else if (n == 0) {
        printf("no custom fields (extra columns of an accounts import define them)\n");
    } else {
        printf("%-32s %s\n", "FIELD", "TYPE");
        for (size_t i = 0; i < n; i++)
            printf("%-32s %s\n", defs[i].name, kz_field_type_name(defs[i].type));
    }
done:
    free(defs);
    kz_store_close(st);
    return rc;
}
