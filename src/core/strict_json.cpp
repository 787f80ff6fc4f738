#include "core/strict_json.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/text.hpp"

namespace keepgpu::core {
namespace {

class Parser {
 public:
  Parser(std::string_view text, const StrictJsonOptions& options)
      : text_(text), options_(options) {}

  nlohmann::json parse_document() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
      fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    }
    skip_whitespace();
    nlohmann::json value = parse_value();
    skip_whitespace();
    if (pos_ != text_.size()) fail("Extra data", pos_);
    return value;
  }

 private:
  // Python's json positions: 1-based line and column, 0-based character index, all counted in
  // code points (the input is valid UTF-8 by now).
  [[noreturn]] void fail(std::string_view what, std::size_t at) const {
    std::size_t line = 1;
    std::size_t chars = 0;
    std::size_t chars_at_line_start = 0;
    for (std::size_t i = 0; i < at && i < text_.size(); ++i) {
      const auto byte = static_cast<unsigned char>(text_[i]);
      if ((byte & 0xC0) == 0x80) continue;
      ++chars;
      if (byte == '\n') {
        ++line;
        chars_at_line_start = chars;
      }
    }
    throw JsonDecodeError(fmt::format("{}: line {} column {} (char {})", what, line,
                                      chars - chars_at_line_start + 1, chars));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }

  bool starts_with(std::string_view word) const { return text_.substr(pos_, word.size()) == word; }

  nlohmann::json parse_value() {
    switch (peek()) {
      case '{':
        return parse_object();
      case '[':
        return parse_array();
      case '"':
        return parse_string();
      default:
        break;
    }
    if (starts_with("true")) return literal(4, true);
    if (starts_with("false")) return literal(5, false);
    if (starts_with("null")) return literal(4, nullptr);
    for (std::string_view constant : {"NaN", "Infinity", "-Infinity"}) {
      if (starts_with(constant)) {
        throw JsonDecodeError(fmt::format("invalid JSON constant: {}", constant));
      }
    }
    if (peek() == '-' || text::is_ascii_digit(peek())) return parse_number();
    fail("Expecting value", pos_);
  }

  nlohmann::json literal(std::size_t length, nlohmann::json value) {
    pos_ += length;
    return value;
  }

  void enter(std::size_t at) {
    if (++depth_ > options_.max_depth) {
      fail(fmt::format("JSON nesting exceeds the maximum depth of {}", options_.max_depth), at);
    }
  }

  nlohmann::json parse_object() {
    const std::size_t start = pos_;
    enter(start);
    ++pos_;
    nlohmann::json object = nlohmann::json::object();
    skip_whitespace();
    if (peek() == '}') {
      ++pos_;
      --depth_;
      return object;
    }
    while (true) {
      if (peek() != '"') fail("Expecting property name enclosed in double quotes", pos_);
      const std::size_t key_at = pos_;
      std::string key = parse_string();
      skip_whitespace();
      if (peek() != ':') fail("Expecting ':' delimiter", pos_);
      ++pos_;
      skip_whitespace();
      nlohmann::json value = parse_value();
      if (object.contains(key) && options_.duplicate_keys == DuplicateKeys::reject) {
        fail(fmt::format("duplicate object key {}", nlohmann::json(key).dump()), key_at);
      }
      object[std::move(key)] = std::move(value);
      skip_whitespace();
      if (peek() == '}') break;
      if (peek() != ',') fail("Expecting ',' delimiter", pos_);
      ++pos_;
      skip_whitespace();
    }
    ++pos_;
    --depth_;
    return object;
  }

  nlohmann::json parse_array() {
    enter(pos_);
    ++pos_;
    nlohmann::json array = nlohmann::json::array();
    skip_whitespace();
    if (peek() == ']') {
      ++pos_;
      --depth_;
      return array;
    }
    while (true) {
      array.push_back(parse_value());
      skip_whitespace();
      if (peek() == ']') break;
      if (peek() != ',') fail("Expecting ',' delimiter", pos_);
      ++pos_;
      skip_whitespace();
    }
    ++pos_;
    --depth_;
    return array;
  }

