// The MCP layer: initialize with version
// negotiation, tools/list with input and output schemas, tools/call returning structuredContent
// plus the same JSON as text, and the stateless 2026-07-28 revision (server/discover, protocol
// version per request in params._meta). One module, registered into the JSON-RPC dispatcher that
// every transport (stdio, POST /rpc, the Streamable HTTP endpoint /mcp) shares; the tools call the
// same Api as REST and the legacy direct methods.
#pragma once

#include "core/json.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/api.hpp"
#include "service/jsonrpc.hpp"

namespace keepgpu::service::mcp {

// Handshake-era revisions, oldest first; initialize echoes one of these or answers the newest.
const std::vector<std::string>& handshake_versions();
// The stateless revision: no initialize, the version travels in every request's _meta.
inline constexpr std::string_view kStatelessVersion = "2026-07-28";
// Every revision served (handshake ones plus the stateless one), for server/discover.
std::vector<std::string> supported_versions();
// The _meta key that carries the protocol version in the stateless revision.
inline constexpr std::string_view kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
// JSON-RPC error for a request naming a protocol version this server does not speak.
inline constexpr int kUnsupportedProtocolVersion = -32022;

inline constexpr std::string_view kInstructions =
    "Use start_keep to reserve VRAM only when needed, status to inspect sessions, stop_keep to "
    "release sessions, and list_gpus to choose visible GPU ordinals.";

struct ServerIdentity {
  std::string name = "keepgpu";
  std::string title = "KeepGPU";
  std::string version;  // the package version
};

// The version initialize answers for a requested one.
std::string negotiate_version(const core::Json& requested);
// Whether `version` is one this server serves (handshake or stateless).
bool is_supported_version(std::string_view version);

core::Json initialize_result(const core::Json& params, const ServerIdentity& identity);
core::Json discover_result(const ServerIdentity& identity);
core::Json tools_list_result();
// Runs the tool through `api`. Invalid-params and startup-unavailable failures become tool
// results with isError; protocol problems (name, arguments) and internal failures throw ApiError.
core::Json tools_call_result(const core::Json& params, Api& api);

// The tool payload as text: keys sorted at every level, ", " / ": " separators, ASCII only
// (upstream's exact spelling, which some clients display verbatim).
std::string payload_text(const core::Json& payload);

// Registers initialize, tools/list, tools/call and server/discover into `dispatcher`. Requests
// whose params._meta names the stateless revision get "resultType": "complete" in their results;
// one naming an unknown revision gets -32022.
void register_methods(jsonrpc::Dispatcher& dispatcher, Api& api, const ServerIdentity& identity);

}  // namespace keepgpu::service::mcp
