// The public RAII controllers (include/keepgpu/keepgpu.hpp) over Keeper and KeeperGroup.
#include <fmt/format.h>

#include "core/errors.hpp"
#include "core/interval.hpp"
#include "core/thresholds.hpp"
#include "core/vram.hpp"
#include "gpu/platform.hpp"
#include "keeper/keeper.hpp"
#include "keeper/keeper_group.hpp"
#include "keepgpu/keepgpu.hpp"

namespace keepgpu {
namespace {

// validate_visible_rank: a rank must be a visible ordinal below the device count.
void validate_visible_rank(int rank, int count) {
  if (count < 0) throw ValueError("visible device count must be a non-negative integer");
  if (count == 0) {
    throw VisibleRankValidationError("no visible GPUs are available; rank cannot be selected");
  }
  if (rank < 0 || rank >= count) {
    throw VisibleRankValidationError(
        fmt::format("rank must be a visible device ordinal less than {}; got {}", count, rank));
  }
}

}  // namespace

struct CudaGPUController::Impl {
  std::unique_ptr<keeper::Keeper> keeper;
};

CudaGPUController::CudaGPUController(const CudaControllerOptions& options) : impl_(new Impl) {
  // Upstream's order: vram, interval, relu_iterations, busy_threshold, rank.
  keeper::KeeperOptions o;
  o.elements = core::parse_vram_elements(options.vram_to_keep);
  o.interval_seconds = core::validate_interval(options.interval).seconds();
  if (options.relu_iterations <= 0) throw ValueError("relu_iterations must be positive");
  o.relu_iterations = options.relu_iterations;
  o.busy_threshold = core::validate_busy_threshold(options.busy_threshold);
  o.util_target = core::validate_util_target(options.util_target);
  auto backend = gpu::make_backend(gpu::Platform::cuda);
  const int count = backend ? backend->device_count() : 0;
  validate_visible_rank(options.rank, count);
  o.rank = options.rank;
  impl_->keeper = std::make_unique<keeper::Keeper>(std::move(backend), o);
}

CudaGPUController::~CudaGPUController() = default;
CudaGPUController::CudaGPUController(CudaGPUController&&) noexcept = default;
CudaGPUController& CudaGPUController::operator=(CudaGPUController&&) noexcept = default;

void CudaGPUController::keep() {
  impl_->keeper->keep();
}
void CudaGPUController::release() {
  impl_->keeper->release();
}
std::exception_ptr CudaGPUController::allocation_status() const {
  return impl_->keeper->allocation_status();
}
std::uint64_t CudaGPUController::held_bytes() const {
  return impl_->keeper->status().held_bytes;
}
int CudaGPUController::rank() const {
  return impl_->keeper->rank();
}
std::uint64_t CudaGPUController::vram_elements() const {
  return impl_->keeper->options().elements;
}

struct GlobalGPUController::Impl {
  std::unique_ptr<keeper::KeeperGroup> group;
};

GlobalGPUController::GlobalGPUController(GlobalControllerOptions options) : impl_(new Impl) {
  keeper::GroupOptions o;
  o.gpu_ids = std::move(options.gpu_ids);
  o.interval_seconds = options.interval;
  o.vram = std::move(options.vram);
  o.busy_threshold = options.busy_threshold;
  o.util_target = options.util_target;
  impl_->group = std::make_unique<keeper::KeeperGroup>(std::move(o));
}

GlobalGPUController::~GlobalGPUController() = default;
GlobalGPUController::GlobalGPUController(GlobalGPUController&&) noexcept = default;
GlobalGPUController& GlobalGPUController::operator=(GlobalGPUController&&) noexcept = default;

void GlobalGPUController::keep() {
  impl_->group->keep();
}
void GlobalGPUController::release() {
  impl_->group->release();
}
std::exception_ptr GlobalGPUController::runtime_error() const {
  return impl_->group->runtime_error();
}
const std::vector<std::int64_t>& GlobalGPUController::gpu_ids() const {
  return impl_->group->gpu_ids();
}
std::uint64_t GlobalGPUController::held_bytes() const {
  std::uint64_t total = 0;
  for (const auto& keeper : impl_->group->keepers())
    total += keeper->status().held_bytes;
  return total;
}

}  // namespace keepgpu
