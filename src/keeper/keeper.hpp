// Keeper: keeps one GPU (a visible ordinal) busy. A worker thread opens the device, waits until
// telemetry allows, allocates the requested buffer, then runs a workload batch every interval
// unless the GPU is busy. keep() returns once the worker reaches its first confirmation point
// (allocated, deferred, or retrying a short allocation); release() stops it and waits a bounded
// time. The worker frees the buffer and the device context on every exit path.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/defaults.hpp"
#include "gpu/backend.hpp"
#include "keeper/controller_wording.hpp"
#include "keeper/workload.hpp"

namespace spdlog {
class logger;
}

namespace keepgpu::keeper {

struct KeeperOptions {
  int rank = 0;                        // visible ordinal
  double interval_seconds = 1.0;       // validated by the caller (core::validate_interval)
  std::uint64_t elements = 268435456;  // float32 elements to hold (1 GiB)
  int busy_threshold = core::kDefaultBusyThreshold;  // -1 = unconditional
  int relu_iterations = core::kDefaultReluIterations;
  // 0: upstream's pattern, a batch of relu_iterations passes every interval. 1..100: the duty
  // cycle, a timed kernel for this percent of every slice (kDutySlice), with utilization checked
  // every second; the interval then only paces allocation retries and deferrals.
  int util_target = 0;
  // Out-of-memory attempts allowed before the first allocation succeeds; nullopt = retry every
  // interval without limit (upstream's ROCm controller's max_allocation_retries; must be > 0).
  std::optional<int> max_allocation_retries;
  std::chrono::milliseconds startup_timeout{5000};
  std::chrono::milliseconds startup_grace{1000};
};

enum class KeeperState {
  idle,         // no worker
  starting,     // worker opening the device
  deferring,    // waiting for the GPU to be idle (or telemetry to appear) before allocating
  retrying,     // allocation did not fit; retried every interval
  holding,      // buffer allocated, batches run
  backing_off,  // buffer allocated, GPU busy: batches skipped
  failed,       // worker died; see allocation_status()
  stopping,     // release requested, worker not yet gone
};
const char* to_string(KeeperState state);

// What a GPU is doing, as status reports it to users: the states above folded into the few that
// matter to someone deciding whether the GPU is really held.
enum class Phase {
  waiting,      // no buffer yet: opening, deferring while busy or unreadable, or retrying an OOM
  holding,      // buffer held, keep-alive running
  backing_off,  // buffer held, keep-alive skipped because the GPU is busy
  releasing,    // release in progress
  released,     // nothing held any more (the worker ended cleanly)
  failed,       // the worker failed, or the driver refused the release (see detail)
};
Phase phase_of(KeeperState state);
const char* to_string(Phase phase);

struct KeeperStatus {
  KeeperState state = KeeperState::idle;
  // Bytes the driver holds for this keeper right now: the buffer once allocated, and still after
  // a release the driver refused.
  std::uint64_t held_bytes = 0;
  // Why the keeper is waiting, backing off or failed, in words; nullopt otherwise.
  std::optional<std::string> detail;
  std::optional<double> utilization;    // last reading
  std::optional<double> last_batch_ms;  // wall time of the last ReLU batch (none in the duty cycle)
  std::uint64_t batches = 0;
};

// The duty cycle's period: short enough that every utilization sample period (1/6 s to 1 s on
// NVIDIA) sees several kernels, long enough that the launches themselves cost nothing.
inline constexpr std::chrono::milliseconds kDutySlice{100};
// How often the duty cycle reads utilization to decide whether to back off.
inline constexpr std::chrono::milliseconds kDutyCheck{1000};

// Seconds release() waits for the worker: max(2, min(interval + 2, 30)).
double release_join_timeout(double interval_seconds);

class Keeper {
 public:
  Keeper(std::shared_ptr<gpu::Backend> backend, KeeperOptions options,
         std::unique_ptr<Workload> workload = nullptr);
  ~Keeper();
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

  void keep();
  // Stops the worker and releases the device. Throws TimeoutError when the worker does not stop
  // in time, and RuntimeError when the driver refuses the release: the keeper then still holds
  // what the driver kept (status() says so) and the next release() (or keep()) retries it.
  void release();
  // The failure the worker recorded after startup was confirmed, or nullptr. Survives release()
  // until the next keep().
  std::exception_ptr allocation_status() const;
  KeeperStatus status() const;
  // True while a worker thread exists (running, or stopped but not yet cleaned up).
  bool has_worker_state() const;
  bool worker_alive() const;

  int rank() const noexcept { return options_.rank; }
  const KeeperOptions& options() const noexcept { return options_; }

  struct Shared;  // state shared with the worker thread (outlives a detached worker)

 private:
  std::shared_ptr<gpu::Backend> backend_;
  KeeperOptions options_;
  const ControllerWording* wording_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<Workload> workload_;
  mutable std::mutex api_mutex_;  // serialises keep()/release()
  std::thread thread_;
  // Readers (status(), allocation_status()) must not wait behind a release in progress, so the
  // pointer itself has its own lock.
  mutable std::mutex shared_mutex_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Shared> current_shared() const;
  // Retries closing a session whose release the driver refused earlier; false when there is none.
  // Throws RuntimeError when it is refused again. The caller holds api_mutex_.
  bool retry_unreleased();
};

}  // namespace keepgpu::keeper
