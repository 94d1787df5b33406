// renewals.tsx - the renewals ahead, by month: how much ARR renews, how much
// of it is at risk (the server's rule: an account in the red or yellow band,
// or a churn probability of one half or more), and per account what was
// agreed at onboarding (its custom field success_plan, else its oldest note
// or meeting).
//
// The sums come from GET /api/v1/renewals?within=N (one pass of the server
// over every account); the accounts from GET /api/v1/accounts with
// renewal_within, renewal_from/renewal_to (the month picked) and at_risk,
// 50 a page: the page never holds more rows than that, whatever the data.
// Its state is in the URL: ?days=90&month=YYYY-MM&risk=1&offset=N.
import { useMemo, useState } from "preact/hooks";
import { api, query } from "../api";
import { Chart } from "../components/chart";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { useI18n, type Key } from "../i18n";
import { navigate, onLink, useLocation } from "../router";
import { useSession } from "../session";
import { Pager, type AccountRow } from "./accounts";

interface Sums {
  accounts: number;
  arr: number;
  accounts_at_risk: number;
  arr_at_risk: number;
  overdue: number;
}

interface Summary extends Sums {
  as_of: string | null;
  computed_at: string | null;
  within: number;
  at_risk_churn: number;
  months: (Sums & { month: string })[];
}

interface Page {
  as_of: string | null;
  total: number;
  accounts: AccountRow[];
}

const HORIZONS = [30, 90, 180, 365];
const LIMIT = 50;

/* The last day of month "YYYY-MM". */
function lastDay(month: string): string {
  const y = Number(month.slice(0, 4)), m = Number(month.slice(5, 7));
  const d = new Date(Date.UTC(y, m, 0)).getUTCDate(); /* day 0 of the next month */
  return `${month}-${String(d).padStart(2, "0")}`;
}

