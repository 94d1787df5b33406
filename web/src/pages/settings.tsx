// settings.tsx - the users and their roles (admins: GET/POST /api/v1/users,
// PATCH/DELETE /api/v1/users/{name}) and the health-score definition in use
// (GET /api/v1/health), shown readably, with an editor of its JSON for admins
// (PUT /api/v1/health/definition). Viewers and other roles see the read-only
// parts only.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, type Me } from "../api";
import { Failed, Freshness, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { useI18n, type Key } from "../i18n";
import { useSession } from "../session";

type Role = Me["role"];
const ROLES: Role[] = ["admin", "csm", "support", "viewer"];

interface User {
  name: string;
  role: Role;
  password?: boolean;
  created?: string;
}

interface Step {
  at_most?: number;
  at_least?: number;
  points: number;
}

interface Factor {
  name: string;
  signal?: string;
  field?: string;
  event?: string;
  days?: number;
  milestones?: string[];
  curve?: "linear" | "steps" | "percentile";
  zero?: number;
  full?: number;
  steps?: Step[];
  else?: number;
  higher_is_better?: boolean;
  missing?: number;
  weight?: number;
}

interface Segment {
  name?: string;
  filter?: string | string[];
  factors?: Factor[];
}

interface Definition {
  name?: string;
  bands?: { green?: number; yellow?: number };
  segments?: Segment[];
}

interface HealthNow {
  definition_version: number;
  definition: Definition;
  scores: {
    day: string | null;
    computed_at: string | null;
    version?: number;
    scored: number;
    mean?: number;
    bands: { green: number; yellow: number; red: number };
  } | null;
}

type Msg = { ok: boolean; text: string; field?: string | null } | null;

function Note({ msg, id }: { msg: Msg; id?: string }) {
  const { t } = useI18n();
  if (!msg) return null;
  return (
    <div id={id} role={msg.ok ? "status" : "alert"} class={msg.ok ? "ok" : "error"}>
      <p style={{ margin: "0.3rem 0" }}>{msg.text}</p>
      {msg.field && <p style={{ margin: "0.3rem 0" }}>{t("settings.error_field", { field: msg.field })}</p>}
    </div>
  );
}

export function Settings() {
  const { t } = useI18n();
  const { isAdmin } = useSession();
  return (
    <div class="page">
      <h1>{t("settings.title")}</h1>
      <Section title={t("settings.users")} id="settings-users">
        {isAdmin ? <Users /> : <p class="state">{t("settings.users_admin_only")}</p>}
      </Section>
      <Health />
    </div>
  );
}

/* ---- users ---- */

function Users() {
  const { t } = useI18n();
  const { fmt, me } = useSession();
  const users = useApi<User[]>("/api/v1/users");
  const [msg, setMsg] = useState<Msg>(null);
  const done = (m: Msg) => {
    setMsg(m);
    if (m?.ok) users.reload();
  };
  if (users.error) return <Failed error={users.error} retry={users.reload} />;
  if (!users.data) return <Loading />;
  const list = [...users.data].sort((a, b) => (a.name < b.name ? -1 : 1));
  return (
    <>
      {list.length === 0 ? (
        <p class="state">{t("settings.no_users")}</p>
      ) : (
        <table class="grid" data-users>
          <thead>
            <tr>
              <th scope="col">{t("settings.col.name")}</th>
              <th scope="col">{t("settings.col.role")}</th>
              <th scope="col">{t("settings.col.signin")}</th>
              <th scope="col">{t("settings.col.created")}</th>
              <th scope="col">{t("settings.col.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((u) => (
              <UserRow key={u.name} u={u} self={u.name === me.name} onDone={done} created={fmt.date(u.created ?? null)} />
            ))}
          </tbody>
        </table>
      )}
      <Note msg={msg} />
      <AddUser onDone={done} />
    </>
  );
}

