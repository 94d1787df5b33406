// trigger.ts - a playbook rule's trigger in words: the Playbooks page, and the
// start of a firing's why (words.ts whyWords).
import type { Fmt } from "./format";
import { type Key, type T } from "./i18n";

type Json = Record<string, unknown>;

export const str = (o: Json | undefined, k: string): string | null => (o && typeof o[k] === "string" ? (o[k] as string) : null);
export const num = (o: Json | undefined, k: string): number | null => (o && typeof o[k] === "number" ? (o[k] as number) : null);
export const list = (o: Json | undefined, k: string): unknown[] => (o && Array.isArray(o[k]) ? (o[k] as unknown[]) : []);
export const obj = (v: unknown): Json | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined);

/* "30d" as "30 days" */
export function duration(s: string | null, t: T, fmt: Fmt): string {
  if (!s) return "—";
  const m = /^(\d+)([dhms])$/.exec(s);
  return m ? t(`playbooks.dur.${m[2] as "d" | "h" | "m" | "s"}`, { n: fmt.num(Number(m[1])) }) : s;
}

/* a known word of the server (a priority, a category) in the reader's language */
const PRIOS = ["low", "normal", "high", "urgent"];
const CATS = ["functional", "operational"];
export function word(prefix: "playbooks.prio" | "playbooks.cat", v: unknown, t: T): string {
  const known = prefix === "playbooks.prio" ? PRIOS : CATS;
  return known.includes(String(v)) ? t(`${prefix}.${String(v)}` as Key) : String(v);
}

/* a where condition of an event as the rule says it: properties.plan = "pro" */
export function where(w: unknown): string {
  const o = obj(w);
  if (!o) return String(w);
  const op = str(o, "op") ?? "=";
  return op === "exists" ? `${str(o, "field")} exists` : `${str(o, "field")} ${op} ${JSON.stringify(o.value)}`;
}

/* what a rule's trigger fires on, in words: a main line and the details */
export function describe(trigger: Json | undefined, t: T, fmt: Fmt): { text: string; where: string[] } {
  const sep = t("playbooks.list_sep");
  const kind = str(trigger, "kind");
  const wheres = list(trigger, "where").map(where);
  switch (kind) {
    case "event":
      return { text: t("playbooks.trig.event", { event: str(trigger, "event") ?? "?" }), where: wheres };
    case "sequence": {
      const steps = list(trigger, "steps").map((s) => {
        const o = obj(s);
        const ev = str(o, "event") ?? "?";
        const n = num(o, "count");
        return n && n > 1 ? t("playbooks.trig.times", { event: ev, n: fmt.num(n) }) : ev;
      });
      const ordered = trigger?.ordered === true;
      const stepWheres = list(trigger, "steps").flatMap((s) => list(obj(s), "where").map((w) => `${str(obj(s), "event")}: ${where(w)}`));
      return {
        text: t(ordered ? "playbooks.trig.sequence_ordered" : "playbooks.trig.sequence", {
          steps: steps.join(ordered ? " → " : " + "),
          within: duration(str(trigger, "within"), t, fmt),
        }),
        where: stepWheres,
      };
    }
    case "threshold": {
      const m = str(trigger, "measure") ?? "?";
      const measure = m === "health" || m === "churn" ? t(`playbooks.measure.${m}`) : m;
      const v = num(trigger, "value");
      return {
        text: t("playbooks.trig.threshold", {
          measure,
          op: str(trigger, "op") ?? "?",
          value: m === "churn" && v !== null && v <= 1 ? fmt.pct(v) : fmt.num(v, 2),
        }),
        where: [],
      };
    }
    case "date": {
      const a = str(trigger, "anchor") ?? "renewal";
      const anchor =
        a === "field"
          ? t("playbooks.anchor.field", { field: str(trigger, "field") ?? "?" })
          : a === "renewal" || a === "signup"
            ? t(`playbooks.anchor.${a}`)
            : a;
      const off = num(trigger, "offset_days") ?? 0;
      let text =
        off === 0
          ? t("playbooks.trig.date_on", { anchor })
          : t(off < 0 ? "playbooks.trig.date_before" : "playbooks.trig.date_after", { anchor, days: fmt.num(Math.abs(off)) });
      const unless = str(trigger, "unless_event");
      if (unless) text += `${sep}${t("playbooks.trig.unless", { event: unless })}`;
      return { text, where: [] };
    }
    case "anomaly": {
      const d = str(trigger, "direction") ?? "any";
      const direction = d === "up" || d === "down" || d === "any" ? t(`playbooks.dir.${d}`) : d;
      const series = str(trigger, "series");
      return {
        text: series ? t("playbooks.trig.anomaly", { series, direction }) : t("playbooks.trig.anomaly_any", { direction }),
        where: [],
      };
    }
    case "ticket": {
      const parts = [t("playbooks.trig.ticket")];
      const cats = list(trigger, "categories");
      const prios = list(trigger, "priorities");
      if (cats.length) parts.push(t("playbooks.trig.categories", { list: cats.map((c) => word("playbooks.cat", c, t)).join(sep) }));
      if (prios.length) parts.push(t("playbooks.trig.priorities", { list: prios.map((p) => word("playbooks.prio", p, t)).join(sep) }));
      return { text: parts.join(" · "), where: [] };
    }
    case "nps":
      return {
        text: t("playbooks.trig.nps", { min: fmt.num(num(trigger, "min_score") ?? 0), max: fmt.num(num(trigger, "max_score") ?? 6) }),
        where: [],
      };
    default:
      return { text: kind ?? "—", where: wheres };
  }
}
