// Prints JSON exactly as Python's json.dumps(obj, indent=2) does with its default ensure_ascii,
// so the JSON commands' stdout is byte-compatible with upstream: two-space
// indentation, ", " never at line ends, "[]" and "{}" on one line, every non-ASCII or control
// character as a lower-case \uXXXX escape (surrogate pairs above U+FFFF), floats in Python repr.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "cli/json_value.hpp"

namespace keepgpu::cli {

// A float that is infinite or NaN: Python would print Infinity/NaN, which is not JSON.
class NonFiniteNumber : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A JSON string literal with Python's ensure_ascii escaping; `utf8` must be valid UTF-8
// (malformed bytes become U+FFFD).
std::string json_quote(std::string_view utf8);

// json.dumps(value, indent=2), without a trailing newline. Throws NonFiniteNumber.
std::string dumps_indent2(const JsonValue& value);

// json.dumps(value) with the default separators ", " and ": ", on one line.
std::string dumps_compact(const JsonValue& value);

// {"error": message} in the indent=2 form.
std::string error_json(std::string_view message);

}  // namespace keepgpu::cli
