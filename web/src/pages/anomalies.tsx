// anomalies.tsx - the anomalies the server found in the watched series
// (GET /api/v1/anomalies ?state ?series ?from ?to, sort=-day, 25 a page, paged
// by the server), newest first, with when the server last judged them;
// ?id=N opens one (GET /api/v1/anomalies/{id}): its figures, the point against
// its usual range, the series around it where a report gives its points, and
// for users who may edit its state and note (PATCH /api/v1/anomalies/{id}).
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, query } from "../api";
import { Chart, type Series } from "../components/chart";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useApi } from "../data";
import type { Fmt } from "../format";
import { useI18n, type Key, type T } from "../i18n";
import { navigate, onLink, useLocation } from "../router";
import { useSession } from "../session";
import { anomalyText } from "../words";
import { Pager } from "./accounts";

type State = "open" | "acknowledged" | "resolved";
type Unit = "count" | "ratio" | "money" | "score" | "per account";

export interface Anomaly {
  id: number;
  series: string;
  kind: string;
  grain: "day" | "month" | "cohort";
  date?: string;
  month?: string;
  cohort?: string;
  age?: number;
  days?: string;
  until?: string;
  observed: number;
  expected: number;
  low: number;
  high: number;
  score: number;
  direction: "up" | "down";
  unit: Unit;
  message: string;
  state: State;
  state_by: string | null;
  note: string | null;
  found_at: string;
  updated_at: string;
}

interface AnomalyPage {
  judged_at: string | null;
  judged_through: string | null;
  total: number;
  anomalies: Anomaly[];
}

const LIMIT = 25;
const STATES: State[] = ["open", "acknowledged", "resolved"];
const KINDS = [
  "dau",
  "events",
  "event",
  "plan_dau",
  "account",
  "tickets",
  "tickets_functional",
  "tickets_operational",
  "signups",
  "logo_churn",
  "revenue_churn",
  "new_mrr",
  "expansion_mrr",
  "contraction_mrr",
  "churned_mrr",
  "nps",
  "cohort_tickets",
];
const STATE_CLASS: Record<State, string> = { open: "band-red", acknowledged: "band-yellow", resolved: "band-green" };

function kindName(t: T, kind: string): string {
  return KINDS.includes(kind) ? t(`anomalies.kind.${kind}` as Key) : kind;
}

function when(t: T, fmt: Fmt, a: Anomaly): string {
  if (a.grain === "month" && a.month) return fmt.month(`${a.month}-01`);
  if (a.grain === "cohort" && a.cohort) return t("anomalies.cohort", { month: fmt.month(`${a.cohort}-01`), days: a.days ?? "" });
  const d = fmt.date(a.date);
  return a.until && a.date && a.until !== a.date ? `${d} ${t("anomalies.until", { day: fmt.date(a.until) })}` : d;
}

export function show(fmt: Fmt, unit: Unit, v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  switch (unit) {
    case "ratio":
      return fmt.pct(v, 2);
    case "money":
      return fmt.money(v);
    case "score":
      return fmt.num(v, 1);
    case "per account":
      return fmt.num(v, 2);
    default:
      return fmt.num(v, Math.abs(v) >= 100 ? 0 : 1);
  }
}

/* the day, month or cohort, with the last day of a run below */
function Start({ a }: { a: Anomaly }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  if (a.grain !== "day" || !a.date) return <>{when(t, fmt, a)}</>;
  return (
    <>
      <span style={{ whiteSpace: "nowrap" }}>{fmt.date(a.date)}</span>
      {a.until && a.until !== a.date && <span class="sub">{t("anomalies.until", { day: fmt.date(a.until) })}</span>}
    </>
  );
}

/* the list's shorter form: money rounded (the detail has it exactly) */
function brief(fmt: Fmt, unit: Unit, v: number): string {
  return unit === "money" ? fmt.moneyShort(v) : show(fmt, unit, v);
}

function StatePill({ state }: { state: State }) {
  const { t } = useI18n();
  return <span class={`pill ${STATE_CLASS[state] ?? ""}`}>{t(`anomalies.state.${state}` as Key)}</span>;
}

