// The dashboard's static files. Assets are served from a table (the build
// will embed the dashboard into it), resolved lexically under a virtual root with the same
// outcomes as upstream's realpath checks: escaping the root is 403, an asset path that leaves
// assets/ or is missing is 404 "Static asset not found", anything else falls back to index.html,
// and without index.html the answer is 404 "UI not built".
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "service/http/reply.hpp"

namespace keepgpu::service::http {

class StaticFiles {
 public:
  // Keys are paths relative to the root ("index.html", "assets/dashboard.js"); values are bodies.
  explicit StaticFiles(std::map<std::string, std::string_view, std::less<>> files = {});

  // `path` is the parsed request path; `head` drops the body but keeps the headers.
  Reply serve(std::string_view path, bool head) const;

 private:
  Reply file_reply(std::string_view name, std::string_view body, bool head) const;

  std::map<std::string, std::string_view, std::less<>> files_;
};

// text/html, text/css, text/javascript, or application/octet-stream.
std::string_view content_type_for(std::string_view name);

}  // namespace keepgpu::service::http
