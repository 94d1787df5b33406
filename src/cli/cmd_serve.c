/*
 * cmd_serve.c - `kizuna serve`: the HTTP server on the configured database
 * until SIGTERM or SIGINT (requests in flight finish first).
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

int kz_cmd_serve(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "threads", required_argument, NULL, 't' },
        { NULL, 0, NULL, 0 },
    };
    int done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'l':
            if (kz_config_set(&cli->cfg, "server.listen", optarg, KZ_SRC_FLAG))
                return kz_cli_usage(cli, "--listen: %s", kz_error_msg());
            break;
        case 't':
            if (kz_config_set(&cli->cfg, "server.threads", optarg, KZ_SRC_FLAG))
                return kz_cli_usage(cli, "--threads: %s", kz_error_msg());
            break;
        default: return done;
        }
    }
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);

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
    so.authorize = kz_api_authorize_fn();
    so.release = kz_api_release_fn();
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
    KZ_LOG(KZ_LOG_INFO, "serve: listening", "address=%s:%u database=\"%s\"", host, (unsigned)kz_server_port(srv),
           cli->cfg.db_path);
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            KZ_LOG(KZ_LOG_INFO, "serve: SIGHUP", "reload=%s", "none (the configuration is read at start)");
            continue;
        }
        KZ_LOG(KZ_LOG_INFO, "serve: stopping", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
        break;
    }
    kz_server_stop(srv, GRACE_SECONDS);
    kz_app_close(app);
    KZ_LOG(KZ_LOG_INFO, "serve: stopped", "grace_seconds=%d", GRACE_SECONDS);
    return KZ_EXIT_OK;
}
