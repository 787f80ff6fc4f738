// Which computing platform this process drives (KEEP_GPU_PLATFORM or detection), and the backend
// for it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_api.hpp"
#include "gpu/nvml/nvml_api.hpp"
#include "gpu/rocm/hip_api.hpp"
#include "gpu/rocm/rsmi_api.hpp"

namespace keepgpu::gpu {

// Decides the platform once and remembers it: KEEP_GPU_PLATFORM (cuda, rocm, cpu or macm, any
// case) wins without probing; otherwise CUDA is probed (driver with devices, else NVML), then
// ROCm (HIP runtime with devices, else ROCm SMI initialising and monitoring at least one device),
// else CPU. When both vendors are present CUDA is preferred (upstream decided by its PyTorch build
// instead). "macm" is accepted by name, but this port has no Apple MPS backend, so it means CPU
// (with a warning).
//
// ROCm SMI must also see a device, unlike upstream's bare rsmi_init probe: rsmi_init can succeed
// on a host whose only DRM devices are not AMD GPUs, and such a host is not a ROCm host.
class PlatformDetector {
 public:
  explicit PlatformDetector(cuda::CudaLoader cuda = cuda::CudaApi::shared,
                            nvml::NvmlLoader nvml = nvml::NvmlApi::shared,
                            rocm::HipLoader hip = rocm::HipApi::shared,
                            rocm::RsmiLoader rsmi = rocm::RsmiApi::shared);

  // The first call decides (thread-safe); later calls return the same value and probe nothing,
  // even if the environment has changed.
  Platform detect();

  // The instance behind detect_platform(), shared by the whole process.
  static PlatformDetector& process();

 private:
  Platform decide();
  std::optional<Platform> from_override();
  bool cuda_present();
  bool rocm_present();

  bool rocm_smi_sees_devices();

  cuda::CudaLoader cuda_;
  nvml::NvmlLoader nvml_;
  rocm::HipLoader hip_;
  rocm::RsmiLoader rsmi_;
  std::once_flag once_;
  Platform platform_ = Platform::cpu;
};

// PlatformDetector::process().detect().
Platform detect_platform();

// The backend for a platform: CudaBackend for cuda, RocmBackend for rocm, nullptr for cpu.
std::shared_ptr<Backend> make_backend(Platform platform);

}  // namespace keepgpu::gpu
