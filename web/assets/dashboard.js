// KeepGPU dashboard. Talks only to the daemon's same-origin REST API; the auth
// cookie is set by the server, so plain fetch() is enough. No framework, no
// build step: the file is embedded into the keep-gpu binary as is.

const AUTO_REFRESH_MS = 10000;
const TIMEOUT_MS = { GET: 15000, POST: 15000, DELETE: 25000 };
const FORM_DEFAULTS = { gpuIds: "", vram: "1GiB", interval: "300", busyThreshold: "25", utilTarget: "0", duration: "" };
// The longest time limit the service takes: 366 days.
const MAX_DURATION_SECONDS = 366 * 24 * 3600;
const THEME_KEY = "keepgpu-dashboard-theme";
const SVG_NS = "http://www.w3.org/2000/svg";
const PLUS_HINT = ". Use plain ASCII numbers without leading plus signs.";

const STATE_LABELS = {
  active: "Active",
  starting: "Starting",
  stopping: "Releasing",
  runtime_failed: "Runtime failed",
  stop_failed: "Release failed",
};

// Everything the page shows is derived from this object; render functions read it.
const state = {
  gpus: [],
  gpusLoaded: false,
  sessions: [],
  // telemetryStatus: "pending" before the first answer, "ok", "missing" (404:
  // the daemon has no history endpoint, charts are hidden) or "error".
  telemetry: null,
  telemetryStatus: "pending",
  telemetryError: "",
  starting: false,
  stoppingAll: false,
  releasing: new Set(),
  refreshing: false,
  autoRefresh: false,
};

let refreshInFlight = null;
let autoTimer = null;
// Bumped whenever a user action reports a message, so that a refresh that was
// already running does not overwrite that message with its own result.
let messageEpoch = 0;

const $ = (id) => document.getElementById(id);

/* ------------------------------------------------------------------ HTTP */

// One request to the API. Every request carries Content-Type: application/json
// (the server refuses POST bodies without it); a body only when one is given.
async function request(method, path, body) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS[method] || 15000);
  let response;
  let text;
  try {
    response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
    });
    text = await response.text();
  } catch (error) {
    if (error && error.name === "AbortError") throw new Error("Request timed out");
    throw error instanceof Error ? error : new Error(String(error));
  } finally {
    clearTimeout(timer);
  }
  if (!response.ok) {
    const error = new Error(errorMessageFrom(response.status, text));
    error.status = response.status;
    throw error;
  }
  if (!text.trim()) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error("Invalid JSON in response");
  }
}

// Error text for a non-2xx answer, in the order the daemon's bodies suggest:
// error.message, a string error, a top-level message, then the raw body.
function errorMessageFrom(status, text) {
  const fallback = `Request failed (${status})`;
  if (!text || !text.trim()) return fallback;
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    return text.trim();
  }
  if (data && typeof data === "object" && !Array.isArray(data)) {
    const err = data.error;
    if (err && typeof err === "object" && typeof err.message === "string" && err.message.trim()) {
      return err.message.trim();
    }
    if (typeof err === "string" && err.trim()) return err.trim();
    if (typeof data.message === "string" && data.message.trim()) return data.message.trim();
    if ("error" in data || "message" in data) return fallback;
  }
  return text.trim();
}

/* ------------------------------------------------------------ formatting */

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

// 1024-based units; one decimal below 10, whole numbers from 10 up.
function formatBytes(value) {
  if (!isNumber(value) || value < 0) return "n/a";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size.toFixed(size >= 10 ? 0 : 1)} ${units[unit]}`;
}

function formatUtilization(value) {
  return isNumber(value) ? `${Math.round(value)}%` : "n/a";
}

function utilizationTone(value) {
  if (!isNumber(value)) return "tone-unknown";
  if (value >= 75) return "tone-high";
  if (value >= 40) return "tone-mid";
  return "tone-low";
}

function formatWatts(value) {
  if (!isNumber(value)) return "n/a";
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} W`;
}

function formatThreshold(value) {
  if (value === -1) return "unconditional";
  return isNumber(value) ? `${value}%` : "n/a";
}

function formatGpuTargets(ids) {
  return Array.isArray(ids) && ids.length > 0 ? ids.join(", ") : "all visible";
}

const PHASE_LABELS = {
  waiting: "Waiting",
  holding: "Holding",
  backing_off: "Backing off",
  releasing: "Releasing",
  released: "Released",
  failed: "Failed",
};

function sessionGpus(session) {
  return Array.isArray(session.gpus) ? session.gpus.filter(isObject) : [];
}

// An "active" session whose GPUs all wait holds nothing: it must not read as Active.
function sessionWaits(session) {
  const gpus = sessionGpus(session);
  return session.state === "active" && gpus.length > 0 && gpus.every((gpu) => gpu.phase === "waiting");
}

function sessionStateLabel(session) {
  const raw = session.state;
  if (sessionWaits(session)) return PHASE_LABELS.waiting;
  if (raw === undefined || raw === null || raw === "") return STATE_LABELS.active;
  return STATE_LABELS[raw] || String(raw);
}

