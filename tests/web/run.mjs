// run.mjs - the dashboard in a real browser (Chromium, headless) against the real
// server on the demo world: `make test` runs it after the C suite.
//
//   KIZUNA_BIN=build/kizuna KIZUNA_WEB_ROOT=web/dist node tests/web/run.mjs [NAME...]
//
// Each check is a named async function in `checks`, run in order and reported
// `ok NAME` or `FAIL NAME: message`; a console error or an uncaught exception on
// any page during a check fails that check. Names on the command line run only
// those checks (the set-up always runs). Screenshots go to build/web-screenshots/.
// The checks hold to the DOM contract of docs/dashboard.md; helpers are in lib.mjs.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  USERS, SHOTS, world, startWorld, stopWorld, killWorldNow, serverLog, apiLogin, api, launchChromium,
  newPage, currentPage, goto, login, screenshot, visible, fill, click, until, near, sleep, consoleErrors,
} from "./lib.mjs";

const started = Date.now();
const BUDGET_MS = 240_000; // the whole run must take less (it takes about 80 s)

/* What the checks share: the browser, a logged-in page per role (and why a
 * login failed), API sessions, an account of the demo world. */
const S = { browser: null, pages: {}, loginFailed: {}, auth: {}, account: null };

/* The logged-in page of a role (admin, csm, support, viewer), logging in the
 * first time; a login that failed once is not tried again. */
async function page(role) {
  if (S.pages[role]) return S.pages[role];
  if (S.loginFailed[role]) throw new Error(`not logged in as ${role}: ${S.loginFailed[role]}`);
  const u = USERS[role];
  const p = await newPage(S.browser, role);
  try {
    await login(p, u.name, u.password);
  } catch (e) {
    S.loginFailed[role] = `${u.name}: ${describe(e)}`;
    await screenshot(p, `login-${role}-failed`).catch(() => {});
    await p.context().close();
    throw new Error(`not logged in as ${role}: ${S.loginFailed[role]}`);
  }
  S.pages[role] = p;
  return p;
}

async function noEdits(p, where) {
  const n = await p.locator("[data-edit]").count();
  assert.ok(n === 0, `${where}: a viewer sees ${n} element(s) with data-edit`);
}

// The contract names the nav and the language select by their English labels;
// in Japanese they are found by what they hold.
const NAV = 'nav[aria-label="Pages"]';
const navLink = (p, name) => p.locator(NAV).getByRole("link", { name, exact: true });
const jaNav = (p) => p.locator("nav").filter({ has: p.getByRole("link", { name: "概要", exact: true }) }).first();
const jaNavLink = (p, name) => jaNav(p).getByRole("link", { name, exact: true });
const langSelect = (p) => p.locator('select:has(option[value="en"]):has(option[value="ja"])').first();

