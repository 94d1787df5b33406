// account.tsx - Account 360: the header (owner, plan, MRR, renewal, health
// with its trend and why, churn risk and its drivers), usage charts (events
// and active users against seats by day, events by type by week) and the MRR
// history, the timeline of everything that happened (filtered by kind and
// paged by the server), tasks, contacts with champions, tickets and NPS, and
// a form to add a note or log a call or meeting. What the server computed is
// worded by words.ts in the page's language.
import { useMemo, useState } from "preact/hooks";
import { api, ApiError, query } from "../api";
import { Chart } from "../components/chart";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { hasKey, useI18n, type Key } from "../i18n";
import { onLink } from "../router";
import { useSession } from "../session";
import { driverWords, factorName, factorSays, timelineWords, type Signals, type TimelineItem } from "../words";
import { Trend } from "./accounts";
import type { Task } from "./tasks";

interface Factor {
  factor: string;
  signal?: string | null;
  points: number;
  weight: number;
  adds: number;
  says?: string;
}

interface Detail {
  account: { account_id: string; name: string | null; owner: string | null; domain: string | null; industry: string | null };
  as_of: string | null;
  mrr: number | null;
  plan: string | null;
  seats: number | null;
  customer_since: string | null;
  renewal?: string | null;
  last_event: string | null;
  health: {
    score: number | null;
    band: string | null;
    weakest: string | null;
    trend?: number | null;
    trend_days?: number;
    computed_at: string | null;
    factors?: Factor[];
  } | null;
  signals?: Signals;
  usage_by_event?: { weeks: string[]; events: { event: string; events: number; by_week: number[] }[] };
  churn: { probability: number; drivers?: { feature: string; effect: number; says?: string }[] } | null;
  usage: { day: string; events: number; users: number }[];
  mrr_history: { month: string; mrr: number }[];
  contacts: { contact_id: string; name: string | null; email: string | null; role: string | null; champion: boolean }[];
  tickets: { ticket_id: string; opened_at: string; subject: string | null; priority: string | null; category: string | null; resolved_at: string | null }[];
  nps: { response_id: string; ts: string; score: number; comment?: string | null }[];
}

interface Timeline {
  total: number;
  items: TimelineItem[];
  next_before: string | null;
}

const EVENT_COLORS = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#db2777", "#0891b2"];

const KINDS = ["all", "subscription", "ticket", "nps", "activity", "rule", "task", "health", "anomaly"] as const;

