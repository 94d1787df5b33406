/*
 * cmd_serve.c - `kizuna serve`: the HTTP server on the configured database
 * until SIGTERM or SIGINT (requests in flight finish first); SIGHUP reads
 * the configuration again.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "cli/cli.h"
#include "core/error.h"
#include "core/log.h"
#include "core/text.h"

#define GRACE_SECONDS 30

/* The keys a reload applies while serving; the others need a restart. */
static const char *const reloadable[] = { "log.level", "log.format", "ingest.max_batch_events",
                                          "scores.max_delay_seconds" };

static int is_reloadable(const char *key)
{
    for (size_t i = 0; i < sizeof reloadable / sizeof reloadable[0]; i++)
        if (strcmp(key, reloadable[i]) == 0)
            return 1;
    return 0;
}

/* SIGHUP: the file and the environment again (flags still win). */
static void reload(kz_cli *cli, kz_app *app)
{
    kz_config fresh;
    if (kz_config_reload(&fresh, &cli->cfg)) {
        KZ_LOG(KZ_LOG_ERROR, "serve: configuration not reloaded (the old one stays)", "reason=\"%s\"",
               kz_error_msg());
        return;
    }
    size_t nkeys;
    const kz_cfg_key *keys = kz_config_keys(&nkeys);
    kz_buf applied, restart;
    kz_buf_init(&applied, 4096);
    kz_buf_init(&restart, 4096);
    for (size_t i = 0; i < nkeys; i++) {
        char a[4096], b[4096];
        kz_config_value_text(&cli->cfg, &keys[i], a, sizeof a);
        kz_config_value_text(&fresh, &keys[i], b, sizeof b);
        if (strcmp(a, b) == 0)
            continue;
        if (is_reloadable(keys[i].name)) {
            kz_buf_printf(&applied, "%s%s", applied.len ? "," : "", keys[i].name);
            kz_config_set(&cli->cfg, keys[i].name, b, fresh.source[i]); /* only the serving thread reads these */
        } else {
            kz_buf_printf(&restart, "%s%s", restart.len ? "," : "", keys[i].name);
        }
    }
    kz_log_setup(cli->cfg.log_level, cli->cfg.log_format);
    kz_app_reload(app, &fresh);
    KZ_LOG(KZ_LOG_INFO, "serve: configuration reloaded", "file=\"%s\" applied=\"%s\" need_restart=\"%s\"",
           cli->cfg.file ? cli->cfg.file : "", kz_buf_cstr(&applied), kz_buf_cstr(&restart));
    kz_buf_free(&applied);
    kz_buf_free(&restart);
    kz_config_free(&fresh);
}

int kz_cmd_serve(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "threads", required_argument, NULL, 't' },
        { "web-root", required_argument, NULL, 'w' },
        { "log-format", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const keys[] = { ['l'] = "server.listen", ['t'] = "server.threads", ['w'] = "server.web_root",
                                        ['f'] = "log.format" };
    int done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'l':
        case 't':
        case 'w':
        case 'f':
            if (kz_config_set(&cli->cfg, keys[c], optarg, KZ_SRC_FLAG))
                return kz_cli_usage(cli, "--%s: %s", c == 'l' ? "listen" : c == 't' ? "threads" : c == 'w' ? "web-root" : "log-format",
                                    kz_error_msg());
            break;
        default: return done;
        }
    }
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    kz_log_setup(cli->cfg.log_level, cli->cfg.log_format);
    const char *web_root = strcmp(cli->cfg.server_web_root, "-") == 0 ? NULL : cli->cfg.server_web_root;

    /* the signals go to this thread only: the server's threads inherit the mask */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    kz_app *app = NULL;
    kz_server *srv = NULL;
    if (kz_app_open(&app, &cli->cfg))
        return kz_cli_fail(cli, "opening the database");
    kz_server_opts so;
    kz_server_opts_init(&so);
    char host[64];
    const char *listen = cli->cfg.server_listen, *colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    int64_t port = 0;
    kz_parse_int(&port, colon + 1, strlen(colon + 1), 0, 65535);
    so.host = host;
    so.port = (uint16_t)port;
    so.threads = (unsigned)cli->cfg.server_threads;
    so.max_body = (size_t)cli->cfg.server_max_body;
    so.max_connections = (unsigned)cli->cfg.server_max_connections;
    so.timeout_s = (unsigned)cli->cfg.server_timeout;
    so.web_root = web_root;
    so.cache_bytes = (size_t)cli->cfg.server_cache_bytes;
    so.cache_token = kz_app_cache_token;
    so.authorize = kz_api_authorize_fn();
    so.release = kz_api_release_fn();
    so.user_name = kz_api_user_name;
    size_t nroutes;
    const kz_route *routes = kz_api_routes(&nroutes);
    if (kz_server_start(&srv, &so, routes, nroutes, app)) {
        kz_cli_err(cli, "%s", kz_error_msg());
        kz_app_close(app);
        return KZ_EXIT_FAIL;
    }
    kz_app_set_server(app, srv);
    printf("kizuna: serving http://%s:%u/ on %s\n", host, (unsigned)kz_server_port(srv), cli->cfg.db_path);
    fflush(stdout);
    KZ_LOG(KZ_LOG_INFO, "serve: listening", "address=%s:%u database=\"%s\" web_root=\"%s\"", host,
           (unsigned)kz_server_port(srv), cli->cfg.db_path, web_root ? web_root : "");
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(cli, app);
            continue;
        }
        KZ_LOG(KZ_LOG_INFO, "serve: stopping", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
        break;
    }
    /* no new connections; the requests in flight finish (batches of events
     * among them, answered as the writer stores them); then the writer
     * stores whatever is still queued and answers it; then the rest stops */
    kz_server_quiesce(srv, GRACE_SECONDS);
    kz_app_stop_events(app);
    kz_server_stop(srv, GRACE_SECONDS);
    kz_app_close(app);
    KZ_LOG(KZ_LOG_INFO, "serve: stopped", "grace_seconds=%d", GRACE_SECONDS);
    return KZ_EXIT_OK;
}
