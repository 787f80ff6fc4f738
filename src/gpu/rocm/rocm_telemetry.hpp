// Telemetry for the ROCm platform: utilization from ROCm SMI by visible ordinal
// and the device listing (rocm_listing.hpp). Shares the
// backend's SmiRuntime, so queries made while a keeper holds a session need no extra rsmi_init.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "gpu/backend.hpp"
#include "gpu/rocm/hip_api.hpp"
#include "gpu/rocm/smi_runtime.hpp"

namespace keepgpu::gpu::rocm {

class RocmTelemetry final : public Telemetry {
 public:
  RocmTelemetry(std::shared_ptr<SmiRuntime> smi, HipLoader hip);

  // At most two attempts. Each reads the SMI device count afresh and resolves the ordinal through
  // the visibility masks; an unresolvable ordinal is unavailable at once, without a busy-percent
  // call. A "not initialised" answer re-initialises ROCm SMI once. Never throws.
  std::optional<double> utilization(int visible_ordinal) override;
  // Throws DeviceEnumerationUnavailableError only.
  std::vector<GpuInfo> list_gpus() override;

 private:
  std::optional<double> query_utilization(int visible_ordinal);

  std::shared_ptr<SmiRuntime> smi_;
  HipLoader hip_;
};

}  // namespace keepgpu::gpu::rocm
