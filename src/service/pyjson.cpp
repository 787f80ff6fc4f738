#include "service/pyjson.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/interval.hpp"
#include "core/text.hpp"

namespace keepgpu::service::pyjson {
namespace {

void append_u_escape(std::string& out, unsigned code_unit) {
  out += fmt::format("\\u{:04x}", code_unit);
}

void append_escaped_code_point(std::string& out, char32_t cp) {
  if (cp >= 0x10000) {
    const char32_t v = cp - 0x10000;
    append_u_escape(out, 0xD800 + static_cast<unsigned>(v >> 10));
    append_u_escape(out, 0xDC00 + static_cast<unsigned>(v & 0x3FF));
  } else {
    append_u_escape(out, static_cast<unsigned>(cp));
  }
}

void dump_into(std::string& out, const nlohmann::json& value, const DumpOptions& options) {
  const bool compact = options.separators == Separators::compact;
  switch (value.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
    case nlohmann::json::value_t::binary:
      out += "null";
      return;
    case nlohmann::json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    case nlohmann::json::value_t::number_integer:
      out += std::to_string(value.get<std::int64_t>());
      return;
    case nlohmann::json::value_t::number_unsigned:
      out += std::to_string(value.get<std::uint64_t>());
      return;
    case nlohmann::json::value_t::number_float: {
      const double number = value.get<double>();
      out += std::isfinite(number) ? core::python_float_repr(number) : "null";
      return;
    }
    case nlohmann::json::value_t::string:
      out += quote(value.get_ref<const std::string&>(), options.ensure_ascii);
      return;
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : value) {
        if (!first) out += compact ? "," : ", ";
        first = false;
        dump_into(out, item, options);
      }
      out += ']';
      return;
    }
    case nlohmann::json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [key, item] : value.items()) {
        if (!first) out += compact ? "," : ", ";
        first = false;
        out += quote(key, options.ensure_ascii);
        out += compact ? ":" : ": ";
        dump_into(out, item, options);
      }
      out += '}';
      return;
    }
  }
}

// Skips one JSON value in text already known to be valid; stops at the end on malformed input.
void skip_value(std::string_view text, std::size_t& pos) {
  if (pos >= text.size()) return;
  const char first = text[pos];
  if (first != '"' && first != '{' && first != '[') {
    while (pos < text.size() &&
           std::string_view(",]} \t\r\n").find(text[pos]) == std::string_view::npos) {
      ++pos;
    }
    return;
  }
  int depth = 0;
  while (pos < text.size()) {
    const char c = text[pos++];
    if (c == '"') {
      while (pos < text.size() && text[pos] != '"')
        pos += text[pos] == '\\' ? 2 : 1;
      ++pos;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
    if (depth == 0) return;
  }
}

void skip_whitespace(std::string_view text, std::size_t& pos) {
  while (pos < text.size() &&
         (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
    ++pos;
  }
}

bool key_equals(std::string_view raw_key, std::string_view key) {
  if (raw_key.size() < 2) return false;
  if (raw_key.find('\\') == std::string_view::npos) {
    return raw_key.substr(1, raw_key.size() - 2) == key;
  }
  // Escaped keys ("\u0069d") name the same member once decoded.
  try {
    return nlohmann::json::parse(raw_key).get<std::string>() == key;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string quote(std::string_view text, bool ensure_ascii) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte < 0x80) {
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
          // json.dumps escapes controls always, and DEL too when ensure_ascii is on.
          if (byte < 0x20 || (ensure_ascii && byte == 0x7F)) {
            append_u_escape(out, byte);
          } else {
            out += static_cast<char>(byte);
          }
      }
      continue;
    }
    const std::size_t start = pos;
    const auto cp = core::text::decode_utf8(text, pos);
    if (!ensure_ascii && cp) {
      out.append(text.substr(start, pos - start));
    } else {
      // Bytes that are not UTF-8 cannot be written as JSON text; they become U+FFFD.
      if (ensure_ascii) {
        append_escaped_code_point(out, cp.value_or(0xFFFD));
      } else {
        out += "\xEF\xBF\xBD";
      }
    }
  }
  out += '"';
  return out;
}

std::string dump(const nlohmann::json& value, const DumpOptions& options) {
  std::string out;
  dump_into(out, value, options);
  return out;
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

std::optional<std::string_view> raw_member(std::string_view object_text, std::string_view key) {
  std::size_t pos = 0;
  skip_whitespace(object_text, pos);
  if (pos >= object_text.size() || object_text[pos] != '{') return std::nullopt;
  ++pos;
  std::optional<std::string_view> found;
  while (true) {
    skip_whitespace(object_text, pos);
    if (pos >= object_text.size() || object_text[pos] != '"') return found;
    const std::size_t key_start = pos;
    skip_value(object_text, pos);
    const std::string_view raw_key = object_text.substr(key_start, pos - key_start);
    skip_whitespace(object_text, pos);
    if (pos >= object_text.size() || object_text[pos] != ':') return found;
    ++pos;
    skip_whitespace(object_text, pos);
    const std::size_t value_start = pos;
    skip_value(object_text, pos);
    if (key_equals(raw_key, key)) found = object_text.substr(value_start, pos - value_start);
    skip_whitespace(object_text, pos);
    if (pos >= object_text.size() || object_text[pos] != ',') return found;
    ++pos;
  }
}

std::vector<std::string_view> raw_elements(std::string_view array_text) {
  std::vector<std::string_view> elements;
  std::size_t pos = 0;
  skip_whitespace(array_text, pos);
  if (pos >= array_text.size() || array_text[pos] != '[') return elements;
  ++pos;
  skip_whitespace(array_text, pos);
  if (pos < array_text.size() && array_text[pos] == ']') return elements;
  while (pos < array_text.size()) {
    skip_whitespace(array_text, pos);
    const std::size_t start = pos;
    skip_value(array_text, pos);
    elements.push_back(array_text.substr(start, pos - start));
    skip_whitespace(array_text, pos);
    if (pos >= array_text.size() || array_text[pos] != ',') break;
    ++pos;
  }
  return elements;
}

}  // namespace keepgpu::service::pyjson
