// The daemon's HTTP server (Boost.Beast/Asio): a Unix socket always, TCP optionally; REST,
// JSON-RPC at /rpc and POST /, /health, the dashboard later; token, Host/Origin and content-type
// checks on TCP; read timeouts, body size limit, connection cap.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/api.hpp"
#include "service/jsonrpc.hpp"
#include "service/telemetry_history.hpp"

namespace keepgpu::service::http {

struct ServerOptions {
  std::string unix_socket_path;          // served when non-empty (created mode 0600, dir 0700)
  std::optional<std::string> tcp_host;   // nullopt = no TCP listener
  int tcp_port = 8765;                   // 0 picks a free port (see Server::tcp_port)
  std::optional<std::string> token;      // bearer token required on TCP unless nullopt
  std::vector<std::string> extra_hosts;  // Host names accepted besides loopback and tcp_host
  std::size_t max_body_bytes = 1000000;
  // Open connections per listener: TCP, and the owner's Unix socket on its own budget so that
  // connections from other local users never lock the owner's CLI out. When a listener is full,
  // its oldest connection that is not busy with a request makes room; when all are busy, further
  // connections get 503 and are closed.
  std::size_t max_connections = 256;
  std::size_t max_unix_connections = 64;
  // A connection must send its whole request head within this (idle connections are closed).
  std::chrono::milliseconds header_timeout{5000};
  std::chrono::milliseconds read_timeout{10000};   // the body, and each write, must fit
  std::chrono::milliseconds shutdown_grace{2000};  // stop() waits this long for running calls
  // While requests come in, freed heap memory is handed back this often (0: never).
  std::chrono::milliseconds heap_trim_period{10000};
  int threads = 4;  // I/O threads; Api calls run on their own threads
  // The dashboard's files (path relative to the static root -> bytes); empty: "UI not built".
  std::map<std::string, std::string_view, std::less<>> web_assets;
  // Serves GET /api/telemetry when set.
  std::shared_ptr<TelemetrySampler> telemetry;
};

class Server {
 public:
  // `rpc` is the JSON-RPC method table (the MCP layer registers into one and passes it here);
  // nullptr uses a Dispatcher with the direct methods over `api`. `api` must outlive every
  // request, including calls still running when stop() gives up waiting for them.
  Server(Api& api, ServerOptions options, std::shared_ptr<const jsonrpc::Dispatcher> rpc = nullptr);
  ~Server();  // runs stop()
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
