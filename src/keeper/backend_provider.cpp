#include "core/errors.hpp"
#include "gpu/platform.hpp"
#include "keeper/keeper_group.hpp"

namespace keepgpu::keeper {

BackendProvider default_backend_provider() {
  return [] {
    const gpu::Platform platform = gpu::detect_platform();
    auto backend = gpu::make_backend(platform);
    if (!backend) {
      throw UnsupportedControllerPlatformError(
          "GlobalGPUController not implemented for platform " + gpu::to_string(platform) +
          " (no CUDA or ROCm GPU platform was found: libcuda.so.1 and libnvidia-ml.so.1 are "
          "missing or report no device, and the HIP runtime (libamdhip64.so) and ROCm SMI "
          "(librocm_smi64.so) are missing or report no AMD GPU)");
    }
    return backend;
  };
}

}  // namespace keepgpu::keeper
