// accounts.tsx - every account in a table: sorted and filtered by the server
// (GET /api/v1/accounts: text, band, segment, plan, owner, industry), 50 rows
// a page, never the whole list in the page; the accounts' fields as optional
// columns; saved views, and the view exported as CSV. The URL holds the view.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, query } from "../api";
import { Failed, Freshness, Loading } from "../components/state";
import { useApi } from "../data";
import { useI18n, type Key } from "../i18n";
import { navigate, onLink, useLocation } from "../router";
import { useSession } from "../session";

export interface AccountRow {
  account_id: string;
  name: string | null;
  domain: string | null;
  owner: string | null;
  plan: string | null;
  mrr: number | null;
  paying: boolean;
  last_event: string | null;
  renewal: string | null;
  days_since_event: number | null;
  open_tickets: number;
  health: {
    score: number | null;
    band: string | null;
    weakest: string | null;
    trend?: number | null;
    trend_days?: number;
    segment?: string;
    computed_at: string | null;
  } | null;
  churn: { probability: number; horizon_days?: number } | null;
  fields?: Record<string, string | number | boolean | null>;
  at_risk?: boolean; /* a renewal at risk as GET /api/v1/renewals counts it */
}

interface FieldInfo {
  name: string;
  type: "text" | "number" | "boolean" | "date";
}

interface Page {
  as_of: string | null;
  total: number;
  offset: number;
  limit: number;
  sort: string;
  fields_available: FieldInfo[];
  accounts: AccountRow[];
}

/* A health score's change over the last days: an arrow, the points, and the
 * same in words for screen readers. */
export function Trend({ value, days }: { value: number | null; days: number }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  if (value === null || value === undefined) return <span class="trend">—</span>;
  const flat = Math.abs(value) < 1;
  const words = flat
    ? t("accounts.trend_flat", { days })
    : t(value > 0 ? "accounts.trend_up" : "accounts.trend_down", { n: fmt.num(Math.abs(value), 1), days });
  return (
    <span class={`trend ${flat ? "flat" : value > 0 ? "up" : "down"}`} title={words} aria-label={words} role="img">
      {flat ? "→" : value > 0 ? "▲" : "▼"} {flat ? "" : fmt.num(Math.abs(value), 0)}
    </span>
  );
}

const LIMIT = 50;

interface Col {
  id: string;
  label: Key;
  sort?: string; // the API's sort key
}

const COLS: Col[] = [
  { id: "name", label: "accounts.col.name", sort: "name" },
  { id: "health", label: "accounts.col.health", sort: "health" },
  { id: "trend", label: "accounts.col.trend", sort: "trend" },
  { id: "churn", label: "accounts.col.churn", sort: "risk" },
  { id: "mrr", label: "accounts.col.mrr", sort: "mrr" },
  { id: "plan", label: "accounts.col.plan" },
  { id: "owner", label: "accounts.col.owner" },
  { id: "renewal", label: "accounts.col.renewal", sort: "renewal" },
  { id: "last", label: "accounts.col.last", sort: "last_event" },
];

interface View {
  id: string;
  label: Key;
  band?: string;
  mine?: boolean;
}

interface SavedView {
  name: string;
  query: string; // "?band=red&sort=mrr"
}

const VIEWS: View[] = [
  { id: "all", label: "accounts.view.all" },
  { id: "red", label: "accounts.view.red", band: "red" },
  { id: "my_red", label: "accounts.view.my_red", band: "red", mine: true },
];

