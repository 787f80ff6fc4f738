// `keep-gpu list-gpus`: the service's GPU telemetry as JSON on stdout.
#include "cli/commands.hpp"
#include "cli/result_checks.hpp"
#include "cli/service_call.hpp"
#include "cli/service_common.hpp"

namespace keepgpu::cli {

const CommandSpec& list_gpus_spec() {
  static const CommandSpec spec = [] {
    CommandSpec s;
    s.name = "list-gpus";
    s.description = "List GPU telemetry from local service.";
    s.options = {host_option(), port_option()};
    return s;
  }();
  return spec;
}

int run_list_gpus(const RootArgs&, const ParsedOptions& options) {
  try {
    const ServiceTarget target = make_target(validate_host_port(options));
    const core::Json result = call_rpc(target.endpoint, "list_gpus", core::Json::object());
    check_list_gpus(result);
    return print_json(result, target.endpoint.url("/rpc")) ? 0 : 1;
  } catch (const std::exception& e) {
    print_json_error(e.what());
    return 1;
  }
}

}  // namespace keepgpu::cli
