// web.mjs - `make bench`, part 5 (bench/web.sh prepares the database and runs
// this): the dashboard in headless Chromium against `kizuna serve` on loopback.
//
// For every page of the dashboard: RUNS loads (after one warm-up) of its URL in
// the browser, each timed from the start of the navigation until the page is
// interactive: every API request it issued has answered, no loading indicator
// (components/state.tsx: <p class="state" role="status">) is left, and that has
// held for QUIET_MS (a request issued later starts the wait again); the time is
// that of the first frame after the last change. Also the same page reached
// inside the app (the router's navigate, as a click on a nav link), its DOM
// elements and table rows, and its API calls (Resource Timing: the slowest).
// Then (the actions of INSTRUMENT), on /accounts: a sort (the MRR header), a band filter, a search, the next
// page, and Renewals switched to 365 days; each timed from the click or the
// typing until the new rows show.
//
// Fails (exit 1) when a page's p50 is LIMIT_MS (1000) or more, a page shows an
// error, or /accounts renders more than MAX_ROWS (1000) rows.
//
// Environment: KIZUNA_BIN, KIZUNA_BENCH_DB (a database with the user below; the
// server writes into it), KIZUNA_BENCH_USER / KIZUNA_BENCH_PASSWORD, RUNS (5),
// LIMIT_MS, MAX_ROWS, QUIET_MS (500), ACCOUNT (the account page's id, default
// acc_000123), KIZUNA_WEB_ROOT and CHROMIUM as in tests/web/lib.mjs. Writes
// build/bench/web.json (every figure) and build/bench/web-server.log.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { ROOT, WEB_ROOT, world, launchChromium, newPage, login, apiLogin, api, sleep, consoleErrors } from "../tests/web/lib.mjs";

const BIN = path.resolve(process.env.KIZUNA_BIN || path.join(ROOT, "build/kizuna"));
const DB = process.env.KIZUNA_BENCH_DB;
const USER = process.env.KIZUNA_BENCH_USER || "admin";
const PASSWORD = process.env.KIZUNA_BENCH_PASSWORD || "admin-password";
const RUNS = Number(process.env.RUNS || 5);
const LIMIT_MS = Number(process.env.LIMIT_MS || 1000);
const MAX_ROWS = Number(process.env.MAX_ROWS || 1000);
const QUIET_MS = Number(process.env.QUIET_MS || 500);
const WAIT_MS = 60000; // one page's longest wait before it counts as never interactive
const OUT = path.join(ROOT, "build/bench");

/* The routes of web/src/app.tsx; a funnel too (the form alone asks nothing). */
const FUNNEL = process.env.FUNNEL || "steps=login,report.view,report.export";
const PAGES = ["/", "/accounts", "/accounts/{id}", "/renewals", "/anomalies", "/cohorts", "/funnels", `/funnels?${FUNNEL}`, "/tasks", "/playbooks", "/settings"];

