// JSON-RPC 2.0 processing shared by every transport (stdio lines, HTTP POST /rpc and POST /, and
// later MCP), JSON-RPC 2.0 done right (a request without "id" is a
// notification and gets no response; a batch gets an array of responses). Transports hand over
// text or a decoded value and send back whatever text comes out; no lifecycle logic lives here.
#pragma once

#include "core/json.hpp"

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "service/api.hpp"

namespace keepgpu::service::jsonrpc {

// The most messages one batch may hold. A bigger batch is answered with one -32600 error (id
// null) and none of it runs: a body of a megabyte would otherwise fan out into tens of megabytes
// of responses.
inline constexpr std::size_t kMaxBatchSize = 1000;

// A method body: gets the params object (absent params arrive as {}), returns the result.
// Throws ApiError for the documented error codes; any other exception becomes -32603 with its text.
using Handler = std::function<core::Json(const core::Json& params)>;

// One response object before serialisation.
struct Response {
  std::string id_text = "null";      // the echoed id as JSON text (exact, even beyond 64 bits)
  std::optional<core::Json> result;  // set on success
  int code = 0;                      // set on error (result empty)
  std::string message;

  // Compact JSON, "jsonrpc" first: {"jsonrpc":"2.0","id":1,"result":{}}.
  std::string to_text() const;
};

// The error envelope with "id": null, for failures before any message could be decoded (parse
// errors, HTTP body-framing failures).
std::string error_text(int code, std::string_view message);

// A request body decoded: strict UTF-8, then strict JSON with the last duplicate key winning (as
// upstream reads). When decoding fails, `message` is empty and `error_envelope` is the -32700
// reply to send instead.
struct Decoded {
  std::optional<core::Json> message;
  std::string error_envelope;
};
Decoded decode(std::string_view text);

class Dispatcher {
 public:
  // Registers "ping" and the direct methods start_keep, stop_keep, status and list_gpus on `api`.
  explicit Dispatcher(Api& api);

  // Adds or replaces a method. The MCP layer registers initialize, tools/list and tools/call here
  // (until it does, they answer -32601 like any unknown method). Not thread-safe: register before
  // the dispatcher is shared with transports.
  void add_method(std::string name, Handler handler);
  bool has_method(std::string_view name) const;

  // Text in, text out: decode, then handle_value. nullopt means nothing is to be sent back.
  std::optional<std::string> handle_text(std::string_view text) const;

  // A decoded message: an object, or a batch (array).
  std::optional<std::string> handle_value(const core::Json& message) const;

  // One message of a batch or a single message (object, id, method, version, notification,
  // params, dispatch, in that order). nullopt for notifications.
  std::optional<Response> process(const core::Json& message) const;

 private:
  core::Json invoke(const std::string& method, const core::Json& params) const;

  std::map<std::string, Handler, std::less<>> methods_;
};

}  // namespace keepgpu::service::jsonrpc
