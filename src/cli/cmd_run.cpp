// `keep-gpu run [OPTIONS] -- COMMAND [ARGS]...`: keep the GPUs in this process while COMMAND
// runs, release them when it ends and exit with its status, so a batch script can chain the next
// step: `keep-gpu run --gpu-ids 0 -- python preprocess.py && python train.py`.
#include "cli/blocking_mode.hpp"
#include "cli/commands.hpp"
#include "cli/service_common.hpp"
#include "core/defaults.hpp"

namespace keepgpu::cli {

const CommandSpec& run_spec() {
  static const CommandSpec spec = [] {
    CommandSpec s;
    s.name = "run";
    s.description =
        "Keep GPUs while COMMAND runs, release them when it exits and exit with its status. "
        "SIGINT and SIGTERM sent to keep-gpu go on to COMMAND.";
    s.usage_arguments = "[--] COMMAND [ARGS]...";
    s.takes_command = true;
    s.options = {
        value_option({"--gpu-ids"}, "gpu_ids", "TEXT",
                     "Comma-separated visible GPU ordinals, e.g. 0,2.", "all visible GPUs"),
        value_option({"--vram"}, "vram", "TEXT", "VRAM to hold per GPU, e.g. 512MB or 1.5GiB.",
                     std::string(core::kDefaultVram)),
        value_option({"--interval"}, "interval", "NUMBER",
                     "Seconds between keep-alive cycles (at most 9223372036).",
                     std::string(core::kDefaultIntervalText)),
        value_option({"--busy-threshold", "--util-threshold"}, "busy_threshold", "INTEGER",
                     "Back off above this utilization percent; -1 keeps unconditionally.",
                     std::string(core::kDefaultBusyThresholdText)),
        value_option({"--util-target"}, "util_target", "PCT",
                     "Present about PCT% utilization with a timed kernel; 0 runs the ReLU batch "
                     "every interval.",
                     "0"),
        value_option({"--duration"}, "duration", "DURATION",
                     "Release after this long (90s, 45m, 4h, 1h30m) even if COMMAND still "
                     "runs."),
        value_option({"--until"}, "until", "HH:MM",
                     "Release at this local time even if COMMAND still runs."),
    };
    s.epilog =
        "Exit status: COMMAND's (128 + N when signal N ended it); 127 when it is not found, 126\n"
        "when it cannot be executed; 1 when the GPUs cannot be kept or released (then COMMAND\n"
        "does not run, or its status gives way to the release error).\n";
    return s;
  }();
  return spec;
}

int run_run(const RootArgs& root, const ParsedOptions& options) {
  if (options.command.empty()) {
    return subcommand_usage_error(
        "run", "Missing COMMAND, e.g. keep-gpu run --gpu-ids 0 -- python preprocess.py");
  }
  // Keep options may also come before `run`; the ones after it win.
  RootArgs args = root;
  const auto take = [&](const char* key, std::optional<std::string>& slot) {
    if (const std::string* value = options.get(key)) slot = *value;
  };
  take("gpu_ids", args.gpu_ids);
  take("vram", args.vram);
  take("interval", args.interval);
  take("busy_threshold", args.busy_threshold);
  take("util_target", args.util_target);
  take("duration", args.duration);
  take("until", args.until);
  return run_with_command(args, options.command);
}

}  // namespace keepgpu::cli
