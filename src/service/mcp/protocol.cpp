#include "service/mcp/protocol.hpp"

#include <algorithm>

#include "service/wire_json.hpp"

namespace keepgpu::service::mcp {
namespace {

using json = core::Json;

json server_info(const ServerIdentity& identity) {
  return {{"name", identity.name}, {"title", identity.title}, {"version", identity.version}};
}

json capabilities() {
  return {{"tools", {{"listChanged", false}}}};
}

json tool_text(const std::string& text) {
  return json::array({{{"type", "text"}, {"text", text}}});
}

// The protocol version a request names in params._meta (stateless revision), if any.
std::optional<std::string> requested_meta_version(const json& params) {
  if (!params.is_object()) return std::nullopt;
  const auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  const auto version = meta->find(std::string(kMetaProtocolVersion));
  if (version == meta->end() || !version->is_string()) return std::nullopt;
  return version->get<std::string>();
}

// Wraps a method so that stateless-revision requests are checked and marked: the stateless
// revision carries its version in every request and expects "resultType" in every result.
jsonrpc::Handler per_request_version(jsonrpc::Handler inner) {
  return [inner = std::move(inner)](const json& params) {
    const auto version = requested_meta_version(params);
    if (version && !is_supported_version(*version)) {
      std::string supported;
      for (const auto& v : supported_versions())
        supported += (supported.empty() ? "" : ", ") + v;
      throw ApiError(kUnsupportedProtocolVersion, "Unsupported protocol version: " + *version +
                                                      " (supported versions: " + supported + ")");
    }
    json result = inner(params);
    if (version == kStatelessVersion && result.is_object()) result["resultType"] = "complete";
    return result;
  };
}

// Tool arguments without the MCP-level _meta member, which is not a tool argument.
json tool_arguments(const json& params) {
  const auto arguments = params.find("arguments");
  if (arguments == params.end()) return json::object();
  if (!arguments->is_object())
    throw ApiError(kInvalidParams, "Tool call arguments must be an object.");
  return *arguments;
}

}  // namespace

const std::vector<std::string>& handshake_versions() {
  static const std::vector<std::string> versions = {"2024-11-05", "2025-03-26", "2025-06-18",
                                                    "2025-11-25"};
  return versions;
}

std::vector<std::string> supported_versions() {
  std::vector<std::string> versions = handshake_versions();
  versions.emplace_back(kStatelessVersion);
  return versions;
}

bool is_supported_version(std::string_view version) {
  const auto all = supported_versions();
  return std::find(all.begin(), all.end(), version) != all.end();
}

std::string negotiate_version(const json& requested) {
  const auto& versions = handshake_versions();
  if (requested.is_string()) {
    auto text = requested.get<std::string>();
    if (std::find(versions.begin(), versions.end(), text) != versions.end()) return text;
  }
  // Unknown, missing, or the stateless revision (which has no initialize): the newest
  // handshake revision, which the client may accept or refuse.
  return versions.back();
}

json initialize_result(const json& params, const ServerIdentity& identity) {
  const json requested = params.is_object() && params.contains("protocolVersion")
                             ? params.at("protocolVersion")
                             : json();
  return {{"protocolVersion", negotiate_version(requested)},
          {"capabilities", capabilities()},
          {"serverInfo", server_info(identity)},
          {"instructions", kInstructions}};
}

json discover_result(const ServerIdentity& identity) {
  return {{"resultType", "complete"},
          {"supportedVersions", supported_versions()},
          {"capabilities", capabilities()},
          {"serverInfo", server_info(identity)},
          {"instructions", kInstructions}};
}

std::string payload_text(const json& payload) {
  // Sorted keys and Python's separators: upstream's json.dumps(payload, sort_keys=True).
  return wire_json(payload);
}

json tools_call_result(const json& params, Api& api) {
  const auto name = params.find("name");
  if (name == params.end() || !name->is_string() || name->get<std::string>().empty()) {
    throw ApiError(kInvalidParams, "Tool call requires a non-empty tool name.");
  }
  json arguments = tool_arguments(params);
  const std::string tool = name->get<std::string>();
  const auto methods = Api::methods();
  if (std::none_of(methods.begin(), methods.end(),
                   [&](const Api::Method& method) { return method.name == tool; })) {
    throw ApiError(kInvalidParams, "Unknown tool: " + tool);
  }
  try {
    json payload = api.call(tool, arguments);
    return {{"content", tool_text(payload_text(payload))},
            {"structuredContent", payload},
            {"isError", false}};
  } catch (const ApiError& e) {
    // Bad input and "no GPU here" are results the model should read; anything else is a
    // protocol-level internal error.
    if (e.code() == kInvalidParams || e.code() == kStartupUnavailable) {
      return {{"content", tool_text(e.what())}, {"isError", true}};
    }
    throw;
  }
}

void register_methods(jsonrpc::Dispatcher& dispatcher, Api& api, const ServerIdentity& identity) {
  dispatcher.add_method(
      "initialize", [identity](const json& params) { return initialize_result(params, identity); });
  dispatcher.add_method("server/discover", per_request_version([identity](const json&) {
                          return discover_result(identity);
                        }));
  dispatcher.add_method("tools/list",
                        per_request_version([](const json&) { return tools_list_result(); }));
  dispatcher.add_method("tools/call", per_request_version([&api](const json& params) {
                          return tools_call_result(params, api);
                        }));
}

}  // namespace keepgpu::service::mcp
