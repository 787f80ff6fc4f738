#include "cli/daemon_control.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cli/service_call.hpp"
#include "core/log.hpp"

extern char** environ;

namespace keepgpu::cli {
namespace runtime = service::runtime;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;  // deadlines never use the wall clock

namespace {

auto logger() {
  return log::get("keep_gpu.cli");
}

bool endpoint_matches(const runtime::PidRecord& record, const StopDaemonOptions& options) {
  if (!options.expected_endpoint) return true;
  return record.host == options.expected_endpoint->first &&
         record.port == options.expected_endpoint->second;
}

// Polls every 100 ms until the pid is gone (true) or the deadline passes (false). `still_ours`
// is consulted on each round; when it turns false the wait ends early with nullopt.
std::optional<bool> wait_gone(pid_t pid, milliseconds limit,
                              const std::function<bool()>& still_ours) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    if (!runtime::process_alive(pid)) return true;
    if (Clock::now() >= deadline) return false;
    if (still_ours && !still_ours()) return std::nullopt;
    std::this_thread::sleep_for(std::min(
        milliseconds(100),
        std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) + milliseconds(1)));
  }
}

// Stops a child we spawned but could not record: SIGTERM, 1 s, SIGKILL, 1 s.
void terminate_child(pid_t pid) {
  ::kill(pid, SIGTERM);
  if (wait_gone(pid, milliseconds(1000), nullptr).value_or(false)) return;
  ::kill(pid, SIGKILL);
  wait_gone(pid, milliseconds(1000), nullptr);
}

