// Where the running service can be opened in a browser, for the lines `start` and
// `service-stop` print: the TCP listener the service recorded in endpoint.json when it bound
// (whatever --host/--port it was started with), or the address the command itself reached.
#pragma once

#include <optional>
#include <string>

#include "cli/daemon_control.hpp"

namespace keepgpu::cli {

struct ServiceOrigin {
  std::string url;    // http://host:port/
  bool token = true;  // the dashboard needs a login (false: the service runs with --no-auth)
};

// The host a browser should use for a bound address: a wildcard bind is reached through
// loopback, and an IPv6 literal needs brackets.
std::string browser_host(const std::string& bound);

// The origin of the service that `target` reaches; nullopt when it has no TCP listener.
std::optional<ServiceOrigin> service_origin(const ServiceTarget& target);

// What follows "Dashboard: ": the origin and how to log in, or that there is no dashboard.
std::string dashboard_text(const std::optional<ServiceOrigin>& origin);

// Where the service is: its origin, or its Unix socket when it has no TCP listener.
std::string service_location(const ServiceTarget& target,
                             const std::optional<ServiceOrigin>& origin);

}  // namespace keepgpu::cli
