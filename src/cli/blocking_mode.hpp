// Blocking mode (no subcommand): validate the root options in upstream's order, keep the selected
// GPUs until SIGINT/SIGTERM, then release every GPU.
#pragma once

#include "cli/root_args.hpp"

namespace keepgpu::cli {

// Returns the process exit status.
int run_blocking_mode(const RootArgs& args);

}  // namespace keepgpu::cli
