// words.ts - what the server computed, in the page's language: signal
// sentences from the account's signal values, health factors and churn
// drivers, anomalies, and timeline items from their structured `data`
// (docs/api.md). The sentences are the catalogue's (i18n/words.ts); when the
// server sends something the catalogue does not know (a custom field factor,
// a new kind), its own English text is shown rather than nothing.
import type { Fmt } from "./format";
import { hasKey, translator, type Key, type T } from "./i18n";
import { describe, num as jnum, obj, str as jstr, word } from "./trigger";

export interface SignalValue {
  value: number | null;
  unit: string;
  says?: string;
}
export type Signals = Record<string, SignalValue>;

const english = translator("en");
const SLOT = /\{([a-z0-9_]+)(%?)\}/g;

function value(fmt: Fmt, s: SignalValue, pct: boolean): string {
  const v = s.value as number;
  if (pct) return fmt.pct(v, 0);
  if (s.unit === "money") return fmt.money(v);
  if (s.unit === "hours" || s.unit === "ratio") return fmt.num(v, 1);
  return fmt.num(v, 0);
}

export function signalLabel(t: T, name: string): string {
  const k = `signal.${name}`;
  return hasKey(k) ? t(k) : name;
}

/* The sentence of signal `name` from the account's signals; null when the
 * catalogue has none for it. */
export function signalSays(t: T, fmt: Fmt, name: string, signals: Signals | null | undefined): string | null {
  const k = `says.${name}`;
  if (!signals || !hasKey(k)) return null;
  const template = t(k);
  const slots = [...template.matchAll(SLOT)];
  const at = (n: string | undefined) => (n === undefined ? undefined : signals[n]);
  if (slots.some((m) => at(m[1])?.value === null || at(m[1])?.value === undefined)) {
    const missing = `says.missing.${name}`;
    return t(hasKey(missing) ? missing : "says.missing.other");
  }
  return template.replace(SLOT, (_, n: string, pct: string) => value(fmt, at(n)!, pct === "%"));
}

export interface FactorWords {
  factor: string;
  signal?: string | null;
  says?: string;
}

/* A factor's name: the catalogue's when it still has the built-in name of
 * its signal, else the name its definition gives it. */
export function factorName(t: T, f: FactorWords): string {
  if (f.signal && hasKey(`signal.${f.signal}`) && f.factor === english(`signal.${f.signal}` as Key))
    return signalLabel(t, f.signal);
  return f.factor;
}

export function factorSays(t: T, fmt: Fmt, f: FactorWords, signals: Signals | null | undefined): string | null {
  return (f.signal ? signalSays(t, fmt, f.signal, signals) : null) ?? f.says ?? null;
}

/* A churn driver: a signal in the catalogue's words, another feature as sent. */
export function driverWords(t: T, fmt: Fmt, d: { feature: string; says?: string }, signals: Signals | null | undefined) {
  const known = hasKey(`signal.${d.feature}`);
  return {
    name: known ? signalLabel(t, d.feature) : d.feature,
    says: (known ? signalSays(t, fmt, d.feature, signals) : null) ?? d.says ?? null,
  };
}

export interface AnomalyWords {
  series: string;
  kind: string;
  grain?: string;
  date?: string | null;
  month?: string | null;
  cohort?: string | null;
  until?: string | null;
  observed: number;
  low: number;
  high: number;
  unit?: string;
  message: string;
}

export function anomalyValue(fmt: Fmt, unit: string | undefined, v: number): string {
  if (unit === "ratio") return fmt.pct(v, 2);
  if (unit === "money") return fmt.money(v);
  if (unit === "count") return fmt.num(v, 0);
  return fmt.num(v, 2);
}

/* "Events of Acme (acc_1) on Feb 20, 2025: 83, usual 137 to 315": the
 * series (named by `names`, account id → name, when given), when, the value
 * and the usual range, in the catalogue's words. */
