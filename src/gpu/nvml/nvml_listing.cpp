#include "gpu/nvml/nvml_listing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "core/errors.hpp"
#include "core/log.hpp"
#include "gpu/cuda/device_query.hpp"
#include "gpu/normalize.hpp"
#include "gpu/nvml/nvml_directory.hpp"
#include "gpu/visibility.hpp"

namespace keepgpu::gpu::nvml {
namespace {

std::shared_ptr<spdlog::logger> info_log() {
  static const auto logger = keepgpu::log::get("keep_gpu.utilities.gpu_info");
  return logger;
}

// Records, and whether the runtime fallback may still run.
struct NvmlOutcome {
  std::vector<GpuInfo> records;
  bool allow_fallback = false;
};

NvmlOutcome closed() {
  return {{}, false};
}

// One balanced init/shutdown pair; shutdown errors are ignored, as upstream's `finally` does.
class InitScope {
 public:
  explicit InitScope(const NvmlApi& api) : api_(api) {
    if (nvmlReturn_t status = api_.nvmlInit(); status != kSuccess) {
      throw std::runtime_error("nvmlInit: " + api_.error_text(status));
    }
  }
  ~InitScope() { api_.nvmlShutdown(); }
  InitScope(const InitScope&) = delete;
  InitScope& operator=(const InitScope&) = delete;

