#include "service/session_manager.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/errors.hpp"
#include "core/gpu_ids.hpp"
#include "core/identifiers.hpp"
#include "core/log.hpp"
#include "service/api_error.hpp"
#include "service/api_validation.hpp"

namespace keepgpu::service {
namespace {

using Clock = std::chrono::steady_clock;

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto lg = log::get("keep_gpu.mcp.server");
  return lg;
}

// A deadline `wait` from now. Waits are capped (a century) so that huge configured timeouts can
// never overflow the clock's arithmetic inside the condition variable.
Clock::time_point deadline_after(std::chrono::milliseconds wait) {
  constexpr auto kCap = std::chrono::hours(24 * 365 * 100);
  const auto bounded = std::clamp<std::chrono::milliseconds>(
      wait, std::chrono::milliseconds(0),
      std::chrono::duration_cast<std::chrono::milliseconds>(kCap));
  return Clock::now() + bounded;
}

std::string id_list(const std::vector<std::string>& ids) {
  return python_str_list_repr(ids);
}

std::string gpu_list_text(const keeper::GroupOptions& options) {
  return options.gpu_ids ? core::format_id_list(*options.gpu_ids) : "None";
}

enum class State { active, runtime_failed, stopping, stop_failed };

const char* to_text(State state) {
  switch (state) {
    case State::active:
      return "active";
    case State::runtime_failed:
      return "runtime_failed";
    case State::stopping:
      return "stopping";
    case State::stop_failed:
      return "stop_failed";
  }
  return "active";
}

struct Session {
  std::uint64_t generation = 0;  // identity: a reused job id gets a new generation
  std::string job_id;
  core::Json params;
  std::shared_ptr<keeper::KeeperGroup> group;
  State state = State::active;
  std::optional<std::string> last_error;
  bool restored = false;  // brought back from the journal of a daemon that died
  std::optional<core::WallClock::time_point> ends_at;  // its time limit, if any
};

struct Reservation {
  std::uint64_t generation = 0;
  std::string job_id;
  core::Json params;
  bool pending_stop = false;  // a stop gave up waiting; release as soon as the start returns
  bool settled = false;       // the start returned, or its caller gave up waiting
  bool abandoned = false;     // the caller gave up (start timeout): never register the session
  std::exception_ptr error;   // why the start failed
  std::shared_ptr<Session> produced;  // the session registered from this reservation
  bool restored = false;              // a restore from the journal
  std::optional<core::WallClock::time_point> ends_at;
};

// One release of one session. The release thread applies its own result to the registry, so a
// result is applied exactly once whether or not anyone is still waiting for it.
struct ReleaseTask {
  bool done = false;
  bool waiter_gave_up = false;  // the result is "late": it arrives after the caller timed out
  bool pending_stop = false;    // nobody ever waited: a session registered from a pending stop
  bool quiet = false;           // shutdown: no informational logs
  std::optional<std::string> error;
};

enum class Outcome { released, failed, timed_out };

struct TargetOutcome {
  Outcome outcome = Outcome::released;
  std::string error;
};

void add_message(StopResult& result) {
  if (!result.timed_out.empty() && !result.failed.empty()) {
    result.message = std::string(kStopTimedOutMessage) + " " + kStopFailedMessage;
  } else if (!result.timed_out.empty()) {
    result.message = kStopTimedOutMessage;
  } else if (!result.failed.empty()) {
    result.message = kStopFailedMessage;
  }
}

core::Json record(const std::string& job_id, const core::Json& params, const char* state,
                  const std::optional<std::string>& last_error) {
  core::Json out = core::Json::object();
  out["job_id"] = job_id;
  out["params"] = params;  // a copy: callers can never reach the registry's values
  out["state"] = state;
  out["last_error"] = last_error ? core::Json(*last_error) : core::Json(nullptr);
  return out;
}

std::optional<std::string> iso_time(const std::optional<core::WallClock::time_point>& at) {
  if (!at) return std::nullopt;
  return core::format_iso8601_local(*at);
}

// The keys are present only on restored sessions and on sessions with a time limit, so other
// records keep their upstream shape.
core::Json mark_extras(core::Json out, bool restored,
                       const std::optional<core::WallClock::time_point>& ends_at) {
  if (restored) out["restored"] = true;
  if (ends_at) out["ends_at"] = *iso_time(ends_at);
  return out;
}

core::Json reservation_record(const Reservation& reservation) {
  return mark_extras(
      record(reservation.job_id, reservation.params,
             reservation.pending_stop ? "stopping" : "starting",
             reservation.pending_stop ? std::optional<std::string>(kReleaseTimedOutMessage)
                                      : std::nullopt),
      reservation.restored, reservation.ends_at);
}

core::Json session_record(const Session& session) {
  return mark_extras(
      record(session.job_id, session.params, to_text(session.state), session.last_error),
      session.restored, session.ends_at);
}

// A record and the group whose keepers complete it; taken under the registry lock, completed
// without it (keeper status is never read while holding the registry).
struct PendingRecord {
  core::Json record;
  std::shared_ptr<keeper::KeeperGroup> group;  // null for a start still in progress
};

// Adds what the driver holds for the session: "held_bytes" (all its GPUs) and "gpus", one entry
// per GPU with its phase, bytes held and why it waits, backs off or failed. A start in progress
// has no keepers yet: nothing held and no GPU entries.
core::Json complete(PendingRecord pending) {
  core::Json gpus = core::Json::array();
  std::uint64_t total = 0;
  if (pending.group) {
    const auto& ids = pending.group->gpu_ids();
    const auto& keepers = pending.group->keepers();
    for (std::size_t i = 0; i < keepers.size() && i < ids.size(); ++i) {
      const keeper::KeeperStatus status = keepers[i]->status();
      core::Json gpu = core::Json::object();
      gpu["id"] = ids[i];
      gpu["phase"] = keeper::to_string(keeper::phase_of(status.state));
      gpu["held_bytes"] = status.held_bytes;
      gpu["detail"] = status.detail ? core::Json(*status.detail) : core::Json(nullptr);
      gpus.push_back(std::move(gpu));
      total += status.held_bytes;
    }
  }
  pending.record["held_bytes"] = total;
  pending.record["gpus"] = std::move(gpus);
  return std::move(pending.record);
}

}  // namespace

