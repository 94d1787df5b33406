/*
 * commands.c - the command table, global options and the helpers every command
 * shares (option parsing, error reporting, opening the store).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "rules/deliver.h"
#include "core/error.h"
#include "core/log.h"

static const kz_command commands[] = {
    { "import", kz_cmd_import, "load CSV or NDJSON files (one entity, or a whole folder)",
      "Loads a file of one entity, or every known file of a folder in dependency order.\n"
      "\n"
      "ENTITY is one of: accounts contacts subscriptions events tickets nps activities spend.\n"
      "FILE is CSV (RFC 4180, header row) or NDJSON (one JSON object a line), chosen by\n"
      "the extension (.csv, .ndjson, .jsonl) or --format; '-' reads standard input.\n"
      "The fields of each entity are listed in docs/import.md.\n"
      "\n"
      "Good rows are committed; each bad row is reported as FILE:LINE: COLUMN: REASON and\n"
      "written to a rejects file beside the input (NAME.rejects.EXT). Re-importing a\n"
      "file changes nothing: rows are upserted by id, events de-duplicated.\n"
      "\n"
      "Options:\n"
      "  --strict              write nothing if any row is bad\n"
      "  --dry-run             validate only; write nothing (no rejects file either)\n"
      "  --format csv|ndjson   input format (default: from the file name)\n"
      "  --rejects PATH        where to write rejected rows (default: beside the input)\n"
      "  --map FROM=TO         read column FROM as field TO (repeatable)\n"
      "  --ignore COLUMN       drop an input column that is not part of the entity\n"
      "  --type FIELD=TYPE     type of a new custom account field: number, date, text or\n"
      "                        boolean (default: inferred from the values)\n"
      "  --max-errors N        bad rows to print on stderr (default import.max_errors; 0: all)\n"
      "  --quiet               no progress bar and no summary line\n"
      "\n"
      "Exit status: 0 when every row was imported, 1 when any row was rejected or the\n"
      "import failed (the summary says what was committed), 2 on a usage error.\n"
      "\n"
      "Examples:\n"
      "  kizuna import accounts crm/accounts.csv\n"
      "  kizuna import --strict subscriptions billing.ndjson\n"
      "  kizuna import --map id=account_id --ignore channel accounts export.csv\n"
      "  kizuna import demo/data\n",
      "import [options] ENTITY FILE | import [options] FOLDER" },
    { "export", kz_cmd_export, "write the stored rows of an entity as CSV or NDJSON",
      "Writes every stored row of ENTITY to standard output (or --output FILE) in the\n"
      "import format, so that an export can be imported again unchanged.\n"
      "\n"
      "Options:\n"
      "  --format csv|ndjson   output format (default csv)\n"
      "  --output FILE         write to FILE instead of standard output\n",
      "export [options] ENTITY" },
    { "status", kz_cmd_status, "what the database holds: accounts, MRR, events, tickets...",
      "Prints a short summary of the database: rows of every entity, paying accounts and\n"
      "MRR on the as-of day, events and their time span, open tickets.\n"
      "\n"
      "Options:\n"
      "  --as-of DATE          the day for MRR and open tickets (default: the last day\n"
      "                        with events, or today when there are none)\n"
      "  --format table|json   output format (default table)\n",
      "status [options]" },
    { "metrics", kz_cmd_metrics, "the SaaS numbers: summary, MRR movements, cohorts, usage, LTV, CAC, NPS...",
      "Computes a report from the analytics engine (docs/metrics.md has every definition).\n"
      "\n"
      "Options:\n"
      "  --format table|csv|json  output (default table); the CSV of mrr, cohorts, usage\n"
      "                           and daily has the columns and rows of the reference\n"
      "                           results Q2, Q5, Q3 and Q4 of ../shared/bench\n"
      "  --from WHEN, --to WHEN   only rows in this span: YYYY-MM or YYYY-MM-DD\n"
      "  --as-of DATE             the observation date (default: the last day with\n"
      "                           events, or today when there are none)\n"
      "  --timezone ZONE          days and months in this zone (default the key\n"
      "                           reporting.timezone, UTC): Asia/Tokyo, +09:00, ...\n"
      "  --filter ATTR OP VALUE   only the accounts that pass (repeatable, all must):\n"
      "                           owner=\"Sato Yui\", plan!=starter, employees>=100,\n"
      "                           onboarded_at<2025-01-01; ATTR is owner, industry, plan,\n"
      "                           domain, name, account_id or a custom field\n"
      "  --segment ATTR           one set of rows per value of ATTR, after a first\n"
      "                           column 'segment'\n"
      "  --explain WHEN           the accounts behind a row instead of the report: a\n"
      "                           month (mrr, summary, arpa, ltv, cac, cohorts, nps),\n"
      "                           a day (daily), a month or 'all' (contract-length,\n"
      "                           survival)\n"
      "  --interval month|week    mrr: periods of calendar months (default) or ISO weeks\n"
      "  --revenue                cohorts: revenue retention instead of logo retention\n"
      "  --matrix                 cohorts: a row per cohort, a column per month of life\n"
      "  --wide                   usage: every feature (DAU/WAU/MAU, stickiness, feature\n"
      "                           breadth, seats and their utilisation, trend, ...)\n"
      "  --by-event               usage: a row per account and event name\n"
      "  --window DAYS            signals, usage --wide/--by-event: the window (default 28)\n"
      "  --steps A,B,C            funnel: the ordered event names (2 to 10); --from/--to\n"
      "                           bound the days its first step may happen on\n"
      "  --within DURATION        funnel: how long after the first step the last may\n"
      "                           come (14d, 36h, 90m; default 14d)\n"
      "  --per account|user       funnel: whose journeys (default account)\n"
      "\n"
      "Definitions that differ between businesses are the configuration keys\n"
      "metrics.reactivation_window_days and metrics.intra_period_subscriptions.\n"
      "\n",
      "metrics [options] REPORT" },
    { "anomalies", kz_cmd_anomalies, "what is abnormal: every watched series judged against its usual level",
      "Judges every point of the series a CS team watches against what the points\n"
      "before it make usual, and lists the abnormal ones, each with the observed\n"
      "value, the expected value and range, a score (0.5 at the threshold, below 1)\n"
      "and a sentence. By default the anomalies of now: the last seven days, the\n"
      "last complete month, and the cohorts' ages complete since it began. A day\n"
      "still going on is not judged; a run of abnormal days is one anomaly.\n"
      "\n"
      "Series (anomaly.watch, default all; name:Z sets a threshold):\n"
      "  dau, events            active users and events per day, all accounts\n"
      "  event                  events per day of each busy event name\n"
      "  plan_dau               active users per day of each plan\n"
      "  account                each big paying account's events in the last 7 days\n"
      "                         (only drops: going silent)\n"
      "  tickets, tickets_functional, tickets_operational   tickets per day\n"
      "  signups                new paying accounts per month\n"
      "  logo_churn, revenue_churn   monthly churn\n"
      "  new_mrr, expansion_mrr, contraction_mrr, churned_mrr   the MRR movements\n"
      "  nps                    the NPS of each month\n"
      "  cohort_tickets         tickets per account of a cohort in each of its\n"
      "                         accounts' first three 30-day months\n"
      "Days are judged against the same weekday of the last weeks (and, with a\n"
      "year of history, the same days last year); holidays (anomaly.holidays,\n"
      "default the year-end 12-24..01-03) are not called low before a year shows\n"
      "them; months against their recent level and the same month in earlier\n"
      "years; cohorts against earlier cohorts at the same age.\n"
      "\n"
      "Each anomaly found with the configured series over every account is stored\n"
      "once, with an id and a state (open, acknowledged, resolved: kizuna anomaly\n"
      "ack|resolve|reopen ID); a look with --watch, --sensitivity or --filter is\n"
      "shown, not stored. docs/anomalies.md explains the detectors.\n"
      "\n"
      "Options:\n"
      "  --all                 every anomaly of the whole history\n"
      "  --from DATE --to DATE the anomalies whose days meet the period\n"
      "  --format table|csv|json\n"
      "  --watch LIST          the series to watch (default anomaly.watch)\n"
      "  --sensitivity X       every threshold times X (above 1: fewer anomalies)\n"
      "  --series NAME         every judged point of one series (dau, account/KEY,\n"
      "                        cohort_tickets/age 0), abnormal or not\n"
      "  --filter EXPR         only the accounts that pass (as in metrics)\n"
      "  --timezone ZONE       the days and months of the reports (reporting.timezone)\n"
      "  --no-record           do not store what is found\n",
      "anomalies [options]" },
    { "anomaly", kz_cmd_anomaly, "score a time series from a file; set a stored anomaly's state",
      "kizuna anomaly scan --series FILE.csv --output OUT.csv scores every row of a\n"
      "series (a header, a time column and a value column, in time order) using only\n"
      "the rows before it, and writes timestamp,value,anomaly_score (a score in\n"
      "[0, 1); 0.5 at the threshold, higher is more abnormal). The series may come at\n"
      "any regular interval, from minutes to months, with gaps; its season (hour of\n"
      "day, day of week, month of year) is found from the data. A row whose time or\n"
      "value cannot be read is reported by line and nothing is written.\n"
      "\n"
      "kizuna anomaly ack|resolve|reopen ID [--note TEXT] sets the state of a stored\n"
      "anomaly (kizuna anomalies shows the ids) to acknowledged, resolved or open,\n"
      "and writes the audit log.\n"
      "\n"
      "Options of scan:\n"
      "  --series FILE         the series (CSV)\n"
      "  --output FILE         where to write the scores\n"
      "  --time-col NAME       the time column (default timestamp): ISO-8601, or\n"
      "                        seconds since 1970\n"
      "  --value-col NAME      the value column (default value)\n"
      "  --threshold Z         the robust z from which a point is abnormal (default 5)\n"
      "  --direction D         both (default), up or down\n"
      "Options of ack, resolve, reopen:\n"
      "  --note TEXT           why (kept when not given)\n",
      "anomaly scan --series FILE --output FILE [options] | anomaly ack|resolve|reopen ID [--note TEXT]" },
    { "health", kz_cmd_health, "account health scores: who is in trouble, why, and whether the score foresees churn",
      "Scores every paying account 0-100 by a health definition (docs/health.md):\n"
      "segments of accounts, each with factors that turn a signal (`kizuna metrics\n"
      "signals`) or a custom field into points by a curve, weighed. Green, yellow and\n"
      "red by two thresholds.\n"
      "\n"
      "Subcommands:\n"
      "  score                 every paying account, the weakest first, with the two\n"
      "                        factors that cost it the most points, in words\n"
      "  show ACCOUNT          one account: each factor's value, points, weight, and\n"
      "                        what it says\n"
      "  record                store every paying account's score for the day (or each\n"
      "                        day of --from/--to) with the definition's version\n"
      "  history ACCOUNT       its recorded scores (--from, --to)\n"
      "  diff ACCOUNT          which factors moved its score between --from and --to,\n"
      "                        and what part a new definition made\n"
      "  backtest              the score at past dates against churn within the\n"
      "                        horizon: ROC AUC, churn rate and lift per band\n"
      "  suggest               weights learnt from churn on the earlier dates, judged\n"
      "                        beside the current ones on the later dates\n"
      "  definition            the definition in use, as JSON (a start for your own)\n"
      "  define FILE           store FILE as the new definition (a new version)\n"
      "\n"
      "Options:\n"
      "  --definition FILE     a health definition (JSON; default: the latest stored,\n"
      "                        else the built-in one)\n"
      "  --from DATE, --to DATE  record, history, diff: the days\n"
      "  --as-of DATE          score as of this day (default the last day with events)\n"
      "  --filter ATTR OP VALUE only these accounts (as in metrics)\n"
      "  --top N               score: only the N weakest accounts\n"
      "  --horizon DAYS        backtest: a churn within this many days counts (90)\n"
      "  --step DAYS           backtest: days between the dates (30)\n"
      "  --timezone ZONE       days in this zone (default reporting.timezone)\n"
      "  --format table|csv|json  output (default table; backtest JSON has roc_auc)\n",
      "health [options] score|show|history|diff ACCOUNT|record|backtest|suggest|definition|define FILE" },
    { "churn", kz_cmd_churn, "churn prediction: evaluate, train and predict who will stop paying",
      "Builds a churn dataset from the database: every paying account on observation\n"
      "dates every --step days, its signals that day (`kizuna metrics signals`), its\n"
      "plan and attributes, and whether it stopped paying within --horizon days. The\n"
      "latest dates are held out: the models learn from dates whose outcome was known\n"
      "before them, and are judged on them (docs/churn.md).\n"
      "\n"
      "Subcommands:\n"
      "  evaluate              ROC AUC, PR AUC, top-decile lift and calibration of the\n"
      "                        logistic regression and of gradient-boosted trees\n"
      "                        (XGBoost) on the held-out dates\n"
      "  train                 evaluate, then fit both on every labelled date and store\n"
      "                        them in the database with their evaluation\n"
      "  predict               every paying account's probability of churn within the\n"
      "                        horizon and the top drivers of it, by the stored model;\n"
      "                        stored for the API, listed riskiest first\n"
      "\n"
      "Options:\n"
      "  --horizon DAYS        a churn within this many days counts (default 90)\n"
      "  --step DAYS           days between observation dates (default 30)\n"
      "  --test-share F        share of the dates held out, the latest (default 0.3)\n"
      "  --lambda L|auto       penalty of the logistic regression (default auto: the\n"
      "                        best on a time split of the training period)\n"
      "  --no-field NAME       leave an attribute out of the features (repeatable):\n"
      "                        industry, owner, plan or a custom field\n"
      "  --algorithm best|logistic|xgboost  predict: which stored model; train\n"
      "                        --table: which to write (default best: the higher\n"
      "                        evaluated ROC AUC)\n"
      "  --top N               predict: list only the N riskiest accounts\n"
      "  --as-of DATE          the end of the history to use, or the day to predict\n"
      "                        from (default the last day with events)\n"
      "  --timezone ZONE       days in this zone (default reporting.timezone)\n"
      "  --filter ATTR OP VALUE only these accounts (as in metrics)\n"
      "  --format table|csv|json  output (default table; the JSON of evaluate has\n"
      "                        models.NAME.roc_auc)\n"
      "\n"
      "An analyst's own table instead of the database (one row per customer):\n"
      "  --table FILE          a CSV: an id column, for evaluate and train a label\n"
      "                        column (yes/no, true/false, 1/0), the rest features\n"
      "  --id COLUMN           the id column (predict: default the model's)\n"
      "  --label COLUMN        the label column (evaluate, train)\n"
      "  --model PATH          train: the model file to write; predict: to read\n"
      "  --output FILE         predict: write <id>,churn_probability here (default\n"
      "                        standard output)\n",
      "churn [options] evaluate|train|predict" },
    { "rules", kz_cmd_rules, "playbook rules: load, backtest, switch on, run; their firings and deliveries",
      "A playbook rule is a trigger, conditions on the account, actions and a\n"
      "cooldown, as JSON (docs/playbooks.md). Each firing is recorded once per rule,\n"
      "subject (account or user) and window: running again, or a restart, never acts\n"
      "twice, and a rule acts only on what happens after it was switched on.\n"
      "\n"
      "Subcommands:\n"
      "  load FILE|FOLDER      read and check the rules (a file, or every *.json of a\n"
      "                        folder; all or none) and store them (same id: replaced)\n"
      "  list                  the stored rules, their mode and since when they act\n"
      "  show RULE             one rule: its definition, mode and source, as JSON\n"
      "  test RULE|FILE        backtest: replay the last --days (events, tickets, NPS\n"
      "                        answers, anomalies, dates; thresholds scored as of each\n"
      "                        day) and say how often it would have fired, for whom,\n"
      "                        when and on what; nothing is done\n"
      "  run                   act: the rules that are on (or in dry-run) over the\n"
      "                        events since they were switched on, then the e-mails\n"
      "                        and webhooks due (--no-deliver: not those)\n"
      "  deliver               send the e-mails and webhooks due (--all: also those\n"
      "                        waiting for their next try)\n"
      "  enable|dry-run RULE   switch a rule on, or to record its firings without acting\n"
      "                        (--since DATE: it acts on what happened from then on)\n"
      "  disable RULE          switch it off\n"
      "  remove RULE           remove it (its firings and tasks stay)\n"
      "  firings               the latest firings (--rule NAME)\n"
      "  deliveries            the e-mails and webhooks, their state, tries and last\n"
      "                        error (--state pending|done|failed)\n"
      "\n"
      "Options:\n"
      "  --mode on|dry-run|off  load: the mode of the loaded rules (default each rule's\n"
      "                        \"mode\", else on)\n"
      "  --days N              test: how many days to replay (default 90)\n"
      "  --until DATE          test: the last day replayed (default today)\n"
      "  --since DATE          enable, dry-run: the time from which it acts\n"
      "  --limit N             firings, deliveries: at most N rows (default 100)\n"
      "  --format table|csv|json  output (default table)\n",
      "rules [options] load FILE|FOLDER | list | show RULE | test RULE|FILE | run | deliver | enable|disable|dry-run|remove RULE | firings | deliveries" },
    { "tasks", kz_cmd_tasks, "the tasks of CSMs: mine, overdue, by account; add, done, cancel",
      "Lists tasks (from playbook rules and people) by id: title, account, assignee,\n"
      "due date, status, source and the playbook document to follow.\n"
      "\n"
      "Subcommands:\n"
      "  (none)                list the tasks (open ones by default)\n"
      "  add                   a new task: --title, and --account, --assignee, --due,\n"
      "                        --playbook\n"
      "  done|cancel|reopen ID close a task, or open it again\n"
      "\n"
      "Options:\n"
      "  --mine                the tasks assigned to $USER\n"
      "  --assignee NAME       the tasks assigned to NAME\n"
      "  --overdue             due before today\n"
      "  --account ID          of one account\n"
      "  --status open|done|cancelled|all  (default open)\n"
      "  --limit N             at most N (default 1000)\n"
      "  --format table|csv|json  output (default table)\n",
      "tasks [options] [add | done|cancel|reopen ID]" },
    { "serve", kz_cmd_serve, "the HTTP server: the REST API under /api/v1/",
      "Serves the database over HTTP: the REST API under /api/v1/ (docs/api.md),\n"
      "POST /api/v1/events for live product events, GET /healthz, GET /metrics\n"
      "(Prometheus) and, with a web root, the dashboard under /. Prints the address\n"
      "on its first line. Every account's health and churn risk are scored again\n"
      "soon after the data changes; then the anomalies are looked for and the\n"
      "playbook rules that are on are run (each firing once: `kizuna rules`), and\n"
      "their e-mails and webhooks sent, failed ones again with backoff. The rules of\n"
      "rules.dir are loaded at start (a rule that does not read stops the start).\n"
      "\n"
      "Signals: SIGTERM or SIGINT stop it (requests in flight finish, everything\n"
      "acknowledged is stored); SIGHUP reads the configuration again and applies\n"
      "log.level, log.format, ingest.max_batch_events and scores.max_delay_seconds\n"
      "(other keys need a restart, and the log says which changed).\n"
      "\n"
      "Options:\n"
      "  --listen HOST:PORT    address to listen on (default the key server.listen,\n"
      "                        127.0.0.1:8080; port 0: any free one)\n"
      "  --threads N           threads answering requests (server.threads, 2)\n"
      "  --web-root DIR        the built dashboard to serve under / (server.web_root)\n"
      "  --log-format F        logfmt or json: one line per request and event\n"
      "                        (log.format)\n",
      "serve [options]" },
    { "user", kz_cmd_user, "the users of the server: roles, passwords, API tokens",
      "Manages who may use the server (docs/api.md). Roles: admin (everything, users,\n"
      "settings), csm (read all, write the accounts they own, tasks, notes), support\n"
      "(tickets), viewer (read only). Passwords are hashed with Argon2id; tokens are\n"
      "shown once and kept only as a hash. Every change is written to the audit log.\n"
      "\n"
      "Subcommands:\n"
      "  add --name NAME --role ROLE [--password-stdin]   a new user (the password\n"
      "                        on standard input, or asked on a terminal)\n"
      "  passwd --name NAME [--password-stdin]   a new password\n"
      "  role --name NAME --role ROLE            another role\n"
      "  list                  every user, role and whether it has a password\n"
      "  remove --name NAME    the user, its tokens and sessions\n"
      "  token --name NAME     a new API token, printed on the last line\n"
      "  revoke --name NAME [--prefix P]   its tokens (all, or the one starting P)\n",
      "user add|passwd|role|list|remove|token|revoke [options]" },
    { "demo", kz_cmd_demo, "write a realistic demo world as import files",
      "Generates a B2B SaaS world as import files (accounts, contacts, subscriptions,\n"
      "events, tickets, nps, activities, spend) plus planted.json, the list of the\n"
      "abnormalities planted in it. The same options and seed give identical files.\n"
      "\n"
      "Options:\n"
      "  --out DIR             folder to write (default demo-data)\n"
      "  --accounts N          number of customer accounts (default 1000)\n"
      "  --days D              days of product events, ending on --end (default 730)\n"
      "  --end DATE            last day of data (default 2026-10-31)\n"
      "  --seed S              random seed (default 42)\n",
      "demo [options]" },
    { "fields", kz_cmd_fields, "list the custom fields of accounts",
      "Lists the custom fields that account imports have defined, with their types.\n"
      "\n"
      "Options:\n"
      "  --format table|json   output format (default table)\n",
      "fields [options]" },
    { "config", kz_cmd_config, "show the configuration and where each value comes from",
      "Shows every configuration key with its value and its source (default, file,\n"
      "environment or flag). Precedence, lowest first: default, configuration file\n"
      "(--config FILE or KIZUNA_CONFIG), environment, --set KEY=VALUE / --db.\n"
      "\n"
      "Subcommands:\n"
      "  config show           every key, value and source (default)\n"
      "  config keys           every key with its default and help, as Markdown\n",
      "config [show|keys]" },
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const char global_help[] =
    "Kizuna - a self-hosted Customer Success platform.\n"
    "\n"
    "Global options (also accepted after the command):\n"
    "  --db PATH             database file (default kizuna.db, or $KIZUNA_DB)\n"
    "  --config FILE         configuration file (or $KIZUNA_CONFIG)\n"
    "  --set KEY=VALUE       set a configuration key (see `kizuna config show`)\n"
    "  -h, --help            this help; `kizuna COMMAND --help` for a command\n"
    "  -V, --version         print the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static void print_top_help(FILE *out)
{
    fprintf(out, "Usage: kizuna [global options] COMMAND [options]\n\n%s\nCommands:\n", global_help);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

void kz_cli_print_help(const kz_cli *cli, FILE *out)
{
    const kz_command *current = cli->cmd;
    if (!current) {
        print_top_help(out);
        return;
    }
    fprintf(out, "Usage: kizuna %s\n\n%s", current->usage, current->help);
    fprintf(out, "\nCommon options: --db PATH, --config FILE, --set KEY=VALUE, --help\n");
}

void kz_cli_err(const kz_cli *cli, const char *fmt, ...)
{
    va_list ap;
    if (cli->command)
        fprintf(stderr, "kizuna %s: ", cli->command);
    else
        fputs("kizuna: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int kz_cli_usage(const kz_cli *cli, const char *fmt, ...)
{
    va_list ap;
    if (cli->command)
        fprintf(stderr, "kizuna %s: ", cli->command);
    else
        fputs("kizuna: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kizuna %s%s--help'.\n", cli->command ? cli->command : "",
            cli->command ? " " : "");
    return KZ_EXIT_USAGE;
}

int kz_cli_fail(const kz_cli *cli, const char *what)
{
    const char *msg = kz_error_msg();
    if (what && msg[0])
        kz_cli_err(cli, "%s: %s", what, msg);
    else
        kz_cli_err(cli, "%s", what ? what : msg);
    return KZ_EXIT_FAIL;
}

int kz_cli_read_file(const kz_cli *cli, const char *path, size_t max, kz_buf *out)
{
    char chunk[65536];
    size_t got;
    int bad = 0;
    kz_buf_init(out, max);
    FILE *f = fopen(path, "rb");
    if (!f) {
        kz_cli_err(cli, "cannot read %s: %s", path, strerror(errno));
        return KZ_EXIT_USAGE;
    }
    while (!bad && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        bad = kz_buf_append(out, chunk, got) != 0;
    int err = ferror(f);
    fclose(f);
    if (bad || err) {
        kz_cli_err(cli, "cannot read %s: %s", path, bad ? "larger than the limit" : strerror(errno));
        return KZ_EXIT_USAGE;
    }
    return KZ_EXIT_OK;
}

int kz_cli_open_store(kz_cli *cli, kz_store **out, int flags)
{
    int rc = kz_store_open(out, cli->cfg.db_path, flags);
    if (rc) {
        kz_cli_err(cli, "%s", kz_error_msg());
        return KZ_EXIT_FAIL;
    }
    return KZ_EXIT_OK;
}

/* --set KEY=VALUE */
static int apply_set(kz_cli *cli, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char key[128];
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key)
        return kz_cli_usage(cli, "--set expects KEY=VALUE, got '%s'", arg);
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    if (kz_config_set(&cli->cfg, key, eq + 1, KZ_SRC_FLAG)) {
        kz_cli_err(cli, "--set: %s", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    return KZ_EXIT_OK;
}

enum { OPT_DB = 1000, OPT_CONFIG, OPT_SET, OPT_HELP };

static const struct option common_opts[] = {
    { "db", required_argument, NULL, OPT_DB },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "set", required_argument, NULL, OPT_SET },
    { "help", no_argument, NULL, OPT_HELP },
};

