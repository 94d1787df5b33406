// cohorts.tsx - retention by signup cohort (GET /api/v1/metrics/cohorts, with
// ?revenue=true for revenue retention): a heatmap table, a row per signup
// month and a column per month of life k = 0..24, each cell the share with a
// shade whose text keeps a contrast of at least 4.5:1.
import { useMemo } from "preact/hooks";
import { computedAt, query } from "../api";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { useI18n } from "../i18n";
import { navigate, useLocation } from "../router";
import { useSession } from "../session";

/* a row of the report: logo retention, or with revenue=true revenue retention */
interface CohortRow {
  cohort_month: string;
  k: number;
  cohort_accounts: number;
  retained?: number;
  share?: number | null;
  initial_mrr?: number;
  mrr?: number;
  revenue_retention?: number | null;
}

interface SummaryRow {
  metric: string;
  through: string;
}

interface Cell {
  value: number | null;
  retained: number | null;
  mrr: number | null;
}

interface Cohort {
  month: string;
  accounts: number;
  initialMrr: number | null;
  cells: Map<number, Cell>;
}

const MAX_K = 24;

/* light to dark blue; the text colour of each is picked for contrast below */
const SHADES = ["#eff6ff", "#dbeafe", "#bfdbfe", "#93c5fd", "#60a5fa", "#2563eb", "#1d4ed8", "#1e3a8a"];
const DARK = "#111827";
const LIGHT = "#ffffff";

function luminance(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * (ch[0] ?? 0) + 0.7152 * (ch[1] ?? 0) + 0.0722 * (ch[2] ?? 0);
}

function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/* each shade with the text colour of the higher contrast (all >= 4.5:1) */
const INK = SHADES.map((bg) => (contrast(bg, DARK) >= contrast(bg, LIGHT) ? DARK : LIGHT));