// One line per GPU: what the driver holds for it and what its keeper is doing.
function sessionGpuList(session) {
  const gpus = sessionGpus(session);
  if (!gpus.length) return null;
  const items = gpus.map((gpu) => {
    const phase = typeof gpu.phase === "string" ? gpu.phase : "unknown";
    const held = isNumber(gpu.held_bytes) && gpu.held_bytes > 0 ? `${formatBytes(gpu.held_bytes)} held` : "nothing held";
    const detail = typeof gpu.detail === "string" && gpu.detail ? ` · ${gpu.detail}` : "";
    const item = el("li", { className: `session-gpu phase-${phase}`, testid: "session-gpu" }, [
      el("span", { className: "phase-badge", text: PHASE_LABELS[phase] || phase }),
      el("span", { text: `GPU ${gpu.id} · ${held}${detail}` }),
    ]);
    item.dataset.phase = phase;
    return item;
  });
  return el("ul", { className: "session-gpus", testid: "session-gpus" }, items);
}

// The explanatory line under a session card; null when the state needs none.
function sessionStateDetail(session) {
  const lastError = typeof session.last_error === "string" && session.last_error.trim() ? session.last_error : null;
  switch (session.state) {
    case "starting":
      return "Controller startup is still in progress.";
    case "stopping":
      return lastError || "Release is still completing in the background.";
    case "stop_failed":
      return lastError || "Release failed. Inspect the session before retrying.";
    case "runtime_failed":
      return lastError || "Keep worker failed after startup. Inspect the session before retrying.";
    default:
      return null;
  }
}

// "18:30" today, or "Dec 8, 18:30" on another day, in the browser's time zone.
function formatEnd(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return String(iso);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (at.toDateString() === new Date().toDateString()) return time;
  return `${at.toLocaleDateString([], { month: "short", day: "numeric" })}, ${time}`;
}

function sessionSummary(params, endsAt) {
  const p = isObject(params) ? params : {};
  const vram = p.vram === undefined || p.vram === null ? "n/a" : String(p.vram);
  const interval = p.interval === undefined || p.interval === null ? "n/a" : String(p.interval);
  const summary = `Visible GPUs ${formatGpuTargets(p.gpu_ids)} · ${vram} · ${interval}s · threshold ${formatThreshold(p.busy_threshold)}`;
  return typeof endsAt === "string" ? `${summary} · ends ${formatEnd(endsAt)}` : summary;
}

// Values that are safe as bare shell words are printed as given; anything else
// is single-quoted so the command can be pasted into a shell.
function shellWord(value) {
  const text = String(value);
  return /^[A-Za-z0-9._,+:@%/=-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}

// The CLI command that starts an equivalent session (a new job id is generated).
function sessionCommand(params) {
  const p = isObject(params) ? params : {};
  const parts = ["keep-gpu", "start"];
  if (Array.isArray(p.gpu_ids)) parts.push("--gpu-ids", shellWord(p.gpu_ids.join(",")));
  if (p.vram !== undefined && p.vram !== null) parts.push("--vram", shellWord(p.vram));
  if (p.interval !== undefined && p.interval !== null) parts.push("--interval", shellWord(p.interval));
  if (p.busy_threshold !== undefined && p.busy_threshold !== null) {
    parts.push("--busy-threshold", shellWord(p.busy_threshold));
  }
  if (typeof p.util_target === "number" && p.util_target > 0) parts.push("--util-target", shellWord(p.util_target));
  if (typeof p.duration === "number") parts.push("--duration", shellWord(p.duration));
  return parts.join(" ");
}

function sessionNoun(count) {
  return count === 1 ? "session" : "sessions";
}

// Footer text for a DELETE result: the lists first, then the backend message.
function formatStopResult(result) {
  const list = (value) => (Array.isArray(value) ? value.map(String) : []);
  const data = isObject(result) ? result : {};
  const timedOut = list(data.timed_out);
  const failed = list(data.failed);
  const stopped = list(data.stopped);
  let errors = [];
  if (Array.isArray(data.errors)) errors = data.errors.map(String);
  else if (isObject(data.errors)) errors = Object.entries(data.errors).map(([id, err]) => `${id}: ${String(err)}`);

  const parts = [];
  if (timedOut.length) parts.push(`Timed out stopping ${sessionNoun(timedOut.length)}: ${timedOut.join(", ")}.`);
  if (failed.length) parts.push(`Failed to release ${sessionNoun(failed.length)}: ${failed.join(", ")}.`);
  if (stopped.length) parts.push(`Released ${sessionNoun(stopped.length)}: ${stopped.join(", ")}.`);
  if (errors.length) parts.push(`Errors: ${errors.join("; ")}.`);
  if (parts.length) return parts.join(" ");
  if (typeof data.message === "string" && data.message.trim()) return data.message.trim();
  return "No sessions were released.";
}

/* --------------------------------------------------------------- message */

function showMessage(text) {
  $("message").textContent = text;
}

// A message caused by a user action; it wins over any refresh already running.
function announce(text) {
  messageEpoch += 1;
  showMessage(text);
}

/* ------------------------------------------------------------------ form */

// The numeric fields are text inputs: a type="number" input silently drops
// characters such as "+" in some browsers, so the user would not see why the
// value differs. Validation is ours alone (the form has novalidate).
function numberFieldText(input) {
  const raw = input.value.trim();
  // Signs, separators or non-ASCII digits get the extra hint.
  const hint = /[^0-9eE.-]/.test(raw) ? PLUS_HINT : "";
  return { raw, hint };
}

function parseGpuIds(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  const parts = trimmed.split(",").map((part) => part.trim());
  if (parts.some((part) => !/^[0-9]+$/.test(part))) {
    throw new Error("GPU IDs must be comma-separated visible ordinals, for example: 0,1");
  }
  return parts.map((part) => Number.parseInt(part, 10));
}

function parseInterval(input) {
  const { raw, hint } = numberFieldText(input);
  const message = "Interval must be finite and positive";
  if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(raw)) throw new Error(message + hint);
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(message + hint);
  return value;
}

