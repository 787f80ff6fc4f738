#include "core/json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/interval.hpp"
#include "core/text.hpp"

namespace keepgpu::core::json {
namespace {

// The largest magnitude a negative int64 holds: 2^63.
constexpr std::uint64_t kMinMagnitude = 1ULL << 63;

class Parser {
 public:
  Parser(std::string_view text, const ReadOptions& options) : text_(text), options_(options) {}

  Json parse_document() {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") {
      fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    }
    skip_whitespace();
    Json value = parse_value();
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
    throw DecodeError(fmt::format("{}: line {} column {} (char {})", what, line,
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

  Json parse_value() {
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
        throw DecodeError(fmt::format("invalid JSON constant: {}", constant));
      }
    }
    if (peek() == '-' || text::is_ascii_digit(peek())) return parse_number();
    fail("Expecting value", pos_);
  }

  Json literal(std::size_t length, Json value) {
    pos_ += length;
    return value;
  }

  void enter(std::size_t at) {
    if (++depth_ > options_.max_depth) {
      fail(fmt::format("JSON nesting exceeds the maximum depth of {}", options_.max_depth), at);
    }
  }

  Json parse_object() {
    const std::size_t start = pos_;
    enter(start);
    ++pos_;
    Json object = Json::object();
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
      Json value = parse_value();
      if (object.contains(key) && options_.duplicate_keys == DuplicateKeys::reject) {
        fail(fmt::format("duplicate object key {}", quote(key)), key_at);
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

  Json parse_array() {
    enter(pos_);
    ++pos_;
    Json array = Json::array();
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
  Json parse_number() {
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
    return integer(token);
  }

  std::string_view text_;
  const ReadOptions& options_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

// ------------------------------------------------------------------------------- access

const Json* member(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(key);
  return found == object.end() ? nullptr : &*found;
}

bool truthy(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
    case Json::value_t::discarded:
      return false;
    case Json::value_t::boolean:
      return value.get<bool>();
    case Json::value_t::number_integer:
      return value.get<std::int64_t>() != 0;
    case Json::value_t::number_unsigned:
      return value.get<std::uint64_t>() != 0;
    case Json::value_t::number_float:
      return value.get<double>() != 0.0;
    case Json::value_t::binary:
      return true;  // a big integer is never zero
    case Json::value_t::string:
    case Json::value_t::array:
    case Json::value_t::object:
      return !value.empty() && !(value.is_string() && value.get_ref<const std::string&>().empty());
  }
  return false;
}

// ---------------------------------------------------------------------------- big integers

Json big_integer(std::string_view digits) {
  return Json::binary(std::vector<std::uint8_t>(digits.begin(), digits.end()), kBigIntegerSubtype);
}

bool is_big_integer(const Json& value) {
  if (!value.is_binary()) return false;
  const auto& bytes = value.get_binary();
  return bytes.has_subtype() && bytes.subtype() == kBigIntegerSubtype;
}

std::string big_integer_digits(const Json& value) {
  const auto& bytes = value.get_binary();
  return {bytes.begin(), bytes.end()};
}

Json integer(std::string_view token) {
  const auto parsed = text::parse_integer_token(token);
  if (!parsed) throw std::invalid_argument("not an integer: " + std::string(token));
  constexpr auto kUnsignedMax = std::numeric_limits<std::uint64_t>::max();
  if (text::compare_magnitude(parsed->digits, kUnsignedMax) > 0 ||
      (parsed->negative && text::compare_magnitude(parsed->digits, kMinMagnitude) > 0)) {
    return big_integer(std::string(parsed->negative ? "-" : "") + std::string(parsed->digits));
  }
  const std::uint64_t magnitude = text::magnitude_saturating(parsed->digits, kUnsignedMax);
  if (!parsed->negative) {
    if (magnitude <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(magnitude);
    }
    return magnitude;
  }
  if (magnitude == kMinMagnitude) return std::numeric_limits<std::int64_t>::min();
  return -static_cast<std::int64_t>(magnitude);
}

bool is_integer(const Json& value) {
  return value.is_number_integer() || is_big_integer(value);
}

Json saturated(const Json& value) {
  if (!is_big_integer(value)) return value;
  if (value.get_binary().front() == '-') return std::numeric_limits<std::int64_t>::min();
  return std::numeric_limits<std::uint64_t>::max();
}

// --------------------------------------------------------------------------------- reading

Json parse(std::string_view text, const ReadOptions& options) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t at = pos;
    if (!text::decode_utf8(text, pos)) {
      throw DecodeError(fmt::format("invalid UTF-8 in JSON text at byte {}", at));
    }
  }
  return Parser(text, options).parse_document();
}

// --------------------------------------------------------------------------------- writing

namespace {

void append_u_escape(std::string& out, unsigned code_unit) {
  out += fmt::format("\\u{:04x}", code_unit);
}

class Writer {
 public:
  explicit Writer(const WriteOptions& options) : options_(options) {}

