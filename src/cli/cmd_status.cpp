// `keep-gpu status`: one session or all of them, as JSON on stdout. With no
// service answering, the sessions a killed one left in its journal are named (exit 1).
#include <optional>
#include <string>

#include "cli/commands.hpp"
#include "cli/lost_sessions.hpp"
#include "cli/result_checks.hpp"
#include "cli/service_call.hpp"
#include "cli/service_common.hpp"
#include "core/identifiers.hpp"

namespace keepgpu::cli {

const CommandSpec& status_spec() {
  static const CommandSpec spec = [] {
    CommandSpec s;
    s.name = "status";
    s.description = "Show session status from KeepGPU local service.";
    OptionSpec job =
        value_option({"--job-id"}, "job_id", "TEXT", "Show one session.", "all tracked sessions");
    s.options = {job, host_option(), port_option()};
    return s;
  }();
  return spec;
}

int run_status(const RootArgs&, const ParsedOptions& options) {
  ServiceTarget target;
  try {
    const HostPort where = validate_host_port(options);
    const auto job_id = options.optional("job_id");
    if (job_id) core::validate_job_id(*job_id);
    target = make_target(where);
    core::Json params = core::Json::object();
    if (job_id) params["job_id"] = *job_id;
    const core::Json result = call_rpc(target.endpoint, "status", params);
    if (job_id) {
      check_status_one(result, *job_id);
    } else {
      check_status_all(result);
    }
    return print_json(result, target.endpoint.url("/rpc")) ? 0 : 1;
  } catch (const ServiceError& e) {
    // Status never starts a service; with none answering it says what a killed one left behind.
    if (e.kind() == ServiceError::Kind::unreachable) {
      if (auto report = lost_sessions_report(target.paths, e.what())) {
        print_json(*report, target.endpoint.url("/rpc"));
        return 1;
      }
    }
    print_json_error(e.what());
    return 1;
  } catch (const std::exception& e) {
    print_json_error(e.what());
    return 1;
  }
}

}  // namespace keepgpu::cli
