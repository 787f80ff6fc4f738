#include "gpu/rocm/smi_runtime.hpp"

#include <utility>

#include "core/log.hpp"
#include "gpu/backend.hpp"

namespace keepgpu::gpu::rocm {
namespace {

std::shared_ptr<spdlog::logger> controller_log() {
  static const auto logger =
      keepgpu::log::get("keep_gpu.single_gpu_controller.rocm_gpu_controller");
  return logger;
}

}  // namespace

std::shared_ptr<SmiRuntime> SmiRuntime::create(RsmiLoader loader) {
  return std::shared_ptr<SmiRuntime>(new SmiRuntime(std::move(loader)));
}

SmiRuntime::SmiRuntime(RsmiLoader loader) : loader_(std::move(loader)) {}

SmiRuntime::~SmiRuntime() {
  // Every lease holds the runtime alive, so no use is left here; a reference still held would be
  // a bug, but it is returned rather than leaked.
  std::lock_guard lock(mutex_);
  shutdown_locked();
}

bool SmiRuntime::load_locked(std::string& error) {
  if (!load_attempted_) {
    load_attempted_ = true;
    try {
      api_ = loader_();
    } catch (const std::exception& e) {
      load_error_ = e.what();
      KG_DEBUG(controller_log(), "rocm_smi not available: {}", load_error_);
    }
  }
  if (!api_) error = load_error_;
  return api_ != nullptr;
}

const RsmiApi* SmiRuntime::ensure_locked(std::string& error) {
  if (!load_locked(error)) return nullptr;
  if (initialized_) return api_.get();
  if (const rsmi_status_t status = api_->rsmi_init(0); status != kRsmiSuccess) {
    init_error_ = "rsmi_init: " + api_->status_text(status);
    error = init_error_;
    KG_DEBUG(controller_log(), "rsmi_init failed: {}", api_->status_text(status));
    return nullptr;
  }
  initialized_ = true;
  ++generation_;
  return api_.get();
}

void SmiRuntime::shutdown_locked() noexcept {
  if (!initialized_) return;
  initialized_ = false;
  if (const rsmi_status_t status = api_->rsmi_shut_down(); status != kRsmiSuccess) {
    try {
      KG_DEBUG(controller_log(), "rsmi_shut_down failed: {}", api_->status_text(status));
    } catch (...) {
      // Logging during teardown must not turn into termination.
    }
  }
}

SmiRuntime::Lease SmiRuntime::acquire() {
  std::lock_guard lock(mutex_);
  ++users_;
  std::string ignored;
  ensure_locked(ignored);
  return Lease(shared_from_this());
}

bool SmiRuntime::library_loaded() {
  std::lock_guard lock(mutex_);
  std::string ignored;
  return load_locked(ignored);
}

int SmiRuntime::users() const {
  std::lock_guard lock(mutex_);
  return users_;
}

bool SmiRuntime::initialized() const {
  std::lock_guard lock(mutex_);
  return initialized_;
}

SmiRuntime::Lease::Lease(Lease&& other) noexcept
    : runtime_(std::move(other.runtime_)), fresh_(other.fresh_) {}

SmiRuntime::Lease& SmiRuntime::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    drop();
    runtime_ = std::move(other.runtime_);
    fresh_ = other.fresh_;
  }
  return *this;
}

SmiRuntime::Lease::~Lease() {
  drop();
}

void SmiRuntime::Lease::drop() noexcept {
  if (!runtime_) return;
  {
    std::lock_guard lock(runtime_->mutex_);
    if (--runtime_->users_ == 0) runtime_->shutdown_locked();
  }
  runtime_.reset();
}

const RsmiApi* SmiRuntime::Lease::api(std::uint64_t& generation, std::string& error) const {
  if (!runtime_) {
    error = "no ROCm SMI lease";
    return nullptr;
  }
  std::lock_guard lock(runtime_->mutex_);
  generation = runtime_->generation_;
  const bool fresh = std::exchange(fresh_, false);
  if (fresh && !runtime_->initialized_) {
    // acquire() tried a moment ago; one failed rsmi_init per use is enough.
    error = runtime_->api_ ? runtime_->init_error_ : runtime_->load_error_;
    return nullptr;
  }
  const RsmiApi* api = runtime_->ensure_locked(error);
  generation = runtime_->generation_;
  return api;
}

void SmiRuntime::Lease::reinitialize(std::uint64_t generation) const {
  if (!runtime_) return;
  std::lock_guard lock(runtime_->mutex_);
  if (!runtime_->initialized_ || runtime_->generation_ != generation) return;
  // No rsmi_shut_down: the library already dropped the reference it answered "not initialised"
  // for. The next api() call initialises again.
  runtime_->initialized_ = false;
}

}  // namespace keepgpu::gpu::rocm
