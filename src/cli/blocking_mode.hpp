// Blocking mode (no subcommand) and `keep-gpu run`: validate the keep options in upstream's order,
// keep the selected GPUs, then release every GPU. Blocking mode keeps until SIGINT/SIGTERM or
// its time limit (--duration/--until); `run` keeps while a command runs (or until the time limit,
// whichever ends first) and exits with the command's status.
#pragma once

#include <string>
#include <vector>

#include "cli/root_args.hpp"

namespace keepgpu::cli {

// Returns the process exit status.
int run_blocking_mode(const RootArgs& args);

// Keeps the GPUs that `args` selects while `command` runs. Returns the command's exit status (or
// 128 + the signal that ended it), 127/126 when it cannot be started, and 1 when keeping fails or
// a release fails: a GPU left held outranks every other outcome.
int run_with_command(const RootArgs& args, const std::vector<std::string>& command);

}  // namespace keepgpu::cli
