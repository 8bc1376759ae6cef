// Browser tests of Slipway's web UI, in headless Chromium driven by
// playwright-core. crates/slipway-cli/tests/suite/browser.rs runs `slipway
// demo`, adds a finding whose title is markup, starts `slipway up`, and runs
// this script with:
//   SLIPWAY_URL        the server's address (http://127.0.0.1:PORT/)
//   SLIPWAY_TOKEN      the login token
//   SLIPWAY_PROJECT    the demo project (a git repository)
//   SLIPWAY_ARTIFACTS  where the screenshots go
// It exits non-zero, saying which step failed and why, when one does; each
// step leaves a full-page screenshot, a failed one too.

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const XSS = "<img src=x onerror=alert(1)>";
/** Approving runs the sample project's tests in the sandbox. */
const GATE_TIMEOUT = 120_000;

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set: run this through \`cargo nextest run -p slipway-cli browser\``);
    process.exit(2);
  }
  return value;
}

const base = need("SLIPWAY_URL");
const token = need("SLIPWAY_TOKEN");
const project = need("SLIPWAY_PROJECT");
const artifacts = need("SLIPWAY_ARTIFACTS");
mkdirSync(artifacts, { recursive: true });

const at = (p) => new URL(p, base).href;
const git = (...args) => execFileSync("git", ["-C", project, ...args], { encoding: "utf8" }).trim();

function check(ok, message) {
  if (!ok) {
    throw new Error(message);
  }
}

async function api(p) {
  const response = await fetch(at(p), { headers: { Authorization: `Bearer ${token}` } });
  const text = await response.text();
  check(response.ok, `GET ${p} answered ${response.status}: ${text}`);
  return JSON.parse(text);
}

// A browser that hangs must not hang the test run.
setTimeout(() => {
  console.error("the browser tests took over 5 minutes: stopped");
  process.exit(1);
}, 5 * 60_000).unref();

const dialogs = [];
const pageErrors = [];
const consoleErrors = [];

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
context.setDefaultTimeout(30_000);