 private:
  const NvmlApi& api_;
};

void check(const NvmlApi& api, nvmlReturn_t status, const char* call) {
  if (status != kSuccess)
    throw std::runtime_error(fmt::format("{}: {}", call, api.error_text(status)));
}

GpuInfo nvml_record(const NvmlApi& api, int ordinal, const ResolvedDevice& resolved) {
  const nvmlDevice_t device = to_device(resolved.handle);
  nvmlMemory_t memory{};
  check(api, api.nvmlDeviceGetMemoryInfo(device, &memory), "nvmlDeviceGetMemoryInfo");
  nvmlUtilization_t rates{};
  check(api, api.nvmlDeviceGetUtilizationRates(device, &rates), "nvmlDeviceGetUtilizationRates");
  char name[kTextBufferSize + 1] = {};
  check(api, api.nvmlDeviceGetName(device, name, kTextBufferSize), "nvmlDeviceGetName");

  GpuInfo info;
  info.id = ordinal;
  info.visible_id = ordinal;
  info.platform = "cuda";
  info.name = drop_invalid_utf8(std::string_view(name, strnlen(name, kTextBufferSize)));
  const MemoryPair pair = normalize_pair(memory.total, memory.used);
  info.memory_total = pair.total;
  info.memory_used = pair.used;
  info.utilization = utilization_percent(static_cast<double>(rates.gpu));
  info.physical_id = resolved.physical_id;
  if (api.nvmlDeviceGetUUID != nullptr) {
    char uuid[kTextBufferSize + 1] = {};
    if (api.nvmlDeviceGetUUID(device, uuid, kTextBufferSize) == kSuccess) {
      info.uuid = std::string(uuid, strnlen(uuid, kTextBufferSize));
    }
  }
  // Extras beyond upstream's record; absent when the device cannot report them.
  unsigned milliwatts = 0;
  if (api.nvmlDeviceGetPowerUsage != nullptr &&
      api.nvmlDeviceGetPowerUsage(device, &milliwatts) == kSuccess) {
    info.power_watts = milliwatts / 1000.0;
  }
  unsigned celsius = 0;
  if (api.nvmlDeviceGetTemperature != nullptr &&
      api.nvmlDeviceGetTemperature(device, kTemperatureGpu, &celsius) == kSuccess) {
    info.temperature_c = static_cast<int>(celsius);
  }
  return info;
}

// The NVML query. Throws on NVML failures (the caller logs them and may fall back), and
// DeviceEnumerationUnavailableError when the driver cannot count its devices.
NvmlOutcome nvml_query(const CudaVisibleMask& mask, const NvmlLoader& nvml_loader,
                       const cuda::CudaLoader& cuda_loader) {
  const auto lg = info_log();
  const std::shared_ptr<const NvmlApi> api = nvml_loader();
  const InitScope scope(*api);
  unsigned count = 0;
  check(*api, api->nvmlDeviceGetCount(&count), "nvmlDeviceGetCount");
  if (!mask.valid) return closed();

  std::vector<MaskToken> tokens = mask.tokens;
  if (!mask.set) {
    for (unsigned index = 0; index < count; ++index) {
      tokens.push_back({MaskToken::Kind::index, index, std::to_string(index), {}});
    }
  }
  for (const MaskToken& token : tokens) {
    if (token.kind == MaskToken::Kind::index && token.index >= count) return closed();
  }

  // The driver's own view decides first, before any handle lookup.
  cuda::DeviceQuery driver(cuda_loader);
  std::optional<int> runtime_count;
  try {
    runtime_count = driver.available() ? driver.count() : 0;
  } catch (const GpuError& e) {
    KG_DEBUG(lg, "CUDA availability query failed: {}", e.what());
  }
  if (!runtime_count || *runtime_count <= 0) return closed();

  NvmlDirectory directory(*api);
  std::optional<std::vector<ResolvedDevice>> resolved;
  const bool has_uuid_tokens = std::any_of(tokens.begin(), tokens.end(), [](const MaskToken& t) {
    return t.kind == MaskToken::Kind::uuid;
  });
  if (has_uuid_tokens) {
    resolved = resolve_listing_handles(tokens, directory);
    if (!resolved) return closed();
  }
  // The only ambiguity that still lets the driver list the devices: a count mismatch with an
  // otherwise valid mask.
  if (tokens.size() != static_cast<std::size_t>(*runtime_count)) return {{}, true};

  for (int ordinal = 0; ordinal < *runtime_count; ++ordinal) {
    try {
      driver.device(ordinal);
    } catch (const GpuError& e) {
      KG_DEBUG(lg, "CUDA visible ordinal probe failed: {}", e.what());
      return closed();
    }
  }
  if (!resolved) {
    resolved = resolve_listing_handles(tokens, directory);
    if (!resolved) return closed();
  }

  NvmlOutcome outcome{{}, true};
  for (std::size_t i = 0; i < resolved->size(); ++i) {
    outcome.records.push_back(nvml_record(*api, static_cast<int>(i), (*resolved)[i]));
  }
  return outcome;
}

// The driver-only fallback, context-free: the driver's devices with name and total memory only.
std::vector<GpuInfo> runtime_listing(const cuda::CudaLoader& cuda_loader) {
  const auto lg = info_log();
  cuda::DeviceQuery driver(cuda_loader);
  try {
    if (!driver.available()) return {};
  } catch (const GpuError& e) {
    KG_DEBUG(lg, "CUDA availability query failed: {}", e.what());
    return {};
  }
  const int count = driver.count();
  std::vector<GpuInfo> records;
  for (int ordinal = 0; ordinal < count; ++ordinal) {
    cuda::CUdevice device = 0;
    try {
      device = driver.device(ordinal);
    } catch (const GpuError& e) {
      KG_DEBUG(lg, "CUDA GPU info failed: {}", e.what());
      break;
    }
    GpuInfo info;
    info.id = ordinal;
    info.visible_id = ordinal;
    info.platform = "cuda";
    info.name = driver.name(device).value_or(fmt::format("cuda:{}", ordinal));
    info.memory_total = normalize_memory(driver.total_memory(device));
    records.push_back(std::move(info));
  }
  return records;
}

}  // namespace

std::vector<GpuInfo> list_cuda_gpus(const NvmlLoader& nvml, const cuda::CudaLoader& cuda) {
  const CudaVisibleMask mask = cuda_visible_mask();
  bool allow_fallback = mask.permits_fallback();
  try {
    NvmlOutcome outcome = nvml_query(mask, nvml, cuda);
    if (!outcome.records.empty()) return std::move(outcome.records);
    allow_fallback = outcome.allow_fallback;
  } catch (const DeviceEnumerationUnavailableError&) {
    throw;
  } catch (const std::exception& e) {
    KG_DEBUG(info_log(), "NVML info failed: {}", e.what());
  }
  if (mask.permits_fallback() && allow_fallback) return runtime_listing(cuda);
  return {};
}

}  // namespace keepgpu::gpu::nvml
