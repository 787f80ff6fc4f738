// SessionManager: the registry of keep sessions (spec/service.md §6). Each session owns one
// KeeperGroup. Start reservations, the states starting/active/stopping/runtime_failed/stop_failed,
// stop-one and stop-all with upstream's snapshot and timeout semantics, late release results and
// shutdown. One lock guards the registry; no keeper call is made while holding it. Transports
// never hold lifecycle logic: they call Api, which calls this.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keeper/keeper_group.hpp"

namespace keepgpu::service {

struct SessionTimeouts {
  // How long a stop waits for a starting session to settle (upstream STARTUP_STOP_WAIT).
  std::chrono::milliseconds startup_stop_wait{10000};
  // How long a stop waits for a release before reporting timed_out (upstream RELEASE_TIMEOUT).
  std::chrono::milliseconds release_timeout{10000};
};

// What a start needs; validated by Api before it gets here.
struct StartRequest {
  std::optional<std::string> job_id;  // nullopt = generate a UUID4
  keeper::GroupOptions options;       // gpu_ids, interval, vram, busy_threshold
  nlohmann::json params;              // exactly what status echoes: gpu_ids, vram, interval,
                                      // busy_threshold (original JSON types kept)
};

// Builds (and validates against the hardware) the group for a session. The default builds a real
// KeeperGroup through keeper::default_backend_provider().
using GroupFactory =
    std::function<std::unique_ptr<keeper::KeeperGroup>(const keeper::GroupOptions&)>;
GroupFactory default_group_factory();

struct StopResult {
  std::vector<std::string> stopped;
  std::vector<std::string> timed_out;
  std::vector<std::string> failed;
  std::vector<std::pair<std::string, std::string>> errors;  // id -> message, in `failed` order
  std::optional<std::string> message;
  nlohmann::json to_json() const;  // keys in upstream order
};

class SessionManager {
 public:
  explicit SessionManager(SessionTimeouts timeouts = {}, GroupFactory factory = default_group_factory());
  ~SessionManager();  // runs shutdown()
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Reserves the id (ApiError -32602 "job_id <id> already exists"), builds and starts the group
  // outside the lock, registers the session. Returns the job id. Errors map per spec §5.1 step 7.
  std::string start(StartRequest request);
  StopResult stop(const std::string& job_id);
  StopResult stop_all();
  // status(): {"active_jobs": [...]}; status(id): {"active": true, ...} or {"active": false, ...}.
  // Runs the runtime-health probe on active sessions without holding the lock.
  nlohmann::json status_all();
  nlohmann::json status_one(const std::string& job_id);
  // Quiet stop-all, bounded by the timeouts; safe to call more than once.
  void shutdown();
  // Number of sessions and reservations (for tests and the daemon's idle checks).
  std::size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keepgpu::service
