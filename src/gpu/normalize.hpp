// Telemetry normalisation, shared by the monitors and the listing:
// values a driver reports that cannot be right become "unknown" instead of misleading numbers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/thresholds.hpp"

namespace keepgpu::gpu {

// A utilization percent is usable only when finite and within 0..100 (the rule the busy policy
// applies too).
using core::normalize_utilization;
// Truncated to an int for reports (55.7 -> 55).
std::optional<int> utilization_percent(std::optional<double> percent) noexcept;

// Memory counters are unsigned in the vendor APIs. A value beyond INT64_MAX is the unsigned image
// of a negative number (or garbage): unknown.
std::optional<std::uint64_t> normalize_memory(std::optional<std::uint64_t> bytes) noexcept;

struct MemoryPair {
  std::optional<std::uint64_t> total;
  std::optional<std::uint64_t> used;
};

// Each counter normalised; a used value above a known total becomes unknown.
MemoryPair normalize_pair(std::optional<std::uint64_t> total,
                          std::optional<std::uint64_t> used) noexcept;
// From a runtime's (free, total): used = total - free when both are known and free <= total.
MemoryPair pair_from_free_total(std::optional<std::uint64_t> free,
                                std::optional<std::uint64_t> total) noexcept;

// Device names are reported as UTF-8 with invalid bytes dropped (as upstream decodes them with
// errors="ignore"), so a garbled name never breaks a JSON response.
std::string drop_invalid_utf8(std::string_view text);

}  // namespace keepgpu::gpu
