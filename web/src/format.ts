// format.ts - numbers, money, percentages and dates for the reader's language:
// Intl with en-US or ja-JP. Money takes the currency's own digits (JPY none,
// USD two), so ¥471,501 and $471,500.91.
import type { Lang } from "./i18n";

export interface Fmt {
  locale: string;
  money(v: number | null | undefined): string;
  moneyShort(v: number | null | undefined): string;
  num(v: number | null | undefined, digits?: number): string;
  pct(v: number | null | undefined, digits?: number): string;
  date(iso: string | null | undefined): string;
  time(iso: string | null | undefined): string;
  month(iso: string | null | undefined): string;
}

const DASH = "—";

/* "2026-10-31" as a local date, not UTC midnight shifted by the zone. */
function day(iso: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : new Date(iso);
}

export function formatter(lang: Lang, currency: string): Fmt {
  const locale = lang === "ja" ? "ja-JP" : "en-US";
  const money = new Intl.NumberFormat(locale, { style: "currency", currency });
  const short = new Intl.NumberFormat(locale, {
    style: "currency",
    currency,
    notation: "compact",
    maximumFractionDigits: 1,
  });
  const nums = new Map<number, Intl.NumberFormat>();
  const numf = (d: number) => {
    let f = nums.get(d);
    if (!f) nums.set(d, (f = new Intl.NumberFormat(locale, { maximumFractionDigits: d })));
    return f;
  };
  const dates = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short", day: "numeric" });
  const times = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  const months = new Intl.DateTimeFormat(locale, { year: "numeric", month: "short" });
  return {
    locale,
    money: (v) => (v === null || v === undefined || Number.isNaN(v) ? DASH : money.format(v)),
    moneyShort: (v) => (v === null || v === undefined || Number.isNaN(v) ? DASH : short.format(v)),
    num: (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? DASH : numf(d).format(v)),
    pct: (v, d = 1) =>
      v === null || v === undefined || Number.isNaN(v)
        ? DASH
        : new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: d, minimumFractionDigits: d }).format(v),
    date: (iso) => (iso ? dates.format(day(iso)) : DASH),
    time: (iso) => (iso ? times.format(new Date(iso)) : DASH),
    month: (iso) => (iso ? months.format(day(iso)) : DASH),
  };
}
