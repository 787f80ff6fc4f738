// ROCm SMI reads shared by the utilization monitor and the device listing. An SMI index here is
// already resolved from a visible ordinal (rocm_visibility.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "gpu/rocm/rsmi_api.hpp"

namespace keepgpu::gpu::rocm {

// rsmi_num_monitor_devices. The count is unknown (std::nullopt) when the symbol is missing or the
// call fails; `status` is the call's status (success when the symbol is missing), so a caller can
// tell "not initialised" apart.
std::optional<std::uint32_t> monitor_count(const RsmiApi& api, rsmi_status_t& status);

// Listing extras beyond upstream's record, each absent when the device cannot report it.
struct SmiExtras {
  std::optional<double> power_watts;  // current socket power, else average power
  std::optional<int> temperature_c;   // edge sensor, else junction (MI200/MI300 have no edge)
  std::optional<std::string> uuid;    // "GPU-<unique id as 16 hex digits>", as rocminfo shows it
};
SmiExtras read_extras(const RsmiApi& api, std::uint32_t index);

}  // namespace keepgpu::gpu::rocm
