#include "service/http/body.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/json.hpp"
#include "core/text.hpp"

namespace keepgpu::service::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

}  // namespace

void mask_content_length(std::string& header_block) {
  static_assert(kMaskedContentLength.size() == std::string_view("Content-Length").size());
  // Field lines start right after a CRLF; the first line is the request line.
  std::size_t line = header_block.find("\r\n");
  while (line != std::string::npos) {
    line += 2;
    const auto end = header_block.find("\r\n", line);
    if (end == std::string::npos || end == line) break;
    const auto colon = header_block.find(':', line);
    if (colon != std::string::npos && colon < end &&
        iequals(std::string_view(header_block).substr(line, colon - line), "Content-Length")) {
      header_block.replace(line, kMaskedContentLength.size(), kMaskedContentLength);
    }
    line = end;
  }
}

std::variant<std::size_t, BodyFailure> body_length(const std::vector<std::string>& values,
                                                   std::size_t max_bytes) {
  if (values.empty()) return std::size_t{0};
  if (values.size() > 1) return BodyFailure{"Content-Length must appear exactly once"};
  const std::string& value = values.front();
  if (value.empty() || !std::all_of(value.begin(), value.end(), core::text::is_ascii_digit)) {
    return BodyFailure{"Content-Length must be a non-negative integer"};
  }
  const auto first = value.find_first_not_of('0');
  const std::string_view digits =
      first == std::string::npos ? std::string_view("0") : std::string_view(value).substr(first);
  if (core::text::compare_magnitude(digits, max_bytes) > 0) {
    return BodyFailure{fmt::format("Request body too large: {} bytes (max {})", digits, max_bytes)};
  }
  return static_cast<std::size_t>(core::text::magnitude_saturating(digits, max_bytes));
}

core::Json decode_json_body(std::string_view body) {
  if (auto bad_utf8 = core::text::utf8_decode_error(body)) throw BodyError(*bad_utf8);
  try {
    core::json::ReadOptions options;
    options.duplicate_keys = core::json::DuplicateKeys::last_wins;
    return core::json::parse(body, options);
  } catch (const std::exception& error) {
    throw BodyError(error.what());
  }
}

}  // namespace keepgpu::service::http
