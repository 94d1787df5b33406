// renewals.tsx - the renewals ahead, by month: how much ARR renews, how much
// of it is at risk (an account in the red or yellow band, or a churn
// probability of one half or more), and per account what was agreed at
// onboarding (its custom field success_plan, else its oldest note or meeting).
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, query } from "../api";
import { Chart } from "../components/chart";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useI18n, type Key } from "../i18n";
import { onLink } from "../router";
import { useSession } from "../session";
import type { AccountRow } from "./accounts";

interface Page {
  as_of: string | null;
  total: number;
  accounts: AccountRow[];
}

const HORIZONS = [30, 90, 180, 365];

function atRisk(r: AccountRow): boolean {
  return r.health?.band === "red" || r.health?.band === "yellow" || (r.churn?.probability ?? 0) >= 0.5;
}

export function Renewals() {
  const { t } = useI18n();
  const { fmt } = useSession();
  const [days, setDays] = useState(90);
  const [state, setState] = useState<{ rows: AccountRow[]; asOf: string | null } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState(null);
    setError(null);
    (async () => {
      const rows: AccountRow[] = [];
      let asOf: string | null = null;
      for (let off = 0; ; off += 1000) {
        const p = await api<Page>(`/api/v1/accounts${query({ renewal_within: days, sort: "renewal", limit: 1000, offset: off })}`);
        asOf = p.as_of;
        rows.push(...p.accounts);
        if (off + 1000 >= p.total) break;
      }
      if (live) setState({ rows, asOf });
    })().catch((e: unknown) => live && setError(e instanceof ApiError ? e : new ApiError(0, String(e), null)));
    return () => {
      live = false;
    };
  }, [days, tick]);

  const months = useMemo(() => {
    const m = new Map<string, { rows: AccountRow[]; arr: number; risk: number }>();
    for (const r of state?.rows ?? []) {
      const key = (r.renewal ?? "").slice(0, 7);
      let g = m.get(key);
      if (!g) m.set(key, (g = { rows: [], arr: 0, risk: 0 }));
      const arr = (r.mrr ?? 0) * 12;
      g.rows.push(r);
      g.arr += arr;
      if (atRisk(r)) g.risk += arr;
    }
    return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }, [state]);
  const x = useMemo(() => months.map(([k]) => Date.parse(`${k}-01T00:00:00Z`) / 1000), [months]);
  const series = useMemo(
    () => [
      { label: t("renewals.arr"), color: "#2563eb", values: months.map(([, g]) => g.arr), bars: true },
      { label: t("renewals.arr_at_risk"), color: "#dc2626", values: months.map(([, g]) => g.risk), bars: true },
    ],
    [months, t],
  );
  const money = useMemo(() => (v: number) => fmt.moneyShort(v), [fmt]);

  const total = months.reduce((s, [, g]) => s + g.arr, 0);
  const risk = months.reduce((s, [, g]) => s + g.risk, 0);
  const n = state?.rows.length ?? 0;
  return (
    <div class="page">
      <h1>{t("renewals.title")}</h1>
      {state && <Freshness dataTo={state.asOf} />}
      <div class="toolbar">
        <label>
          {t("renewals.horizon")}
          <select value={days} onChange={(e) => setDays(Number((e.currentTarget as HTMLSelectElement).value))}>
            {HORIZONS.map((h) => (
              <option key={h} value={h}>
                {t("renewals.days", { n: h })}
              </option>
            ))}
          </select>
        </label>
      </div>
      {error ? (
        <Failed error={error} retry={() => setTick((k) => k + 1)} />
      ) : !state ? (
        <Loading />
      ) : n === 0 ? (
        <p class="state">{t("renewals.none")}</p>
      ) : (
        <>
          <p class="lead" data-renewals={n} data-arr={total} data-risk={risk}>
            {t("renewals.summary", { n: fmt.num(n), arr: fmt.money(total), risk: fmt.money(risk) })}
          </p>
          <Section title={t("renewals.by_month")} id="by-month">
            <Chart label={t("renewals.by_month")} x={x} series={series} yFormat={money} height={220} />
          </Section>
          {months.map(([key, g]) => (
            <Section
              key={key}
              id={`m-${key}`}
              title={t("renewals.month", {
                month: fmt.month(`${key}-01`),
                n: fmt.num(g.rows.length),
                arr: fmt.money(g.arr),
                risk: fmt.money(g.risk),
              })}
            >
              <table class="grid">
                <thead>
                  <tr>
                    <th scope="col">{t("renewals.col.account")}</th>
                    <th scope="col">{t("renewals.col.date")}</th>
                    <th scope="col">{t("renewals.col.health")}</th>
                    <th scope="col">{t("renewals.col.churn")}</th>
                    <th scope="col">{t("renewals.col.arr")}</th>
                    <th scope="col">{t("renewals.col.owner")}</th>
                    <th scope="col">{t("renewals.col.agreed")}</th>
                  </tr>
                </thead>
                <tbody>
                  {g.rows.map((r) => (
                    <tr key={r.account_id} data-at-risk={atRisk(r) ? "1" : "0"}>
                      <td>
                        <a href={`/accounts/${encodeURIComponent(r.account_id)}`} onClick={onLink}>
                          {r.name ?? r.account_id}
                        </a>
                        {atRisk(r) && <span class="pill band-red"> {t("renewals.at_risk")}</span>}
                      </td>
                      <td data-value={r.renewal ?? ""}>
                        {fmt.date(r.renewal)}
                        {r.renewal && state.asOf && r.renewal < state.asOf ? <span class="sub"> {t("renewals.overdue")}</span> : null}
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
            </Section>
          ))}
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
