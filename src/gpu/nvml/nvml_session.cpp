#include "gpu/nvml/nvml_session.hpp"

#include <cstdlib>
#include <set>

#include "core/log.hpp"
#include "gpu/backend.hpp"

namespace keepgpu::gpu::nvml {
namespace {

std::shared_ptr<spdlog::logger> monitor_log() {
  static const auto logger = keepgpu::log::get("keep_gpu.utilities.gpu_monitor");
  return logger;
}

// Sessions alive right now, so that the process-exit hook can shut down the ones nobody
// destroyed (for example a backend held in a static). Never destroyed itself: the hook may run
// during static teardown.
struct LiveSessions {
  std::mutex mutex;
  std::set<NvmlSession*> sessions;
};

LiveSessions& live_sessions() {
  static auto* registry = new LiveSessions();
  return *registry;
}

void shutdown_live_sessions() {
  LiveSessions& live = live_sessions();
  std::lock_guard lock(live.mutex);
  for (NvmlSession* session : live.sessions)
    session->shutdown();
}

}  // namespace

NvmlSession::NvmlSession(NvmlLoader loader) : loader_(std::move(loader)) {
  LiveSessions& live = live_sessions();
  std::lock_guard lock(live.mutex);
  live.sessions.insert(this);
}

NvmlSession::~NvmlSession() {
  {
    LiveSessions& live = live_sessions();
    std::lock_guard lock(live.mutex);
    live.sessions.erase(this);
  }
  shutdown();
}

const NvmlApi* NvmlSession::acquire(std::string& error) noexcept {
  if (initialized_.load(std::memory_order_acquire)) return api_.get();
  std::lock_guard lock(mutex_);
  if (initialized_.load(std::memory_order_relaxed)) return api_.get();
  try {
    if (!api_) api_ = loader_();
    const nvmlReturn_t status = api_->nvmlInit();
    if (status != kSuccess) {
      error = api_->error_text(status);
      return nullptr;
    }
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
  static std::once_flag exit_hook;
  std::call_once(exit_hook, [] { std::atexit(shutdown_live_sessions); });
  initialized_.store(true, std::memory_order_release);
  return api_.get();
}

void NvmlSession::mark_uninitialized() noexcept {
  std::lock_guard lock(mutex_);
  initialized_.store(false, std::memory_order_release);
}

void NvmlSession::shutdown() noexcept {
  std::lock_guard lock(mutex_);
  if (!initialized_.load(std::memory_order_relaxed)) return;
  initialized_.store(false, std::memory_order_release);
  if (const nvmlReturn_t status = api_->nvmlShutdown(); status != kSuccess) {
    try {
      KG_DEBUG(monitor_log(), "NVML shutdown failed: {}", api_->error_text(status));
    } catch (...) {
      // Logging during process teardown must not turn into termination.
    }
  }
}

}  // namespace keepgpu::gpu::nvml