function watch(page) {
  page.on("dialog", async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()} (on ${page.url()})`);
    await dialog.dismiss().catch(() => {});
  });
  page.on("pageerror", (error) => pageErrors.push(`${error.message} (on ${page.url()})`));
  page.on("console", (message) => {
    if (message.type() === "error") {
      consoleErrors.push(`${message.text()} (${message.location().url || page.url()})`);
    }
  });
  return page;
}

const page = watch(await context.newPage());
let shots = 0;

async function shot(name, on = page) {
  shots += 1;
  const file = path.join(artifacts, `${String(shots).padStart(2, "0")}-${name}.png`);
  await on.screenshot({ path: file, fullPage: true });
  return file;
}

const failures = [];

/**
 * Runs one step and screenshots the page it ends on. A failure is recorded
 * with its screenshot and the later steps still run, unless it is `fatal`.
 */
async function step(name, body, { fatal = false, on = () => page } = {}) {
  process.stdout.write(`· ${name} … `);
  try {
    await body();
    await shot(name, on());
    console.log("ok");
  } catch (error) {
    const file = await shot(`${name}-FAILED`, on()).catch((e) => `(no screenshot: ${e.message})`);
    console.log("FAILED");
    failures.push(`${name}: ${error.message}\n  at ${on().url()}\n  screenshot: ${file}`);
    if (fatal) {
      await finish();
    }
  }
}

/** Closes the browser, says what failed, and exits. */
async function finish() {
  await browser.close();
  if (consoleErrors.length > 0) {
    console.log(`console errors (not failures by themselves):\n  ${consoleErrors.join("\n  ")}`);
  }
  if (dialogs.length > 0) {
    failures.push(`a dialog opened, so a page ran injected script:\n  ${dialogs.join("\n  ")}`);
  }
  if (pageErrors.length > 0) {
    failures.push(`the pages threw errors:\n  ${pageErrors.join("\n  ")}`);
  }
  console.log(`screenshots: ${artifacts}`);
  if (failures.length > 0) {
    console.error(`\n${failures.length} failure(s):\n${failures.join("\n")}`);
    process.exit(1);
  }
  console.log(`all ${shots} screenshots taken, no dialog, no page error`);
  process.exit(0);
}

await step("login", async () => {
  await page.goto(at("/"));
  check(new URL(page.url()).pathname === "/login", `an anonymous visit to / should land on /login, not ${page.url()}`);
  await page.fill("#token", token);
  await page.click("button[type=submit]");
  await page.waitForURL(at("/"), { timeout: 10_000 }).catch(async () => {
    const says = (await page.locator("body").innerText()).slice(0, 300);
    throw new Error(`logging in should land on the board; ${page.url()} says: ${says}`);
  });
  const board = page.getByTestId("board");
  await board.waitFor();
  const cards = await board.locator("a.card").allInnerTexts();
  for (const id of ["#1", "#2", "#3"]) {
    check(cards.some((c) => c.startsWith(`${id} `)), `the board should show task ${id}; it shows ${JSON.stringify(cards)}`);
  }
  const ready = board.locator('a.card[data-state="ready"]');
  check((await ready.innerText()).startsWith("#3 "), "task 3 should be in the board's ready column");
}, { fatal: true });

await step("task-findings", async () => {
  await page.goto(at("/tasks/1"));
  await page.getByTestId("reviews").waitFor();
  // Give a handler that markup might have planted its chance to run.
  await page.waitForTimeout(500);
  const findings = page.getByTestId("finding");
  check((await findings.count()) >= 2, `task 1 should show the demo's finding and the added one; it shows ${await findings.count()}`);
  const high = findings.filter({ hasText: "never tests a counter at zero" });
  check((await high.getAttribute("class")).includes("sev-high"), "the plan review's finding should be shown as high");
  const xss = findings.filter({ hasText: XSS });
  check((await xss.count()) === 1, `the finding ${XSS} should be shown once, as text`);
  check((await xss.locator("strong").innerText()) === XSS, `the finding's title should read ${XSS} literally`);
  check((await xss.getAttribute("class")).includes("sev-low"), "the added finding should be shown as low");
  check((await page.locator("img").count()) === 0, "the page should have no <img> element: a finding's text became markup");
  check(dialogs.length === 0, `a dialog opened: ${dialogs.join("; ")}`);
});

await step("run-waterfall", async () => {
  const run = page.getByTestId("runs").locator('a[href^="/runs/"]').first();
  await run.click();
  await page.waitForURL(/\/runs\/[0-9a-f]{32}$/);
  await page.getByTestId("waterfall").waitFor();
  const spans = page.getByTestId("span");
  check((await spans.count()) >= 2, `the waterfall should have a row per span; it has ${await spans.count()}`);
  check((await spans.locator("svg rect").count()) === (await spans.count()), "each span row should have its bar");
});

await step("span-content", async () => {
  // A model call carries the prompt and the response.
  const chat = page.getByTestId("span").filter({ has: page.locator("rect.op-chat") }).first();
  check((await chat.count()) === 1, "the run should have a model call (a bar of class op-chat)");
  await chat.locator("a").first().click();
  await page.waitForURL(/\?span=[0-9a-f]{16}/);
  const detail = page.getByTestId("span-detail");
  await detail.waitFor();
  const contents = detail.getByTestId("content");
  check((await contents.count()) >= 1, "the span's detail should show its prompt or response");
  check((await contents.first().innerText()).trim().length > 0, "the span's content should not be empty");
});

await step("compare", async () => {
  await page.goto(at("/compare"));
  const options = await page.locator("select[name=a] option").count();
  check(options >= 2, `the compare form should offer at least two runs; it offers ${options}`);
  await page.selectOption("select[name=a]", { index: 0 });
  await page.selectOption("select[name=b]", { index: 1 });
  await page.click("form.compare button[type=submit]");
  await page.waitForURL(/\/compare\?a=[0-9a-f]{32}&b=[0-9a-f]{32}/);
  const table = page.getByTestId("compare");
  await table.waitFor();
  check((await table.getByTestId("step").count()) >= 1, "the compare table should pair the runs' steps");
  check((await table.getByTestId("total").count()) === 1, "the compare table should have a total row");
});

