// Keep-alive interval values, with one cap (the same in the CLI, the API and the tool schema)
// that keeps a steady_clock deadline from overflowing. An
// interval keeps its JSON kind: integers stay integers and fractional seconds stay doubles, so
// echoes and logs print what the user gave ("5", "0.5", "1e-05").
#pragma once

#include "core/json.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace keepgpu::core {

// Integer part of CPython's threading.TIMEOUT_MAX on 64-bit Linux; kept by upstream as the cap.
inline constexpr std::int64_t kMaxIntervalSeconds = 9223372036;

struct Interval {
  bool integral = true;
  std::int64_t integer = 0;  // meaningful when integral
  double real = 0.0;         // meaningful when !integral

  double seconds() const { return integral ? static_cast<double>(integer) : real; }
  // Decimal integer, or Python's repr() of the double.
  std::string to_string() const;

  friend bool operator==(const Interval&, const Interval&) = default;
};

// The CLI token grammar: trimmed, `-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`,
// integer tokens exact, others as IEEE doubles, integral doubles become integers.
Interval parse_interval_text(std::string_view token);

// API layer: a double keeps its kind (even 5.0). NaN/inf, <= 0 and > cap are errors.
Interval validate_interval(double seconds);

// API layer: an integer value.
Interval validate_interval_integer(long long seconds);

// API layer: any JSON value; booleans, strings and other non-numbers are "finite and positive"
// errors, as upstream.
Interval validate_interval_json(const Json& value);

// Python's repr() of a float: shortest round-trip digits, positional for decimal exponents in
// [-4, 16), scientific otherwise with a signed two-digit-minimum exponent; "inf", "nan".
std::string python_float_repr(double value);

}  // namespace keepgpu::core