function parseBusyThreshold(input) {
  const { raw, hint } = numberFieldText(input);
  const message = "Busy threshold must be -1 or an integer between 0 and 100";
  if (!/^-?[0-9]+$/.test(raw)) throw new Error(message + hint);
  const value = Number.parseInt(raw, 10);
  // "-0" is rejected explicitly: a negative sign is only meaningful for -1.
  if (raw.startsWith("-") && value === 0) throw new Error(message + hint);
  if (value !== -1 && (value < 0 || value > 100)) throw new Error(message + hint);
  return value;
}

function parseUtilTarget(input) {
  const { raw, hint } = numberFieldText(input);
  const message = "Utilization target must be an integer between 0 and 100";
  if (!/^[0-9]+$/.test(raw)) throw new Error(message + hint);
  const value = Number.parseInt(raw, 10);
  if (value > 100) throw new Error(message + hint);
  return value;
}

// "90s", "45m", "4h", "1h30m", "1.5h" or a number of seconds, as `keep-gpu --duration` takes it;
// empty means no limit (null).
function parseDuration(input) {
  const raw = input.value.trim();
  if (!raw) return null;
  const message = "Time limit must be a length of time such as 90s, 45m, 4h or 1h30m";
  const unit = { s: 1, m: 60, h: 3600, d: 86400 };
  let seconds;
  if (/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)$/.test(raw)) {
    seconds = Number(raw);
  } else if (/^(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)[smhd])+$/.test(raw)) {
    seconds = 0;
    for (const [, number, letter] of raw.matchAll(/([0-9.]+)([smhd])/g)) seconds += Number(number) * unit[letter];
  } else {
    throw new Error(message);
  }
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(message);
  if (seconds > MAX_DURATION_SECONDS) throw new Error("Time limit must be at most 366 days");
  return seconds;
}

// Reads and validates the form; throws with the user-facing message.
function buildStartPayload() {
  const gpuIds = parseGpuIds($("input-gpu-ids").value);
  const vram = $("input-vram").value.trim();
  if (!vram) throw new Error("VRAM value is required");
  const interval = parseInterval($("input-interval"));
  const busyThreshold = parseBusyThreshold($("input-busy-threshold"));
  const utilTarget = parseUtilTarget($("input-util-target"));
  const duration = parseDuration($("input-duration"));
  const payload = { gpu_ids: gpuIds, vram, interval, busy_threshold: busyThreshold };
  // Only a real target is sent, so a default start asks for upstream's pattern, as before.
  if (utilTarget > 0) payload.util_target = utilTarget;
  if (duration !== null) payload.duration = duration;
  return payload;
}

function resetForm() {
  $("input-gpu-ids").value = FORM_DEFAULTS.gpuIds;
  $("input-vram").value = FORM_DEFAULTS.vram;
  $("input-interval").value = FORM_DEFAULTS.interval;
  $("input-busy-threshold").value = FORM_DEFAULTS.busyThreshold;
  $("input-util-target").value = FORM_DEFAULTS.utilTarget;
  $("input-duration").value = FORM_DEFAULTS.duration;
}

/* --------------------------------------------------------------- refresh */

