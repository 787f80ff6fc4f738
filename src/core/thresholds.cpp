#include "core/thresholds.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include "core/json.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"
#include "core/unicode_class.hpp"
#include "core/vram.hpp"

namespace keepgpu::core {
namespace {

constexpr const char* kBusyMessage = "busy_threshold must be -1 or an integer between 0 and 100";
constexpr const char* kUtilTargetMessage = "util_target must be an integer between 0 and 100";
constexpr const char* kLegacyNumeric =
    "threshold must be an integer utilization value or a VRAM size";

// An integer token that is not a signed zero, as an int (saturated). Tokens of any length work.
std::optional<int> integer_value(std::string_view token_text) {
  const auto token = text::parse_integer_token(token_text);
  if (!token || token->is_signed_zero()) return std::nullopt;
  const auto magnitude = static_cast<long long>(
      text::magnitude_saturating(token->digits, static_cast<unsigned long long>(INT_MAX) + 1));
  const long long value = token->negative ? -magnitude : magnitude;
  if (value > INT_MAX) return INT_MAX;
  return static_cast<int>(value);
}

bool looks_numeric(std::string_view text) {
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) return true;
  if (text.find_first_of("_.") != std::string_view::npos) return true;
  return text::contains_unicode_digit(text);
}

}  // namespace

int validate_busy_threshold(long long value) {
  if (value != -1 && (value < 0 || value > 100)) throw ValueError(kBusyMessage);
  return static_cast<int>(value);
}

int parse_busy_threshold_text(std::string_view text) {
  const auto value = integer_value(text::trim_python(text));
  if (!value) throw ValueError(kBusyMessage);
  return validate_busy_threshold(*value);
}

namespace {

// A JSON integer (not a boolean, not 25.0) checked by `validate`; a huge one saturates, so it
// fails the range check with the same message.
int validated_json_percent(const Json& given, const char* message, int (*validate)(long long)) {
  const Json value = json::saturated(given);
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() > 100) throw ValueError(message);
    return static_cast<int>(value.get<std::uint64_t>());
  }
  if (!value.is_number_integer()) throw ValueError(message);
  return validate(value.get<std::int64_t>());
}

}  // namespace

int validate_busy_threshold_json(const Json& given) {
  return validated_json_percent(given, kBusyMessage, validate_busy_threshold);
}

int validate_util_target(long long value) {
  if (value < 0 || value > 100) throw ValueError(kUtilTargetMessage);
  return static_cast<int>(value);
}

int parse_util_target_text(std::string_view text) {
  const auto value = integer_value(text::trim_python(text));
  if (!value) throw ValueError(kUtilTargetMessage);
  return validate_util_target(*value);
}

int validate_util_target_json(const Json& given) {
  return validated_json_percent(given, kUtilTargetMessage, validate_util_target);
}

std::optional<double> foreign_utilization(std::optional<double> reading, double own_percent) {
  if (!reading) return std::nullopt;
  return std::max(0.0, *reading - own_percent);
}

LegacyThreshold classify_legacy_threshold(std::string_view raw) {
  const std::string_view trimmed = text::trim_python(raw);
  if (const auto value = integer_value(trimmed)) {
    return LegacyThreshold{LegacyThreshold::Kind::busy, *value, {}};
  }
  if (is_valid_vram(trimmed))
    return LegacyThreshold{LegacyThreshold::Kind::vram, 0, std::string(raw)};
  if (text::contains_unicode_letter(trimmed)) {
    parse_vram_elements(trimmed);  // throws the VRAM message for the trimmed text
  }
  if (looks_numeric(trimmed)) throw ValueError(kLegacyNumeric);
  return LegacyThreshold{LegacyThreshold::Kind::vram, 0, std::string(raw)};
}

std::optional<double> normalize_utilization(double utilization) {
  if (!std::isfinite(utilization) || utilization < 0 || utilization > 100) return std::nullopt;
  return utilization;
}

bool should_run_batch(std::optional<double> utilization, int threshold) {
  if (threshold < 0) return true;
  const auto usable = utilization ? normalize_utilization(*utilization) : std::nullopt;
  return usable && *usable <= threshold;
}

std::optional<std::uint64_t> normalize_memory_json(const Json& given) {
  const Json value = json::saturated(given);  // a huge integer fails the range check
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer()) {
    const auto bytes = value.get<std::int64_t>();
    if (bytes >= 0) return static_cast<std::uint64_t>(bytes);
  }
  return std::nullopt;
}

bool is_valid_memory_field(const Json& value) {
  return value.is_null() || normalize_memory_json(value).has_value();
}

bool is_valid_memory_pair(const Json& total, const Json& used) {
  if (!is_valid_memory_field(total) || !is_valid_memory_field(used)) return false;
  return total.is_null() || used.is_null() ||
         *normalize_memory_json(used) <= *normalize_memory_json(total);
}

}  // namespace keepgpu::core
