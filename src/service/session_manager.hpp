// SessionManager: the registry of keep sessions. Each session owns one
// KeeperGroup. Start reservations, the states starting/active/stopping/runtime_failed/stop_failed,
// stop-one and stop-all with upstream's snapshot and timeout semantics, late release results and
// shutdown. One lock guards the registry; no keeper call is made while holding it. Transports
// never hold lifecycle logic: they call Api, which calls this.
//
// Every keeper call that can block (building and starting a group, releasing it) runs on a
// background thread and the caller waits a bounded time, so no request is
// ever stuck behind a hung driver. Late results are applied only to the very object they belong
// to (generation numbers, not job ids, identify reservations and sessions).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.hpp"
#include "core/time_limit.hpp"

#include "keeper/keeper_group.hpp"
#include "service/session_journal.hpp"

namespace keepgpu::service {

// The texts status and stop report for a release (or a start) that outlived its wait.
inline constexpr const char* kReleaseTimedOutMessage =
    "Timed out while stopping session; release continues in background.";
inline constexpr const char* kStopTimedOutMessage =
    "Timed out while stopping some sessions; release continues in background.";
inline constexpr const char* kStopFailedMessage =
    "Some sessions failed to stop; inspect status for details.";
inline constexpr const char* kJobNotFoundMessage = "job_id not found";

struct SessionTimeouts {
  // How long a stop waits for a starting session to settle (upstream STARTUP_STOP_WAIT).
  std::chrono::milliseconds startup_stop_wait{10000};
  // How long a stop waits for a release before reporting timed_out (upstream RELEASE_TIMEOUT).
  std::chrono::milliseconds release_timeout{10000};
  // How long start_keep waits for the group to be built and started (upstream has
  // none). On expiry the start fails with -32603, the id is free again at once, and the
  // group is released in the background when its start finally returns.
  std::chrono::milliseconds start_timeout{60000};
};

// What a start needs; validated by Api before it gets here.
struct StartRequest {
  std::optional<std::string> job_id;  // nullopt = generate a UUID4
  keeper::GroupOptions options;       // gpu_ids, interval, vram, busy_threshold
  core::Json params;                  // exactly what status echoes: gpu_ids, vram, interval,
                                      // busy_threshold (original JSON types kept)
  // When the session ends by itself (its `duration` or `until`); nullopt: it runs until stopped.
  std::optional<core::WallClock::time_point> ends_at;
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
  // {"stopped", "timed_out", "failed", "errors", "message"?}. The service writes every object
  // with sorted keys (wire_json), so the order on the wire is alphabetical; clients compare
  // parsed JSON.
  core::Json to_json() const;
};

class SessionManager {
 public:
  explicit SessionManager(SessionTimeouts timeouts = {},
                          GroupFactory factory = default_group_factory());
  ~SessionManager();  // runs shutdown(), then waits (bounded) for background work to finish
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  // Reserves the id (ApiError -32602 "job_id <id> already exists"), builds and starts the group
  // on a background thread, registers the session. Returns the job id. Errors map to
  // (ApiError -32602 / -32000 / -32603); a start that outlives start_timeout is -32603.
  std::string start(StartRequest request);
  StopResult stop(const std::string& job_id);
  StopResult stop_all();
  // status(): {"active_jobs": [...]}; status(id): {"active": true, ...} or {"active": false, ...}.
  // Runs the runtime-health probe on active sessions without holding the lock.
  core::Json status_all();
  core::Json status_one(const std::string& job_id);
  // Quiet stop-all, bounded by the timeouts; safe to call more than once.
  void shutdown();
  // Bytes held right now by every registered session's keepers, summed per visible GPU ordinal
  // (a GPU with nothing held is absent). Reads keeper status without holding the registry lock.
  std::map<std::int64_t, std::uint64_t> held_bytes_by_gpu() const;

  // Number of sessions and reservations (for tests and the daemon's idle checks).
  std::size_t size() const;
  // True when the id is reserved by a start in progress or registered in any state (REST create
  // checks this before it lists GPUs; start() checks again atomically).
  bool contains(const std::string& job_id) const;

  // --- crash safety: the session journal ---
  // Brings back the sessions a daemon that died left in its journal. Each entry's id is reserved
  // at once (status shows it "starting", with "restored": true, and a start of the same id is
  // rejected), then started in the background through the normal start path with the same
  // params; a restored session keeps "restored": true in status. An entry that cannot be started
  // again (bad params, GPU gone, start timeout) is logged at ERROR and dropped. Returns the ids
  // reserved.
  std::vector<std::string> restore(const std::vector<JournalEntry>& entries);
  // From now on `journal` lists the registered sessions (whatever their state, stop_failed
  // included) and the restores in progress: written now and rewritten on every change of that
  // set.
  void attach_journal(std::shared_ptr<SessionJournal> journal);
  // A graceful end: removes the journal and stops writing it, so nothing is restored later.
  void close_journal();

  const SessionTimeouts& timeouts() const noexcept { return timeouts_; }

  struct Core;  // the registry, shared with background threads so it outlives late work

 private:
  SessionTimeouts timeouts_;
  std::shared_ptr<Core> core_;
};

}  // namespace keepgpu::service
