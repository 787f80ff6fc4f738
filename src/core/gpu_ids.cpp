#include "core/gpu_ids.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <set>
#include "core/json.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

namespace keepgpu::core {
namespace {

constexpr const char* kEmptyList = "gpu_ids must select at least one GPU";
constexpr const char* kTooMany = "gpu_ids has too many items";
constexpr const char* kNegative = "gpu_ids must contain non-negative integers";
constexpr const char* kDuplicate = "gpu_ids must not contain duplicate values";
constexpr const char* kNotList = "gpu_ids must be a list of integers";

constexpr auto kInt64Max =
    static_cast<unsigned long long>(std::numeric_limits<std::int64_t>::max());

std::int64_t saturated_value(const text::IntegerToken& token) {
  // Saturating at INT64_MAX keeps the magnitude representable; -INT64_MAX is as negative as needed.
  const auto magnitude =
      static_cast<std::int64_t>(text::magnitude_saturating(token.digits, kInt64Max));
  return token.negative ? -magnitude : magnitude;
}

// The validated tokens of `--gpu-ids` text (views into `raw`): non-negative, no duplicates.
std::vector<text::IntegerToken> validated_tokens(std::string_view raw) {
  const std::string_view trimmed = text::trim_python(raw);
  if (trimmed.empty()) {
    throw ValueError("gpu_ids must not be empty; omit --gpu-ids to use all visible GPUs");
  }
  std::vector<text::IntegerToken> tokens;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = trimmed.find(',', start);
    const std::string_view piece = text::trim_python(
        trimmed.substr(start, comma == std::string_view::npos ? comma : comma - start));
    const auto token = text::parse_integer_token(piece);
    if (!token || token->is_signed_zero()) {
      throw ValueError(fmt::format(
          "Invalid characters in --gpu-ids '{}'. Use comma-separated visible ordinals.", raw));
    }
    tokens.push_back(*token);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (tokens.size() > kMaxGpuIds) throw ValueError(kTooMany);
  std::set<std::string_view> seen;
  for (const auto& token : tokens) {
    if (token.negative) throw ValueError(kNegative);
  }
  for (const auto& token : tokens) {
    // Compared on the significant digits, so "0,00" is a duplicate and two different huge values
    // that saturate to the same int64 are not.
    if (!seen.insert(token.digits).second) throw ValueError(kDuplicate);
  }
  return tokens;
}

}  // namespace

std::vector<std::int64_t> parse_gpu_ids_text(std::string_view raw) {
  std::vector<std::int64_t> ids;
  for (const auto& token : validated_tokens(raw))
    ids.push_back(saturated_value(token));
  return ids;
}

std::vector<std::string> parse_gpu_id_digits(std::string_view raw) {
  std::vector<std::string> digits;
  for (const auto& token : validated_tokens(raw))
    digits.emplace_back(token.is_zero() ? std::string_view("0") : token.digits);
  return digits;
}

std::vector<std::int64_t> validate_gpu_ids(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) throw ValueError(kEmptyList);
  if (ids.size() > kMaxGpuIds) throw ValueError(kTooMany);
  for (const auto id : ids) {
    if (id < 0) throw ValueError(kNegative);
  }
  std::set<std::int64_t> seen;
  for (const auto id : ids) {
    if (!seen.insert(id).second) throw ValueError(kDuplicate);
  }
  return ids;
}

std::optional<std::vector<std::int64_t>> validate_gpu_ids_json(const Json& value) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_array()) throw ValueError(kNotList);
  if (value.empty()) throw ValueError(kEmptyList);
  if (value.size() > kMaxGpuIds) throw ValueError(kTooMany);
  std::vector<std::int64_t> ids;
  std::set<std::uint64_t> seen;
  std::vector<Json> items;  // huge integers saturated, so they fail the range checks
  items.reserve(value.size());
  for (const auto& given : value) {
    const Json& item = items.emplace_back(json::saturated(given));
    if (!item.is_number_integer()) throw ValueError(kNegative);
    if (!item.is_number_unsigned() && item.get<std::int64_t>() < 0) throw ValueError(kNegative);
  }
  for (const auto& item : items) {
    const auto exact = item.get<std::uint64_t>();
    if (!seen.insert(exact).second) throw ValueError(kDuplicate);
    ids.push_back(static_cast<std::int64_t>(std::min<std::uint64_t>(exact, kInt64Max)));
  }
  return ids;
}

std::string format_id_list(const std::vector<std::int64_t>& ids) {
  return fmt::format("[{}]", fmt::join(ids, ", "));
}

}  // namespace keepgpu::core
