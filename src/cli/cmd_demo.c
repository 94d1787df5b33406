/*
 * cmd_demo.c - `kizuna demo`: writes the demo world (src/demo/) as import files
 * and prints one line saying what was written. Parsing and checking of the
 * options only; the world itself is demo.c's business.
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/fmt.h"
#include "core/error.h"
#include "core/text.h"
#include "core/time.h"
#include "demo/demo.h"

int kz_cmd_demo(kz_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "out", required_argument, NULL, 'o' },
        { "accounts", required_argument, NULL, 'a' },
        { "days", required_argument, NULL, 'd' },
        { "end", required_argument, NULL, 'e' },
        { "seed", required_argument, NULL, 's' },
        { NULL, 0, NULL, 0 },
    };
    kz_demo_opts o;
    kz_demo_stats st;
    int64_t v;
    int done, c;
    char n1[KZ_GROUPED_BUF], n2[KZ_GROUPED_BUF], n3[KZ_GROUPED_BUF], n4[KZ_GROUPED_BUF];
    char n5[KZ_GROUPED_BUF], n6[KZ_GROUPED_BUF], n7[KZ_GROUPED_BUF], n8[KZ_GROUPED_BUF];

    kz_demo_defaults(&o);
    while ((c = kz_cli_getopt(cli, argc, argv, "", opts, &done)) != -1) {
        switch (c) {
        case 'o':
            if (!optarg[0])
                return kz_cli_usage(cli, "--out must name a folder");
            o.out_dir = optarg;
            break;
        case 'a':
            if (kz_parse_int(&v, optarg, strlen(optarg), KZ_DEMO_MIN_ACCOUNTS, KZ_DEMO_MAX_ACCOUNTS))
                return kz_cli_usage(cli, "--accounts must be a whole number from %d to %s, not '%s'",
                                    KZ_DEMO_MIN_ACCOUNTS, kz_fmt_int(n1, KZ_DEMO_MAX_ACCOUNTS), optarg);
            o.accounts = v;
            break;
        case 'd':
            if (kz_parse_int(&v, optarg, strlen(optarg), KZ_DEMO_MIN_DAYS, KZ_DEMO_MAX_DAYS))
                return kz_cli_usage(cli, "--days must be a whole number from %d to %d, not '%s'",
                                    KZ_DEMO_MIN_DAYS, KZ_DEMO_MAX_DAYS, optarg);
            o.days = v;
            break;
        case 'e':
            if (kz_parse_date(&o.end, optarg, strlen(optarg)))
                return kz_cli_usage(cli, "--end must be a date YYYY-MM-DD, not '%s': %s", optarg, kz_error_msg());
            break;
        case 's':
            if (kz_parse_int(&v, optarg, strlen(optarg), 0, INT64_MAX))
                return kz_cli_usage(cli, "--seed must be a non-negative whole number, not '%s'", optarg);
            o.seed = (uint64_t)v;
            break;
        default:
            return done;
        }
    }
    if (optind < argc)
        return kz_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (kz_demo_check(&o))
        return kz_cli_usage(cli, "%s", kz_error_msg());
    if (kz_demo_generate(&st, &o))
        return kz_cli_fail(cli, "writing the demo world");
    printf("demo: wrote %s accounts, %s contacts, %s subscriptions, %s events, %s tickets, %s NPS responses, "
           "%s activities, %s spend rows to %s (planted: %d anomalies, see %s/planted.json)\n",
           kz_fmt_int(n1, st.accounts), kz_fmt_int(n2, st.contacts), kz_fmt_int(n3, st.subscriptions),
           kz_fmt_int(n4, st.events), kz_fmt_int(n5, st.tickets), kz_fmt_int(n6, st.nps),
           kz_fmt_int(n7, st.activities), kz_fmt_int(n8, st.spend), o.out_dir, st.planted, o.out_dir);
    return KZ_EXIT_OK;
}
