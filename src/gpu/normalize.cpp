#include "gpu/normalize.hpp"

#include <limits>

#include "core/text.hpp"

namespace keepgpu::gpu {

std::optional<int> utilization_percent(std::optional<double> percent) noexcept {
  if (!percent) return std::nullopt;
  const auto valid = normalize_utilization(*percent);
  if (!valid) return std::nullopt;
  return static_cast<int>(*valid);  // truncation toward zero, as int() does
}

std::optional<std::uint64_t> normalize_memory(std::optional<std::uint64_t> bytes) noexcept {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!bytes || *bytes > kMax) return std::nullopt;
  return bytes;
}

MemoryPair normalize_pair(std::optional<std::uint64_t> total,
                          std::optional<std::uint64_t> used) noexcept {
  MemoryPair out{normalize_memory(total), normalize_memory(used)};
  if (out.total && out.used && *out.used > *out.total) out.used.reset();
  return out;
}

MemoryPair pair_from_free_total(std::optional<std::uint64_t> free,
                                std::optional<std::uint64_t> total) noexcept {
  const auto known_free = normalize_memory(free);
  const auto known_total = normalize_memory(total);
  std::optional<std::uint64_t> used;
  // A negative difference (free > total) is unknown, not a wrapped huge number.
  if (known_free && known_total && *known_free <= *known_total) used = *known_total - *known_free;
  return normalize_pair(known_total, used);
}

std::string drop_invalid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    // A malformed, overlong or surrogate sequence advances one byte: drop it and resynchronise.
    if (core::text::decode_utf8(text, pos)) out.append(text.substr(start, pos - start));
  }
  return out;
}

}  // namespace keepgpu::gpu
