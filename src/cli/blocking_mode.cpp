#include "cli/blocking_mode.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli/child_process.hpp"
#include "cli/error_kind.hpp"
#include "cli/live_status.hpp"
#include "cli/signals.hpp"
#include "core/defaults.hpp"
#include "core/errors.hpp"
#include "core/gpu_ids.hpp"
#include "core/interval.hpp"
#include "core/log.hpp"
#include "core/thresholds.hpp"
#include "core/time_limit.hpp"
#include "core/vram.hpp"
#include "keeper/keeper_group.hpp"

namespace keepgpu::cli {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto lg = log::get("keep_gpu.cli");
  return lg;
}

struct BlockingConfig {
  core::Interval interval;
  int busy_threshold = core::kDefaultBusyThreshold;
  int util_target = 0;
  std::optional<std::vector<std::int64_t>> gpu_ids;
  std::string vram{core::kDefaultVram};
  std::optional<core::LegacyThreshold::Kind> legacy;
  // --duration / --until: when the keep ends by itself, and the option as given, for the log.
  std::optional<core::WallClock::time_point> deadline;
  std::string limit_text;
};

// After the upstream options: the time limit, counted from now (the start of the command).
void validate_time_limit(const RootArgs& args, BlockingConfig& config) {
  if (args.duration && args.until) throw ValueError("give either --duration or --until, not both");
  const auto now = core::WallClock::now();
  if (args.duration) {
    config.deadline = core::deadline_after(now, core::parse_duration_text(*args.duration));
    config.limit_text = "--duration " + *args.duration;
  } else if (args.until) {
    config.deadline = core::parse_until_clock_text(*args.until, now);
    config.limit_text = "--until " + *args.until;
  }
}

// Root validation order, first failure wins: interval -> busy threshold as given -> gpu ids ->
// legacy threshold ->
// VRAM after legacy replacement -> busy threshold after legacy replacement.
BlockingConfig validate(const RootArgs& args) {
  BlockingConfig config;
  config.interval =
      core::parse_interval_text(args.interval.value_or(std::string(core::kDefaultIntervalText)));
  config.busy_threshold = core::parse_busy_threshold_text(
      args.busy_threshold.value_or(std::string(core::kDefaultBusyThresholdText)));
  if (args.gpu_ids) config.gpu_ids = core::parse_gpu_ids_text(*args.gpu_ids);
  config.vram = args.vram.value_or(std::string(core::kDefaultVram));
  std::optional<int> legacy_busy;
  if (args.threshold) {
    const core::LegacyThreshold legacy = core::classify_legacy_threshold(*args.threshold);
    config.legacy = legacy.kind;
    if (legacy.kind == core::LegacyThreshold::Kind::busy) {
      legacy_busy = legacy.busy;
    } else {
      config.vram = legacy.vram;
    }
  }
  core::parse_vram_elements(config.vram);
  if (legacy_busy) config.busy_threshold = core::validate_busy_threshold(*legacy_busy);
  if (args.util_target) config.util_target = core::parse_util_target_text(*args.util_target);
  validate_time_limit(args, config);
  return config;
}

std::vector<std::string> render_status(const keeper::KeeperGroup& group) {
  std::vector<std::string> lines;
  for (const auto& keeper : group.keepers()) {
    const keeper::KeeperStatus s = keeper->status();
    const std::string util =
        s.utilization ? fmt::format("{:3d}%", static_cast<int>(*s.utilization)) : " n/a";
    const std::string batch =
        s.last_batch_ms ? fmt::format("{:.0f} ms", *s.last_batch_ms) : std::string("-");
    // The phase, not the internal state: a GPU that waits holds nothing and must read so.
    std::string line =
        fmt::format("GPU {:<3} {:<11} held {:>9}  util {}  last batch {:>8}  batches {}",
                    keeper->rank(), keeper::to_string(keeper::phase_of(s.state)),
                    core::format_bytes(s.held_bytes), util, batch, s.batches);
    if (s.detail) line += "  (" + *s.detail + ")";
    lines.push_back(std::move(line));
  }
  return lines;
}

int fail_unexpected(const std::exception& error) {
  log::flush();
  std::cerr << error_kind(error) << ": " << error.what() << std::endl;
  return 1;
}

int release_and_exit(keeper::KeeperGroup& group, int success_status) {
  try {
    group.release();
  } catch (const std::exception& e) {
    return fail_unexpected(e);
  }
  log::flush();
  return success_status;
}

}  // namespace

