#include "service_fakes.hpp"

#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "keeper/keeper_group.hpp"
#include "service/http/rest.hpp"

namespace keepgpu::service_testing {

// ---- FakeBackend ----

int FakeBackend::device_count() {
  if (count_error)
    throw DeviceEnumerationUnavailableError("Unable to enumerate visible GPUs: fake");
  return devices();
}

std::unique_ptr<gpu::DeviceSession> FakeBackend::open(int visible_ordinal) {
  FakeDeviceScript& s = script(visible_ordinal);
  std::this_thread::sleep_for(s.open_delay);
  if (s.open_error) throw gpu::GpuError(*s.open_error, 999, false);
  counters(visible_ordinal).opens++;
  return std::make_unique<FakeSession>(*this, visible_ordinal);
}

void FakeBackend::hold_sync() {
  std::lock_guard lock(mutex_);
  sync_held_ = true;
}

void FakeBackend::unhold_sync() {
  {
    std::lock_guard lock(mutex_);
    sync_held_ = false;
  }
  cv_.notify_all();
}

void FakeBackend::wait_sync_released() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [&] { return !sync_held_; });
}

bool FakeBackend::in_sync() const {
  for (const auto& c : counters_) {
    if (c.syncs_entered > 0) return true;
  }
  return false;
}

std::uint64_t FakeBackend::allocated_bytes() const {
  std::uint64_t total = 0;
  for (const auto& c : counters_)
    total += c.allocated_bytes;
  return total;
}

int FakeBackend::live_sessions() const {
  int total = 0;
  for (const auto& c : counters_)
    total += c.sessions_live;
  return total;
}

FakeSession::FakeSession(FakeBackend& backend, int ordinal) : backend_(backend), ordinal_(ordinal) {
  backend_.counters(ordinal_).sessions_live++;
}

FakeSession::~FakeSession() {
  try {
    free_buffer();
  } catch (const gpu::GpuError&) {
    // A refused release keeps its bytes counted, as a driver would.
  }
  backend_.counters(ordinal_).sessions_live--;
}

void FakeSession::allocate(std::uint64_t elements) {
  elements_ = elements;
  backend_.counters(ordinal_).allocated_bytes += elements * 4;
}

void FakeSession::free_buffer() {
  if (elements_ == 0) return;
  if (const int error = backend_.script(ordinal_).free_error; error != 0) {
    throw gpu::GpuError("free refused", error, false);
  }
  backend_.counters(ordinal_).allocated_bytes -= elements_ * 4;
  elements_ = 0;
}

void FakeSession::launch_pass() {
  const auto& s = backend_.script(ordinal_);
  if (s.launch_error != 0 && launches_ >= s.launch_error_after) {
    throw gpu::GpuError("fake runtime failure", s.launch_error, false);
  }
  ++launches_;
}

void FakeSession::synchronize() {
  backend_.counters(ordinal_).syncs_entered++;
  backend_.wait_sync_released();
  backend_.counters(ordinal_).syncs++;
}

gpu::MemoryInfo FakeSession::memory_info() {
  const auto total = backend_.script(ordinal_).total_memory;
  return {total - backend_.counters(ordinal_).allocated_bytes.load(), total};
}

// ---- FakeFleet ----

FakePlan plan_with(std::function<void(FakeBackend&)> configure) {
  FakePlan plan;
  plan.configure = std::move(configure);
  return plan;
}

FakePlan plan_devices(int devices) {
  FakePlan plan;
  plan.devices = devices;
  return plan;
}

FakePlan plan_unavailable(std::string message) {
  FakePlan plan;
  plan.unavailable = std::move(message);
  return plan;
}

void FakeFleet::plan(FakePlan plan) {
  std::lock_guard lock(mutex_);
  plans_.push_back(std::move(plan));
}