struct SessionManager::Core : std::enable_shared_from_this<Core> {
  Core(SessionTimeouts t, GroupFactory f) : timeouts(t), factory(std::move(f)) {}

  const SessionTimeouts timeouts;
  const GroupFactory factory;

  mutable std::mutex mutex;
  // Broadcast whenever a reservation settles, a release finishes or a background thread exits.
  std::condition_variable changed;
  std::vector<std::shared_ptr<Reservation>> reservations;  // reservation order
  std::vector<std::shared_ptr<Session>> sessions;          // registration order
  std::uint64_t next_generation = 1;
  std::size_t workers = 0;  // background threads still running

  // Serialises journal writes so that the last write always shows the newest set. Taken before
  // `mutex` (to snapshot the set), never while holding it.
  std::mutex journal_mutex;
  std::shared_ptr<SessionJournal> journal;  // guarded by journal_mutex; null: no journal

  // --- helpers; the caller holds `mutex` ---
  std::shared_ptr<Reservation> reservation_for(const std::string& job_id) const {
    for (const auto& r : reservations) {
      if (r->job_id == job_id) return r;
    }
    return nullptr;
  }
  std::shared_ptr<Session> session_for(const std::string& job_id) const {
    for (const auto& s : sessions) {
      if (s->job_id == job_id) return s;
    }
    return nullptr;
  }
  // True when the registry still holds this very session, not a later one under the same id.
  bool registered(const Session& session) const {
    const auto current = session_for(session.job_id);
    return current && current->generation == session.generation;
  }
  void unregister(const Session& session) {
    std::erase_if(sessions, [&](const auto& s) { return s->generation == session.generation; });
  }
  void remove_reservation(const Reservation& reservation) {
    std::erase_if(reservations,
                  [&](const auto& r) { return r->generation == reservation.generation; });
  }

