#include "gpu/rocm/rocm_listing.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "gpu/normalize.hpp"
#include "gpu/rocm/hip_device_query.hpp"
#include "gpu/rocm/rocm_visibility.hpp"
#include "gpu/rocm/smi_queries.hpp"

namespace keepgpu::gpu::rocm {
namespace {

std::shared_ptr<spdlog::logger> info_log() {
  static const auto logger = keepgpu::log::get("keep_gpu.utilities.gpu_info");
  return logger;
}

DeviceEnumerationUnavailableError enumeration_error(const std::string& detail) {
  return DeviceEnumerationUnavailableError("Unable to enumerate visible GPUs: " + detail);
}

// Puts the calling thread's current HIP device back, whatever happens in between.
class RestoreDevice {
 public:
  RestoreDevice(HipDeviceQuery& hip, int saved) : hip_(hip), saved_(saved) {}
  ~RestoreDevice() {
    try {
      hip_.select(saved_);
    } catch (const std::exception& e) {
      KG_DEBUG(info_log(), "ROCm device restore failed: {}", e.what());
    }
  }
  RestoreDevice(const RestoreDevice&) = delete;
  RestoreDevice& operator=(const RestoreDevice&) = delete;

 private:
  HipDeviceQuery& hip_;
  int saved_;
};

// False (logged) when there is no usable runtime; an unexpected hipInit failure counts as that.
bool runtime_available(HipDeviceQuery& hip) {
  try {
    return hip.available();
  } catch (const GpuError& e) {
    KG_DEBUG(info_log(), "ROCm availability query failed: {}", e.what());
    return false;
  }
}

int saved_device(HipDeviceQuery& hip) {
  try {
    return hip.current();
  } catch (const GpuError& e) {
    throw enumeration_error(e.what());
  }
}

GpuInfo runtime_record(HipDeviceQuery& hip, int ordinal) {
  GpuInfo info;
  info.id = ordinal;
  info.visible_id = ordinal;
  info.platform = "rocm";
  info.name = drop_invalid_utf8(hip.name(ordinal).value_or(fmt::format("rocm:{}", ordinal)));
  try {
    const MemoryInfo memory = hip.memory_info();
    const MemoryPair pair = pair_from_free_total(memory.free, memory.total);
    info.memory_total = pair.total;
    info.memory_used = pair.used;
  } catch (const GpuError& e) {
    KG_DEBUG(info_log(), "ROCm memory query failed for {}: {}", ordinal, e.what());
  }
  return info;
}

// The ROCm SMI + HIP query. Throws std::runtime_error when ROCm SMI cannot be initialised (the
// caller falls back) and DeviceEnumerationUnavailableError when HIP cannot count its devices.
std::vector<GpuInfo> smi_query(SmiRuntime& smi, const HipLoader& hip_loader) {
  const auto lg = info_log();
  const SmiRuntime::Lease lease = smi.acquire();
  std::uint64_t generation = 0;
  std::string error;
  const RsmiApi* api = lease.api(generation, error);
  if (api == nullptr) {
    if (!smi.library_loaded()) {
      KG_DEBUG(lg, "rocm_smi import failed: {}", error);
      return {};
    }
    throw std::runtime_error(error);
  }
  rsmi_status_t count_status = kRsmiSuccess;
  const std::optional<std::uint32_t> count = monitor_count(*api, count_status);

  HipDeviceQuery hip(hip_loader);
  if (!runtime_available(hip)) return {};
  const int saved = saved_device(hip);
  const int devices = hip.count();
  const RestoreDevice restore(hip, saved);
  const RocmMasks masks = RocmMasks::from_environment();
  std::vector<GpuInfo> records;
  for (int ordinal = 0; ordinal < devices; ++ordinal) {
    try {
      hip.select(ordinal);
    } catch (const GpuError& e) {
      KG_DEBUG(lg, "ROCm visible ordinal {} is not startable: {}", ordinal, e.what());
      continue;
    }
    const std::optional<std::uint32_t> index = resolve_rocm_smi_index(ordinal, masks, count);
    GpuInfo info = runtime_record(hip, ordinal);
    if (index) {
      info.physical_id = static_cast<int>(*index);
      std::uint32_t busy = 0;
      if (const rsmi_status_t status = api->rsmi_dev_busy_percent_get(*index, &busy);
          status == kRsmiSuccess) {
        info.utilization = utilization_percent(static_cast<double>(busy));
      } else {
        KG_DEBUG(lg, "ROCm util query failed for {}: {}", ordinal, api->status_text(status));
      }
      SmiExtras extras = read_extras(*api, *index);
      info.power_watts = extras.power_watts;
      info.temperature_c = extras.temperature_c;
      info.uuid = std::move(extras.uuid);
    }
    records.push_back(std::move(info));
  }
  return records;
}

// The runtime-only fallback on HIP: every device in order until one cannot be selected.
std::vector<GpuInfo> runtime_listing(const HipLoader& hip_loader) {
  HipDeviceQuery hip(hip_loader);
  if (!runtime_available(hip)) return {};
  const int saved = saved_device(hip);
  const int devices = hip.count();
  const RestoreDevice restore(hip, saved);
  std::vector<GpuInfo> records;
  for (int ordinal = 0; ordinal < devices; ++ordinal) {
    try {
      hip.select(ordinal);
    } catch (const GpuError& e) {
      KG_DEBUG(info_log(), "ROCm GPU info failed: {}", e.what());
      break;
    }
    records.push_back(runtime_record(hip, ordinal));
  }
  return records;
}

}  // namespace

std::vector<GpuInfo> list_rocm_gpus(SmiRuntime& smi, const HipLoader& hip) {
  try {
    std::vector<GpuInfo> records = smi_query(smi, hip);
    if (!records.empty()) return records;
  } catch (const DeviceEnumerationUnavailableError&) {
    throw;
  } catch (const std::exception& e) {
    KG_DEBUG(info_log(), "ROCm info failed: {}", e.what());
  }
  return runtime_listing(hip);
}

}  // namespace keepgpu::gpu::rocm
