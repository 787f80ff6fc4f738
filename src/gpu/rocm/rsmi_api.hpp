// The slice of ROCm SMI (librocm_smi64.so) that keep-gpu uses for telemetry: busy percent for the
// keep loop's backoff, and VRAM, name, unique id, power and temperature for the device listing.
// Only the types and entry points called here are declared; the constants are the public API's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "gpu/dynlib.hpp"

namespace keepgpu::gpu::rocm {

using rsmi_status_t = int;

inline constexpr rsmi_status_t kRsmiSuccess = 0;
inline constexpr rsmi_status_t kRsmiNotSupported = 2;
// RSMI_STATUS_INIT_ERROR: also what every call answers once the library is not initialised.
inline constexpr rsmi_status_t kRsmiInitError = 8;

inline constexpr int kRsmiMemTypeVram = 0;         // RSMI_MEM_TYPE_VRAM
inline constexpr std::uint32_t kRsmiTempEdge = 0;  // RSMI_TEMP_TYPE_EDGE
inline constexpr std::uint32_t kRsmiTempJunction = 1;
inline constexpr int kRsmiTempCurrent = 0;  // RSMI_TEMP_CURRENT
inline constexpr std::size_t kRsmiNameBufferSize = 256;

struct RsmiApi {
  // Required entry points.
  rsmi_status_t (*rsmi_init)(std::uint64_t flags) = nullptr;
  rsmi_status_t (*rsmi_shut_down)() = nullptr;
  rsmi_status_t (*rsmi_dev_busy_percent_get)(std::uint32_t index, std::uint32_t* percent) = nullptr;

  // Optional entry points (nullptr when this ROCm SMI lacks them).
  rsmi_status_t (*rsmi_num_monitor_devices)(std::uint32_t* count) = nullptr;
  rsmi_status_t (*rsmi_dev_memory_total_get)(std::uint32_t index, int type,
                                             std::uint64_t* bytes) = nullptr;
  rsmi_status_t (*rsmi_dev_memory_usage_get)(std::uint32_t index, int type,
                                             std::uint64_t* bytes) = nullptr;
  rsmi_status_t (*rsmi_dev_name_get)(std::uint32_t index, char* name, std::size_t length) = nullptr;
  rsmi_status_t (*rsmi_dev_unique_id_get)(std::uint32_t index, std::uint64_t* id) = nullptr;
  // Microwatts. MI300-class devices report only the current socket power.
  rsmi_status_t (*rsmi_dev_current_socket_power_get)(std::uint32_t index,
                                                     std::uint64_t* microwatts) = nullptr;
  rsmi_status_t (*rsmi_dev_power_ave_get)(std::uint32_t index, std::uint32_t sensor,
                                          std::uint64_t* microwatts) = nullptr;
  // Millidegrees Celsius.
  rsmi_status_t (*rsmi_dev_temp_metric_get)(std::uint32_t index, std::uint32_t sensor, int metric,
                                            std::int64_t* millidegrees) = nullptr;
  rsmi_status_t (*rsmi_status_string)(rsmi_status_t status, const char** text) = nullptr;

  std::shared_ptr<const DynamicLibrary> library;

  // Loads `name` and resolves the entry points. Throws LibraryError.
  static std::shared_ptr<const RsmiApi> load(const std::string& name);
  // KEEP_GPU_LIBROCM_SMI, else librocm_smi64.so and its versioned sonames (ROCm's .so.7/.6/.5,
  // Debian's .so.1), else /opt/rocm/lib; loaded once and never unloaded; a failed load is
  // remembered and rethrown. The search (not an explicit KEEP_GPU_LIBROCM_SMI) happens only when
  // amd_device_present().
  static std::shared_ptr<const RsmiApi> shared();

  // rsmi_status_string's text with the code, or a generic text when the library gives none.
  std::string status_text(rsmi_status_t status) const;
};

using RsmiLoader = std::function<std::shared_ptr<const RsmiApi>()>;

}  // namespace keepgpu::gpu::rocm