export function anomalyText(t: T, fmt: Fmt, a: AnomalyWords, names?: (accountId: string) => string | null): string {
  const kindKey = `anomaly.kind.${a.kind}`;
  if (!hasKey(kindKey)) return a.message;
  const slash = a.series.indexOf("/");
  const part = slash >= 0 ? a.series.slice(slash + 1) : "";
  let series = t(kindKey);
  if (a.kind === "account") series = `${series} ${names?.(part) ?? part}`;
  else if (part && a.kind !== "cohort_tickets") series = `${series} (${part})`;
  let when: string;
  const monthOf = (m: string) => fmt.month(m.length === 7 ? `${m}-01` : m);
  if (a.grain === "cohort" || a.cohort) when = t("anomaly.cohort", { cohort: monthOf(a.cohort ?? "") });
  else if (a.grain === "month" || a.month) when = monthOf(a.month ?? a.date ?? "");
  else when = fmt.date(a.date ?? "");
  const day = a.date ?? null;
  const multi = a.grain === "day" && a.until && day && a.until !== day;
  const vars = {
    series,
    when,
    observed: anomalyValue(fmt, a.unit, a.observed),
    low: anomalyValue(fmt, a.unit, a.low),
    high: anomalyValue(fmt, a.unit, a.high),
    until: multi ? fmt.date(a.until) : "",
  };
  return t(multi ? "anomaly.says_until" : "anomaly.says", vars);
}

export interface TimelineItem {
  at: string;
  kind: string;
  title: string;
  detail: string | null;
  ref: string;
  data?: Record<string, unknown> | null;
}

type D = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" ? v : null);

function known(t: T, prefix: string, v: string | null): string | null {
  if (!v) return null;
  const k = `${prefix}${v}`;
  return hasKey(k) ? t(k) : v;
}

/* An item's title and detail in the catalogue's words (the server's when
 * its kind is not known here). */
export function timelineWords(t: T, fmt: Fmt, it: TimelineItem, anomalyNames?: (id: string) => string | null) {
  const d: D = it.data ?? {};
  const sent = { title: it.title, detail: it.detail };
  if (!it.data) return sent;
  const plan = (v: unknown) => str(v) ?? t("tl.no_plan");
  switch (it.kind) {
    case "subscription.start":
    case "subscription.end":
      return {
        title: t(it.kind === "subscription.start" ? "tl.subscription.start" : "tl.subscription.end"),
        detail: t("tl.subscription.words", { plan: plan(d.plan), mrr: fmt.money(num(d.mrr)), quantity: fmt.num(num(d.quantity)) }),
      };
    case "subscription.change":
      return {
        title: t("tl.subscription.change"),
        detail: t("tl.subscription.change_words", {
          from_plan: plan(d.from_plan),
          to_plan: plan(d.to_plan),
          from_mrr: fmt.money(num(d.from_mrr)),
          to_mrr: fmt.money(num(d.to_mrr)),
          from_quantity: fmt.num(num(d.from_quantity)),
          to_quantity: fmt.num(num(d.to_quantity)),
        }),
      };
    case "ticket.opened":
    case "ticket.resolved": {
      const parts = [];
      const pri = known(t, "tl.ticket.pri.", str(d.priority));
      const cat = known(t, "tl.ticket.cat.", str(d.category));
      if (pri) parts.push(t("tl.ticket.priority", { priority: pri }));
      if (cat) parts.push(t("tl.ticket.category", { category: cat }));
      return {
        title: t(it.kind === "ticket.opened" ? "tl.ticket.opened" : "tl.ticket.resolved", {
          subject: str(d.subject) ?? t("tl.ticket.no_subject"),
        }),
        detail: parts.length ? parts.join(t("tl.sep")) : null,
      };
    }
    case "nps": {
      const group = str(d.group);
      return {
        title: t("tl.nps", { score: num(d.score) === null ? "—" : fmt.num(num(d.score)), group: t(group ? (`tl.nps.${group}` as Key) : "tl.nps.none") }),
        detail: it.detail,
      };
    }
    case "rule.fired":
      return { title: t(d.dry_run ? "tl.rule.fired_dry" : "tl.rule.fired", { rule: str(d.rule) ?? "?" }), detail: whyWords(t, fmt, d.why) ?? it.detail };
    case "task.created": {
      const parts = [];
      if (str(d.assignee)) parts.push(t("tl.task.assignee", { assignee: str(d.assignee)! }));
      if (str(d.due)) parts.push(t("tl.task.due", { due: fmt.date(str(d.due)) }));
      if (str(d.source)) parts.push(t("tl.task.source", { source: str(d.source)! }));
      return { title: t("tl.task.created", { title: str(d.title) ?? "" }), detail: parts.join(t("tl.sep")) || null };
    }
    case "task.done":
    case "task.cancelled":
      return { title: t(it.kind === "task.done" ? "tl.task.done" : "tl.task.cancelled", { title: str(d.title) ?? "" }), detail: null };
    case "health.band": {
      const band = (b: unknown) => (str(b) && hasKey(`overview.band.${b}`) ? t(`overview.band.${b}` as Key) : (str(b) ?? "—"));
      return {
        title: t("tl.health.band", { from: band(d.from), to: band(d.to) }),
        detail: t("tl.health.words", { score: fmt.num(num(d.score), 1), version: String(num(d.version) ?? 0) }),
      };
    }
    case "anomaly": {
      const a = { ...(d as unknown as AnomalyWords), grain: "day", date: it.at.slice(0, 10), until: null };
      const state = str(d.state);
      return {
        title: t("tl.anomaly", { text: anomalyText(t, fmt, a, anomalyNames) }),
        detail: state && hasKey(`anomalies.state.${state}`) ? t(`anomalies.state.${state}` as Key) : state,
      };
    }
    default:
      if (it.kind.startsWith("activity.")) {
        const kind = str(d.activity) ?? "note";
        const k = `tl.activity.${kind}`;
        return { title: str(d.subject) ?? (hasKey(k) ? t(k) : kind), detail: it.detail };
      }
      return sent;
  }
}

