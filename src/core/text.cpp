#include "core/text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace keepgpu::core::text {
namespace {

// For a token that from_chars reported out of range: true when its magnitude is >= 1 (so it
// overflowed), false when it underflowed. Uses the decimal exponent of the first significant
// digit, saturating so that exponents of any length are safe.
bool magnitude_at_least_one(std::string_view token) {
  if (!token.empty() && token.front() == '-') token.remove_prefix(1);
  const std::size_t exponent_at = token.find_first_of("eE");
  const std::string_view mantissa = token.substr(0, exponent_at);
  long long exponent = 0;
  if (exponent_at != std::string_view::npos) {
    std::string_view digits = token.substr(exponent_at + 1);
    bool negative = false;
    if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
      negative = digits.front() == '-';
      digits.remove_prefix(1);
    }
    constexpr long long kSaturate = 1LL << 40;
    for (char c : digits)
      exponent = std::min(kSaturate, exponent * 10 + (c - '0'));
    if (negative) exponent = -exponent;
  }
  const std::size_t point = std::min(mantissa.find('.'), mantissa.size());
  const std::size_t first_significant = mantissa.find_first_not_of("0.");
  if (first_significant == std::string_view::npos) return false;  // zero never overflows
  // Decimal exponent of the first significant digit within the mantissa ("d.ddd" is 0).
  const long long position = first_significant < point
                                 ? static_cast<long long>(point - first_significant) - 1
                                 : -static_cast<long long>(first_significant - point);
  return position + exponent >= 0;
}

}  // namespace

std::string python_repr(std::string_view utf8) {
  // Python prefers single quotes and switches to double quotes only to avoid escaping a quote.
  const bool has_single = utf8.find('\'') != std::string_view::npos;
  const bool has_double = utf8.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const std::size_t start = pos;
    const auto cp = decode_utf8(utf8, pos);
    if (!cp) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(utf8[start]));
      continue;
    }
    const char32_t c = *cp;
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
    } else {
      out.append(utf8.substr(start, pos - start));
    }
  }
  return out + quote;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

