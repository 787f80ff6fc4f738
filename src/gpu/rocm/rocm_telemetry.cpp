#include "gpu/rocm/rocm_telemetry.hpp"

#include <fmt/format.h>

#include "core/log.hpp"
#include "gpu/normalize.hpp"
#include "gpu/rocm/rocm_listing.hpp"
#include "gpu/rocm/rocm_visibility.hpp"
#include "gpu/rocm/smi_queries.hpp"

namespace keepgpu::gpu::rocm {
namespace {

std::shared_ptr<spdlog::logger> controller_log() {
  static const auto logger =
      keepgpu::log::get("keep_gpu.single_gpu_controller.rocm_gpu_controller");
  return logger;
}

}  // namespace

RocmTelemetry::RocmTelemetry(std::shared_ptr<SmiRuntime> smi, HipLoader hip)
    : smi_(std::move(smi)), hip_(std::move(hip)) {}

std::optional<double> RocmTelemetry::utilization(int visible_ordinal) {
  try {
    return query_utilization(visible_ordinal);
  } catch (...) {
    // Telemetry is advisory: anything unexpected reads as "unavailable", not as a dead keeper.
    return std::nullopt;
  }
}

std::optional<double> RocmTelemetry::query_utilization(int visible_ordinal) {
  const SmiRuntime::Lease lease = smi_->acquire();
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::uint64_t generation = 0;
    std::string error;
    const RsmiApi* api = lease.api(generation, error);
    if (api == nullptr) return std::nullopt;
    rsmi_status_t status = kRsmiSuccess;
    const std::optional<std::uint32_t> count = monitor_count(*api, status);
    std::string detail;
    if (status == kRsmiInitError) {
      detail = "rsmi_num_monitor_devices: " + api->status_text(status);
    } else {
      const auto index =
          resolve_rocm_smi_index(visible_ordinal, RocmMasks::from_environment(), count);
      if (!index) return std::nullopt;
      std::uint32_t busy = 0;
      status = api->rsmi_dev_busy_percent_get(*index, &busy);
      if (status == kRsmiSuccess) return normalize_utilization(static_cast<double>(busy));
      detail = fmt::format("rsmi_dev_busy_percent_get({}): {}", *index, api->status_text(status));
    }
    KG_DEBUG(controller_log(), "ROCm utilization query failed: {}", detail);
    // Only "not initialised" re-initialises: re-initialising after any other error would take a
    // reference nobody returns (upstream's leak).
    if (status == kRsmiInitError) lease.reinitialize(generation);
  }
  return std::nullopt;
}

std::vector<GpuInfo> RocmTelemetry::list_gpus() {
  return list_rocm_gpus(*smi_, hip_);
}

}  // namespace keepgpu::gpu::rocm
