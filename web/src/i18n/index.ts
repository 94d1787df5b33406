// index.ts - message catalogues: every visible string comes from here, in
// English and Japanese. Each area keeps its strings in a module of its own
// (common.ts, overview.ts, ...) whose Japanese table must have every key of
// the English one (the compiler checks it), so neither language can miss a
// string.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import * as common from "./common";
import * as overview from "./overview";
import * as accounts from "./accounts";
import * as tasks from "./tasks";
import * as playbooks from "./playbooks";
import * as cohorts from "./cohorts";
import * as settings from "./settings";
import * as anomalies from "./anomalies";
import * as renewals from "./renewals";
import * as funnels from "./funnels";
import * as words from "./words";

export type Lang = "en" | "ja";
export const LANGS: readonly Lang[] = ["en", "ja"];

const en = {
  ...common.en,
  ...overview.en,
  ...accounts.en,
  ...tasks.en,
  ...playbooks.en,
  ...cohorts.en,
  ...settings.en,
  ...anomalies.en,
  ...renewals.en,
  ...funnels.en,
  ...words.en,
};
export type Key = keyof typeof en;
const ja: Record<Key, string> = {
  ...common.ja,
  ...overview.ja,
  ...accounts.ja,
  ...tasks.ja,
  ...playbooks.ja,
  ...cohorts.ja,
  ...settings.ja,
  ...anomalies.ja,
  ...renewals.ja,
  ...funnels.ja,
  ...words.ja,
};
const catalogs: Record<Lang, Record<Key, string>> = { en, ja };

export type T = (key: Key, vars?: Record<string, string | number>) => string;

/* Whether key is in the catalogues (for keys made from what the server sends). */
export function hasKey(key: string): key is Key {
  return Object.prototype.hasOwnProperty.call(en, key);
}

export function translator(lang: Lang): T {
  const c = catalogs[lang];
  return (key, vars) => {
    let s = c[key];
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  };
}

export function initialLang(): Lang {
  const saved = localStorage.getItem("kizuna.lang");
  if (saved === "en" || saved === "ja") return saved;
  return navigator.language.toLowerCase().startsWith("ja") ? "ja" : "en";
}

export interface I18n {
  lang: Lang;
  t: T;
  setLang: (l: Lang) => void;
}

export const I18nContext = createContext<I18n>({ lang: "en", t: translator("en"), setLang: () => {} });

export function useI18n(): I18n {
  return useContext(I18nContext);
}
