// overview.tsx - where a CSM starts the day: the key figures of the month
// with their change and a sparkline (an anomaly badge on a figure whose
// series is abnormal), the MRR movements by month, the health of the paying
// accounts, and what changed this week.
import { useMemo } from "preact/hooks";
import { computedAt } from "../api";
import { Chart, Sparkline } from "../components/chart";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { useI18n, type Key } from "../i18n";
import { onLink } from "../router";
import { useSession } from "../session";
import { anomalyText, type AnomalyWords } from "../words";

interface SummaryRow {
  metric: string;
  month: string;
  through: string;
  value: number | null;
  previous: number | null;
  change: number | null;
}

interface MrrRow {
  month: string;
  new_mrr: number;
  expansion_mrr: number;
  contraction_mrr: number;
  churned_mrr: number;
  reactivation_mrr: number;
  ending_mrr: number;
  logo_churn_rate: number | null;
  grr: number | null;
  nrr: number | null;
}

interface NpsRow {
  month: string;
  nps: number | null;
}

interface Anomaly extends AnomalyWords {
  id: number;
  state: string;
  found_at: string;
}

interface Firing {
  id: number;
  rule: string;
  account_id: string | null;
  subject: string;
  fired_at: string;
  reason: string;
}

interface HealthAnswer {
  scores: { day: string | null; computed_at: string | null; scored: number; bands: Record<"green" | "yellow" | "red", number> };
}

interface AccountsPage {
  as_of: string | null;
  total: number;
}

type Kind = "money" | "ratio" | "score" | "count";

interface Tile {
  metric: string;
  label: Key;
  kind: Kind;
  /* the anomaly series that concern it */
  series: string[];
  /* higher is better (the colour of the change) */
  up: boolean;
}

const TILES: Tile[] = [
  { metric: "mrr", label: "overview.mrr", kind: "money", series: ["mrr", "new_mrr", "churned_mrr", "expansion_mrr", "contraction_mrr"], up: true },
  { metric: "nrr", label: "overview.nrr", kind: "ratio", series: ["nrr"], up: true },
  { metric: "grr", label: "overview.grr", kind: "ratio", series: ["grr"], up: true },
  { metric: "logo_churn_rate", label: "overview.logo_churn_rate", kind: "ratio", series: ["logo_churn"], up: false },
  { metric: "nps", label: "overview.nps", kind: "score", series: ["nps"], up: true },
];

const MONTHS = 12;

