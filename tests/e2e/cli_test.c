/*
 * cli_test.c - the real kizuna binary on real files: help and exit codes,
 * imports of mixed good and bad files, folders, standard input, status,
 * export, configuration.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../support/support.h"

static char *dir;

static void setup(void)
{
    dir = kt_tmpdir();
}

static void teardown(void)
{
    kt_rmrf(dir);
}

TestSuite(cli, .init = setup, .fini = teardown);

Test(cli, every_command_has_help_and_exits_zero)
{
    const char *cmds[] = { "import", "export", "status", "demo", "fields", "config" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        kt_run r;
        kt_kizunav(&r, dir, NULL, cmds[i], "--help", NULL);
        cr_assert_eq(r.status, 0, "%s --help: %s", cmds[i], r.err);
        char want[64];
        snprintf(want, sizeof want, "Usage: kizuna %s", cmds[i]);
        cr_assert(kt_contains(r.out, want), "%s", r.out);
        kt_run_free(&r);
        kt_kizunav(&r, dir, NULL, "help", cmds[i], NULL);
        cr_assert_eq(r.status, 0);
        cr_assert(kt_contains(r.out, want));
        kt_run_free(&r);
    }
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--help", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(kt_contains(r.out, "Commands:"));
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--version", NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(kt_contains(r.out, "kizuna "));
    kt_run_free(&r);
}

Test(cli, usage_errors_exit_two_and_say_what_to_do)
{
    struct {
        const char *args[6];
        const char *says;
    } cases[] = {
        { { NULL }, "Usage" },
        { { "frobnicate", NULL }, "unknown command 'frobnicate'" },
        { { "status", "--bogus", NULL }, "unknown option '--bogus'" },
        { { "import", NULL }, "expected ENTITY FILE or FOLDER" },
        { { "import", "widgets", "x.csv", NULL }, "unknown entity 'widgets'" },
        { { "import", "--format", "xml", "accounts", "x.csv", NULL }, "--format must be csv or ndjson" },
        { { "import", "--strict", "--dry-run", "accounts", "x.csv", NULL }, "make no sense" },
        { { "import", "--map", "noequals", "accounts", "x.csv", NULL }, "--map expects FROM=TO" },
        { { "import", "--type", "x=colour", "accounts", "x.csv", NULL }, "--type expects" },
        { { "import", "--max-errors", "-3", "accounts", "x.csv", NULL }, "--max-errors" },
        { { "status", "--as-of", "2024-02-30", NULL }, "does not exist" },
        { { "status", "--format", "yaml", NULL }, "--format must be table or json" },
        { { "--set", "import.max_errors=lots", "status", NULL }, "import.max_errors" },
        { { "--set", "nokey", "status", NULL }, "--set expects KEY=VALUE" },
        { { "export", NULL }, "expected one ENTITY" },
        { { "status", "--db", NULL }, "needs a value" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_run r;
        kt_kizuna(&r, dir, NULL, cases[i].args);
        cr_assert_eq(r.status, 2, "case %zu: status %d, stderr: %s", i, r.status, r.err);
        cr_assert(kt_contains(r.err, cases[i].says), "case %zu: %s", i, r.err);
        kt_run_free(&r);
    }
}

Test(cli, a_mixed_file_imports_the_good_rows_and_reports_each_bad_one)
{
    char *src = kt_fixture("mixed/accounts.csv");
    char *copy = kt_path(dir, "accounts.csv");
    char *text = kt_read(src, NULL);
    kt_write(copy, text, (size_t)-1);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "accounts", "accounts.csv", NULL);
    cr_assert_eq(r.status, 1, "%s", r.err);
    cr_assert(kt_contains(r.err, "accounts.csv:4: domain: 'https://globex.com' looks like a URL"), "%s", r.err);
    cr_assert(kt_contains(r.err, "accounts.csv:5: created_at: day 30 does not exist in 2024-02"), "%s", r.err);
    cr_assert_eq(kt_lines(r.err), 2, "%s", r.err);
    cr_assert(kt_contains(r.out, "accounts.csv: 6 rows: 4 new, 0 updated, 0 unchanged, 2 rejected (in accounts.rejects.csv)"),
              "%s", r.out);
    /* the new custom column with a non-number became text */
    cr_assert(kt_contains(r.out, "2 new custom fields"), "%s", r.out);
    kt_run_free(&r);
    char *rej = kt_read(kt_path(dir, "accounts.rejects.csv"), NULL);
    cr_assert_eq(kt_lines(rej), 3);
    cr_assert(kt_contains(rej, "acc_003,Globex,https://globex.com"));
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "export", "accounts", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_eq(r.out, "account_id,name,domain,industry,owner,created_at,region,seats_purchased\n"
                            "acc_001,\"Acme, Inc.\",acme.com,SaaS,Emily Clark,2024-01-05,NA,25\n"
                            "acc_002,株式会社さくらテック,sakura.co.jp,Manufacturing,佐藤 結衣,2024-02-01,JP,10\n"
                            "acc_005,Umbrella,umbrella.com,Healthcare,,2024-03-01,NA,many\n"
                            "acc_006,Hooli,hooli.com,SaaS,Emily Clark,2024-03-15T00:30:00Z,APAC,40\n");
    kt_run_free(&r);
    /* --strict on the same file writes nothing new and says so */
    kt_kizunav(&r, dir, NULL, "--db", "s.db", "import", "--strict", "accounts", "accounts.csv", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.out, "2 of 6 rows rejected; nothing imported (--strict)"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "s.db", "status", "--format", "json", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "\"accounts\": 0"), "%s", r.out);
    kt_run_free(&r);
}