export function Renewals() {
  const { t } = useI18n();
  const { fmt } = useSession();
  const { search } = useLocation();
  const days = HORIZONS.includes(Number(search.get("days"))) ? Number(search.get("days")) : 90;
  const month = /^\d{4}-\d{2}$/.test(search.get("month") ?? "") ? (search.get("month") as string) : "";
  const risk = search.get("risk") === "1";
  const offset = Number(search.get("offset") ?? "0") || 0;
  const set = (change: Record<string, string | number>) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(change)) {
      if (v === "" || v === 0 || (k === "days" && v === 90)) next.delete(k);
      else next.set(k, String(v));
    }
    if (!("offset" in change)) next.delete("offset");
    if ("days" in change) next.delete("month");
    const s = next.toString();
    navigate(`/renewals${s ? `?${s}` : ""}`);
  };

  const sum = useApi<Summary>(`/api/v1/renewals${query({ within: days })}`);
  const list = useApi<Page>(
    `/api/v1/accounts${query({
      renewal_within: days,
      renewal_from: month ? `${month}-01` : null,
      renewal_to: month ? lastDay(month) : null,
      at_risk: risk ? "true" : null,
      sort: "renewal",
      limit: LIMIT,
      offset,
    })}`,
  );

  const months = sum.data?.months ?? [];
  const x = useMemo(() => months.map((m) => Date.parse(`${m.month}-01T00:00:00Z`) / 1000), [months]);
  const series = useMemo(
    () => [
      { label: t("renewals.arr"), color: "#2563eb", values: months.map((m) => m.arr), bars: true },
      { label: t("renewals.arr_at_risk"), color: "#dc2626", values: months.map((m) => m.arr_at_risk), bars: true },
    ],
    [months, t],
  );
  const money = useMemo(() => (v: number) => fmt.moneyShort(v), [fmt]);
  const s = sum.data;
  const churn = s?.at_risk_churn ?? 0.5;
  const asOf = s?.as_of ?? list.data?.as_of ?? null;

  return (
    <div class="page">
      <h1>{t("renewals.title")}</h1>
      {s && <Freshness computed={s.computed_at} dataTo={s.as_of} />}
      <div class="toolbar">
        <label>
          {t("renewals.horizon")}
          <select value={days} onChange={(e) => set({ days: Number((e.currentTarget as HTMLSelectElement).value) })}>
            {HORIZONS.map((h) => (
              <option key={h} value={h}>
                {t("renewals.days", { n: h })}
              </option>
            ))}
          </select>
        </label>
      </div>
      {sum.error ? (
        <Failed error={sum.error} retry={sum.reload} />
      ) : !s ? (
        <Loading />
      ) : s.accounts === 0 ? (
        <p class="state">{t("renewals.none")}</p>
      ) : (
        <>
          <p class="lead" data-renewals={s.accounts} data-arr={s.arr} data-risk={s.arr_at_risk}>
            {t("renewals.summary", { n: fmt.num(s.accounts), arr: fmt.money(s.arr), risk: fmt.money(s.arr_at_risk) })}
          </p>
          <p class="sub">{t("renewals.rule", { pct: fmt.pct(churn) })}</p>
          <Section title={t("renewals.by_month")} id="by-month">
            <Chart label={t("renewals.by_month")} x={x} series={series} yFormat={money} height={220} />
            <table class="grid" data-months>
              <thead>
                <tr>
                  <th scope="col">{t("renewals.col.month")}</th>
                  <th scope="col" class="num">{t("renewals.col.accounts")}</th>
                  <th scope="col" class="num">{t("renewals.col.arr")}</th>
                  <th scope="col" class="num">{t("renewals.col.accounts_at_risk")}</th>
                  <th scope="col" class="num">{t("renewals.arr_at_risk")}</th>
                  <th scope="col" class="num">{t("renewals.overdue")}</th>
                </tr>
              </thead>
              <tbody>
                {months.map((m) => (
                  <tr key={m.month} data-month={m.month} aria-current={m.month === month ? "true" : undefined}>
                    <td>
                      <button type="button" class="link" aria-pressed={m.month === month} onClick={() => set({ month: m.month === month ? "" : m.month })}>
                        {fmt.month(`${m.month}-01`)}
                      </button>
                    </td>
                    <td class="num">{fmt.num(m.accounts)}</td>
                    <td class="num">{fmt.money(m.arr)}</td>
                    <td class="num">{fmt.num(m.accounts_at_risk)}</td>
                    <td class="num">{fmt.money(m.arr_at_risk)}</td>
                    <td class="num">{m.overdue ? fmt.num(m.overdue) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
          <Section title={month ? t("renewals.accounts_of", { month: fmt.month(`${month}-01`) }) : t("renewals.accounts")} id="renewing">
            <div class="toolbar">
              {month ? (
                <button type="button" onClick={() => set({ month: "" })}>
                  {t("renewals.all_months")}
                </button>
              ) : null}
              <label>
                <input type="checkbox" checked={risk} onChange={(e) => set({ risk: (e.currentTarget as HTMLInputElement).checked ? "1" : "" })} />
                {t("renewals.only_at_risk")}
              </label>
            </div>
            {list.error ? (
              <Failed error={list.error} retry={list.reload} />
            ) : !list.data ? (
              <Loading />
            ) : list.data.total === 0 ? (
              <p class="state">{t("renewals.none")}</p>
            ) : (
              <>
                <div class="table-wrap">
                  <table class="grid" data-total={list.data.total}>
                    <thead>
                      <tr>
                        <th scope="col">{t("renewals.col.account")}</th>
                        <th scope="col">{t("renewals.col.date")}</th>
                        <th scope="col">{t("renewals.col.health")}</th>
                        <th scope="col">{t("renewals.col.churn")}</th>
                        <th scope="col" class="num">{t("renewals.col.arr")}</th>
                        <th scope="col">{t("renewals.col.owner")}</th>
                        <th scope="col">{t("renewals.col.agreed")}</th>
                      </tr>
                    </thead>
                    <tbody>
                      {list.data.accounts.map((r) => (
                        <tr key={r.account_id} data-at-risk={r.at_risk ? "1" : "0"}>
                          <td>
                            <a href={`/accounts/${encodeURIComponent(r.account_id)}`} onClick={onLink}>
                              {r.name ?? r.account_id}
                            </a>
                            {r.at_risk && <span class="pill band-red"> {t("renewals.at_risk")}</span>}
                          </td>
                          <td data-value={r.renewal ?? ""}>
                            {fmt.date(r.renewal)}
                            {r.renewal && asOf && r.renewal < asOf ? <span class="sub"> {t("renewals.overdue")}</span> : null}
                          </td>
                          <td>
                            {r.health?.band ? `${fmt.num(r.health.score, 0)} ${t(`overview.band.${r.health.band}` as Key)}` : "—"}
                          </td>
                          <td>{r.churn ? fmt.pct(r.churn.probability) : "—"}</td>
                          <td class="num">{fmt.money((r.mrr ?? 0) * 12)}</td>
                          <td>{r.owner ?? "—"}</td>
                          <td>
                            <Agreed id={r.account_id} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pager total={list.data.total} offset={offset} limit={LIMIT} onPage={(o) => set({ offset: o })} />
              </>
            )}
          </Section>
        </>
      )}
    </div>
  );
}

interface Story {
  account: Record<string, unknown>;
  activities: { kind: string; ts: string; subject: string | null; body: string | null }[];
}

/* What was agreed at onboarding, fetched when asked (one account's page each). */
function Agreed({ id }: { id: string }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const [text, setText] = useState<string | null | undefined>(undefined);
  const show = async () => {
    const s = await api<Story>(`/api/v1/accounts/${encodeURIComponent(id)}?days=7&limit=1000`);
    const plan = s.account["success_plan"];
    if (typeof plan === "string" && plan) return setText(plan);
    const firsts = s.activities.filter((a) => a.kind === "note" || a.kind === "meeting").sort((a, b) => (a.ts < b.ts ? -1 : 1));
    const f = firsts[0];
    setText(f ? `${fmt.date(f.ts.slice(0, 10))}: ${f.subject ?? ""} ${f.body ?? ""}`.trim() : null);
  };
  if (text === undefined)
    return (
      <button type="button" onClick={() => show().catch(() => setText(null))}>
        {t("renewals.show_agreed")}
      </button>
    );
  return <span class="sub">{text ?? t("renewals.agreed_none")}</span>;
}
