// Request-target parsing as upstream's Python URL handling sees it: leading
// "//" collapsed, absolute-form accepted, then path / params / query / fragment split the way
// urllib.parse.urlparse does, and percent-decoding the way urllib.parse.unquote does. The routing
// and alias rules are written against exactly these pieces.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepgpu::service::http {

struct RequestTarget {
  std::string raw;  // exactly as in the request line
  // Absolute-form ("http://host:port/path"): the host[:port] part, to be checked like a Host
  // header; nullopt for origin-form ("/path").
  std::optional<std::string> authority;
  std::string path;      // before the first '?' or '#', without ";params"
  std::string params;    // after the first ';' in the last path segment
  std::string query;     // after '?'; empty counts as absent
  std::string fragment;  // after '#'; empty counts as absent

  bool has_suffix() const { return !params.empty() || !query.empty() || !fragment.empty(); }
  bool raw_starts_with_double_slash() const { return raw.starts_with("//"); }
};

RequestTarget parse_request_target(std::string_view raw);

// urllib.parse.unquote: %XX escapes become bytes (invalid escapes stay literal, '+' stays '+'),
// and the result is read as UTF-8 with malformed bytes replaced by U+FFFD.
std::string percent_decode(std::string_view text);

// The spellings a path stands for in the alias rules: p, its percent-decoding, and each member
// starting with "//" with its leading slashes collapsed to one.
std::vector<std::string> path_candidates(std::string_view path);

}  // namespace keepgpu::service::http
