// Request-body framing and decoding for the POST routes. Upstream looks at every
// Content-Length header itself; Beast's parser would merge equal duplicates and reject bad
// values with one generic error, so Content-Length header names are masked before Beast parses
// the header block and their raw values are judged here.
#pragma once

#include "core/json.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace keepgpu::service::http {

// The name Content-Length headers are renamed to (same length, so offsets stay valid).
inline constexpr std::string_view kMaskedContentLength = "X-Kgpu-Raw-Len";

// Renames every "Content-Length" field name (any case) in a raw header block (request line,
// fields, blank line) to kMaskedContentLength.
void mask_content_length(std::string& header_block);

// The body length to read, or the failure text:
//   "Content-Length must appear exactly once", "Content-Length must be a non-negative integer",
//   "Request body too large: <N> bytes (max <max>)". No header means length 0.
struct BodyFailure {
  std::string message;
};
std::variant<std::size_t, BodyFailure> body_length(const std::vector<std::string>& values,
                                                   std::size_t max_bytes);

// Strict UTF-8 (Python's decoder message on failure), then strict JSON with the last duplicate
// key winning, as upstream parses. Throws BodyError with the message.
class BodyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
core::Json decode_json_body(std::string_view body);

}  // namespace keepgpu::service::http
