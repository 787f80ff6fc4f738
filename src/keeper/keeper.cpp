#include "keeper/keeper.hpp"

#include <pthread.h>

#include <fmt/format.h>
#include <algorithm>
#include <condition_variable>
#include <vector>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/thresholds.hpp"
#include "core/vram.hpp"

namespace keepgpu::keeper {

struct Keeper::Shared {
  std::mutex mutex;
  std::condition_variable_any cv;  // startup confirmation, worker exit, interruptible waits
  std::stop_source stop;
  bool confirmed = false;
  bool finished = false;
  std::vector<std::exception_ptr> startup_errors;
  std::exception_ptr failure;
  KeeperStatus status;
  // A session whose release the driver refused, kept so that a later release can retry it, and
  // the error that refusal raised.
  std::unique_ptr<gpu::DeviceSession> unreleased;
  std::exception_ptr release_failure;
};

namespace {

using Clock = std::chrono::steady_clock;

std::string describe_utilization(std::optional<double> util) {
  if (!util) return "n/a";
  return fmt::format("{}%", static_cast<int>(*util));
}

// Why the busy policy says no, for status: the reading and the threshold it crossed.
std::string busy_reason(std::optional<double> util, int threshold) {
  if (!util) return "GPU utilization unavailable";
  return fmt::format("GPU busy: utilization {}% above the {}% threshold", static_cast<int>(*util),
                     threshold);
}

// Closes `session` and returns nullptr, or, when the driver refuses, records the refusal in
// `shared` (the session kept for a retry, the bytes it still holds, phase failed) and returns it.
std::exception_ptr close_or_keep(Keeper::Shared& shared,
                                 std::unique_ptr<gpu::DeviceSession> session, int rank,
                                 const std::shared_ptr<spdlog::logger>& log) {
  try {
    session->close();
    return nullptr;
  } catch (const std::exception& e) {
    const std::uint64_t still_held = session->allocated_elements() * 4;
    const std::string text = fmt::format("rank {}: failed to release GPU {} ({} still held): {}",
                                         rank, rank, core::format_bytes(still_held), e.what());
    KG_ERROR(log, "{}", text);
    auto error = std::make_exception_ptr(RuntimeError(text));
    std::lock_guard lock(shared.mutex);
    shared.release_failure = error;
    shared.status.state = KeeperState::failed;
    shared.status.detail = text;
    shared.status.held_bytes = still_held;
    shared.unreleased = std::move(session);
    return error;
  }
}

// Everything the worker needs, owned by the worker so that a worker left behind by a timed-out
// release (detached at destruction) never touches a destroyed Keeper.
struct WorkerContext {
  std::shared_ptr<Keeper::Shared> shared;
  std::shared_ptr<gpu::Backend> backend;
  std::shared_ptr<Workload> workload;
  KeeperOptions options;
  const ControllerWording* wording;
  std::shared_ptr<spdlog::logger> logger;

  int rank() const { return options.rank; }
  const std::shared_ptr<spdlog::logger>& log() const { return logger; }

  void set_state(KeeperState state, std::optional<std::string> detail = std::nullopt) {
    std::lock_guard lock(shared->mutex);
    // Once a release asked the worker to stop, status says "stopping" until the worker is gone.
    if (shared->stop.stop_requested()) return;
    shared->status.state = state;
    shared->status.detail = std::move(detail);
  }

  void confirm() {
    std::lock_guard lock(shared->mutex);
    if (!shared->confirmed) {
      shared->confirmed = true;
      shared->cv.notify_all();
    }
  }

  // Before confirmation the error goes to keep()'s startup list; afterwards it is the failure
  // that allocation_status() reports. Either way keep() is released.
  void record_startup_failure(const std::exception_ptr& error) {
    std::lock_guard lock(shared->mutex);
    if (!shared->confirmed) {
      shared->startup_errors.push_back(error);
      shared->confirmed = true;
    } else {
      shared->failure = error;
    }
    shared->status.state = KeeperState::failed;
    shared->status.detail = message_of(error);
    shared->cv.notify_all();
  }

  void record_worker_failure(const std::string& detail) {
    const std::string text = fmt::format("rank {}: unexpected {} keep worker failure: {}", rank(),
                                         wording->label, detail);
    record_startup_failure(std::make_exception_ptr(RuntimeError(text)));
    KG_ERROR(log(), "{}", text);
  }

