// The CUDA-platform device listing: the NVML query, then, where the fail-closed rules allow, the
// driver-only fallback.
//
// Deliberate differences from upstream, which used PyTorch: the compute-runtime side uses the
// CUDA driver API without creating contexts. "Selecting" a device becomes cuDeviceGet, there is
// no current device to save and restore, and the fallback takes memory_total from
// cuDeviceTotalMem and leaves memory_used unknown (cuMemGetInfo would need a context, which costs
// hundreds of MiB on each GPU just to list it).
#pragma once

#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_api.hpp"
#include "gpu/nvml/nvml_api.hpp"

namespace keepgpu::gpu::nvml {

// Reads CUDA_VISIBLE_DEVICES now. Each NVML query is one balanced nvmlInit/nvmlShutdown pair.
// Throws DeviceEnumerationUnavailableError only.
std::vector<GpuInfo> list_cuda_gpus(const NvmlLoader& nvml, const cuda::CudaLoader& cuda);

}  // namespace keepgpu::gpu::nvml