// Fetches the three resources in parallel and applies each one on its own:
// a failed or malformed half keeps its last good data. Returns the first
// warning text, or null.
async function loadDashboard() {
  const [gpus, sessions, telemetry] = await Promise.allSettled([
    request("GET", "/api/gpus"),
    request("GET", "/api/sessions"),
    // A daemon without the history endpoint answered 404 once; do not keep
    // asking (each failed request is logged by the browser).
    state.telemetryStatus === "missing" ? Promise.reject(Object.assign(new Error("Unknown endpoint"), { status: 404 })) : request("GET", "/api/telemetry"),
  ]);
  const warnings = [];

  if (gpus.status === "fulfilled") {
    if (isObject(gpus.value) && Array.isArray(gpus.value.gpus)) state.gpus = gpus.value.gpus.filter(isObject);
    else warnings.push("malformed GPU list response");
  } else {
    warnings.push(gpus.reason.message);
  }
  state.gpusLoaded = true;

  if (sessions.status === "fulfilled") {
    if (isObject(sessions.value) && Array.isArray(sessions.value.active_jobs)) {
      state.sessions = sessions.value.active_jobs.filter(isObject);
    } else {
      warnings.push("malformed session list response");
    }
  } else {
    warnings.push(sessions.reason.message);
  }

  // History is optional: its failure never produces a refresh warning.
  if (telemetry.status === "fulfilled" && isObject(telemetry.value) && Array.isArray(telemetry.value.gpus)) {
    state.telemetry = telemetry.value;
    state.telemetryStatus = "ok";
  } else if (telemetry.status === "rejected" && telemetry.reason.status === 404) {
    state.telemetry = null;
    state.telemetryStatus = "missing";
  } else {
    state.telemetryStatus = state.telemetry ? "ok" : "error";
    state.telemetryError =
      telemetry.status === "rejected" ? telemetry.reason.message : "malformed telemetry response";
  }

  renderAll();
  return warnings.length ? warnings[0] : null;
}

function startLoad() {
  state.refreshing = true;
  renderRefreshControls();
  refreshInFlight = loadDashboard()
    .catch((error) => (error && error.message) || String(error))
    .finally(() => {
      refreshInFlight = null;
      state.refreshing = false;
      renderRefreshControls();
    });
  return refreshInFlight;
}

// Ordinary refreshes share one in-flight request. A refresh after a mutation
// waits for any running one and then fetches again, so it sees the change; it
// leaves the footer alone because the mutation's message must stay.
async function refresh({ userInitiated = false, afterMutation = false } = {}) {
  const epoch = messageEpoch;
  if (afterMutation) {
    while (refreshInFlight) await refreshInFlight;
    await startLoad();
    return;
  }
  const warning = await (refreshInFlight || startLoad());
  if (epoch !== messageEpoch) return;
  if (warning) showMessage(`Refresh warning: ${warning}`);
  else if (userInitiated) showMessage("Dashboard refreshed.");
}

// Polls only while enabled and the tab is visible; the label says which.
function syncAutoRefresh() {
  const visible = document.visibilityState !== "hidden";
  const run = state.autoRefresh && visible;
  if (run && !autoTimer) autoTimer = setInterval(() => refresh(), AUTO_REFRESH_MS);
  if (!run && autoTimer) {
    clearInterval(autoTimer);
    autoTimer = null;
  }
  $("refresh-mode").textContent = !state.autoRefresh ? "manual refresh" : visible ? "auto 10s" : "auto paused";
}

/* ------------------------------------------------------------- mutations */

async function onStartSubmit(event) {
  event.preventDefault();
  if (state.starting || state.stoppingAll) return;
  let payload;
  try {
    payload = buildStartPayload();
  } catch (error) {
    announce(`Start failed: ${error.message}`);
    return;
  }
  state.starting = true;
  renderFormControls();
  try {
    const result = await request("POST", "/api/sessions", payload);
    announce(`Session started: ${isObject(result) ? result.job_id : ""}`);
    resetForm();
    await refresh({ afterMutation: true });
  } catch (error) {
    announce(`Start failed: ${error.message}`);
  } finally {
    state.starting = false;
    renderFormControls();
  }
}

async function onReleaseAll() {
  if (!canReleaseAll()) return;
  state.stoppingAll = true;
  renderFormControls();
  renderSessions();
  try {
    const result = await request("DELETE", "/api/sessions");
    announce(formatStopResult(result));
    await refresh({ afterMutation: true });
  } catch (error) {
    announce(`Stop-all failed: ${error.message}`);
  } finally {
    state.stoppingAll = false;
    renderFormControls();
    renderSessions();
  }
}

async function onRelease(jobId) {
  if (state.releasing.has(jobId) || state.stoppingAll) return;
  state.releasing.add(jobId);
  renderFormControls();
  renderSessions();
  try {
    // Valid job ids are URL-path-safe, so the id goes into the path as is.
    const result = await request("DELETE", `/api/sessions/${jobId}`);
    announce(formatStopResult(result));
    await refresh({ afterMutation: true });
  } catch (error) {
    announce(`Release failed (${jobId}): ${error.message}`);
  } finally {
    state.releasing.delete(jobId);
    renderFormControls();
    renderSessions();
  }
}

async function copyCommand(button, text) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copy failed";
  }
  setTimeout(() => {
    button.textContent = "Copy";
  }, 1500);
}

/* ------------------------------------------------------------- rendering */

