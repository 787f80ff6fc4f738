#include "cli/json_print.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/interval.hpp"
#include "core/text.hpp"

namespace keepgpu::cli {
namespace {

void append_escape(std::string& out, unsigned unit) {
  out += fmt::format("\\u{:04x}", unit);
}

std::string number_text(const JsonValue& value) {
  if (value.type == JsonValue::Type::integer) return value.text;
  if (!std::isfinite(value.real)) throw NonFiniteNumber("number out of JSON range");
  return core::python_float_repr(value.real);
}

void dump(const JsonValue& value, std::string& out, int indent, int level) {
  const bool pretty = indent > 0;
  auto newline = [&](int depth) {
    if (pretty) {
      out += '\n';
      out.append(static_cast<std::size_t>(depth) * static_cast<std::size_t>(indent), ' ');
    }
  };
  switch (value.type) {
    case JsonValue::Type::null:
      out += "null";
      return;
    case JsonValue::Type::boolean:
      out += value.boolean ? "true" : "false";
      return;
    case JsonValue::Type::integer:
    case JsonValue::Type::real:
      out += number_text(value);
      return;
    case JsonValue::Type::string:
      out += json_quote(value.text);
      return;
    case JsonValue::Type::array: {
      if (value.items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < value.items.size(); ++i) {
        if (i > 0) out += pretty ? "," : ", ";
        newline(level + 1);
        dump(value.items[i], out, indent, level + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case JsonValue::Type::object: {
      if (value.members.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (std::size_t i = 0; i < value.members.size(); ++i) {
        if (i > 0) out += pretty ? "," : ", ";
        newline(level + 1);
        out += json_quote(value.members[i].first);
        out += ": ";
        dump(value.members[i].second, out, indent, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string json_quote(std::string_view utf8) {
  std::string out = "\"";
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    const auto cp = core::text::decode_utf8(utf8, pos).value_or(U'\uFFFD');
    switch (cp) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (cp >= 0x20 && cp <= 0x7E) {
      out += static_cast<char>(cp);
    } else if (cp > 0xFFFF) {
      const char32_t v = cp - 0x10000;
      append_escape(out, 0xD800 + (v >> 10));
      append_escape(out, 0xDC00 + (v & 0x3FF));
    } else {
      append_escape(out, cp);
    }
  }
  return out + "\"";
}

std::string dumps_indent2(const JsonValue& value) {
  std::string out;
  dump(value, out, 2, 0);
  return out;
}

std::string dumps_compact(const JsonValue& value) {
  std::string out;
  dump(value, out, 0, 0);
  return out;
}

std::string error_json(std::string_view message) {
  JsonValue object = JsonValue::make_object();
  object.set("error", JsonValue::make_string(std::string(message)));
  return dumps_indent2(object);
}

}  // namespace keepgpu::cli
