// Command-line parsing for the root command, with Click's rules: long
// options only (plus -h), `--opt VALUE` and `--opt=VALUE`, a value option consumes the next token
// verbatim, the last occurrence wins, the first positional token is the subcommand and everything
// after it belongs to the subcommand. Values stay text; the commands validate them.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace keepgpu::cli {

// A usage error: printed on stderr with a usage line, exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RootArgs {
  // Blocking-mode options, as given (absent = not on the command line).
  std::optional<std::string> interval;
  std::optional<std::string> gpu_ids;
  std::optional<std::string> vram;
  std::optional<std::string> busy_threshold;  // --busy-threshold or --util-threshold
  std::optional<std::string> threshold;       // deprecated, hidden
  std::optional<std::string> util_target;     // --util-target 10
  std::optional<std::string> duration;        // --duration 45m
  std::optional<std::string> until;           // --until 18:30
  // Logging and meta options.
  std::optional<std::string> log_level;
  std::optional<std::string> log_file;
  std::optional<std::string> log_format;
  bool help = false;
  bool version = false;
  // Subcommand and its arguments.
  std::optional<std::string> subcommand;
  std::vector<std::string> subcommand_args;

  // Labels of the blocking options given, always in this order: --gpu-ids, --vram, --threshold,
  // --busy-threshold/--util-threshold (either alias), --interval, --util-target, --duration,
  // --until.
  std::vector<std::string> blocking_option_labels() const;
};

inline const std::vector<std::string>& subcommand_names() {
  static const std::vector<std::string> names = {"serve",     "start",        "status",    "stop",
                                                 "list-gpus", "service-stop", "dashboard", "run"};
  return names;
}

// Throws UsageError for unknown options, missing values, values given to flags and unknown
// subcommands.
RootArgs parse_root_args(const std::vector<std::string>& argv);

}  // namespace keepgpu::cli
