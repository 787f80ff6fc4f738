#include "gpu/rocm/smi_queries.hpp"

#include <fmt/format.h>

namespace keepgpu::gpu::rocm {

std::optional<std::uint32_t> monitor_count(const RsmiApi& api, rsmi_status_t& status) {
  status = kRsmiSuccess;
  if (api.rsmi_num_monitor_devices == nullptr) return std::nullopt;
  std::uint32_t count = 0;
  status = api.rsmi_num_monitor_devices(&count);
  if (status != kRsmiSuccess) return std::nullopt;
  return count;
}

SmiExtras read_extras(const RsmiApi& api, std::uint32_t index) {
  SmiExtras extras;
  std::uint64_t microwatts = 0;
  // The current socket power where the library has it, else the average.
  const bool power_read =
      (api.rsmi_dev_current_socket_power_get != nullptr &&
       api.rsmi_dev_current_socket_power_get(index, &microwatts) == kRsmiSuccess) ||
      (api.rsmi_dev_power_ave_get != nullptr &&
       api.rsmi_dev_power_ave_get(index, 0, &microwatts) == kRsmiSuccess);
  if (power_read) extras.power_watts = static_cast<double>(microwatts) / 1e6;
  if (api.rsmi_dev_temp_metric_get != nullptr) {
    for (const std::uint32_t sensor : {kRsmiTempEdge, kRsmiTempJunction}) {
      std::int64_t millidegrees = 0;
      if (api.rsmi_dev_temp_metric_get(index, sensor, kRsmiTempCurrent, &millidegrees) ==
          kRsmiSuccess) {
        extras.temperature_c = static_cast<int>(millidegrees / 1000);
        break;
      }
    }
  }
  std::uint64_t id = 0;
  if (api.rsmi_dev_unique_id_get != nullptr &&
      api.rsmi_dev_unique_id_get(index, &id) == kRsmiSuccess && id != 0) {
    extras.uuid = fmt::format("GPU-{:016x}", id);
  }
  return extras;
}

}  // namespace keepgpu::gpu::rocm