export function Account({ id }: { id: string }) {
  const { t } = useI18n();
  const { fmt, canEdit } = useSession();
  const detail = useApi<Detail>(`/api/v1/accounts/${encodeURIComponent(id)}?days=90&limit=20`);
  const [kind, setKind] = useState<(typeof KINDS)[number]>("all");
  const [before, setBefore] = useState<string | null>(null);
  const timeline = useApi<Timeline>(
    `/api/v1/accounts/${encodeURIComponent(id)}/timeline${query({ limit: 50, before, kind: kind === "all" ? "" : kind })}`,
  );
  const tasks = useApi<{ tasks: Task[] }>(`/api/v1/tasks${query({ account: id, status: "open", limit: 20 })}`);

  const usageX = useMemo(() => (detail.data?.usage ?? []).map((u) => Date.parse(`${u.day}T00:00:00Z`) / 1000), [detail.data]);
  const usageSeries = useMemo(
    () => [
      { label: t("account.usage_events"), color: "#2563eb", values: (detail.data?.usage ?? []).map((u) => u.events), bars: true },
      { label: t("account.usage_users"), color: "#16a34a", values: (detail.data?.usage ?? []).map((u) => u.users) },
      { label: t("account.usage_seats"), color: "#9ca3af", values: (detail.data?.usage ?? []).map(() => detail.data?.seats ?? 0) },
    ],
    [detail.data, t],
  );
  /* events by type, week by week: the most frequent five, the rest as one */
  const byEvent = detail.data?.usage_by_event;
  const typeX = useMemo(() => (byEvent?.weeks ?? []).map((w) => Date.parse(`${w}T00:00:00Z`) / 1000), [byEvent]);
  const typeSeries = useMemo(() => {
    const ev = byEvent?.events ?? [];
    const top = ev.slice(0, 5).map((e, k) => ({ label: e.event, color: EVENT_COLORS[k] ?? "#6b7280", values: e.by_week }));
    if (ev.length > 5)
      top.push({
        label: t("account.usage_other"),
        color: EVENT_COLORS[5] ?? "#6b7280",
        values: (byEvent?.weeks ?? []).map((_, w) => ev.slice(5).reduce((n, e) => n + (e.by_week[w] ?? 0), 0)),
      });
    return top;
  }, [byEvent, t]);
  const mrrX = useMemo(() => (detail.data?.mrr_history ?? []).map((m) => Date.parse(`${m.month}-01T00:00:00Z`) / 1000), [detail.data]);
  const mrrSeries = useMemo(
    () => [{ label: t("accounts.col.mrr"), color: "#7c3aed", values: (detail.data?.mrr_history ?? []).map((m) => m.mrr) }],
    [detail.data, t],
  );
  const moneyAxis = useMemo(() => (v: number) => fmt.moneyShort(v), [fmt]);

  if (detail.error)
    return detail.error.status === 404 ? <p class="state">{t("account.not_found", { id })}</p> : <Failed error={detail.error} retry={detail.reload} />;
  const d = detail.data;
  if (!d) return <Loading />;
  const items = timeline.data?.items ?? [];
  const signals = d.signals;
  return (
    <div class="page">
      <header class="account-head">
        <h1>{d.account.name ?? d.account.account_id}</h1>
        <p class="sub">
          {d.account.account_id}
          {d.account.domain ? ` · ${d.account.domain}` : ""}
          {d.account.industry ? ` · ${d.account.industry}` : ""}
        </p>
        <ul class="facts">
          <li>{d.account.owner ? t("account.owner", { owner: d.account.owner }) : t("account.no_owner")}</li>
          <li>{t("account.plan", { plan: d.plan ?? "—" })}</li>
          <li data-value={d.mrr ?? ""}>{t("account.mrr", { mrr: fmt.money(d.mrr) })}</li>
          <li>{t("account.seats", { seats: fmt.num(d.seats) })}</li>
          <li data-value={d.renewal ?? ""}>{t("account.renewal", { day: fmt.date(d.renewal) })}</li>
          <li>{t("account.since", { day: fmt.date(d.customer_since) })}</li>
          <li>{t("account.last", { day: d.last_event ? fmt.time(d.last_event) : "—" })}</li>
        </ul>
        <Freshness computed={d.health?.computed_at ?? null} dataTo={d.as_of} />
      </header>

      <div class="two">
        <Section title={t("account.health")} id="health">
          {d.health?.band ? (
            <>
              <p class={`big band-${d.health.band}`}>
                {fmt.num(d.health.score, 1)} · {t(`overview.band.${d.health.band}` as Key)}{" "}
                <Trend value={d.health.trend ?? null} days={d.health.trend_days ?? 7} />
              </p>
              <h3>{t("account.why")}</h3>
              <ul class="factors">
                {(d.health.factors ?? []).map((f) => {
                  const says = factorSays(t, fmt, f, signals);
                  return (
                    <li key={f.factor}>
                      <strong>{factorName(t, f)}</strong> {fmt.num(f.adds, 1)} / {fmt.num(f.weight, 0)}
                      {says ? <span class="sub"> — {says}</span> : null}
                    </li>
                  );
                })}
              </ul>
            </>
          ) : (
            <p class="state">{t("account.not_scored")}</p>
          )}
        </Section>
        <Section title={t("account.churn")} id="churn">
          {d.churn ? (
            <>
              <p class="big">{fmt.pct(d.churn.probability)}</p>
              <ul class="factors">
                {(d.churn.drivers ?? []).map((x) => {
                  const w = driverWords(t, fmt, x, signals);
                  return (
                    <li key={x.feature}>
                      <strong>{w.name}</strong> {x.effect > 0 ? "+" : ""}
                      {fmt.num(x.effect, 2)}
                      {w.says ? <span class="sub"> — {w.says}</span> : null}
                    </li>
                  );
                })}
              </ul>
            </>
          ) : (
            <p class="state">{t("account.no_model")}</p>
          )}
        </Section>
      </div>

      <div class="two">
        <Section title={t("account.usage")} id="usage">
          <Chart label={t("account.usage")} x={usageX} series={usageSeries} height={200} unit="day" />
        </Section>
        <Section title={t("account.usage_by_type")} id="usage-by-type">
          {typeSeries.length ? (
            <Chart label={t("account.usage_by_type")} x={typeX} series={typeSeries} height={200} unit="day" />
          ) : (
            <p class="state">{t("account.no_events")}</p>
          )}
        </Section>
      </div>
      <div class="two">
        <Section title={t("account.mrr_history")} id="mrr-history">
          <Chart label={t("account.mrr_history")} x={mrrX} series={mrrSeries} height={200} yFormat={moneyAxis} />
        </Section>
        <Section title={t("account.tasks")} id="tasks">
          {tasks.error ? (
            <Failed error={tasks.error} retry={tasks.reload} />
          ) : !tasks.data ? (
            <Loading />
          ) : tasks.data.tasks.length === 0 ? (
            <p class="state">{t("account.no_tasks")}</p>
          ) : (
            <ul class="plain">
              {tasks.data.tasks.map((k) => (
                <li key={k.id}>
                  <a href={`/tasks${query({ view: "all", account: id })}`} onClick={onLink}>
                    {k.title}
                  </a>
                  <span class={k.overdue ? "sub overdue" : "sub"}>
                    {" "}
                    · {k.assignee ?? t("account.no_owner")} · {k.due ? t("account.due", { day: fmt.date(k.due) }) : "—"}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>

      {canEdit && <NoteForm id={d.account.account_id} onAdded={timeline.reload} />}

      <Section title={t("account.timeline")} id="timeline">
        <label>
          {t("account.kind")}
          <select
            value={kind}
            onChange={(e) => {
              setKind((e.currentTarget as HTMLSelectElement).value as (typeof KINDS)[number]);
              setBefore(null);
            }}
          >
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`account.kind.${k}` as Key)}
              </option>
            ))}
          </select>
        </label>
        {timeline.error ? (
          <Failed error={timeline.error} retry={timeline.reload} />
        ) : !timeline.data ? (
          <Loading />
        ) : (
          <>
            <p class="sub">{t("account.timeline_total", { n: fmt.num(timeline.data.total) })}</p>
            <ol class="timeline" data-timeline>
              {items.map((i) => {
                const w = timelineWords(t, fmt, i, (acc) => (acc === d.account.account_id ? d.account.name : null));
                return (
                  <li key={`${i.kind}:${i.ref}:${i.at}`} data-kind={i.kind}>
                    <time dateTime={i.at}>{fmt.time(i.at)}</time>
                    <strong>{w.title}</strong>
                    {w.detail ? <p>{w.detail}</p> : null}
                  </li>
                );
              })}
            </ol>
            <div class="pager">
              {before && (
                <button type="button" onClick={() => setBefore(null)}>
                  {t("account.newest")}
                </button>
              )}
              {timeline.data.next_before && (
                <button type="button" onClick={() => setBefore(timeline.data!.next_before)}>
                  {t("account.older")}
                </button>
              )}
            </div>
          </>
        )}
      </Section>

      <div class="two">
        <Section title={t("account.contacts")} id="contacts">
          <ul class="plain">
            {d.contacts.map((c) => (
              <li key={c.contact_id}>
                {c.name ?? c.email ?? c.contact_id}
                {c.role ? <span class="sub"> · {c.role}</span> : null}
                {c.champion ? <span class="pill champion"> {t("account.champion")}</span> : null}
              </li>
            ))}
          </ul>
        </Section>
        <Section title={t("account.tickets")} id="tickets">
          <ul class="plain">
            {d.tickets.map((k) => (
              <li key={k.ticket_id}>
                <time dateTime={k.opened_at}>{fmt.date(k.opened_at.slice(0, 10))}</time> {k.subject ?? k.ticket_id}
                <span class="sub">
                  {" "}
                  · {word(t, "tl.ticket.pri.", k.priority)} · {word(t, "tl.ticket.cat.", k.category)} ·{" "}
                  {k.resolved_at ? t("account.resolved") : t("account.open")}
                </span>
              </li>
            ))}
          </ul>
          <h3>{t("account.nps")}</h3>
          <ul class="plain">
            {d.nps.map((n) => (
              <li key={n.response_id}>
                <time dateTime={n.ts}>{fmt.date(n.ts.slice(0, 10))}</time> {n.score}
                {n.comment ? <span class="sub"> — {n.comment}</span> : null}
              </li>
            ))}
          </ul>
        </Section>
      </div>
    </div>
  );
}