// ---- the instrumentation, in every document before its scripts --------------
// window.__kzb: fetches in flight, and when the page last became ready (no
// request in flight, <main> with its h1, no Loading) and the frame after it.
const INSTRUMENT = `(() => {
  const st = { pending: 0, started: 0, needFetch: true, gen: 0, ready: false, readyAt: null, paintAt: null, t0: 0, want: null, changed: true };
  window.__kzb = st;
  const check = () => {
    const main = document.querySelector("main#main");
    let ok = st.pending === 0 && (st.started > 0 || !st.needFetch) && st.changed && !!main && !!main.querySelector("h1") &&
      !document.querySelector('[role="status"].state');
    if (ok && st.want) { try { ok = !!st.want(); } catch { ok = false; } }
    if (ok && !st.ready) {
      st.ready = true;
      const g = ++st.gen;
      st.readyAt = performance.now();
      st.paintAt = null;
      requestAnimationFrame(() => { if (st.gen === g) st.paintAt = performance.now(); });
    } else if (!ok && st.ready) {
      st.ready = false; st.gen++; st.readyAt = null; st.paintAt = null;
    }
  };
  st.check = check;
  /* a new measurement inside the page: nothing counts until the DOM changes */
  st.reset = (want) => {
    st.t0 = performance.now(); st.want = want || null; st.started = 0; st.needFetch = false; st.changed = false;
    st.ready = false; st.gen++; st.readyAt = null; st.paintAt = null;
  };
  const orig = window.fetch;
  window.fetch = function (...args) {
    st.pending++; st.started++; st.ready = false; st.gen++; st.readyAt = null; st.paintAt = null;
    const p = orig.apply(this, args);
    p.then((r) => r.clone().arrayBuffer()).catch(() => {}).finally(() => { st.pending--; setTimeout(check, 0); });
    return p;
  };
  const rows = () => [...document.querySelectorAll("main tbody tr")];
  const firstId = () => document.querySelector("main tbody tr td[data-col=name] .sub")?.textContent ?? null;
  const fire = (el, type) => el.dispatchEvent(new Event(type, { bubbles: true }));
  st.actions = {
    /* the MRR header: the rows by MRR, the largest first */
    sortMrr: [
      () => [...document.querySelectorAll("main th button")].find((b) => b.textContent.trim().startsWith("MRR")).click(),
      (before) => {
        const t = document.querySelector("main table.grid");
        if (!t || t.dataset.sort !== "-mrr" || firstId() === before) return false;
        const v = [...t.querySelectorAll("tbody td[data-col=mrr]")].map((td) => (td.dataset.value === "" ? -Infinity : Number(td.dataset.value)));
        return v.length > 0 && v.every((x, i) => i === 0 || x <= v[i - 1]);
      },
    ],
    /* the band menu: red */
    bandRed: [
      () => {
        const s = [...document.querySelectorAll("main select")].find((s) => [...s.options].some((o) => o.value === "red"));
        s.value = "red";
        fire(s, "change");
      },
      () => new URLSearchParams(location.search).get("band") === "red" && rows().length > 0 &&
        rows().every((r) => r.querySelector("td[data-col=health] .band-red")),
    ],
    /* typing in Search: every row has the text */
    search: [
      (q) => {
        const i = document.querySelector("main input[type=search]");
        i.value = q;
        fire(i, "input");
      },
      (q) => rows().length > 0 && rows().every((r) => r.textContent.toLowerCase().includes(q.toLowerCase())),
    ],
    /* the pager's Next */
    nextPage: [
      () => [...document.querySelectorAll("main .pager button")].at(-1).click(),
      (before) => new URLSearchParams(location.search).get("offset") === "50" && firstId() !== null && firstId() !== before,
    ],
    /* Renewals: the horizon menu to 365 days */
    renewals365: [
      () => {
        const s = document.querySelector("main select");
        s.value = "365";
        fire(s, "change");
      },
      (before) => Number(document.querySelector("main [data-renewals]")?.dataset.renewals || 0) > before,
    ],
  };
  new MutationObserver(() => { st.changed = true; check(); })
    .observe(document, { childList: true, subtree: true, attributes: true, characterData: true });
})();`;

// ---- the server ----------------------------------------------------------------

let server = null;
let serverExit = null;
const serverLog = path.join(OUT, "web-server.log");