export function Accounts() {
  const { t } = useI18n();
  const { fmt, me } = useSession();
  const { search } = useLocation();
  const band = search.get("band") ?? "";
  const owner = search.get("owner") ?? "";
  const plan = search.get("plan") ?? "";
  const segment = search.get("segment") ?? "";
  const industry = search.get("industry") ?? "";
  const fields = (search.get("fields") ?? "").split(",").filter(Boolean);
  const sort = search.get("sort") ?? "-risk";
  const offset = Number(search.get("offset") ?? "0") || 0;
  const [q, setQ] = useState(search.get("q") ?? "");
  /* views people saved: a name and the list's query, kept in this browser per user */
  const viewsKey = `kizuna.views.${me.name}`;
  const [mine, setMine] = useState<SavedView[]>(() => {
    try {
      const v = JSON.parse(localStorage.getItem(viewsKey) ?? "[]");
      return Array.isArray(v) ? v.filter((x) => typeof x?.name === "string" && typeof x?.query === "string") : [];
    } catch {
      return [];
    }
  });
  const keep = (v: SavedView[]) => {
    localStorage.setItem(viewsKey, JSON.stringify(v));
    setMine(v);
  };
  const [viewName, setViewName] = useState("");
  const [typed, setTyped] = useState(q);

  /* the URL holds the view, so that a link or a reload shows the same */
  const set = (change: Record<string, string | number>) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(change)) {
      if (v === "" || v === 0 || (k === "sort" && v === "-risk")) next.delete(k);
      else next.set(k, String(v));
    }
    if (!("offset" in change)) next.delete("offset");
    const s = next.toString();
    navigate(`/accounts${s ? `?${s}` : ""}`);
  };
  useEffect(() => {
    const id = setTimeout(() => {
      if (typed !== q) {
        setQ(typed);
        set({ q: typed });
      }
    }, 300);
    return () => clearTimeout(id);
  }, [typed]);

  const filters = { q, band, owner, plan, segment, industry, sort, fields: fields.join(",") };
  const path = `/api/v1/accounts${query({ ...filters, limit: LIMIT, offset })}`;
  const page = useApi<Page>(path);
  /* the health definition's segments, to filter by */
  const health = useApi<{ definition: { segments: { name: string }[] } }>("/api/v1/health");
  const segments = health.data?.definition.segments.map((x) => x.name) ?? [];
  const [available, setAvailable] = useState<FieldInfo[]>([]);
  /* the column chooser closes on a click or Escape elsewhere, as a menu does */
  const chooser = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const close = (e: Event) => {
      const d = chooser.current;
      if (d?.open && (e.type === "keydown" ? (e as KeyboardEvent).key === "Escape" : !d.contains(e.target as Node))) d.open = false;
    };
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", close);
    };
  }, []);
  useEffect(() => {
    if (page.data?.fields_available) setAvailable(page.data.fields_available.filter((f) => f.name !== "owner"));
  }, [page.data]);
  /* the plans the data has shown so far (there is no list of plans to ask for) */
  const [plans, setPlans] = useState<string[]>([]);
  useEffect(() => {
    const seen = new Set(plans);
    let grew = false;
    for (const a of page.data?.accounts ?? []) if (a.plan && !seen.has(a.plan)) (seen.add(a.plan), (grew = true));
    if (grew) setPlans([...seen].sort());
  }, [page.data]);

  const exportCsv = async () => {
    const rows: AccountRow[] = [];
    for (let off = 0; ; off += 1000) {
      const p = await api<Page>(`/api/v1/accounts${query({ ...filters, limit: 1000, offset: off })}`);
      rows.push(...p.accounts);
      if (off + 1000 >= p.total) break;
    }
    const cell = (v: unknown) => {
      const s = v === null || v === undefined ? "" : String(v);
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    const lines = [
      ["account_id", "name", "health", "band", "trend", "churn_probability", "mrr", "plan", "owner", "renewal", "last_event", ...fields]
        .map(cell)
        .join(","),
      ...rows.map((r) =>
        [
          r.account_id,
          r.name,
          r.health?.score,
          r.health?.band,
          r.health?.trend,
          r.churn?.probability,
          r.mrr,
          r.plan,
          r.owner,
          r.renewal,
          r.last_event,
          ...fields.map((f) => r.fields?.[f]),
        ]
          .map(cell)
          .join(","),
      ),
    ];
    const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "accounts.csv";
    a.click();
    URL.revokeObjectURL(a.href);
  };

  const fieldCols: Col[] = fields.map((f) => ({ id: `field:${f}`, label: "accounts.col.name", sort: `field:${f}` }));
  const cols = [...COLS, ...fieldCols];
  const fieldValue = (f: string, v: string | number | boolean | null | undefined) => {
    if (v === null || v === undefined) return "—";
    const type = available.find((x) => x.name === f)?.type;
    if (type === "date") return fmt.date(String(v));
    if (type === "boolean") return v ? t("common.yes") : t("common.no");
    if (type === "number") return fmt.num(Number(v), 2);
    return String(v);
  };
  const toggleField = (f: string, on: boolean) => {
    const next = on ? [...fields.filter((x) => x !== f), f] : fields.filter((x) => x !== f);
    set({ fields: next.join(","), ...(on || !sort.endsWith(`field:${f}`) ? {} : { sort: "-risk" }) });
  };
  const sortBy = (c: Col) => {
    if (!c.sort) return;
    const desc = `-${c.sort}`;
    set({ sort: sort === desc ? c.sort : desc });
  };
  const data = page.data;
  return (
    <div class="page">
      <h1>{t("accounts.title")}</h1>
      {data && <Freshness computed={data.accounts[0]?.health?.computed_at ?? null} dataTo={data.as_of} />}
      <div class="toolbar" role="search">
        <label>
          {t("accounts.search")}
          <input type="search" value={typed} placeholder={t("accounts.search_hint")} onInput={(e) => setTyped(e.currentTarget.value)} />
        </label>
        <label>
          {t("accounts.band")}
          <select value={band} onChange={(e) => set({ band: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">{t("accounts.band_any")}</option>
            <option value="green">{t("overview.band.green")}</option>
            <option value="yellow">{t("overview.band.yellow")}</option>
            <option value="red">{t("overview.band.red")}</option>
          </select>
        </label>
        {segments.length > 1 && (
          <label>
            {t("accounts.segment")}
            <select value={segment} onChange={(e) => set({ segment: (e.currentTarget as HTMLSelectElement).value })}>
              <option value="">{t("accounts.segment_any")}</option>
              {segments.map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t("accounts.industry")}
          <input value={industry} onChange={(e) => set({ industry: e.currentTarget.value })} placeholder={t("accounts.industry_any")} />
        </label>
        <label>
          {t("accounts.plan")}
          <input list="plans" value={plan} placeholder={t("accounts.plan_any")} onChange={(e) => set({ plan: e.currentTarget.value })} />
          <datalist id="plans">
            {plans.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </label>
        <label>
          {t("accounts.owner")}
          <input value={owner} onChange={(e) => set({ owner: e.currentTarget.value })} placeholder={t("accounts.owner_any")} />
        </label>
        <div class="views" role="group" aria-label={t("accounts.views")}>
          {VIEWS.map((v) => (
            <button
              type="button"
              key={v.id}
              aria-pressed={band === (v.band ?? "") && owner === (v.mine ? me.name : "")}
              onClick={() => set({ band: v.band ?? "", owner: v.mine ? me.name : "" })}
            >
              {t(v.label)}
            </button>
          ))}
          {mine.map((v) => (
            <span key={v.name} class="saved">
              <button type="button" aria-pressed={location.search === v.query} onClick={() => navigate(`/accounts${v.query}`)}>
                {v.name}
              </button>
              <button type="button" aria-label={t("accounts.view_remove", { name: v.name })} onClick={() => keep(mine.filter((x) => x.name !== v.name))}>
                ×
              </button>
            </span>
          ))}
        </div>
        <form
          class="save-view"
          onSubmit={(e) => {
            e.preventDefault();
            const name = viewName.trim();
            if (!name) return;
            keep([...mine.filter((x) => x.name !== name), { name, query: location.search }]);
            setViewName("");
          }}
        >
          <label>
            {t("accounts.view_name")}
            <input value={viewName} onInput={(e) => setViewName(e.currentTarget.value)} maxLength={60} />
          </label>
          <button type="submit">{t("accounts.view_save")}</button>
        </form>
        <button type="button" onClick={exportCsv}>
          {t("accounts.export")}
        </button>
        {available.length > 0 && (
          <details class="columns" ref={chooser}>
            <summary>{t("accounts.columns")}</summary>
            <fieldset>
              <legend>{t("accounts.columns_hint")}</legend>
              {available.map((f) => (
                <label key={f.name} class="check">
                  <input type="checkbox" checked={fields.includes(f.name)} onChange={(e) => toggleField(f.name, e.currentTarget.checked)} />
                  {f.name}
                </label>
              ))}
            </fieldset>
          </details>
        )}
      </div>
      {page.error ? (
        <Failed error={page.error} retry={page.reload} />
      ) : !data ? (
        <Loading />
      ) : data.accounts.length === 0 ? (
        <p class="state">{t("accounts.none")}</p>
      ) : (
        <>
          <div class="table-wrap">
            <table class="grid" data-sort={sort}>
              <thead>
                <tr>
                  {cols.map((c) => {
                    const dir = sort === c.sort ? "ascending" : sort === `-${c.sort}` ? "descending" : undefined;
                    const label = c.id.startsWith("field:") ? c.id.slice(6) : t(c.label);
                    return (
                      <th key={c.id} scope="col" aria-sort={dir ?? "none"} data-col={c.id}>
                        {c.sort ? (
                          <button type="button" onClick={() => sortBy(c)}>
                            {label}
                            {dir === "ascending" ? " ▲" : dir === "descending" ? " ▼" : ""}
                          </button>
                        ) : (
                          label
                        )}
                      </th>
                    );
                  })}
                </tr>
              </thead>
              <tbody>
                {data.accounts.map((a) => (
                  <tr key={a.account_id}>
                    <td data-col="name">
                      <a href={`/accounts/${encodeURIComponent(a.account_id)}`} onClick={onLink}>
                        {a.name ?? a.account_id}
                      </a>
                      <span class="sub">{a.account_id}</span>
                    </td>
                    <td data-col="health" data-value={a.health?.score ?? ""}>
                      {a.health?.band ? (
                        <span class={`pill band-${a.health.band}`}>
                          {fmt.num(a.health.score, 0)} {t(`overview.band.${a.health.band}` as Key)}
                        </span>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td data-col="trend" data-value={a.health?.trend ?? ""}>
                      <Trend value={a.health?.trend ?? null} days={a.health?.trend_days ?? 7} />
                    </td>
                    <td data-col="churn" data-value={a.churn?.probability ?? ""}>
                      {a.churn ? fmt.pct(a.churn.probability) : "—"}
                    </td>
                    <td data-col="mrr" data-value={a.mrr ?? ""} class="num">
                      {fmt.money(a.mrr)}
                    </td>
                    <td data-col="plan">{a.plan ?? "—"}</td>
                    <td data-col="owner">{a.owner ?? "—"}</td>
                    <td data-col="renewal" data-value={a.renewal ?? ""}>
                      {fmt.date(a.renewal)}
                    </td>
                    <td data-col="last" data-value={a.last_event ?? ""}>
                      {a.last_event ? fmt.date(a.last_event.slice(0, 10)) : "—"}
                    </td>
                    {fields.map((f) => (
                      <td key={f} data-col={`field:${f}`} data-value={String(a.fields?.[f] ?? "")}>
                        {fieldValue(f, a.fields?.[f])}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager total={data.total} offset={data.offset} limit={LIMIT} onPage={(o) => set({ offset: o })} />
        </>
      )}
    </div>
  );
}

export function Pager({ total, offset, limit, onPage }: { total: number; offset: number; limit: number; onPage: (o: number) => void }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  return (
    <div class="pager">
      <button type="button" disabled={offset <= 0} onClick={() => onPage(Math.max(0, offset - limit))}>
        {t("page.prev")}
      </button>
      <span>
        {t("page.of", { from: fmt.num(total ? offset + 1 : 0), to: fmt.num(Math.min(offset + limit, total)), total: fmt.num(total) })}
      </span>
      <button type="button" disabled={offset + limit >= total} onClick={() => onPage(offset + limit)}>
        {t("page.next")}
      </button>
    </div>
  );
}
