#include "core/vram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include "core/json.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

namespace keepgpu::core {
namespace {

constexpr const char* kTooLarge = "vram must be no more than 1 PiB";
constexpr const char* kTooSmall = "memory size must be at least 4 bytes";

struct Unit {
  std::string_view name;  // canonical spelling
  std::uint64_t bytes;
};

// Upper-case last letter = bytes, lower-case `b` = bits. `B`, `TB`, `TIB`, `Tb`, `TIb` are our
// compatible extension to upstream's table.
constexpr std::array<Unit, 17> kUnits = {{
    {"B", 1ULL},
    {"KB", 1000ULL},
    {"MB", 1000000ULL},
    {"GB", 1000000000ULL},
    {"TB", 1000000000000ULL},
    {"KIB", 1ULL << 10},
    {"MIB", 1ULL << 20},
    {"GIB", 1ULL << 30},
    {"TIB", 1ULL << 40},
    {"Kb", 125ULL},
    {"Mb", 125000ULL},
    {"Gb", 125000000ULL},
    {"Tb", 125000000000ULL},
    {"KIb", 1ULL << 7},
    {"MIb", 1ULL << 17},
    {"GIb", 1ULL << 27},
    {"TIb", 1ULL << 37},
}};

constexpr const char* kUnitList =
    "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, Kb, Mb, Gb, Tb, KIb, MIb, GIb, TIb";

struct SizeText {
  std::string_view integer_digits;   // may be empty (".5")
  std::string_view fraction_digits;  // empty when there is no '.'
  std::string_view unit;             // ASCII letters, may be empty
};

// Matches `([0-9]*\.?[0-9]+)([A-Za-z]*)` in full.
bool split_size_text(std::string_view text, SizeText& out) {
  std::size_t pos = 0;
  while (pos < text.size() && text::is_ascii_digit(text[pos]))
    ++pos;
  out.integer_digits = text.substr(0, pos);
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < text.size() && text::is_ascii_digit(text[pos]))
      ++pos;
    out.fraction_digits = text.substr(start, pos - start);
    if (out.fraction_digits.empty()) return false;
  } else if (out.integer_digits.empty()) {
    return false;
  }
  out.unit = text.substr(pos);
  return std::all_of(out.unit.begin(), out.unit.end(), text::is_ascii_letter);
}

// Upstream's canonical unit: an all-lower-case unit is upper-cased (lower case means bytes);
// otherwise every letter but the last is upper-cased and the last keeps its case (b = bits).
std::string canonical_unit(std::string_view unit) {
  std::string result(unit);
  if (result.size() < 2) return result;
  const bool all_lower = std::all_of(result.begin(), result.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c));
  });
  const std::size_t upper_count = all_lower ? result.size() : result.size() - 1;
  for (std::size_t i = 0; i < upper_count; ++i) {
    result[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(result[i])));
  }
  return result;
}

std::uint64_t unit_bytes(std::string_view raw_unit) {
  if (raw_unit.empty()) return 1;
  const std::string unit = canonical_unit(raw_unit);
  for (const Unit& candidate : kUnits) {
    if (candidate.name == unit) return candidate.bytes;
  }
  throw ValueError(fmt::format("unknown unit: {}, should be one of {}", unit, kUnitList));
}

// floor(0.<digits> x factor) and whether a remainder is left, by schoolbook multiplication from
// the least significant digit: the carry out of the last (most significant) position is exactly
// the integer part. The carry stays below 10 x factor, far from overflow, for any digit count.
std::uint64_t fraction_times(std::string_view digits, std::uint64_t factor, bool& has_remainder) {
  std::uint64_t carry = 0;
  has_remainder = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    const std::uint64_t product = static_cast<std::uint64_t>(*it - '0') * factor + carry;
    if (product % 10 != 0) has_remainder = true;
    carry = product / 10;
  }
  return carry;
}

// JSON type names for the type error; upstream printed Python class reprs (not kept).
const char* json_kind(const Json& value) {
  if (value.is_boolean()) return "boolean";
  if (value.is_number_float()) return "float";
  if (value.is_array()) return "array";
  return value.type_name();  // "null", "object", ...
}

}  // namespace

std::string normalize_vram_text(std::string_view text) {
  std::string result(text::trim_python(text));
  std::erase(result, ' ');
  return result;
}

std::uint64_t parse_vram_bytes(std::string_view raw) {
  const std::string text = normalize_vram_text(raw);
  SizeText parts;
  if (!split_size_text(text, parts)) {
    throw ValueError(fmt::format("invalid format: {}, should be like '1000 MB'", text));
  }
  const std::uint64_t factor = unit_bytes(parts.unit);

  std::string_view integer = parts.integer_digits;
  integer.remove_prefix(std::min(integer.find_first_not_of('0'), integer.size()));
  // Every factor is at least 1, so an integer part above the cap / factor is over the cap; this
  // also rejects arbitrarily long digit strings before any conversion.
  const std::uint64_t integer_limit = kMaxVramBytes / factor;
  if (text::compare_magnitude(integer, integer_limit) > 0) throw ValueError(kTooLarge);
  const std::uint64_t whole = text::magnitude_saturating(integer, integer_limit) * factor;

  std::string_view fraction = parts.fraction_digits;
  fraction.remove_suffix(fraction.size() - (fraction.find_last_not_of('0') + 1));
  bool has_remainder = false;
  const std::uint64_t fraction_bytes = fraction_times(fraction, factor, has_remainder);

  const std::uint64_t bytes = whole + fraction_bytes;  // both <= 2^50 + 2^40: no overflow
  if (bytes > kMaxVramBytes || (bytes == kMaxVramBytes && has_remainder)) {
    throw ValueError(kTooLarge);
  }
  return bytes;
}

std::uint64_t parse_vram_elements(std::string_view text) {
  const std::uint64_t elements = parse_vram_bytes(text) / 4;
  if (elements == 0) throw ValueError(kTooSmall);
  return elements;
}

std::uint64_t vram_elements_from_bytes(long long bytes) {
  if (bytes > static_cast<long long>(kMaxVramBytes)) throw ValueError(kTooLarge);
  if (bytes < 4) throw ValueError(kTooSmall);
  return static_cast<std::uint64_t>(bytes) / 4;
}

bool is_valid_vram(std::string_view text) {
  try {
    parse_vram_elements(text);
    return true;
  } catch (const ValueError&) {
    return false;
  }
}

std::uint64_t parse_vram_elements_json(const Json& given) {
  const Json value = json::saturated(given);  // a huge integer fails the range check
  if (value.is_string()) return parse_vram_elements(value.get_ref<const std::string&>());
  if (value.is_number_unsigned()) {
    const auto bytes = value.get<std::uint64_t>();
    if (bytes > kMaxVramBytes) throw ValueError(kTooLarge);
    return vram_elements_from_bytes(static_cast<long long>(bytes));
  }
  if (value.is_number_integer()) return vram_elements_from_bytes(value.get<std::int64_t>());
  throw TypeError(fmt::format("vram_to_keep must be str or int bytes, got {}", json_kind(value)));
}

std::string format_bytes(std::uint64_t bytes) {
  constexpr double kMiB = 1024.0 * 1024.0;
  constexpr double kGiB = 1024.0 * kMiB;
  if (bytes == 0) return "0 B";
  if (bytes >= (1ULL << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / kGiB);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / kMiB);
}

}  // namespace keepgpu::core
