// keep-gpu's web dashboard driven in headless Chromium (Debian's package, through playwright-core)
// against a `keep-gpu serve` daemon on the fake NVIDIA libraries with two GPUs (no GPU needed):
// the token login, the GPU cards, starting and releasing sessions through the page, the start
// form's messages, the telemetry chart, Release All, auto refresh, a phone-sized viewport (served
// with a strict CSP) and the dark theme.
// Every page must load without console errors and without a request that leaves 127.0.0.1.
//
//   KEEP_GPU_BUILD=<build dir> node --test dashboard.test.mjs
//
// KEEP_GPU_BUILD defaults to ../../build; screenshots go to KEEP_GPU_WEB_ARTIFACTS (default
// <build dir>/web-artifacts); KEEP_GPU_CHROMIUM overrides /usr/bin/chromium.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { chromium } from "playwright-core";

import { GiB, MiB, binPath, buildDir, cleanEnv, fakeDevice, fakeNvidia, freePort } from "../js/fakegpu.mjs";

const keepGpu = binPath("keep-gpu");
const artifacts = path.resolve(process.env.KEEP_GPU_WEB_ARTIFACTS ?? path.join(buildDir, "web-artifacts"));
const chromiumPath = process.env.KEEP_GPU_CHROMIUM ?? "/usr/bin/chromium";

// Deadlines are generous: CI runs this on two busy cores. Nothing below asserts a duration.
const UI_TIMEOUT = 20_000;
const TELEMETRY_TIMEOUT = 45_000;

// --------------------------------------------------------------------------------------- helpers

// Polls `predicate` until it returns a truthy value (returned) or the deadline passes; a predicate
// that throws counts as not yet. `what` names the condition in the failure.
async function until(predicate, what, timeoutMs = UI_TIMEOUT, stepMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const exited = world.daemon && world.daemon.exitCode !== null ? ` (keep-gpu serve exited)${daemonLog()}` : "";
      throw new Error(`${what}: not met within ${timeoutMs} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})${exited}`);
    }
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

// ------------------------------------------------------------------------------- shared fixture

const world = {
  dir: null,
  daemon: null,
  exited: null,
  log: "",
  port: 0,
  origin: "",
  token: "",
  fake: null,
  browser: null,
  context: null, // the logged-in context (light colour scheme), shared by the tests in order
  page: null,
  problems: [], // console errors, page errors, failed requests: each one fails the run
  // Error answers a test provokes on purpose: Chromium logs each one as a console error
  // ("Failed to load resource: ... status of 400"), which is then expected, once per entry.
  expectedErrors: [],
  foreign: [], // requests that tried to leave 127.0.0.1:<port>
  posts: 0, // POST /api/sessions requests the pages sent
  screenshots: [],
};

const daemonLog = () => `\n--- keep-gpu serve log ---\n${world.log}`;

function pathOf(url) {
  try {
    return new URL(url).pathname;
  } catch {
    return "";
  }
}

// Watches one browser context: every request outside the daemon's origin is recorded and aborted,
// console errors and uncaught page errors are recorded. `expected401` lets the anonymous check see
// the browser's own "Failed to load resource ... 401" message for the page it was refused. `csp`
// serves the pages with a strict Content-Security-Policy added (unless the daemon sent one), so a
// blocked inline script or style shows up as a console error.
async function watch(context, label, { expected401 = false, csp = false } = {}) {
  await context.route("**/*", async (route) => {
    const request = route.request();
    const url = new URL(request.url());
    if (url.origin === world.origin) {
      if (!csp || !request.isNavigationRequest()) return route.continue();
      const response = await route.fetch({ maxRedirects: 0 });
      const headers = response.headers();
      headers["content-security-policy"] ??= "default-src 'self'";
      return route.fulfill({ response, headers });
    }
    world.foreign.push(`${label}: ${route.request().method()} ${route.request().url()}`);
    return route.abort("blockedbyclient");
  });
  context.on("page", (page) => watchPage(page, label, expected401));
}