await step("cost", async () => {
  await page.goto(at("/cost"));
  for (const chart of ["cost-day", "cost-model", "cost-role", "cost-task"]) {
    const bars = page.getByTestId(chart).locator("svg rect");
    check((await bars.count()) >= 1, `the chart ${chart} should draw bars`);
  }
  const roles = await page.getByTestId("cost-role").locator("svg").textContent();
  check(roles.includes("coder") && roles.includes("reviewer"), `the role chart should name the roles: ${roles}`);
});

// The board follows the event stream: a second page, left open, sees task 3 move.
const live = watch(await context.newPage());
await step("board-open", async () => {
  await live.goto(at("/"));
  await live.getByTestId("board").waitFor();
}, { on: () => live });

await step("approve", async () => {
  const before = git("rev-parse", "staging");
  await page.goto(at("/tasks/3"));
  await page.getByTestId("approve").click();
  await page.waitForURL(/\/tasks\/3\/approve\?sha=[0-9a-f]{40}$/);
  const sha = (await page.getByTestId("sha").innerText()).trim();
  check(/^[0-9a-f]{7,40}$/.test(sha), `the confirmation should show the commit to merge; it shows ${JSON.stringify(sha)}`);
  await shot("approve-confirm");
  await page.getByTestId("confirm").click();
  await page.waitForURL(/\/tasks\/3\?outcome=/, { timeout: GATE_TIMEOUT });
  const outcome = await page.getByTestId("outcome").innerText();
  check(outcome.startsWith("Approved"), `approving task 3 should stage it; the page says: ${outcome}`);
  const after = git("rev-parse", "staging");
  check(after !== before, `staging should have moved from ${before}`);
  execFileSync("git", ["-C", project, "merge-base", "--is-ancestor", sha, "staging"]);
  const task = await api("/api/v1/tasks/3");
  check(task.task.state === "staged", `the API should say task 3 is staged, not ${task.task.state}`);
});

await step("board-live", async () => {
  const card = live.getByTestId("board").locator('a.card[data-state="staged"]', { hasText: "#3 " });
  await card.waitFor({ timeout: 15_000 }).catch(() => {
    throw new Error("the open board should show task 3 staged without a reload");
  });
}, { on: () => live });

await step("release", async () => {
  const staging = git("rev-parse", "staging");
  await page.goto(at("/releases"));
  await page.getByTestId("release").click();
  await page.waitForURL(at("/release"));
  await page.fill("#note", "released from the browser test");
  await page.getByTestId("confirm").click();
  await page.waitForURL(at("/releases?outcome=released"), { timeout: GATE_TIMEOUT });
  const outcome = await page.getByTestId("outcome").innerText();
  check(outcome.startsWith("Released"), `the releases page should say released; it says: ${outcome}`);
  const production = git("rev-parse", "production");
  check(production === staging, `production should be at staging's ${staging}, not ${production}`);
  const shown = (await page.getByTestId("production").innerText()).trim();
  check(production.startsWith(shown), `the page should show production at ${production}, not ${shown}`);
  check(/release-\d+/.test(git("tag", "--points-at", "production")), "the release should be tagged");
  const task = await api("/api/v1/tasks/3");
  check(task.task.state === "released", `the API should say task 3 is released, not ${task.task.state}`);
});

await step("rollback", async () => {
  const target = git("rev-parse", "release-1^{commit}");
  const button = page.getByTestId("rollback").filter({ hasText: "release-1" });
  check((await button.count()) === 1, "the releases page should offer one Roll back to release-1 button");
  await button.click();
  await page.waitForURL(at("/rollback?to=1"));
  await page.getByTestId("confirm").click();
  await page.waitForURL(at("/releases?outcome=rolled_back"), { timeout: GATE_TIMEOUT });
  const outcome = await page.getByTestId("outcome").innerText();
  check(outcome.startsWith("Rolled back"), `the releases page should say rolled back; it says: ${outcome}`);
  const production = git("rev-parse", "production");
  check(production === target, `production should be back at release-1's ${target}, not ${production}`);
  const shown = (await page.getByTestId("production").innerText()).trim();
  check(target.startsWith(shown), `the page should show production at ${target}, not ${shown}`);
});

await finish();
