#include "cli/json_value.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <stdexcept>

#include "core/text.hpp"

namespace keepgpu::cli {
namespace {

// A plain recursive reader: the input is already known to be strict JSON, so it only needs to
// build the tree; it still throws rather than misbehave on anything unexpected.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  JsonValue document() {
    skip();
    JsonValue value = read_value();
    skip();
    if (pos_ != text_.size()) fail();
    return value;
  }

 private:
  [[noreturn]] void fail() const { throw std::invalid_argument("malformed JSON"); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void skip() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail();
    ++pos_;
  }
  bool word(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  JsonValue read_value() {
    const char c = peek();
    if (c == '{') return read_object();
    if (c == '[') return read_array();
    if (c == '"') return JsonValue::make_string(read_string());
    JsonValue v;
    if (word("true")) {
      v.type = JsonValue::Type::boolean;
      v.boolean = true;
      return v;
    }
    if (word("false")) {
      v.type = JsonValue::Type::boolean;
      return v;
    }
    if (word("null")) return v;
    return read_number();
  }

  JsonValue read_object() {
    expect('{');
    JsonValue object = JsonValue::make_object();
    skip();
    if (peek() == '}') {
      ++pos_;
      return object;
    }
    for (;;) {
      skip();
      std::string key = read_string();
      skip();
      expect(':');
      skip();
      object.set(std::move(key), read_value());
      skip();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return object;
    }
  }

  JsonValue read_array() {
    expect('[');
    JsonValue array = JsonValue::make_array();
    skip();
    if (peek() == ']') {
      ++pos_;
      return array;
    }
    for (;;) {
      skip();
      array.items.push_back(read_value());
      skip();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return array;
    }
  }

  unsigned read_hex4() {
    if (pos_ + 4 > text_.size()) fail();
    unsigned value = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      value <<= 4;
      if (h >= '0' && h <= '9')
        value |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        value |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        value |= static_cast<unsigned>(h - 'A' + 10);
      else
        fail();
    }
    return value;
  }

  std::string read_string() {
    expect('"');
    std::string out;
    for (;;) {
      if (pos_ >= text_.size()) fail();
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail();  // a backslash that ends the text
      const char e = text_[pos_++];
      if (const auto plain = core::text::json_simple_escape(e)) {
        out += *plain;
        continue;
      }
      switch (e) {
        case 'u': {
          char32_t cp = read_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            const char32_t low = read_hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          core::text::append_utf8(out, cp);
          break;
        }
        default:
          fail();
      }
    }
  }

  JsonValue read_number() {
    const std::size_t start = pos_;
    bool is_float = false;
    if (peek() == '-') ++pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (core::text::is_ascii_digit(c)) {
        ++pos_;
      } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || (c == '-' && pos_ > start)) {
        is_float = true;
        ++pos_;
      } else {
        break;
      }
    }
    const std::string_view literal = text_.substr(start, pos_ - start);
    if (literal.empty() || literal == "-") fail();
    JsonValue v;
    if (is_float) {
      v.type = JsonValue::Type::real;
      v.real = core::text::parse_decimal_double(literal);
      return v;
    }
    v.type = JsonValue::Type::integer;
    // Python's int("-0") is 0.
    v.text = (literal == "-0") ? "0" : std::string(literal);
    return v;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

JsonValue JsonValue::make_string(std::string s) {
  JsonValue v;
  v.type = Type::string;
  v.text = std::move(s);
  return v;
}

JsonValue JsonValue::make_integer(long long value) {
  JsonValue v;
  v.type = Type::integer;
  v.text = std::to_string(value);
  return v;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, value] : members) {
    if (name == key) return &value;
  }
  return nullptr;
}

void JsonValue::set(std::string key, JsonValue value) {
  for (auto& [name, existing] : members) {
    if (name == key) {
      existing = std::move(value);
      return;
    }
  }
  members.emplace_back(std::move(key), std::move(value));
}

std::optional<long long> JsonValue::as_int64() const {
  if (type != Type::integer) return std::nullopt;
  try {
    std::size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used != text.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool JsonValue::truthy() const {
  switch (type) {
    case Type::null:
      return false;
    case Type::boolean:
      return boolean;
    case Type::integer:
      return text != "0";
    case Type::real:
      return real != 0.0;
    case Type::string:
      return !text.empty();
    case Type::array:
      return !items.empty();
    case Type::object:
      return !members.empty();
  }
  return false;
}

nlohmann::json JsonValue::to_nlohmann() const {
  switch (type) {
    case Type::null:
      return nullptr;
    case Type::boolean:
      return boolean;
    case Type::integer: {
      if (auto v = as_int64()) return *v;
      if (text[0] == '-') return std::numeric_limits<std::int64_t>::min();
      try {
        std::size_t used = 0;
        const unsigned long long u = std::stoull(text, &used);
        if (used == text.size()) return static_cast<std::uint64_t>(u);
      } catch (const std::exception&) {
      }
      return std::numeric_limits<std::uint64_t>::max();
    }
    case Type::real:
      return real;
    case Type::string:
      return text;
    case Type::array: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : items)
        out.push_back(item.to_nlohmann());
      return out;
    }
    case Type::object: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, value] : members)
        out[key] = value.to_nlohmann();
      return out;
    }
  }
  return nullptr;
}

JsonValue parse_ordered_json(std::string_view text) {
  return Reader(text).document();
}

}  // namespace keepgpu::cli