  // Waits `seconds` on the stop token; false when stop was requested. Long intervals are waited
  // in one-day slices so the deadline arithmetic cannot overflow.
  bool wait_interval(double seconds) {
    constexpr double kSlice = 86400.0;
    auto token = shared->stop.get_token();
    std::unique_lock lock(shared->mutex);
    double remaining = seconds;
    while (remaining > 0.0 && !token.stop_requested()) {
      const double chunk = std::min(remaining, kSlice);
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(chunk));
      shared->cv.wait_until(lock, token, deadline, [] { return false; });
      remaining -= chunk;
    }
    return !token.stop_requested();
  }

  bool stop_requested() const { return shared->stop.stop_requested(); }

  std::optional<double> read_utilization() {
    auto util = backend->telemetry().utilization(rank());
    std::lock_guard lock(shared->mutex);
    shared->status.utilization = util;
    return util;
  }

  // Opens the device and keeps it until stopped or failed; returns the session (nullptr when it
  // never opened) for close_session().
  std::unique_ptr<gpu::DeviceSession> run();
  // True once the buffer is allocated; false when the worker must exit.
  bool allocate_phase(gpu::DeviceSession& session);
  void steady_phase(gpu::DeviceSession& session);
  // The steady phase with a utilization target: a timed kernel every slice.
  void duty_phase(gpu::DeviceSession& session);
  // Releases the session; a refusal is recorded (and the session kept) for a later retry.
  void close_session(std::unique_ptr<gpu::DeviceSession> session);
};

std::unique_ptr<gpu::DeviceSession> WorkerContext::run() {
  std::unique_ptr<gpu::DeviceSession> session;
  try {
    set_state(KeeperState::starting, "opening the device");
    session = backend->open(rank());
  } catch (const std::exception& e) {
    KG_ERROR(log(), "rank {}: {} startup failed: {}", rank(), wording->label, e.what());
    record_startup_failure(std::current_exception());
    return nullptr;
  }

  const std::uint64_t bytes = options.elements * 4;
  if (options.elements == 0) {
    const std::string text = fmt::format("rank {}: invalid vram_to_keep=0", rank());
    KG_ERROR(log(), "{}", text);
    record_startup_failure(std::make_exception_ptr(RuntimeError(text)));
    return session;
  }
  // A request that can never fit fails the start at once instead of retrying forever.
  try {
    const gpu::MemoryInfo memory = session->memory_info();
    if (memory.total > 0 && bytes > memory.total) {
      const std::string text = fmt::format(
          "rank {}: requested {} ({} bytes) exceeds the total memory of GPU {}: {} ({} bytes)",
          rank(), core::format_bytes(bytes), bytes, rank(), core::format_bytes(memory.total),
          memory.total);
      KG_ERROR(log(), "{}", text);
      record_startup_failure(std::make_exception_ptr(VramExceedsDeviceError(text)));
      return session;
    }
  } catch (const std::exception& e) {
    KG_DEBUG(log(), "rank {}: memory query failed: {}", rank(), e.what());
  }

  if (allocate_phase(*session)) steady_phase(*session);
  return session;
}

void WorkerContext::close_session(std::unique_ptr<gpu::DeviceSession> session) {
  if (session) close_or_keep(*shared, std::move(session), rank(), log());
}

bool WorkerContext::allocate_phase(gpu::DeviceSession& session) {
  bool deferring = false;
  bool warned_unavailable = false;
  bool warned_short = false;
  int allocation_attempts = 0;
  const auto deferral_start = Clock::now();
  while (!stop_requested()) {
    try {
      const auto util = read_utilization();
      if (!core::should_run_batch(util, options.busy_threshold)) {
        // The state first: once keep() returns, status() must already say why nothing is held.
        set_state(KeeperState::deferring,
                  "deferring allocation: " + busy_reason(util, options.busy_threshold));
        confirm();
        // Upstream only says this at DEBUG, so a keeper holding nothing looks healthy; say it
        // once at INFO, and warn when telemetry stays unavailable.
        if (!deferring) {
          KG_INFO(log(), "rank {}: GPU utilization unavailable or busy ({}), deferring allocation",
                  rank(), describe_utilization(util));
          deferring = true;
        } else {
          KG_DEBUG(log(), "rank {}: GPU utilization unavailable or busy ({}), deferring allocation",
                   rank(), describe_utilization(util));
        }
        const double waited = std::chrono::duration<double>(Clock::now() - deferral_start).count();
        if (!util && !warned_unavailable && waited >= options.interval_seconds) {
          KG_WARN(log(),
                  "rank {}: GPU utilization is unavailable, so no memory is held; use "
                  "--busy-threshold -1 to keep this GPU without telemetry",
                  rank());
          warned_unavailable = true;
        }
        if (!wait_interval(options.interval_seconds)) return false;
        continue;
      }
      session.allocate(options.elements);
      {
        std::lock_guard lock(shared->mutex);
        shared->status.held_bytes = options.elements * 4;
        shared->status.state = KeeperState::holding;
        shared->status.detail.reset();
      }
      confirm();
      KG_INFO(log(), "rank {}: holding {} ({} bytes)", rank(),
              core::format_bytes(options.elements * 4), options.elements * 4);
      return true;
    } catch (const gpu::GpuError& e) {
      ++allocation_attempts;  // failed attempts of this phase; deferrals do not count
      KG_ERROR(log(), "{}",
               allocation_failure_text(*wording, rank(), allocation_attempts,
                                       options.max_allocation_retries, e.what()));
      if (!e.out_of_memory()) {
        record_worker_failure(e.what());
        return false;
      }
      if (options.max_allocation_retries &&
          allocation_attempts >= *options.max_allocation_retries) {
        const std::string text = fmt::format("rank {}: failed to allocate tensor after {} attempts",
                                             rank(), allocation_attempts);
        KG_ERROR(log(), "{}", text);
        record_startup_failure(std::make_exception_ptr(RuntimeError(text)));
        return false;
      }
      set_state(
          KeeperState::retrying,
          fmt::format("out of memory: {} does not fit in free GPU memory; retrying every {} s",
                      core::format_bytes(options.elements * 4), options.interval_seconds));
      confirm();
      if (!warned_short) {
        KG_WARN(log(), "rank {}: {} does not fit in free GPU memory now; retrying every {} s",
                rank(), core::format_bytes(options.elements * 4), options.interval_seconds);
        warned_short = true;
      }
      if (!wait_interval(options.interval_seconds)) return false;
    } catch (const std::exception& e) {
      record_worker_failure(e.what());
      return false;
    }
  }
  // Stop arrived before any allocation.
  bool confirmed = false;
  {
    std::lock_guard lock(shared->mutex);
    confirmed = shared->confirmed;
  }
  if (!confirmed) {
    const std::string text =
        fmt::format("rank {}: stopped before {} startup allocation", rank(), wording->label);
    KG_ERROR(log(), "{}", text);
    record_startup_failure(std::make_exception_ptr(RuntimeError(text)));
  } else {
    KG_DEBUG(log(), "rank {}: exiting before {} allocation after startup confirmation", rank(),
             wording->label);
  }
  return false;
}

void WorkerContext::steady_phase(gpu::DeviceSession& session) {
  if (options.util_target > 0) {
    duty_phase(session);
    return;
  }
  bool backing_off = false;
  while (!stop_requested()) {
    try {
      const auto util = read_utilization();
      if (core::should_run_batch(util, options.busy_threshold)) {
        if (backing_off) {
          KG_INFO(log(), "rank {}: GPU idle again ({}), resuming keep-alive", rank(),
                  describe_utilization(util));
          backing_off = false;
        }
        set_state(KeeperState::holding);
        const BatchResult batch = workload->run_batch(session, rank(), shared->stop.get_token());
        std::lock_guard lock(shared->mutex);
        shared->status.last_batch_ms = batch.elapsed_ms;
        ++shared->status.batches;
      } else {
        if (!backing_off) {
          KG_INFO(log(), "rank {}: GPU utilization unavailable or busy ({}), backing off", rank(),
                  describe_utilization(util));
          backing_off = true;
        }
        set_state(KeeperState::backing_off, busy_reason(util, options.busy_threshold));
        KG_DEBUG(log(), "rank {}: GPU utilization unavailable or busy ({}), {}", rank(),
                 describe_utilization(util), wording->backoff_sleep);
      }
      if (!wait_interval(options.interval_seconds)) return;
    } catch (const gpu::GpuError& e) {
      if (!e.out_of_memory()) {
        record_worker_failure(e.what());
        return;
      }
      KG_WARN(log(), "rank {}: keep-alive batch ran out of memory: {}", rank(), e.what());
      if (!wait_interval(options.interval_seconds)) return;
    } catch (const std::exception& e) {
      record_worker_failure(e.what());
      return;
    }
  }
}

void WorkerContext::duty_phase(gpu::DeviceSession& session) {
  const int target = options.util_target;
  const auto spin = std::chrono::duration_cast<std::chrono::nanoseconds>(kDutySlice) * target / 100;
  KG_INFO(log(), "rank {}: keep-alive at {}% utilization: a {} ms kernel every {} ms", rank(),
          target, std::chrono::duration<double, std::milli>(spin).count(), kDutySlice.count());
  bool backing_off = false;
  bool running = false;  // whether the last second had our kernels in it
  auto next_check = Clock::now();
  auto slice_start = Clock::now();
  while (!stop_requested()) {
    try {
      if (Clock::now() >= next_check) {
        const auto util = read_utilization();
        // Utilization covers the last sample period, which held our own kernels if we ran.
        const auto others = core::foreign_utilization(util, running ? target : 0);
        const bool run = core::should_run_batch(others, options.busy_threshold);
        if (run && backing_off) {
          KG_INFO(log(), "rank {}: GPU idle again ({}), resuming keep-alive", rank(),
                  describe_utilization(others));
        } else if (!run && !backing_off) {
          KG_INFO(log(), "rank {}: GPU utilization unavailable or busy ({}), backing off", rank(),
                  describe_utilization(others));
        }
        backing_off = !run;
        running = run;
        if (run) {
          set_state(KeeperState::holding);
        } else {
          set_state(KeeperState::backing_off, busy_reason(others, options.busy_threshold));
        }
        next_check += kDutyCheck;
        if (next_check < Clock::now()) next_check = Clock::now() + kDutyCheck;
      }
      if (running) {
        // Launched, not waited for: there is no batch time to report, only the count.
        session.launch_spin(static_cast<std::uint64_t>(spin.count()));
        std::lock_guard lock(shared->mutex);
        ++shared->status.batches;
      }
      // Slices keep their own rhythm: a late wake-up shortens the next wait, never shifts all.
      slice_start += kDutySlice;
      const auto now = Clock::now();
      if (slice_start < now) slice_start = now;
      if (!wait_interval(std::chrono::duration<double>(slice_start - now).count())) return;
    } catch (const std::exception& e) {
      record_worker_failure(e.what());
      return;
    }
  }
}

void name_thread(int rank, const ControllerWording& wording) {
  // Linux limits thread names to 15 bytes; the full name stays in the logs.
  std::string name = fmt::format("{}{}", wording.thread_name_prefix, rank);
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

void worker_main(WorkerContext context) {
  name_thread(context.rank(), *context.wording);
  std::shared_ptr<Keeper::Shared> shared = context.shared;
  context.close_session(context.run());
  std::lock_guard lock(shared->mutex);
  if (shared->status.state != KeeperState::failed) {
    shared->status.state = KeeperState::idle;
    shared->status.detail.reset();
  }
  if (!shared->unreleased) shared->status.held_bytes = 0;
  shared->finished = true;
  shared->cv.notify_all();
}

// Waits for the worker to finish; true when it did within `timeout`.
bool wait_finished(Keeper::Shared& shared, std::chrono::duration<double> timeout) {
  std::unique_lock lock(shared.mutex);
  return shared.cv.wait_for(lock, std::chrono::duration_cast<Clock::duration>(timeout),
                            [&] { return shared.finished; });
}

}  // namespace

const char* to_string(KeeperState state) {
  switch (state) {
    case KeeperState::idle:
      return "idle";
    case KeeperState::starting:
      return "starting";
    case KeeperState::deferring:
      return "deferring";
    case KeeperState::retrying:
      return "retrying";
    case KeeperState::holding:
      return "holding";
    case KeeperState::backing_off:
      return "backing off";
    case KeeperState::failed:
      return "failed";
    case KeeperState::stopping:
      return "stopping";
  }
  return "unknown";
}

Phase phase_of(KeeperState state) {
  switch (state) {
    case KeeperState::starting:
    case KeeperState::deferring:
    case KeeperState::retrying:
      return Phase::waiting;
    case KeeperState::holding:
      return Phase::holding;
    case KeeperState::backing_off:
      return Phase::backing_off;
    case KeeperState::stopping:
      return Phase::releasing;
    case KeeperState::failed:
      return Phase::failed;
    case KeeperState::idle:
      return Phase::released;
  }
  return Phase::failed;
}

const char* to_string(Phase phase) {
  switch (phase) {
    case Phase::waiting:
      return "waiting";
    case Phase::holding:
      return "holding";
    case Phase::backing_off:
      return "backing_off";
    case Phase::releasing:
      return "releasing";
    case Phase::released:
      return "released";
    case Phase::failed:
      return "failed";
  }
  return "failed";
}

double release_join_timeout(double interval_seconds) {
  return std::max(2.0, std::min(interval_seconds + 2.0, 30.0));
}

Keeper::Keeper(std::shared_ptr<gpu::Backend> backend, KeeperOptions options,
               std::unique_ptr<Workload> workload)
    : backend_(std::move(backend)),
      options_(options),
      wording_(&wording_for(backend_->platform())),
      log_(log::get(wording_->logger_name)),
      workload_(workload ? std::move(workload)
                         : std::make_unique<BatchWorkload>(options.relu_iterations)) {
  if (options_.max_allocation_retries && *options_.max_allocation_retries <= 0) {
    throw ValueError("max_allocation_retries must be positive");
  }
}

Keeper::~Keeper() {
  // A worker that already ignored one stop request (a timed-out release) is not waited for
  // again: it owns its state and is detached below.
  const auto shared = current_shared();
  bool already_stopping = false;
  if (shared) {
    std::lock_guard lock(shared->mutex);
    already_stopping = shared->stop.stop_requested() && !shared->finished;
  }
  try {
    if (has_worker_state() && !already_stopping) release();
  } catch (const std::exception& e) {
    KG_WARN(log_, "rank {}: release during destruction failed: {}", options_.rank, e.what());
  }
  if (thread_.joinable()) {
    // A worker stuck in the driver must not block or crash destruction; it owns its state.
    thread_.detach();
  }
}

void Keeper::keep() {
  std::lock_guard api(api_mutex_);
  const auto& lg = log_;
  const std::string keep_thread = wording_->keep_thread;
  if (thread_.joinable()) {
    bool finished = false;
    bool stopping = false;
    {
      std::lock_guard lock(shared_->mutex);
      finished = shared_->finished;
      stopping = shared_->stop.stop_requested();
    }
    if (!finished) {
      if (stopping) {
        throw RuntimeError(
            fmt::format("rank {}: previous keep thread startup did not complete", options_.rank));
      }
      KG_WARN(lg, "rank {}: keep thread already running", options_.rank);
      return;
    }
    thread_.join();  // a dead worker from an earlier failure is simply replaced
  }
  if (options_.elements == 0) throw ValueError("vram_to_keep must be positive");
  // What an earlier release left with the driver goes first; a new worker must not pile on it.
  retry_unreleased();

  {
    std::lock_guard pointer(shared_mutex_);
    shared_ = std::make_shared<Shared>();
  }
  WorkerContext context{shared_, backend_, workload_, options_, wording_, log_};
  thread_ = std::thread(worker_main, std::move(context));

  std::unique_lock lock(shared_->mutex);
  const bool confirmed =
      shared_->cv.wait_for(lock, options_.startup_timeout, [&] { return shared_->confirmed; });
  if (!confirmed) {
    shared_->stop.request_stop();
    shared_->cv.notify_all();
    const bool exited =
        shared_->cv.wait_for(lock, options_.startup_grace, [&] { return shared_->finished; });
    const double seconds = std::chrono::duration<double>(options_.startup_timeout).count();
    lock.unlock();
    if (!exited) {
      // The worker keeps its stop flag set; a later release() cleans it up.
      throw RuntimeError(fmt::format("rank {}: {} did not complete startup within {:.1f}s",
                                     options_.rank, keep_thread, seconds));
    }
    thread_.join();
    throw RuntimeError(
        fmt::format("rank {}: {} exited before startup completed", options_.rank, keep_thread));
  }
  if (!shared_->startup_errors.empty()) {
    std::exception_ptr first = shared_->startup_errors.front();
    const bool exited =
        shared_->cv.wait_for(lock, options_.startup_grace, [&] { return shared_->finished; });
    lock.unlock();
    if (exited) {
      thread_.join();
    } else {
      thread_.detach();  // it owns its state and will exit on its own
    }
    std::rethrow_exception(first);
  }
  lock.unlock();
  KG_INFO(lg, "rank {}: {} started", options_.rank, keep_thread);
}

void Keeper::release() {
  std::lock_guard api(api_mutex_);
  const auto& lg = log_;
  if (!thread_.joinable()) {
    if (retry_unreleased()) {
      KG_INFO(lg, "rank {}: release retried; GPU memory and context returned", options_.rank);
      return;
    }
    KG_WARN(lg, "rank {}: keep thread not running", options_.rank);
    return;
  }
  bool finished = false;
  bool stopping = false;
  bool failed = false;
  {
    std::lock_guard lock(shared_->mutex);
    finished = shared_->finished;
    stopping = shared_->stop.stop_requested();
    failed = shared_->failure || shared_->release_failure;
  }
  if (finished) {
    if (stopping || failed) {
      thread_.join();
      // A worker that ended on its own may have failed to release; this release retries that.
      if (retry_unreleased()) {
        KG_INFO(lg, "rank {}: release retried; GPU memory and context returned", options_.rank);
        return;
      }
      KG_INFO(lg, "rank {}: previously stopping keep thread exited; cache cleared", options_.rank);
      return;
    }
    KG_WARN(lg, "rank {}: keep thread not running", options_.rank);
    return;
  }
  {
    std::lock_guard lock(shared_->mutex);
    shared_->status.state = KeeperState::stopping;
    shared_->stop.request_stop();
    shared_->cv.notify_all();
  }
  const double timeout = release_join_timeout(options_.interval_seconds);
  if (!wait_finished(*shared_, std::chrono::duration<double>(timeout))) {
    const std::string text = fmt::format("rank {}: {} did not stop within {:.1f}s", options_.rank,
                                         wording_->keep_thread, timeout);
    KG_WARN(lg, "{}", text);
    throw TimeoutError(text);
  }
  thread_.join();
  std::exception_ptr refused;
  {
    std::lock_guard lock(shared_->mutex);
    refused = shared_->release_failure;
  }
  // The worker just tried; the error it recorded is this release's result.
  if (refused) std::rethrow_exception(refused);
  KG_INFO(lg, "rank {}: keep thread stopped & cache cleared", options_.rank);
}

bool Keeper::retry_unreleased() {
  const auto shared = current_shared();
  if (!shared) return false;
  std::unique_ptr<gpu::DeviceSession> session;
  {
    std::lock_guard lock(shared->mutex);
    if (!shared->unreleased) return false;
    session = std::move(shared->unreleased);
    shared->status.state = KeeperState::stopping;
    shared->status.detail.reset();
  }
  // Closed without holding the lock: status() readers must not wait behind the driver.
  if (const auto refused = close_or_keep(*shared, std::move(session), options_.rank, log_)) {
    std::rethrow_exception(refused);
  }
  std::lock_guard lock(shared->mutex);
  shared->release_failure = nullptr;
  shared->status.state = KeeperState::idle;
  shared->status.held_bytes = 0;
  return true;
}

std::shared_ptr<Keeper::Shared> Keeper::current_shared() const {
  std::lock_guard pointer(shared_mutex_);
  return shared_;
}

std::exception_ptr Keeper::allocation_status() const {
  const auto shared = current_shared();
  if (!shared) return nullptr;
  std::lock_guard lock(shared->mutex);
  return shared->failure;
}

KeeperStatus Keeper::status() const {
  const auto shared = current_shared();
  if (!shared) return {};
  std::lock_guard lock(shared->mutex);
  KeeperStatus status = shared->status;
  if (shared->finished && status.state != KeeperState::failed) status.state = KeeperState::idle;
  return status;
}

bool Keeper::has_worker_state() const {
  std::lock_guard api(api_mutex_);
  if (thread_.joinable()) return true;
  if (!shared_) return false;
  std::lock_guard lock(shared_->mutex);
  return shared_->unreleased != nullptr;
}

bool Keeper::worker_alive() const {
  std::lock_guard api(api_mutex_);
  if (!thread_.joinable() || !shared_) return false;
  std::lock_guard lock(shared_->mutex);
  return !shared_->finished;
}

}  // namespace keepgpu::keeper