service::GroupFactory FakeFleet::factory() {
  return [this](const keeper::GroupOptions& requested) {
    FakePlan plan;
    std::shared_ptr<FakeBackend> backend;
    {
      std::lock_guard lock(mutex_);
      if (!plans_.empty()) {
        plan = std::move(plans_.front());
        plans_.pop_front();
      }
      backend = std::make_shared<FakeBackend>(plan.devices);
      if (plan.configure) plan.configure(*backend);
      backends_.push_back(backend);
    }
    keeper::GroupOptions options = requested;
    options.relu_iterations = 4;  // batches stay tiny; the work itself is not under test
    if (plan.interval) options.interval_seconds = *plan.interval;
    const auto unavailable = plan.unavailable;
    return std::make_unique<keeper::KeeperGroup>(
        options, [backend, unavailable]() -> std::shared_ptr<gpu::Backend> {
          if (unavailable) throw UnsupportedControllerPlatformError(*unavailable);
          return backend;
        });
  };
}

std::size_t FakeFleet::builds() const {
  std::lock_guard lock(mutex_);
  return backends_.size();
}

std::shared_ptr<FakeBackend> FakeFleet::backend(std::size_t index) const {
  std::lock_guard lock(mutex_);
  return backends_.at(index);
}

void FakeFleet::unhold_all() {
  std::lock_guard lock(mutex_);
  for (const auto& backend : backends_)
    backend->unhold_sync();
}

bool FakeFleet::all_released() const {
  std::lock_guard lock(mutex_);
  for (const auto& backend : backends_) {
    if (backend->allocated_bytes() != 0 || backend->live_sessions() != 0) return false;
  }
  return true;
}

// ---- harness and helpers ----

service::SessionTimeouts fast_timeouts() {
  service::SessionTimeouts t;
  t.startup_stop_wait = 3000ms;
  t.release_timeout = 3000ms;
  t.start_timeout = 4000ms;
  return t;
}

gpu::GpuInfo fake_gpu(int id) {
  gpu::GpuInfo info;
  info.id = id;
  info.visible_id = id;
  info.platform = "cuda";
  info.name = "Fake GPU";
  info.memory_total = 16ULL << 30;
  info.memory_used = 1ULL << 30;
  info.utilization = 0;
  return info;
}

Harness::Harness(service::SessionTimeouts timeouts)
    : sessions(timeouts, fleet.factory()),
      api(sessions, [listing = listing]() -> std::vector<gpu::GpuInfo> {
        ++listing->calls;
        std::lock_guard lock(listing->mutex);
        if (listing->enumeration_error) {
          throw DeviceEnumerationUnavailableError(*listing->enumeration_error);
        }
        return listing->gpus;
      }) {}

Harness::~Harness() {
  // Let every held keeper worker go, so shutdown's releases finish and no thread outlives the
  // test's fakes.
  fleet.unhold_all();
}

namespace {

RestAnswer parsed(const service::http::Reply& reply) {
  return {reply.status, js(reply.body)};
}

}  // namespace

RestAnswer rest_create(Harness& h, const keepgpu::core::Json& body) {
  return parsed(service::http::rest_create(h.api, body.dump()));
}

RestAnswer rest_list(Harness& h) {
  return parsed(service::http::rest_list_gpus(h.api));
}

keepgpu::core::Json js(std::string_view text) {
  return keepgpu::core::json::parse(text);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

service::ApiError api_error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const service::ApiError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected an ApiError, got another exception: " << e.what();
    return service::ApiError(-1, e.what());
  }
  ADD_FAILURE() << "expected an ApiError, nothing was thrown";
  return service::ApiError(-1, "");
}

double elapsed_ms(const std::function<void()>& call) {
  const auto start = std::chrono::steady_clock::now();
  call();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

keepgpu::core::Json by_job_id(const std::string& id) {
  keepgpu::core::Json params = keepgpu::core::Json::object();
  params["job_id"] = id;
  return params;
}

keepgpu::core::Json status_of(Harness& h, const std::string& id) {
  return h.api.status(by_job_id(id));
}

keepgpu::core::Json stop(Harness& h, const std::string& id) {
  return h.api.stop_keep(by_job_id(id));
}

}  // namespace keepgpu::service_testing