  // Runs `work` on a detached thread that keeps the registry alive; counted in `workers` so the
  // destructor can wait for background work (bounded). Must be called without `mutex` held.
  void spawn(std::function<void()> work) {
    {
      std::lock_guard lock(mutex);
      ++workers;
    }
    try {
      std::thread([self = shared_from_this(), work = std::move(work)]() mutable {
        try {
          work();
        } catch (const std::exception& e) {
          KG_ERROR(logger(), "Session background task failed: {}", e.what());
        } catch (...) {
          KG_ERROR(logger(), "Session background task failed");
        }
        work = nullptr;  // drop the groups it holds before reporting the thread as done
        std::lock_guard lock(self->mutex);
        --self->workers;
        self->changed.notify_all();
      }).detach();
    } catch (...) {
      std::lock_guard lock(mutex);
      --workers;
      throw;
    }
  }

  std::shared_ptr<Reservation> reserve(const std::string& job_id, core::Json params, bool restored,
                                       std::optional<core::WallClock::time_point> ends_at);
  // Ends `session` at its time limit, unless it is stopped or replaced first. Runs on a
  // background thread of its own.
  void watch_time_limit(const std::shared_ptr<Session>& session);
  std::string launch(const std::shared_ptr<Reservation>& reservation, keeper::GroupOptions options);
  std::string start(StartRequest request);
  void restore_one(const std::shared_ptr<Reservation>& reservation,
                   const keeper::GroupOptions& options);
  // Rewrites the journal (when there is one) from the current set. Call without `mutex` held,
  // after every change of the set.
  void sync_journal();
  void run_start(const std::shared_ptr<Reservation>& reservation,
                 const keeper::GroupOptions& options);
  StopResult stop_one(const std::string& job_id, bool quiet);
  StopResult stop_all(bool quiet);
  std::vector<TargetOutcome> release_all(const std::vector<std::shared_ptr<Session>>& targets,
                                         bool quiet);
  void run_release(const std::shared_ptr<Session>& session,
                   const std::shared_ptr<ReleaseTask>& task);
  void probe(const std::vector<std::shared_ptr<Session>>& candidates);
  core::Json status_all();
  core::Json status_one(const std::string& job_id);
};

// ---- start ----

std::string SessionManager::Core::start(StartRequest request) {
  const std::string job_id = request.job_id ? *request.job_id : core::generate_job_id();
  const auto reservation = reserve(job_id, std::move(request.params), false, request.ends_at);
  return launch(reservation, std::move(request.options));
}

std::shared_ptr<Reservation> SessionManager::Core::reserve(
    const std::string& job_id, core::Json params, bool restored,
    std::optional<core::WallClock::time_point> ends_at) {
  auto reservation = std::make_shared<Reservation>();
  // Check and reservation are one step, so a duplicate arriving during a slow start is
  // rejected before a second controller is ever built.
  std::lock_guard lock(mutex);
  if (reservation_for(job_id) || session_for(job_id)) {
    throw ApiError(kInvalidParams, fmt::format("job_id {} already exists", job_id), "ValueError");
  }
  reservation->generation = next_generation++;
  reservation->job_id = job_id;
  reservation->params = std::move(params);
  reservation->restored = restored;
  reservation->ends_at = ends_at;
  reservations.push_back(reservation);
  return reservation;
}

std::string SessionManager::Core::launch(const std::shared_ptr<Reservation>& reservation,
                                         keeper::GroupOptions options) {
  const std::string& job_id = reservation->job_id;
  try {
    spawn([this, reservation, options = std::move(options)] { run_start(reservation, options); });
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mutex);
      remove_reservation(*reservation);
      reservation->settled = true;
      changed.notify_all();
    }
    if (reservation->restored) sync_journal();
    throw ApiError(kInternalError, fmt::format("Unable to start session worker: {}", e.what()));
  }

  std::unique_lock lock(mutex);
  changed.wait_until(lock, deadline_after(timeouts.start_timeout),
                     [&] { return reservation->settled; });
  if (!reservation->settled) {
    // Give the id back at once; the start thread releases whatever it eventually builds.
    const std::string text = fmt::format(
        "Session startup did not complete within {:.1f}s; the GPUs are released in the "
        "background once it returns",
        std::chrono::duration<double>(timeouts.start_timeout).count());
    reservation->abandoned = true;
    reservation->settled = true;
    reservation->error = std::make_exception_ptr(RuntimeError(text));
    remove_reservation(*reservation);
    changed.notify_all();
    lock.unlock();
    if (reservation->restored) sync_journal();
    KG_ERROR(logger(), "Failed to start keep session {}: {}", job_id, text);
    throw ApiError(kInternalError, text);
  }
  if (reservation->error) {
    const std::exception_ptr error = reservation->error;
    lock.unlock();
    throw to_api_error(error);
  }
  lock.unlock();
  // The start thread journals the session too, but maybe after this caller was woken: a start
  // that has returned is always in the journal.
  sync_journal();
  return job_id;
}