function UserRow({ u, self, created, onDone }: { u: User; self: boolean; created: string; onDone: (m: Msg) => void }) {
  const { t } = useI18n();
  const [role, setRole] = useState<Role>(u.role);
  const [confirm, setConfirm] = useState(false);
  const [busy, setBusy] = useState(false);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const removeRef = useRef<HTMLButtonElement>(null);
  const wasConfirming = useRef(false);
  useEffect(() => setRole(u.role), [u.role]);
  useEffect(() => {
    if (confirm) cancelRef.current?.focus();
    else if (wasConfirming.current) removeRef.current?.focus();
    wasConfirming.current = confirm;
  }, [confirm]);
  const fail = (err: unknown) =>
    onDone({ ok: false, text: err instanceof ApiError ? err.message : String(err), field: err instanceof ApiError ? err.field : null });
  const changeRole = async () => {
    setBusy(true);
    try {
      await api(`/api/v1/users/${encodeURIComponent(u.name)}`, "PATCH", { role });
      onDone({ ok: true, text: t("settings.role_changed", { name: u.name, role: t(`role.${role}` as Key) }) });
    } catch (err) {
      fail(err);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setBusy(true);
    try {
      await api(`/api/v1/users/${encodeURIComponent(u.name)}`, "DELETE");
      onDone({ ok: true, text: t("settings.removed", { name: u.name }) });
    } catch (err) {
      setConfirm(false);
      fail(err);
    } finally {
      setBusy(false);
    }
  };
  const selectId = `role-${u.name}`;
  return (
    <tr data-user={u.name}>
      <td>
        {u.name} {self && <span class="sub">{t("settings.you")}</span>}
      </td>
      <td>
        {self ? (
          t(`role.${u.role}` as Key)
        ) : (
          <span style={{ display: "inline-flex", gap: "0.4rem", alignItems: "center" }}>
            <label class="sr" for={selectId}>
              {t("settings.role_of", { name: u.name })}
            </label>
            <select id={selectId} value={role} data-edit onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as Role)}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {t(`role.${r}` as Key)}
                </option>
              ))}
            </select>
            {role !== u.role && (
              <button type="button" data-edit disabled={busy} onClick={changeRole}>
                {t("settings.change_role")}
              </button>
            )}
          </span>
        )}
      </td>
      <td>{u.password === false ? t("settings.signin.token") : t("settings.signin.password")}</td>
      <td>{created}</td>
      <td>
        {self ? null : confirm ? (
          <span role="group" aria-label={t("settings.remove_confirm", { name: u.name })} style={{ display: "inline-flex", flexWrap: "wrap", gap: "0.4rem", alignItems: "center" }}>
            <span>{t("settings.remove_confirm", { name: u.name })}</span>
            <button type="button" data-edit disabled={busy} onClick={remove} style={{ color: "var(--bad)", borderColor: "var(--bad)" }}>
              {t("settings.remove_yes", { name: u.name })}
            </button>
            <button type="button" data-edit ref={cancelRef} onClick={() => setConfirm(false)}>
              {t("settings.cancel")}
            </button>
          </span>
        ) : (
          <button type="button" data-edit ref={removeRef} onClick={() => setConfirm(true)} aria-label={`${t("settings.remove")} ${u.name}`}>
            {t("settings.remove")}
          </button>
        )}
      </td>
    </tr>
  );
}

