// lib.mjs - the browser tests' helpers: the demo world and the real server in a
// temporary folder, Chromium through playwright-core (web/node_modules), the
// pages' console errors, screenshots, and the REST API called directly.
//
// Environment: KIZUNA_BIN (the binary, required), KIZUNA_WEB_ROOT (the built
// dashboard, default web/dist), CHROMIUM (default /usr/bin/chromium),
// KIZUNA_SCREENSHOTS (default build/web-screenshots).
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = process.env.KIZUNA_BIN;
export const WEB_ROOT = path.resolve(process.env.KIZUNA_WEB_ROOT || path.join(ROOT, "web/dist"));
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const SHOTS = path.resolve(process.env.KIZUNA_SCREENSHOTS || path.join(ROOT, "build/web-screenshots"));

/* How long a missing element is waited for before a check fails. */
export const TIMEOUT_MS = 5000;

/* The test users, one per role (kizuna user add). */
export const USERS = {
  admin: { name: "ada", password: "ada-password" },
  csm: { name: "cal", password: "cal-password" },
  support: { name: "sam", password: "sam-password" },
  viewer: { name: "vic", password: "vic-password" },
};

/* Filled by startWorld(). */
export const world = { dir: null, base: null, server: null, log: null, exit: null };

function run(args, input) {
  try {
    return execFileSync(BIN, args, {
      cwd: world.dir,
      input,
      env: serverEnv(),
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    }).toString();
  } catch (e) {
    throw new Error(`kizuna ${args.join(" ")} failed (${e.status ?? e.signal}): ${String(e.stderr || e.message).trim()}`);
  }
}

function serverEnv() {
  const env = { ...process.env, OMP_WAIT_POLICY: "PASSIVE" };
  delete env.KIZUNA_DB;
  delete env.KIZUNA_CONFIG;
  delete env.KIZUNA_WEB_ROOT;
  return env;
}

/* The demo world as `make demo` makes it (demo, import, churn train), the four
 * users, and `kizuna serve` on a free loopback port with the dashboard. */
