#include "gpu/cuda/cuda_backend.hpp"

#include "gpu/cuda/cuda_session.hpp"
#include "gpu/cuda/device_query.hpp"

namespace keepgpu::gpu::cuda {

CudaBackend::CudaBackend(CudaLoader cuda, nvml::NvmlLoader nvml)
    : cuda_(std::move(cuda)),
      telemetry_(std::make_unique<nvml::NvmlTelemetry>(std::move(nvml), cuda_)) {}

int CudaBackend::device_count() {
  return DeviceQuery(cuda_).count();
}

std::unique_ptr<DeviceSession> CudaBackend::open(int visible_ordinal) {
  return std::make_unique<CudaSession>(cuda_(), visible_ordinal);
}

}  // namespace keepgpu::gpu::cuda
