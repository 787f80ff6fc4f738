// Turns one HTTP request into a reply, in two steps so the transport can read the body in
// between and run slow Api calls off its I/O threads:
//   plan(): security checks, routing and body framing, all cheap; either a reply right away or
//           "read N body bytes, then run()";
//   run():  the Api call (may block for seconds: stop waits for releases).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/api.hpp"
#include "service/http/mcp_endpoint.hpp"
#include "service/http/reply.hpp"
#include "service/http/router.hpp"
#include "service/http/security.hpp"
#include "service/http/static_files.hpp"
#include "service/jsonrpc.hpp"
#include "service/telemetry_history.hpp"

namespace keepgpu::service::http {

// The parts of a request header the service looks at (values as Beast parsed them).
struct RequestHead {
  std::string method;  // the token exactly as sent
  std::string target;  // the raw request-target
  std::size_t host_count = 0;
  std::optional<std::string> host;
  std::optional<std::string> origin;
  std::optional<std::string> authorization;
  std::optional<std::string> cookie;  // every Cookie header, joined with "; "
  std::optional<std::string> content_type;
  std::vector<std::string> content_lengths;         // every Content-Length value, in order
  bool transfer_encoding = false;                   // any Transfer-Encoding header
  bool expect_continue = false;                     // "Expect: 100-continue" (curl sends it)
  std::optional<std::string> mcp_session_id;        // Mcp-Session-Id (Streamable HTTP MCP)
  std::optional<std::string> mcp_protocol_version;  // MCP-Protocol-Version
};

struct Plan {
  std::optional<Reply> reply;  // set: send it; the body is not read
  Route route;                 // otherwise: read body_bytes, then run()
  std::size_t body_bytes = 0;
  McpRequest mcp;  // the MCP headers, for /mcp
};

class RequestHandler {
 public:
  // `telemetry` may be null: GET /api/telemetry is then an unknown endpoint.
  RequestHandler(Api& api, std::shared_ptr<const jsonrpc::Dispatcher> rpc, StaticFiles files,
                 std::shared_ptr<TelemetrySampler> telemetry, std::size_t max_body_bytes);

  Plan plan(const RequestHead& head, const ListenerPolicy& policy) const;
  Reply run(const Plan& plan, std::string_view body) const;

 private:
  Reply immediate(const Route& route, const RequestTarget& target, std::string_view method) const;
  Reply body_failure(Action action, const std::string& message) const;

  Api& api_;
  std::shared_ptr<const jsonrpc::Dispatcher> rpc_;
  StaticFiles files_;
  std::shared_ptr<TelemetrySampler> telemetry_;
  std::size_t max_body_bytes_;
  std::shared_ptr<McpSessionStore> mcp_sessions_ = std::make_shared<McpSessionStore>();
};

}  // namespace keepgpu::service::http
