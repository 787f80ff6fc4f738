// `keep-gpu service-stop`: stop the auto-started per-user daemon. Without
// --force it first makes sure no session is tracked, so no VRAM is dropped behind a user's back.
// Only a daemon whose PID record verifies (pid, uid, start time, executable, command line) is
// ever signalled.
#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/daemon_control.hpp"
#include "cli/result_checks.hpp"
#include "cli/service_call.hpp"
#include "cli/service_common.hpp"
#include "cli/service_origin.hpp"
#include "core/text.hpp"

namespace keepgpu::cli {

namespace {

// The service gets this long to release its sessions after SIGTERM before SIGKILL.
constexpr std::chrono::milliseconds kTermTimeout{10000};

const char* const kNoDaemon =
    "No managed daemon PID found. If service was started in foreground, stop it with Ctrl+C in "
    "that terminal.";

// The job ids of a checked stop_keep list, comma-separated.
std::string join(const core::Json& ids) {
  std::string out;
  for (const auto& id : ids)
    out += (out.empty() ? "" : ", ") + id.get<std::string>();
  return out;
}

void require_no_sessions(const ServiceTarget& target) {
  const core::Json status = call_rpc(target.endpoint, "status", core::Json::object());
  check_status_all(status);
  const core::Json& jobs = status.at("active_jobs");
  if (jobs.empty()) return;
  std::string ids;
  for (const auto& job : jobs)
    ids += (ids.empty() ? "" : ", ") + job.at("job_id").get<std::string>();
  throw std::runtime_error(fmt::format(
      "Tracked keep sessions detected. Active jobs: {}. Stop sessions first (`keep-gpu stop "
      "--all`) or re-run with --force.",
      ids));
}

void require_clean_stop(const ServiceTarget& target) {
  const core::Json result =
      call_rpc(target.endpoint, "stop_keep", core::Json::object(), service::client::kStopTimeout);
  check_stop_result(result, std::nullopt);
  std::vector<std::string> parts;
  if (const auto& v = result.at("stopped"); !v.empty()) parts.push_back("stopped: " + join(v));
  if (const auto& v = result.at("timed_out"); !v.empty()) parts.push_back("timed out: " + join(v));
  if (const auto& v = result.at("failed"); !v.empty()) parts.push_back("failed: " + join(v));
  if (const core::Json* message = core::json::member(result, "message");
      message && !message->get_ref<const std::string&>().empty()) {
    const std::string& text = message->get_ref<const std::string&>();
    const auto trimmed = core::text::trim_python(text);
    parts.push_back("message: " + (trimmed.empty() ? pyrepr(text) : std::string(trimmed)));
  }
  if (parts.empty()) return;
  std::string joined;
  for (const auto& part : parts)
    joined += (joined.empty() ? "" : "; ") + part;
  throw std::runtime_error(fmt::format(
      "Stop sessions before stopping the service daemon. Incomplete stop_keep result ({}). "
      "Resolve those sessions first, or use `keep-gpu service-stop --force` for an unresponsive "
      "auto-started daemon.",
      joined));
}

}  // namespace

const CommandSpec& service_stop_spec() {
  static const CommandSpec spec = [] {
    CommandSpec s;
    s.name = "service-stop";
    s.description = "Stop local KeepGPU service daemon started by auto-start logic.";
    OptionSpec force =
        flag_option({"--force"}, "force",
                    "Skip the session checks; stop the daemon if its PID record verifies.");
    s.options = {host_option(), port_option(), force};
    return s;
  }();
  return spec;
}

int run_service_stop(const RootArgs&, const ParsedOptions& options) {
  HostPort where;
  try {
    where = validate_host_port(options);
  } catch (const std::exception& e) {
    print_error_line(e.what());
    return 1;
  }
  try {
    const ServiceTarget target = make_target(where);
    // Read before the daemon stops: it removes its endpoint record on the way out.
    const std::string url = service_location(target, service_origin(target));
    StopDaemonOptions stop;
    stop.term_timeout = kTermTimeout;
    if (target.tcp) stop.expected_endpoint = std::make_pair(target.host, target.port);
    if (options.given("force")) {
      if (!stop_daemon(target.paths, stop)) {
        print_error_line(kNoDaemon);
        return 1;
      }
      print_line("Force-stopped KeepGPU service daemon at " + url);
      return 0;
    }
    try {
      require_no_sessions(target);
    } catch (const ServiceError& e) {
      if (e.kind() != ServiceError::Kind::unreachable) throw;
      throw std::runtime_error(fmt::format(
          "KeepGPU service is unavailable at {}. Non-force service-stop must verify no tracked "
          "keep sessions before stopping the daemon. For an unresponsive auto-started daemon, run "
          "`keep-gpu service-stop --force`.",
          target.label()));
    }
    require_clean_stop(target);
    require_no_sessions(target);
    if (!stop_daemon(target.paths, stop)) {
      print_error_line(kNoDaemon);
      return 1;
    }
    print_line("Stopped KeepGPU service daemon at " + url);
    return 0;
  } catch (const std::exception& e) {
    print_error_line(e.what());
    return 1;
  }
}

}  // namespace keepgpu::cli