  void value(const Json& v, int level) {
    switch (v.type()) {
      case Json::value_t::null:
      case Json::value_t::discarded:
        out += "null";
        return;
      case Json::value_t::binary:
        // Only the reader makes binary values: integers beyond 64 bits.
        out += is_big_integer(v) ? big_integer_digits(v) : "null";
        return;
      case Json::value_t::boolean:
        out += v.get<bool>() ? "true" : "false";
        return;
      case Json::value_t::number_integer:
        out += std::to_string(v.get<std::int64_t>());
        return;
      case Json::value_t::number_unsigned:
        out += std::to_string(v.get<std::uint64_t>());
        return;
      case Json::value_t::number_float:
        out += real(v.get<double>());
        return;
      case Json::value_t::string:
        out += quote(v.get_ref<const std::string&>());
        return;
      case Json::value_t::array:
        array(v, level);
        return;
      case Json::value_t::object:
        object(v, level);
        return;
    }
  }

  std::string out;

 private:
  std::string real(double number) const {
    if (std::isfinite(number)) return python_float_repr(number);
    if (options_.non_finite == NonFinite::raise) throw NonFiniteNumber("number out of JSON range");
    return "null";
  }

  // Between items: json.dumps puts "," before the newline when indenting, ", " otherwise.
  void separator() {
    if (options_.indent > 0 || options_.separators == Separators::compact) {
      out += ',';
    } else {
      out += ", ";
    }
  }

  void newline(int level) {
    if (options_.indent <= 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(level) * static_cast<std::size_t>(options_.indent), ' ');
  }

  void array(const Json& v, int level) {
    if (v.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    bool first = true;
    for (const auto& item : v) {
      if (!first) separator();
      first = false;
      newline(level + 1);
      value(item, level + 1);
    }
    newline(level);
    out += ']';
  }

  void object(const Json& v, int level) {
    if (v.empty()) {
      out += "{}";
      return;
    }
    std::vector<const Json::object_t::value_type*> members;
    members.reserve(v.size());
    for (const auto& member : v.get_ref<const Json::object_t&>())
      members.push_back(&member);
    if (options_.sort_keys) {
      // Byte order of UTF-8 is code point order, which is how Python sorts str keys.
      std::stable_sort(members.begin(), members.end(),
                       [](const auto* a, const auto* b) { return a->first < b->first; });
    }
    out += '{';
    bool first = true;
    for (const auto* member : members) {
      if (!first) separator();
      first = false;
      newline(level + 1);
      out += quote(member->first);
      out += options_.separators == Separators::compact && options_.indent <= 0 ? ":" : ": ";
      value(member->second, level + 1);
    }
    newline(level);
    out += '}';
  }

  const WriteOptions& options_;
};

}  // namespace

std::string dump(const Json& value, const WriteOptions& options) {
  Writer writer(options);
  writer.value(value, 0);
  return std::move(writer.out);
}

std::string quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte >= 0x80) {
      // Bytes that are not UTF-8 cannot be written as JSON text; they become U+FFFD.
      const char32_t cp = text::decode_utf8(text, pos).value_or(U'\uFFFD');
      if (cp >= 0x10000) {
        const char32_t v = cp - 0x10000;
        append_u_escape(out, 0xD800 + static_cast<unsigned>(v >> 10));
        append_u_escape(out, 0xDC00 + static_cast<unsigned>(v & 0x3FF));
      } else {
        append_u_escape(out, static_cast<unsigned>(cp));
      }
      continue;
    }
    ++pos;
    switch (byte) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        // Controls and DEL are outside printable ASCII, so ensure_ascii escapes them too.
        if (byte < 0x20 || byte == 0x7F) {
          append_u_escape(out, byte);
        } else {
          out += static_cast<char>(byte);
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace keepgpu::core::json
