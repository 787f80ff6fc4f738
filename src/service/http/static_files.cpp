#include "service/http/static_files.hpp"

#include <optional>
#include <vector>

#include "service/http/request_target.hpp"

namespace keepgpu::service::http {
namespace {

std::vector<std::string_view> split_segments(std::string_view text) {
  std::vector<std::string_view> segments;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto slash = text.find('/', pos);
    const auto end = slash == std::string_view::npos ? text.size() : slash;
    segments.push_back(text.substr(pos, end - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return segments;
}

// root/drel resolved lexically: the path relative to the root, or nullopt when it escapes the
// root (an absolute drel replaces the root, as os.path.join does, and so escapes it too).
std::optional<std::string> resolve(std::string_view drel) {
  if (drel.starts_with('/')) return std::nullopt;
  std::vector<std::string_view> stack;
  for (const auto segment : split_segments(drel)) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (stack.empty()) return std::nullopt;
      stack.pop_back();
      continue;
    }
    stack.push_back(segment);
  }
  std::string resolved;
  for (const auto segment : stack) {
    if (!resolved.empty()) resolved += '/';
    resolved += segment;
  }
  return resolved;
}

// pathlib's suffix rule: ".hidden" has none, "v1.2" has ".2".
bool has_extension(std::string_view drel) {
  std::string_view name;
  for (const auto segment : split_segments(drel)) {
    if (!segment.empty()) name = segment;
  }
  const auto dot = name.rfind('.');
  return dot != std::string_view::npos && dot > 0 && dot + 1 < name.size();
}

std::string_view extension_of(std::string_view name) {
  const auto slash = name.rfind('/');
  const auto base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const auto dot = base.rfind('.');
  return dot == std::string_view::npos || dot == 0 ? std::string_view{} : base.substr(dot);
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  const auto extension = extension_of(name);
  if (extension == ".html") return "text/html";
  if (extension == ".css") return "text/css";
  if (extension == ".js") return "text/javascript";
  return "application/octet-stream";
}

StaticFiles::StaticFiles(std::map<std::string, std::string_view, std::less<>> files)
    : files_(std::move(files)) {}

Reply StaticFiles::file_reply(std::string_view name, std::string_view body, bool head) const {
  Reply reply;
  reply.content_type = std::string(content_type_for(name));
  reply.body = std::string(body);
  reply.head_only = head;
  return reply;
}

Reply StaticFiles::serve(std::string_view path, bool head) const {
  const auto finish = [head](Reply reply) {
    reply.head_only = head;
    return reply;
  };
  std::string_view rel = path;
  if (path.empty() || path == "/") {
    rel = "index.html";
  } else {
    rel.remove_prefix(std::min(rel.find_first_not_of('/'), rel.size()));
  }
  const std::string drel = percent_decode(rel);
  const auto resolved = resolve(drel);
  if (!resolved) return finish(error_reply(403, "Forbidden"));

  const bool asset_prefix = drel == "assets" || drel.starts_with("assets/");
  const bool asset_request = asset_prefix || (has_extension(drel) && drel != "index.html");
  if (asset_prefix && *resolved != "assets" && !resolved->starts_with("assets/")) {
    return finish(error_reply(404, "Static asset not found"));
  }
  // Only files are entries of the table; a directory ("assets") is never found.
  if (const auto file = files_.find(*resolved); file != files_.end()) {
    return file_reply(file->first, file->second, head);
  }
  if (asset_request) return finish(error_reply(404, "Static asset not found"));
  if (const auto index = files_.find("index.html"); index != files_.end()) {
    return file_reply(index->first, index->second, head);
  }
  return finish(error_reply(404, "UI not built"));
}

}  // namespace keepgpu::service::http