std::optional<std::string> snapshot(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return std::nullopt;
    throw DaemonError(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void restore(const std::filesystem::path& path, const std::optional<std::string>& bytes) {
  if (!bytes) {
    runtime::remove_pid_record(path);
    return;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << *bytes;
}

pid_t spawn_daemon(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    throw DaemonError(
        fmt::format("cannot open the service log {}: {}", log_path.string(), std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
  // Nothing else is inherited: a pipe the caller reads our output from (`$(keep-gpu start)`)
  // must see EOF when this command exits, not when the daemon does.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A new session: the daemon outlives this terminal and gets no SIGINT from its Ctrl+C. Signals
  // start unblocked and with default actions whatever this process had.
  sigset_t empty;
  sigemptyset(&empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(log_fd);
  if (rc != 0) {
    throw DaemonError(fmt::format("cannot start {}: {}", argv[0], std::strerror(rc)));
  }
  return pid;
}

// A record left by an earlier daemon: a dead one is cleared; a live verified one that does not
// answer blocks auto-start (never overwrite a daemon we still own).
void inspect_record(const ServiceTarget& target) {
  const auto record = runtime::read_pid_record(target.paths.pid);
  if (!record) return;
  if (!runtime::process_alive(record->pid)) {
    runtime::remove_pid_record(target.paths.pid);
    return;
  }
  if (runtime::verify_pid_record(*record)) {
    const std::string where = (record->host && record->port)
                                  ? fmt::format("{}:{}", *record->host, *record->port)
                                  : target.label();
    throw DaemonError(fmt::format(
        "KeepGPU service daemon pid={} is already running at {}, but its health check failed. "
        "Inspect the service log at {} or run `keep-gpu service-stop --force` before "
        "auto-starting another daemon.",
        record->pid, where, std::filesystem::absolute(target.paths.log).string()));
  }
}

// Over TCP the daemon's token appears only once it has started.
void refresh_token(ServiceTarget& target) {
  if (target.tcp && !target.endpoint.token) target.endpoint.token = runtime::client_token();
}

bool wait_healthy(ServiceTarget& target, pid_t pid, const AutoStartOptions& options) {
  for (int probe = 0; probe < options.health_probes; ++probe) {
    refresh_token(target);
    if (service_healthy(target.endpoint, milliseconds(2000))) {
      refresh_token(target);  // /health may answer before the token file was read
      return true;
    }
    if (!runtime::process_alive(pid)) return false;  // it died (e.g. could not bind): stop waiting
    std::this_thread::sleep_for(options.probe_interval);
  }
  return false;
}

std::string failed_message(const ServiceTarget& target, const runtime::Paths& paths) {
  return fmt::format(
      "Failed to auto-start KeepGPU service at {}. Try `keep-gpu serve` manually. (Service log: "
      "{})",
      target.label(), paths.log.string());
}

}  // namespace

std::string ServiceTarget::label() const {
  return tcp ? fmt::format("{}:{}", host, port) : paths.socket.string();
}

std::string self_exe() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw DaemonError("cannot find the keep-gpu executable: " + ec.message());
  return path.string();
}

bool stop_daemon(const runtime::Paths& paths, const StopDaemonOptions& options) {
  const auto record = runtime::read_pid_record(paths.pid);
  if (!record) return false;  // an unreadable file stays on disk
  if (runtime::verify_pid_record(*record) && !endpoint_matches(*record, options)) {
    return false;  // our daemon, but serving another endpoint than the one asked about
  }
  auto verified = [&] { return runtime::verify_pid_record(*record); };
  if (!verified()) {
    runtime::remove_pid_record(paths.pid);
    return false;
  }
  const pid_t pid = record->pid;
  KG_INFO(logger(), "Stopping KeepGPU service daemon pid={}", pid);
  if (::kill(pid, SIGTERM) != 0) {
    runtime::remove_pid_record(paths.pid);
    return false;
  }
  if (options.term_timeout.count() > 0 &&
      wait_gone(pid, options.term_timeout, nullptr).value_or(false)) {
    runtime::remove_pid_record(paths.pid);
    return true;
  }
  if (!runtime::process_alive(pid)) {
    runtime::remove_pid_record(paths.pid);
    return true;
  }
  if (!verified()) {  // the pid now names another program: never SIGKILL it
    runtime::remove_pid_record(paths.pid);
    return false;
  }
  KG_WARN(logger(), "Daemon pid={} did not exit after SIGTERM; sending SIGKILL", pid);
  if (::kill(pid, SIGKILL) != 0) {
    runtime::remove_pid_record(paths.pid);
    return false;
  }
  const milliseconds kill_wait =
      std::max(milliseconds(500), std::min(options.term_timeout, milliseconds(3000)));
  // SIGKILL cannot be caught. While the killed process exits, its /proc entry stops naming our
  // executable before the process is gone, so identity is not re-checked here: that window
  // made a successful kill look like "not our daemon".
  if (wait_gone(pid, kill_wait, nullptr).value_or(false)) {
    runtime::remove_pid_record(paths.pid);
    return true;
  }
  return false;  // still alive (stuck in the kernel): keep the record
}

bool ensure_service(ServiceTarget& target, const AutoStartOptions& options) {
  if (service_healthy(target.endpoint)) {
    // A racing start may have spawned the daemon, and written its token, after this command
    // first looked for the token file.
    refresh_token(target);
    return false;
  }
  if (!options.auto_start) {
    inspect_record(target);
    throw DaemonError(fmt::format(
        "KeepGPU service is unavailable at {}. Start it with `keep-gpu serve`.", target.label()));
  }
  runtime::Paths paths;
  try {
    paths = runtime::ensure();
  } catch (const std::exception& e) {
    throw DaemonError(e.what());
  }
  std::optional<runtime::FileLock> lock;
  try {
    lock = runtime::FileLock::acquire(paths.lock, milliseconds(20000));
  } catch (const std::exception& e) {
    throw DaemonError(e.what());
  }
  if (!lock) {
    throw DaemonError(
        fmt::format("Another keep-gpu start is still starting the service (lock {} held for 20 s).",
                    paths.lock.string()));
  }
  // Whoever held the lock before us may have started the daemon already.
  refresh_token(target);
  if (service_healthy(target.endpoint)) return false;
  inspect_record(target);

  std::vector<std::string> argv = {self_exe()};
  argv.insert(argv.end(), options.root_args.begin(), options.root_args.end());
  argv.insert(argv.end(), {"serve", "--host", target.host, "--port", std::to_string(target.port)});
  // Reached through the socket, a busy TCP port (say another user's daemon on a shared node)
  // must not stop this user's daemon from serving.
  if (!target.tcp) argv.emplace_back("--tcp-optional");

  const auto previous = snapshot(paths.pid);
  const pid_t pid = spawn_daemon(argv, paths.log);
  KG_DEBUG(logger(), "Spawned KeepGPU service daemon pid={}", pid);
  const auto record = runtime::record_for(pid, target.host, target.port, &argv);
  if (!record) {
    const bool exited = !runtime::process_alive(pid);  // e.g. it could not bind: nothing to own
    terminate_child(pid);
    restore(paths.pid, previous);
    if (exited) throw DaemonError(failed_message(target, paths));
    throw DaemonError(
        fmt::format("Cannot verify KeepGPU service daemon ownership for pid={}", pid));
  }
  try {
    runtime::write_pid_record(paths.pid, *record);
  } catch (const std::exception& e) {
    terminate_child(pid);
    restore(paths.pid, previous);
    throw DaemonError(e.what());
  }
  if (wait_healthy(target, pid, options)) return true;
  try {
    stop_daemon(paths, StopDaemonOptions{milliseconds(1000), std::nullopt});
  } catch (const std::exception&) {
  }
  throw DaemonError(failed_message(target, paths));
}

}  // namespace keepgpu::cli
