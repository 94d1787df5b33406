// playbooks.tsx - the playbook rules (GET /api/v1/rules): what each fires on,
// in words, and its mode, which admins switch (PATCH /api/v1/rules/{name});
// one rule's backtest (GET .../backtest, which changes nothing, so anyone may
// run it) and recent firings (GET /api/v1/firings?rule); the outbox of e-mails
// and webhooks (GET /api/v1/deliveries); and the playbook documents
// (GET /api/v1/playbooks[/{name}]). The URL's ?rule=NAME and ?doc=NAME open a
// rule and a document, ?state= filters the deliveries, so links land on them.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, ApiError, query } from "../api";
import { Failed, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { useI18n, type Key } from "../i18n";
import { navigate, onLink, useLocation } from "../router";
import { useSession } from "../session";
import { describe, duration, list, obj, str } from "../trigger";
import { whyWords } from "../words";

type Mode = "on" | "dry-run" | "off";
const MODES: Mode[] = ["on", "dry-run", "off"];
type Json = Record<string, unknown>;

interface Rule {
  name: string;
  title: string | null;
  description: string | null;
  playbook: string | null;
  mode: Mode;
  trigger: string | null;
  per: "account" | "user" | null;
  summary: string | null;
  enabled_at: string | null;
  source: string;
  created_at: string;
  updated_at: string;
  error?: string;
  definition?: Json;
}

interface Backtest {
  rule: string;
  summary: string;
  per: "account" | "user";
  from: string;
  to: string;
  events: number;
  fired: number;
  subjects: number;
  firings: { at: string; account_id: string | null; user_id: string | null; window: string; reason: string; why: unknown }[];
  truncated: boolean;
}

interface Firing {
  id: number;
  rule: string;
  at: string;
  fired_at: string;
  account_id: string | null;
  subject_kind: "account" | "user" | "business";
  subject: string;
  window: string;
  reason: string | null;
  why: unknown;
  dry_run: boolean;
}

interface Delivery {
  id: number;
  firing_id: number;
  rule: string;
  action: number;
  kind: "email" | "webhook";
  state: "pending" | "done" | "failed";
  attempts: number;
  next_at: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  payload: { to?: string; subject?: string; url?: string; body?: string } | null;
}

interface Doc {
  name: string;
  title: string;
  markdown: string;
  html: string;
}

const BACKTEST_LIMIT = 25;
const FIRINGS_LIMIT = 20;
const DELIVERIES_PAGE = 20;
const STATES = ["pending", "done", "failed"] as const;

/* /playbooks with the current query changed (an empty value removes the key) */
function here(change: Record<string, string>): string {
  const next = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(change)) {
    if (v === "") next.delete(k);
    else next.set(k, v);
  }
  const s = next.toString();
  return `/playbooks${s ? `?${s}` : ""}`;
}

function Trigger({ rule }: { rule: Rule }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const trigger = obj(rule.definition?.trigger);
  const d = describe(trigger, t, fmt);
  const kinds = ["event", "sequence", "threshold", "date", "anomaly", "ticket", "nps"];
  const kind = rule.trigger && kinds.includes(rule.trigger) ? t(`playbooks.kind.${rule.trigger}` as Key) : (rule.trigger ?? "—");
  /* the API's summary (English): shown only for a trigger this page cannot put in words itself */
  const summary = rule.summary && rule.summary !== rule.trigger && !(rule.trigger && kinds.includes(rule.trigger)) ? rule.summary : null;
  return (
    <>
      <strong>{kind}</strong>
      {trigger && <span class="sub"> {d.text}</span>}
      {d.where.length > 0 && (
        <span class="sub">
          {" "}
          {t("playbooks.trig.where", { list: "" })}
          {d.where.map((w, i) => (
            <span key={i}>
              {i > 0 ? t("playbooks.list_sep") : null}
              <code>{w}</code>
            </span>
          ))}
        </span>
      )}
      {rule.per === "user" && <span class="sub"> {t("playbooks.per_user")}</span>}
      {summary && <span class="sub"> {t("playbooks.trig.api", { summary })}</span>}
    </>
  );
}

