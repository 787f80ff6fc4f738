// The daemon's HTTP server (Boost.Beast/Asio): a Unix socket always, TCP optionally; REST,
// JSON-RPC at /rpc and POST /, /health, the dashboard later; token, Host/Origin and content-type
// checks on TCP; read timeouts, body size limit, connection cap. spec/service.md §8, design.md
// Principles 4, Decisions 2, 5, 6, 12.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "service/api.hpp"

namespace keepgpu::service::http {

struct ServerOptions {
  std::string unix_socket_path;             // always served (created mode 0600, dir is 0700)
  std::optional<std::string> tcp_host;      // nullopt = no TCP listener
  int tcp_port = 8765;
  std::optional<std::string> token;         // bearer token required on TCP unless nullopt
  std::size_t max_body_bytes = 1000000;
  std::size_t max_connections = 256;
  std::chrono::milliseconds read_timeout{10000};
  int threads = 4;                          // I/O threads; lifecycle calls may block up to ~20 s
};

class Server {
 public:
  Server(Api& api, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every listener; throws std::runtime_error with a clear text on failure (port in use).
  void start();
  // The TCP port actually bound (useful with port 0 in tests), or 0 without TCP.
  int tcp_port() const;
  // Stops accepting, closes listeners, lets in-flight requests finish up to a bound.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keepgpu::service::http