async function startServer() {
  if (!DB || !fs.existsSync(DB)) throw new Error(`KIZUNA_BENCH_DB '${DB}' does not exist (run bench/web.sh)`);
  if (!fs.existsSync(path.join(WEB_ROOT, "index.html"))) throw new Error(`${WEB_ROOT}/index.html does not exist (make web)`);
  fs.mkdirSync(OUT, { recursive: true });
  const err = fs.openSync(serverLog, "w");
  const env = { ...process.env };
  for (const k of ["KIZUNA_DB", "KIZUNA_CONFIG", "KIZUNA_WEB_ROOT"]) delete env[k];
  server = spawn(BIN, ["--db", DB, "serve", "--listen", "127.0.0.1:0", "--web-root", WEB_ROOT], {
    env,
    stdio: ["ignore", "pipe", err],
  });
  fs.closeSync(err);
  server.on("exit", (code, signal) => (serverExit = { code, signal }));
  const first = await new Promise((resolve) => {
    const rl = readline.createInterface({ input: server.stdout });
    const timer = setTimeout(() => resolve(""), 60000);
    rl.once("line", (l) => (clearTimeout(timer), resolve(l)));
    server.once("exit", () => (clearTimeout(timer), resolve("")));
  });
  server.stdout.resume();
  const m = /^kizuna: serving (http:\/\/127\.0\.0\.1:\d+)\//.exec(first);
  if (!m) throw new Error(`serve did not start: '${first}'\n${tail(serverLog)}`);
  world.base = m[1];
  world.log = serverLog;
  const t0 = Date.now();
  // the first scores of every account and the first look for anomalies (the log says when)
  await until(async () => {
    const r = await fetch(`${world.base}/healthz`).catch(() => null);
    const log = fs.readFileSync(serverLog, "utf8");
    return r?.status === 200 && /msg="scores: every account scored"/.test(log) && /msg="anomalies: every watched series judged"/.test(log);
  }, "the server's first scoring", 180000);
  return (Date.now() - t0) / 1000;
}

async function stopServer() {
  if (!server || serverExit) return;
  server.kill("SIGTERM");
  const done = await Promise.race([new Promise((r) => server.once("exit", () => r(true))), sleep(60000).then(() => false)]);
  if (!done) server.kill("SIGKILL");
}

