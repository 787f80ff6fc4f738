// keep-gpu's MCP server driven by the official MCP SDK client, over stdio and over the daemon's
// Streamable HTTP endpoint /mcp, against the fake NVIDIA libraries (no GPU needed):
// initialize, list the tools, start a keep session on a fake GPU, read its status, stop it, and
// see a tool error for bad input.
//
//   KEEP_GPU_BUILD=<build dir> node --test interop.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { MiB, binPath, fakeDevice, fakeNvidia, freePort } from "../js/fakegpu.mjs";

// One fake idle 16 GiB GPU in a temporary HOME and runtime directory; the state file shows what
// the product allocated.
function fakeGpu() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keepgpu-mcp-"));
  const runtime = path.join(dir, "run");
  fs.mkdirSync(runtime, { mode: 0o700 });
  const fake = fakeNvidia(dir, [fakeDevice(0)]);
  const env = { PATH: process.env.PATH, HOME: dir, XDG_RUNTIME_DIR: runtime, ...fake.env };
  return { dir, env, runtime, state: fake.state };
}

async function waitFor(predicate, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await predicate()) return;
    } catch { /* not there yet */ }
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function textOf(result) {
  assert.equal(result.content[0].type, "text");
  return result.content[0].text;
}

// The scenario both transports must pass.
async function exercise(client, fake) {
  const { tools } = await client.listTools();
  assert.deepEqual(tools.map((t) => t.name), ["start_keep", "stop_keep", "status", "list_gpus"]);
  assert.ok(tools.every((t) => t.outputSchema?.type === "object"));

  const gpus = await client.callTool({ name: "list_gpus", arguments: {} });
  assert.equal(gpus.isError, false);
  assert.equal(gpus.structuredContent.gpus[0].name, "Fake GPU 0");

  const started = await client.callTool({
    name: "start_keep",
    arguments: { job_id: "sdk-job", gpu_ids: [0], vram: "64MiB", busy_threshold: -1 },
  });
  assert.equal(started.isError, false, textOf(started));
  assert.deepEqual(started.structuredContent, { job_id: "sdk-job" });
  assert.deepEqual(JSON.parse(textOf(started)), { job_id: "sdk-job" });
  await waitFor(() => fake.state().devices[0].allocated_bytes === 64 * MiB);

  const status = await client.callTool({ name: "status", arguments: { job_id: "sdk-job" } });
  assert.equal(status.isError, false);
  assert.equal(status.structuredContent.active, true);
  assert.equal(status.structuredContent.state, "active");
  assert.deepEqual(status.structuredContent.params,
                   { gpu_ids: [0], vram: "64MiB", interval: 300, busy_threshold: -1 });

  const stopped = await client.callTool({ name: "stop_keep", arguments: { job_id: "sdk-job" } });
  assert.deepEqual(stopped.structuredContent.stopped, ["sdk-job"]);
  assert.equal(fake.state().devices[0].allocated_bytes, 0);

  const bad = await client.callTool({ name: "start_keep", arguments: { vram: "abc" } });
  assert.equal(bad.isError, true);
  assert.equal(textOf(bad), "invalid format: abc, should be like '1000 MB'");
  const after = await client.callTool({ name: "status", arguments: {} });
  assert.deepEqual(after.structuredContent, { active_jobs: [] });
}

test("official SDK client over stdio", async () => {
  const fake = fakeGpu();
  const transport = new StdioClientTransport({
    command: binPath("keep-gpu-mcp-server"), args: [], env: fake.env, stderr: "pipe",
  });
  const client = new Client({ name: "keepgpu-interop", version: "1.0.0" });
  await client.connect(transport);
  assert.equal(client.getServerVersion().name, "keepgpu");
  await exercise(client, fake);
  await client.close();
});

test("official SDK client over Streamable HTTP with the bearer token", async () => {
  const fake = fakeGpu();
  const port = await freePort();
  const daemon = spawn(binPath("keep-gpu-mcp-server"), ["--mode", "http", "--port", String(port)],
                       { env: fake.env, stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  daemon.stderr.on("data", (d) => { log += d; });
  daemon.stdout.on("data", (d) => { log += d; });
  const exited = new Promise((resolve) => daemon.on("exit", (code) => resolve(code)));
  try {
    const tokenFile = path.join(fake.runtime, "keep-gpu", "token");
    await waitFor(async () => {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      return r.ok && fs.existsSync(tokenFile);
    });
    const url = new URL(`http://127.0.0.1:${port}/mcp`);

    // Without the token the endpoint refuses the client.
    const anonymous = new Client({ name: "keepgpu-interop", version: "1.0.0" });
    await assert.rejects(anonymous.connect(new StreamableHTTPClientTransport(url)));

    const token = fs.readFileSync(tokenFile, "utf8").trim();
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: "keepgpu-interop", version: "1.0.0" });
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, "keepgpu");
    assert.ok(transport.sessionId, "the server assigns an Mcp-Session-Id");
    await exercise(client, fake);
    await transport.terminateSession();
    await client.close();
  } finally {
    daemon.kill("SIGINT");
    const code = await exited;
    assert.equal(code, 0, log);
  }
});
