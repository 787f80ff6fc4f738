// Managing the per-user daemon from the CLI (one daemon per user, never a race between two):
// the stop-daemon procedure for a verified PID record, and auto-start under an flock so racing
// `start`s spawn one daemon.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "service/client.hpp"
#include "service/runtime_dir.hpp"

namespace keepgpu::cli {

// A failure that `start` prints as `Error: {message}`.
class DaemonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the service is wanted: the endpoint to talk to, and the host/port a spawned daemon binds.
struct ServiceTarget {
  service::client::Endpoint endpoint;
  bool tcp = false;  // --host/--port given: talk TCP and require the record to match them
  std::string host = "127.0.0.1";
  int port = 8765;
  service::runtime::Paths paths;  // the runtime directory's files (it may not exist yet)
  // "host:port" for TCP, the socket path otherwise, for messages.
  std::string label() const;
};

struct StopDaemonOptions {
  std::chrono::milliseconds term_timeout{3000};
  // Only stop a record whose host/port match (TCP mode); nullopt accepts any verified record.
  std::optional<std::pair<std::string, int>> expected_endpoint;
};

// The stop-daemon procedure: SIGTERM, wait up to term_timeout, re-verify, SIGKILL, wait; only ever
// signals a process whose record verifies. Returns true when the daemon is gone ("stopped").
bool stop_daemon(const service::runtime::Paths& paths, const StopDaemonOptions& options);

struct AutoStartOptions {
  bool auto_start = true;
  // Extra root options for the spawned daemon (e.g. --log-level debug), placed before `serve`.
  std::vector<std::string> root_args;
  int health_probes = 30;
  std::chrono::milliseconds probe_interval{200};
};

// Makes sure a service answers: returns true when this call spawned the daemon, false when a
// healthy service was already there. A spawned daemon creates the token, so over TCP the endpoint's
// token is (re)read here. Throws DaemonError with the message to print.
bool ensure_service(ServiceTarget& target, const AutoStartOptions& options);

// The absolute path of the running executable (/proc/self/exe).
std::string self_exe();

}  // namespace keepgpu::cli