  unsigned hex4(std::size_t at) const {
    unsigned value = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const char c = at + i < text_.size() ? text_[at + i] : '\0';
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        value |= static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        value |= static_cast<unsigned>(c - 'A' + 10);
      } else {
        fail("Invalid \\uXXXX escape", at - 1);
      }
    }
    return value;
  }

  // A \uXXXX escape (pos_ at the 'u'), combining surrogate pairs. Lone surrogates cannot be
  // stored as UTF-8, so they are rejected rather than silently replaced.
  char32_t parse_unicode_escape() {
    const std::size_t escape_at = pos_ - 1;
    const unsigned first = hex4(pos_ + 1);
    pos_ += 5;
    if (first >= 0xDC00 && first <= 0xDFFF) fail("Lone surrogate in \\u escape", escape_at);
    if (first < 0xD800 || first > 0xDBFF) return first;
    if (!starts_with("\\u")) fail("Lone surrogate in \\u escape", escape_at);
    const unsigned second = hex4(pos_ + 2);
    if (second < 0xDC00 || second > 0xDFFF) fail("Lone surrogate in \\u escape", escape_at);
    pos_ += 6;
    return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
  }

  std::string parse_string() {
    const std::size_t start = pos_;
    ++pos_;
    std::string out;
    while (true) {
      if (at_end()) fail("Unterminated string starting at", start);
      const char c = text_[pos_];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) fail("Invalid control character at", pos_);
      if (c != '\\') {
        out += c;
        ++pos_;
        continue;
      }
      ++pos_;
      if (at_end()) fail("Unterminated string starting at", start);
      if (const auto plain = text::json_simple_escape(text_[pos_])) {
        out += *plain;
        ++pos_;
        continue;
      }
      switch (text_[pos_]) {
        case 'u':
          text::append_utf8(out, parse_unicode_escape());
          continue;
        default:
          fail("Invalid \\escape", pos_ - 1);
      }
      ++pos_;
    }
    ++pos_;
    return out;
  }

  std::size_t skip_digits(std::size_t at) const {
    while (at < text_.size() && text::is_ascii_digit(text_[at]))
      ++at;
    return at;
  }

  // Python's number pattern `-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`; whatever follows (a second
  // leading zero, a bare '.') is left for the caller to reject as the next token.
  nlohmann::json parse_number() {
    const std::size_t start = pos_;
    std::size_t at = pos_;
    if (text_[at] == '-') ++at;
    if (at >= text_.size() || !text::is_ascii_digit(text_[at])) fail("Expecting value", start);
    at = text_[at] == '0' ? at + 1 : skip_digits(at);
    bool is_float = false;
    if (at + 1 < text_.size() && text_[at] == '.' && text::is_ascii_digit(text_[at + 1])) {
      at = skip_digits(at + 1);
      is_float = true;
    }
    if (at < text_.size() && (text_[at] == 'e' || text_[at] == 'E')) {
      std::size_t exponent = at + 1;
      if (exponent < text_.size() && (text_[exponent] == '+' || text_[exponent] == '-')) {
        ++exponent;
      }
      if (exponent < text_.size() && text::is_ascii_digit(text_[exponent])) {
        at = skip_digits(exponent);
        is_float = true;
      }
    }
    pos_ = at;
    const std::string_view token = text_.substr(start, at - start);
    if (is_float) return text::parse_decimal_double(token);
    return integer_value(token);
  }

  static nlohmann::json integer_value(std::string_view token) {
    const auto parsed = text::parse_integer_token(token);
    constexpr auto kUnsignedMax = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t magnitude = text::magnitude_saturating(parsed->digits, kUnsignedMax);
    if (!parsed->negative) {
      if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(magnitude);
      }
      return magnitude;
    }
    // Magnitudes up to 2^63 fit a negative int64; larger ones saturate at INT64_MIN.
    constexpr std::uint64_t kMinMagnitude = 1ULL << 63;
    if (magnitude >= kMinMagnitude) return std::numeric_limits<std::int64_t>::min();
    return -static_cast<std::int64_t>(magnitude);
  }

  std::string_view text_;
  const StrictJsonOptions& options_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

nlohmann::json parse_strict_json(std::string_view text, const StrictJsonOptions& options) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t at = pos;
    if (!text::decode_utf8(text, pos)) {
      throw JsonDecodeError(fmt::format("invalid UTF-8 in JSON text at byte {}", at));
    }
  }
  return Parser(text, options).parse_document();
}

nlohmann::json parse_strict_json(std::string_view text, int max_depth) {
  return parse_strict_json(text, StrictJsonOptions{max_depth, DuplicateKeys::reject});
}

}  // namespace keepgpu::core