const checks = [
  async function loginPage() {
    const p = await newPage(S.browser, "anonymous");
    await goto(p, "/");
    await visible(p.getByLabel("User name", { exact: true }), 'an input labelled "User name"');
    await visible(p.getByLabel("Password", { exact: true }), 'an input labelled "Password"');
    await visible(p.getByRole("button", { name: "Log in", exact: true }), 'a button "Log in"');
    await screenshot(p, "login");
    await fill(p.getByLabel("User name", { exact: true }), USERS.admin.name, '"User name"');
    await fill(p.getByLabel("Password", { exact: true }), "not-the-password", '"Password"');
    await click(p.getByRole("button", { name: "Log in", exact: true }), '"Log in"');
    await visible(p.getByRole("alert"), 'an element with role="alert" after a wrong password');
    assert.ok((await p.locator(NAV).count()) === 0, "the pages' nav shows after a wrong password");
    await screenshot(p, "login-wrong-password");
    await p.context().close();
  },

  async function loginEachRole() {
    const failed = [];
    for (const role of Object.keys(USERS)) {
      try {
        await screenshot(await page(role), `overview-${role}`);
      } catch (e) {
        failed.push(e.message);
      }
    }
    assert.ok(failed.length === 0, failed.join("; "));
  },

  async function navLanguageLogout() {
    const p = await page("admin");
    await goto(p, "/");
    await visible(navLink(p, "Overview"), 'a link "Overview" in <nav aria-label="Pages">');
    await visible(navLink(p, "Accounts"), 'a link "Accounts" in <nav aria-label="Pages">');
    const select = p.locator('select[aria-label="Language"]');
    await visible(select, '<select aria-label="Language">');
    const values = await select.locator("option").evaluateAll((os) => os.map((o) => o.value));
    assert.ok(values.includes("en") && values.includes("ja"), `the Language options are ${JSON.stringify(values)}, not en and ja`);
    await visible(p.getByRole("button", { name: "Log out", exact: true }), 'a button "Log out"');
    assert.equal(await p.locator("html").getAttribute("lang"), "en", "<html lang> is not en");
  },

  async function overviewTiles() {
    const p = await page("admin");
    await goto(p, "/");
    await visible(p.locator("[data-metric]"), "KPI tiles [data-metric] on the Overview page");
    const summary = await api(S.auth.admin, "/api/v1/metrics/summary");
    const red = await api(S.auth.admin, "/api/v1/accounts?band=red&limit=1");
    const renewing = await api(S.auth.admin, "/api/v1/accounts?renewal_within=90&limit=1");
    const want = Object.fromEntries(summary.map((m) => [m.metric, m.value]));
    want.at_risk = red.total;
    want.renewals_90d = renewing.total;
    const problems = [];
    for (const metric of ["mrr", "nrr", "grr", "logo_churn_rate", "nps", "at_risk", "renewals_90d"]) {
      const tile = p.locator(`[data-metric="${metric}"]`);
      const n = await tile.count();
      if (n === 0) {
        problems.push(`no tile [data-metric=${metric}]`);
        continue;
      }
      if (n > 1) problems.push(`${n} tiles [data-metric=${metric}]`);
      const raw = await tile.first().getAttribute("data-value");
      const got = Number(raw);
      if (raw === null || raw === "" || !Number.isFinite(got)) {
        problems.push(`[data-metric=${metric}] data-value is ${JSON.stringify(raw)}, not a number`);
        continue;
      }
      if (typeof want[metric] !== "number") problems.push(`the API has no number for ${metric}`);
      else if (!near(got, want[metric])) problems.push(`${metric}: the tile says ${raw}, the API ${want[metric]}`);
    }
    assert.ok(problems.length === 0, problems.join("; "));
    await screenshot(p, "overview");
  },

  async function viewerSeesNoEdits() {
    const p = await page("viewer");
    const pages = [
      ["/", "overview-viewer"],
      ["/accounts", "accounts-viewer"],
      [`/accounts/${encodeURIComponent(S.account.account_id)}`, "account-viewer"],
    ];
    for (const [at, shot] of pages) {
      await goto(p, at);
      await visible(p.locator("h1"), `an h1 on ${at} (as viewer)`);
      await screenshot(p, shot);
      await noEdits(p, at);
    }
  },

  async function japanese() {
    // a context of its own, so that a failure here leaves the others in English
    const p = await newPage(S.browser, "admin-ja");
    await login(p, USERS.admin.name, USERS.admin.password);
    const h1 = p.locator("h1").first();
    await visible(h1, "an h1 on the Overview page");
    const h1Text = async () => (await h1.innerText()).trim();
    const navTexts = async (nav) => (await nav.getByRole("link").allInnerTexts()).map((t) => t.trim());
    const before = { h1: await h1Text(), nav: await navTexts(p.locator(NAV)) };
    assert.ok(before.nav.length > 0, "no links in the nav");
    await p.locator('select[aria-label="Language"]').selectOption("ja");
    await until(async () => (await p.locator("html").getAttribute("lang")) === "ja", '<html lang> did not become "ja"');
    await visible(jaNavLink(p, "概要"), 'a nav link "概要" (Overview in Japanese)');
    await visible(jaNavLink(p, "顧客一覧"), 'a nav link "顧客一覧" (Accounts in Japanese)');
    const after = { h1: await h1Text(), nav: await navTexts(jaNav(p)) };
    await screenshot(p, "overview-ja");
    const same = [];
    if (after.h1 === before.h1) same.push(`h1 "${after.h1}"`);
    if (after.nav.length !== before.nav.length) same.push(`the nav had ${before.nav.length} links, now ${after.nav.length}`);
    before.nav.forEach((t, i) => {
      if (after.nav[i] === t) same.push(`nav link "${t}"`);
    });
    assert.ok(same.length === 0, `still English after switching to ja: ${same.join(", ")}`);
    await p.reload({ waitUntil: "load" });
    await visible(jaNavLink(p, "概要"), 'the nav link "概要" after a reload (the language did not persist)');
    assert.equal(await p.locator("html").getAttribute("lang"), "ja", "<html lang> after a reload");
    assert.equal(await langSelect(p).inputValue(), "ja", "the language select after a reload");
    await langSelect(p).selectOption("en");
    await until(async () => (await p.locator("html").getAttribute("lang")) === "en", '<html lang> did not return to "en"');
    await visible(navLink(p, "Overview"), 'the nav link "Overview" again, in <nav aria-label="Pages">');
    await p.context().close();
  },

  async function accountsTable() {
    const p = await page("admin");
    await goto(p, "/accounts");
    const table = p.locator("table").first();
    const rows = table.locator("tbody tr");
    await visible(rows, "rows (tbody tr) of a <table> on the Accounts page");
    const n = await rows.count();
    assert.ok(n <= 100, `${n} rows: the table is not paged (at most 100)`);
    await screenshot(p, "accounts");

    const search = p.getByLabel("Search", { exact: true });
    await visible(search, 'an input labelled "Search" on the Accounts page');
    // the account's name: the first line of the first cell (which may show the id below it)
    const cell = (await rows.first().locator("td, th").first().innerText()).trim();
    const name = cell.split("\n")[0].trim();
    assert.ok(name, "the first row's first cell is empty");
    await search.fill(name);
    await sleep(1000);
    const needle = name.toLowerCase();
    let texts = [];
    await until(async () => {
      texts = (await rows.allInnerTexts()).map((t) => t.toLowerCase());
      return texts.length > 0 && texts.every((t) => t.includes(needle));
    }, `searching "${name}" left rows without it (${texts.length} rows)`, 3000);
    await screenshot(p, "accounts-search");
    await search.fill("");
    await until(async () => (await rows.count()) > 1, "clearing the search did not bring the rows back");

    const mrr = table.getByRole("button", { name: "MRR", exact: true });
    await click(mrr, 'a column header button "MRR" in the table');
    let sort = null;
    await until(async () => ["mrr", "-mrr"].includes((sort = await table.getAttribute("data-sort"))),
      `after clicking "MRR" the table's data-sort is ${JSON.stringify(sort)}, not "mrr" or "-mrr"`);
    let values = [];
    await until(async () => {
      const raw = await table.locator("td[data-col=mrr]").evaluateAll((tds) => tds.map((td) => td.getAttribute("data-value")));
      values = raw.map((v) => (v === null || v === "" ? NaN : Number(v)));
      if (values.length === 0) throw new Error("no cells td[data-col=mrr]");
      if (values.some((v) => !Number.isFinite(v))) throw new Error(`data-value not a number: ${JSON.stringify(raw.slice(0, 5))}`);
      return values.every((v, i) => i === 0 || (sort === "mrr" ? values[i - 1] <= v : values[i - 1] >= v));
    }, `the MRR cells are not in ${sort} order`);
    await screenshot(p, "accounts-sorted-mrr");
  },

  async function account360() {
    const a = S.account;
    const p = await page("admin");
    await goto(p, `/accounts/${encodeURIComponent(a.account_id)}`);
    const h1 = p.locator("h1").first();
    await visible(h1, `an h1 on /accounts/${a.account_id}`);
    await until(async () => (await h1.innerText()).includes(a.name), `the h1 does not show the account's name "${a.name}"`);
    const note = p.getByLabel("Note", { exact: true });
    const add = p.getByRole("button", { name: "Add note", exact: true });
    await visible(note, 'a textarea labelled "Note" (admin)');
    assert.equal(await note.first().evaluate((e) => e.tagName), "TEXTAREA", '"Note" is not a textarea');
    await visible(add, 'a button "Add note" (admin)');
    assert.notEqual(await add.first().getAttribute("data-edit"), null, 'the button "Add note" has no data-edit');
    await screenshot(p, "account");
    const text = `Browser test note ${Date.now()}`;
    await note.first().fill(text);
    await add.first().click();
    await visible(p.locator("[data-timeline]").getByText(text), `the new note in [data-timeline]`, 5000);
    await screenshot(p, "account-note-added");

    const c = await page("csm");
    await goto(c, `/accounts/${encodeURIComponent(a.account_id)}`);
    await visible(c.getByLabel("Note", { exact: true }), 'a textarea labelled "Note" (csm)');
    await visible(c.getByRole("button", { name: "Add note", exact: true }), 'a button "Add note" (csm)');
    await screenshot(c, "account-csm");
  },

  // the trend arrows sort, a field of the accounts shown as a column holds the API's values
  async function accountsTrendAndFields() {
    const p = await page("admin");
    await goto(p, "/accounts");
    const table = p.locator("table").first();
    await visible(table.locator("th[data-col=trend]"), "a Trend column th[data-col=trend]");
    await click(table.getByRole("button", { name: "Trend", exact: true }), 'the column header button "Trend"');
    let sort = null;
    await until(async () => ["trend", "-trend"].includes((sort = await table.getAttribute("data-sort"))), `data-sort ${sort} after "Trend"`);
    await until(async () => {
      const v = (await table.locator("td[data-col=trend]").evaluateAll((tds) => tds.map((td) => td.getAttribute("data-value"))))
        .filter((x) => x !== "")
        .map(Number);
      return v.length > 0 && v.every((x, i) => i === 0 || (sort === "trend" ? v[i - 1] <= x : v[i - 1] >= x));
    }, `the trend cells are not in ${sort} order`);
    const arrow = table.locator("td[data-col=trend] [role=img]").first();
    assert.ok(((await arrow.getAttribute("aria-label")) ?? "").match(/points|change/), "a trend arrow without words for screen readers");

    await click(p.locator("details.columns summary"), 'the "Columns" chooser');
    await click(p.getByLabel("employees", { exact: true }), 'the checkbox "employees"');
    await until(async () => new URL(p.url()).searchParams.get("fields") === "employees", "the URL does not hold fields=employees");
    await p.keyboard.press("Escape");
    await until(async () => !(await p.locator("details.columns").evaluate((d) => d.open)), "Escape did not close the column chooser");
    const th = table.locator('th[data-col="field:employees"]');
    await visible(th, 'a column th[data-col="field:employees"]');
    await click(th.getByRole("button"), 'the "employees" column header button');
    await until(async () => (await table.getAttribute("data-sort")) === "-field:employees", "sorting by employees");
    const want = await api(S.auth.admin, "/api/v1/accounts?fields=employees&sort=-field:employees&limit=50");
    let got = [];
    await until(async () => {
      got = await table.locator('td[data-col="field:employees"]').evaluateAll((tds) => tds.map((td) => td.getAttribute("data-value")));
      return got.length === want.accounts.length && got.every((v, i) => v === String(want.accounts[i].fields.employees ?? ""));
    }, `the employees cells ${JSON.stringify(got.slice(0, 5))} are not the API's`);
    await screenshot(p, "accounts-field-column");
  },

  // Account 360 in Japanese: the server's sentences (factors, drivers, timeline) are said in
  // Japanese too, and the timeline filtered by kind shows only that kind
  async function account360Japanese() {
    const p = await newPage(S.browser, "admin-ja-account");
    await login(p, USERS.admin.name, USERS.admin.password);
    await langSelect(p).selectOption("ja");
    await until(async () => (await p.locator("html").getAttribute("lang")) === "ja", '<html lang> did not become "ja"');
    await goto(p, `/accounts/${encodeURIComponent(S.account.account_id)}`);
    const tl = p.locator("[data-timeline] li");
    await visible(tl.first(), "timeline items");
    await visible(p.locator(".factors li").first(), "the health factors");
    const text = await p.locator("main").innerText();
    const english = ["Ticket opened", "Ticket resolved", "Subscription started", "Subscription changed", "active users went",
      "last activity", "seats active", "NPS answer", "priority ", "Task:", "Events of", "Health ", "Open tasks", "Timeline"];
    const left = english.filter((w) => text.includes(w));
    assert.deepEqual(left, [], `English left on the Japanese Account 360: ${left.join(", ")}`);
    assert.ok(/チケット|契約開始|メモ/.test(text), "no Japanese timeline words on the page");
    await screenshot(p, "ja-account");
    const kinds = p.locator("#timeline select, section select").filter({ has: p.locator('option[value="ticket"]') }).first();
    await kinds.selectOption("ticket");
    await until(async () => {
      const ks = await tl.evaluateAll((li) => li.map((x) => x.getAttribute("data-kind")));
      return ks.length > 0 && ks.every((k) => k.startsWith("ticket."));
    }, "the timeline filtered to tickets shows other kinds");
    await p.context().close();
  },

  // a firing's why in the reader's language: a backtest of a detractor rule, in Japanese
  async function firingsInJapanese() {
    const rule = { id: "web-detractors", mode: "off", trigger: { kind: "nps", max_score: 6 }, actions: [{ kind: "note", text: "x" }] };
    await api(S.auth.admin, "/api/v1/rules", { method: "POST", body: rule });
    try {
      const want = await api(S.auth.admin, "/api/v1/rules/web-detractors/backtest?days=3650&limit=25");
      assert.ok(want.firings.length > 0, "the demo world has no detractor answers to backtest");
      assert.ok(want.firings.every((f) => f.why?.facts?.score <= 6), `a detractor's why: ${JSON.stringify(want.firings[0])}`);
      const p = await newPage(S.browser, "admin-ja-playbooks");
      await login(p, USERS.admin.name, USERS.admin.password);
      await langSelect(p).selectOption("ja");
      await until(async () => (await p.locator("html").getAttribute("lang")) === "ja", '<html lang> did not become "ja"');
      await goto(p, "/playbooks?rule=web-detractors");
      const bt = p.locator("[data-backtest]");
      await fill(bt.locator("input[name=days]"), "3650", "the backtest's days");
      await click(bt.locator("button[type=submit]"), "the backtest's button");
      const cells = bt.locator("tbody tr td:nth-child(5)");
      await visible(cells.first(), "the backtest's firings");
      const said = await cells.allInnerTexts();
      const english = said.filter((x) => /NPS answer|detractor|passive|promoter/.test(x));
      assert.deepEqual(english, [], `English reasons on the Japanese page: ${english.slice(0, 3).join(" | ")}`);
      assert.ok(said.every((x) => /点の回答/.test(x) && /NPS 回答/.test(x)), `not the Japanese why: ${said.slice(0, 3).join(" | ")}`);
      const main = await p.locator("main").innerText();
      assert.ok(!/an NPS answer/.test(main), "the server's English summary of the rule on the Japanese page");
      await screenshot(p, "ja-playbooks-backtest");
      await p.context().close();
    } finally {
      await api(S.auth.admin, "/api/v1/rules/web-detractors", { method: "DELETE" });
    }
  },

  // keyboard and assistive technology: every control has a name, the skip link comes first and
  // works, the nav is reached and followed with the keyboard, and text has enough contrast
  async function accessible() {
    const p = await page("admin");
    const paths = ["/", "/accounts", `/accounts/${encodeURIComponent(S.account.account_id)}`, "/renewals", "/anomalies",
      "/cohorts", "/funnels", "/tasks", "/playbooks", "/settings"];
    const problems = [];
    for (const at of paths) {
      await goto(p, at);
      await visible(p.locator("h1").first(), `an h1 on ${at}`);
      const found = await p.evaluate(() => {
        const out = [];
        const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== "hidden";
        const nameOf = (e) => {
          if (e.getAttribute("aria-label")) return e.getAttribute("aria-label");
          const by = e.getAttribute("aria-labelledby");
          if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? "").join(" ").trim();
          if (e.labels && e.labels.length) return [...e.labels].map((l) => l.textContent).join(" ").trim();
          if (e.tagName === "BUTTON" || e.tagName === "A" || e.tagName === "SUMMARY") return (e.textContent ?? "").trim();
          return e.getAttribute("title") ?? "";
        };
        for (const e of document.querySelectorAll("input, select, textarea, button, a[href], summary, [role=img], canvas"))
          if (shown(e) && e.type !== "hidden" && !nameOf(e) && !(e.tagName === "CANVAS" && e.closest("[role=img][aria-label]")))
            out.push(`${e.tagName.toLowerCase()}${e.className ? "." + String(e.className).split(" ")[0] : ""} has no accessible name`);
        // contrast (WCAG 2): each text's colour against the first opaque background behind it
        const rgb = (c) => (c.match(/[\d.]+/g) ?? []).map(Number);
        const lum = ([r, g, b]) => {
          const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const bgOf = (e) => {
          for (let x = e; x; x = x.parentElement) {
            const c = rgb(getComputedStyle(x).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
          }
          return [255, 255, 255];
        };
        const seen = new Set();
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const e = n.parentElement;
          if (!e || !n.textContent.trim() || seen.has(e) || !shown(e) || e.closest("[aria-hidden=true], option, .u-legend .u-marker")) continue;
          seen.add(e);
          const cs = getComputedStyle(e);
          if (e.closest("button:disabled")) continue; // disabled controls are exempt
          const fg = rgb(cs.color), bg = bgOf(e);
          const [a, b] = [lum(fg.slice(0, 3)), lum(bg)].sort((x, y) => y - x);
          const ratio = (a + 0.05) / (b + 0.05);
          const size = parseFloat(cs.fontSize), bold = Number(cs.fontWeight) >= 700;
          const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
          if (ratio < need)
            out.push(`"${n.textContent.trim().slice(0, 30)}" contrast ${ratio.toFixed(2)} < ${need} (${cs.color} on rgb(${bg.join(",")}))`);
        }
        return out;
      });
      for (const f of found) problems.push(`${at}: ${f}`);
    }
    assert.deepEqual(problems.slice(0, 15), [], `${problems.length} accessibility problem(s)`);

    // the keyboard: the first Tab lands on the skip link, which moves to the content; the nav follows
    await goto(p, "/");
    await p.keyboard.press("Tab");
    const first = await p.evaluate(() => ({ text: document.activeElement?.textContent?.trim(), href: document.activeElement?.getAttribute("href") }));
    assert.equal(first.text, "Skip to the content", `the first Tab lands on ${JSON.stringify(first)}, not the skip link`);
    await p.keyboard.press("Enter");
    await until(async () => p.evaluate(() => !!document.activeElement?.closest("main")), "the skip link did not move the focus into <main>");
    await goto(p, "/");
    let reached = false;
    for (let i = 0; i < 30 && !reached; i++) {
      await p.keyboard.press("Tab");
      reached = await p.evaluate(() => document.activeElement?.closest('nav[aria-label="Pages"]') && document.activeElement.textContent.trim() === "Accounts");
    }
    assert.ok(reached, 'the nav link "Accounts" is not reached with Tab');
    const ring = await p.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(ring, "none", "the focused nav link shows no focus outline");
    await p.keyboard.press("Enter");
    await until(async () => new URL(p.url()).pathname === "/accounts", "Enter on the focused nav link did not open /accounts");
    await visible(p.locator("table"), "the accounts table after following the nav with the keyboard");
  },

  // every page of the nav, for every role: it loads (an h1, no console error), a viewer sees no
  // control that changes data, and in Japanese its h1 is another text
  async function everyPageForEveryRole() {
    const paths = ["/", "/accounts", "/renewals", "/anomalies", "/cohorts", "/funnels", "/tasks", "/playbooks", "/settings"];
    for (const role of ["admin", "csm", "support", "viewer"]) {
      const p = await page(role);
      for (const at of paths) {
        await goto(p, at);
        await visible(p.locator("h1").first(), `an h1 on ${at} (as ${role})`);
        if (role === "admin" || role === "viewer") await screenshot(p, `${role}${at === "/" ? "-overview" : at.replace(/\//g, "-")}`);
        if (role === "viewer") await noEdits(p, at);
      }
    }
    const p = await newPage(S.browser, "admin-ja-pages");
    await login(p, USERS.admin.name, USERS.admin.password);
    const english = {};
    for (const at of paths) {
      await goto(p, at);
      english[at] = (await p.locator("h1").first().innerText()).trim();
    }
    await langSelect(p).selectOption("ja");
    await until(async () => (await p.locator("html").getAttribute("lang")) === "ja", '<html lang> did not become "ja"');
    for (const at of paths) {
      await goto(p, at);
      const h1 = (await p.locator("h1").first().innerText()).trim();
      assert.ok(h1 && h1 !== english[at], `${at}: the h1 "${h1}" is the English one`);
      await screenshot(p, `ja${at === "/" ? "-overview" : at.replace(/\//g, "-")}`);
    }
    await p.context().close();
  },

  // a funnel picked in the form: the same counts as the API's, step by step
  // renewals: the sums are the server's, a month picked lists its accounts only, 50 a page at most
  async function renewalsByMonth() {
    const p = await page("csm");
    await goto(p, "/renewals?days=365");
    const lead = p.locator("[data-renewals]");
    await visible(lead, "the renewals' summary [data-renewals]");
    const want = await api(S.auth.admin, "/api/v1/renewals?within=365");
    assert.ok(want.accounts > 0 && want.months.length > 1, `the demo has few renewals in a year: ${JSON.stringify(want)}`);
    assert.equal(Number(await lead.getAttribute("data-renewals")), want.accounts, "the renewals' count differs from the API's");
    assert.ok(near(Number(await lead.getAttribute("data-risk")), want.arr_at_risk, 1e-9), "the ARR at risk differs from the API's");
    const months = await p.locator("tr[data-month]").evaluateAll((rs) => rs.map((r) => r.getAttribute("data-month")));
    assert.deepEqual(months, want.months.map((m) => m.month), "the month rows differ from the API's months");
    const all = await api(S.auth.admin, "/api/v1/accounts?renewal_within=365&limit=1");
    assert.equal(all.total, want.accounts, "GET /api/v1/accounts?renewal_within=365 counts other accounts than /api/v1/renewals");
    const rows = p.locator("table[data-total] tbody tr");
    await until(async () => (await rows.count()) === Math.min(50, want.accounts), "the renewing accounts' table: not 50 rows (or all)");
    // the busiest month, and only its accounts at risk
    const m = want.months.reduce((a, b) => (b.accounts_at_risk > a.accounts_at_risk ? b : a));
    await click(p.locator(`tr[data-month="${m.month}"] button`), `the month ${m.month}`);
    await until(async () => Number(await p.locator("table[data-total]").getAttribute("data-total").catch(() => -1)) === m.accounts,
      `the table of ${m.month}: not its ${m.accounts} accounts`);
    const dates = await rows.evaluateAll((rs) => rs.map((r) => r.children[1].getAttribute("data-value")));
    assert.ok(dates.length > 0 && dates.every((d) => d.startsWith(m.month)), `rows of other months than ${m.month}: ${dates}`);
    assert.ok(dates.every((d, i) => i === 0 || dates[i - 1] <= d), "the renewing accounts are not by date");
    await p.getByLabel("Only those at risk").check();
    await until(async () => Number(await p.locator("table[data-total]").getAttribute("data-total").catch(() => -1)) === m.accounts_at_risk,
      `the table of ${m.month} at risk: not its ${m.accounts_at_risk} accounts`);
    const risky = await rows.evaluateAll((rs) => rs.map((r) => r.getAttribute("data-at-risk")));
    assert.ok(risky.every((r) => r === "1"), "a row not at risk among those at risk only");
    assert.equal(new URL(p.url()).search, `?days=365&month=${m.month}&risk=1`, "the renewals' state is not in the URL");
    await screenshot(p, "renewals-month-at-risk");
  },

  // honest about freshness: every page of numbers says when they were computed and from data up to when
  async function freshness() {
    const p = await page("viewer");
    const id = encodeURIComponent(S.account.account_id);
    const paths = ["/", "/accounts", `/accounts/${id}`, "/renewals", "/anomalies", "/cohorts",
      "/funnels?steps=login,report.create&within=7d", "/settings"];
    const missing = [];
    for (const path of paths) {
      await goto(p, path);
      const f = p.locator("main .freshness").first();
      try {
        await visible(f, `${path}: a .freshness line`);
        await until(async () => /Computed .+ · data up to /.test((await f.textContent()) ?? ""),
          `${path}: "Computed ... · data up to ..." in .freshness`);
      } catch (e) {
        missing.push(`${path}: ${(await f.textContent().catch(() => null)) ?? "no .freshness"}`);
      }
    }
    assert.ok(missing.length === 0, `pages that do not say when their numbers are from: ${missing.join("; ")}`);
  },

  async function funnelEqualsApi() {
    const p = await page("csm");
    await goto(p, "/funnels");
    const inputs = p.locator("form input:not([type=date])");
    await fill(inputs.nth(0), "login", "the first step's input");
    await fill(inputs.nth(1), "report.create", "the second step's input");
    await click(p.getByRole("button", { name: "Add a step" }), 'the button "Add a step"');
    await fill(p.locator("form input:not([type=date])").nth(2), "report.export", "the third step's input");
    await p.locator("form select").first().selectOption("7d");
    await click(p.getByRole("button", { name: "Show the funnel" }), 'the button "Show the funnel"');
    await visible(p.locator("[data-step]").first(), "the funnel's steps [data-step]");
    const want = await api(S.auth.admin, "/api/v1/metrics/funnel?steps=login,report.create,report.export&within=7d&per=account");
    const got = await p.locator("[data-step]").evaluateAll((els) => els.map((e) => Number(e.getAttribute("data-value"))));
    assert.deepEqual(got, want.map((r) => r.subjects), "the funnel's counts differ from the API's");
    assert.ok(want[0].subjects > 0, "nobody entered the demo funnel");
    await screenshot(p, "funnel");
  },

  // a view saved by its user: kept across reloads, and it opens the list it was saved from
  async function savedView() {
    const p = await page("viewer");
    await goto(p, "/accounts?band=red&sort=mrr");
    await visible(p.locator("table"), "the accounts table");
    await fill(p.getByLabel("Name this view"), "Red by MRR", 'the input "Name this view"');
    await click(p.getByRole("button", { name: "Save view" }), 'the button "Save view"');
    await goto(p, "/accounts");
    await click(p.getByRole("button", { name: "Red by MRR", exact: true }), 'the saved view "Red by MRR" after a reload');
    await until(async () => new URL(p.url()).search === "?band=red&sort=mrr", "the saved view did not open its list");
    await visible(p.locator('table[data-sort="mrr"]'), "the list sorted by MRR");
    await screenshot(p, "accounts-saved-view");
  },

  async function logOut() {
    const p = await page("admin");
    await goto(p, "/");
    await click(p.getByRole("button", { name: "Log out", exact: true }), 'a button "Log out"');
    await visible(p.getByLabel("User name", { exact: true }), "the login page after logging out");
    await p.reload({ waitUntil: "load" });
    await visible(p.getByLabel("User name", { exact: true }), "the login page after logging out and reloading");
    assert.ok((await p.locator(NAV).count()) === 0, "the pages' nav still shows after logging out");
    delete S.pages.admin;
  },
];

