// GPU id lists, validated the same way by the CLI, the API and the library. Ids are visible
// ordinals in the caller's order; range checks against the device count happen where the
// devices are known.
#pragma once

#include "core/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepgpu::core {

inline constexpr std::size_t kMaxGpuIds = 64;

// `--gpu-ids` text: comma-separated integer tokens. Values beyond int64 saturate to INT64_MAX
// (they can never name a device, and duplicates are still detected on the exact digits).
std::vector<std::int64_t> parse_gpu_ids_text(std::string_view raw);

// The same validation, returning each id's exact decimal digits without leading zeros ("007" ->
// "7"), for a caller that passes ids of any size on to the service, which range-checks them.
std::vector<std::string> parse_gpu_id_digits(std::string_view raw);

// API layer: non-empty, at most 64, non-negative, no duplicates. Returns a copy in the same order.
std::vector<std::int64_t> validate_gpu_ids(const std::vector<std::int64_t>& ids);

// JSON form: null means "all visible GPUs" (std::nullopt); otherwise an array of integers
// (booleans and floats are not integers).
std::optional<std::vector<std::int64_t>> validate_gpu_ids_json(const Json& value);

// Python list form, as used in log lines and messages: "[0, 1]".
std::string format_id_list(const std::vector<std::int64_t>& ids);

}  // namespace keepgpu::core