namespace {

// Validates, prints the deprecation notes and logs the settings. Returns nullopt after printing
// the error.
std::optional<BlockingConfig> validated_and_logged(const RootArgs& args) {
  BlockingConfig config;
  try {
    config = validate(args);
  } catch (const std::invalid_argument& e) {
    std::cout << "Error: " << e.what() << std::endl;
    return std::nullopt;
  }
  if (config.legacy == core::LegacyThreshold::Kind::vram) {
    std::cout << "`--threshold` for VRAM is deprecated; use `--vram`." << std::endl;
  } else if (config.legacy == core::LegacyThreshold::Kind::busy) {
    std::cout << "`--threshold` for utilization is deprecated; use `--busy-threshold`."
              << std::endl;
  }
  if (config.gpu_ids) {
    KG_INFO(logger(), "Using specified visible GPU ordinals: {}",
            core::format_id_list(*config.gpu_ids));
    KG_INFO(logger(), "GPU count: {}", config.gpu_ids->size());
  } else {
    KG_INFO(logger(), "Using all available GPUs");
  }
  KG_INFO(logger(), "VRAM to keep occupied: {}", config.vram);
  KG_INFO(logger(), "Check interval: {} seconds", config.interval.to_string());
  if (config.busy_threshold < 0) {
    KG_INFO(logger(), "Busy threshold: unconditional (utilization backoff disabled)");
  } else {
    KG_INFO(logger(), "Busy threshold: {}%", config.busy_threshold);
  }
  if (config.util_target > 0) {
    KG_INFO(logger(), "Utilization target: {}% (its own kernels do not count as busy)",
            config.util_target);
  }
  if (config.deadline) {
    KG_INFO(logger(), "Time limit: until {} ({})", core::format_iso8601_local(*config.deadline),
            config.limit_text);
  }
  return config;
}

std::unique_ptr<keeper::KeeperGroup> make_group(const BlockingConfig& config) {
  keeper::GroupOptions options;
  options.gpu_ids = config.gpu_ids;
  options.interval_seconds = config.interval.seconds();
  options.vram = config.vram;
  options.busy_threshold = config.busy_threshold;
  options.util_target = config.util_target;
  return std::make_unique<keeper::KeeperGroup>(options);
}

// How long the main thread may sleep before it must look at the time limit again.
std::chrono::milliseconds next_wake(const BlockingConfig& config, std::chrono::milliseconds tick) {
  if (!config.deadline) return tick;
  const auto left = core::remaining_until(*config.deadline, core::WallClock::now());
  return std::clamp(left, std::chrono::milliseconds(0), tick);
}

// Builds the group and keeps every GPU. Returns the exit status when that fails or a signal came
// during start-up (then everything is released again, as upstream's "Aborted."); nullopt once
// `group` holds the GPUs.
std::optional<int> start_keeping(const BlockingConfig& config, const SignalWatcher& signals,
                                 std::unique_ptr<keeper::KeeperGroup>& group) {
  try {
    group = make_group(config);
    group->keep();
  } catch (const std::exception& e) {
    return fail_unexpected(e);
  }
  if (signals.received() != 0) {
    const int status = release_and_exit(*group, 1);
    std::cerr << "Aborted." << std::endl;
    return status;
  }
  return std::nullopt;
}

bool deadline_passed(const BlockingConfig& config) {
  return config.deadline && core::WallClock::now() >= *config.deadline;
}

}  // namespace

int run_blocking_mode(const RootArgs& args) {
  const std::optional<BlockingConfig> validated = validated_and_logged(args);
  if (!validated) return 1;
  const BlockingConfig& config = *validated;

  // Before any thread exists, so every thread inherits the blocked mask.
  SignalWatcher::block_signals();
  SignalWatcher signals;

  std::unique_ptr<keeper::KeeperGroup> group;
  if (const auto failed = start_keeping(config, signals, group)) return *failed;
  KG_INFO(logger(), "Keeping GPUs awake. Press Ctrl+C to exit.");

  const log::Config log_config = log::current_config();
  const bool live = ::isatty(STDERR_FILENO) == 1 && log_config.format == log::Format::text &&
                    log_config.console_level == log::Level::info;
  std::optional<LiveStatusView> view;
  if (live) {
    view.emplace(stderr, [&group] { return render_status(*group); });
    view->start();
  }
  constexpr std::chrono::milliseconds kTick{1000};
  int signal_number = 0;
  bool timed_out = false;
  while ((signal_number = signals.wait_for(next_wake(config, kTick))) == 0) {
    if (deadline_passed(config)) {
      timed_out = true;
      break;
    }
    if (view) view->refresh();
  }
  if (view) view->stop();
  if (timed_out) {
    KG_INFO(logger(), "Time limit reached ({}). Releasing GPUs...", config.limit_text);
  } else if (signal_number == SIGINT) {
    KG_INFO(logger(), "Interruption received. Releasing GPUs...");
  } else {
    KG_INFO(logger(), "Termination signal received. Releasing GPUs...");
  }
  const int status = release_and_exit(*group, 0);
  if (status == 0) KG_INFO(logger(), "All GPUs released.");
  return status;
}

int run_with_command(const RootArgs& args, const std::vector<std::string>& command) {
  const std::optional<BlockingConfig> validated = validated_and_logged(args);
  if (!validated) return 1;
  const BlockingConfig& config = *validated;

  SignalWatcher::block_signals();
  SignalWatcher signals;

  std::unique_ptr<keeper::KeeperGroup> group;
  if (const auto failed = start_keeping(config, signals, group)) return *failed;

  std::string command_text;
  for (const auto& word : command)
    command_text += (command_text.empty() ? "" : " ") + word;
  std::optional<ChildProcess> child;
  try {
    child.emplace(command);
  } catch (const SpawnError& e) {
    log::flush();
    std::cerr << "Error: " << e.what() << std::endl;
    return release_and_exit(*group, e.exit_status());
  }
  signals.forward_to(child->pid());
  KG_INFO(logger(), "Keeping GPUs while the command runs (pid {}): {}", child->pid(), command_text);

  // The command's output shares the terminal, so no live status view here.
  constexpr std::chrono::milliseconds kTick{1000};
  bool released = false;
  bool release_failed = false;
  std::optional<int> status;
  while (!(status = child->wait_for(released ? kTick : next_wake(config, kTick)))) {
    if (!released && deadline_passed(config)) {
      KG_INFO(logger(), "Time limit reached ({}). Releasing GPUs; the command keeps running.",
              config.limit_text);
      release_failed = release_and_exit(*group, 0) != 0;
      released = true;
    }
  }
  if (!released) {
    KG_INFO(logger(), "The command exited with status {}. Releasing GPUs...", *status);
    release_failed = release_and_exit(*group, 0) != 0;
    if (!release_failed) KG_INFO(logger(), "All GPUs released.");
  }
  log::flush();
  return release_failed ? 1 : *status;
}

}  // namespace keepgpu::cli
