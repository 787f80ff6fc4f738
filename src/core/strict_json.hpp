// Strict JSON decoding for every input boundary (service requests, service responses, PID files).
// nlohmann's own parser accepts duplicate keys silently, has no depth limit and treats numeric
// overflow as a parse error, so inputs are decoded here instead (RFC 8259, nothing more).
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "core/errors.hpp"

namespace keepgpu::core {

// A malformed document. Messages follow Python's json module where it has one ("Expecting
// value: line 1 column 1 (char 0)", "Extra data: ...", "invalid JSON constant: NaN"); positions
// count code points, as Python does.
class JsonDecodeError : public ValueError {
 public:
  using ValueError::ValueError;
};

// Upstream's parsers (service and CLI) let the last occurrence of a duplicate key win;
// boundaries that must stay byte-compatible with upstream clients pass last_wins explicitly.
enum class DuplicateKeys {
  reject,     // an object naming the same key twice is an error (the default here)
  last_wins,  // upstream Python's behaviour: the last occurrence replaces earlier ones
};

struct StrictJsonOptions {
  int max_depth = 64;  // arrays and objects nested deeper than this are rejected
  DuplicateKeys duplicate_keys = DuplicateKeys::reject;
};

// Rejects invalid UTF-8, a byte order mark, NaN/Infinity literals, comments, trailing commas,
// leading zeros, raw control characters in strings, lone surrogate escapes, duplicate keys,
// nesting deeper than max_depth and trailing data.
//
// Numbers: a literal with '.', 'e' or 'E' is a float (overflow reads as +-infinity, not an error);
// any other literal is an integer, kept exact within int64/uint64 and saturated beyond (to
// UINT64_MAX or INT64_MIN), so range checks on huge integers still fail the right way.
nlohmann::json parse_strict_json(std::string_view text, int max_depth = 64);
nlohmann::json parse_strict_json(std::string_view text, const StrictJsonOptions& options);

}  // namespace keepgpu::core
