#include "cli/commands.hpp"

#include <iostream>

#include "cli/service_common.hpp"

namespace keepgpu::cli {
namespace {

struct Entry {
  const char* name;
  const CommandSpec& (*spec)();
  int (*run)(const RootArgs&, const ParsedOptions&);
};

constexpr Entry kCommands[] = {
    {"serve", serve_spec, run_serve},
    {"start", start_spec, run_start},
    {"status", status_spec, run_status},
    {"stop", stop_spec, run_stop},
    {"list-gpus", list_gpus_spec, run_list_gpus},
    {"service-stop", service_stop_spec, run_service_stop},
    {"dashboard", dashboard_spec, run_dashboard},
    {"run", run_spec, run_run},
};

}  // namespace

int run_subcommand(const RootArgs& root) {
  for (const auto& entry : kCommands) {
    if (*root.subcommand != entry.name) continue;
    const CommandSpec& spec = entry.spec();
    ParsedOptions options;
    try {
      options = parse_subcommand_args(spec, root.subcommand_args);
    } catch (const UsageError& e) {
      return subcommand_usage_error(spec.name, e.what());
    }
    if (options.help) {
      std::cout << subcommand_help(spec);
      return 0;
    }
    return entry.run(root, options);
  }
  return subcommand_usage_error(*root.subcommand, "No such command.");
}

}  // namespace keepgpu::cli
