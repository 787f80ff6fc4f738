// An ordered JSON value for the service commands' output. The CLI prints the service's result
// "passed through unchanged": members in the order received, integers of any
// magnitude digit for digit, 50.0 still a float. nlohmann::json sorts keys and turns huge integers
// into doubles, so responses are first checked by core::parse_strict_json (strictness, UTF-8,
// NaN) and then read again into this tree.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keepgpu::cli {

struct JsonValue {
  enum class Type { null, boolean, integer, real, string, array, object };
  Type type = Type::null;
  bool boolean = false;
  std::string text;  // string: its UTF-8 contents; integer: canonical decimal digits ("-12", "0")
  double real = 0.0;
  std::vector<JsonValue> items;
  std::vector<std::pair<std::string, JsonValue>> members;

  // Declared here and defaulted after the class: std::pair<std::string, JsonValue> asks whether
  // JsonValue is default-constructible while the class is still incomplete, and an implicit
  // constructor would then need `members` destroyed, which clang rejects.
  JsonValue() noexcept;

  static JsonValue make_string(std::string s);
  static JsonValue make_integer(long long v);
  static JsonValue make_object() { return of_type(Type::object); }
  static JsonValue make_array() { return of_type(Type::array); }
  static JsonValue of_type(Type t) {
    JsonValue v;
    v.type = t;
    return v;
  }

  bool is_null() const { return type == Type::null; }
  bool is_bool() const { return type == Type::boolean; }
  bool is_integer() const { return type == Type::integer; }
  bool is_number() const { return type == Type::integer || type == Type::real; }
  bool is_string() const { return type == Type::string; }
  bool is_array() const { return type == Type::array; }
  bool is_object() const { return type == Type::object; }

  const JsonValue* find(std::string_view key) const;
  // Replaces the value of an existing key in place (keeping its position) or appends it.
  void set(std::string key, JsonValue value);

  // The integer value when it fits a long long.
  std::optional<long long> as_int64() const;
  // Python truthiness (for the health check's "ok").
  bool truthy() const;
  // The same value as nlohmann::json, for the core validators; integers beyond 64 bits saturate
  // as core::parse_strict_json does, so range checks still fail the right way.
  nlohmann::json to_nlohmann() const;
};

inline JsonValue::JsonValue() noexcept = default;

// Reads a document that core::parse_strict_json has already accepted. Duplicate keys keep the
// first position and the last value, as Python's json module does. Throws on malformed text.
JsonValue parse_ordered_json(std::string_view text);

}  // namespace keepgpu::cli
