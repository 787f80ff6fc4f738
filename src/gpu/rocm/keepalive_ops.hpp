// How a ROCm session moves memory: with the hiprtc-compiled kernels, or, where hiprtc is missing
// or cannot build for the device, with device-to-device copies inside the buffer that move the
// same number of bytes (ROCm cannot run the PTX kernels). The keep loop cannot
// tell the two apart; only the log says which one is in use.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gpu/rocm/hip_api.hpp"

namespace keepgpu::gpu::rocm {

class KeepaliveOps {
 public:
  virtual ~KeepaliveOps() = default;
  // Enqueues writing finite values in [0, 1) to every element.
  virtual void fill(void* buffer, std::uint64_t elements) = 0;
  // Enqueues one keep-alive pass: every element read once and written once (4 + 4 bytes each),
  // leaving the values finite and non-negative.
  virtual void pass(void* buffer, std::uint64_t elements) = 0;
  // Gives back what the path loaded (the kernels' module). Throws GpuError when the runtime
  // refuses; a later call retries. A no-op once done, and for the copy path.
  virtual void unload() {}
};

// Loads the code object into the current device's context and looks up both kernels. Throws
// GpuError (hipErrorNoBinaryForGpu and friends when the code does not suit the device).
std::unique_ptr<KeepaliveOps> make_kernel_ops(std::shared_ptr<const HipApi> api,
                                              const std::vector<char>& code);
// No kernels at all: hipMemset to fill (zeros are finite and non-negative), and per pass two
// asynchronous copies, the first half of the buffer onto the second and back.
std::unique_ptr<KeepaliveOps> make_copy_ops(std::shared_ptr<const HipApi> api);

}  // namespace keepgpu::gpu::rocm