/* A firing's why, {"trigger", "facts"}, in words: what the rule fires on, and
 * what it fired on this time (docs/api.md: a firing's `why`), so that it reads
 * in the page's language, not the server's English `reason` (shown only for a
 * firing without one: recorded before); null when there is no why. */
export function whyWords(t: T, fmt: Fmt, why: unknown): string | null {
  const w = obj(why);
  const trigger = obj(w?.trigger);
  if (!w || !trigger) return null;
  const said = describe(trigger, t, fmt).text;
  const f = obj(w.facts);
  if (!f) return said;
  let facts: string | null = null;
  switch (jstr(trigger, "kind")) {
    case "ticket": {
      const cat = jstr(f, "category"), prio = jstr(f, "priority");
      facts = t("playbooks.why.ticket", {
        ticket: jstr(f, "ticket") ?? "?",
        category: cat ? word("playbooks.cat", cat, t) : t("playbooks.why.none"),
        priority: prio ? word("playbooks.prio", prio, t) : t("playbooks.why.none"),
      });
      break;
    }
    case "nps":
      facts = t("playbooks.why.nps", { score: fmt.num(jnum(f, "score")) });
      break;
    case "threshold": {
      const v = jnum(f, "value");
      const churn = jstr(trigger, "measure") === "churn";
      facts = t("playbooks.why.threshold", { value: churn && v !== null && v <= 1 ? fmt.pct(v) : fmt.num(v, 1) });
      break;
    }
    case "date":
      facts = t("playbooks.why.date", { anchor_date: fmt.date(jstr(f, "anchor_date")), day: fmt.date(jstr(f, "day")) });
      break;
    case "anomaly": {
      const a = obj(f.anomaly);
      facts = a ? anomalyText(t, fmt, a as unknown as AnomalyWords) : null;
      break;
    }
  }
  return facts ? t("playbooks.why", { trigger: said, facts }) : said;
}