export async function startWorld() {
  if (!BIN) throw new Error("KIZUNA_BIN is not set (run through make test)");
  if (!fs.existsSync(BIN)) throw new Error(`KIZUNA_BIN ${BIN} does not exist (make)`);
  if (!fs.existsSync(path.join(WEB_ROOT, "index.html")))
    throw new Error(`${WEB_ROOT}/index.html does not exist (make web)`);
  world.dir = fs.mkdtempSync(path.join(os.tmpdir(), "kizuna-web-"));
  run(["demo", "--out", "data"]);
  run(["--db", "k.db", "import", "data"]);
  run(["--db", "k.db", "churn", "train"]);
  for (const [role, u] of Object.entries(USERS))
    run(["--db", "k.db", "user", "add", "--name", u.name, "--role", role, "--password-stdin"], `${u.password}\n`);

  world.log = path.join(world.dir, "serve.log");
  const err = fs.openSync(world.log, "w");
  const p = spawn(BIN, ["--db", "k.db", "serve", "--listen", "127.0.0.1:0", "--web-root", WEB_ROOT], {
    cwd: world.dir,
    env: serverEnv(),
    stdio: ["ignore", "pipe", err],
  });
  fs.closeSync(err);
  world.server = p;
  p.on("exit", (code, signal) => (world.exit = { code, signal }));
  const first = await new Promise((resolve) => {
    const rl = readline.createInterface({ input: p.stdout });
    const timer = setTimeout(() => resolve(""), 15000);
    rl.once("line", (l) => (clearTimeout(timer), resolve(l)));
    p.once("exit", () => (clearTimeout(timer), resolve("")));
  });
  p.stdout.resume(); // the rest of stdout is not read
  const m = /^kizuna: serving (http:\/\/127\.0\.0\.1:(\d+))\//.exec(first);
  if (!m) throw new Error(`serve did not start: '${first}'\n${serverLog()}`);
  world.base = m[1];
  const until = Date.now() + 15000;
  for (;;) {
    try {
      const r = await fetch(`${world.base}/healthz`);
      if (r.status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`GET /healthz did not answer 200\n${serverLog()}`);
    await sleep(100);
  }
  return world;
}

export function serverLog(lines = 30) {
  try {
    return fs.readFileSync(world.log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no server log)";
  }
}

/* Stops the server (SIGTERM, then SIGKILL after 10 s) and removes the folder;
 * the server's log is first copied to keepLogAs when keep is true or the server
 * did not exit with 0. Answers the server's exit status (a number, or "signal
 * SIGKILL" when it had to be killed). */
export async function stopWorld({ keepLogAs, keep = false } = {}) {
  let status = null;
  const p = world.server;
  if (p && !world.exit) {
    p.kill("SIGTERM");
    let timer;
    const done = await new Promise((r) => {
      timer = setTimeout(() => r(false), 10000);
      p.once("exit", () => r(true));
    });
    clearTimeout(timer);
    if (!done) {
      p.kill("SIGKILL");
      await new Promise((r) => (world.exit ? r() : p.once("exit", r)));
    }
  }
  if (world.exit) status = world.exit.signal ? `signal ${world.exit.signal}` : world.exit.code;
  if (keepLogAs && (keep || status !== 0) && world.log && fs.existsSync(world.log)) {
    fs.mkdirSync(path.dirname(keepLogAs), { recursive: true });
    fs.copyFileSync(world.log, keepLogAs);
  }
  removeDir();
  return status;
}

/* The last resort (process exit, signals): synchronous. */
export function killWorldNow() {
  if (world.server && !world.exit) {
    try {
      world.server.kill("SIGKILL");
    } catch {
      /* gone */
    }
  }
  removeDir();
}

function removeDir() {
  if (world.dir) {
    fs.rmSync(world.dir, { recursive: true, force: true });
    world.dir = null;
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the REST API, without a browser ----------------------------------------

/* A session of the API: {cookie, csrf}. */
export async function apiLogin(name, password) {
  const r = await fetch(`${world.base}/api/v1/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, password }),
  });
  if (r.status !== 200) throw new Error(`POST /api/v1/login as ${name}: ${r.status} ${await r.text()}`);
  const set = r.headers.getSetCookie().find((c) => c.startsWith("kizuna_session="));
  if (!set) throw new Error(`POST /api/v1/login as ${name}: no kizuna_session cookie`);
  const body = await r.json();
  return { cookie: set.split(";")[0], csrf: body.csrf };
}

/* Calls the API as auth: an API token (kz_...), a cookie ("kizuna_session=...")
 * or a session from apiLogin(). Answers the parsed JSON; throws on a status
 * other than 2xx. */
export async function api(auth, urlPath, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (typeof auth === "string" && auth.startsWith("kz_")) headers.Authorization = `Bearer ${auth}`;
  else if (typeof auth === "string") headers.Cookie = auth;
  else if (auth) {
    headers.Cookie = auth.cookie;
    if (method !== "GET" && auth.csrf) headers["X-CSRF-Token"] = auth.csrf;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const r = await fetch(`${world.base}${urlPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${urlPath}: ${r.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

// ---- the browser ---------------------------------------------------------------

export async function launchChromium() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (scripts/install-deps.sh installs it)`);
  const require = createRequire(path.join(ROOT, "web/package.json"));
  let entry;
  try {
    entry = require.resolve("playwright-core");
  } catch {
    throw new Error("playwright-core is not in web/node_modules (cd web && npm ci)");
  }
  const { chromium } = require(entry);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless=new",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-dev-shm-usage",
    ],
  });
}

/* Console errors and uncaught exceptions of every page: {page, text}. */
export const consoleErrors = [];

/* Browser messages that are not the dashboard's mistakes: the 401 of a wrong
 * password (the dashboard asks GET /api/v1/session, which answers 200, to know
 * whether anyone is logged in), and the 404 of a /favicon.ico that Chromium
 * asks for by itself (the dashboard links /favicon.svg). */
function expectedConsoleError(msg) {
  const url = new URL(msg.location()?.url || "about:blank");
  const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(msg.text());
  if (!failed || url.origin !== world.base) return false;
  return (
    (failed[1] === "401" && url.pathname === "/api/v1/login") ||
    (failed[1] === "404" && url.pathname === "/favicon.ico")
  );
}

let lastPage = null;

/* A new context and page; label names it in the report of console errors. */
export async function newPage(browser, label) {
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(TIMEOUT_MS);
  context.setDefaultNavigationTimeout(15000);
  const page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() === "error" && !expectedConsoleError(msg)) {
      const at = msg.location()?.url ? ` (${msg.location().url})` : "";
      consoleErrors.push({ page: label, text: msg.text() + at });
    }
  });
  page.on("pageerror", (e) => consoleErrors.push({ page: label, text: `uncaught: ${e.stack || e.message}` }));
  page.label = label;
  lastPage = page;
  return page;
}

export function currentPage() {
  return lastPage;
}

/* Opens path on the server: waits for the load event, then up to 3 s for the
 * network to go quiet (a page that keeps a request open is not an error). */
export async function goto(page, urlPath) {
  lastPage = page;
  await page.goto(`${world.base}${urlPath}`, { waitUntil: "load" });
  await settle(page);
}

export async function settle(page, timeout = 3000) {
  await page.waitForLoadState("networkidle", { timeout }).catch(() => {});
}

/* Logs in through the login page at /; resolves once the nav of the pages shows. */
export async function login(page, name, password) {
  await goto(page, "/");
  await fill(page.getByLabel("User name", { exact: true }), name, 'the login input labelled "User name"');
  await fill(page.getByLabel("Password", { exact: true }), password, 'the login input labelled "Password"');
  await click(page.getByRole("button", { name: "Log in", exact: true }), 'the button "Log in"');
  await visible(page.locator('nav[aria-label="Pages"]'), `<nav aria-label="Pages"> after logging in as ${name}`);
  await settle(page);
}

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// ---- waiting for contract elements, with messages that say what is missing ----

export async function visible(locator, what, timeout = TIMEOUT_MS) {
  try {
    await locator.first().waitFor({ state: "visible", timeout });
  } catch {
    throw new Error(`missing: ${what} (not visible within ${timeout / 1000} s)`);
  }
  return locator;
}

export async function fill(locator, text, what) {
  await visible(locator, what);
  await locator.first().fill(text);
}

export async function click(locator, what) {
  await visible(locator, what);
  await locator.first().click();
}

/* Polls fn until it answers true (or throws the last message) for timeout ms. */
export async function until(fn, what, timeout = TIMEOUT_MS) {
  const end = Date.now() + timeout;
  let last = null;
  for (;;) {
    try {
      if (await fn()) return;
      last = null;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what} (after ${timeout / 1000} s)${last ? `: ${last.message}` : ""}`);
    await sleep(100);
  }
}

/* Numbers equal within a relative tolerance. */
export function near(a, b, rel = 1e-9) {
  return a === b || Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}
