// The subcommands: the service's, and `run`. Each lives in its own cmd_*.cpp with its
// option table; run_subcommand parses the options with the Click rules, answers -h/--help and
// runs the command. Every function returns the process exit status.
#pragma once

#include "cli/root_args.hpp"
#include "cli/subcommand_args.hpp"

namespace keepgpu::cli {

int run_subcommand(const RootArgs& root);

const CommandSpec& serve_spec();
const CommandSpec& start_spec();
const CommandSpec& status_spec();
const CommandSpec& stop_spec();
const CommandSpec& list_gpus_spec();
const CommandSpec& service_stop_spec();
const CommandSpec& dashboard_spec();
const CommandSpec& run_spec();

int run_serve(const RootArgs& root, const ParsedOptions& options);
int run_start(const RootArgs& root, const ParsedOptions& options);
int run_status(const RootArgs& root, const ParsedOptions& options);
int run_stop(const RootArgs& root, const ParsedOptions& options);
int run_list_gpus(const RootArgs& root, const ParsedOptions& options);
int run_service_stop(const RootArgs& root, const ParsedOptions& options);
int run_dashboard(const RootArgs& root, const ParsedOptions& options);
int run_run(const RootArgs& root, const ParsedOptions& options);

}  // namespace keepgpu::cli
