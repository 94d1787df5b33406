// funnels.tsx - conversion through ordered events (GET /api/v1/metrics/funnel,
// docs/metrics.md): the steps, the window after entering, accounts or users,
// the days of entry; the answer as a table and bars. The form lives in the URL,
// so that a funnel can be shared as a link.
import { useState } from "preact/hooks";
import { computedAt, query } from "../api";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { useI18n } from "../i18n";
import { navigate, useLocation } from "../router";
import { useSession } from "../session";

interface Row {
  step: number;
  event: string;
  subjects: number;
  conversion: number | null;
  step_conversion: number | null;
  median_hours: number | null;
}

const WINDOWS = ["1d", "7d", "14d", "30d", "90d"];

export function Funnels() {
  const { t } = useI18n();
  const { fmt } = useSession();
  const { search } = useLocation();
  const given = (search.get("steps") ?? "").split(",").filter(Boolean);
  const [steps, setSteps] = useState<string[]>(given.length ? given : ["", ""]);
  const [within, setWithin] = useState(search.get("within") ?? "14d");
  const [per, setPer] = useState(search.get("per") ?? "account");
  const [from, setFrom] = useState(search.get("from") ?? "");
  const [to, setTo] = useState(search.get("to") ?? "");
  const [warn, setWarn] = useState(false);
  const asked = given.length >= 2;
  const result = useApi<Row[]>(
    asked
      ? `/api/v1/metrics/funnel${query({ steps: given.join(","), within: search.get("within"), per: search.get("per"), from: search.get("from"), to: search.get("to") })}`
      : null,
  );
  const run = (e: Event) => {
    e.preventDefault();
    const s = steps.map((x) => x.trim()).filter(Boolean);
    setWarn(s.length < 2);
    if (s.length < 2) return;
    navigate(`/funnels${query({ steps: s.join(","), within, per, from, to })}`);
  };
  /* the funnel does not say its data's last day; the summary's "through" is the same day */
  const summary = useApi<{ through: string | null }[]>(asked ? "/api/v1/metrics/summary" : null);
  const rows = result.data ?? [];
  const top = rows[0]?.subjects || 1;
  return (
    <div class="page">
      <h1>{t("funnels.title")}</h1>
      <p class="sub">{t("funnels.intro")}</p>
      <form class="card toolbar" onSubmit={run}>
        {steps.map((s, i) => (
          <label key={i}>
            {t("funnels.step", { n: i + 1 })}
            <span>
              <input value={s} onInput={(e) => setSteps(steps.map((x, k) => (k === i ? e.currentTarget.value : x)))} />
              {steps.length > 2 && (
                <button type="button" aria-label={t("funnels.remove_step", { n: i + 1 })} onClick={() => setSteps(steps.filter((_, k) => k !== i))}>
                  ×
                </button>
              )}
            </span>
          </label>
        ))}
        {steps.length < 10 && (
          <button type="button" onClick={() => setSteps([...steps, ""])}>
            {t("funnels.add_step")}
          </button>
        )}
        <label>
          {t("funnels.within")}
          <select value={within} onChange={(e) => setWithin((e.currentTarget as HTMLSelectElement).value)}>
            {WINDOWS.map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("funnels.per")}
          <select value={per} onChange={(e) => setPer((e.currentTarget as HTMLSelectElement).value)}>
            <option value="account">{t("funnels.per.account")}</option>
            <option value="user">{t("funnels.per.user")}</option>
          </select>
        </label>
        <label>
          {t("funnels.from")}
          <input type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          {t("funnels.to")}
          <input type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
        <button type="submit">{t("funnels.run")}</button>
        {warn && <p role="alert" class="error">{t("funnels.need_two")}</p>}
      </form>
      {asked &&
        (result.error ? (
          <Failed error={result.error} retry={result.reload} />
        ) : !result.data ? (
          <Loading />
        ) : (
          <Section title={t("funnels.result")} id="funnel">
            <Freshness computed={computedAt(result.data)} dataTo={summary.data?.[0]?.through ?? null} />
            <ul class="bands" aria-label={t("funnels.chart")}>
              {rows.map((r) => (
                <li key={r.step} data-step={r.step} data-value={r.subjects}>
                  <span class="name">{r.event}</span>
                  <span class="bar" style={{ width: `${(100 * r.subjects) / top}%`, background: "#2563eb" }} />
                  <span class="n">{fmt.num(r.subjects)}</span>
                </li>
              ))}
            </ul>
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">{t("funnels.col.step")}</th>
                  <th scope="col">{t("funnels.col.event")}</th>
                  <th scope="col">{t("funnels.col.subjects")}</th>
                  <th scope="col">{t("funnels.col.conversion")}</th>
                  <th scope="col">{t("funnels.col.step_conversion")}</th>
                  <th scope="col">{t("funnels.col.median")}</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.step}>
                    <td>{r.step}</td>
                    <td>{r.event}</td>
                    <td class="num">{fmt.num(r.subjects)}</td>
                    <td class="num">{fmt.pct(r.conversion)}</td>
                    <td class="num">{fmt.pct(r.step_conversion)}</td>
                    <td class="num">{r.median_hours === null ? "—" : t("funnels.hours", { n: fmt.num(r.median_hours, 1) })}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </Section>
        ))}
    </div>
  );
}
