#include "cli/help.hpp"

#include "cli/version.hpp"

namespace keepgpu::cli {

std::string root_help() {
  return R"(Usage: keep-gpu [OPTIONS] COMMAND [ARGS]...

  Keep GPUs active with blocking or service-driven workflows.

  Without a command, keep-gpu holds VRAM on the selected GPUs and runs light
  keep-alive work every interval until Ctrl+C (SIGINT), SIGTERM or the time
  limit, then releases every GPU and exits 0. It backs off while a GPU is
  busier than the busy threshold, or while its utilization cannot be read.

Options:
  --interval NUMBER           Seconds between keep-alive cycles and
                              utilization checks (at most 9223372036).
                              [default: 300]
  --gpu-ids TEXT              Comma-separated visible GPU ordinals (after
                              CUDA_VISIBLE_DEVICES), e.g. 0,2. [default: all
                              visible GPUs]
  --vram TEXT                 VRAM to hold per GPU, e.g. 512MB, 1.5GiB, 2TB
                              or a byte count (units: B KB MB GB TB KiB MiB
                              GiB TiB; Kb Mb Gb Tb are bits; at most 1 PiB).
                              [default: 1GiB]
  --busy-threshold, --util-threshold INTEGER
                              Skip keep-alive work (and defer allocation)
                              while utilization is above this percent or
                              unreadable; -1 keeps unconditionally.
                              [default: 25]
  --util-target PCT           Present about PCT% utilization (1-100) with a
                              timed one-warp kernel in every 100 ms, so every
                              reaper window sees activity (ROCm: one
                              keep-alive pass per 100 ms); 0 runs the ReLU
                              batch every interval instead. [default: 0]
  --duration DURATION         Release and exit after this long: 90s, 45m, 4h,
                              1h30m or seconds (at most 366 days).
  --until HH:MM               Release and exit at this local time (HH:MM or
                              HH:MM:SS; a time already past means tomorrow).
  --log-level TEXT            debug, info, warning, error or critical
                              (env CONSOLE_LOG_LEVEL). [default: info]
  --log-file PATH             Also write the log to PATH (env
                              KEEP_GPU_LOG_FILE).
  --log-format TEXT           text or json. [default: text]
  --version                   Show the version and exit.
  -h, --help                  Show this message and exit.

Commands:
  serve         Run KeepGPU local service (HTTP + JSON-RPC + dashboard).
  start         Start a non-blocking keep session and return a job id.
  status        Show session status from KeepGPU local service.
  stop          Stop one session or all sessions.
  list-gpus     List GPU telemetry from local service.
  service-stop  Stop local KeepGPU service daemon started by auto-start logic.
  dashboard     Print the dashboard URL with its token; start the service if
                needed.
  run           Keep GPUs while a command runs: keep-gpu run [OPTIONS] -- CMD.

Environment:
  KEEP_GPU_LIBCUDA, KEEP_GPU_LIBNVML   load these instead of libcuda.so.1 and
                                       libnvidia-ml.so.1
  KEEP_GPU_LIBHIP, KEEP_GPU_LIBHIPRTC, KEEP_GPU_LIBROCM_SMI
                                       load these instead of libamdhip64.so,
                                       libhiprtc.so and librocm_smi64.so
  KEEP_GPU_PLATFORM                    cuda, rocm or cpu: skip platform
                                       detection
  XDG_RUNTIME_DIR                      the service's files live in
                                       $XDG_RUNTIME_DIR/keep-gpu (else ~/.keepgpu)
  KEEP_GPU_TOKEN                       bearer token for --host/--port (else the
                                       token file there)

Service commands talk to your own daemon over its Unix socket; `start` starts
it when needed. Run `keep-gpu COMMAND -h` for a command's options.
)";
}

std::string version_text() {
  return std::string("keep-gpu ") + kVersion + "\n";
}

}  // namespace keepgpu::cli
