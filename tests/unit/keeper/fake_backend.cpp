#include "fake_backend.hpp"

namespace keepgpu::testing {

std::unique_ptr<gpu::DeviceSession> FakeBackend::open(int visible_ordinal) {
  FakeDeviceScript& s = script(visible_ordinal);
  std::this_thread::sleep_for(s.open_delay);
  if (s.open_error) throw gpu::GpuError(*s.open_error, 999, false);
  counters(visible_ordinal).opens++;
  return std::make_unique<FakeSession>(*this, visible_ordinal);
}

FakeSession::FakeSession(FakeBackend& backend, int ordinal) : backend_(backend), ordinal_(ordinal) {
  backend_.counters(ordinal_).sessions_live++;
}

FakeSession::~FakeSession() {
  try {
    close();
  } catch (const gpu::GpuError&) {
    // A session destroyed with a refused release keeps its bytes counted, as a driver would.
  }
  backend_.counters(ordinal_).sessions_live--;
}

void FakeSession::close() {
  if (closed_) return;
  free_buffer();
  int error = 0;
  {
    std::lock_guard lock(backend_.mutex());
    error = backend_.script(ordinal_).close_error;
  }
  if (error != 0) throw gpu::GpuError("context release refused", error, false);
  closed_ = true;
  backend_.counters(ordinal_).closes++;
}

void FakeSession::allocate(std::uint64_t elements) {
  int result = 0;
  std::chrono::milliseconds delay{0};
  {
    std::lock_guard lock(backend_.mutex());
    auto& s = backend_.script(ordinal_);
    delay = s.alloc_delay;
    if (!s.alloc_results.empty()) {
      result = s.alloc_results.front();
      s.alloc_results.pop_front();
    }
  }
  std::this_thread::sleep_for(delay);
  if (result == 2) {
    backend_.counters(ordinal_).oom_refusals++;
    throw gpu::GpuError("out of memory", 2, true);
  }
  if (result != 0) throw gpu::GpuError("cuda startup allocation failed", result, false);
  elements_ = elements;
  auto& c = backend_.counters(ordinal_);
  c.allocations++;
  c.allocated_bytes += elements * 4;
  c.last_alloc_elements = elements;
}

void FakeSession::free_buffer() {
  if (elements_ == 0) return;
  int error = 0;
  {
    std::lock_guard lock(backend_.mutex());
    error = backend_.script(ordinal_).free_error;
  }
  if (error != 0) throw gpu::GpuError("free refused", error, false);
  auto& c = backend_.counters(ordinal_);
  c.frees++;
  c.allocated_bytes -= elements_ * 4;
  elements_ = 0;
}

void FakeSession::launch_pass() {
  auto& s = backend_.script(ordinal_);
  std::this_thread::sleep_for(s.launch_delay);
  auto& c = backend_.counters(ordinal_);
  if (s.launch_error != 0 && c.launches >= s.launch_error_after) {
    if (s.launch_error == 2) c.oom_refusals++;
    throw gpu::GpuError("illegal memory access", s.launch_error, s.launch_error == 2);
  }
  c.launches++;
}

void FakeSession::launch_spin(std::uint64_t nanoseconds) {
  auto& c = backend_.counters(ordinal_);
  c.spins++;
  c.spin_ns += nanoseconds;
}

void FakeSession::synchronize() {
  backend_.wait_sync_unblocked();
  std::this_thread::sleep_for(backend_.script(ordinal_).sync_delay);
  backend_.counters(ordinal_).syncs++;
}

gpu::MemoryInfo FakeSession::memory_info() {
  const auto total = backend_.script(ordinal_).total_memory;
  return {total - backend_.counters(ordinal_).allocated_bytes.load(), total};
}

std::optional<double> FakeTelemetry::utilization(int visible_ordinal) {
  std::lock_guard lock(backend_.mutex());
  backend_.counters(visible_ordinal).utilization_reads++;
  auto& queue = backend_.script(visible_ordinal).utilization;
  if (queue.empty()) return 0.0;
  auto value = queue.front();
  if (queue.size() > 1) queue.pop_front();
  return value;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace keepgpu::testing
