#include "service/http/request_target.hpp"

#include <algorithm>
#include <array>

#include "core/text.hpp"

namespace keepgpu::service::http {
namespace {

bool is_scheme_char(char c) {
  return core::text::is_ascii_letter(c) || core::text::is_ascii_digit(c) || c == '+' || c == '-' ||
         c == '.';
}

// urlparse only splits ";params" for these schemes.
bool scheme_uses_params(std::string_view scheme) {
  static constexpr std::array<std::string_view, 15> kSchemes = {
      "",     "ftp",   "hdl", "prospero", "http", "imap", "https", "shttp",
      "rtsp", "rtspu", "sip", "sips",     "mms",  "sftp", "tel"};
  return std::find(kSchemes.begin(), kSchemes.end(), scheme) != kSchemes.end();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string collapse_leading_slashes(std::string_view text) {
  const auto first = text.find_first_not_of('/');
  return "/" + std::string(first == std::string_view::npos ? "" : text.substr(first));
}

}  // namespace

RequestTarget parse_request_target(std::string_view raw) {
  RequestTarget target;
  target.raw = std::string(raw);
  // Upstream's HTTP layer turns a leading "//" into "/" before the URL is parsed, so "//health"
  // is a path, not a network location.
  std::string url = raw.starts_with("//") ? collapse_leading_slashes(raw) : std::string(raw);

  std::string scheme;
  const auto colon = url.find(':');
  if (colon != std::string::npos && colon > 0 && core::text::is_ascii_letter(url[0]) &&
      std::all_of(url.begin(), url.begin() + static_cast<std::ptrdiff_t>(colon), is_scheme_char)) {
    scheme = lower_ascii(std::string_view(url).substr(0, colon));
    url.erase(0, colon + 1);
  }
  if (url.starts_with("//")) {  // absolute-form: take the authority out
    const auto end = url.find_first_of("/?#", 2);
    target.authority = url.substr(2, end == std::string::npos ? std::string::npos : end - 2);
    url.erase(0, end == std::string::npos ? url.size() : end);
  }
  if (const auto hash = url.find('#'); hash != std::string::npos) {
    target.fragment = url.substr(hash + 1);
    url.erase(hash);
  }
  if (const auto question = url.find('?'); question != std::string::npos) {
    target.query = url.substr(question + 1);
    url.erase(question);
  }
  if (scheme_uses_params(scheme)) {
    const auto last_slash = url.rfind('/');
    const auto semicolon = url.find(';', last_slash == std::string::npos ? 0 : last_slash);
    if (semicolon != std::string::npos) {
      target.params = url.substr(semicolon + 1);
      url.erase(semicolon);
    }
  }
  target.path = std::move(url);
  return target;
}

std::string percent_decode(std::string_view text) {
  if (text.find('%') == std::string_view::npos) return std::string(text);
  std::string bytes;
  bytes.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      bytes += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      bytes += text[i];
    }
  }
  // Malformed UTF-8 is replaced, as unquote's errors='replace' does.
  std::string out;
  out.reserve(bytes.size());
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t start = pos;
    if (core::text::decode_utf8(bytes, pos)) {
      out.append(bytes, start, pos - start);
    } else {
      out += "\xEF\xBF\xBD";
    }
  }
  return out;
}

std::vector<std::string> path_candidates(std::string_view path) {
  std::vector<std::string> members{std::string(path), percent_decode(path)};
  const std::size_t base = members.size();
  for (std::size_t i = 0; i < base; ++i) {
    if (members[i].starts_with("//")) members.push_back(collapse_leading_slashes(members[i]));
  }
  return members;
}

}  // namespace keepgpu::service::http
