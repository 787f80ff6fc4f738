// The CUDA backend: devices through the driver API (libcuda.so.1), telemetry through NVML.
#pragma once

#include <memory>
#include <string>

#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_api.hpp"
#include "gpu/nvml/nvml_api.hpp"
#include "gpu/nvml/nvml_telemetry.hpp"

namespace keepgpu::gpu::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(CudaLoader cuda = CudaApi::shared,
                       nvml::NvmlLoader nvml = nvml::NvmlApi::shared);

  Platform platform() const override { return Platform::cuda; }
  // cuInit + cuDeviceGetCount, without creating any context.
  int device_count() override;
  // Retains the device's primary context on the calling thread (see CudaSession).
  std::unique_ptr<DeviceSession> open(int visible_ordinal) override;
  // One NVML telemetry object per backend, shared by all its keepers.
  Telemetry& telemetry() override { return *telemetry_; }

 private:
  CudaLoader cuda_;
  std::unique_ptr<nvml::NvmlTelemetry> telemetry_;
};

}  // namespace keepgpu::gpu::cuda