export function Anomalies() {
  const { t } = useI18n();
  const { fmt } = useSession();
  const { search } = useLocation();
  const state = search.get("state") ?? "";
  const series = search.get("series") ?? "";
  const from = search.get("from") ?? "";
  const to = search.get("to") ?? "";
  const offset = Number(search.get("offset") ?? "0") || 0;
  const id = Number(search.get("id") ?? "") || 0;
  const [typed, setTyped] = useState(series);
  useEffect(() => setTyped(series), [series]);

  const set = (change: Record<string, string | number>) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(change)) {
      if (v === "" || v === 0) next.delete(k);
      else next.set(k, String(v));
    }
    if (!("offset" in change) && !("id" in change)) next.delete("offset");
    const s = next.toString();
    navigate(`/anomalies${s ? `?${s}` : ""}`);
  };
  const link = (change: Record<string, string | number>) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(change)) {
      if (v === "" || v === 0) next.delete(k);
      else next.set(k, String(v));
    }
    const s = next.toString();
    return `/anomalies${s ? `?${s}` : ""}`;
  };

  /* a page of them, the newest first, from the server */
  const list = useApi<AnomalyPage>(`/api/v1/anomalies${query({ state, series, from, to, sort: "-day", limit: LIMIT, offset })}`);
  const pageRows = list.data?.anomalies ?? [];
  const total = list.data?.total ?? 0;
  const seen = useMemo(() => [...new Set([...KINDS, ...pageRows.map((a) => a.series)])].sort(), [pageRows]);

  return (
    <div class="page">
      <h1>{t("anomalies.title")}</h1>
      {id > 0 && <Detail id={id} backHref={link({ id: 0 })} onChanged={list.reload} />}
      <Section title={t("anomalies.list")} id="anomalies-list">
        {list.data && <Freshness computed={list.data.judged_at} dataTo={list.data.judged_through} />}
        <form
          class="toolbar"
          role="search"
          aria-label={t("anomalies.filters")}
          onSubmit={(e) => {
            e.preventDefault();
            set({ series: typed.trim() });
          }}
        >
          <label>
            {t("anomalies.state")}
            <select value={state} onChange={(e) => set({ state: (e.currentTarget as HTMLSelectElement).value })}>
              <option value="">{t("anomalies.state_any")}</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {t(`anomalies.state.${s}` as Key)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("anomalies.series")}
            <input
              list="anomaly-series"
              size={26}
              value={typed}
              placeholder={t("anomalies.series_hint")}
              onInput={(e) => setTyped(e.currentTarget.value)}
              onChange={(e) => set({ series: e.currentTarget.value.trim() })}
            />
            <datalist id="anomaly-series">
              {seen.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </label>
          <label>
            {t("anomalies.from")}
            <input type="date" value={from} max={to || undefined} onChange={(e) => set({ from: e.currentTarget.value })} />
          </label>
          <label>
            {t("anomalies.to")}
            <input type="date" value={to} min={from || undefined} onChange={(e) => set({ to: e.currentTarget.value })} />
          </label>
          {(state || series || from || to) && (
            <button type="button" onClick={() => navigate(link({ state: "", series: "", from: "", to: "", offset: 0 }))}>
              {t("anomalies.clear")}
            </button>
          )}
        </form>
        {list.error ? (
          <Failed error={list.error} retry={list.reload} />
        ) : !list.data ? (
          <Loading />
        ) : total === 0 ? (
          <p class="state">{t("anomalies.none")}</p>
        ) : (
          <>
            <p class="sub">{t("anomalies.newest_first")}</p>
            <div style={{ overflowX: "auto" }}>
              <table class="grid" data-anomalies style={{ fontSize: "0.9rem" }}>
                <thead>
                  <tr>
                    <th scope="col">{t("anomalies.col.date")}</th>
                    <th scope="col">{t("anomalies.col.series")}</th>
                    <th scope="col">{t("anomalies.col.kind")}</th>
                    <th scope="col">{t("anomalies.col.message")}</th>
                    <th scope="col">{t("anomalies.col.observed")}</th>
                    <th scope="col">{t("anomalies.col.expected")}</th>
                    <th scope="col">{t("anomalies.col.range")}</th>
                    <th scope="col">{t("anomalies.col.direction")}</th>
                    <th scope="col">{t("anomalies.col.state")}</th>
                  </tr>
                </thead>
                <tbody>
                  {pageRows.map((a) => (
                    <tr key={a.id} data-id={a.id} style={a.id === id ? { background: "#eef2ff" } : undefined}>
                      <td>
                        <Start a={a} />
                      </td>
                      <td>
                        <code style={{ fontSize: "0.85em", whiteSpace: "nowrap" }}>{a.series}</code>
                      </td>
                      <td>{kindName(t, a.kind)}</td>
                      <td style={{ minWidth: "14rem" }}>
                        <a
                          href={link({ id: a.id })}
                          onClick={onLink}
                          aria-current={a.id === id ? "true" : undefined}
                          title={t("anomalies.open_detail", { id: a.id })}
                        >
                          {anomalyText(t, fmt, a)}
                        </a>
                      </td>
                      <td class="num">{brief(fmt, a.unit, a.observed)}</td>
                      <td class="num">{brief(fmt, a.unit, a.expected)}</td>
                      <td class="num" style={{ whiteSpace: "nowrap" }}>
                        {t("anomalies.range", { low: brief(fmt, a.unit, a.low), high: brief(fmt, a.unit, a.high) })}
                      </td>
                      <td style={{ whiteSpace: "nowrap" }}>{t(`anomalies.direction.${a.direction}` as Key)}</td>
                      <td>
                        <StatePill state={a.state} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {total > LIMIT && <Pager total={total} offset={offset} limit={LIMIT} onPage={(o) => set({ offset: o })} />}
          </>
        )}
      </Section>
    </div>
  );
}

function Detail({ id, backHref, onChanged }: { id: number; backHref: string; onChanged: () => void }) {
  const { t } = useI18n();
  const { fmt, canEdit } = useSession();
  const detail = useApi<Anomaly>(`/api/v1/anomalies/${id}`);
  const heading = useRef<HTMLHeadingElement>(null);
  const focused = useRef(0);
  const a = detail.data && detail.data.id === id ? detail.data : null;
  useEffect(() => {
    if (a && focused.current !== id) {
      focused.current = id;
      heading.current?.focus();
    }
  }, [a, id]);

  const back = (
    <p>
      <a href={backHref} onClick={onLink}>
        {t("anomalies.back")}
      </a>
    </p>
  );
  if (detail.error)
    return (
      <section class="card">
        {detail.error.status === 404 ? <p class="state">{t("anomalies.not_found", { id })}</p> : <Failed error={detail.error} retry={detail.reload} />}
        {back}
      </section>
    );
  if (!a) return <Loading />;
  const off = a.expected ? a.observed / a.expected - 1 : null;
  const account = a.kind === "account" && a.series.startsWith("account/") ? a.series.slice("account/".length) : null;
  const facts: [Key, ComponentChildren][] = [
    ["anomalies.f.series", <code>{a.series}</code>],
    ["anomalies.f.kind", kindName(t, a.kind)],
    ["anomalies.f.when", when(t, fmt, a)],
    ["anomalies.f.observed", show(fmt, a.unit, a.observed)],
    ["anomalies.f.expected", show(fmt, a.unit, a.expected)],
    ["anomalies.f.range", t("anomalies.range", { low: show(fmt, a.unit, a.low), high: show(fmt, a.unit, a.high) })],
    ["anomalies.f.off", off === null ? "—" : `${off > 0 ? "+" : off < 0 ? "−" : "±"}${fmt.pct(Math.abs(off), 0)}`],
    [
      "anomalies.f.score",
      <>
        {fmt.num(a.score, 2)} <span class="sub">({t("anomalies.f.score_hint")})</span>
      </>,
    ],
    ["anomalies.f.direction", t(`anomalies.direction.${a.direction}` as Key)],
    ["anomalies.f.state", <StatePill state={a.state} />],
    ["anomalies.f.state_by", a.state_by ?? "—"],
    ["anomalies.f.note", a.note ?? "—"],
    ["anomalies.f.found", fmt.time(a.found_at)],
    ["anomalies.f.updated", fmt.time(a.updated_at)],
  ];
  if (account)
    facts.splice(1, 0, [
      "anomalies.f.account",
      <a href={`/accounts/${encodeURIComponent(account)}`} onClick={onLink}>
        {account}
      </a>,
    ]);
  return (
    <section class="card" aria-labelledby="anomaly-detail" data-anomaly={a.id}>
      <h2 id="anomaly-detail" ref={heading} tabIndex={-1}>
        {t("anomalies.detail", { id: a.id })}
      </h2>
      <p>{anomalyText(t, fmt, a)}</p>
      {back}
      <div class="two">
        <div>
          <h3>{t("anomalies.figures")}</h3>
          <table class="grid">
            <tbody>
              {facts.map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{t(k)}</th>
                  <td>{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <div>
          <h3>{t("anomalies.point")}</h3>
          <RangeFigure a={a} />
          {canEdit ? (
            <Actions
              a={a}
              onChanged={() => {
                detail.reload();
                onChanged();
              }}
            />
          ) : (
            <p class="sub">{t("anomalies.read_only")}</p>
          )}
        </div>
      </div>
      <h3>{t("anomalies.context")}</h3>
      <Context a={a} />
    </section>
  );
}

/* The one point the API gives: the usual range (low to high) as a bar, the
   expected value as a dashed line, the observed value as a dot. */
function RangeFigure({ a }: { a: Anomaly }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const lo = Math.min(a.low, a.observed, a.expected);
  const hi = Math.max(a.high, a.observed, a.expected);
  const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
  const [d0, d1] = [lo - pad, hi + pad];
  const W = 600;
  const X = (v: number) => 20 + ((v - d0) / (d1 - d0)) * (W - 40);
  const v = (x: number) => show(fmt, a.unit, x);
  const label = t("anomalies.point_label", { observed: v(a.observed), expected: v(a.expected), low: v(a.low), high: v(a.high) });
  return (
    <figure style={{ margin: "0 0 1rem" }}>
      <svg viewBox={`0 0 ${W} 70`} width="100%" role="img" aria-label={label} style={{ maxHeight: "8rem" }}>
        <line x1={20} x2={W - 20} y1={40} y2={40} stroke="#9ca3af" stroke-width={1} />
        <rect x={X(a.low)} y={24} width={Math.max(2, X(a.high) - X(a.low))} height={32} fill="#dbeafe" stroke="#1d4ed8" stroke-width={1} />
        <line x1={X(a.expected)} x2={X(a.expected)} y1={18} y2={62} stroke="#1d4ed8" stroke-width={2.5} stroke-dasharray="5 3" />
        <circle cx={X(a.observed)} cy={40} r={8} fill="#b91c1c" stroke="#fff" stroke-width={2} />
      </svg>
      <figcaption>
        <ul class="plain" style={{ listStyle: "none", padding: 0, display: "flex", flexWrap: "wrap", gap: "0.3rem 1rem" }}>
          <li>
            <span aria-hidden="true" style={{ color: "#b91c1c" }}>
              ●{" "}
            </span>
            {t("anomalies.legend.observed", { v: v(a.observed) })}
          </li>
          <li>
            <span aria-hidden="true" style={{ color: "#1d4ed8" }}>
              ┆{" "}
            </span>
            {t("anomalies.legend.expected", { v: v(a.expected) })}
          </li>
          <li>
            <span aria-hidden="true" style={{ background: "#dbeafe", border: "1px solid #1d4ed8", display: "inline-block", width: "1.2em", height: "0.8em", marginRight: "0.3em" }} />
            {t("anomalies.legend.range", { low: v(a.low), high: v(a.high) })}
          </li>
        </ul>
      </figcaption>
    </figure>
  );
}

/* ---- the series around the anomaly ---- */

interface SeriesPoint {
  date: string;
  until: string;
  observed: number | null;
  expected: number | null;
  low: number | null;
  high: number | null;
  abnormal: boolean;
}

/* The anomaly's series around it (GET /api/v1/anomalies/{id}/series): the
 * observed line, the expected value, and the usual range drawn as a band,
 * the abnormal points marked. */
function Context({ a }: { a: Anomaly }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const got = useApi<{ points: SeriesPoint[] }>(`/api/v1/anomalies/${a.id}/series${query({ before: 56, after: 14 })}`);
  const pts = got.data?.points ?? [];
  const unit = a.grain === "day" ? "day" : "month";
  const x = useMemo(() => pts.map((p) => Date.parse(`${p.date}T00:00:00Z`) / 1000), [got.data]);
  const series = useMemo<Series[]>(
    () => [
      { label: a.series, color: "#1d4ed8", values: pts.map((p) => p.observed) },
      { label: t("anomalies.expected"), color: "#6b7280", values: pts.map((p) => p.expected), dash: [6, 4] },
      {
        label: t("anomalies.this_point"),
        color: "#b91c1c",
        values: pts.map((p) => (p.abnormal ? p.observed : null)),
        bars: true,
      },
    ],
    [got.data, t, a.series],
  );
  const band = useMemo(
    () => ({ low: pts.map((p) => p.low), high: pts.map((p) => p.high), color: "rgba(37, 99, 235, 0.12)" }),
    [got.data],
  );
  const yFormat = useMemo(
    () => (v: number) =>
      a.unit === "ratio" ? fmt.pct(v, 1) : a.unit === "money" ? fmt.moneyShort(v) : fmt.num(v, a.unit === "count" ? 0 : 1),
    [fmt, a.unit],
  );
  if (got.error) return <Failed error={got.error} retry={got.reload} />;
  if (!got.data) return <Loading />;
  if (pts.length < 2) return <p class="state">{t("anomalies.context_none")}</p>;
  return (
    <Chart
      label={t("anomalies.context_label", { series: a.series, day: when(t, fmt, a) })}
      x={x}
      series={series}
      unit={unit}
      height={240}
      yFormat={yFormat}
      band={band}
    />
  );
}

/* ---- acknowledge / resolve / reopen, with a note ---- */

function Actions({ a, onChanged }: { a: Anomaly; onChanged: () => void }) {
  const { t } = useI18n();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const all: { state: State; label: Key }[] = [
    { state: "acknowledged", label: "anomalies.ack" },
    { state: "resolved", label: "anomalies.resolve" },
    { state: "open", label: "anomalies.reopen" },
  ];
  const targets = all.filter((x) => x.state !== a.state);
  const change = async (to: State) => {
    setBusy(true);
    setMsg(null);
    try {
      const body: { state: State; note?: string } = { state: to };
      if (note.trim()) body.note = note.trim();
      const r = await api<Anomaly>(`/api/v1/anomalies/${a.id}`, "PATCH", body);
      setNote("");
      setMsg({ ok: true, text: t("anomalies.changed", { id: r.id, state: t(`anomalies.state.${r.state}` as Key) }) });
      onChanged();
    } catch (err) {
      setMsg({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="note-form" data-edit onSubmit={(e) => e.preventDefault()} aria-labelledby="anomaly-act">
      <h3 id="anomaly-act">{t("anomalies.act")}</h3>
      <label>
        {t("anomalies.note")}
        <textarea rows={2} maxLength={4000} value={note} onInput={(e) => setNote(e.currentTarget.value)} data-edit aria-describedby="anomaly-note-hint" />
      </label>
      <span id="anomaly-note-hint" class="sub">
        {t("anomalies.note_hint")}
      </span>
      <div class="views">
        {targets.map((x) => (
          <button key={x.state} type="button" disabled={busy} onClick={() => change(x.state)} data-edit data-state={x.state}>
            {t(x.label)}
          </button>
        ))}
      </div>
      {msg && (
        <p role={msg.ok ? "status" : "alert"} class={msg.ok ? "ok" : "error"}>
          {msg.text}
        </p>
      )}
    </form>
  );
}
