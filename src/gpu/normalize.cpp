#include "gpu/normalize.hpp"

#include <cmath>
#include <limits>

namespace keepgpu::gpu {

std::optional<double> normalize_utilization(double percent) noexcept {
  if (!std::isfinite(percent) || percent < 0.0 || percent > 100.0) return std::nullopt;
  return percent;
}

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
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
      length = 1;
      cp = lead;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      cp = lead & 0x0F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      cp = lead & 0x07;
    }
    bool ok = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; ok && k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      ok = (next & 0xC0) == 0x80;
      cp = (cp << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    if (ok && ((length == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
               (length == 4 && (cp < 0x10000 || cp > 0x10FFFF)))) {
      ok = false;
    }
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      ++i;  // drop one byte and resynchronise
    }
  }
  return out;
}

}  // namespace keepgpu::gpu
