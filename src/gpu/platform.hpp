// Which computing platform this process drives (spec/controllers.md §6), and the backend for it.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_api.hpp"
#include "gpu/nvml/nvml_api.hpp"

namespace keepgpu::gpu {

enum class Platform { cpu, cuda, rocm };

// "cpu", "cuda", "rocm".
std::string to_string(Platform platform);

// Decides the platform once and remembers it: KEEP_GPU_PLATFORM (cuda, rocm, cpu or macm, any
// case) wins without probing; otherwise CUDA is probed (driver with devices, else NVML), then
// ROCm, else CPU. When both vendors are present CUDA is preferred (upstream decided by its
// PyTorch build instead). "macm" is accepted by name, but this port has no Apple MPS backend, so
// it means CPU (with a warning).
class PlatformDetector {
 public:
  explicit PlatformDetector(cuda::CudaLoader cuda = cuda::CudaApi::shared,
                            nvml::NvmlLoader nvml = nvml::NvmlApi::shared);

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

  cuda::CudaLoader cuda_;
  nvml::NvmlLoader nvml_;
  std::once_flag once_;
  Platform platform_ = Platform::cpu;
};

// PlatformDetector::process().detect().
Platform detect_platform();

// The backend for a platform: CudaBackend for cuda; nullptr for cpu, and for rocm until the ROCm
// backend exists.
std::shared_ptr<Backend> make_backend(Platform platform);

}  // namespace keepgpu::gpu