void SessionManager::Core::run_start(const std::shared_ptr<Reservation>& reservation,
                                     const keeper::GroupOptions& options) {
  std::shared_ptr<keeper::KeeperGroup> group;
  std::exception_ptr error;
  try {
    group = factory(options);
    if (!group) throw RuntimeError("no GPU controller was created for the session");
    group->keep();
  } catch (...) {
    error = std::current_exception();
  }

  std::shared_ptr<Session> release_now;  // registered from a pending stop
  bool abandoned = false;
  {
    std::lock_guard lock(mutex);
    abandoned = reservation->abandoned;
    if (!abandoned) {
      remove_reservation(*reservation);
      reservation->settled = true;
      if (error) {
        reservation->error = error;
      } else {
        auto session = std::make_shared<Session>();
        session->generation = next_generation++;
        session->job_id = reservation->job_id;
        session->params = reservation->params;
        session->group = group;
        session->restored = reservation->restored;
        session->ends_at = reservation->ends_at;
        if (reservation->pending_stop) {
          session->state = State::stopping;
          session->last_error = kReleaseTimedOutMessage;
          release_now = session;
        }
        sessions.push_back(session);
        reservation->produced = session;
      }
      changed.notify_all();
    }
  }
  sync_journal();

  const std::string& job_id = reservation->job_id;
  if (error) {
    KG_WARN(logger(), "Failed to start keep session {}: {}", job_id, message_of(error));
    return;  // the failed group (already rolled back by keep()) is destroyed outside the lock
  }
  if (abandoned) {
    try {
      group->release();
      KG_INFO(logger(), "Released keep session {} after its start timed out", job_id);
    } catch (const std::exception& e) {
      KG_WARN(logger(), "Release after timed-out start of keep session {} failed: {}", job_id,
              e.what());
    }
    return;
  }
  KG_INFO(logger(), "Started keep session {} on GPUs {}", job_id, gpu_list_text(options));
  if (release_now) {
    // Already on a background thread: release here, through the same path as any stop.
    auto task = std::make_shared<ReleaseTask>();
    task->waiter_gave_up = true;
    task->pending_stop = true;
    run_release(release_now, task);
    return;
  }
  if (reservation->ends_at && reservation->produced) {
    // This thread is done with the start: it becomes the session's timer.
    watch_time_limit(reservation->produced);
  }
}

void SessionManager::Core::watch_time_limit(const std::shared_ptr<Session>& session) {
  const core::WallClock::time_point ends_at = *session->ends_at;
  std::unique_lock lock(mutex);
  // Stopped, replaced, or being released by someone else: the limit no longer concerns us.
  const auto settled = [&] {
    return !registered(*session) || session->state == State::stopping ||
           session->state == State::stop_failed;
  };
  for (;;) {
    if (settled()) return;
    const auto left = core::remaining_until(ends_at, core::WallClock::now());
    if (left.count() <= 0) break;
    // Woken by every registry change, and at least once a minute, so a changed wall clock is
    // noticed: the limit is a moment, not an amount of sleep.
    changed.wait_for(lock, std::min(left, std::chrono::milliseconds(60000)), settled);
  }
  session->state = State::stopping;
  session->last_error.reset();
  lock.unlock();
  KG_INFO(logger(), "Keep session {} reached its time limit ({}); releasing it", session->job_id,
          core::format_iso8601_local(ends_at));
  const TargetOutcome outcome = release_all({session}, false).front();
  switch (outcome.outcome) {
    case Outcome::released:
      KG_INFO(logger(), "Stopped keep session {} at its time limit", session->job_id);
      break;
    case Outcome::failed:
      KG_ERROR(logger(), "Failed to stop keep session {} at its time limit: {}", session->job_id,
               outcome.error);
      break;
    case Outcome::timed_out:
      KG_WARN(logger(), "Timed out while stopping keep session {} at its time limit",
              session->job_id);
      break;
  }
}

