// The fuzzed entry points: bytes in, no result; a crash, a sanitizer report or an uncaught
// exception other than the documented ones is the finding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keepgpu::fuzz {

// A request head (up to the first blank line) parsed and planned as the daemon does on both
// listeners, then what follows as a body: framing, JSON decoding, and the JSON-RPC dispatcher
// (with stub session methods, so no keep session is ever started).
void http_request(std::string_view bytes);

// The strict JSON reader in both duplicate-key modes, the UTF-8 check in front of it, the raw
// member/element scanners that echo ids, and the serialiser on whatever it accepted.
void json_text(std::string_view bytes);

}  // namespace keepgpu::fuzz
