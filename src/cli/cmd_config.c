/*
 * cmd_config.c - `kizuna config`: the configuration table, its values and sources.
 */
#include <string.h>

#include "cli/cli.h"

/* A password or a key: shown only as set or not. */
static int secret(const char *name)
{
    size_t n = strlen(name);
    return (n >= 8 && strcmp(name + n - 8, "password") == 0) || (n >= 6 && strcmp(name + n - 6, "secret") == 0);
}

static void show(const kz_cli *cli)
{
    size_t n;
    const kz_cfg_key *keys = kz_config_keys(&n);
    char val[1024];
    if (cli->cfg.file)
        printf("# configuration file: %s\n", cli->cfg.file);
    for (size_t i = 0; i < n; i++) {
        kz_config_value_text(&cli->cfg, &keys[i], val, sizeof val);
        if (secret(keys[i].name) && strcmp(val, "-") != 0)
            snprintf(val, sizeof val, "(set)");
        printf("%-26s = %-20s # %s\n", keys[i].name, val, kz_config_source_name(cli->cfg.source[i]));
    }
}

static void keys_markdown(void)
{
    size_t n;
    const kz_cfg_key *keys = kz_config_keys(&n);
    printf("| key | default | environment | meaning |\n| --- | --- | --- | --- |\n");
    for (size_t i = 0; i < n; i++) {
        printf("| `%s` | `%s` | `%s` | %s", keys[i].name, keys[i].def, keys[i].env, keys[i].help);
        if (keys[i].type == KZ_CFG_INT)
            printf(" (%lld to %lld)", (long long)keys[i].min, (long long)keys[i].max);
        else if (keys[i].type == KZ_CFG_ENUM)
            printf(" (one of `%s`)", keys[i].choices);
        printf(" |\n");
    }
}

int kz_cmd_config(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = { { NULL, 0, NULL, 0 } };
    int done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1)
        return done;
    if (optind < argc - 1)
        return kz_cli_usage(cli, "too many arguments");
    const char *sub = optind < argc ? argv[optind] : "show";
    if (strcmp(sub, "show") == 0)
        show(cli);
    else if (strcmp(sub, "keys") == 0)
        keys_markdown();
    else
        return kz_cli_usage(cli, "unknown subcommand '%s' (show or keys)", sub);
    return KZ_EXIT_OK;
}