function AccountLink({ id }: { id: string | null }) {
  if (!id) return <>—</>;
  return (
    <a href={`/accounts/${encodeURIComponent(id)}`} onClick={onLink}>
      {id}
    </a>
  );
}

function DocLink({ name }: { name: string | null }) {
  if (!name) return <>—</>;
  return (
    <a href={here({ doc: name })} onClick={onLink}>
      {name}
    </a>
  );
}

/* scroll to a section and put the keyboard on its heading, once per change of key */
function useReveal(key: string | null, ready: boolean) {
  const ref = useRef<HTMLHeadingElement>(null);
  const shown = useRef<string | null>(null);
  useEffect(() => {
    if (!key || !ready || shown.current === key) return;
    shown.current = key;
    const h = ref.current;
    if (h) {
      h.scrollIntoView({ block: "start" });
      h.focus({ preventScroll: true });
    }
  }, [key, ready]);
  useEffect(() => {
    if (!key) shown.current = null;
  }, [key]);
  return ref;
}

export function Playbooks() {
  const { t } = useI18n();
  const { search } = useLocation();
  const ruleName = search.get("rule") ?? "";
  const docName = search.get("doc") ?? "";
  const rules = useApi<{ rules: Rule[] }>("/api/v1/rules");
  const selected = rules.data?.rules.find((r) => r.name === ruleName) ?? null;
  return (
    <div class="page">
      <h1>{t("playbooks.title")}</h1>
      <p class="freshness">{t("playbooks.intro")}</p>
      <RuleList rules={rules.data?.rules ?? null} error={rules.error} reload={rules.reload} current={ruleName} />
      {ruleName && rules.data && (selected ? <RuleDetail key={ruleName} rule={selected} /> : <NoRule name={ruleName} />)}
      <Documents current={docName} rules={rules.data?.rules ?? null} />
      <Deliveries state={search.get("state") ?? ""} />
    </div>
  );
}

