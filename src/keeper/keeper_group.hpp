// KeeperGroup: one Keeper per selected GPU (upstream's GlobalGPUController). Inputs are validated
// before the platform is probed; children start one after another and a failure rolls back the
// ones this call started; release stops every child concurrently and aggregates the errors in
// controller order.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/defaults.hpp"
#include "gpu/backend.hpp"
#include "keeper/keeper.hpp"

namespace keepgpu::keeper {

struct GroupOptions {
  std::optional<std::vector<std::int64_t>> gpu_ids;  // nullopt = all visible GPUs
  double interval_seconds = core::kDefaultIntervalSeconds;
  std::string vram{core::kDefaultVram};
  int busy_threshold = core::kDefaultBusyThreshold;
  int relu_iterations = core::kDefaultReluIterations;
  int util_target = 0;  // see KeeperOptions::util_target
};

// Produces the backend of the active platform, or throws UnsupportedControllerPlatformError on a
// machine without a supported GPU platform. Called after input validation.
using BackendProvider = std::function<std::shared_ptr<gpu::Backend>()>;
BackendProvider default_backend_provider();

class KeeperGroup {
 public:
  explicit KeeperGroup(GroupOptions options,
                       const BackendProvider& provider = default_backend_provider());
  ~KeeperGroup();
  KeeperGroup(const KeeperGroup&) = delete;
  KeeperGroup& operator=(const KeeperGroup&) = delete;

  void keep();
  void release();
  // The first child failure, prefixed "rank N: " when the child's text is not already, or nullptr.
  std::exception_ptr runtime_error() const;

  const std::vector<std::int64_t>& gpu_ids() const noexcept { return gpu_ids_; }
  const std::vector<std::unique_ptr<Keeper>>& keepers() const noexcept { return keepers_; }
  const GroupOptions& options() const noexcept { return options_; }
  std::uint64_t elements() const noexcept { return elements_; }

 private:
  GroupOptions options_;
  std::uint64_t elements_ = 0;
  std::shared_ptr<gpu::Backend> backend_;
  std::vector<std::int64_t> gpu_ids_;
  std::vector<std::unique_ptr<Keeper>> keepers_;
};

}  // namespace keepgpu::keeper