Test(cli, max_errors_limits_the_messages_but_not_the_rejects_file)
{
    char *p = kt_path(dir, "accounts.csv");
    FILE *f = fopen(p, "wb");
    fputs("account_id,domain\n", f);
    for (int i = 0; i < 30; i++)
        fprintf(f, "a%d,bad domain\n", i);
    fclose(f);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "--max-errors", "5", "accounts", "accounts.csv", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_eq(kt_lines(r.err), 6, "%s", r.err);
    cr_assert(kt_contains(r.err, "... and 25 more rejected rows"), "%s", r.err);
    kt_run_free(&r);
    cr_assert_eq(kt_lines(kt_read(kt_path(dir, "accounts.rejects.csv"), NULL)), 31);
}

Test(cli, a_whole_folder_imports_in_dependency_order_and_again_changes_nothing)
{
    char *world = kt_fixture("world");
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "w.db", "import", world, NULL);
    cr_assert_eq(r.status, 0, "%s\n%s", r.out, r.err);
    const char *names[] = { "accounts.csv", "contacts.csv", "subscriptions.csv", "events.ndjson",
                            "tickets.csv",  "nps.csv",      "activities.csv",    "spend.csv" };
    const char *at = r.out;
    for (size_t i = 0; i < 8; i++) {
        const char *hit = strstr(at, names[i]);
        cr_assert_not_null(hit, "%s missing or out of order in:\n%s", names[i], r.out);
        at = hit;
    }
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "w.db", "import", world, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(!kt_contains(r.out, " 1 new"), "%s", r.out);
    cr_assert(kt_contains(r.out, "events.ndjson: 3 rows: 0 new events, 3 duplicates skipped"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "w.db", "status", "--as-of", "2024-07-15", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "2 paying on 2024-07-15"), "%s", r.out);
    cr_assert(kt_contains(r.out, "2,550.00 (ARR 30,600.00)"), "%s", r.out);
    cr_assert(kt_contains(r.out, "Tickets         2 (1 open on the as-of day)"), "%s", r.out);
    kt_run_free(&r);
    /* the ticket without category was classified as operational */
    kt_kizunav(&r, dir, NULL, "--db", "w.db", "export", "tickets", "--format", "ndjson", NULL);
    cr_assert(kt_contains(r.out, "\"ticket_id\":\"t_2\""), "%s", r.out);
    kt_run_free(&r);
}

Test(cli, standard_input_and_environment_database)
{
    kt_run r;
    setenv("KIZUNA_DB", "/nonexistent-dir/should-not-be-used.db", 1);
    kt_kizunav(&r, dir, "account_id,name\nx,Ex\n", "--db", "in.db", "import", "--format", "csv", "accounts", "-", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "stdin: 1 rows: 1 new"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, "{\"account_id\":\"y\"}\n", "--db", "in.db", "import", "accounts", "-", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "give --format csv or --format ndjson"), "%s", r.err);
    kt_run_free(&r);
    unsetenv("KIZUNA_DB");
}

Test(cli, missing_files_and_databases_fail_with_a_reason)
{
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "accounts", "nope.csv", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "cannot read nope.csv"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", "none.db", "status", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "none.db does not exist"), "%s", r.err);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--db", dir, "import", "accounts", "nope.csv", NULL);
    cr_assert_eq(r.status, 1);
    kt_run_free(&r);
    char *empty = kt_path(dir, "empty");
    cr_assert_eq(mkdir(empty, 0755), 0);
    kt_kizunav(&r, dir, NULL, "--db", "k.db", "import", "empty", NULL);
    cr_assert_eq(r.status, 1);
    cr_assert(kt_contains(r.err, "holds none of"), "%s", r.err);
    kt_run_free(&r);
}

Test(cli, config_file_environment_and_flags)
{
    char *ini = kt_path(dir, "k.ini");
    kt_write(ini, "[import]\nmax_errors = 3\n", (size_t)-1);
    kt_run r;
    kt_kizunav(&r, dir, NULL, "--config", ini, "config", "show", NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(kt_contains(r.out, "import.max_errors          = 3                    # file"), "%s", r.out);
    kt_run_free(&r);
    kt_kizunav(&r, dir, NULL, "--config", ini, "--set", "import.max_errors=4", "config", NULL);
    cr_assert(kt_contains(r.out, "= 4                    # flag"), "%s", r.out);
    kt_run_free(&r);
    kt_write(ini, "[import]\nmax_errors = many\n", (size_t)-1);
    kt_kizunav(&r, dir, NULL, "--config", ini, "config", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(kt_contains(r.err, "k.ini:2"), "%s", r.err);
    kt_run_free(&r);
}

Test(cli, configuration_doc_lists_every_key)
{
    kt_run r;
    kt_kizunav(&r, dir, NULL, "config", "keys", NULL);
    cr_assert_eq(r.status, 0);
    char *doc = kt_read(kt_fixture("../../docs/configuration.md"), NULL);
    cr_assert_not_null(doc, "docs/configuration.md is missing");
    /* every row of the generated table stands in the document */
    char *line = r.out;
    while (line && *line) {
        char *end = strchr(line, '\n');
        if (!end)
            break;
        *end = '\0';
        cr_assert(kt_contains(doc, line), "docs/configuration.md lacks: %s", line);
        line = end + 1;
    }
    kt_run_free(&r);
}
