// The Streamable HTTP MCP endpoint at /mcp (MCP transports, 2025-03-26 onwards): POST carries one
// JSON-RPC message or batch and gets a JSON answer (202 for notifications only), initialize mints
// an Mcp-Session-Id, DELETE ends that session, and GET offers no server-initiated stream (405).
// It runs the same JSON-RPC table as /rpc, behind the same token and Host/Origin checks.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "service/http/reply.hpp"
#include "service/jsonrpc.hpp"

namespace keepgpu::service::http {

// Session ids handed out by initialize. Sessions carry no state here (every tool call goes to
// the shared registry); ids exist so clients that follow the session rules work. Bounded: the
// oldest ids are forgotten first.
class McpSessionStore {
 public:
  explicit McpSessionStore(std::size_t capacity = 1024) : capacity_(capacity) {}
  std::string create();
  bool contains(std::string_view id) const;
  bool remove(std::string_view id);

 private:
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<std::string> ids_;
};

struct McpRequest {
  std::optional<std::string> session_id;        // Mcp-Session-Id
  std::optional<std::string> protocol_version;  // MCP-Protocol-Version
};

// POST /mcp with its (already read) body.
Reply mcp_post(const jsonrpc::Dispatcher& rpc, McpSessionStore& sessions, const McpRequest& request,
               std::string_view body);
// DELETE /mcp.
Reply mcp_delete(McpSessionStore& sessions, const McpRequest& request);

}  // namespace keepgpu::service::http