#define NCOMMON (sizeof common_opts / sizeof common_opts[0])
#define MAX_OPTS 64

int kz_cli_getopt(kz_cli *cli, int argc, char **argv, const char *shortopts, const struct option *own,
                  int *done)
{
    struct option all[MAX_OPTS];
    size_t n = 0;
    char shorts[64];

    *done = 0;
    for (; own && own[n].name; n++)
        all[n] = own[n];
    if (n + NCOMMON + 1 > MAX_OPTS)
        abort(); /* programmer error: too many options in a command table */
    memcpy(all + n, common_opts, sizeof common_opts);
    memset(&all[n + NCOMMON], 0, sizeof all[0]);
    snprintf(shorts, sizeof shorts, ":h%s", shortopts ? shortopts : "");
    for (;;) {
        int longindex = -1;
        int c = getopt_long(argc, argv, shorts, all, &longindex);
        switch (c) {
        case OPT_DB:
            if (kz_config_set(&cli->cfg, "db.path", optarg, KZ_SRC_FLAG)) {
                *done = kz_cli_usage(cli, "--db: %s", kz_error_msg());
                return '?';
            }
            continue;
        case OPT_CONFIG:
            continue; /* read before the command ran (kz_cli_main) */
        case OPT_SET: {
            int rc = apply_set(cli, optarg);
            if (rc) {
                *done = rc;
                return '?';
            }
            continue;
        }
        case 'h':
        case OPT_HELP:
            kz_cli_print_help(cli, stdout);
            *done = KZ_EXIT_OK;
            return 'h';
        case '?':
            if (optopt)
                *done = kz_cli_usage(cli, "unknown option '-%c'", optopt);
            else
                *done = kz_cli_usage(cli, "unknown option '%s'", argv[optind - 1]);
            return '?';
        case ':':
            *done = kz_cli_usage(cli, "option '%s' needs a value", argv[optind - 1]);
            return '?';
        default:
            return c;
        }
    }
}

