// Telemetry for the CUDA platform: utilization from NVML by visible ordinal and the device listing
// (NVML records, or the driver-only fallback).
// Create one per backend; each instance holds its own NVML init reference (see NvmlSession).
#pragma once

#include <optional>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_api.hpp"
#include "gpu/nvml/nvml_api.hpp"
#include "gpu/nvml/nvml_session.hpp"

namespace keepgpu::gpu::nvml {

class NvmlTelemetry final : public Telemetry {
 public:
  explicit NvmlTelemetry(NvmlLoader nvml = NvmlApi::shared,
                         cuda::CudaLoader cuda = cuda::CudaApi::shared);

  // At most two attempts; an "uninitialised" answer anywhere re-initialises NVML once. Reads
  // CUDA_VISIBLE_DEVICES and resolves every token on every call. Never throws.
  std::optional<double> utilization(int visible_ordinal) override;
  // NVML records when the mapping is unambiguous, else the driver's own listing where the
  // fail-closed rules allow it. Creates no CUDA context. Throws
  // DeviceEnumerationUnavailableError only.
  std::vector<GpuInfo> list_gpus() override;

 private:
  std::optional<double> query_utilization(int visible_ordinal);

  NvmlLoader nvml_;
  cuda::CudaLoader cuda_;
  NvmlSession monitor_;
};

}  // namespace keepgpu::gpu::nvml
