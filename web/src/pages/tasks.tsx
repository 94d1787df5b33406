// tasks.tsx - the tasks of the CSMs (GET /api/v1/tasks): mine, overdue or all
// open, by status and account, 50 a page (the API pages by a cursor, ?after,
// and gives no total). People who may edit mark a task done, cancel or reopen
// it (PATCH /api/v1/tasks/{id}) and add one (POST /api/v1/tasks); for viewers
// none of these controls is rendered. Every control that changes data carries
// data-edit.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError, query } from "../api";
import { Failed, Loading, Section } from "../components/state";
import { useApi } from "../data";
import { useI18n, type Key } from "../i18n";
import { navigate, onLink, useLocation } from "../router";
import { useSession } from "../session";

export interface Task {
  id: number;
  title: string;
  body: string | null;
  account_id: string | null;
  account_name: string | null;
  assignee: string | null;
  due: string | null;
  overdue: boolean;
  status: "open" | "done" | "cancelled";
  source: string;
  firing_id: number | null;
  playbook: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

interface TaskPage {
  tasks: Task[];
  next_after: number | null;
}

interface PlaybookList {
  playbooks: { name: string; title: string }[];
}

type View = "mine" | "overdue" | "all";
type Status = "open" | "done" | "cancelled" | "all";

const LIMIT = 50;
const VIEWS: { id: View; label: Key }[] = [
  { id: "mine", label: "tasks.view.mine" },
  { id: "overdue", label: "tasks.view.overdue" },
  { id: "all", label: "tasks.view.all" },
];
const STATUSES: Status[] = ["open", "done", "cancelled", "all"];

/* "rule:NAME" or "user:NAME" as words, a rule linked to its page */
export function Source({ source }: { source: string }) {
  const { t } = useI18n();
  const i = source.indexOf(":");
  const kind = i < 0 ? "" : source.slice(0, i);
  const name = i < 0 ? source : source.slice(i + 1);
  if (kind === "rule")
    return (
      <a href={`/playbooks${query({ rule: name })}`} onClick={onLink}>
        {t("tasks.source.rule", { name })}
      </a>
    );
  if (kind === "user") return <>{t("tasks.source.user", { name })}</>;
  return <>{source}</>;
}

export function Tasks() {
  const { t } = useI18n();
  const { me, canEdit } = useSession();
  const { search } = useLocation();
  const view: View = (["mine", "overdue", "all"] as const).find((v) => v === search.get("view")) ?? "mine";
  const status: Status = STATUSES.find((s) => s === search.get("status")) ?? "open";
  const account = search.get("account") ?? "";

  /* the URL holds the filters, so that a link or a reload shows the same */
  const set = (change: Record<string, string>) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(change)) {
      if (v === "" || (k === "view" && v === "mine") || (k === "status" && v === "open")) next.delete(k);
      else next.set(k, v);
    }
    const s = next.toString();
    navigate(`/tasks${s ? `?${s}` : ""}`);
  };

  const filters = query({
    assignee: view === "mine" ? me.name : null,
    overdue: view === "overdue" ? 1 : null,
    status,
    account,
    limit: LIMIT,
  });
  /* the cursor pages of these filters: the ?after of the pages before this one */
  const [pages, setPages] = useState<{ key: string; after: number | null; back: (number | null)[] }>({ key: filters, after: null, back: [] });
  const cur = pages.key === filters ? pages : { key: filters, after: null, back: [] };
  const list = useApi<TaskPage>(`/api/v1/tasks${filters}${cur.after === null ? "" : `&after=${cur.after}`}`);

  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const msgRef = useRef<HTMLParagraphElement>(null);
  /* a message about a row is stale once the list is another */
  useEffect(() => setMsg(null), [filters]);
  const say = (m: { ok: boolean; text: string }) => {
    setMsg(m);
    /* the row may leave the list: keep the keyboard's place on the message */
    setTimeout(() => msgRef.current?.focus(), 0);
  };
  const change = async (task: Task, to: Task["status"]) => {
    setBusy(task.id);
    try {
      await api<Task>(`/api/v1/tasks/${task.id}`, "PATCH", { status: to });
      say({ ok: true, text: t(`tasks.changed.${to}`, { title: task.title }) });
      list.reload();
    } catch (e) {
      say({ ok: false, text: t("tasks.change_failed", { title: task.title, message: e instanceof ApiError ? e.message : String(e) }) });
    } finally {
      setBusy(null);
    }
  };

  const data = list.data;
  const pageNo = cur.back.length + 1;
  return (
    <div class="page">
      <h1>{t("tasks.title")}</h1>
      <p class="freshness">{t("tasks.intro")}</p>
      <div class="toolbar" role="group" aria-label={t("tasks.filters")}>
        <div class="views" role="group" aria-label={t("tasks.views")}>
          {VIEWS.map((v) => (
            <button
              type="button"
              key={v.id}
              aria-pressed={view === v.id && (v.id === "mine" || status === "open")}
              onClick={() => set({ view: v.id, status: v.id === "mine" ? status : "open" })}
            >
              {t(v.label)}
            </button>
          ))}
        </div>
        <label>
          {t("tasks.status")}
          <select value={status} onChange={(e) => set({ status: (e.currentTarget as HTMLSelectElement).value })}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`tasks.status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("tasks.account")}
          <input
            type="search"
            value={account}
            placeholder={t("tasks.account_any")}
            onChange={(e) => set({ account: e.currentTarget.value.trim() })}
          />
        </label>
      </div>

      {msg && (
        <p ref={msgRef} tabIndex={-1} role={msg.ok ? "status" : "alert"} class={msg.ok ? "ok" : "error"}>
          {msg.text}
        </p>
      )}

      <section aria-labelledby="task-list">
        <h2 id="task-list" class="sr">
          {t("tasks.list")}
        </h2>
        {list.error ? (
          <Failed error={list.error} retry={list.reload} />
        ) : !data ? (
          <Loading />
        ) : data.tasks.length === 0 && cur.after === null ? (
          <p class="state">{view === "mine" ? t("tasks.none_mine") : t("tasks.none")}</p>
        ) : (
          <>
            <table class="grid" data-tasks>
              <thead>
                <tr>
                  <th scope="col">{t("tasks.col.title")}</th>
                  <th scope="col">{t("tasks.col.account")}</th>
                  <th scope="col">{t("tasks.col.assignee")}</th>
                  <th scope="col">{t("tasks.col.due")}</th>
                  <th scope="col">{t("tasks.col.status")}</th>
                  <th scope="col">{t("tasks.col.source")}</th>
                  <th scope="col">{t("tasks.col.playbook")}</th>
                  {canEdit && <th scope="col">{t("tasks.col.actions")}</th>}
                </tr>
              </thead>
              <tbody>
                {data.tasks.map((k) => (
                  <TaskRow key={k.id} task={k} canEdit={canEdit} busy={busy === k.id} onChange={change} />
                ))}
              </tbody>
            </table>
            <div class="pager">
              <button type="button" disabled={cur.after === null} onClick={() => setPages({ key: filters, after: null, back: [] })}>
                {t("tasks.first")}
              </button>
              <button
                type="button"
                disabled={cur.back.length === 0}
                onClick={() => setPages({ key: filters, after: cur.back[cur.back.length - 1] ?? null, back: cur.back.slice(0, -1) })}
              >
                {t("tasks.prev")}
              </button>
              <span>
                {t("tasks.page", { n: pageNo })} · {t("tasks.shown", { n: data.tasks.length })}
              </span>
              <button
                type="button"
                disabled={data.next_after === null}
                onClick={() => setPages({ key: filters, after: data.next_after, back: [...cur.back, cur.after] })}
              >
                {t("tasks.next")}
              </button>
            </div>
          </>
        )}
      </section>

      {canEdit && <NewTask account={account} onAdded={list.reload} />}
    </div>
  );
}

function TaskRow({
  task: k,
  canEdit,
  busy,
  onChange,
}: {
  task: Task;
  canEdit: boolean;
  busy: boolean;
  onChange: (k: Task, to: Task["status"]) => void;
}) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const act = (to: Task["status"]) => {
    const action = t(`tasks.do.${to}`);
    return (
      <button type="button" data-edit disabled={busy} aria-label={t("tasks.do_label", { action, title: k.title })} onClick={() => onChange(k, to)}>
        {action}
      </button>
    );
  };
  return (
    <tr data-task={k.id} data-status={k.status} data-overdue={k.overdue ? "" : undefined}>
      <td data-col="title">
        {k.title}
        {k.body ? <span class="sub">{k.body}</span> : null}
      </td>
      <td data-col="account">
        {k.account_id ? (
          <>
            <a href={`/accounts/${encodeURIComponent(k.account_id)}`} onClick={onLink}>
              {k.account_name ?? k.account_id}
            </a>
            {k.account_name ? <span class="sub">{k.account_id}</span> : null}
          </>
        ) : (
          "—"
        )}
      </td>
      <td data-col="assignee">{k.assignee ?? <span class="sub">{t("tasks.unassigned")}</span>}</td>
      <td data-col="due" data-value={k.due ?? ""}>
        {k.due ? <time dateTime={k.due}>{fmt.date(k.due)}</time> : "—"}
        {k.overdue ? (
          <>
            {" "}
            <span class="pill band-red">{t("tasks.overdue")}</span>
          </>
        ) : null}
      </td>
      <td data-col="status">
        {t(`tasks.status.${k.status}`)}
        {k.closed_at ? <span class="sub">{t("tasks.closed", { at: fmt.time(k.closed_at) })}</span> : null}
      </td>
      <td data-col="source">
        <Source source={k.source} />
        <span class="sub">{t("tasks.created", { at: fmt.time(k.created_at) })}</span>
      </td>
      <td data-col="playbook">
        {k.playbook ? (
          <a href={`/playbooks${query({ doc: k.playbook })}`} onClick={onLink}>
            {k.playbook}
          </a>
        ) : (
          "—"
        )}
      </td>
      {canEdit && (
        <td data-col="actions">
          <div class="views" style={{ whiteSpace: "nowrap" }}>
            {k.status === "open" ? (
              <>
                {act("done")}
                {act("cancelled")}
              </>
            ) : (
              act("open")
            )}
          </div>
        </td>
      )}
    </tr>
  );
}

const FIELDS: Record<string, Key> = {
  title: "tasks.f.title",
  account_id: "tasks.f.account",
  assignee: "tasks.f.assignee",
  due: "tasks.f.due",
  playbook: "tasks.f.playbook",
  body: "tasks.f.body",
};

function NewTask({ account, onAdded }: { account: string; onAdded: () => void }) {
  const { t } = useI18n();
  const { me } = useSession();
  const docs = useApi<PlaybookList>("/api/v1/playbooks");
  const blank = { title: "", account_id: account, assignee: me.name, due: "", playbook: "", body: "" };
  const [form, setForm] = useState(blank);
  const [sending, setSending] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string; field: string | null } | null>(null);
  const formRef = useRef<HTMLFormElement>(null);
  const edit = (k: keyof typeof blank) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });

  const submit = async (e: Event) => {
    e.preventDefault();
    setSending(true);
    setMsg(null);
    const title = form.title.trim();
    const body: Record<string, string> = { title };
    for (const k of ["account_id", "assignee", "due", "playbook", "body"] as const) {
      const v = form[k].trim();
      if (v) body[k] = v;
    }
    try {
      await api<Task>("/api/v1/tasks", "POST", body);
      setForm({ ...blank, account_id: form.account_id, assignee: form.assignee });
      setMsg({ ok: true, text: t("tasks.added", { title }), field: null });
      onAdded();
    } catch (err) {
      const field = err instanceof ApiError ? err.field : null;
      const label = field && FIELDS[field] ? t(FIELDS[field]) : field;
      let message = err instanceof ApiError ? err.message : String(err);
      /* the API's message starts with the field's name: say the label instead */
      if (field && message.startsWith(`${field}: `)) message = message.slice(field.length + 2);
      setMsg({
        ok: false,
        text: t("tasks.error", { message: label ? t("tasks.error_field", { field: label, message }) : message }),
        field,
      });
      if (field) formRef.current?.querySelector<HTMLElement>(`[name="${field}"]`)?.focus();
    } finally {
      setSending(false);
    }
  };
  const bad = (k: string) => (msg && !msg.ok && msg.field === k ? { "aria-invalid": true, "aria-describedby": "task-form-msg" } : {});
  return (
    <Section title={t("tasks.new")} id="new-task">
      <form ref={formRef} class="note-form" onSubmit={submit} data-edit>
        <label>
          <span>
            {t("tasks.f.title")} {t("tasks.f.required")}
          </span>
          <input name="title" required maxLength={1000} value={form.title} onInput={edit("title")} {...bad("title")} />
        </label>
        <div class="toolbar">
          <label>
            {t("tasks.f.account")}
            <input name="account_id" value={form.account_id} placeholder={t("tasks.f.account_hint")} onInput={edit("account_id")} {...bad("account_id")} />
          </label>
          <label>
            {t("tasks.f.assignee")}
            <input name="assignee" value={form.assignee} onInput={edit("assignee")} {...bad("assignee")} />
          </label>
          <label>
            {t("tasks.f.due")}
            <input name="due" type="date" value={form.due} onInput={edit("due")} {...bad("due")} />
          </label>
          <label>
            {t("tasks.f.playbook")}
            <select name="playbook" value={form.playbook} onChange={edit("playbook")} {...bad("playbook")}>
              <option value="">{t("tasks.f.playbook_none")}</option>
              {(docs.data?.playbooks ?? []).map((p) => (
                <option key={p.name} value={p.name}>
                  {p.title}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label>
          {t("tasks.f.body")}
          <textarea name="body" rows={3} value={form.body} onInput={edit("body")} {...bad("body")} />
        </label>
        <div>
          <button type="submit" data-edit disabled={sending}>
            {sending ? t("tasks.adding") : t("tasks.add")}
          </button>
        </div>
        {msg && (
          <p id="task-form-msg" role={msg.ok ? "status" : "alert"} class={msg.ok ? "ok" : "error"}>
            {msg.text}
          </p>
        )}
      </form>
    </Section>
  );
}
