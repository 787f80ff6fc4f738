#include "keeper/keeper_group.hpp"

#include <fmt/format.h>

#include <mutex>
#include <thread>

#include "core/errors.hpp"
#include "core/gpu_ids.hpp"
#include "core/interval.hpp"
#include "core/log.hpp"
#include "core/thresholds.hpp"
#include "core/vram.hpp"

namespace keepgpu::keeper {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto lg = log::get("keep_gpu.global_gpu_controller.global_gpu_controller");
  return lg;
}

std::string with_rank_prefix(int rank, const std::string& text) {
  const std::string prefix = fmt::format("rank {}:", rank);
  if (text.rfind(prefix, 0) == 0) return text;
  return fmt::format("rank {}: {}", rank, text);
}

}  // namespace

KeeperGroup::KeeperGroup(GroupOptions options, const BackendProvider& provider)
    : options_(std::move(options)) {
  // Pure input validation first: no platform or hardware probing before it passes.
  core::validate_interval(options_.interval_seconds);
  core::validate_busy_threshold(options_.busy_threshold);
  core::validate_util_target(options_.util_target);
  elements_ = core::parse_vram_elements(options_.vram);
  if (options_.gpu_ids) options_.gpu_ids = core::validate_gpu_ids(*options_.gpu_ids);

  backend_ = provider();
  if (!backend_) {
    throw UnsupportedControllerPlatformError(
        "GlobalGPUController not implemented for platform cpu (no CUDA or ROCm GPU platform "
        "was found)");
  }
  int count = 0;
  try {
    count = backend_->device_count();
  } catch (const DeviceEnumerationUnavailableError& e) {
    throw NoGPUAvailableError(e.what());
  }
  if (options_.gpu_ids) {
    std::vector<std::int64_t> invalid;
    for (auto id : *options_.gpu_ids) {
      if (id >= count) invalid.push_back(id);
    }
    if (!invalid.empty()) {
      throw InvalidVisibleGPUSelectionError(
          fmt::format("gpu_ids must be visible device ordinals less than {}; got {}", count,
                      core::format_id_list(invalid)));
    }
    gpu_ids_ = *options_.gpu_ids;
  } else {
    for (int i = 0; i < count; ++i)
      gpu_ids_.push_back(i);
  }
  if (gpu_ids_.empty()) throw NoGPUAvailableError("No GPUs available for GlobalGPUController");

  for (auto id : gpu_ids_) {
    KeeperOptions child;
    child.rank = static_cast<int>(id);
    child.interval_seconds = options_.interval_seconds;
    child.elements = elements_;
    child.busy_threshold = options_.busy_threshold;
    child.relu_iterations = options_.relu_iterations;
    child.util_target = options_.util_target;
    keepers_.push_back(std::make_unique<Keeper>(backend_, child));
  }
}

KeeperGroup::~KeeperGroup() = default;

void KeeperGroup::keep() {
  std::vector<Keeper*> started;
  for (auto& keeper : keepers_) {
    const bool was_running = keeper->worker_alive();
    try {
      keeper->keep();
    } catch (...) {
      const std::exception_ptr original = std::current_exception();
      if (keeper->has_worker_state()) {
        try {
          keeper->release();
        } catch (const std::exception& e) {
          KG_WARN(logger(), "Failed to clean up failed controller rank {} after start failure: {}",
                  keeper->rank(), e.what());
        }
      }
      for (auto it = started.rbegin(); it != started.rend(); ++it) {
        try {
          (*it)->release();
        } catch (const std::exception& e) {
          KG_WARN(logger(), "Failed to roll back controller rank {} after start failure: {}",
                  (*it)->rank(), e.what());
        }
      }
      std::rethrow_exception(original);
    }
    if (!was_running) started.push_back(keeper.get());
  }
}

void KeeperGroup::release() {
  std::vector<std::exception_ptr> errors(keepers_.size());
  {
    std::vector<std::jthread> helpers;
    helpers.reserve(keepers_.size());
    for (std::size_t i = 0; i < keepers_.size(); ++i) {
      helpers.emplace_back([this, i, &errors] {
        try {
          keepers_[i]->release();
        } catch (...) {
          errors[i] = std::current_exception();  // each helper owns its own slot
        }
      });
    }
  }  // joins every helper
  std::string details;
  for (std::size_t i = 0; i < keepers_.size(); ++i) {
    if (!errors[i]) continue;
    if (!details.empty()) details += "; ";
    details += with_rank_prefix(keepers_[i]->rank(), message_of(errors[i]));
  }
  if (!details.empty()) throw RuntimeError("Failed to release GPU controllers: " + details);
}

std::exception_ptr KeeperGroup::runtime_error() const {
  for (const auto& keeper : keepers_) {
    std::exception_ptr error;
    try {
      error = keeper->allocation_status();
    } catch (...) {
      error = std::current_exception();
    }
    if (!error) continue;
    const std::string text = message_of(error);
    if (text.rfind(fmt::format("rank {}:", keeper->rank()), 0) == 0) return error;
    return std::make_exception_ptr(RuntimeError(with_rank_prefix(keeper->rank(), text)));
  }
  return nullptr;
}

}  // namespace keepgpu::keeper