// ---- the journal ----

void SessionManager::Core::sync_journal() {
  std::lock_guard journal_lock(journal_mutex);
  if (!journal) return;
  std::vector<JournalEntry> entries;
  {
    std::lock_guard lock(mutex);
    // Restores in progress first: they were in the journal before anything started here.
    for (const auto& reservation : reservations) {
      if (reservation->restored) {
        entries.push_back(
            {reservation->job_id, reservation->params, iso_time(reservation->ends_at)});
      }
    }
    for (const auto& session : sessions)
      entries.push_back({session->job_id, session->params, iso_time(session->ends_at)});
  }
  journal->write(entries);
}

void SessionManager::Core::restore_one(const std::shared_ptr<Reservation>& reservation,
                                       const keeper::GroupOptions& options) {
  try {
    launch(reservation, options);
    KG_WARN(logger(),
            "Restored keep session {} left by a KeepGPU service that did not shut down cleanly",
            reservation->job_id);
  } catch (const std::exception& e) {
    KG_ERROR(logger(),
             "Cannot restore keep session {} left by a KeepGPU service that did not shut down "
             "cleanly: {}; the session is dropped",
             reservation->job_id, e.what());
  }
}

// ---- release ----

void SessionManager::Core::run_release(const std::shared_ptr<Session>& session,
                                       const std::shared_ptr<ReleaseTask>& task) {
  std::optional<std::string> error;
  try {
    session->group->release();
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown error";
  }
  bool late = false;
  bool quiet = false;
  {
    std::lock_guard lock(mutex);
    task->done = true;
    task->error = error;
    late = task->waiter_gave_up;
    quiet = task->quiet;
    if (registered(*session) && session->state == State::stopping) {
      if (!error) {
        unregister(*session);
      } else {
        session->state = State::stop_failed;
        session->last_error = *error;
      }
    }
    changed.notify_all();
  }
  sync_journal();
  if (task->pending_stop) {
    if (!error) {
      KG_INFO(logger(), "Stopped keep session {}", session->job_id);
    } else {
      KG_ERROR(logger(), "Failed to stop keep session {}: {}", session->job_id, *error);
    }
  } else if (late) {
    if (!error) {
      if (!quiet)
        KG_INFO(logger(), "Completed delayed release for keep session {}", session->job_id);
    } else {
      KG_WARN(logger(), "Delayed release failed for keep session {}: {}", session->job_id, *error);
    }
  }
}

std::vector<TargetOutcome> SessionManager::Core::release_all(
    const std::vector<std::shared_ptr<Session>>& targets, bool quiet) {
  // Every release runs on its own thread at once (in parallel); the caller waits for
  // all of them against one deadline, which is each release's own timeout.
  std::vector<std::shared_ptr<ReleaseTask>> tasks;
  tasks.reserve(targets.size());
  for (const auto& target : targets) {
    auto task = std::make_shared<ReleaseTask>();
    task->quiet = quiet;
    tasks.push_back(task);
    try {
      spawn([this, target, task] { run_release(target, task); });
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex);
      task->done = true;
      task->error = fmt::format("Unable to start release worker: {}", e.what());
      if (registered(*target) && target->state == State::stopping) {
        target->state = State::stop_failed;
        target->last_error = task->error;
      }
    }
  }

  std::vector<TargetOutcome> outcomes(targets.size());
  std::unique_lock lock(mutex);
  changed.wait_until(lock, deadline_after(timeouts.release_timeout), [&] {
    return std::all_of(tasks.begin(), tasks.end(), [](const auto& t) { return t->done; });
  });
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto& task = *tasks[i];
    if (task.done) {
      outcomes[i] = task.error ? TargetOutcome{Outcome::failed, *task.error}
                               : TargetOutcome{Outcome::released, {}};
      continue;
    }
    // Decided under the lock: a result that landed first would have set `done`, so a late
    // failure that wins the race is never overwritten by the timeout text.
    task.waiter_gave_up = true;
    auto& target = *targets[i];
    if (registered(target) && target.state == State::stopping) {
      target.last_error = kReleaseTimedOutMessage;
    }
    outcomes[i] = TargetOutcome{Outcome::timed_out, {}};
  }
  lock.unlock();
  // Each release thread journals its own result, maybe after this waiter woke: a stop that has
  // returned is always reflected in the journal.
  sync_journal();
  return outcomes;
}

