// Context-free questions about the visible CUDA devices: how many there are, whether an ordinal
// names a device, and its name and size. Counting and listing must not create contexts, because
// each costs hundreds of MiB of VRAM on a real GPU, so nothing here
// retains one.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gpu/cuda/cuda_api.hpp"

namespace keepgpu::gpu::cuda {

class DeviceQuery {
 public:
  // Loads the driver through `loader`; a missing driver makes the query "unavailable".
  explicit DeviceQuery(const CudaLoader& loader);

  // False when the driver is missing or cuInit reports that there is no usable device
  // (means_no_device). Throws GpuError when cuInit fails in any other way.
  bool available();
  // The number of visible devices (the driver applies CUDA_VISIBLE_DEVICES): 0 when the driver is
  // missing or reports no device; throws DeviceEnumerationUnavailableError("Unable to enumerate
  // visible GPUs: <detail>") on any other failure.
  int count();
  // The device behind a visible ordinal (cuDeviceGet, no context). Throws GpuError.
  CUdevice device(int ordinal);
  // Best effort; std::nullopt when the driver cannot tell.
  std::optional<std::string> name(CUdevice device);
  std::optional<std::uint64_t> total_memory(CUdevice device);

 private:
  std::shared_ptr<const CudaApi> api_;
};

}  // namespace keepgpu::gpu::cuda