function watchPage(page, label, expected401) {
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (expected401 && /status of 401/.test(msg.text())) return;
    const expected = world.expectedErrors.findIndex((e) =>
      msg.text().includes(`status of ${e.status} `) && pathOf(msg.location().url) === e.pathname);
    if (expected >= 0) {
      world.expectedErrors.splice(expected, 1);
      return;
    }
    world.problems.push(`${label}: console error: ${msg.text()} (${msg.location().url ?? ""})`);
  });
  page.on("pageerror", (error) => world.problems.push(`${label}: page error: ${error.stack ?? error}`));
  page.on("request", (request) => {
    if (request.method() === "POST" && pathOf(request.url()) === "/api/sessions") {
      world.posts += 1;
    }
  });
  page.on("requestfailed", (request) => {
    if (!request.url().startsWith(`${world.origin}/`)) return; // recorded as foreign already
    world.problems.push(`${label}: request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
}

function assertClean() {
  assert.deepEqual(world.problems, [], "the pages logged errors");
  assert.deepEqual(world.foreign, [], "a page tried to reach something other than the daemon");
}

async function screenshot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, name);
  await page.screenshot({ path: file, fullPage: true });
  world.screenshots.push(file);
  console.log(`screenshot: ${file}`);
  return file;
}

// A call to the REST API with the bearer token (what the CLI does), for reference answers.
async function api(method, pathname, body) {
  const response = await fetch(`${world.origin}${pathname}`, {
    method,
    headers: { Authorization: `Bearer ${world.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const byId = (page, id) => page.getByTestId(id);
const text = async (locator) => ((await locator.textContent()) ?? "").trim();
const messageOf = (page) => text(byId(page, "message"));
const sessionCard = (page, jobId) => page.locator(`[data-testid="session-card"][data-job-id="${jobId}"]`);
const gpuCard = (page, gpuId) => page.locator(`[data-testid="gpu-card"][data-gpu-id="${gpuId}"]`);

// Waits for the footer message to match `pattern` and returns the match.
async function waitMessage(page, pattern, what) {
  return until(async () => (await messageOf(page)).match(pattern),
               `${what ?? "footer message"} matching ${pattern} (now: ${JSON.stringify(await messageOf(page).catch(() => ""))})`);
}

// Replaces a field's text, typed key by key as a user would.
async function typeInto(locator, value) {
  await locator.fill("");
  if (value) await locator.pressSequentially(value);
}

// Fills the start form (only the fields given) and submits it.
async function submitStart(page, { gpuIds, vram, interval, busyThreshold, utilTarget, duration } = {}) {
  if (gpuIds !== undefined) await typeInto(byId(page, "input-gpu-ids"), gpuIds);
  if (vram !== undefined) await typeInto(byId(page, "input-vram"), vram);
  if (interval !== undefined) await typeInto(byId(page, "input-interval"), interval);
  if (busyThreshold !== undefined) await typeInto(byId(page, "input-busy-threshold"), busyThreshold);
  if (utilTarget !== undefined) await typeInto(byId(page, "input-util-target"), utilTarget);
  if (duration !== undefined) await typeInto(byId(page, "input-duration"), duration);
  await byId(page, "start-button").click();
}

// Starts a session through the form and waits for its card to read "Active"; returns its id.
async function startSession(page, fields) {
  await until(() => byId(page, "start-button").isEnabled(), "start button enabled");
  const previous = await messageOf(page);
  await submitStart(page, fields);
  const [, jobId] = await until(async () => {
    const now = await messageOf(page);
    return now !== previous && now.match(/^Session started: (\S+)$/);
  }, "a new start confirmation");
  const card = sessionCard(page, jobId);
  await until(async () => (await text(card.getByTestId("session-state"))) === "Active",
              `session ${jobId} shown as Active`);
  return jobId;
}

async function waitNoSessions(page) {
  await until(() => byId(page, "sessions-empty").isVisible(), "the empty sessions note");
  assert.equal(await text(byId(page, "sessions-empty")), "No active keepalive sessions.");
  assert.equal(await page.getByTestId("session-card").count(), 0);
  assert.equal(await text(byId(page, "sessions-count")), "0 tracked");
}

// ---------------------------------------------------------------------------------- setup

before(async () => {
  if (!fs.existsSync(keepGpu)) throw new Error(`${keepGpu} is missing: build first (scripts/test does)`);
  world.dir = fs.mkdtempSync(path.join(os.tmpdir(), "keepgpu-web-"));
  // GPU 1 is 20% busy (below the default threshold of 25, so it can still be kept).
  world.fake = fakeNvidia(world.dir, [fakeDevice(0, { utilization: 0 }), fakeDevice(1, { utilization: 20 })]);
  const home = path.join(world.dir, "home");
  const runtime = path.join(world.dir, "run");
  fs.mkdirSync(home);
  fs.mkdirSync(runtime, { mode: 0o700 });
  world.port = await freePort();
  world.origin = `http://127.0.0.1:${world.port}`;
  const env = cleanEnv({ ...world.fake.env, HOME: home, XDG_RUNTIME_DIR: runtime });
  world.daemon = spawn(keepGpu, ["serve", "--port", String(world.port)],
                       { env, stdio: ["ignore", "pipe", "pipe"] });
  world.daemon.stdout.on("data", (d) => { world.log += d; });
  world.daemon.stderr.on("data", (d) => { world.log += d; });
  world.exited = new Promise((resolve) => world.daemon.on("exit", (code, signal) => resolve({ code, signal })));

  const tokenFile = path.join(runtime, "keep-gpu", "token");
  await until(async () => {
    if (world.daemon.exitCode !== null) throw new Error(`keep-gpu serve exited early${daemonLog()}`);
    const r = await fetch(`${world.origin}/health`);
    return r.ok && fs.existsSync(tokenFile);
  }, "daemon health and token file");
  world.token = fs.readFileSync(tokenFile, "utf8").trim();
  assert.ok(world.token.length > 0, "empty token file");

  // launch() gives Chromium a fresh temporary profile folder and removes it on close.
  world.browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  world.context = await world.browser.newContext({
    viewport: { width: 1440, height: 1000 },
    colorScheme: "light",
  });
  await watch(world.context, "desktop");
});

after(async () => {
  await world.browser?.close().catch(() => {});
  if (world.daemon && world.daemon.exitCode === null && world.daemon.signalCode === null) {
    world.daemon.kill("SIGKILL");
    await world.exited;
  }
  if (world.dir) fs.rmSync(world.dir, { recursive: true, force: true });
  if (world.screenshots.length) console.log(`screenshots:\n  ${world.screenshots.join("\n  ")}`);
});

// ---------------------------------------------------------------------------------- the tests

test("without the token the page and the API are refused", async () => {
  const anonymous = await world.browser.newContext();
  await watch(anonymous, "anonymous", { expected401: true });
  try {
    const page = await anonymous.newPage();
    const response = await page.goto(`${world.origin}/`);
    assert.equal(response.status(), 401);
    assert.match(response.headers()["content-type"], /^text\/html/);
    assert.notEqual(await page.title(), "KeepGPU Control Deck");
    assert.equal(await page.getByTestId("start-form").count(), 0, "the dashboard was served");
    // A wrong token neither logs in nor sets a cookie.
    const wrong = await page.goto(`${world.origin}/?token=not-the-token`);
    assert.equal(wrong.status(), 401);
    assert.deepEqual(await anonymous.cookies(), []);

    for (const target of ["/api/gpus", "/api/sessions", "/api/telemetry", "/assets/dashboard.js"]) {
      const r = await anonymous.request.get(`${world.origin}${target}`);
      assert.equal(r.status(), 401, target);
      if (target.startsWith("/api/")) {
        assert.deepEqual(await r.json(), { error: { message: "Missing or invalid token" } }, target);
      }
    }
    const post = await anonymous.request.post(`${world.origin}/api/sessions`, {
      headers: { "Content-Type": "application/json" }, data: { vram: "1GiB" },
    });
    assert.equal(post.status(), 401);
    assert.equal(world.fake.allocated(0), 0);
    // /health stays open.
    assert.equal((await anonymous.request.get(`${world.origin}/health`)).status(), 200);
  } finally {
    await anonymous.close();
  }
  assertClean();
});

test("the token link logs in with an HttpOnly SameSite=Strict cookie and shows both GPUs", async () => {
  world.page = await world.context.newPage();
  const page = world.page;
  const response = await page.goto(`${world.origin}/?token=${encodeURIComponent(world.token)}`);
  const redirect = response.request().redirectedFrom();
  assert.ok(redirect, "the token link redirects");
  assert.equal((await redirect.response()).status(), 302);
  assert.equal(response.status(), 200);
  assert.equal(page.url(), `${world.origin}/`, "the token is dropped from the address");

  const cookies = await world.context.cookies(world.origin);
  const cookie = cookies.find((c) => c.name === `keepgpu_session_${world.port}`);
  assert.ok(cookie, `no keepgpu_session_${world.port} cookie in ${JSON.stringify(cookies.map((c) => c.name))}`);
  // Loopback cookies reach every port of the host, so the cookie carries a session secret of
  // this daemon's, never the token.
  assert.match(cookie.value, /^[0-9a-f]{64}$/);
  assert.notEqual(cookie.value, world.token);
  assert.ok(!cookies.some((c) => c.value.includes(world.token)), "no cookie carries the token");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(cookie.path, "/");
  assert.equal(await page.evaluate(() => document.cookie), "", "the script can read the token cookie");

  assert.equal(await page.title(), "KeepGPU Control Deck");
  await until(async () => (await page.getByTestId("gpu-card").count()) === 2, "two GPU cards");
  for (const id of [0, 1]) {
    const card = gpuCard(page, id);
    assert.equal(await text(card.getByTestId("gpu-name")), `Fake GPU ${id}`);
    assert.equal(await text(card.getByTestId("gpu-identity")), `GPU ${id} · cuda`);
    assert.equal(await card.getByTestId("gpu-utilization-bar").count(), 1);
    assert.match(await text(card.getByTestId("gpu-memory")), / \/ 16 GB used$/);
  }
  await until(async () => (await text(gpuCard(page, 1).getByTestId("gpu-utilization"))) === "20%",
              "GPU 1 utilisation label");
  assert.equal(await text(gpuCard(page, 0).getByTestId("gpu-utilization")), "0%");
  assert.equal(await text(byId(page, "summary-gpus")), "2");
  assert.equal(await text(byId(page, "summary-sessions")), "0");
  assert.equal(await text(byId(page, "summary-utilization")), "10%");
  assert.equal(await text(byId(page, "service-origin")), world.origin);
  assert.equal(await messageOf(page), "Connected to KeepGPU service.");
  await waitNoSessions(page);
  assertClean();
});

test("a session started through the form holds memory on GPU 0 and shows in the chart", async () => {
  const page = world.page;
  const jobId = await startSession(page, { gpuIds: "0", vram: "1GiB" });
  const card = sessionCard(page, jobId);
  assert.equal(await text(card.getByTestId("session-id")), jobId);
  assert.equal(await text(card.getByTestId("session-command")),
               "keep-gpu start --gpu-ids 0 --vram 1GiB --interval 300 --busy-threshold 25");
  assert.match(await text(card.getByTestId("session-summary")), /^Visible GPUs 0 · 1GiB · 300s · threshold 25%$/);
  assert.equal(await card.getByTestId("session-detail").count(), 0, "an active session has no detail line");
  // One line per GPU with what the driver holds for it.
  const gpuLine = card.getByTestId("session-gpu");
  assert.equal(await gpuLine.count(), 1);
  assert.equal(await gpuLine.getAttribute("data-phase"), "holding");
  assert.equal(await text(gpuLine), "HoldingGPU 0 · 1.0 GB held");
  assert.equal(await text(byId(page, "sessions-count")), "1 tracked");
  assert.equal(await text(byId(page, "summary-sessions")), "1");
  // The form is back to its defaults.
  assert.equal(await byId(page, "input-gpu-ids").inputValue(), "");
  assert.equal(await byId(page, "input-vram").inputValue(), "1GiB");

  // The daemon really allocated it, on device 0 only.
  await until(() => world.fake.allocated(0) === GiB, "1 GiB allocated on fake GPU 0");
  assert.equal(world.fake.allocated(1), 0);
  const listed = await api("GET", "/api/sessions");
  assert.deepEqual(listed.body.active_jobs.map((j) => j.job_id), [jobId]);

  // The daemon samples every few seconds; refresh until the chart shows the held bytes (and has
  // two samples, so that the screenshot shows a line).
  const chart = gpuCard(page, 0).getByTestId("chart-memory");
  await until(async () => {
    if (await byId(page, "refresh-button").isEnabled()) await byId(page, "refresh-button").click();
    return (await chart.getAttribute("data-latest-held")) === String(GiB) &&
      Number(await chart.getAttribute("data-samples")) >= 2;
  }, "GPU 0 memory chart shows 1 GiB held", TELEMETRY_TIMEOUT, 1000);
  for (const name of ["chart-utilization", "chart-power"]) {
    assert.ok(Number(await gpuCard(page, 0).getByTestId(name).getAttribute("data-samples")) >= 1, name);
  }
  // GPU 1 holds nothing.
  assert.equal(await gpuCard(page, 1).getByTestId("chart-memory").getAttribute("data-latest-held"), "0");
  assert.ok(Number(await chart.getAttribute("data-latest-used")) >= GiB);
  await waitMessage(page, /^Dashboard refreshed\.$/);
  await screenshot(page, "desktop-light-session.png");
  world.jobId = jobId;
  assertClean();
});

test("the session's release button releases it and frees the memory", async () => {
  const page = world.page;
  const jobId = world.jobId;
  assert.ok(jobId, "needs the session of the previous test");
  await sessionCard(page, jobId).getByTestId("session-release").click();
  await waitMessage(page, /^Released session/, "release message");
  assert.equal(await messageOf(page), `Released session: ${jobId}.`);
  await until(async () => (await sessionCard(page, jobId).count()) === 0, "the session card goes away");
  await waitNoSessions(page);
  assert.equal(await text(byId(page, "summary-sessions")), "0");
  await until(() => world.fake.allocated(0) === 0, "fake GPU 0 memory freed");
  assert.equal(world.fake.state().devices[0].live_allocations, 0);
  assert.deepEqual((await api("GET", "/api/sessions")).body, { active_jobs: [] });
  assertClean();
});

test("bad input shows the form's or the server's message and starts nothing", async () => {
  const page = world.page;
  const before = { posts: world.posts };

  // The server judges VRAM: its message comes through unchanged.
  const reference = await api("POST", "/api/sessions",
                              { gpu_ids: null, vram: "12XB", interval: 300, busy_threshold: 25 });
  assert.equal(reference.status, 400);
  const serverMessage = reference.body.error.message;
  assert.match(serverMessage, /unknown unit: XB/);
  world.expectedErrors.push({ status: 400, pathname: "/api/sessions" });
  await submitStart(page, { vram: "12XB" });
  await waitMessage(page, /^Start failed: /);
  assert.equal(await messageOf(page), `Start failed: ${serverMessage}`);
  assert.equal(world.posts, before.posts + 1, "the VRAM value went to the server");
  // A failed start keeps what the user typed.
  assert.equal(await byId(page, "input-vram").inputValue(), "12XB");
  await typeInto(byId(page, "input-vram"), "1GiB");

  // Client-side checks: nothing is sent.
  await byId(page, "refresh-button").click();
  await waitMessage(page, /^Dashboard refreshed\.$/);
  await submitStart(page, { gpuIds: "a" });
  await waitMessage(page, /^Start failed: /);
  assert.equal(await messageOf(page),
               "Start failed: GPU IDs must be comma-separated visible ordinals, for example: 0,1");
  await typeInto(byId(page, "input-gpu-ids"), "");

  await byId(page, "refresh-button").click();
  await waitMessage(page, /^Dashboard refreshed\.$/);
  await submitStart(page, { interval: "+1" });
  await waitMessage(page, /^Start failed: /);
  assert.match(await messageOf(page),
               /^Start failed: Interval must be finite and positive(\. Use plain ASCII numbers without leading plus signs\.)?$/);
  await typeInto(byId(page, "input-interval"), "300");

  await byId(page, "refresh-button").click();
  await waitMessage(page, /^Dashboard refreshed\.$/);
  await submitStart(page, { busyThreshold: "-0" });
  await waitMessage(page, /^Start failed: /);
  assert.match(await messageOf(page),
               /^Start failed: Busy threshold must be -1 or an integer between 0 and 100(\. Use plain ASCII numbers without leading plus signs\.)?$/);
  await typeInto(byId(page, "input-busy-threshold"), "25");

  await byId(page, "refresh-button").click();
  await waitMessage(page, /^Dashboard refreshed\.$/);
  await submitStart(page, { vram: "" });
  await waitMessage(page, /^Start failed: /);
  assert.equal(await messageOf(page), "Start failed: VRAM value is required");
  await typeInto(byId(page, "input-vram"), "1GiB");

  await byId(page, "refresh-button").click();
  await waitMessage(page, /^Dashboard refreshed\.$/);
  await submitStart(page, { utilTarget: "150" });
  await waitMessage(page, /^Start failed: /);
  assert.match(await messageOf(page),
               /^Start failed: Utilization target must be an integer between 0 and 100(\. Use plain ASCII numbers without leading plus signs\.)?$/);
  await typeInto(byId(page, "input-util-target"), "0");

  await byId(page, "refresh-button").click();
  await waitMessage(page, /^Dashboard refreshed\.$/);
  await submitStart(page, { duration: "5x" });
  await waitMessage(page, /^Start failed: /);
  assert.equal(await messageOf(page),
               "Start failed: Time limit must be a length of time such as 90s, 45m, 4h or 1h30m");
  await typeInto(byId(page, "input-duration"), "");

  assert.equal(world.posts, before.posts + 1, "an invalid form was sent to the server");
  await waitNoSessions(page);
  assert.equal(world.fake.allocated(0), 0);
  assert.equal(world.fake.allocated(1), 0);
  assertClean();
});

test("Release All releases two sessions", async () => {
  const page = world.page;
  // The first keeps a 10% utilization target: sent as util_target and shown in its command.
  const first = await startSession(page, { gpuIds: "0", vram: "256MiB", utilTarget: "10" });
  assert.equal(await text(sessionCard(page, first).getByTestId("session-command")),
               "keep-gpu start --gpu-ids 0 --vram 256MiB --interval 300 --busy-threshold 25 --util-target 10");
  assert.equal((await api("GET", `/api/sessions/${first}`)).body.params.util_target, 10);
  assert.equal(await byId(page, "input-util-target").inputValue(), "0", "the form is reset after a start");
  // The second has a time limit: it is sent as seconds and shown with its end.
  const second = await startSession(page, { gpuIds: "1", vram: "512MiB", duration: "1h30m" });
  assert.notEqual(first, second);
  assert.equal(await page.getByTestId("session-card").count(), 2);
  assert.equal(await text(byId(page, "sessions-count")), "2 tracked");
  assert.equal(await text(sessionCard(page, second).getByTestId("session-command")),
               "keep-gpu start --gpu-ids 1 --vram 512MiB --interval 300 --busy-threshold 25 --duration 5400");
  const limited = (await api("GET", `/api/sessions/${second}`)).body;
  assert.equal(limited.params.duration, 5400);
  const left = (Date.parse(limited.ends_at) - Date.now()) / 1000;
  assert.ok(left > 5300 && left <= 5400, `ends_at ${limited.ends_at} is 1h30m ahead`);
  assert.match(await text(sessionCard(page, second).getByTestId("session-summary")),
               /^Visible GPUs 1 · 512MiB · 300s · threshold 25% · ends (\w{3} \d{1,2}, )?\d\d:\d\d( [AP]M)?$/);
  assert.equal(await byId(page, "input-duration").inputValue(), "", "the form is reset after a start");
  await until(() => world.fake.allocated(0) === 256 * MiB && world.fake.allocated(1) === 512 * MiB,
              "both sessions allocated on the fake GPUs");

  await until(() => byId(page, "release-all").isEnabled(), "Release All enabled");
  await byId(page, "release-all").click();
  const [, ids] = await waitMessage(page, /^Released sessions: (.+)\.$/, "Release All message");
  assert.deepEqual(ids.split(", ").sort(), [first, second].sort());
  await waitNoSessions(page);
  await until(() => world.fake.allocated(0) === 0 && world.fake.allocated(1) === 0,
              "both fake GPUs freed");
  assertClean();
});

test("auto refresh shows a session started elsewhere and its release", async () => {
  const page = world.page;
  const toggle = byId(page, "auto-refresh");
  assert.equal(await toggle.isChecked(), false, "auto refresh is off by default");
  assert.equal(await text(byId(page, "refresh-mode")), "manual refresh");
  await toggle.check();
  await until(async () => (await text(byId(page, "refresh-mode"))) === "auto 10s", "auto mode label");
  try {
    // A session started through the API (as the CLI would) appears without a click.
    const started = await api("POST", "/api/sessions",
                              { gpu_ids: [1], vram: "128MiB", interval: 0.5, busy_threshold: -1 });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const jobId = started.body.job_id;
    const card = sessionCard(page, jobId);
    await until(async () => (await card.count()) === 1, "the session shows up by itself", TELEMETRY_TIMEOUT);
    assert.equal(await text(card.getByTestId("session-command")),
                 "keep-gpu start --gpu-ids 1 --vram 128MiB --interval 0.5 --busy-threshold -1");
    assert.match(await text(card.getByTestId("session-summary")), /^Visible GPUs 1 · 128MiB · 0\.5s · threshold unconditional$/);
    const stopped = await api("DELETE", `/api/sessions/${jobId}`);
    assert.deepEqual(stopped.body.stopped, [jobId]);
    await until(async () => (await card.count()) === 0, "the released session goes away by itself", TELEMETRY_TIMEOUT);
  } finally {
    await toggle.uncheck();
  }
  await until(async () => (await text(byId(page, "refresh-mode"))) === "manual refresh", "manual mode label");
  await waitNoSessions(page);
  assert.equal(world.fake.allocated(1), 0);
  assertClean();
});

test("a 390px wide viewport does not scroll sideways (under a strict CSP)", async () => {
  const context = await world.browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    colorScheme: "light",
  });
  await watch(context, "narrow", { csp: true });
  try {
    const page = await context.newPage();
    const response = await page.goto(`${world.origin}/?token=${encodeURIComponent(world.token)}`);
    assert.equal(page.url(), `${world.origin}/`);
    assert.ok(response.headers()["content-security-policy"], "the page is served with a CSP");
    await until(async () => (await page.getByTestId("gpu-card").count()) === 2, "two GPU cards");
    // A session card with its long command line is on the page too.
    const jobId = await startSession(page, { gpuIds: "0,1", vram: "64MiB" });
    assert.equal(await text(sessionCard(page, jobId).getByTestId("session-command")),
                 "keep-gpu start --gpu-ids 0,1 --vram 64MiB --interval 300 --busy-threshold 25");
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
    }));
    assert.equal(innerWidth, 390);
    assert.ok(scrollWidth <= innerWidth, `the page is ${scrollWidth}px wide in a ${innerWidth}px viewport`);
    await screenshot(page, "narrow-390.png");

    await sessionCard(page, jobId).getByTestId("session-release").click();
    await waitMessage(page, /^Released session: /);
    await waitNoSessions(page);
    await until(() => world.fake.allocated(0) === 0 && world.fake.allocated(1) === 0, "memory freed");
  } finally {
    await context.close();
  }
  assertClean();
});

