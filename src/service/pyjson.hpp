// JSON text the way upstream's Python service reads and writes it:
// json.dumps-style output (ASCII-only escapes, Python float spelling, either separator style),
// the UTF-8 decoder's error texts, and a look at the raw text of a member so values the decoder
// had to clamp (integer ids beyond 64 bits) can be echoed exactly.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepgpu::service::pyjson {

enum class Separators {
  compact,  // "," and ":"  (JSON-RPC envelopes)
  python,   // ", " and ": " (json.dumps' default; upstream's REST bodies)
};

struct DumpOptions {
  Separators separators = Separators::python;
  bool ensure_ascii = true;  // non-ASCII as \uXXXX (surrogate pairs above U+FFFF), as upstream
};

// Serialises like json.dumps: floats as Python's repr ("0.5", "100.0", "1e-05"), integers exact.
// Object keys come out in the container's order (sorted for nlohmann::json). Non-finite floats,
// which json.dumps would spell NaN/Infinity, are written as null so the output stays valid JSON.
std::string dump(const nlohmann::json& value, const DumpOptions& options = {});

// Writes `text` as a JSON string literal with json.dumps' escaping rules.
std::string quote(std::string_view text, bool ensure_ascii = true);

// Strict UTF-8 check. Returns Python's UnicodeDecodeError text for the first bad sequence, e.g.
// "'utf-8' codec can't decode byte 0xff in position 29: invalid start byte", or nullopt when
// the bytes are valid UTF-8.
std::optional<std::string> utf8_decode_error(std::string_view bytes);

// Given the text of a JSON object that is already known to be valid, returns the raw text of the
// value of the last top-level member named `key` (the occurrence a last-wins decoder keeps).
std::optional<std::string_view> raw_member(std::string_view object_text, std::string_view key);

// Given the text of a JSON array already known to be valid, returns each element's raw text.
std::vector<std::string_view> raw_elements(std::string_view array_text);

}  // namespace keepgpu::service::pyjson
