// Utilization rules: the busy threshold, the deprecated `--threshold` option, the utilization
// target, the backoff predicate and the telemetry normalisation it depends on.
#pragma once

#include "core/json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keepgpu::core {

// Trimmed integer token, not a signed zero, equal to -1 or within 0..100.
int parse_busy_threshold_text(std::string_view text);

// -1 or 0..100.
int validate_busy_threshold(long long value);

// API layer: only a JSON integer (not a boolean, not a float such as 25.0) is accepted.
int validate_busy_threshold_json(const Json& value);

// The utilization target: 0 (upstream's pattern, a ReLU batch every interval) or 1..100, the
// percent of every second in which the keeper's timed kernel runs while the GPU is otherwise
// idle. Text: a trimmed integer token; JSON: an integer only. ValueError otherwise.
int parse_util_target_text(std::string_view text);
int validate_util_target(long long value);
int validate_util_target_json(const Json& value);

// What other processes add to a utilization `reading` while the keeper itself presents
// `own_percent`: the busy decision must not count the keeper's own kernels, or a target above the
// threshold would make it back off from itself. nullopt stays nullopt (unreadable).
std::optional<double> foreign_utilization(std::optional<double> reading, double own_percent);

// Outcome of classifying a `--threshold` value.
struct LegacyThreshold {
  // Scoped so the enumerators do not clash with the `busy` and `vram` members.
  enum class Kind { busy, vram };
  Kind kind = Kind::busy;
  // For busy: the integer as given, saturated to INT_MIN/INT_MAX when out of int range, still to
  // be checked with validate_busy_threshold (after the VRAM option, in the root's validation
  // order).
  int busy = 0;
  // For vram: the original, untrimmed value that replaces `--vram`. It may still be invalid (text
  // with no letter and nothing numeric: empty, "%"), in which case VRAM validation reports it
  // later.
  std::string vram;
};

// Throws keepgpu::ValueError when the trimmed text is neither an integer nor a valid size: the
// VRAM message when it holds a letter, otherwise, when it looks numeric, "threshold must be an
// integer utilization value or a VRAM size".
LegacyThreshold classify_legacy_threshold(std::string_view raw);

// A utilization reading is usable only when finite and within 0..100.
std::optional<double> normalize_utilization(double utilization);

// The backoff predicate: threshold < 0 always runs; otherwise an unusable reading backs off and a
// usable one runs when utilization <= threshold.
bool should_run_batch(std::optional<double> utilization, int threshold);

// A memory counter in JSON: integers only; booleans, floats (even integral), strings and negatives
// are unusable.
std::optional<std::uint64_t> normalize_memory_json(const Json& value);

// Checking a service response: a memory field must be null or a non-negative integer.
bool is_valid_memory_field(const Json& value);

// Both fields valid and, when both are known, used <= total.
bool is_valid_memory_pair(const Json& total, const Json& used);

}  // namespace keepgpu::core