export function Cohorts() {
  const { t } = useI18n();
  const { fmt } = useSession();
  const { search } = useLocation();
  const revenue = search.get("view") === "revenue";
  const report = useApi<CohortRow[]>(`/api/v1/metrics/cohorts${query({ revenue: revenue ? "true" : undefined })}`);
  /* the cohort report does not say its observation date; the summary's "through" is the same day */
  const summary = useApi<SummaryRow[]>("/api/v1/metrics/summary");
  const dataTo = summary.data?.[0]?.through ?? null;

  const cohorts = useMemo<Cohort[]>(() => {
    const by = new Map<string, Cohort>();
    for (const r of report.data ?? []) {
      if (r.k > MAX_K) continue;
      let c = by.get(r.cohort_month);
      if (!c) {
        c = { month: r.cohort_month, accounts: r.cohort_accounts, initialMrr: r.initial_mrr ?? null, cells: new Map() };
        by.set(r.cohort_month, c);
      }
      if (r.k === 0) c.accounts = r.cohort_accounts;
      c.cells.set(r.k, {
        value: (revenue ? r.revenue_retention : r.share) ?? null,
        retained: r.retained ?? null,
        mrr: r.mrr ?? null,
      });
    }
    return [...by.values()].sort((a, b) => (a.month < b.month ? -1 : 1));
  }, [report.data, revenue]);

  const maxK = cohorts.reduce((m, c) => Math.max(m, ...c.cells.keys()), 0);
  const ks = Array.from({ length: maxK + 1 }, (_, i) => i);
  const values = cohorts.flatMap((c) => [...c.cells.values()].map((v) => v.value)).filter((v): v is number => v !== null);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const step = (v: number) => (hi <= lo ? SHADES.length - 1 : Math.min(SHADES.length - 1, Math.floor(((v - lo) / (hi - lo)) * SHADES.length)));

  const setView = (v: "logo" | "revenue") => navigate(v === "revenue" ? "/cohorts?view=revenue" : "/cohorts");
  const pct = (v: number | null | undefined) => fmt.pct(v, 0);

  return (
    <div class="page">
      <h1>{t("cohorts.title")}</h1>
      <Freshness computed={computedAt(report.data)} dataTo={dataTo} />
      <div class="toolbar">
        <div class="views" role="group" aria-label={t("cohorts.view")}>
          <button type="button" aria-pressed={!revenue} onClick={() => setView("logo")}>
            {t("cohorts.view.logo")}
          </button>
          <button type="button" aria-pressed={revenue} onClick={() => setView("revenue")}>
            {t("cohorts.view.revenue")}
          </button>
        </div>
      </div>
      <Section title={t("cohorts.heatmap")} id="cohorts-heatmap">
        {report.error ? (
          <Failed error={report.error} retry={report.reload} />
        ) : !report.data ? (
          <Loading />
        ) : cohorts.length === 0 ? (
          <p class="state">{t("cohorts.none")}</p>
        ) : (
          <>
            <div
              role="region"
              aria-label={t("cohorts.scroll")}
              tabIndex={0}
              style={{ overflowX: "auto", maxWidth: "100%" }}
            >
              <table class="grid" data-view={revenue ? "revenue" : "logo"} style={{ fontSize: "0.85rem", width: "auto" }}>
                <caption style={{ textAlign: "left", padding: "0 0 0.5rem", color: "var(--muted)" }}>
                  {t(revenue ? "cohorts.caption.revenue" : "cohorts.caption.logo")}
                </caption>
                <thead>
                  <tr>
                    <td colSpan={revenue ? 3 : 2} />
                    <th scope="colgroup" colSpan={ks.length} style={{ textAlign: "center" }}>
                      {t("cohorts.col.months")}
                    </th>
                  </tr>
                  <tr>
                    <th scope="col" style={{ position: "sticky", left: 0, background: "var(--card)" }}>
                      {t("cohorts.col.cohort")}
                    </th>
                    <th scope="col" style={{ whiteSpace: "nowrap" }}>
                      {t("cohorts.col.size")}
                    </th>
                    {revenue && (
                      <th scope="col" style={{ whiteSpace: "nowrap" }}>
                        {t("cohorts.col.initial_mrr")}
                      </th>
                    )}
                    {ks.map((k) => (
                      <th key={k} scope="col" style={{ textAlign: "right" }}>
                        {fmt.num(k)}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {cohorts.map((c) => (
                    <tr key={c.month} data-cohort={c.month}>
                      <th scope="row" style={{ position: "sticky", left: 0, background: "var(--card)", whiteSpace: "nowrap" }}>
                        {fmt.month(c.month)}
                      </th>
                      <td class="num">{fmt.num(c.accounts)}</td>
                      {revenue && <td class="num">{fmt.money(c.initialMrr)}</td>}
                      {ks.map((k) => {
                        const cell = c.cells.get(k);
                        if (!cell || cell.value === null) return <td key={k} />;
                        const s = step(cell.value);
                        const title = revenue
                          ? t("cohorts.cell.revenue", {
                              cohort: fmt.month(c.month),
                              k: fmt.num(k),
                              mrr: fmt.money(cell.mrr),
                              initial: fmt.money(c.initialMrr),
                              share: fmt.pct(cell.value, 1),
                            })
                          : t("cohorts.cell.logo", {
                              cohort: fmt.month(c.month),
                              k: fmt.num(k),
                              retained: fmt.num(cell.retained),
                              accounts: fmt.num(c.accounts),
                              share: fmt.pct(cell.value, 1),
                            });
                        return (
                          <td
                            key={k}
                            class="num"
                            data-k={k}
                            data-value={cell.value}
                            title={title}
                            style={{ background: SHADES[s], color: INK[s], padding: "0.3rem 0.4rem" }}
                          >
                            {pct(cell.value)}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Legend lo={lo} hi={hi} />
          </>
        )}
      </Section>
    </div>
  );
}

function Legend({ lo, hi }: { lo: number; hi: number }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const n = SHADES.length;
  const at = (i: number) => lo + ((hi - lo) * i) / n;
  return (
    <div class="legend" style={{ marginTop: "0.8rem" }}>
      <h3 style={{ fontSize: "0.9rem", margin: "0 0 0.3rem" }}>{t("cohorts.legend")}</h3>
      <ul style={{ display: "flex", flexWrap: "wrap", gap: "0.3rem", listStyle: "none", padding: 0, margin: 0 }}>
        {(hi <= lo ? [n - 1] : SHADES.map((_, i) => i)).map((i) => (
          <li
            key={i}
            style={{ background: SHADES[i], color: INK[i], padding: "0.1rem 0.5rem", borderRadius: "4px", fontSize: "0.8rem", border: "1px solid var(--line)" }}
          >
            {hi <= lo ? fmt.pct(hi, 0) : t("cohorts.legend.step", { from: fmt.pct(at(i), 0), to: fmt.pct(at(i + 1), 0) })}
          </li>
        ))}
      </ul>
    </div>
  );
}
