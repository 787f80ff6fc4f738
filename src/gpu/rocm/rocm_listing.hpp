// The ROCm-platform device listing: the ROCm SMI + HIP query
// when it lists anything, else the HIP-only listing (platform "rocm", no
// utilization). NVML is never touched. Devices the HIP runtime cannot select are left out; devices
// whose SMI index is ambiguous are listed without physical_id and with utilization null (never a
// guess).
//
// Beyond upstream's record: power_watts, temperature_c and uuid ("GPU-<unique id>") from ROCm SMI
// when the device's SMI index resolves. Memory comes from hipMemGetInfo, as upstream's did.
#pragma once

#include <vector>

#include "gpu/backend.hpp"
#include "gpu/rocm/hip_api.hpp"
#include "gpu/rocm/smi_runtime.hpp"

namespace keepgpu::gpu::rocm {

// Reads ROCR_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES / CUDA_VISIBLE_DEVICES now. Selects devices on
// the calling thread and restores its current device afterwards. Throws
// DeviceEnumerationUnavailableError only.
std::vector<GpuInfo> list_rocm_gpus(SmiRuntime& smi, const HipLoader& hip);

}  // namespace keepgpu::gpu::rocm
