// login.tsx - the login page: POST /api/v1/login, which sets the session cookie.
import { useState } from "preact/hooks";
import { api, ApiError, type Me } from "../api";
import { useI18n, type Lang } from "../i18n";

export function Login({ onIn }: { onIn: (m: Me) => void }) {
  const { t, lang, setLang } = useI18n();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onIn(await api<Me>("/api/v1/login", "POST", { name, password }));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t("login.failed") : String((err as Error).message));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login" id="main">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">{t("login.title")}</h1>
        <label>
          {t("login.name")}
          <input name="name" autoComplete="username" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? t("login.busy") : t("login.submit")}
        </button>
        <label class="lang">
          {t("lang.label")}
          <select value={lang} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)}>
            <option value="en">{t("lang.en")}</option>
            <option value="ja">{t("lang.ja")}</option>
          </select>
        </label>
      </form>
    </main>
  );
}