test("the theme toggle switches to dark and remembers it", async () => {
  const page = world.page;
  const html = page.locator("html");
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  // The context prefers a light scheme, so the page starts light.
  await until(async () => (await html.getAttribute("data-theme")) === "light", "light theme first");
  const light = await background();
  await byId(page, "theme-toggle").click();
  await until(async () => (await html.getAttribute("data-theme")) === "dark", "dark theme");
  assert.notEqual(await background(), light, "the dark theme changed nothing on the page");
  await page.reload();
  await until(async () => (await page.getByTestId("gpu-card").count()) === 2, "two GPU cards after reload");
  assert.equal(await html.getAttribute("data-theme"), "dark", "the choice is remembered");
  await screenshot(page, "desktop-dark.png");
  await byId(page, "theme-toggle").click();
  await until(async () => (await html.getAttribute("data-theme")) === "light", "back to light");
  assertClean();
});

test("no page logged an error or reached beyond the daemon", async () => {
  await world.page?.close();
  assertClean();
});

test("the daemon stops on SIGINT with status 0 and leaves nothing allocated", async () => {
  world.daemon.kill("SIGINT");
  const { code, signal } = await world.exited;
  assert.equal(signal, null, daemonLog());
  assert.equal(code, 0, daemonLog());
  assert.equal(world.fake.allocated(0), 0);
  assert.equal(world.fake.allocated(1), 0);
});
