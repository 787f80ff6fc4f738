#include "service/http/mcp_endpoint.hpp"

#include "core/json.hpp"

#include <algorithm>
#include <random>

#include "service/api_error.hpp"
#include "service/mcp/protocol.hpp"

namespace keepgpu::service::http {
namespace {

constexpr const char* kSessionHeader = "Mcp-Session-Id";
// JSON-RPC code MCP servers use for an unknown or expired session (the client re-initializes).
constexpr int kSessionNotFound = -32001;

Reply envelope_reply(int status, std::string envelope) {
  Reply reply = rpc_reply(std::move(envelope));
  reply.status = status;
  return reply;
}

// True when the message (or any message of a batch) is an initialize request.
bool is_initialize(const core::Json& value) {
  auto check = [](const core::Json& m) {
    return m.is_object() && m.value("method", core::Json()) == "initialize";
  };
  if (value.is_array()) return std::any_of(value.begin(), value.end(), check);
  return check(value);
}

}  // namespace

std::string McpSessionStore::create() {
  std::random_device random;
  std::uniform_int_distribution<unsigned> byte(0, 255);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 16; ++i) {
    const unsigned b = byte(random);
    id.push_back(kHex[b >> 4]);
    id.push_back(kHex[b & 15]);
  }
  std::lock_guard lock(mutex_);
  ids_.push_back(id);
  while (ids_.size() > capacity_)
    ids_.pop_front();
  return id;
}

bool McpSessionStore::contains(std::string_view id) const {
  std::lock_guard lock(mutex_);
  return std::find(ids_.begin(), ids_.end(), id) != ids_.end();
}

bool McpSessionStore::remove(std::string_view id) {
  std::lock_guard lock(mutex_);
  const auto it = std::find(ids_.begin(), ids_.end(), id);
  if (it == ids_.end()) return false;
  ids_.erase(it);
  return true;
}

Reply mcp_post(const jsonrpc::Dispatcher& rpc, McpSessionStore& sessions, const McpRequest& request,
               std::string_view body) {
  if (request.protocol_version && !mcp::is_supported_version(*request.protocol_version)) {
    return envelope_reply(
        400, jsonrpc::error_text(kInvalidRequest,
                                 "Unsupported MCP-Protocol-Version: " + *request.protocol_version));
  }
  jsonrpc::Decoded decoded = jsonrpc::decode(body);
  const bool initialize = decoded.message && is_initialize(*decoded.message);
  if (!initialize && request.session_id && !sessions.contains(*request.session_id)) {
    return envelope_reply(404, jsonrpc::error_text(kSessionNotFound, "Session not found"));
  }
  auto envelope = decoded.message ? rpc.handle_value(*decoded.message)
                                  : std::optional<std::string>(std::move(decoded.error_envelope));
  if (!envelope) return accepted_reply();
  Reply reply = rpc_reply(std::move(*envelope));
  if (initialize) reply.headers.emplace_back(kSessionHeader, sessions.create());
  return reply;
}

Reply mcp_delete(McpSessionStore& sessions, const McpRequest& request) {
  if (!request.session_id) return error_reply(400, "Mcp-Session-Id header is required");
  if (!sessions.remove(*request.session_id)) return error_reply(404, "Session not found");
  Reply reply = accepted_reply();  // empty, no content type
  reply.status = 200;
  return reply;
}

}  // namespace keepgpu::service::http
