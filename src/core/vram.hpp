// VRAM size grammar (upstream's, plus the units B, TB and TiB as a compatible extension): a decimal
// number with an optional byte or bit unit, evaluated exactly and capped at 1 PiB. The keepers
// hold float32 elements, so callers mostly want the element count (bytes / 4).
#pragma once

#include "core/json.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace keepgpu::core {

inline constexpr std::uint64_t kMaxVramBytes = 1ULL << 50;

// Parses text such as "1GiB", " 512 MB ", ".5KB" or "1073741824" and returns the exact byte count
// floored to an integer. Throws keepgpu::ValueError with upstream's messages (invalid format,
// unknown unit, over 1 PiB). Inputs of any length are handled without overflow.
std::uint64_t parse_vram_bytes(std::string_view text);

// floor(bytes / 4); throws "memory size must be at least 4 bytes" when that is 0.
std::uint64_t parse_vram_elements(std::string_view text);

// For integer byte counts (API layer): over 1 PiB, or fewer than 4 bytes (including negatives),
// is an error.
std::uint64_t vram_elements_from_bytes(long long bytes);

// True when parse_vram_elements(text) would succeed.
bool is_valid_vram(std::string_view text);

// The dynamic form used by JSON inputs: a string is parsed as text, an integer counts bytes
// (saturated huge integers are over the cap), anything else is a keepgpu::TypeError.
std::uint64_t parse_vram_elements_json(const Json& value);

// The text after trimming and removing every ASCII space, as quoted in "invalid format" errors.
std::string normalize_vram_text(std::string_view text);

// A byte count for people, in binary units with one decimal: "0 B", "512.0 MiB", "1.5 GiB".
std::string format_bytes(std::uint64_t bytes);

}  // namespace keepgpu::core
