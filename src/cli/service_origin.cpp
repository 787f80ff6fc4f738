#include "cli/service_origin.hpp"

#include <fmt/format.h>

namespace keepgpu::cli {
namespace runtime = service::runtime;

std::string browser_host(const std::string& bound) {
  if (bound == "0.0.0.0" || bound.empty()) return "127.0.0.1";
  if (bound == "::" || bound == "[::]") return "[::1]";
  if (bound.find(':') != std::string::npos && !bound.starts_with('[')) return "[" + bound + "]";
  return bound;
}

std::optional<ServiceOrigin> service_origin(const ServiceTarget& target) {
  const auto record = runtime::read_endpoint_record(target.paths.endpoint);
  if (target.tcp) {
    // The command reached the service at this address, so it is real; the record only tells
    // whether it needs a login.
    ServiceOrigin origin{fmt::format("http://{}:{}/", browser_host(target.host), target.port)};
    if (record && record->port == target.port) origin.token = record->token;
    return origin;
  }
  if (!record) return std::nullopt;
  return ServiceOrigin{fmt::format("http://{}:{}/", browser_host(record->host), record->port),
                       record->token};
}

std::string dashboard_text(const std::optional<ServiceOrigin>& origin) {
  if (!origin) return "none (the service has no TCP listener)";
  if (!origin->token) return origin->url;
  return origin->url + " (run keep-gpu dashboard for a login link)";
}

std::string service_location(const ServiceTarget& target,
                             const std::optional<ServiceOrigin>& origin) {
  if (origin) return origin->url;
  return target.paths.socket.string() + " (no TCP listener)";
}

}  // namespace keepgpu::cli
