// app.tsx - the shell: who is logged in (GET /api/v1/session), the login page when
// nobody is, the language, the navigation, and the page of the URL.
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, setCsrf, type Me, type SessionAnswer } from "./api";
import { formatter } from "./format";
import { I18nContext, initialLang, translator, useI18n, type Key, type Lang } from "./i18n";
import { Login } from "./pages/login";
import { Overview } from "./pages/overview";
import { Accounts } from "./pages/accounts";
import { Account } from "./pages/account";
import { Anomalies } from "./pages/anomalies";
import { Cohorts } from "./pages/cohorts";
import { Playbooks } from "./pages/playbooks";
import { Renewals } from "./pages/renewals";
import { Funnels } from "./pages/funnels";
import { Settings } from "./pages/settings";
import { Tasks } from "./pages/tasks";
import { navigate, onLink, useLocation } from "./router";
import { SessionContext, useSession, type Session } from "./session";

interface Page {
  path: string;
  key: Key;
}

const PAGES: Page[] = [
  { path: "/", key: "nav.overview" },
  { path: "/accounts", key: "nav.accounts" },
  { path: "/renewals", key: "nav.renewals" },
  { path: "/anomalies", key: "nav.anomalies" },
  { path: "/cohorts", key: "nav.cohorts" },
  { path: "/funnels", key: "nav.funnels" },
  { path: "/tasks", key: "nav.tasks" },
  { path: "/playbooks", key: "nav.playbooks" },
  { path: "/settings", key: "nav.settings" },
];

export function App() {
  const [lang, setLangState] = useState<Lang>(initialLang);
  const [me, setMe] = useState<Me | null | undefined>(undefined); // undefined: not known yet
  const [currency, setCurrency] = useState("USD");
  const i18n = useMemo(
    () => ({
      lang,
      t: translator(lang),
      setLang: (l: Lang) => {
        localStorage.setItem("kizuna.lang", l);
        setLangState(l);
      },
    }),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = i18n.t("app.name");
  }, [lang, i18n]);
  useEffect(() => {
    api<SessionAnswer>("/api/v1/session").then(
      (s) => {
        setCurrency(s.currency);
        setCsrf(s.csrf);
        setMe(s.user ? { ...s.user, csrf: s.csrf } : null);
      },
      () => setMe(null),
    );
    const out = () => {
      setCsrf(null);
      setMe(null);
    };
    window.addEventListener("kizuna:logout", out);
    return () => window.removeEventListener("kizuna:logout", out);
  }, []);
  const session = useMemo<Session | null>(() => {
    if (!me) return null;
    return {
      me,
      currency,
      fmt: formatter(lang, currency),
      canEdit: me.role !== "viewer",
      isAdmin: me.role === "admin",
    };
  }, [me, lang, currency]);
  return (
    <I18nContext.Provider value={i18n}>
      {me === undefined ? null : !session ? (
        <Login
          onIn={(m) => {
            setCsrf(m.csrf);
            setMe(m);
          }}
        />
      ) : (
        <SessionContext.Provider value={session}>
          <Shell
            onOut={() => {
              setCsrf(null);
              setMe(null);
              navigate("/");
            }}
          />
        </SessionContext.Provider>
      )}
    </I18nContext.Provider>
  );
}

function Shell({ onOut }: { onOut: () => void }) {
  const { t, lang, setLang } = useI18n();
  const { me } = useSession();
  const { path } = useLocation();
  const logout = () => {
    api("/api/v1/logout", "POST").finally(onOut);
  };
  let page;
  const m = /^\/accounts\/([^/]+)$/.exec(path);
  if (path === "/") page = <Overview />;
  else if (path === "/accounts") page = <Accounts />;
  else if (m && m[1]) page = <Account id={decodeURIComponent(m[1])} />;
  else if (path === "/renewals") page = <Renewals />;
  else if (path === "/anomalies") page = <Anomalies />;
  else if (path === "/cohorts") page = <Cohorts />;
  else if (path === "/funnels") page = <Funnels />;
  else if (path === "/tasks") page = <Tasks />;
  else if (path === "/playbooks") page = <Playbooks />;
  else if (path === "/settings") page = <Settings />;
  else page = <p class="state">{t("page.not_found")}</p>;
  const current = m ? "/accounts" : path;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        {t("app.skip")}
      </a>
      <header class="top">
        <a class="brand" href="/" onClick={onLink}>
          {t("app.name")}
        </a>
        <div class="top-right">
          <label class="lang">
            <span class="sr">{t("lang.label")}</span>
            <select
              aria-label={t("lang.label")}
              value={lang}
              onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}
            >
              <option value="en">{t("lang.en")}</option>
              <option value="ja">{t("lang.ja")}</option>
            </select>
          </label>
          <span class="who">{t("user.signed_in", { name: me.name, role: t(`role.${me.role}` as Key) })}</span>
          <button type="button" onClick={logout}>
            {t("user.logout")}
          </button>
        </div>
      </header>
      <nav aria-label={t("nav.label")} class="side">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <a href={p.path} onClick={onLink} aria-current={current === p.path ? "page" : undefined}>
                {t(p.key)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