// ---- stop ----

StopResult SessionManager::Core::stop_one(const std::string& job_id, bool quiet) {
  StopResult result;
  std::shared_ptr<Session> target;
  std::unique_lock lock(mutex);
  if (auto reservation = reservation_for(job_id)) {
    // Wait for this very reservation only; a newer one under the same id does not count.
    changed.wait_until(lock, deadline_after(timeouts.startup_stop_wait),
                       [&] { return reservation->settled; });
    if (!reservation->settled) {
      reservation->pending_stop = true;
      lock.unlock();
      result.timed_out.push_back(job_id);
      add_message(result);
      if (!quiet) KG_WARN(logger(), "Timed out while stopping keep session {}", job_id);
      return result;
    }
    target = reservation->produced;
  } else {
    target = session_for(job_id);
  }
  if (!target || !registered(*target)) {
    result.message = kJobNotFoundMessage;
    return result;
  }
  if (target->state == State::stopping) {
    // A release is already in flight: never start a second one.
    result.timed_out.push_back(job_id);
    add_message(result);
    return result;
  }
  target->state = State::stopping;
  target->last_error.reset();
  lock.unlock();

  const TargetOutcome outcome = release_all({target}, quiet).front();
  switch (outcome.outcome) {
    case Outcome::released:
      result.stopped.push_back(job_id);
      if (!quiet) KG_INFO(logger(), "Stopped keep session {}", job_id);
      break;
    case Outcome::failed:
      result.failed.push_back(job_id);
      result.errors.emplace_back(job_id, outcome.error);
      KG_ERROR(logger(), "Failed to stop keep session {}: {}", job_id, outcome.error);
      break;
    case Outcome::timed_out:
      result.timed_out.push_back(job_id);
      if (!quiet) KG_WARN(logger(), "Timed out while stopping keep session {}", job_id);
      break;
  }
  add_message(result);
  return result;
}

StopResult SessionManager::Core::stop_all(bool quiet) {
  StopResult result;
  std::unique_lock lock(mutex);
  // The snapshot: whatever appears after this line is never touched by this stop-all.
  const auto snapshot_reservations = reservations;
  const auto snapshot_sessions = sessions;
  changed.wait_until(lock, deadline_after(timeouts.startup_stop_wait), [&] {
    return std::all_of(snapshot_reservations.begin(), snapshot_reservations.end(),
                       [](const auto& r) { return r->settled; });
  });
  for (const auto& reservation : snapshot_reservations) {
    if (reservation->settled) continue;
    reservation->pending_stop = true;
    result.timed_out.push_back(reservation->job_id);
  }

  std::vector<std::shared_ptr<Session>> targets;
  for (const auto& session : snapshot_sessions) {
    if (registered(*session)) targets.push_back(session);
  }
  for (const auto& reservation : snapshot_reservations) {
    if (reservation->settled && reservation->produced && registered(*reservation->produced)) {
      targets.push_back(reservation->produced);
    }
  }
  std::vector<std::shared_ptr<Session>> to_release;
  std::vector<bool> already_stopping(targets.size(), false);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto& target = *targets[i];
    if (target.state == State::stopping) {
      already_stopping[i] = true;
      continue;
    }
    target.state = State::stopping;  // stop_failed and runtime_failed are retried too
    target.last_error.reset();
    to_release.push_back(targets[i]);
  }
  lock.unlock();

  const auto outcomes = release_all(to_release, quiet);
  std::size_t next = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::string& job_id = targets[i]->job_id;
    if (already_stopping[i]) {
      result.timed_out.push_back(job_id);
      continue;
    }
    const TargetOutcome& outcome = outcomes[next++];
    switch (outcome.outcome) {
      case Outcome::released:
        result.stopped.push_back(job_id);
        break;
      case Outcome::failed:
        result.failed.push_back(job_id);
        result.errors.emplace_back(job_id, outcome.error);
        break;
      case Outcome::timed_out:
        result.timed_out.push_back(job_id);
        break;
    }
  }
  add_message(result);
  if (!quiet) {
    if (!result.stopped.empty()) KG_INFO(logger(), "Stopped sessions: {}", id_list(result.stopped));
    if (!result.timed_out.empty()) {
      KG_WARN(logger(), "Timed out stopping sessions: {}", id_list(result.timed_out));
    }
  }
  if (!result.failed.empty()) {
    KG_ERROR(logger(), "Failed stopping sessions: {}", id_list(result.failed));
  }
  return result;
}