void append_utf8(std::string& out, char32_t code_point) {
  const auto byte = [](char32_t bits) { return static_cast<char>(bits); };
  if (code_point < 0x80) {
    out += byte(code_point);
  } else if (code_point < 0x800) {
    out += byte(0xC0 | (code_point >> 6));
    out += byte(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += byte(0xE0 | (code_point >> 12));
    out += byte(0x80 | ((code_point >> 6) & 0x3F));
    out += byte(0x80 | (code_point & 0x3F));
  } else {
    out += byte(0xF0 | (code_point >> 18));
    out += byte(0x80 | ((code_point >> 12) & 0x3F));
    out += byte(0x80 | ((code_point >> 6) & 0x3F));
    out += byte(0x80 | (code_point & 0x3F));
  }
}

std::optional<char> json_simple_escape(char letter) {
  switch (letter) {
    case '"':
    case '\\':
    case '/':
      return letter;
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return std::nullopt;
  }
}

std::optional<char32_t> decode_utf8(std::string_view text, std::size_t& pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t length = 0;
  char32_t value = 0;
  char32_t minimum = 0;
  if (lead < 0x80) {
    ++pos;
    return lead;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1F;
    minimum = 0x80;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0F;
    minimum = 0x800;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07;
    minimum = 0x10000;
  } else {
    ++pos;
    return std::nullopt;
  }
  if (pos + length > text.size()) {
    ++pos;
    return std::nullopt;
  }
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(pos + i);
    if ((next & 0xC0) != 0x80) {
      ++pos;
      return std::nullopt;
    }
    value = (value << 6) | (next & 0x3F);
  }
  // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not valid UTF-8.
  if (value < minimum || (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
    ++pos;
    return std::nullopt;
  }
  pos += length;
  return value;
}

bool is_valid_utf8(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!decode_utf8(text, pos)) return false;
  }
  return true;
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::string_view trim_python(std::string_view text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t next = begin;
    const auto code_point = decode_utf8(text, next);
    if (!code_point || !is_python_space(*code_point)) break;
    begin = next;
  }
  std::size_t end = text.size();
  while (end > begin) {
    // Step back over continuation bytes to the start of the last code point (at most 4 bytes).
    std::size_t start = end - 1;
    while (start > begin && end - start < 4 &&
           (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
      --start;
    }
    std::size_t next = start;
    const auto code_point = decode_utf8(text, next);
    if (!code_point || next != end || !is_python_space(*code_point)) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

std::optional<IntegerToken> parse_integer_token(std::string_view text) {
  IntegerToken token;
  if (!text.empty() && text.front() == '-') {
    token.negative = true;
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (!is_ascii_digit(c)) return std::nullopt;
  }
  const std::size_t first = text.find_first_not_of('0');
  token.digits = first == std::string_view::npos ? std::string_view{} : text.substr(first);
  return token;
}

int compare_magnitude(std::string_view digits, unsigned long long limit) {
  const std::string limit_text = std::to_string(limit);
  if (digits.size() != limit_text.size()) return digits.size() < limit_text.size() ? -1 : 1;
  return digits.compare(limit_text);
}

unsigned long long magnitude_saturating(std::string_view digits, unsigned long long ceiling) {
  if (compare_magnitude(digits, ceiling) >= 0) return ceiling;
  unsigned long long value = 0;
  for (char c : digits)
    value = value * 10 + static_cast<unsigned long long>(c - '0');
  return value;
}

double parse_decimal_double(std::string_view token) {
  double value = 0.0;
  const char* const end = token.data() + token.size();
  const auto result = std::from_chars(token.data(), end, value);
  if (result.ptr != end ||
      (result.ec != std::errc() && result.ec != std::errc::result_out_of_range)) {
    throw std::invalid_argument("malformed decimal number");
  }
  if (result.ec == std::errc::result_out_of_range) {
    const bool negative = token.front() == '-';
    const double magnitude =
        magnitude_at_least_one(token) ? std::numeric_limits<double>::infinity() : 0.0;
    value = negative ? -magnitude : magnitude;
  }
  return value;
}

std::optional<std::string> utf8_decode_error(std::string_view bytes) {
  // Follows CPython's UTF-8 decoder: which bytes it blames and the reason it gives.
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const auto is_cont = [](unsigned char b) { return (b & 0xC0) == 0x80; };
  const std::size_t end = bytes.size();
  std::size_t s = 0;
  const char* reason = nullptr;
  std::size_t bad_start = 0;
  std::size_t bad_end = 0;  // exclusive
  while (s < end) {
    const unsigned char ch = at(s);
    if (ch < 0x80) {
      ++s;
      continue;
    }
    std::size_t length = 0;
    if (ch >= 0xC2 && ch < 0xE0) {
      length = 2;
    } else if (ch >= 0xE0 && ch < 0xF0) {
      length = 3;
    } else if (ch >= 0xF0 && ch < 0xF5) {
      length = 4;
    } else {
      reason = "invalid start byte";
      bad_start = s;
      bad_end = s + 1;
      break;
    }
    // Number of valid bytes so far (1 = only the lead byte); stop at the first invalid one.
    std::size_t valid = 1;
    while (valid < length && s + valid < end) {
      const unsigned char b = at(s + valid);
      bool ok = is_cont(b);
      if (ok && valid == 1) {
        if (ch == 0xE0) ok = b >= 0xA0;  // overlong
        if (ch == 0xED) ok = b < 0xA0;   // surrogates
        if (ch == 0xF0) ok = b >= 0x90;  // overlong
        if (ch == 0xF4) ok = b < 0x90;   // beyond U+10FFFF
      }
      if (!ok) break;
      ++valid;
    }
    if (valid == length) {
      s += length;
      continue;
    }
    bad_start = s;
    if (s + valid == end) {
      reason = "unexpected end of data";
      bad_end = end;
    } else {
      reason = "invalid continuation byte";
      bad_end = s + valid;
    }
    break;
  }
  if (reason == nullptr) return std::nullopt;
  if (bad_end - bad_start == 1) {
    return fmt::format("'utf-8' codec can't decode byte 0x{:02x} in position {}: {}", at(bad_start),
                       bad_start, reason);
  }
  return fmt::format("'utf-8' codec can't decode bytes in position {}-{}: {}", bad_start,
                     bad_end - 1, reason);
}

}  // namespace keepgpu::core::text
