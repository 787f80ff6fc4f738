// Per-method routing: the RPC and API alias rules first (encoded,
// doubled-slash and suffixed spellings of /rpc and /api are 404, never served), then the route
// table with its Allow sets, then what each method does on each route. Pure: no I/O, no Api.
#pragma once

#include <string>
#include <string_view>

#include "service/http/request_target.hpp"

namespace keepgpu::service::http {

enum class Action {
  unknown_endpoint,      // 404 {"error": {"message": "Unknown endpoint"}}
  method_not_allowed,    // 405 with Route::allow
  not_implemented,       // 501: a method the HTTP layer does not know, on a non-API path
  invalid_session_path,  // 400 "Invalid session path for job_id"
  health,                // GET /health
  list_gpus,             // GET /api/gpus
  telemetry,             // GET /api/telemetry: the dashboard's history (beyond upstream)
  list_sessions,         // GET /api/sessions
  create_session,        // POST /api/sessions (reads the body)
  stop_all,              // DELETE /api/sessions
  session_status,        // GET /api/sessions/{job_id}
  session_stop,          // DELETE /api/sessions/{job_id}
  rpc,                   // POST / and POST /rpc (reads the body)
  mcp,                   // POST /mcp: Streamable HTTP MCP (reads the body)
  mcp_end,               // DELETE /mcp: end an MCP session
  static_file,           // GET or HEAD of anything else (the dashboard)
};

struct Route {
  Action action = Action::unknown_endpoint;
  std::string allow;   // the Allow header of a 405
  std::string job_id;  // percent-decoded member segment for session_status / session_stop
};

bool is_api_path(std::string_view path);
bool is_rpc_alias(const RequestTarget& target);
bool is_api_alias(const RequestTarget& target);

// `method` is the request method token exactly as sent (methods are case-sensitive).
Route route_request(std::string_view method, const RequestTarget& target);

// True when the action needs the request body.
inline bool reads_body(Action action) {
  return action == Action::create_session || action == Action::rpc || action == Action::mcp;
}

}  // namespace keepgpu::service::http
