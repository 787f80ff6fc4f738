// The daemon's request checks beyond upstream (secure by default on a shared node):
// loopback is not a trust boundary, so a web page must not be able to drive the service. Host
// checks stop DNS rebinding, Origin checks stop cross-site requests, requiring
// application/json on POST stops "simple" text/plain form posts, and on TCP a bearer token is
// required. All pure functions over header values.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepgpu::service::http {

// What a listener accepts.
struct ListenerPolicy {
  bool tcp = false;
  std::string bound_host;                // TCP: the address bound, as given
  int port = 0;                          // TCP: the port actually bound
  std::optional<std::string> token;      // TCP: required bearer token (nullopt = none)
  std::string session_secret;            // TCP with a token: the login cookie's value
  std::vector<std::string> extra_hosts;  // more Host names to accept (e.g. the machine's name)
};

// Host header check. Absent Host passes (only non-browser clients omit it). On TCP the name must
// be the bound address, localhost, 127.0.0.1, [::1] or an extra host, with no port or the bound
// port; a TCP listener bound to a non-loopback address with a token accepts any name (the token
// already defeats rebinding; Jupyter's allow_remote_access). On the Unix socket, loopback names
// with any port pass (an SSH-forwarded socket is reached through a local port).
bool host_allowed(const ListenerPolicy& policy, const std::optional<std::string>& host);

// Origin check: an absent Origin passes; a present one must be this server's own origin, i.e.
// "http://" + the (accepted) Host header, or when Host is absent an origin naming a loopback
// host and this server's port.
bool origin_allowed(const ListenerPolicy& policy, const std::optional<std::string>& host,
                    const std::optional<std::string>& origin);

// True when the listener needs no token or `authorization` is "Bearer <token>" with the right
// token (scheme case-insensitive; compared in constant time).
bool token_accepted(const ListenerPolicy& policy, const std::optional<std::string>& authorization);

// The dashboard's login cookie (the Jupyter way): opening "/?token=<token>" once stores the
// listener's session secret (never the token: browsers send loopback cookies to every port, so
// another user's page on 127.0.0.1 may see it) in an HttpOnly, SameSite=Strict cookie, so the
// page never sees it and no other site can send it. The name carries the port: cookies are per
// host, not per port, and one user may run daemons on several ports.
std::string session_cookie_name(int port);
// The value of cookie `name` in a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);
// True when the listener needs no token or the Cookie header carries its session secret.
bool cookie_session_accepted(const ListenerPolicy& policy,
                             const std::optional<std::string>& cookie);
// The percent-decoded value of `key` in a query string ("a=1&token=x"), or nullopt; the first
// occurrence wins.
std::optional<std::string> query_value(std::string_view query, std::string_view key);

// "application/json" with optional parameters (charset=...), case-insensitive.
bool is_json_content_type(const std::optional<std::string>& content_type);

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_name(std::string_view host);

// Equal-length-independent comparison whose time depends only on `expected`'s length.
bool constant_time_equals(std::string_view given, std::string_view expected);

}  // namespace keepgpu::service::http