/* Finds --config FILE anywhere on the command line (it must be read before any
 * other option is applied). */
static const char *find_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}

int kz_cli_main(int argc, char **argv)
{
    kz_cli cli;
    int i, rc;

    memset(&cli, 0, sizeof cli);
    cli.out_tty = isatty(1);
    cli.err_tty = isatty(2);
    /* libcurl and libsodium set themselves up once, before any thread starts */
    if (kz_deliver_init()) {
        fprintf(stderr, "kizuna: %s\n", kz_error_msg());
        return KZ_EXIT_FAIL;
    }
    if (kz_config_load(&cli.cfg, find_config(argc, argv))) {
        fprintf(stderr, "kizuna: %s\n", kz_error_msg());
        return KZ_EXIT_USAGE;
    }
    /* global options, up to the command */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-')
            break;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_top_help(stdout);
            rc = KZ_EXIT_OK;
            goto done;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("kizuna %s\n", KZ_VERSION);
            rc = KZ_EXIT_OK;
            goto done;
        }
        const char *val = NULL;
        const char *names[] = { "--db", "--config", "--set" };
        int which = -1;
        for (int k = 0; k < 3; k++) {
            size_t len = strlen(names[k]);
            if (strcmp(a, names[k]) == 0) {
                which = k;
                if (i + 1 >= argc) {
                    rc = kz_cli_usage(&cli, "option '%s' needs a value", a);
                    goto done;
                }
                val = argv[++i];
            } else if (strncmp(a, names[k], len) == 0 && a[len] == '=') {
                which = k;
                val = a + len + 1;
            }
        }
        if (which < 0) {
            rc = kz_cli_usage(&cli, "unknown option '%s'", a);
            goto done;
        }
        if (which == 0 && kz_config_set(&cli.cfg, "db.path", val, KZ_SRC_FLAG)) {
            rc = kz_cli_usage(&cli, "--db: %s", kz_error_msg());
            goto done;
        }
        if (which == 2 && (rc = apply_set(&cli, val)) != 0)
            goto done;
    }
    if (i >= argc) {
        print_top_help(stderr);
        rc = KZ_EXIT_USAGE;
        goto done;
    }
    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 < argc) {
            name = argv[i + 1];
            for (size_t k = 0; k < NCOMMANDS; k++) {
                if (strcmp(commands[k].name, name) == 0) {
                    cli.cmd = &commands[k];
                    kz_cli_print_help(&cli, stdout);
                    rc = KZ_EXIT_OK;
                    goto done;
                }
            }
            rc = kz_cli_usage(&cli, "unknown command '%s'", name);
            goto done;
        }
        print_top_help(stdout);
        rc = KZ_EXIT_OK;
        goto done;
    }
    if (strcmp(name, "version") == 0) {
        printf("kizuna %s\n", KZ_VERSION);
        rc = KZ_EXIT_OK;
        goto done;
    }
    for (size_t k = 0; k < NCOMMANDS; k++) {
        if (strcmp(commands[k].name, name) != 0)
            continue;
        cli.cmd = &commands[k];
        cli.command = commands[k].name;
        kz_log_setup(cli.cfg.log_level, cli.cfg.log_format);
        optind = 0; /* full getopt re-initialisation (GNU) */
        opterr = 0;
        rc = commands[k].run(&cli, argc - i, argv + i);
        goto done;
    }
    rc = kz_cli_usage(&cli, "unknown command '%s' (see 'kizuna --help')", name);
done:
    kz_config_free(&cli.cfg);
    return rc;
}