// ---- the run -----------------------------------------------------------------

let cleaned = false;
async function cleanup(failed) {
  if (cleaned) return null;
  cleaned = true;
  if (S.browser) await S.browser.close().catch(() => {});
  return stopWorld({ keepLogAs: path.join(SHOTS, "serve.log"), keep: failed });
}
process.on("exit", () => killWorldNow());
for (const sig of ["SIGINT", "SIGTERM"])
  process.on(sig, () => {
    killWorldNow();
    process.exit(1);
  });
const watchdog = setTimeout(() => {
  console.log(`FAIL the run took longer than ${BUDGET_MS / 1000} s; stopping`);
  killWorldNow();
  process.exit(1);
}, BUDGET_MS);
watchdog.unref();

/* One line for the report: a Playwright error without its call log, an
 * assertion without its diff's blank lines. */
function describe(e) {
  const m = String(e?.message ?? e).replace(/\x1b\[[0-9;]*m/g, "").split(/\n\s*Call log:/)[0];
  const [head = "", ...rest] = m.split("\n").map((l) => l.trim()).filter(Boolean);
  return rest.length ? `${head} (${rest.join("; ")})` : head;
}

function secs(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function main() {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !checks.some((c) => c.name === n));
  if (unknown.length) {
    console.log(`unknown checks: ${unknown.join(", ")}; the checks are: ${checks.map((c) => c.name).join(", ")}`);
    return 2;
  }
  fs.rmSync(SHOTS, { recursive: true, force: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  let failures = 0;
  const failed = [];
  try {
    const t0 = Date.now();
    await startWorld();
    S.auth.admin = await apiLogin(USERS.admin.name, USERS.admin.password);
    const list = await api(S.auth.admin, "/api/v1/accounts?limit=1&sort=-mrr");
    S.account = list.accounts?.[0];
    if (!S.account) throw new Error("GET /api/v1/accounts answered no account");
    console.log(`ok setUp (${secs(Date.now() - t0)}: the demo world, 4 users, ${world.base})`);
    const t1 = Date.now();
    S.browser = await launchChromium();
    console.log(`ok launchChromium (${secs(Date.now() - t1)})`);
  } catch (e) {
    console.log(`FAIL setUp: ${e.message}`);
    await cleanup(true);
    return 1;
  }
  for (const check of checks) {
    if (only.length && !only.includes(check.name)) continue;
    const seen = consoleErrors.length;
    const t = Date.now();
    let error = null;
    try {
      await check();
    } catch (e) {
      error = e;
    }
    await sleep(50); // late console messages of the check's last action
    const errs = consoleErrors.slice(seen);
    if (!error && errs.length)
      error = new Error(`console errors: ${errs.map((e) => `[${e.page}] ${e.text}`).join(" | ")}`);
    if (error) {
      failures++;
      failed.push(check.name);
      console.log(`FAIL ${check.name}: ${describe(error)}`);
      const p = currentPage();
      if (p && !p.isClosed()) await screenshot(p, `FAIL-${check.name}`).catch(() => {});
    } else {
      console.log(`ok ${check.name} (${secs(Date.now() - t)})`);
    }
  }
  const status = await cleanup(failures > 0);
  if (status !== 0) {
    console.log(`FAIL stopServer: kizuna serve ended with ${status} (log: ${path.join(SHOTS, "serve.log")})`);
    failures++;
  }
  const ran = only.length || checks.length;
  console.log(`${failures ? "FAIL" : "ok"}: ${ran - failed.length} of ${ran} checks passed${failed.length ? ` (failed: ${failed.join(", ")})` : ""}` +
    `${failures > failed.length ? ", the server did not stop cleanly" : ""}, in ${secs(Date.now() - started)}; screenshots in ${path.relative(process.cwd(), SHOTS) || SHOTS}/`);
  return failures ? 1 : 0;
}

main()
  .catch(async (e) => {
    console.log(`FAIL harness: ${e.stack || e.message}`);
    if (world.log) console.log(serverLog());
    await cleanup(true);
    return 1;
  })
  .then((code) => {
    process.exitCode = code;
  });
