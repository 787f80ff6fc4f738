// An HTTP answer before it meets the wire, and the error body shapes ({"error": {"message"...}},
// with "type" where upstream adds one).
#pragma once

#include "core/json.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keepgpu::service::http {

struct Reply {
  int status = 200;
  std::optional<std::string> content_type = "application/json";  // nullopt: no Content-Type
  std::vector<std::pair<std::string, std::string>> headers;      // extra (Allow, ...)
  std::string body;
  // HEAD: Content-Length still describes `body`, but no body bytes are sent.
  bool head_only = false;
};

// JSON bodies use json.dumps' separators, as upstream's REST answers do ({"ok": true}).
Reply json_reply(int status, const core::Json& body);
// {"error": {"message": <message>}} (400, 401, 403, 404, 405, 415)
Reply error_reply(int status, std::string_view message);
// {"error": {"message": <message>, "type": <type>}} (500, 503)
Reply typed_error_reply(int status, std::string_view message, std::string_view type);
// 200 with a JSON-RPC envelope already serialised.
Reply rpc_reply(std::string envelope);
// 202 with an empty body and no Content-Type: a JSON-RPC notification was accepted.
Reply accepted_reply();

}  // namespace keepgpu::service::http
