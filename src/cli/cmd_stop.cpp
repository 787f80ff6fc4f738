// `keep-gpu stop`: stop one session or all of them. JSON on stdout. When the
// service cannot be reached at all, `--all` falls back to stopping the verified local daemon.
// Unlike upstream, a result that reports timed-out or failed releases exits 1:
// the VRAM may still be held, and scripts should notice.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/daemon_control.hpp"
#include "cli/result_checks.hpp"
#include "cli/service_call.hpp"
#include "cli/service_common.hpp"
#include "core/identifiers.hpp"
#include "service/runtime_dir.hpp"

namespace keepgpu::cli {
namespace runtime = service::runtime;

const CommandSpec& stop_spec() {
  static const CommandSpec spec = [] {
    CommandSpec s;
    s.name = "stop";
    s.description = "Stop one session or all sessions.";
    OptionSpec job = value_option({"--job-id"}, "job_id", "TEXT", "Stop this session.");
    OptionSpec all = flag_option({"--all"}, "all", "Stop every session.");
    s.options = {job, all, host_option(), port_option()};
    s.epilog =
        "  Exactly one of --job-id and --all is required. Exits 1 when a release timed out or\n"
        "  failed (the result is printed either way).\n";
    return s;
  }();
  return spec;
}

namespace {

// The daemon is unreachable: stop it through its PID record if it verifies.
int fallback(const ServiceTarget& target, const std::string& unreachable) {
  const auto record = runtime::read_pid_record(target.paths.pid);
  if (!record || !runtime::process_alive(record->pid)) {
    print_json_error(fmt::format(
        "{}. If service is unresponsive, run `keep-gpu service-stop --force`.", unreachable));
    return 1;
  }
  StopDaemonOptions options;
  if (target.tcp) options.expected_endpoint = std::make_pair(target.host, target.port);
  if (!stop_daemon(target.paths, options)) {
    print_json_error(
        fmt::format("{}. No ownership-verified daemon could be force-stopped.", unreachable));
    return 1;
  }
  const core::Json result = {
      {"stopped", core::Json::array()},
      {"timed_out", core::Json::array()},
      {"failed", core::Json::array()},
      {"errors", core::Json::object()},
      {"message", fmt::format("Service stop RPC could not reach the service; force-stopped local "
                              "daemon pid={}. Reserved VRAM should be released by process exit.",
                              record->pid)}};
  print_json(result, "");
  return 0;
}

}  // namespace

int run_stop(const RootArgs&, const ParsedOptions& options) {
  const bool by_id = options.given("job_id");
  const bool all = options.given("all");
  if (by_id && all) {
    print_json_error("Use either --job-id or --all, not both.");
    return 1;
  }
  if (!by_id && !all) {
    print_json_error("Provide --job-id or use --all.");
    return 1;
  }
  std::optional<ServiceTarget> target;
  try {
    const HostPort where = validate_host_port(options);
    const auto job_id = options.optional("job_id");
    if (job_id) core::validate_job_id(*job_id);
    target = make_target(where);
    core::Json params = core::Json::object();
    if (job_id) params["job_id"] = *job_id;
    const core::Json result =
        call_rpc(target->endpoint, "stop_keep", params, service::client::kStopTimeout);
    check_stop_result(result, job_id);
    if (!print_json(result, target->endpoint.url("/rpc"))) return 1;
    const bool incomplete = !result.at("timed_out").empty() || !result.at("failed").empty();
    return incomplete ? 1 : 0;
  } catch (const ServiceError& e) {
    if (all && e.kind() == ServiceError::Kind::unreachable) return fallback(*target, e.what());
    print_json_error(e.what());
    return 1;
  } catch (const std::exception& e) {
    print_json_error(e.what());
    return 1;
  }
}

}  // namespace keepgpu::cli