// ---- status ----

void SessionManager::Core::probe(const std::vector<std::shared_ptr<Session>>& candidates) {
  for (const auto& session : candidates) {
    std::exception_ptr failure;
    try {
      failure = session->group->runtime_error();
    } catch (const std::exception& e) {
      // A probe that cannot answer says nothing about the workers; status must still work.
      KG_WARN(logger(), "Health probe of keep session {} failed: {}", session->job_id, e.what());
      continue;
    }
    if (!failure) continue;
    const std::string text = message_of(failure);
    std::lock_guard lock(mutex);
    // Applied only to the same, still active session: it may have been stopped or replaced.
    if (registered(*session) && session->state == State::active) {
      session->state = State::runtime_failed;
      session->last_error = text;
    }
  }
}

core::Json SessionManager::Core::status_all() {
  std::vector<std::shared_ptr<Session>> candidates;
  {
    std::lock_guard lock(mutex);
    for (const auto& session : sessions) {
      if (session->state == State::active) candidates.push_back(session);
    }
  }
  probe(candidates);
  std::vector<PendingRecord> pending;
  {
    std::lock_guard lock(mutex);
    for (const auto& reservation : reservations)
      pending.push_back({reservation_record(*reservation), nullptr});
    for (const auto& session : sessions)
      pending.push_back({session_record(*session), session->group});
  }
  core::Json jobs = core::Json::array();
  for (auto& record : pending)
    jobs.push_back(complete(std::move(record)));
  core::Json out = core::Json::object();
  out["active_jobs"] = std::move(jobs);
  return out;
}

core::Json SessionManager::Core::status_one(const std::string& job_id) {
  std::shared_ptr<Session> candidate;
  {
    std::lock_guard lock(mutex);
    if (!reservation_for(job_id)) {
      auto session = session_for(job_id);
      if (session && session->state == State::active) candidate = session;
    }
  }
  if (candidate) probe({candidate});
  PendingRecord pending;
  {
    std::lock_guard lock(mutex);
    if (auto reservation = reservation_for(job_id)) {
      pending.record = reservation_record(*reservation);
    } else if (auto session = session_for(job_id)) {
      pending = {session_record(*session), session->group};
    } else {
      core::Json out = core::Json::object();
      out["active"] = false;
      out["job_id"] = job_id;
      return out;
    }
  }
  core::Json out = complete(std::move(pending));
  out["active"] = true;  // "tracked", whatever the state
  return out;
}

// ---- public face ----

GroupFactory default_group_factory() {
  return [](const keeper::GroupOptions& options) {
    return std::make_unique<keeper::KeeperGroup>(options);
  };
}

core::Json StopResult::to_json() const {
  core::Json out = core::Json::object();
  out["stopped"] = stopped;
  out["timed_out"] = timed_out;
  out["failed"] = failed;
  core::Json error_map = core::Json::object();
  for (const auto& [job_id, text] : errors)
    error_map[job_id] = text;
  out["errors"] = std::move(error_map);
  if (message) out["message"] = *message;
  return out;
}

SessionManager::SessionManager(SessionTimeouts timeouts, GroupFactory factory)
    : timeouts_(timeouts), core_(std::make_shared<Core>(timeouts, std::move(factory))) {}

SessionManager::~SessionManager() {
  shutdown();
  // Background threads own the registry (shared), so leaving early is safe; waiting a bounded
  // time lets releases that are about to finish do so before the process goes on.
  std::unique_lock lock(core_->mutex);
  core_->changed.wait_until(lock,
                            deadline_after(timeouts_.startup_stop_wait + timeouts_.release_timeout +
                                           std::chrono::seconds(1)),
                            [&] { return core_->workers == 0; });
}

