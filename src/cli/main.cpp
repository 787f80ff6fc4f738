// keep-gpu: keep GPUs on shared nodes from being reclaimed as idle.
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/blocking_mode.hpp"
#include "cli/commands.hpp"
#include "cli/help.hpp"
#include "cli/process_exit.hpp"
#include "cli/root_args.hpp"
#include "core/log.hpp"

namespace {

using keepgpu::cli::RootArgs;

int usage_error(const std::string& message) {
  std::cerr << "Usage: keep-gpu [OPTIONS] COMMAND [ARGS]...\n"
            << "Try 'keep-gpu -h' for help.\n\n"
            << "Error: " << message << std::endl;
  return 2;
}

// Applies the environment, then --log-level/--log-file/--log-format. Returns an error text for a
// bad value.
std::optional<std::string> configure_logging(const RootArgs& args) {
  keepgpu::log::Config config = keepgpu::log::config_from_env();
  if (args.log_level) {
    auto level = keepgpu::log::parse_level(*args.log_level);
    if (!level) {
      return fmt::format(
          "Invalid value for '--log-level': '{}' is not one of debug, info, warning, error, "
          "critical, off.",
          *args.log_level);
    }
    config.console_level = *level;
  }
  if (args.log_format) {
    if (*args.log_format == "json") {
      config.format = keepgpu::log::Format::json;
    } else if (*args.log_format == "text") {
      config.format = keepgpu::log::Format::text;
    } else {
      return fmt::format("Invalid value for '--log-format': '{}' is not one of text, json.",
                         *args.log_format);
    }
  }
  if (args.log_file) config.file_path = *args.log_file;
  try {
    keepgpu::log::configure(config);
  } catch (const std::exception& e) {
    std::cerr << "Error: cannot open log file: " << e.what() << std::endl;
    std::exit(1);
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> tokens(argv + 1, argv + argc);
  RootArgs args;
  try {
    args = keepgpu::cli::parse_root_args(tokens);
  } catch (const keepgpu::cli::UsageError& e) {
    return usage_error(e.what());
  }
  if (args.help) {
    std::cout << keepgpu::cli::root_help();
    return 0;
  }
  if (args.version) {
    std::cout << keepgpu::cli::version_text();
    return 0;
  }
  if (args.subcommand) {
    // `run` keeps in this process, like blocking mode, so keep options may come before it too.
    const auto labels =
        *args.subcommand == "run" ? std::vector<std::string>{} : args.blocking_option_labels();
    if (!labels.empty()) {
      std::string joined;
      for (const auto& label : labels)
        joined += (joined.empty() ? "" : ", ") + label;
      std::cout << "Error: Root blocking option(s) " << joined << " were placed before the `"
                << *args.subcommand
                << "` service subcommand. Omit blocking-mode root options before service "
                   "subcommands; for start options, place them after `start`, for example: "
                   "`keep-gpu start --gpu-ids 0`."
                << std::endl;
      return 1;
    }
    if (auto error = configure_logging(args)) return usage_error(*error);
    keepgpu::cli::exit_without_teardown(keepgpu::cli::run_subcommand(args));
  }
  if (auto error = configure_logging(args)) return usage_error(*error);
  keepgpu::cli::exit_without_teardown(keepgpu::cli::run_blocking_mode(args));
}
