// In-process test double of the GPU interfaces for keeper tests: scripted utilization, allocation
// results, launch and synchronise behaviour, and counters the tests assert on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.hpp"
#include "gpu/backend.hpp"

namespace keepgpu::testing {

struct FakeDeviceScript {
  std::optional<std::string> open_error;  // thrown by Backend::open
  std::chrono::milliseconds open_delay{0};
  std::deque<int> alloc_results;  // 0 ok, 2 OOM, other = error code
  std::chrono::milliseconds alloc_delay{0};
  int launch_error = 0;  // returned after launch_error_after launches
  int launch_error_after = 0;
  std::chrono::microseconds launch_delay{0};
  std::chrono::milliseconds sync_delay{0};
  int free_error = 0;   // free_buffer() fails with this code while it is set (0 = frees work)
  int close_error = 0;  // close() fails with this code after freeing, while it is set
  std::uint64_t total_memory = 16ULL << 30;
  std::deque<std::optional<double>> utilization;  // consumed per read; last value sticks
};

struct FakeCounters {
  std::atomic<int> opens{0};
  std::atomic<int> sessions_live{0};
  std::atomic<int> allocations{0};
  std::atomic<int> frees{0};
  std::atomic<int> closes{0};  // completed close() calls
  std::atomic<int> launches{0};
  std::atomic<int> spins{0};
  std::atomic<std::uint64_t> spin_ns{0};
  std::atomic<int> syncs{0};
  std::atomic<int> oom_refusals{0};  // allocations and launches refused as out of memory
  std::atomic<int> utilization_reads{0};
  std::atomic<std::uint64_t> allocated_bytes{0};
  std::atomic<std::uint64_t> last_alloc_elements{0};
};

class FakeBackend;

class FakeSession final : public gpu::DeviceSession {
 public:
  FakeSession(FakeBackend& backend, int ordinal);
  ~FakeSession() override;
  void allocate(std::uint64_t elements) override;
  void free_buffer() override;
  void close() override;
  std::uint64_t allocated_elements() const noexcept override { return elements_; }
  void launch_pass() override;
  void launch_spin(std::uint64_t nanoseconds) override;
  void synchronize() override;
  gpu::MemoryInfo memory_info() override;

 private:
  FakeBackend& backend_;
  int ordinal_;
  std::uint64_t elements_ = 0;
  bool closed_ = false;
};

class FakeTelemetry final : public gpu::Telemetry {
 public:
  explicit FakeTelemetry(FakeBackend& backend) : backend_(backend) {}
  std::optional<double> utilization(int visible_ordinal) override;
  std::vector<gpu::GpuInfo> list_gpus() override { return {}; }

 private:
  FakeBackend& backend_;
};

class FakeBackend final : public gpu::Backend {
 public:
  explicit FakeBackend(int devices = 1)
      : scripts_(devices), counters_(devices), telemetry_(*this) {}

  gpu::Platform platform() const override { return platform_kind; }
  int device_count() override {
    if (count_error) {
      throw DeviceEnumerationUnavailableError("Unable to enumerate visible GPUs: count failed");
    }
    return static_cast<int>(scripts_.size());
  }
  std::unique_ptr<gpu::DeviceSession> open(int visible_ordinal) override;
  gpu::Telemetry& telemetry() override { return telemetry_; }

  // Scripts are edited by the test before keep(); use the lock for changes while running.
  FakeDeviceScript& script(int ordinal) { return scripts_.at(ordinal); }
  FakeCounters& counters(int ordinal) { return counters_.at(ordinal); }
  std::mutex& mutex() { return mutex_; }

  // Blocks synchronise() on every device until unblock_sync().
  void block_sync() {
    std::lock_guard lock(mutex_);
    sync_blocked_ = true;
  }
  void unblock_sync() {
    {
      std::lock_guard lock(mutex_);
      sync_blocked_ = false;
    }
    cv_.notify_all();
  }
  void wait_sync_unblocked() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !sync_blocked_; });
  }

  bool count_error = false;
  gpu::Platform platform_kind = gpu::Platform::cuda;  // rocm gives the ROCm controller's wording

 private:
  friend class FakeSession;
  friend class FakeTelemetry;
  std::vector<FakeDeviceScript> scripts_;
  std::deque<FakeCounters> counters_;
  FakeTelemetry telemetry_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool sync_blocked_ = false;
};

// Polls `pred` every 10 ms up to `timeout` (monotonic clock).
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

}  // namespace keepgpu::testing
