// Questions about the visible HIP devices that need no allocation: how many there are, which one
// is current on this thread, selecting one, and its name, architecture and memory. HIP applies
// ROCR_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES / CUDA_VISIBLE_DEVICES itself, so ordinals here are
// visible ordinals.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "gpu/backend.hpp"
#include "gpu/rocm/hip_api.hpp"

namespace keepgpu::gpu::rocm {

// gcnArchName (e.g. "gfx90a:sramecc+:xnack-") of a visible ordinal through
// hipGetDevicePropertiesR0600; std::nullopt on runtimes before ROCm 6 or when the query fails.
std::optional<std::string> gcn_arch_name(const HipApi& api, int ordinal);

class HipDeviceQuery {
 public:
  // Loads the runtime through `loader`; a missing runtime makes every answer "no device".
  explicit HipDeviceQuery(const HipLoader& loader);

  bool loaded() const noexcept { return api_ != nullptr; }
  // False when the runtime is missing or hipInit reports that there is no usable device
  // (means_no_device). Throws GpuError when hipInit fails in any other way.
  bool available();
  // The number of visible devices: 0 without a runtime or device; throws
  // DeviceEnumerationUnavailableError("Unable to enumerate visible GPUs: <detail>") otherwise.
  int count();
  // hipGetDevice / hipSetDevice on the calling thread. Throw GpuError.
  int current();
  void select(int ordinal);
  // Best effort; std::nullopt when the runtime cannot tell.
  std::optional<std::string> name(int ordinal);
  // gcn_arch_name() for this runtime.
  std::optional<std::string> architecture(int ordinal);
  // hipMemGetInfo on the device current on this thread. Throws GpuError.
  MemoryInfo memory_info();

  const std::shared_ptr<const HipApi>& api() const noexcept { return api_; }

 private:
  std::shared_ptr<const HipApi> api_;
};

}  // namespace keepgpu::gpu::rocm
