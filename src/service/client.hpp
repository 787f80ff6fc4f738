// A small synchronous HTTP/1.1 client (Boost.Beast) for the CLI's talk with the daemon: over the
// per-user Unix socket by default, over TCP when a host and port are given. It
// connects directly (no proxy), bounds connect, write and read with one timeout each, and
// reports failures in the two classes the CLI's control flow depends on:
// unreachable (nothing usable came back) and protocol errors (something came back that is not
// HTTP). Decoding and checking the JSON is the caller's job.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keepgpu::service::client {

struct Endpoint {
  std::optional<std::string> unix_socket;  // set: use this socket; otherwise TCP host:port
  std::string host = "127.0.0.1";
  int port = 8765;
  // Sent as a bearer token on TCP, to routes that need it, and to a loopback address only when
  // every socket listening there belongs to this user (other addresses cannot be checked).
  std::optional<std::string> token;

  // What messages show: http://host:port{path}, or unix://<socket>{path}.
  std::string url(std::string_view path) const;
};

inline constexpr std::chrono::milliseconds kDefaultTimeout{8000};
inline constexpr std::chrono::milliseconds kStopTimeout{45000};

// Nothing usable came back: refused, no such socket, DNS failure, timeout, reset, closed without
// a response. what() is the detail alone (e.g. "<urlopen error [Errno 111] Connection refused>").
class Unreachable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A reply came back but it is not HTTP (bad status line, truncated body). what() is the detail.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The token would go to a loopback listener that belongs to another user (or whose owner cannot
// be read). Nothing was sent. what() is the whole message.
class UntrustedListener : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws UntrustedListener when a socket of another user listens where endpoint.host:port
// (loopback only) would connect, as a request carrying the token checks; Unreachable when the
// host does not resolve. For callers that hand the token on some other way (a login URL).
void require_own_listener(const Endpoint& endpoint);

// Whether a request for `target` carries the token: every route but /health needs it.
bool needs_token(std::string_view target);

struct Response {
  int status = 0;
  std::string reason;
  std::string body;
};

// One request on a fresh connection (Connection: close). Every request carries
// Content-Type: application/json, as upstream's does. Throws Unreachable, ProtocolError or
// UntrustedListener.
Response request(const Endpoint& endpoint, std::string_view method, std::string_view target,
                 std::string_view body, std::chrono::milliseconds timeout = kDefaultTimeout);

// GET /health.
Response get_health(const Endpoint& endpoint, std::chrono::milliseconds timeout = kDefaultTimeout);

// POST /rpc with {"jsonrpc": "2.0", "id": id, "method": method, "params": params_json}.
// `params_json` must be a JSON object's text.
Response post_rpc(const Endpoint& endpoint, std::string_view method, std::string_view params_json,
                  long long id, std::chrono::milliseconds timeout = kDefaultTimeout);

// A fresh JSON-RPC id: the wall-clock time in whole milliseconds, as upstream uses.
long long next_rpc_id();

}  // namespace keepgpu::service::client
