// NVML's (reference-counted) init held by one long-lived owner, the utilization monitor
// of the CUDA platform. NVML is initialised lazily on first use, under a lock with
// double-checked initialisation, and shut down exactly once: when the owner is destroyed or, for
// an owner still alive then, when the process exits.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "gpu/nvml/nvml_api.hpp"

namespace keepgpu::gpu::nvml {

class NvmlSession {
 public:
  explicit NvmlSession(NvmlLoader loader);
  ~NvmlSession();
  NvmlSession(const NvmlSession&) = delete;
  NvmlSession& operator=(const NvmlSession&) = delete;

  // The initialised library, or nullptr when loading it or nvmlInit failed (the reason is then
  // stored in `error`). Never throws.
  const NvmlApi* acquire(std::string& error) noexcept;
  // NVML answered "uninitialised" (an unbalanced shutdown elsewhere): the next acquire() calls
  // nvmlInit again. The lost reference is not shut down.
  void mark_uninitialized() noexcept;
  // Shuts NVML down if this session initialised it (logs DEBUG "NVML shutdown failed: ..." on
  // error). Later acquire() calls initialise again.
  void shutdown() noexcept;

 private:
  NvmlLoader loader_;
  std::mutex mutex_;
  std::atomic<bool> initialized_{false};
  std::shared_ptr<const NvmlApi> api_;  // written once under mutex_, before initialized_
};

}  // namespace keepgpu::gpu::nvml