/* A value the catalogue may have a word for ("high" → 高), else as it is. */
function word(t: (k: Key) => string, prefix: string, v: string | null): string {
  if (!v) return "—";
  return hasKey(`${prefix}${v}`) ? t(`${prefix}${v}` as Key) : v;
}

function NoteForm({ id, onAdded }: { id: string; onAdded: () => void }) {
  const { t } = useI18n();
  const { me } = useSession();
  const [kind, setKind] = useState<"note" | "call" | "meeting">("note");
  const [body, setBody] = useState("");
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!body.trim()) return;
    const key = `dash-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    try {
      await api("/api/v1/activities", "POST", {
        activity_id: key,
        account_id: id,
        ts: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        kind,
        body,
        author: me.name,
      });
      setBody("");
      setMsg({ ok: true, text: t("account.note_added") });
      onAdded();
    } catch (err) {
      setMsg({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    }
  };
  return (
    <form class="card note-form" onSubmit={submit} data-edit>
      <label>
        {t("account.kind")}
        <select value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as "note" | "call" | "meeting")}>
          <option value="note">{t("account.kind.note")}</option>
          <option value="call">{t("account.kind.call")}</option>
          <option value="meeting">{t("account.kind.meeting")}</option>
        </select>
      </label>
      <label>
        {t("account.note")}
        <textarea rows={3} value={body} onInput={(e) => setBody(e.currentTarget.value)} />
      </label>
      <button type="submit" data-edit>
        {t("account.add_note")}
      </button>
      {msg && (
        <p role={msg.ok ? "status" : "alert"} class={msg.ok ? "ok" : "error"}>
          {msg.text}
        </p>
      )}
    </form>
  );
}
