// The project's one JSON layer: the value type every layer uses, the strict reader for every input
// boundary and the writer that spells JSON the way Python's json.dumps does (what upstream's
// clients and users see byte for byte).
//
// The value is nlohmann's ordered JSON with two additions it lacks on its own:
//  - objects keep their members in the order read or inserted (the CLI prints a service's reply
//    unchanged), but compare equal regardless of order, as JSON objects are unordered;
//  - an integer literal beyond 64 bits keeps its digits (JSON-RPC ids and pass-through replies
//    are echoed digit for digit). nlohmann has no arbitrary-precision number, so such an integer
//    is held as a binary value tagged kBigIntegerSubtype whose bytes are its decimal digits;
//    only this layer creates or writes one, and validators read it through saturated().
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "core/errors.hpp"

namespace keepgpu::core {

// nlohmann's insertion-ordered map, with order-insensitive equality.
template <class Key, class T, class IgnoredLess = std::less<Key>,
          class Allocator = std::allocator<std::pair<const Key, T>>>
struct JsonObject : nlohmann::ordered_map<Key, T, IgnoredLess, Allocator> {
  using Base = nlohmann::ordered_map<Key, T, IgnoredLess, Allocator>;
  using Base::Base;

  friend bool operator==(const JsonObject& a, const JsonObject& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [key, value] : a) {
      const auto found = b.find(key);
      if (found == b.end() || !(found->second == value)) return false;
    }
    return true;
  }
};

using Json = nlohmann::basic_json<JsonObject, std::vector, std::string, bool, std::int64_t,
                                  std::uint64_t, double, std::allocator, nlohmann::adl_serializer,
                                  std::vector<std::uint8_t>>;

namespace json {

// ------------------------------------------------------------------------------- access

// The member `key` of an object, or nullptr when the value is not an object or has no such member.
const Json* member(const Json& object, std::string_view key);

// Python's truthiness: null, false, zero, "" and empty containers are false.
bool truthy(const Json& value);

// ---------------------------------------------------------------------------- big integers

inline constexpr std::uint64_t kBigIntegerSubtype = 0x4249;  // "BI"

// An integer given by its canonical decimal digits ("-123..."), beyond int64/uint64.
Json big_integer(std::string_view digits);
bool is_big_integer(const Json& value);
std::string big_integer_digits(const Json& value);

// An integer token (optional '-', then digits) as int64, uint64 or a big integer, as the reader
// reads it ("-0" is 0). Throws std::invalid_argument for anything else.
Json integer(std::string_view token);

// Whether the value is an integer of any size (booleans are not).
bool is_integer(const Json& value);

// The value with a big integer replaced by the nearest 64-bit one (UINT64_MAX above, INT64_MIN
// below), so range checks on huge integers fail the way they do on large ones; any other value
// is returned unchanged.
Json saturated(const Json& value);

// --------------------------------------------------------------------------------- reading

// A malformed document. Messages follow Python's json module where it has one ("Expecting
// value: line 1 column 1 (char 0)", "Extra data: ...", "invalid JSON constant: NaN"); positions
// count code points, as Python does.
class DecodeError : public ValueError {
 public:
  using ValueError::ValueError;
};

enum class DuplicateKeys {
  reject,     // an object naming the same key twice is an error (the default)
  last_wins,  // Python's behaviour, for boundaries upstream clients talk to: the first
              // occurrence keeps its position, the last one its value
};

struct ReadOptions {
  int max_depth = 64;  // arrays and objects nested deeper than this are rejected
  DuplicateKeys duplicate_keys = DuplicateKeys::reject;
};

// RFC 8259 and nothing more: rejects invalid UTF-8, a byte order mark, NaN/Infinity literals,
// comments, trailing commas, leading zeros, raw control characters in strings, lone surrogate
// escapes, duplicate keys (unless last_wins), nesting deeper than max_depth and trailing data.
// A number with '.', 'e' or 'E' is a float (overflow reads as +-infinity, which the writer
// refuses or writes as null); any other is an integer, exact at any size.
Json parse(std::string_view text, const ReadOptions& options = {});

// --------------------------------------------------------------------------------- writing

// A float that is infinite or NaN, which json.dumps would spell Infinity/NaN (not JSON).
class NonFiniteNumber : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Separators {
  python,   // ", " and ": " (json.dumps' default)
  compact,  // "," and ":"
};

enum class NonFinite {
  null,   // written as null, so a reply stays valid JSON
  raise,  // NonFiniteNumber is thrown
};

struct WriteOptions {
  Separators separators = Separators::python;
  int indent = -1;         // json.dumps' indent: -1 for one line; n > 0 for n spaces per level
  bool sort_keys = false;  // json.dumps' sort_keys (by code point)
  NonFinite non_finite = NonFinite::null;
};

// json.dumps with ensure_ascii: every non-ASCII or control character as a lower-case \uXXXX
// escape (surrogate pairs above U+FFFF), floats as Python's repr ("0.5", "100.0", "1e-05"),
// integers exact, "[]" and "{}" for empty containers at any indent.
std::string dump(const Json& value, const WriteOptions& options = {});

// `text` as a JSON string literal with json.dumps' ensure_ascii escaping; bytes that are not
// UTF-8 become U+FFFD.
std::string quote(std::string_view text);

}  // namespace json
}  // namespace keepgpu::core
