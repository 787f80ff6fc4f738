#include "gpu/nvml/nvml_telemetry.hpp"

#include "core/log.hpp"
#include "gpu/normalize.hpp"
#include "gpu/nvml/nvml_directory.hpp"
#include "gpu/nvml/nvml_listing.hpp"
#include "gpu/visibility.hpp"

namespace keepgpu::gpu::nvml {
namespace {

std::shared_ptr<spdlog::logger> monitor_log() {
  static const auto logger = keepgpu::log::get("keep_gpu.utilities.gpu_monitor");
  return logger;
}

}  // namespace

NvmlTelemetry::NvmlTelemetry(NvmlLoader nvml, cuda::CudaLoader cuda)
    : nvml_(nvml), cuda_(std::move(cuda)), monitor_(std::move(nvml)) {}

std::optional<double> NvmlTelemetry::utilization(int visible_ordinal) {
  try {
    return query_utilization(visible_ordinal);
  } catch (...) {
    // Telemetry is advisory: anything unexpected (an allocation failure, a logging error) reads
    // as "unavailable" rather than ending the keeper.
    return std::nullopt;
  }
}

std::optional<double> NvmlTelemetry::query_utilization(int visible_ordinal) {
  const auto lg = monitor_log();
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string error;
    const NvmlApi* api = monitor_.acquire(error);
    if (api == nullptr) {
      KG_DEBUG(lg, "NVML init failed: {}", error);
      return std::nullopt;
    }
    NvmlDirectory directory(*api);
    const MonitorLookup lookup =
        resolve_monitor_handle(cuda_visible_mask(), visible_ordinal, directory);
    int status = kSuccess;
    std::string detail = lookup.detail;
    nvmlUtilization_t rates{};
    if (lookup.outcome == MonitorLookup::Outcome::found) {
      status = api->nvmlDeviceGetUtilizationRates(to_device(lookup.handle), &rates);
      if (status == kSuccess) return normalize_utilization(static_cast<double>(rates.gpu));
      detail = api->error_text(status);
    } else if (lookup.outcome == MonitorLookup::Outcome::uninitialized) {
      status = kErrorUninitialized;
    } else {
      if (!detail.empty())
        KG_DEBUG(lg, "NVML query failed for GPU {}: {}", visible_ordinal, detail);
      return std::nullopt;
    }
    KG_DEBUG(lg, "NVML query failed for GPU {}: {}", visible_ordinal, detail);
    if (attempt > 0 || status != kErrorUninitialized) return std::nullopt;
    // Someone shut NVML down under us: initialise again and retry once.
    monitor_.mark_uninitialized();
  }
  return std::nullopt;
}

std::vector<GpuInfo> NvmlTelemetry::list_gpus() {
  return list_cuda_gpus(nvml_, cuda_);
}

}  // namespace keepgpu::gpu::nvml
