#include "core/interval.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include "core/json.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

namespace keepgpu::core {
namespace {

constexpr const char* kNotFinite = "interval must be finite and positive";
constexpr const char* kNotPositive = "interval must be positive";
constexpr const char* kTooLarge = "interval must be no more than 9223372036 seconds";

std::size_t skip_digits(std::string_view text, std::size_t pos) {
  while (pos < text.size() && text::is_ascii_digit(text[pos]))
    ++pos;
  return pos;
}

// Full match of `-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?`.
bool matches_interval_grammar(std::string_view text) {
  std::size_t pos = 0;
  if (pos < text.size() && text[pos] == '-') ++pos;
  const std::size_t integer_end = skip_digits(text, pos);
  const bool has_integer = integer_end > pos;
  pos = integer_end;
  if (pos < text.size() && text[pos] == '.') {
    const std::size_t fraction_end = skip_digits(text, pos + 1);
    if (!has_integer && fraction_end == pos + 1) return false;
    pos = fraction_end;
  } else if (!has_integer) {
    return false;
  }
  if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
    const std::size_t exponent_end = skip_digits(text, pos);
    if (exponent_end == pos) return false;
    pos = exponent_end;
  }
  return pos == text.size();
}

Interval checked_double(double value) {
  if (!std::isfinite(value)) throw ValueError(kNotFinite);
  if (value <= 0) throw ValueError(kNotPositive);
  if (value > static_cast<double>(kMaxIntervalSeconds)) throw ValueError(kTooLarge);
  return Interval{false, 0, value};
}

}  // namespace

std::string Interval::to_string() const {
  return integral ? std::to_string(integer) : python_float_repr(real);
}

Interval parse_interval_text(std::string_view raw) {
  const std::string_view token = text::trim_python(raw);
  if (!matches_interval_grammar(token)) throw ValueError(kNotFinite);

  if (const auto integer = text::parse_integer_token(token)) {
    // Exact integer rules: any length, no conversion before the range checks.
    if (integer->negative || integer->is_zero()) throw ValueError(kNotPositive);
    if (text::compare_magnitude(integer->digits, kMaxIntervalSeconds) > 0) {
      throw ValueError(kTooLarge);
    }
    return Interval{true,
                    static_cast<std::int64_t>(text::magnitude_saturating(
                        integer->digits, static_cast<unsigned long long>(kMaxIntervalSeconds))),
                    0.0};
  }

  const double value = text::parse_decimal_double(token);
  const Interval checked = checked_double(value);
  // A double with no fractional part is forwarded as an integer (5.0 -> 5, 1e+3 -> 1000).
  if (std::trunc(value) == value) {
    return Interval{true, static_cast<std::int64_t>(value), 0.0};
  }
  return checked;
}

Interval validate_interval(double seconds) {
  return checked_double(seconds);
}

Interval validate_interval_integer(long long seconds) {
  if (seconds <= 0) throw ValueError(kNotPositive);
  if (seconds > kMaxIntervalSeconds) throw ValueError(kTooLarge);
  return Interval{true, seconds, 0.0};
}

Interval validate_interval_json(const Json& given) {
  const Json value = json::saturated(given);  // a huge integer fails the range check
  if (value.is_number_unsigned()) {
    if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxIntervalSeconds)) {
      throw ValueError(kTooLarge);
    }
    return validate_interval_integer(static_cast<long long>(value.get<std::uint64_t>()));
  }
  if (value.is_number_integer()) return validate_interval_integer(value.get<std::int64_t>());
  if (value.is_number_float()) return validate_interval(value.get<double>());
  throw ValueError(kNotFinite);
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";

  // Shortest round-trip digits in scientific form ("1.5e-300", "5e-01", "0e+00").
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(result.ptr - buffer));
  const bool negative = text.front() == '-';
  const std::size_t e_at = text.find('e');
  std::string digits;
  for (char c : text.substr(negative ? 1 : 0, e_at - (negative ? 1 : 0))) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(text.substr(e_at + 1)).c_str());

  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      // Appends rather than operator+ chains: g++ 12 -O3 raises a false -Wrestrict on those.
      out.append("0.");
      out.append(static_cast<std::size_t>(-exponent - 1), '0');
      out.append(digits);
    } else {
      const auto integer_length = static_cast<std::size_t>(exponent) + 1;
      if (digits.size() <= integer_length) {
        out.append(digits);
        out.append(integer_length - digits.size(), '0');
        out.append(".0");
      } else {
        out.append(digits, 0, integer_length);
        out.push_back('.');
        out.append(digits, integer_length, std::string::npos);
      }
    }
    return out;
  }
  out.append(digits, 0, 1);
  if (digits.size() > 1) {
    out.push_back('.');
    out.append(digits, 1, std::string::npos);
  }
  const int magnitude = exponent < 0 ? -exponent : exponent;
  out += exponent < 0 ? "e-" : "e+";
  if (magnitude < 10) out += '0';
  out += std::to_string(magnitude);
  return out;
}

}  // namespace keepgpu::core
