/*
 * cmd_status.c - `kizuna status`: what the database holds, in a few lines.
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/fmt.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonw.h"
#include "core/text.h"
#include "core/time.h"

static void print_table(const char *db, int schema, const kz_store_stats *s, int as_of_default)
{
    char a[KZ_GROUPED_BUF], b[KZ_GROUPED_BUF], c[KZ_GROUPED_BUF];
    char d1[KZ_DATE_BUF], d2[KZ_DATE_BUF];

    printf("%-15s %s (schema %d)\n", "Database", db, schema);
    kz_format_date(d1, s->as_of);
    printf("%-15s %s%s\n", "As of", d1, as_of_default ? (s->events ? " (last day with events)" : " (today)") : "");
    printf("%-15s %s (%s paying on %s)\n", "Accounts", kz_fmt_int(a, s->rows[KZ_ENT_ACCOUNT]),
           kz_fmt_int(b, s->paying_accounts), d1);
    printf("%-15s %s (ARR %s)\n", "MRR", kz_fmt_money(a, s->mrr), kz_fmt_money(b, s->mrr * 12));
    printf("%-15s %s\n", "Subscriptions", kz_fmt_int(a, s->rows[KZ_ENT_SUBSCRIPTION]));
    printf("%-15s %s\n", "Contacts", kz_fmt_int(a, s->rows[KZ_ENT_CONTACT]));
    if (s->events) {
        kz_format_date(d1, kz_time_day(s->first_event));
        kz_format_date(d2, kz_time_day(s->last_event));
        printf("%-15s %s from %s to %s\n", "Events", kz_fmt_int(a, s->events), d1, d2);
        printf("%-15s %s users, %s event names, %s stored (%.1f bytes/event)", "", kz_fmt_int(b, s->users),
               kz_fmt_int(c, s->event_names), kz_fmt_bytes(a, s->block_bytes),
               (double)s->block_bytes / (double)s->events);
        printf(" in %s block%s\n", kz_fmt_int(a, s->blocks), s->blocks == 1 ? "" : "s");
    } else {
        printf("%-15s 0\n", "Events");
    }
    printf("%-15s %s (%s open on the as-of day)\n", "Tickets", kz_fmt_int(a, s->rows[KZ_ENT_TICKET]),
           kz_fmt_int(b, s->open_tickets));
    printf("%-15s %s\n", "NPS responses", kz_fmt_int(a, s->rows[KZ_ENT_NPS]));
    printf("%-15s %s\n", "Activities", kz_fmt_int(a, s->rows[KZ_ENT_ACTIVITY]));
    printf("%-15s %s months x channels\n", "Spend", kz_fmt_int(a, s->rows[KZ_ENT_SPEND]));
    printf("%-15s %s\n", "Custom fields", kz_fmt_int(a, s->fields));
}

static int print_json(const char *db, int schema, const kz_store_stats *s)
{
    kz_buf b;
    kz_jw w;
    char d[KZ_TIME_BUF];
    char m[KZ_FIXED_BUF];
    kz_buf_init(&b, KZ_BUF_UNLIMITED);
    kz_jw_init(&w, &b);
    w.pretty = 1;
    kz_jw_obj(&w);
    kz_jw_key(&w, "database");
    kz_jw_str(&w, db);
    kz_jw_key(&w, "schema_version");
    kz_jw_int(&w, schema);
    kz_format_date(d, s->as_of);
    kz_jw_key(&w, "as_of");
    kz_jw_str(&w, d);
    kz_jw_key(&w, "rows");
    kz_jw_obj(&w);
    for (int e = 0; e < KZ_ENT_COUNT; e++) {
        kz_jw_key(&w, kz_entity_name((kz_entity)e));
        kz_jw_int(&w, s->rows[e]);
    }
    kz_jw_key(&w, "events");
    kz_jw_int(&w, s->events);
    kz_jw_end(&w);
    kz_jw_key(&w, "paying_accounts");
    kz_jw_int(&w, s->paying_accounts);
    kz_format_fixed_min(m, s->mrr, KZ_MONEY_SCALE, 2);
    kz_jw_key(&w, "mrr");
    kz_jw_raw(&w, m, strlen(m));
    kz_jw_key(&w, "open_tickets");
    kz_jw_int(&w, s->open_tickets);
    kz_jw_key(&w, "users");
    kz_jw_int(&w, s->users);
    kz_jw_key(&w, "event_names");
    kz_jw_int(&w, s->event_names);
    kz_jw_key(&w, "event_bytes");
    kz_jw_int(&w, s->block_bytes);
    kz_jw_key(&w, "first_event");
    if (s->events) {
        kz_format_time(d, s->first_event);
        kz_jw_str(&w, d);
    } else {
        kz_jw_null(&w);
    }
    kz_jw_key(&w, "last_event");
    if (s->events) {
        kz_format_time(d, s->last_event);
        kz_jw_str(&w, d);
    } else {
        kz_jw_null(&w);
    }
    kz_jw_key(&w, "custom_fields");
    kz_jw_int(&w, s->fields);
    kz_jw_end(&w);
    int rc = kz_jw_error(&w);
    if (!rc)
        printf("%s\n", kz_buf_cstr(&b));
    kz_buf_free(&b);
    return rc;
}

int kz_cmd_status(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "as-of", required_argument, NULL, 'a' },
        { "format", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    const char *as_of_text = NULL, *format = "table";
    int done, c, rc = KZ_EXIT_OK;
    kz_store *st = NULL;
    kz_store_stats stats;
    kz_day as_of;
    int cur = 0, latest = 0;

    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'a': as_of_text = optarg; break;
        case 'f': format = optarg; break;
        default: return done;
        }
    }
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)
        return kz_cli_usage(cli, "--format must be table or json, not '%s'", format);
    if (as_of_text && kz_parse_date(&as_of, as_of_text, strlen(as_of_text)))
        return kz_cli_usage(cli, "--as-of %s: %s", as_of_text, kz_error_msg());
    if ((rc = kz_cli_open_store(cli, &st, KZ_STORE_READONLY)) != 0)
        return rc;
    if (!as_of_text) {
        /* the last day with events, else today */
        if (kz_store_stats_get(st, kz_time_day(kz_now()), &stats)) {
            rc = kz_cli_fail(cli, "reading the database");
            goto done;
        }
        as_of = stats.events ? kz_time_day(stats.last_event) : kz_time_day(kz_now());
    }
    if (kz_store_stats_get(st, as_of, &stats) || kz_store_schema_version(st, &cur, &latest)) {
        rc = kz_cli_fail(cli, "reading the database");
        goto done;
    }
    if (strcmp(format, "json") == 0) {
        if (print_json(cli->cfg.db_path, cur, &stats))
            rc = kz_cli_fail(cli, "writing JSON");
    } else {
        print_table(cli->cfg.db_path, cur, &stats, as_of_text == NULL);
    }
done:
    kz_store_close(st);
    return rc;
}
