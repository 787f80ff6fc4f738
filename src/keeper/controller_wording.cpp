#include "keeper/controller_wording.hpp"

#include <fmt/format.h>

namespace keepgpu::keeper {

namespace {

constexpr ControllerWording kCuda{
    .label = "CUDA",
    .logger_name = "keep_gpu.single_gpu_controller.cuda_gpu_controller",
    .keep_thread = "keep thread",
    .thread_name_prefix = "gpu-keeper-",
    .backoff_sleep = "sleeping longer",
    .counts_allocation_attempts = false,
};

constexpr ControllerWording kRocm{
    .label = "ROCm",
    .logger_name = "keep_gpu.single_gpu_controller.rocm_gpu_controller",
    .keep_thread = "ROCm keep thread",
    .thread_name_prefix = "gpu-keeper-rocm-",
    .backoff_sleep = "sleeping",
    .counts_allocation_attempts = true,
};

}  // namespace

const ControllerWording& wording_for(gpu::Platform platform) {
  return platform == gpu::Platform::rocm ? kRocm : kCuda;
}

std::string allocation_failure_text(const ControllerWording& wording, int rank, int attempt,
                                    std::optional<int> budget, const std::string& error) {
  if (!wording.counts_allocation_attempts) {
    return fmt::format("rank {}: failed to allocate matrix: {}", rank, error);
  }
  const std::string of_budget = budget ? fmt::format("/{}", *budget) : std::string();
  return fmt::format("rank {}: failed to allocate tensor (attempt {}{}): {}", rank, attempt,
                     of_budget, error);
}

}  // namespace keepgpu::keeper