function el(tag, { className, testid, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (testid) node.dataset.testid = testid;
  if (text !== undefined) node.textContent = text;
  if (attrs) for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  for (const child of children) if (child) node.append(child);
  return node;
}

function isReleasing(session) {
  return session.state === "stopping" || state.releasing.has(String(session.job_id));
}

// Release All is useful only when some tracked session is not already on its way out.
function canReleaseAll() {
  return !state.stoppingAll && state.sessions.some((session) => !isReleasing(session));
}

function renderSummary() {
  $("summary-gpus").textContent = String(state.gpus.length);
  $("summary-sessions").textContent = String(state.sessions.length);
  const known = state.gpus.map((gpu) => gpu.utilization).filter(isNumber);
  $("summary-utilization").textContent = known.length
    ? `${Math.round(known.reduce((sum, value) => sum + value, 0) / known.length)}%`
    : "n/a";
}

function renderFormControls() {
  const start = $("start-button");
  start.disabled = state.starting || state.stoppingAll;
  start.textContent = state.starting ? "Starting..." : "Start Keepalive";
  const releaseAll = $("release-all");
  releaseAll.disabled = !canReleaseAll();
  releaseAll.textContent = state.stoppingAll ? "Releasing..." : "Release All";
}

function renderRefreshControls() {
  const button = $("refresh-button");
  button.disabled = state.refreshing;
  button.textContent = state.refreshing ? "Refreshing..." : "Refresh Now";
}

function sessionCard(session) {
  const jobId = String(session.job_id);
  const stateKey = sessionWaits(session) ? "waiting" : typeof session.state === "string" && session.state ? session.state : "active";
  const busy = isReleasing(session) || state.stoppingAll;
  const detail = sessionStateDetail(session);
  const command = sessionCommand(session.params);

  const release = el("button", {
    className: "btn btn-danger",
    testid: "session-release",
    text: busy ? "Releasing..." : "Release",
    attrs: { type: "button", "aria-label": `Release ${jobId}` },
  });
  release.disabled = busy;
  release.addEventListener("click", () => onRelease(jobId));

  const copy = el("button", {
    className: "btn btn-ghost btn-small",
    text: "Copy",
    attrs: { type: "button", "aria-label": `Copy the command for ${jobId}` },
  });
  copy.addEventListener("click", () => copyCommand(copy, command));

  const card = el("article", { className: `session-card state-${stateKey}`, testid: "session-card" }, [
    el("div", { className: "session-head" }, [
      el("div", { className: "session-title" }, [
        el("h3", { className: "session-id", testid: "session-id", text: jobId }),
        el("span", { className: `state-badge state-${stateKey}`, testid: "session-state", text: sessionStateLabel(session) }),
      ]),
      release,
    ]),
    el("p", { className: "session-summary", testid: "session-summary", text: sessionSummary(session.params, session.ends_at) }),
    detail ? el("p", { className: "session-detail", testid: "session-detail", text: detail }) : null,
    sessionGpuList(session),
    el("div", { className: "command-row" }, [
      el("code", { className: "session-command", testid: "session-command", text: command }),
      copy,
    ]),
  ]);
  card.dataset.jobId = jobId;
  return card;
}

// Rebuilds the list; keyboard focus on a card's button survives the rebuild.
function renderSessions() {
  const list = $("session-list");
  const focused = document.activeElement;
  const focusCard = focused && list.contains(focused) ? focused.closest("[data-job-id]") : null;
  const focusKey = focusCard ? [focusCard.dataset.jobId, focused.dataset.testid || focused.textContent] : null;

  $("sessions-count").textContent = `${state.sessions.length} tracked`;
  const nodes = state.sessions.length
    ? state.sessions.map(sessionCard)
    : [el("p", { className: "empty-note", testid: "sessions-empty", text: "No active keepalive sessions." })];
  list.replaceChildren(...nodes);

  if (focusKey) {
    const card = [...list.querySelectorAll("[data-job-id]")].find((node) => node.dataset.jobId === focusKey[0]);
    const target = card && [...card.querySelectorAll("button")].find(
      (button) => (button.dataset.testid || button.textContent) === focusKey[1],
    );
    if (target && !target.disabled) target.focus();
  }
}

function gpuOrdinal(gpu) {
  return gpu.visible_id !== undefined && gpu.visible_id !== null ? gpu.visible_id : gpu.id;
}

function gpuCard(gpu) {
  const ordinal = gpuOrdinal(gpu);
  let extra = "";
  if (gpu.physical_id !== undefined && gpu.physical_id !== null && gpu.physical_id !== ordinal) {
    extra += ` (physical ${gpu.physical_id})`;
  }
  if (gpu.platform !== undefined && gpu.platform !== null) extra += ` · ${gpu.platform}`;

  const util = isNumber(gpu.utilization) ? gpu.utilization : null;
  const utilBlock = el("div", { className: "gpu-util" }, [
    el("span", { className: `util-label ${utilizationTone(util)}`, testid: "gpu-utilization", text: formatUtilization(util) }),
    el("span", { className: "util-caption", text: "utilization" }),
  ]);
  let bar = null;
  if (util !== null) {
    const fill = el("div", { className: `util-bar ${utilizationTone(util)}`, testid: "gpu-utilization-bar" });
    fill.style.width = `${Math.min(100, Math.max(0, util))}%`;
    bar = el("div", { className: "util-track", attrs: { "aria-hidden": "true" } }, [fill]);
  }

  const card = el("article", { className: "gpu-card", testid: "gpu-card" }, [
    el("div", { className: "gpu-head" }, [
      el("div", { className: "gpu-titles" }, [
        el("h3", { className: "gpu-identity", testid: "gpu-identity" }, [
          el("span", { className: "gpu-ordinal", text: `GPU ${ordinal}` }),
          extra ? el("span", { className: "gpu-extra", text: extra }) : null,
        ]),
        el("p", { className: "gpu-name", testid: "gpu-name", text: String(gpu.name ?? "") }),
        typeof gpu.uuid === "string" && gpu.uuid ? el("p", { className: "gpu-uuid", text: gpu.uuid }) : null,
      ]),
      utilBlock,
    ]),
    bar,
    el("div", { className: "gpu-stats" }, [
      el("p", {
        className: "gpu-memory",
        testid: "gpu-memory",
        text: `${formatBytes(gpu.memory_used)} / ${formatBytes(gpu.memory_total)} used`,
      }),
      gpuSensors(gpu),
    ]),
    gpuCharts(gpu, ordinal),
  ]);
  card.dataset.gpuId = String(ordinal);
  return card;
}

// Power and temperature, when the backend reports them (optional fields).
function gpuSensors(gpu) {
  const parts = [];
  if (isNumber(gpu.power_watts)) parts.push(formatWatts(gpu.power_watts));
  if (isNumber(gpu.temperature_c)) parts.push(`${Math.round(gpu.temperature_c)} °C`);
  return parts.length ? el("p", { className: "gpu-sensors", text: parts.join(" · ") }) : null;
}

function renderGpus() {
  const list = $("gpu-list");
  if (!state.gpusLoaded) return;
  // The old charts are about to be replaced; stop watching their sizes.
  if (chartObserver) chartObserver.disconnect();
  const nodes = state.gpus.length
    ? state.gpus.map(gpuCard)
    : [el("p", { className: "empty-note", testid: "gpus-empty", text: "No GPU telemetry available." })];
  list.replaceChildren(...nodes);

  const note = $("telemetry-note");
  if (state.telemetryStatus === "error") {
    note.textContent = `History unavailable: ${state.telemetryError}`;
    note.hidden = false;
  } else {
    note.hidden = true;
  }
}

function renderAll() {
  renderSummary();
  renderFormControls();
  renderSessions();
  renderGpus();
}

/* ---------------------------------------------------------------- charts */

// Chart geometry in CSS pixels. The SVG's viewBox is kept equal to its
// rendered size (see chartObserver), so text and strokes are never stretched.
const CHART = { height: 112, left: 46, right: 10, top: 10, bottom: 20, fallbackWidth: 300 };

// Redraws each chart when its width changes (layout, window resize).
const chartDrawers = new WeakMap();
const chartObserver =
  typeof ResizeObserver === "function"
    ? new ResizeObserver((entries) => {
        for (const entry of entries) {
          const draw = chartDrawers.get(entry.target);
          if (draw) draw(Math.round(entry.contentRect.width));
        }
      })
    : null;

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// A round upper bound for the y axis (1, 2, 2.5, 5 times a power of ten).
function niceCeil(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function formatAgo(seconds) {
  return seconds >= 120 ? `${Math.round(seconds / 60)} min ago` : `${Math.round(seconds)} s ago`;
}

// Telemetry for one GPU: its samples sorted by time plus the x-axis window.
function historyFor(ordinal) {
  const data = state.telemetry;
  const entry = data && data.gpus.find((item) => isObject(item) && item.id === ordinal);
  const samples = entry && Array.isArray(entry.samples)
    ? entry.samples.filter((s) => isObject(s) && isNumber(s.t)).sort((a, b) => a.t - b.t)
    : [];
  const viewed = data && isNumber(data.period_seconds) && data.period_seconds > 0 ? data.period_seconds : 5;
  // Unwatched, the daemon samples more slowly; only a gap longer than that breaks a line.
  const background = data && isNumber(data.background_period_seconds) ? data.background_period_seconds : 0;
  const period = Math.max(viewed, background);
  const windowSeconds = data && isNumber(data.window_seconds) && data.window_seconds > 0 ? data.window_seconds : 600;
  const lastT = samples.length ? samples[samples.length - 1].t : Date.now() / 1000;
  const end = data && isNumber(data.now) ? Math.max(data.now, lastT) : lastT;
  // The x axis covers the history there is (whole minutes, at least 2), up to the daemon's
  // window, so a fresh page shows a readable line instead of a dot at the right edge.
  const firstT = samples.length ? samples[0].t : end;
  const shown = Math.min(windowSeconds, Math.max(120, Math.ceil((end - firstT) / 60) * 60));
  return { entry, samples, period, windowSeconds: shown, start: end - shown, end };
}

// Splits a series into runs of consecutive readings; a null reading or a gap
// of several sampling periods (sampling paused) breaks the line.
function segments(samples, key, period) {
  const runs = [];
  let run = [];
  let previousT = null;
  for (const sample of samples) {
    const value = sample[key];
    const gap = previousT !== null && sample.t - previousT > period * 2.5;
    if (!isNumber(value) || gap) {
      if (run.length) runs.push(run);
      run = [];
    }
    if (isNumber(value)) run.push([sample.t, value]);
    previousT = sample.t;
  }
  if (run.length) runs.push(run);
  return runs;
}

function drawSeries(svg, runs, scaleX, scaleY, base, className, area) {
  for (const run of runs) {
    const points = run.map(([t, v]) => `${scaleX(t).toFixed(1)},${scaleY(v).toFixed(1)}`);
    if (run.length === 1) {
      const [t, v] = run[0];
      svg.append(svgEl("circle", { class: `dot ${className}`, cx: scaleX(t).toFixed(1), cy: scaleY(v).toFixed(1), r: 2 }));
      continue;
    }
    if (area) {
      const first = scaleX(run[0][0]).toFixed(1);
      const last = scaleX(run[run.length - 1][0]).toFixed(1);
      svg.append(svgEl("path", { class: `area ${className}`, d: `M${first},${base} L${points.join(" L")} L${last},${base} Z` }));
    }
    svg.append(svgEl("path", { class: `line ${className}`, d: `M${points.join(" L")}` }));
  }
  // Mark the newest reading so the current value is easy to find.
  const lastRun = runs[runs.length - 1];
  if (lastRun && lastRun.length > 1) {
    const [t, v] = lastRun[lastRun.length - 1];
    svg.append(svgEl("circle", { class: `dot ${className}`, cx: scaleX(t).toFixed(1), cy: scaleY(v).toFixed(1), r: 2.5 }));
  }
}

// Draws the frame, the minimal labels and the series at the given width.
function drawChart(svg, width, { history, series, yMax, formatY }) {
  const { samples, period, windowSeconds, start, end } = history;
  const { height, left, right, top, bottom } = CHART;
  const plotRight = width - right;
  const base = height - bottom;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();

  svg.append(svgEl("line", { class: "grid", x1: left, x2: plotRight, y1: top, y2: top }));
  svg.append(svgEl("line", { class: "grid", x1: left, x2: plotRight, y1: (top + base) / 2, y2: (top + base) / 2 }));
  svg.append(svgEl("line", { class: "axis", x1: left, x2: plotRight, y1: base, y2: base }));
  svg.append(svgEl("text", { class: "tick", x: left - 6, y: top + 4, "text-anchor": "end" }, formatY(yMax)));
  svg.append(svgEl("text", { class: "tick", x: left - 6, y: base + 4, "text-anchor": "end" }, "0"));
  svg.append(svgEl("text", { class: "tick", x: left, y: height - 5, "text-anchor": "start" }, formatAgo(windowSeconds)));
  svg.append(svgEl("text", { class: "tick", x: plotRight, y: height - 5, "text-anchor": "end" }, "now"));

  const runsBySeries = series.map((item) => segments(samples, item.key, period));
  if (!samples.length || !runsBySeries.some((runs) => runs.length > 0)) {
    let note = "n/a: not reported by this GPU";
    if (!samples.length) note = state.telemetryStatus === "error" ? "n/a: history unavailable" : "No samples yet";
    svg.append(svgEl("text", { class: "empty", x: (left + plotRight) / 2, y: (top + base) / 2 + 4, "text-anchor": "middle" }, note));
    return;
  }
  const span = Math.max(end - start, 1);
  const scaleX = (t) => left + ((Math.min(Math.max(t, start), end) - start) / span) * (plotRight - left);
  const scaleY = (v) => base - (Math.min(Math.max(v, 0), yMax) / yMax) * (base - top);
  series.forEach((item, index) => drawSeries(svg, runsBySeries[index], scaleX, scaleY, base, item.className, item.area));
}

// One chart: a figure with a caption (title, legend with the latest values)
// and an inline SVG. `series` lists {key, label, className, area, format}.
function chartFigure(options) {
  const { testid, title, history, series } = options;
  const { samples, windowSeconds } = history;
  const latest = samples.length ? samples[samples.length - 1] : null;

  const legend = el("ul", { className: "legend" });
  for (const item of series) {
    legend.append(
      el("li", { className: `legend-item ${item.className}` }, [
        el("span", { className: "swatch", attrs: { "aria-hidden": "true" } }),
        el("span", { className: "legend-label", text: item.label }),
        el("span", { className: "legend-value", text: latest ? item.format(latest[item.key]) : "–" }),
      ]),
    );
  }

  const svg = svgEl("svg", { class: "chart-svg", role: "img", "data-testid": testid, "data-samples": samples.length });
  const description = samples.length
    ? series.map((item) => `${item.label} ${item.format(latest[item.key])}`).join(", ")
    : "no samples yet";
  svg.setAttribute("aria-label", `${title}, last ${formatAgo(windowSeconds).replace(" ago", "")}: ${description}`);

  // Draw once right away (so the content exists immediately), then again at
  // the real width once layout is known.
  let drawnWidth = 0;
  const draw = (width) => {
    if (width <= 0 || width === drawnWidth) return;
    drawnWidth = width;
    drawChart(svg, width, options);
  };
  draw(CHART.fallbackWidth);
  chartDrawers.set(svg, draw);
  if (chartObserver) chartObserver.observe(svg);

  return el("figure", { className: "chart" }, [
    el("figcaption", { className: "chart-caption" }, [el("span", { className: "chart-title", text: title }), legend]),
    svg,
  ]);
}

// The three history charts of a GPU card; none when the daemon has no
// telemetry endpoint.
function gpuCharts(gpu, ordinal) {
  if (state.telemetryStatus === "missing") return null;
  const history = historyFor(ordinal);
  const { samples, entry } = history;

  const memoryValues = samples.flatMap((s) => [s.memory_used, s.memory_held]).filter(isNumber);
  const total = entry && isNumber(entry.memory_total) && entry.memory_total > 0
    ? entry.memory_total
    : isNumber(gpu.memory_total) && gpu.memory_total > 0 ? gpu.memory_total : niceCeil(Math.max(1, ...memoryValues) * 1.1);
  const powerValues = samples.map((s) => s.power_watts).filter(isNumber);

  const utilization = chartFigure({
    testid: "chart-utilization",
    title: "Utilization",
    history,
    yMax: 100,
    formatY: (v) => `${v}%`,
    series: [{ key: "utilization", label: "busy", className: "series-util", area: true, format: formatUtilization }],
  });
  const memory = chartFigure({
    testid: "chart-memory",
    title: "Memory",
    history,
    yMax: total,
    formatY: formatBytes,
    series: [
      { key: "memory_used", label: "used", className: "series-used", area: true, format: formatBytes },
      { key: "memory_held", label: "held by keep-gpu", className: "series-held", area: true, format: formatBytes },
    ],
  });
  const latest = samples.length ? samples[samples.length - 1] : null;
  const memorySvg = memory.querySelector("svg");
  memorySvg.setAttribute("data-latest-held", latest && isNumber(latest.memory_held) ? String(latest.memory_held) : "");
  memorySvg.setAttribute("data-latest-used", latest && isNumber(latest.memory_used) ? String(latest.memory_used) : "");
  const power = chartFigure({
    testid: "chart-power",
    title: "Power",
    history,
    yMax: niceCeil(Math.max(10, ...powerValues) * 1.1),
    formatY: (v) => `${v} W`,
    series: [{ key: "power_watts", label: "draw", className: "series-power", area: false, format: formatWatts }],
  });
  return el("div", { className: "gpu-charts" }, [utilization, memory, power]);
}

/* ----------------------------------------------------------------- theme */

function storedTheme() {
  try {
    const value = window.localStorage.getItem(THEME_KEY);
    return value === "light" || value === "dark" ? value : null;
  } catch {
    return null;
  }
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  const toggle = $("theme-toggle");
  toggle.textContent = theme === "dark" ? "Light theme" : "Dark theme";
  toggle.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
}

// Follows the system preference until the user picks a theme, then remembers it.
function initTheme() {
  const media = window.matchMedia("(prefers-color-scheme: dark)");
  applyTheme(storedTheme() || (media.matches ? "dark" : "light"));
  media.addEventListener("change", (event) => {
    if (!storedTheme()) applyTheme(event.matches ? "dark" : "light");
  });
  $("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    try {
      window.localStorage.setItem(THEME_KEY, next);
    } catch {
      // Storage may be unavailable; the choice then lasts for this page only.
    }
    applyTheme(next);
  });
}

/* ------------------------------------------------------------------ init */

function init() {
  initTheme();
  $("service-origin").textContent = window.location.origin;
  $("start-form").addEventListener("submit", onStartSubmit);
  $("release-all").addEventListener("click", onReleaseAll);
  $("refresh-button").addEventListener("click", () => refresh({ userInitiated: true }));
  $("auto-refresh").checked = false;
  $("auto-refresh").addEventListener("change", (event) => {
    state.autoRefresh = event.target.checked;
    syncAutoRefresh();
  });
  document.addEventListener("visibilitychange", () => {
    // Coming back to a hidden tab with auto refresh on: catch up at once.
    if (state.autoRefresh && document.visibilityState === "visible" && !autoTimer) refresh();
    syncAutoRefresh();
  });
  syncAutoRefresh();
  renderFormControls();
  refresh();
}

init();
