// In-process test doubles for the service layer: a fake gpu::Backend (after the keeper tests' one)
// driven by real KeeperGroups, a "fleet" that hands each started session its own scripted backend
// (slow or failing starts, slow, hanging or failing releases, runtime failures), and a harness
// wiring SessionManager and Api with short timeouts and a scripted GPU listing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/json.hpp"

#include "gpu/backend.hpp"
#include "service/api.hpp"
#include "service/session_manager.hpp"

namespace keepgpu::service_testing {

using namespace std::chrono_literals;

struct FakeDeviceScript {
  std::optional<std::string> open_error;    // thrown by Backend::open: a failing start
  std::chrono::milliseconds open_delay{0};  // a slow start
  int launch_error = 0;  // a runtime failure: launches fail with this code after N launches
  int launch_error_after = 0;
  std::atomic<int> free_error{
      0};  // a failing release: free_buffer() fails with this code while set
  std::uint64_t total_memory = 16ULL << 30;
};

struct FakeCounters {
  std::atomic<int> opens{0};
  std::atomic<int> sessions_live{0};
  std::atomic<int> syncs{0};
  std::atomic<int> syncs_entered{0};  // a worker reached synchronise (and may be held there)
  std::atomic<std::uint64_t> allocated_bytes{0};
};

class FakeBackend;

class FakeSession final : public gpu::DeviceSession {
 public:
  FakeSession(FakeBackend& backend, int ordinal);
  ~FakeSession() override;
  void allocate(std::uint64_t elements) override;
  void free_buffer() override;
  void close() override { free_buffer(); }
  std::uint64_t allocated_elements() const noexcept override { return elements_; }
  void launch_pass() override;
  void launch_spin(std::uint64_t /*nanoseconds*/) override { launch_pass(); }
  void synchronize() override;
  gpu::MemoryInfo memory_info() override;

 private:
  FakeBackend& backend_;
  int ordinal_;
  std::uint64_t elements_ = 0;
  int launches_ = 0;
};

class FakeTelemetry final : public gpu::Telemetry {
 public:
  std::optional<double> utilization(int) override { return 0.0; }
  std::vector<gpu::GpuInfo> list_gpus() override { return {}; }
};

class FakeBackend final : public gpu::Backend {
 public:
  explicit FakeBackend(int devices = 1) : scripts_(devices), counters_(devices) {}

  gpu::Platform platform() const override { return gpu::Platform::cuda; }
  int device_count() override;
  std::unique_ptr<gpu::DeviceSession> open(int visible_ordinal) override;
  gpu::Telemetry& telemetry() override { return telemetry_; }

  // Edited by the test before the session starts.
  FakeDeviceScript& script(int ordinal) { return scripts_.at(ordinal); }
  FakeCounters& counters(int ordinal) { return counters_.at(ordinal); }
  int devices() const { return static_cast<int>(scripts_.size()); }

  // Holds every synchronise() until unhold_sync(): the keeper's worker is then stuck inside a
  // batch, so a release waits for it (a slow release), or times out in the keeper after its join
  // bound and fails (a failing release).
  void hold_sync();
  void unhold_sync();
  void wait_sync_released();
  // True once some worker is inside synchronise: from then on a release must wait for it.
  bool in_sync() const;

  // Bytes still allocated and device sessions still open, over all devices.
  std::uint64_t allocated_bytes() const;
  int live_sessions() const;

  std::atomic<bool> count_error{false};

 private:
  std::vector<FakeDeviceScript> scripts_;
  std::deque<FakeCounters> counters_;
  FakeTelemetry telemetry_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool sync_held_ = false;
};

// What the next started session's backend looks like.
struct FakePlan {
  int devices = 1;
  std::function<void(FakeBackend&)> configure;  // scripts, held sync, count errors
  std::optional<std::string> unavailable;       // the provider reports no GPU platform
  std::optional<double> interval;               // overrides the keeper interval (join bound)
};

FakePlan plan_with(std::function<void(FakeBackend&)> configure);
FakePlan plan_devices(int devices);
FakePlan plan_unavailable(std::string message);

// Hands each group the factory builds its own backend, in build order, following the queued
// plans (a plain one-GPU backend when none is queued). Tests start sessions one after another, so
// build order is start order.
class FakeFleet {
 public:
  void plan(FakePlan plan);
  service::GroupFactory factory();

  std::size_t builds() const;
  std::shared_ptr<FakeBackend> backend(std::size_t index) const;
  // Releases every held synchronise (so no keeper worker outlives its test).
  void unhold_all();
  // Nothing allocated and no device session open on any backend built so far.
  bool all_released() const;

 private:
  mutable std::mutex mutex_;
  std::deque<FakePlan> plans_;
  std::vector<std::shared_ptr<FakeBackend>> backends_;
};

// Timeouts short enough for unit tests, long enough for a busy CI machine.
service::SessionTimeouts fast_timeouts();

// The GPU listing Api sees; edited by tests.
struct FakeListing {
  std::mutex mutex;
  std::vector<gpu::GpuInfo> gpus;
  std::optional<std::string> enumeration_error;
  std::atomic<int> calls{0};
};

gpu::GpuInfo fake_gpu(int id);

// SessionManager + Api over a FakeFleet and a FakeListing.
class Harness {
 public:
  explicit Harness(service::SessionTimeouts timeouts = fast_timeouts());
  ~Harness();

  FakeFleet fleet;
  std::shared_ptr<FakeListing> listing = std::make_shared<FakeListing>();
  service::SessionManager sessions;
  service::Api api;
};

// {"job_id": id}, and the Api's status and stop_keep of that one session.
keepgpu::core::Json by_job_id(const std::string& id);
keepgpu::core::Json status_of(Harness& h, const std::string& id);
keepgpu::core::Json stop(Harness& h, const std::string& id);

// Parses test JSON with the service's strict parser, so integer and float kinds are exact.
keepgpu::core::Json js(std::string_view text);

// An answer of the REST facade (POST and GET of /api/...), its body parsed.
struct RestAnswer {
  int status = 0;
  keepgpu::core::Json body;
};
RestAnswer rest_create(Harness& h, const keepgpu::core::Json& body);
RestAnswer rest_list(Harness& h);

// Polls `pred` every 10 ms up to `timeout` on the monotonic clock.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s);

// The ApiError a call throws; fails the test (and returns a -1 code) when it throws none.
service::ApiError api_error_of(const std::function<void()>& call);

// Milliseconds `call` took.
double elapsed_ms(const std::function<void()>& call);

}  // namespace keepgpu::service_testing