function memory() {
  try {
    const s = fs.readFileSync(`/proc/${server.pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, "m").exec(s)?.[1] || 0);
    return { hwm: kb("VmHWM") / 1024, rss: kb("VmRSS") / 1024 };
  } catch {
    return { hwm: NaN, rss: NaN };
  }
}

function tail(file, n = 20) {
  try {
    return fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "";
  }
}

async function until(fn, what, timeout) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await fn()) return;
    if (serverExit) throw new Error(`the server exited (${JSON.stringify(serverExit)})\n${tail(serverLog)}`);
    if (Date.now() > end) throw new Error(`${what}: not within ${timeout / 1000} s`);
    await sleep(100);
  }
}

// ---- measuring in the page ---------------------------------------------------

/* Waits until the page has been ready for QUIET_MS; answers its figures. */
async function waitReady(page, since = 0) {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    const s = await page
      .evaluate((quiet) => {
        const st = window.__kzb;
        if (!st) return null;
        st.check();
        if (!st.ready || st.paintAt === null || performance.now() - st.readyAt < quiet) return null;
        return { t0: st.t0, readyAt: st.readyAt, paintAt: st.paintAt };
      }, QUIET_MS)
      .catch(() => null); // a navigation in between
    if (s) return { ...s, ...(await figures(page, since || s.t0, s.paintAt)) };
    if (Date.now() > end) {
      const f = await figures(page, since, null).catch(() => ({}));
      return { timeout: true, ...f };
    }
    await sleep(25);
  }
}

/* DOM size, table rows, an error shown, the API calls since `since`. */
function figures(page, since, until) {
  return page.evaluate(
    ([since, until]) => {
      const api = performance
        .getEntriesByType("resource")
        .filter((e) => e.name.includes("/api/") && e.startTime >= since && (until === null || e.startTime <= until))
        .map((e) => {
          const u = new URL(e.name);
          return { path: u.pathname + u.search, start: e.startTime, ms: e.responseEnd - e.startTime, bytes: e.transferSize || e.encodedBodySize || 0 };
        });
      return {
        elements: document.getElementsByTagName("*").length,
        rows: document.querySelectorAll("main tbody tr").length,
        error: document.querySelector('main [role="alert"]')?.textContent?.trim() || null,
        api,
      };
    },
    [since, until],
  );
}

/* A whole load of the URL: timed from the navigation's start (performance.timeOrigin). */
async function load(page, urlPath) {
  await page.goto(`${world.base}${urlPath}`, { waitUntil: "commit" });
  const f = await waitReady(page, 0);
  await page.evaluate(() => performance.clearResourceTimings());
  return { ms: f.paintAt ?? NaN, ...f };
}

/* The same page reached inside the app: the router's navigate(), as a nav link does. */
async function navigateTo(page, urlPath) {
  await page.evaluate(() => performance.clearResourceTimings());
  await page.evaluate((to) => {
    window.__kzb.reset();
    history.pushState(null, "", to);
    window.dispatchEvent(new Event("kizuna:navigate"));
  }, urlPath);
  const f = await waitReady(page);
  return { ms: f.paintAt === undefined || f.paintAt === null ? NaN : f.paintAt - f.t0, ...f };
}

/* An action of ACTIONS (window.__kzb.actions: [act, want]) timed from act(arg)
 * until want(arg) holds and the page is ready. */
async function interact(page, action, arg) {
  await page.evaluate(() => performance.clearResourceTimings());
  await page.evaluate(
    ([action, arg]) => {
      const [act, want] = window.__kzb.actions[action];
      window.__kzb.reset(() => want(arg));
      act(arg);
    },
    [action, arg],
  );
  const f = await waitReady(page);
  return { ms: f.paintAt === undefined || f.paintAt === null ? NaN : f.paintAt - f.t0, ...f };
}

// ---- figures -------------------------------------------------------------------

const pct = (xs, p) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  return v[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)];
};
const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const h = v.length >> 1;
  return v.length % 2 ? v[h] : (v[h - 1] + v[h]) / 2;
};
const ms = (x) => (Number.isFinite(x) ? `${Math.round(x)}` : "-");
const shortPath = (p) => (p.length > 58 ? `${p.slice(0, 55)}...` : p);

/* The API calls of the loads: per path, its median time; the slowest first. */
function apiSummary(loads) {
  const by = new Map();
  for (const l of loads)
    for (const c of l.api || []) {
      const k = c.path.replace(/offset=\d+/, "offset=N");
      const g = by.get(k) || { path: k, ms: [], bytes: 0, n: 0 };
      g.ms.push(c.ms);
      g.bytes = Math.max(g.bytes, c.bytes);
      g.n++;
      by.set(k, g);
    }
  return [...by.values()]
    .map((g) => ({ path: g.path, median_ms: median(g.ms), max_ms: Math.max(...g.ms), calls_per_load: g.n / loads.length, bytes: g.bytes }))
    .sort((a, b) => b.median_ms * b.calls_per_load - a.median_ms * a.calls_per_load);
}

function table(head, rows) {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 || i === r.length - 1 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join("  ");
  return [line(head), w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n");
}

// ---- the run -----------------------------------------------------------------

async function main() {
  const started = Date.now();
  const t0 = Date.now();
  console.log(`== the dashboard in Chromium, ${DB}: ${RUNS} loads of each page after a warm-up, interactive when every API call answered and no Loading is left for ${QUIET_MS} ms`);
  const scoringS = await startServer();
  const token = await apiLogin(USER, PASSWORD);
  // the list shows the scores a little after the log says they are done
  let first = null;
  await until(async () => {
    first = await api(token, "/api/v1/accounts?limit=1");
    return !!first.accounts?.[0]?.health?.computed_at && !!first.accounts[0].churn;
  }, "GET /api/v1/accounts with health and churn scores", 60000);
  const scoredS = (Date.now() - t0) / 1000;
  let id = process.env.ACCOUNT || "acc_000123";
  try {
    await api(token, `/api/v1/accounts/${encodeURIComponent(id)}?days=7&limit=1`);
  } catch {
    id = first.accounts[0].account_id;
  }
  const account = await api(token, `/api/v1/accounts/${encodeURIComponent(id)}?days=7&limit=1`);
  const accName = String(account.account?.name ?? account.name ?? id);
  console.log(`server ${world.base}: ${first.total} accounts, data to ${first.as_of}, first scores in the list after ${scoredS.toFixed(1)} s (logged after ${scoringS.toFixed(1)} s); account page ${id} (${accName})`);

  const browser = await launchChromium();
  const page = await newPage(browser, "bench");
  page.setDefaultTimeout(WAIT_MS);
  page.setDefaultNavigationTimeout(WAIT_MS);
  await page.context().addInitScript(INSTRUMENT);
  await login(page, USER, PASSWORD);

  const results = [];
  for (const p of PAGES) {
    const urlPath = p.replace("{id}", encodeURIComponent(id));
    const warm = await load(page, urlPath);
    const loads = [];
    for (let i = 0; i < RUNS; i++) loads.push(await load(page, urlPath));
    // inside the app: from another page (the overview; for the overview, the accounts)
    const navs = [];
    for (let i = 0; i < RUNS; i++) {
      await load(page, p === "/" ? "/accounts" : "/");
      navs.push(await navigateTo(page, urlPath));
    }
    const all = [warm, ...loads, ...navs];
    const r = {
      page: p === "/accounts/{id}" ? `/accounts/${id}` : p,
      first_ms: warm.ms,
      p50_ms: pct(loads.map((l) => l.ms), 50),
      max_ms: Math.max(...loads.map((l) => l.ms)),
      nav_p50_ms: pct(navs.map((l) => l.ms), 50),
      nav_max_ms: Math.max(...navs.map((l) => l.ms)),
      elements: Math.max(...all.map((l) => l.elements ?? 0)),
      rows: Math.max(...all.map((l) => l.rows ?? 0)),
      error: all.find((l) => l.error)?.error ?? null,
      timeout: all.some((l) => l.timeout),
      api_first: apiSummary([warm]),
      api: apiSummary(loads),
      loads: loads.map((l) => l.ms),
      navs: navs.map((l) => l.ms),
    };
    results.push(r);
    process.stderr.write(`  ${r.page}: p50 ${ms(r.p50_ms)} ms\n`);
  }

  // ---- interactions on /accounts (and the renewals' horizon): ACTIONS, in the page ----
  const firstRow = () => page.evaluate(() => document.querySelector("main tbody tr td[data-col=name] .sub")?.textContent ?? null);
  const q = accName.length > 4 ? accName.slice(0, -2) : accName; // "Nova Networks 423": a few dozen accounts
  const inter = [];
  const runInteraction = async (name, setup, action, argf, runs = RUNS) => {
    const xs = [];
    for (let i = 0; i < runs + 1; i++) {
      await load(page, setup);
      xs.push(await interact(page, action, await argf()));
    }
    const [warm, ...rest] = xs;
    inter.push({
      action: name,
      first_ms: warm.ms,
      p50_ms: pct(rest.map((x) => x.ms), 50),
      max_ms: Math.max(...rest.map((x) => x.ms)),
      rows: Math.max(...xs.map((x) => x.rows ?? 0)),
      elements: Math.max(...xs.map((x) => x.elements ?? 0)),
      timeout: xs.some((x) => x.timeout),
      error: xs.find((x) => x.error)?.error ?? null,
      api: apiSummary(rest),
      api_first: apiSummary([warm]),
    });
    process.stderr.write(`  ${name}: p50 ${ms(inter.at(-1).p50_ms)} ms\n`);
  };
  await runInteraction("/accounts: sort by MRR (header click)", "/accounts", "sortMrr", firstRow);
  await runInteraction("/accounts: band filter red (select)", "/accounts", "bandRed", async () => null);
  await runInteraction(`/accounts: search "${q}" (typing; 300 ms debounce incl.)`, "/accounts", "search", async () => q);
  await runInteraction("/accounts: next page (button)", "/accounts", "nextPage", firstRow);
  await runInteraction("/renewals: horizon 365 days (select)", "/renewals", "renewals365", () =>
    page.evaluate(() => Number(document.querySelector("main [data-renewals]")?.dataset.renewals || 0)),
    Math.min(RUNS, 2), // tens of seconds each
  );

  await browser.close();
  const mem = memory();
  await stopServer();

  // ---- the report ----
  const fails = [];
  for (const r of results) {
    r.verdict = [];
    if (r.timeout) r.verdict.push(`not interactive within ${WAIT_MS / 1000} s`);
    if (r.error) r.verdict.push(`error: ${r.error}`);
    if (!(r.p50_ms < LIMIT_MS)) r.verdict.push(`p50 >= ${LIMIT_MS} ms`);
    if (r.page === "/accounts" && r.rows > MAX_ROWS) r.verdict.push(`${r.rows} rows > ${MAX_ROWS}`);
    if (r.verdict.length) fails.push(`${r.page}: ${r.verdict.join(", ")}`);
    else r.verdict.push("ok");
    if (r.page !== "/accounts" && r.rows > MAX_ROWS) r.verdict.push(`${r.rows} rows in the DOM`);
  }
  console.log();
  console.log(
    table(
      ["page", "first", "p50", "max", "in-app p50", "in-app max", "DOM", "rows", "API/load", "slowest API call: first / warm ms", "verdict"],
      results.map((r) => {
        const s = r.api_first[0];
        const w = r.api.find((a) => a.path === s?.path);
        return [
          r.page,
          ms(r.first_ms),
          ms(r.p50_ms),
          ms(r.max_ms),
          ms(r.nav_p50_ms),
          ms(r.nav_max_ms),
          r.elements,
          r.rows,
          r.api.reduce((n, a) => n + a.calls_per_load, 0),
          s ? `${shortPath(s.path)}${s.calls_per_load > 1 ? ` x${s.calls_per_load}` : ""} ${ms(s.median_ms)} / ${ms(w?.median_ms)}` : "-",
          r.verdict.join(", "),
        ];
      }),
    ),
  );
  console.log("(ms from the navigation's start; first: the warm-up load, the server's answers not yet kept; in-app: from another page by the router, as a nav link;\n the slowest API call of the first load, its time then and its median in the later loads; x8: called 8 times a load)");
  console.log();
  console.log(
    table(
      ["action", "first", "p50", "max", "DOM", "rows", "API calls, slowest (median ms)"],
      inter.map((x) => [
        x.action,
        ms(x.first_ms),
        ms(x.p50_ms),
        ms(x.max_ms),
        x.elements,
        x.rows,
        x.timeout
          ? `not done within ${WAIT_MS / 1000} s`
          : x.api.length
            ? `${x.api.reduce((n, a) => n + a.calls_per_load, 0)}, ${shortPath(x.api[0].path)} ${ms(x.api[0].median_ms)}`
            : "-",
      ]),
    ),
  );
  console.log("(ms from the click or the typing until the new rows show)");
  console.log();
  console.log(`server peak RSS (VmHWM) ${Math.round(mem.hwm)} MB, RSS at the end ${Math.round(mem.rss)} MB; whole run ${Math.round((Date.now() - started) / 1000)} s`);
  if (consoleErrors.length) {
    console.log(`console errors: ${consoleErrors.length}`);
    for (const e of consoleErrors.slice(0, 5)) console.log(`  ${e.text}`);
  }
  fs.writeFileSync(
    path.join(OUT, "web.json"),
    JSON.stringify({ date: new Date().toISOString(), db: DB, runs: RUNS, quiet_ms: QUIET_MS, limit_ms: LIMIT_MS, account: id, pages: results, interactions: inter, server: { peak_rss_mb: mem.hwm, rss_mb: mem.rss }, console_errors: consoleErrors }, null, 2),
  );
  if (fails.length) {
    console.log(`FAIL: ${fails.join("; ")}`);
    return 1;
  }
  console.log(`ok: every page's p50 under ${LIMIT_MS} ms, /accounts at most ${MAX_ROWS} rows`);
  return 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`bench/web.mjs: ${e.stack || e.message}`);
  code = 1;
} finally {
  await stopServer().catch(() => {});
}
process.exit(code);