std::string SessionManager::start(StartRequest request) {
  return core_->start(std::move(request));
}

StopResult SessionManager::stop(const std::string& job_id) {
  return core_->stop_one(job_id, false);
}

StopResult SessionManager::stop_all() {
  return core_->stop_all(false);
}

core::Json SessionManager::status_all() {
  return core_->status_all();
}

core::Json SessionManager::status_one(const std::string& job_id) {
  return core_->status_one(job_id);
}

void SessionManager::shutdown() {
  try {
    core_->stop_all(true);
  } catch (const std::exception& e) {
    KG_WARN(logger(), "Stopping sessions at shutdown failed: {}", e.what());
  } catch (...) {
    KG_WARN(logger(), "Stopping sessions at shutdown failed");
  }
}

std::map<std::int64_t, std::uint64_t> SessionManager::held_bytes_by_gpu() const {
  std::vector<std::shared_ptr<keeper::KeeperGroup>> groups;
  {
    std::lock_guard lock(core_->mutex);
    for (const auto& session : core_->sessions) {
      if (session->group) groups.push_back(session->group);
    }
  }
  std::map<std::int64_t, std::uint64_t> held;
  for (const auto& group : groups) {
    const auto& ids = group->gpu_ids();
    const auto& keepers = group->keepers();
    for (std::size_t i = 0; i < keepers.size() && i < ids.size(); ++i) {
      const std::uint64_t bytes = keepers[i]->status().held_bytes;
      if (bytes > 0) held[ids[i]] += bytes;
    }
  }
  return held;
}

std::vector<std::string> SessionManager::restore(const std::vector<JournalEntry>& entries) {
  std::vector<std::string> reserved;
  for (const auto& entry : entries) {
    std::shared_ptr<Reservation> reservation;
    keeper::GroupOptions options;
    try {
      // The same rules as any start: params a daemon once accepted are checked again here.
      core::Json params = entry.params;
      params["job_id"] = entry.job_id;
      // The journaled end, not one recomputed from `duration` now.
      std::optional<core::WallClock::time_point> ends_at;
      if (entry.ends_at) ends_at = core::parse_iso8601(*entry.ends_at);
      if (ends_at && *ends_at <= core::WallClock::now()) {
        KG_WARN(logger(),
                "Keep session {} reached its time limit ({}) while no KeepGPU service ran; it is "
                "not restored",
                entry.job_id, *entry.ends_at);
        continue;
      }
      StartRequest request = validate_start_params(params);
      options = std::move(request.options);
      if (ends_at) request.ends_at = ends_at;
      reservation = core_->reserve(entry.job_id, std::move(request.params), true, request.ends_at);
    } catch (const std::exception& e) {
      KG_ERROR(logger(),
               "Cannot restore keep session {} left by a KeepGPU service that did not shut down "
               "cleanly: {}; the session is dropped",
               entry.job_id, e.what());
      continue;
    }
    reserved.push_back(entry.job_id);
    try {
      core_->spawn([core = core_.get(), reservation, options = std::move(options)] {
        core->restore_one(reservation, options);
      });
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(core_->mutex);
        core_->remove_reservation(*reservation);
        reservation->settled = true;
        core_->changed.notify_all();
      }
      reserved.pop_back();
      KG_ERROR(logger(), "Cannot restore keep session {}: {}; the session is dropped", entry.job_id,
               e.what());
    }
  }
  core_->sync_journal();
  return reserved;
}

void SessionManager::attach_journal(std::shared_ptr<SessionJournal> journal) {
  {
    std::lock_guard journal_lock(core_->journal_mutex);
    core_->journal = std::move(journal);
  }
  core_->sync_journal();
}

void SessionManager::close_journal() {
  std::lock_guard journal_lock(core_->journal_mutex);
  if (!core_->journal) return;
  core_->journal->remove();
  core_->journal.reset();
}

std::size_t SessionManager::size() const {
  std::lock_guard lock(core_->mutex);
  return core_->reservations.size() + core_->sessions.size();
}

bool SessionManager::contains(const std::string& job_id) const {
  std::lock_guard lock(core_->mutex);
  return core_->reservation_for(job_id) || core_->session_for(job_id);
}

}  // namespace keepgpu::service