function AddUser({ onDone }: { onDone: (m: Msg) => void }) {
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<Msg>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErr(null);
    try {
      const body: { name: string; role: Role; password?: string } = { name: name.trim(), role };
      if (password) body.password = password;
      await api("/api/v1/users", "POST", body);
      onDone({ ok: true, text: t("settings.added", { name: name.trim(), role: t(`role.${role}` as Key) }) });
      setName("");
      setPassword("");
      setRole("viewer");
    } catch (x) {
      setErr({ ok: false, text: x instanceof ApiError ? x.message : String(x), field: x instanceof ApiError ? x.field : null });
    } finally {
      setBusy(false);
    }
  };
  const bad = (f: string) => (err?.field === f ? true : undefined);
  return (
    <form class="note-form" onSubmit={submit} data-edit aria-labelledby="add-user" style={{ marginTop: "1rem" }}>
      <h3 id="add-user">{t("settings.add_user")}</h3>
      <label>
        {t("settings.new_name")}
        <input
          value={name}
          required
          maxLength={128}
          autoComplete="off"
          data-edit
          aria-invalid={bad("name")}
          aria-describedby={bad("name") ? "add-user-error" : undefined}
          onInput={(e) => setName(e.currentTarget.value)}
        />
      </label>
      <label>
        {t("settings.new_role")}
        <select value={role} data-edit aria-invalid={bad("role")} onChange={(e) => setRole((e.currentTarget as HTMLSelectElement).value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {t(`role.${r}` as Key)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("settings.new_password")}
        <input
          type="password"
          value={password}
          autoComplete="new-password"
          data-edit
          aria-invalid={bad("password")}
          aria-describedby={bad("password") ? "add-user-error add-user-pw-hint" : "add-user-pw-hint"}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      <span id="add-user-pw-hint" class="sub">
        {t("settings.new_password_hint")}
      </span>
      <div>
        <button type="submit" data-edit disabled={busy}>
          {t("settings.add")}
        </button>
      </div>
      <Note msg={err} id="add-user-error" />
    </form>
  );
}

/* ---- the health definition ---- */

function Health() {
  const { t } = useI18n();
  const { fmt, isAdmin } = useSession();
  const health = useApi<HealthNow>("/api/v1/health");
  const h = health.data;
  /* right after a PUT the server may still answer the version before (its cached
     answer lasts until the new scores are stored): ask again until the new one shows */
  const [want, setWant] = useState(0);
  const tries = useRef(0);
  useEffect(() => {
    if (!h || h.definition_version >= want || health.loading) return;
    if (tries.current++ >= 20) return;
    const id = setTimeout(health.reload, 500);
    return () => clearTimeout(id);
  }, [h, want, health.loading]);
  const def = h?.definition;
  const green = def?.bands?.green ?? 70;
  const yellow = def?.bands?.yellow ?? 40;
  return (
    <>
      <Section title={t("settings.health")} id="settings-health">
        {health.error ? (
          <Failed error={health.error} retry={health.reload} />
        ) : !h || !def ? (
          <Loading />
        ) : (
          <div data-health-version={h.definition_version}>
            <p>
              {t("settings.health_version", { name: def.name ?? "—", version: fmt.num(h.definition_version) })}
              {h.definition_version === 0 && <span class="sub"> {t("settings.health_builtin")}</span>}
            </p>
            <div class="two">
              <div>
                <h3>{t("settings.bands")}</h3>
                <ul class="plain">
                  <li>
                    <span class="pill band-green">{t("settings.band.green", { min: fmt.num(green, 1) })}</span>
                  </li>
                  <li>
                    <span class="pill band-yellow">{t("settings.band.yellow", { min: fmt.num(yellow, 1), max: fmt.num(green, 1) })}</span>
                  </li>
                  <li>
                    <span class="pill band-red">{t("settings.band.red", { max: fmt.num(yellow, 1) })}</span>
                  </li>
                </ul>
              </div>
              <div>
                <h3>{t("settings.scores")}</h3>
                {h.scores ? (
                  <>
                    <p>
                      {t("settings.scores_line", {
                        scored: fmt.num(h.scores.scored),
                        mean: fmt.num(h.scores.mean, 1),
                        green: fmt.num(h.scores.bands.green),
                        yellow: fmt.num(h.scores.bands.yellow),
                        red: fmt.num(h.scores.bands.red),
                      })}
                    </p>
                    <Freshness computed={h.scores.computed_at} dataTo={h.scores.day} />
                  </>
                ) : (
                  <p class="state">{t("settings.scores_none")}</p>
                )}
              </div>
            </div>
            {(def.segments ?? []).map((s, i) => (
              <SegmentView key={i} s={s} />
            ))}
          </div>
        )}
      </Section>
      {isAdmin && h && (
        <Editor
          h={h}
          onSaved={(version) => {
            tries.current = 0;
            setWant(version);
            health.reload();
          }}
        />
      )}
    </>
  );
}

function SegmentView({ s }: { s: Segment }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const factors = s.factors ?? [];
  const total = factors.reduce((n, f) => n + (f.weight ?? 0), 0);
  const filter = Array.isArray(s.filter) ? s.filter.join(", ") : s.filter;
  const n = (v: number | undefined) => fmt.num(v, 2);
  const measures = (f: Factor): string => {
    if (f.signal) return t("settings.measure.signal", { name: f.signal });
    if (f.field) return t("settings.measure.field", { name: f.field });
    if (f.event) return t("settings.measure.event", { name: f.event, days: fmt.num(f.days ?? 28) });
    if (f.milestones) return t("settings.measure.milestones", { names: f.milestones.join(", ") });
    return "—";
  };
  const curve = (f: Factor): string => {
    if (f.curve === "linear") return t("settings.curve.linear", { zero: n(f.zero), full: n(f.full) });
    if (f.curve === "steps")
      return t("settings.curve.steps", {
        steps: (f.steps ?? [])
          .map((st) =>
            st.at_most !== undefined
              ? t("settings.curve.at_most", { v: n(st.at_most), points: fmt.num(st.points) })
              : t("settings.curve.at_least", { v: n(st.at_least), points: fmt.num(st.points) }),
          )
          .join(", "),
        else: t("settings.points", { n: fmt.num(f.else ?? 0) }),
      });
    if (f.curve === "percentile") return t(f.higher_is_better === false ? "settings.curve.percentile_down" : "settings.curve.percentile_up");
    return f.curve ?? "—";
  };
  return (
    <div data-segment={s.name ?? ""} style={{ marginTop: "1rem" }}>
      <h3>{t("settings.segment", { name: s.name ?? "—" })}</h3>
      <p class="sub">{filter ? t("settings.segment_filter", { filter }) : t("settings.segment_rest")}</p>
      <div style={{ overflowX: "auto" }}>
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">{t("settings.col.factor")}</th>
              <th scope="col">{t("settings.col.measures")}</th>
              <th scope="col">{t("settings.col.curve")}</th>
              <th scope="col">{t("settings.col.missing")}</th>
              <th scope="col">{t("settings.col.weight")}</th>
              <th scope="col">{t("settings.col.share")}</th>
            </tr>
          </thead>
          <tbody>
            {factors.map((f, i) => (
              <tr key={i}>
                <th scope="row">{f.name}</th>
                <td>{measures(f)}</td>
                <td>{curve(f)}</td>
                <td class="num" style={{ whiteSpace: "nowrap" }}>
                  {t("settings.points", { n: fmt.num(f.missing ?? 0) })}
                </td>
                <td class="num">{fmt.num(f.weight ?? 0, 2)}</td>
                <td class="num">{total > 0 ? fmt.pct((f.weight ?? 0) / total, 1) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

/* "definition: segments[0].factors[2].curve: must be ..." names its place */
function place(e: ApiError): string | null {
  if (e.field) return e.field;
  const m = /^definition: ([^:]+): /.exec(e.message);
  return m && m[1] ? m[1].trim() : null;
}

function Editor({ h, onSaved }: { h: HealthNow; onSaved: (version: number) => void }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const original = JSON.stringify(h.definition, null, 2);
  const [text, setText] = useState(original);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<Msg>(null);
  /* a new version in use replaces the text once it is saved */
  useEffect(() => setText(original), [h.definition_version]);
  const save = async (e: Event) => {
    e.preventDefault();
    setMsg(null);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (x) {
      setMsg({ ok: false, text: t("settings.bad_json", { message: x instanceof Error ? x.message : String(x) }) });
      return;
    }
    setBusy(true);
    try {
      const r = await api<{ definition_version: number }>("/api/v1/health/definition", "PUT", body);
      setMsg({ ok: true, text: t("settings.saved", { version: fmt.num(r.definition_version) }) });
      onSaved(r.definition_version);
    } catch (x) {
      if (x instanceof ApiError) setMsg({ ok: false, text: t("settings.refused", { message: x.message }), field: place(x) });
      else setMsg({ ok: false, text: String(x) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t("settings.editor")} id="settings-editor">
      <form class="note-form" onSubmit={save} data-edit style={{ maxWidth: "none" }}>
        <p class="sub" id="definition-hint">
          {t("settings.editor_hint")}
        </p>
        <label>
          {t("settings.definition")}
          <textarea
            rows={22}
            spellcheck={false}
            value={text}
            data-edit
            aria-invalid={msg && !msg.ok ? true : undefined}
            aria-describedby={msg && !msg.ok ? "definition-hint definition-error" : "definition-hint"}
            onInput={(e) => setText(e.currentTarget.value)}
            style={{ fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", fontSize: "0.85rem", width: "100%" }}
          />
        </label>
        <div class="views">
          <button type="submit" data-edit disabled={busy}>
            {busy ? t("settings.saving") : t("settings.save")}
          </button>
          <button
            type="button"
            data-edit
            disabled={busy || text === original}
            onClick={() => {
              setText(original);
              setMsg(null);
            }}
          >
            {t("settings.reset")}
          </button>
        </div>
        <Note msg={msg} id="definition-error" />
      </form>
    </Section>
  );
}