function RuleList({ rules, error, reload, current }: { rules: Rule[] | null; error: ApiError | null; reload: () => void; current: string }) {
  const { t } = useI18n();
  const { fmt, isAdmin } = useSession();
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const setMode = async (r: Rule, mode: Mode) => {
    if (r.mode === mode) return;
    setBusy(r.name);
    try {
      await api<Rule>(`/api/v1/rules/${encodeURIComponent(r.name)}`, "PATCH", { mode });
      setMsg({ ok: true, text: t("playbooks.mode_changed", { name: r.name, mode: t(`playbooks.mode.${mode}`) }) });
      reload();
    } catch (e) {
      setMsg({ ok: false, text: t("playbooks.mode_failed", { name: r.name, message: e instanceof ApiError ? e.message : String(e) }) });
    } finally {
      setBusy(null);
    }
  };
  return (
    <Section title={t("playbooks.rules")} id="rules">
      {isAdmin && <p class="sub">{t("playbooks.mode_hint")}</p>}
      {msg && (
        <p role={msg.ok ? "status" : "alert"} class={msg.ok ? "ok" : "error"}>
          {msg.text}
        </p>
      )}
      {error ? (
        <Failed error={error} retry={reload} />
      ) : !rules ? (
        <Loading />
      ) : rules.length === 0 ? (
        <p class="state">{t("playbooks.no_rules")}</p>
      ) : (
        <table class="grid" data-rules>
          <thead>
            <tr>
              <th scope="col">{t("playbooks.col.id")}</th>
              <th scope="col">{t("playbooks.col.title")}</th>
              <th scope="col">{t("playbooks.col.trigger")}</th>
              <th scope="col">{t("playbooks.col.mode")}</th>
              <th scope="col">{t("playbooks.col.playbook")}</th>
              <th scope="col">{t("playbooks.col.since")}</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.name} data-rule={r.name} data-mode={r.mode}>
                <td data-col="id">
                  <a
                    href={here({ rule: r.name })}
                    onClick={onLink}
                    aria-current={current === r.name ? "true" : undefined}
                    aria-label={t("playbooks.open_rule", { name: r.name })}
                  >
                    {r.name}
                  </a>
                </td>
                <td data-col="title">
                  {r.title ?? r.name}
                  {r.description ? <span class="sub">{r.description}</span> : null}
                  {r.error ? <span class="sub error">{t("playbooks.rule_error", { error: r.error })}</span> : null}
                </td>
                <td data-col="trigger">
                  <Trigger rule={r} />
                </td>
                <td data-col="mode">
                  {isAdmin ? (
                    <div class="views" role="group" aria-label={t("playbooks.mode_of", { name: r.name })} style={{ whiteSpace: "nowrap" }}>
                      {MODES.map((m) => (
                        <button
                          type="button"
                          key={m}
                          data-edit
                          aria-pressed={r.mode === m}
                          disabled={busy === r.name}
                          onClick={() => setMode(r, m)}
                        >
                          {t(`playbooks.mode.${m}`)}
                        </button>
                      ))}
                    </div>
                  ) : (
                    t(`playbooks.mode.${r.mode}`)
                  )}
                </td>
                <td data-col="playbook">
                  <DocLink name={r.playbook} />
                </td>
                <td data-col="since">{r.enabled_at ? fmt.time(r.enabled_at) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function NoRule({ name }: { name: string }) {
  const { t } = useI18n();
  return (
    <section class="card" aria-labelledby="rule-detail">
      <h2 id="rule-detail">{t("playbooks.no_rule", { name })}</h2>
      <a href={here({ rule: "" })} onClick={onLink}>
        {t("playbooks.close_rule")}
      </a>
    </section>
  );
}

function RuleDetail({ rule }: { rule: Rule }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const heading = useReveal(rule.name, true);
  const def = rule.definition;
  const cond = obj(def?.conditions);
  const sep = t("playbooks.list_sep");
  const conditions = [
    ...list(cond, "filters").map(String),
    ...(list(cond, "bands").length ? [t("playbooks.r.bands", { list: list(cond, "bands").map(String).join(sep) })] : []),
    ...(list(cond, "segments").length ? [t("playbooks.r.segments", { list: list(cond, "segments").map(String).join(sep) })] : []),
  ];
  const actions = list(def, "actions").map((a) => {
    const k = str(obj(a), "kind") ?? "?";
    return ["task", "email", "webhook", "note", "set_field"].includes(k) ? t(`playbooks.action.${k}` as Key) : k;
  });
  return (
    <section class="card" aria-labelledby="rule-detail" data-rule-detail={rule.name}>
      <h2 id="rule-detail" ref={heading} tabIndex={-1}>
        {t("playbooks.rule", { title: rule.title ?? rule.name })}
      </h2>
      {rule.description && <p>{rule.description}</p>}
      <ul class="plain" data-facts>
        <li>
          <strong>{t("playbooks.col.trigger")}</strong>: <Trigger rule={rule} />
        </li>
        <li>
          <strong>{t("playbooks.r.conditions")}</strong>: {conditions.length ? conditions.join(sep) : t("playbooks.r.no_conditions")}
        </li>
        <li>
          <strong>{t("playbooks.r.actions")}</strong>: {actions.join(sep) || "—"}
        </li>
        <li>
          <strong>{t("playbooks.r.cooldown")}</strong>:{" "}
          {str(def, "cooldown") ? duration(str(def, "cooldown"), t, fmt) : t("playbooks.r.cooldown_default")}
        </li>
        <li>
          <strong>{t("playbooks.col.mode")}</strong>: {t(`playbooks.mode.${rule.mode}`)}
          {" · "}
          <strong>{t("playbooks.r.since")}</strong>: {rule.enabled_at ? fmt.time(rule.enabled_at) : t("playbooks.r.not_acting")}
        </li>
        <li>
          <strong>{t("playbooks.col.playbook")}</strong>: <DocLink name={rule.playbook} />
        </li>
        <li>
          <strong>{t("playbooks.r.source")}</strong>: {rule.source}
          {" · "}
          <strong>{t("playbooks.r.updated")}</strong>: {fmt.time(rule.updated_at)}
        </li>
      </ul>
      <p>
        <a href={here({ rule: "" })} onClick={onLink}>
          {t("playbooks.close_rule")}
        </a>
      </p>
      <RuleBacktest name={rule.name} />
      <RuleFirings name={rule.name} />
    </section>
  );
}

function RuleBacktest({ name }: { name: string }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const [days, setDays] = useState("90");
  const [state, setState] = useState<{ running: boolean; result: Backtest | null; error: ApiError | null }>({
    running: false,
    result: null,
    error: null,
  });
  const run = async (e: Event) => {
    e.preventDefault();
    setState({ running: true, result: null, error: null });
    try {
      const result = await api<Backtest>(`/api/v1/rules/${encodeURIComponent(name)}/backtest${query({ days, limit: BACKTEST_LIMIT })}`);
      setState({ running: false, result, error: null });
    } catch (err) {
      setState({ running: false, result: null, error: err instanceof ApiError ? err : new ApiError(0, String(err), null) });
    }
  };
  const r = state.result;
  return (
    <div data-backtest>
      <h3>{t("playbooks.backtest")}</h3>
      <p class="sub">{t("playbooks.bt.hint")}</p>
      {/* a backtest changes nothing: any viewer may run it, so no data-edit */}
      <form class="toolbar" onSubmit={run}>
        <label>
          {t("playbooks.bt.days")}
          <input
            name="days"
            type="number"
            min={1}
            max={36600}
            required
            value={days}
            onInput={(e) => setDays(e.currentTarget.value)}
            aria-invalid={state.error?.field === "days" ? true : undefined}
          />
        </label>
        <button type="submit" disabled={state.running}>
          {t("playbooks.bt.run")}
        </button>
      </form>
      <div aria-live="polite">
        {state.running && <p class="state">{t("playbooks.bt.running")}</p>}
        {state.error && (
          <p class="error" role="alert">
            {t("playbooks.bt.failed", { message: state.error.message })}
          </p>
        )}
        {r && (
          <>
            <p data-fired={r.fired}>
              <strong>
                {t("playbooks.bt.result", {
                  fired: fmt.num(r.fired),
                  subjects: fmt.num(r.subjects),
                  who: t(r.per === "user" ? "playbooks.bt.users" : "playbooks.bt.accounts"),
                  from: fmt.time(r.from),
                  to: fmt.time(r.to),
                })}
              </strong>
              {r.events > 0 && <span class="sub"> {t("playbooks.bt.events", { n: fmt.num(r.events) })}</span>}
            </p>
            {r.firings.length === 0 ? (
              <p class="state">{t("playbooks.bt.none")}</p>
            ) : (
              <>
                {r.truncated && <p class="sub">{t("playbooks.bt.first", { n: fmt.num(r.firings.length), fired: fmt.num(r.fired) })}</p>}
                <table class="grid">
                  <thead>
                    <tr>
                      <th scope="col">{t("playbooks.col.at")}</th>
                      <th scope="col">{t("playbooks.col.account")}</th>
                      <th scope="col">{t("playbooks.col.user")}</th>
                      <th scope="col">{t("playbooks.col.window")}</th>
                      <th scope="col">{t("playbooks.col.reason")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {r.firings.map((f, i) => (
                      <tr key={i}>
                        <td>
                          <time dateTime={f.at}>{fmt.time(f.at)}</time>
                        </td>
                        <td>
                          <AccountLink id={f.account_id} />
                        </td>
                        <td>{f.user_id ?? "—"}</td>
                        <td>{f.window}</td>
                        <td>{whyWords(t, fmt, f.why) ?? f.reason}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </>
        )}
      </div>
    </div>
  );
}

function RuleFirings({ name }: { name: string }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const [before, setBefore] = useState<number | null>(null);
  const page = useApi<{ firings: Firing[]; next_before: number | null }>(
    `/api/v1/firings${query({ rule: name, limit: FIRINGS_LIMIT, before })}`,
  );
  const data = page.data;
  return (
    <div data-firings>
      <h3>{t("playbooks.firings")}</h3>
      {page.error ? (
        <Failed error={page.error} retry={page.reload} />
      ) : !data ? (
        <Loading />
      ) : data.firings.length === 0 && before === null ? (
        <p class="state">{t("playbooks.no_firings")}</p>
      ) : (
        <>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">{t("playbooks.col.at")}</th>
                <th scope="col">{t("playbooks.col.account")}</th>
                <th scope="col">{t("playbooks.col.user")}</th>
                <th scope="col">{t("playbooks.col.window")}</th>
                <th scope="col">{t("playbooks.col.reason")}</th>
                <th scope="col">{t("playbooks.col.effect")}</th>
              </tr>
            </thead>
            <tbody>
              {data.firings.map((f) => (
                <tr key={f.id} data-firing={f.id}>
                  <td>
                    <time dateTime={f.at}>{fmt.time(f.at)}</time>
                    {fmt.time(f.fired_at) !== fmt.time(f.at) && <span class="sub">{t("playbooks.fired_at", { at: fmt.time(f.fired_at) })}</span>}
                  </td>
                  <td>{f.subject_kind === "business" ? t("playbooks.business") : <AccountLink id={f.account_id} />}</td>
                  <td>{f.subject_kind === "user" ? f.subject : "—"}</td>
                  <td>{f.window}</td>
                  <td>{whyWords(t, fmt, f.why) ?? f.reason ?? "—"}</td>
                  <td>{f.dry_run ? t("playbooks.dry_run") : t("playbooks.acted")}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="pager">
            {before !== null && (
              <button type="button" onClick={() => setBefore(null)}>
                {t("playbooks.newest")}
              </button>
            )}
            {data.next_before !== null && (
              <button type="button" onClick={() => setBefore(data.next_before)}>
                {t("playbooks.older")}
              </button>
            )}
          </div>
        </>
      )}
    </div>
  );
}

function Deliveries({ state }: { state: string }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const st = STATES.find((s) => s === state) ?? "";
  /* the API pages deliveries only by ?limit (newest first): "show more" asks for more of them */
  const [limit, setLimit] = useState(DELIVERIES_PAGE);
  const page = useApi<{ deliveries: Delivery[] }>(`/api/v1/deliveries${query({ state: st, limit })}`);
  const data = page.data;
  return (
    <Section title={t("playbooks.deliveries")} id="deliveries">
      <div class="toolbar">
        <label>
          {t("playbooks.d.state")}
          <select value={st} onChange={(e) => navigate(here({ state: (e.currentTarget as HTMLSelectElement).value }))}>
            <option value="">{t("playbooks.d.any")}</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {t(`playbooks.d.${s}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {page.error ? (
        <Failed error={page.error} retry={page.reload} />
      ) : !data ? (
        <Loading />
      ) : data.deliveries.length === 0 ? (
        <p class="state">{t("playbooks.d.none")}</p>
      ) : (
        <>
          {data.deliveries.length >= limit && <p class="sub">{t("playbooks.d.shown", { n: fmt.num(data.deliveries.length) })}</p>}
          <table class="grid" data-deliveries>
            <thead>
              <tr>
                <th scope="col">{t("playbooks.d.created")}</th>
                <th scope="col">{t("playbooks.col.rule")}</th>
                <th scope="col">{t("playbooks.d.kind")}</th>
                <th scope="col">{t("playbooks.d.to")}</th>
                <th scope="col">{t("playbooks.d.state")}</th>
                <th scope="col">{t("playbooks.d.attempts")}</th>
                <th scope="col">{t("playbooks.d.error")}</th>
              </tr>
            </thead>
            <tbody>
              {data.deliveries.map((d) => (
                <tr key={d.id} data-delivery={d.id} data-state={d.state}>
                  <td>
                    <time dateTime={d.created_at}>{fmt.time(d.created_at)}</time>
                  </td>
                  <td>
                    <a href={here({ rule: d.rule })} onClick={onLink}>
                      {d.rule}
                    </a>
                  </td>
                  <td>{t(d.kind === "email" ? "playbooks.action.email" : "playbooks.action.webhook")}</td>
                  <td>
                    {d.payload?.to ?? d.payload?.url ?? "—"}
                    {d.payload?.subject ? <span class="sub">{d.payload.subject}</span> : null}
                  </td>
                  <td>
                    {t(`playbooks.d.${d.state}`)}
                    {d.state === "pending" && d.next_at ? <span class="sub">{t("playbooks.d.next", { at: fmt.time(d.next_at) })}</span> : null}
                  </td>
                  <td class="num">{fmt.num(d.attempts)}</td>
                  <td>{d.last_error ? <span class="error">{d.last_error}</span> : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.deliveries.length >= limit && limit < 1000 && (
            <div class="pager">
              <button type="button" onClick={() => setLimit(Math.min(1000, limit + DELIVERIES_PAGE * 5))}>
                {t("playbooks.d.more")}
              </button>
            </div>
          )}
        </>
      )}
    </Section>
  );
}

/* The document's HTML under the section's h2: its headings two levels down
   (its # title becomes an h3), its tables' header cells scoped to their
   columns, and the disabled checkboxes of its task lists as marks, which are
   not form controls without labels. */
function fitDoc(html: string): string {
  return html
    .replace(/<(\/?)h([1-6])(?=[\s>])/g, (_m, slash: string, n: string) => `<${slash}h${Math.min(6, Number(n) + 2)}`)
    .replace(/<th(?=[\s>])/g, '<th scope="col"')
    .replace(/<input type="checkbox"[^>]*>/g, (m) => `<span aria-hidden="true">${/\bchecked\b/.test(m) ? "☑" : "☐"} </span>`);
}

function Documents({ current, rules }: { current: string; rules: Rule[] | null }) {
  const { t } = useI18n();
  const docs = useApi<{ playbooks: { name: string; title: string }[] }>("/api/v1/playbooks");
  const doc = useApi<Doc>(current ? `/api/v1/playbooks/${encodeURIComponent(current)}` : null);
  const html = useMemo(() => (doc.data ? fitDoc(doc.data.html) : ""), [doc.data]);
  /* what is above this section (the rules) is there before it is scrolled to */
  const heading = useReveal(current || null, !!(doc.data || doc.error) && rules !== null);
  const users = (rules ?? []).filter(
    (r) => r.playbook === current || list(r.definition, "actions").some((a) => str(obj(a), "playbook") === current),
  );
  return (
    <section class="card" aria-labelledby="docs">
      <h2 id="docs" ref={heading} tabIndex={-1}>
        {t("playbooks.docs")}
      </h2>
      {docs.error ? (
        <Failed error={docs.error} retry={docs.reload} />
      ) : !docs.data ? (
        <Loading />
      ) : docs.data.playbooks.length === 0 ? (
        <p class="state">{t("playbooks.no_docs")}</p>
      ) : (
        <>
          <nav aria-label={t("playbooks.doc_list")}>
            <ul class="plain">
              {docs.data.playbooks.map((p) => (
                <li key={p.name}>
                  <a href={here({ doc: p.name })} onClick={onLink} aria-current={p.name === current ? "page" : undefined}>
                    {p.title}
                  </a>
                  <span class="sub"> · {p.name}</span>
                </li>
              ))}
            </ul>
          </nav>
          <div class="doc">
            {!current ? (
              <p class="state">{t("playbooks.pick_doc")}</p>
            ) : doc.error ? (
              doc.error.status === 404 ? (
                <p class="state">{t("playbooks.no_doc", { name: current })}</p>
              ) : (
                <Failed error={doc.error} retry={doc.reload} />
              )
            ) : !doc.data ? (
              <Loading />
            ) : (
              <article data-doc={doc.data.name}>
                {users.length > 0 && (
                  <p class="sub">
                    {t("playbooks.doc_rules", { list: "" })}
                    {users.map((r, i) => (
                      <span key={r.name}>
                        {i > 0 ? t("playbooks.list_sep") : null}
                        <a href={here({ rule: r.name })} onClick={onLink}>
                          {r.name}
                        </a>
                      </span>
                    ))}
                  </p>
                )}
                {/* The server renders the Markdown with md4c, raw HTML in the
                    document escaped and links other than http, https and mailto
                    made "#" (docs/api.md): the HTML is sanitised there, which is
                    the only reason it may be put in the page as it is. */}
                <div dangerouslySetInnerHTML={{ __html: html }} />
                <p>
                  <a href={here({ doc: "" })} onClick={onLink}>
                    {t("playbooks.close_doc")}
                  </a>
                </p>
              </article>
            )}
          </div>
        </>
      )}
    </section>
  );
}
