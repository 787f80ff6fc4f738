// What the node test packages (tests/mcp, tests/web) share: where the built binaries and fake
// vendor libraries are, a fake NVIDIA host (the scenario files of tests/fakes/README.md, as
// tests/e2e/fakegpu.py writes them), a clean environment and a free port. Node's standard
// library only, so each package imports it by relative path without installing anything.
//
// KEEP_GPU_BUILD names the build folder (default: <repo>/build).
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const buildDir = path.resolve(process.env.KEEP_GPU_BUILD ?? path.join(here, "..", "..", "build"));
export const fakesDir = path.join(buildDir, "tests", "fakes");
export const binPath = (name) => path.join(buildDir, "bin", name);

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

// One `devices` entry with the fakes' defaults spelled out; `fields` override them.
export function fakeDevice(index, fields = {}) {
  return {
    name: `Fake GPU ${index}`,
    uuid: `GPU-00000000-0000-0000-0000-${index.toString(16).padStart(12, "0")}`,
    total_memory: 16 * GiB,
    ...fields,
  };
}

// A host with these NVIDIA devices: the config file the fakes read, the state file they write,
// and the environment that points the product at them (the AMD overrides name files that do
// not exist, so the host has one vendor). Files go under `dir`.
export function fakeNvidia(dir, devices) {
  const fakeDir = path.join(dir, "fake");
  fs.mkdirSync(fakeDir, { recursive: true });
  const libcuda = path.join(fakesDir, "libcuda.so.1");
  const libnvml = path.join(fakesDir, "libnvidia-ml.so.1");
  for (const lib of [libcuda, libnvml]) {
    if (!fs.existsSync(lib)) throw new Error(`${lib} is missing: build the fakegpu_all target first`);
  }
  const configPath = path.join(fakeDir, "fakegpu-config.json");
  const statePath = path.join(fakeDir, "fakegpu-state.json");
  const config = { devices, cuda: {}, nvml: {}, hip: {}, hiprtc: {}, rsmi: {} };
  // Written atomically (temporary file, then rename): the fakes re-read a changed file.
  const tmp = path.join(fakeDir, ".fakegpu-config.json.tmp");
  fs.writeFileSync(tmp, JSON.stringify(config, null, 2));
  fs.renameSync(tmp, configPath);

  const absent = path.join(fakeDir, "absent");
  const env = {
    LD_LIBRARY_PATH: process.env.LD_LIBRARY_PATH ? `${fakesDir}:${process.env.LD_LIBRARY_PATH}` : fakesDir,
    KEEP_GPU_LIBCUDA: libcuda,
    KEEP_GPU_LIBNVML: libnvml,
    KEEP_GPU_LIBHIP: path.join(absent, "libamdhip64.so.6"),
    KEEP_GPU_LIBHIPRTC: path.join(absent, "libhiprtc.so.6"),
    KEEP_GPU_LIBROCM_SMI: path.join(absent, "librocm_smi64.so.7"),
    FAKEGPU_CONFIG: configPath,
    FAKEGPU_STATE: statePath,
  };
  // The state the fakes last wrote, or null before the first write.
  const state = () => {
    try {
      return JSON.parse(fs.readFileSync(statePath, "utf8"));
    } catch (error) {
      if (error.code === "ENOENT") return null;
      throw error;
    }
  };
  const allocated = (index) => state()?.devices?.[index]?.allocated_bytes ?? 0;
  return { env, state, allocated };
}

// The test's environment without anything that would change keep-gpu's logging or devices.
export function cleanEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(KEEP_GPU_|FAKEGPU_|CUDA_|CONSOLE_LOG|FILE_LOG)/.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

// A TCP port on 127.0.0.1 that was free a moment ago.
export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}
