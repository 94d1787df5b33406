/*
 * cmd_user.c - `kizuna user`: the users of the server, their roles,
 * passwords and API tokens. A password is read from standard input
 * (--password-stdin) or asked for on a terminal, never taken from the
 * command line, where other users could see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "api/auth.h"
#include "cli/cli.h"
#include "core/error.h"
#include "core/time.h"

/* The password: the first line of standard input, or asked twice on a terminal. */
static int read_password(kz_cli *cli, int from_stdin, char *buf, size_t cap)
{
    if (!from_stdin) {
        if (!isatty(0))
            return kz_cli_usage(cli, "give the password on standard input with --password-stdin");
        struct termios old, quiet;
        tcgetattr(0, &old);
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        char again[1100];
        fprintf(stderr, "Password: ");
        tcsetattr(0, TCSAFLUSH, &quiet);
        int ok = fgets(buf, (int)cap, stdin) != NULL;
        fprintf(stderr, "\nAgain: ");
        ok = ok && fgets(again, sizeof again, stdin) != NULL;
        tcsetattr(0, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
        if (!ok || strcmp(buf, again) != 0)
            return kz_cli_usage(cli, "the two passwords differ");
    } else if (!fgets(buf, (int)cap, stdin)) {
        return kz_cli_usage(cli, "no password on standard input");
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return KZ_EXIT_OK;
}

static int audit(kz_store *st, const char *action, const char *target, const char *detail)
{
    const char *who = getenv("USER");
    char actor[128];
    snprintf(actor, sizeof actor, "cli:%s", who ? who : "?");
    kz_audit a = { 0, kz_now(), actor, action, target, detail, "local" };
    return kz_store_audit_add(st, &a);
}

static int list_one(void *ctx, const kz_user *u)
{
    (void)ctx;
    char day[KZ_DATE_BUF];
    kz_format_date(day, kz_time_day(u->created_at));
    printf("%-24s %-8s %-8s %s\n", u->name, u->role, u->password_hash ? "password" : "-", day);
    return KZ_OK;
}

int kz_cmd_user(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "name", required_argument, NULL, 'n' },
        { "role", required_argument, NULL, 'r' },
        { "password-stdin", no_argument, NULL, 'p' },
        { "prefix", required_argument, NULL, 'x' },
        { NULL, 0, NULL, 0 },
    };
    const char *name = NULL, *role = NULL, *prefix = NULL;
    int from_stdin = 0, done, c;
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'n': name = optarg; break;
        case 'r': role = optarg; break;
        case 'p': from_stdin = 1; break;
        case 'x': prefix = optarg; break;
        default: return done;
        }
    }
    if (optind >= argc)
        return kz_cli_usage(cli, "which subcommand? (add, passwd, role, list, remove, token or revoke)");
    const char *sub = argv[optind++];
    if (optind < argc && !name)
        name = argv[optind++]; /* `kizuna user remove ann` reads as well as --name ann */
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    int list = strcmp(sub, "list") == 0;
    if (!list && strcmp(sub, "add") && strcmp(sub, "passwd") && strcmp(sub, "role") && strcmp(sub, "remove") &&
        strcmp(sub, "token") && strcmp(sub, "revoke"))
        return kz_cli_usage(cli, "unknown subcommand '%s' (add, passwd, role, list, remove, token or revoke)", sub);
    if (!list && (!name || !*name))
        return kz_cli_usage(cli, "%s: which user? (--name NAME)", sub);
    if ((strcmp(sub, "add") == 0 || strcmp(sub, "role") == 0) && kz_auth_role(role) < 0)
        return kz_cli_usage(cli, "--role must be admin, csm, support or viewer%s%s%s", role ? ", not '" : "",
                            role ? role : "", role ? "'" : "");
    if (kz_auth_init())
        return kz_cli_fail(cli, "starting libsodium");
    char password[1100];
    char *hash = NULL;
    int rc;
    if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
        if ((rc = read_password(cli, from_stdin, password, sizeof password)) != 0)
            return rc;
        if (kz_auth_hash_password(&hash, password)) {
            kz_cli_err(cli, "%s", kz_error_msg());
            return KZ_EXIT_USAGE;
        }
    }
    kz_store *st = NULL;
    if ((rc = kz_cli_open_store(cli, &st, list ? KZ_STORE_READONLY : KZ_STORE_CREATE)) != 0) {
        free(hash);
        return rc;
    }
    kz_user u;
    int64_t id, n;
    char token[KZ_TOKEN_TEXT];
    if (list) {
        rc = kz_store_user_each(st, list_one, NULL);
    } else if (strcmp(sub, "add") == 0) {
        rc = kz_store_user_add(st, name, role, hash, kz_now(), &id);
        if (!rc)
            rc = audit(st, "user.add", name, role);
        if (!rc)
            printf("added %s (%s)\n", name, role);
    } else if (strcmp(sub, "passwd") == 0) {
        rc = kz_store_user_set(st, name, NULL, hash);
        if (!rc)
            rc = audit(st, "user.passwd", name, "");
        if (!rc)
            printf("password of %s changed\n", name);
    } else if (strcmp(sub, "role") == 0) {
        rc = kz_store_user_set(st, name, role, NULL);
        if (!rc)
            rc = audit(st, "user.role", name, role);
        if (!rc)
            printf("%s is %s\n", name, role);
    } else if (strcmp(sub, "remove") == 0) {
        rc = kz_store_user_remove(st, name);
        if (!rc)
            rc = audit(st, "user.remove", name, "");
        if (!rc)
            printf("removed %s\n", name);
    } else if (strcmp(sub, "token") == 0) {
        rc = kz_store_user_get(st, name, 0, &u);
        if (!rc) {
            rc = kz_auth_issue_token(st, u.id, token, &id);
            kz_user_free(&u);
        }
        if (!rc)
            rc = audit(st, "token.issue", name, "");
        if (!rc)
            printf("a new API token for %s; it is shown this once:\n%s\n", name, token);
    } else {
        rc = kz_store_user_get(st, name, 0, &u);
        if (!rc) {
            rc = kz_store_token_revoke(st, u.id, prefix, kz_now(), &n);
            kz_user_free(&u);
        }
        if (!rc)
            rc = audit(st, "token.revoke", name, prefix ? prefix : "all");
        if (!rc)
            printf("revoked %lld token%s of %s\n", (long long)n, n == 1 ? "" : "s", name);
    }
    free(hash);
    memset(password, 0, sizeof password);
    kz_store_close(st);
    if (rc) {
        kz_cli_err(cli, "%s", kz_error_msg());
        return rc == KZ_EINVALID || rc == KZ_ECONFLICT || rc == KZ_ENOTFOUND ? KZ_EXIT_USAGE : KZ_EXIT_FAIL;
    }
    fflush(stdout);
    return KZ_EXIT_OK;
}