function secs(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

export function Overview() {
  const { t } = useI18n();
  const { fmt } = useSession();
  const summary = useApi<SummaryRow[]>("/api/v1/metrics/summary");
  const mrr = useApi<MrrRow[]>("/api/v1/metrics/mrr");
  const nps = useApi<NpsRow[]>("/api/v1/metrics/nps");
  const health = useApi<HealthAnswer>("/api/v1/health");
  const red = useApi<AccountsPage>("/api/v1/accounts?band=red&limit=1");
  const renewing = useApi<AccountsPage>("/api/v1/accounts?renewal_within=90&limit=1");
  const anomalies = useApi<{ anomalies: Anomaly[] }>("/api/v1/anomalies?state=open&sort=-day&limit=1000");
  const firings = useApi<{ firings: Firing[] }>("/api/v1/firings?limit=50");

  const recent = useMemo(() => (mrr.data ?? []).slice(-MONTHS), [mrr.data]);
  const spark = (metric: string): number[] => {
    if (metric === "nps") return (nps.data ?? []).slice(-MONTHS).map((r) => r.nps ?? 0);
    const pick: Record<string, (r: MrrRow) => number | null> = {
      mrr: (r) => r.ending_mrr,
      nrr: (r) => r.nrr,
      grr: (r) => r.grr,
      logo_churn_rate: (r) => r.logo_churn_rate,
    };
    const f = pick[metric];
    return f ? recent.map((r) => f(r) ?? 0) : [];
  };
  const show = (kind: Kind, v: number | null) =>
    kind === "money" ? fmt.money(v) : kind === "ratio" ? fmt.pct(v) : kind === "score" ? fmt.num(v, 1) : fmt.num(v);
  const showChange = (kind: Kind, v: number | null) => {
    if (v === null) return "—";
    const sign = v > 0 ? "+" : v < 0 ? "−" : "±";
    const a = Math.abs(v);
    return sign + (kind === "money" ? fmt.money(a) : kind === "ratio" ? fmt.pct(a) : fmt.num(a, 1));
  };

  if (summary.error) return <Failed error={summary.error} retry={summary.reload} />;
  if (!summary.data) return <Loading />;
  const rows = new Map(summary.data.map((r) => [r.metric, r]));
  const first = summary.data[0];
  const open = anomalies.data?.anomalies ?? [];
  const weekAgo = Date.now() - 7 * 86400 * 1000;
  const week = [
    ...open
      .filter((a) => Date.parse(a.found_at) >= weekAgo)
      .map((a) => ({ at: a.found_at, text: t("overview.anomaly", { message: anomalyText(t, fmt, a) }), key: `a${a.id}` })),
    ...(firings.data?.firings ?? [])
      .filter((f) => Date.parse(f.fired_at) >= weekAgo)
      .map((f) => ({
        at: f.fired_at,
        text: t("overview.fired", { rule: f.rule, account: f.account_id ?? f.subject }),
        key: `f${f.id}`,
      })),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));

  return (
    <div class="page">
      <h1>{t("overview.title")}</h1>
      {first && (
        <Freshness computed={computedAt(summary.data) ?? health.data?.scores.computed_at ?? null} dataTo={first.through} />
      )}
      <section aria-label={t("overview.kpis")} class="tiles">
        {TILES.map((tile) => {
          const r = rows.get(tile.metric);
          const abnormal = open.find((a) => tile.series.includes(a.series) || tile.series.includes(a.kind));
          const change = r?.change ?? null;
          const good = change === null || change === 0 ? "" : (change > 0) === tile.up ? "good" : "bad";
          return (
            <article class="tile" key={tile.metric} data-metric={tile.metric} data-value={r?.value ?? ""}>
              <h2>{t(tile.label)}</h2>
              <p class="value">{show(tile.kind, r?.value ?? null)}</p>
              <p class={`change ${good}`}>{t("overview.vs_prev", { change: showChange(tile.kind, change) })}</p>
              <Sparkline label={t(tile.label)} values={spark(tile.metric)} />
              {abnormal && (
                <a class="badge" href="/anomalies" onClick={onLink} title={t("overview.abnormal_title", { message: anomalyText(t, fmt, abnormal) })}>
                  {t("overview.abnormal")}
                </a>
              )}
            </article>
          );
        })}
        <article class="tile" data-metric="at_risk" data-value={red.data?.total ?? ""}>
          <h2>{t("overview.at_risk")}</h2>
          <p class="value">
            <a href="/accounts?band=red" onClick={onLink}>
              {red.data ? fmt.num(red.data.total) : "—"}
            </a>
          </p>
          <p class="change">{t("overview.red_accounts")}</p>
        </article>
        <article class="tile" data-metric="renewals_90d" data-value={renewing.data?.total ?? ""}>
          <h2>{t("overview.renewals_90d")}</h2>
          <p class="value">
            <a href="/renewals" onClick={onLink}>
              {renewing.data ? fmt.num(renewing.data.total) : "—"}
            </a>
          </p>
        </article>
      </section>

      <Section title={t("overview.movements")} id="movements">
        {mrr.error ? (
          <Failed error={mrr.error} retry={mrr.reload} />
        ) : !mrr.data ? (
          <Loading />
        ) : (
          <Movements rows={recent} />
        )}
      </Section>

      <div class="two">
        <Section title={t("overview.health")} id="health">
          {health.error ? (
            <Failed error={health.error} retry={health.reload} />
          ) : !health.data ? (
            <Loading />
          ) : (
            <Bands bands={health.data.scores.bands} />
          )}
          {health.data && <Freshness computed={health.data.scores.computed_at} dataTo={health.data.scores.day} />}
        </Section>
        <Section title={t("overview.week")} id="week">
          {week.length === 0 ? (
            <p class="state">{t("overview.week_none")}</p>
          ) : (
            <ul class="events">
              {week.slice(0, 12).map((w) => (
                <li key={w.key}>
                  <time dateTime={w.at}>{fmt.time(w.at)}</time> {w.text}
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
    </div>
  );
}

function Movements({ rows }: { rows: MrrRow[] }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const x = useMemo(() => rows.map((r) => secs(r.month)), [rows]);
  const series = useMemo(
    () => [
      { label: t("overview.new"), color: "#2563eb", values: rows.map((r) => r.new_mrr), bars: true },
      { label: t("overview.expansion"), color: "#16a34a", values: rows.map((r) => r.expansion_mrr), bars: true },
      { label: t("overview.reactivation"), color: "#0891b2", values: rows.map((r) => r.reactivation_mrr), bars: true },
      { label: t("overview.contraction"), color: "#d97706", values: rows.map((r) => -r.contraction_mrr), bars: true },
      { label: t("overview.churned"), color: "#dc2626", values: rows.map((r) => -r.churned_mrr), bars: true },
    ],
    [rows, t],
  );
  const y = useMemo(() => (v: number) => fmt.moneyShort(v), [fmt]);
  return <Chart label={t("overview.movements")} x={x} series={series} yFormat={y} />;
}

function Bands({ bands }: { bands: Record<"green" | "yellow" | "red", number> }) {
  const { t } = useI18n();
  const total = bands.green + bands.yellow + bands.red || 1;
  return (
    <ul class="bands">
      {(["green", "yellow", "red"] as const).map((b) => (
        <li key={b} class={`band-${b}`} data-band={b} data-value={bands[b]}>
          <a href={`/accounts?band=${b}`} onClick={onLink}>
            <span class="name">{t(`overview.band.${b}` as Key)}</span>
            <span class="bar" style={{ width: `${(100 * bands[b]) / total}%` }} />
            <span class="n">{t("overview.band_count", { n: bands[b] })}</span>
          </a>
        </li>
      ))}
    </ul>
  );
}
