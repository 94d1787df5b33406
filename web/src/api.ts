// api.ts - the dashboard's calls to the REST API (docs/api.md): the session
// cookie goes with every request, the session's CSRF token with every change.
// An answer of 401 means the session is over: listeners of "kizuna:logout" show
// the login page again.

export class ApiError extends Error {
  readonly status: number;
  readonly field: string | null;
  constructor(status: number, message: string, field: string | null) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

let csrf: string | null = null;

export function setCsrf(token: string | null): void {
  csrf = token;
}

export interface Me {
  name: string;
  role: "admin" | "csm" | "support" | "viewer";
  csrf: string | null;
}

/* GET /api/v1/session: the session of the cookie, if any, and how to show numbers. */
export interface SessionAnswer {
  user: { name: string; role: Me["role"] } | null;
  csrf: string | null;
  currency: string;
  timezone: string;
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/* When the server computed an answer (its X-Kizuna-Computed-At: answers kept
 * while the data is unchanged carry the time they were made), by answer. */
const computed = new WeakMap<object, string>();

/* The time the server computed this answer of api(), or null (not one computed from the data). */
export function computedAt(answer: unknown): string | null {
  return answer !== null && typeof answer === "object" ? computed.get(answer) ?? null : null;
}

export async function api<T>(path: string, method: Method = "GET", body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  const r = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (r.status === 204) return undefined as T;
  const text = await r.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(r.status, `${path}: not JSON (${r.status})`, null);
  }
  if (!r.ok) {
    const e = (json as { error?: { message?: string; field?: string } } | null)?.error;
    if (r.status === 401 && !path.endsWith("/login")) window.dispatchEvent(new Event("kizuna:logout"));
    throw new ApiError(r.status, e?.message ?? `${path}: HTTP ${r.status}`, e?.field ?? null);
  }
  const at = r.headers.get("X-Kizuna-Computed-At");
  if (at && json !== null && typeof json === "object") computed.set(json, at);
  return json as T;
}

/* A query string of the defined values of q ("" when none). */
export function query(q: Record<string, string | number | boolean | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : "";
}
