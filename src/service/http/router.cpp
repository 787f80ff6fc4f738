#include "service/http/router.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace keepgpu::service::http {
namespace {

constexpr std::string_view kMemberPrefix = "/api/sessions/";

bool any_of(const std::vector<std::string>& members, auto predicate) {
  return std::any_of(members.begin(), members.end(), predicate);
}

bool starts_with_any(std::string_view text, std::string_view stem) {
  if (!text.starts_with(stem) || text.size() == stem.size()) return false;
  const char next = text[stem.size()];
  return next == '/' || next == ';' || next == '?' || next == '#';
}

// "/api/sessions/{seg}" with a non-empty segment holding no raw '/' (an encoded %2F is fine).
bool is_member_path(std::string_view path) {
  if (!path.starts_with(kMemberPrefix)) return false;
  const std::string_view segment = path.substr(kMemberPrefix.size());
  return !segment.empty() && segment.find('/') == std::string_view::npos;
}

// The Allow value of a known route; nullopt for paths that are not routes.
std::optional<std::string_view> allowed_methods(std::string_view path) {
  if (path == "/health" || path == "/api/gpus" || path == "/api/telemetry") return "GET";
  if (path == "/api/sessions") return "GET, POST, DELETE";
  if (is_member_path(path)) return "GET, DELETE";
  if (path == "/") return "GET, POST";
  if (path == "/rpc") return "POST";
  if (path == "/mcp") return "POST, DELETE";  // GET: no server-initiated stream is offered
  return std::nullopt;
}

bool allows(std::string_view allow, std::string_view method) {
  std::size_t pos = 0;
  while (pos <= allow.size()) {
    const auto comma = allow.find(", ", pos);
    const auto item = allow.substr(pos, comma == std::string_view::npos ? allow.npos : comma - pos);
    if (item == method) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 2;
  }
  return false;
}

Route make(Action action) {
  return Route{action, {}, {}};
}

Route not_allowed(std::string_view allow) {
  return Route{Action::method_not_allowed, std::string(allow), {}};
}

Route member(Action action, const RequestTarget& target) {
  if (target.has_suffix()) return make(Action::invalid_session_path);
  return Route{action, {}, percent_decode(target.path.substr(kMemberPrefix.size()))};
}

}  // namespace

bool is_api_path(std::string_view path) {
  return path == "/api" || path.starts_with("/api/");
}

bool is_rpc_alias(const RequestTarget& target) {
  const auto members = path_candidates(target.path);
  const bool names_rpc = any_of(members, [](const std::string& m) { return m == "/rpc"; });
  if (names_rpc && target.raw_starts_with_double_slash()) return true;                     // (a)
  if (any_of(members, [](const std::string& m) { return starts_with_any(m, "/rpc"); })) {  // (b)
    return true;
  }
  if (names_rpc && target.path != "/rpc") return true;  // (c)
  return names_rpc && target.has_suffix();              // (d)
}

bool is_api_alias(const RequestTarget& target) {
  const auto members = path_candidates(target.path);
  if (target.raw_starts_with_double_slash() &&
      any_of(members, [](const std::string& m) { return is_api_path(m); })) {
    return true;  // (a)
  }
  if ((target.path == "/api/gpus" || target.path == "/api/sessions") && target.has_suffix()) {
    return true;  // (b)
  }
  return !is_api_path(target.path) && any_of(members, [](const std::string& m) {
    return m == "/api" || starts_with_any(m, "/api");
  });  // (c)
}

Route route_request(std::string_view method, const RequestTarget& target) {
  if (is_rpc_alias(target) || is_api_alias(target)) return make(Action::unknown_endpoint);
  const std::string& path = target.path;
  const auto allow = allowed_methods(path);
  const bool api = is_api_path(path);

  if (method == "GET") {
    if (allow && !allows(*allow, "GET")) return not_allowed(*allow);
    if (path == "/health") return make(Action::health);
    if (path == "/api/gpus") return make(Action::list_gpus);
    if (path == "/api/telemetry") return make(Action::telemetry);
    if (path == "/api/sessions") return make(Action::list_sessions);
    if (is_member_path(path)) return member(Action::session_status, target);
    return make(api ? Action::unknown_endpoint : Action::static_file);
  }
  if (method == "HEAD") {
    // HEAD is never an allowed method; only the dashboard answers it.
    if (path == "/") return make(Action::static_file);
    if (allow) return not_allowed(*allow);
    return make(api ? Action::unknown_endpoint : Action::static_file);
  }
  if (method == "POST") {
    if (allow && !allows(*allow, "POST")) return not_allowed(*allow);
    if (path == "/api/sessions") return make(Action::create_session);
    if (path == "/" || path == "/rpc") return make(Action::rpc);
    if (path == "/mcp") return make(Action::mcp);
    return make(Action::unknown_endpoint);
  }
  if (method == "DELETE") {
    if (allow && !allows(*allow, "DELETE")) return not_allowed(*allow);
    if (path == "/api/sessions") return make(Action::stop_all);
    if (path == "/mcp") return make(Action::mcp_end);
    if (is_member_path(path)) return member(Action::session_stop, target);
    return make(Action::unknown_endpoint);
  }
  if (allow) return not_allowed(*allow);
  return make(api ? Action::unknown_endpoint : Action::not_implemented);
}

}  // namespace keepgpu::service::http
