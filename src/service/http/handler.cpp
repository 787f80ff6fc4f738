#include "service/http/handler.hpp"

#include "service/http/body.hpp"
#include "service/http/dashboard_login.hpp"
#include "service/http/rest.hpp"

namespace keepgpu::service::http {

RequestHandler::RequestHandler(Api& api, std::shared_ptr<const jsonrpc::Dispatcher> rpc,
                               StaticFiles files, std::shared_ptr<TelemetrySampler> telemetry,
                               std::size_t max_body_bytes)
    : api_(api),
      rpc_(std::move(rpc)),
      files_(std::move(files)),
      telemetry_(std::move(telemetry)),
      max_body_bytes_(max_body_bytes) {}

Plan RequestHandler::plan(const RequestHead& head, const ListenerPolicy& policy) const {
  const bool is_head = head.method == "HEAD";
  const auto now = [is_head](Reply reply) {
    reply.head_only = is_head;
    return Plan{std::move(reply), {}, 0, {}};
  };
  // DNS rebinding and cross-site requests are refused before anything else is looked at.
  if (head.host_count > 1) return now(error_reply(400, "Host must appear at most once"));
  if (!host_allowed(policy, head.host)) return now(error_reply(403, "Host not allowed"));
  if (!origin_allowed(policy, head.host, head.origin)) {
    return now(error_reply(403, "Origin not allowed"));
  }
  const RequestTarget target = parse_request_target(head.target);
  // An absolute-form target names the host it is meant for, and that name wins over Host.
  if (target.authority && !host_allowed(policy, target.authority)) {
    return now(error_reply(403, "Host not allowed"));
  }
  // Bodies are framed by Content-Length only. A chunked body is refused before anything is read
  // (never taken as empty, which would leave its bytes to be read as something else).
  if (head.transfer_encoding) {
    return now(error_reply(411,
                           "Length Required: send the body with Content-Length (no "
                           "Transfer-Encoding)"));
  }

  if (is_login_request(policy, head.method, target.path, target.query)) {
    return now(login_reply(policy, query_value(target.query, "token").value_or("")));
  }
  Route route = route_request(head.method, target);
  // /health stays open so clients can probe a daemon before they have its token. A browser
  // authenticates with the login cookie instead of the header.
  if (target.path != "/health" && !token_accepted(policy, head.authorization) &&
      !(head.authorization == std::nullopt && cookie_session_accepted(policy, head.cookie))) {
    if (route.action == Action::static_file) return now(unauthorized_page());
    Reply reply = error_reply(401, "Missing or invalid token");
    reply.headers.emplace_back("WWW-Authenticate", "Bearer");
    return now(std::move(reply));
  }

  if (!reads_body(route.action)) {
    switch (route.action) {
      case Action::telemetry:
        if (!telemetry_) return now(error_reply(404, "Unknown endpoint"));
        return Plan{std::nullopt, std::move(route), 0, {}};
      case Action::list_gpus:
      case Action::list_sessions:
      case Action::stop_all:
      case Action::session_status:
      case Action::session_stop:
        return Plan{std::nullopt, std::move(route), 0, {}};
      case Action::mcp_end:
        return now(mcp_delete(*mcp_sessions_, {head.mcp_session_id, head.mcp_protocol_version}));
      default:
        return now(immediate(route, target, head.method));
    }
  }
  // A JSON body is the only kind a browser cannot send cross-site without a preflight.
  if (!is_json_content_type(head.content_type)) {
    return now(error_reply(415, "Content-Type must be application/json"));
  }
  const auto length = body_length(head.content_lengths, max_body_bytes_);
  if (const auto* failure = std::get_if<BodyFailure>(&length)) {
    return now(body_failure(route.action, failure->message));
  }
  return Plan{std::nullopt,
              std::move(route),
              std::get<std::size_t>(length),
              {head.mcp_session_id, head.mcp_protocol_version}};
}

Reply RequestHandler::immediate(const Route& route, const RequestTarget& target,
                                std::string_view method) const {
  switch (route.action) {
    case Action::method_not_allowed: {
      Reply reply = error_reply(405, "Method not allowed");
      reply.headers.emplace_back("Allow", route.allow);
      return reply;
    }
    case Action::not_implemented:
      return error_reply(501, "Unsupported method ('" + std::string(method) + "')");
    case Action::invalid_session_path:
      return error_reply(400, "Invalid session path for job_id");
    case Action::health:
      return json_reply(200, {{"ok", true}});
    case Action::static_file: {
      Reply reply = files_.serve(target.path, method == "HEAD");
      add_page_security_headers(reply);
      return reply;
    }
    default:
      return error_reply(404, "Unknown endpoint");
  }
}

Reply RequestHandler::body_failure(Action action, const std::string& message) const {
  if (action == Action::rpc || action == Action::mcp) {
    return rpc_reply(jsonrpc::error_text(kParseError, message));
  }
  return error_reply(400, "Bad request: " + message);
}

Reply RequestHandler::run(const Plan& plan, std::string_view body) const {
  const Route& route = plan.route;
  switch (route.action) {
    case Action::list_gpus:
      return rest_list_gpus(api_);
    case Action::list_sessions:
      return rest_status(api_, std::nullopt);
    case Action::telemetry:
      try {
        return json_reply(200, telemetry_->view());
      } catch (const std::exception& error) {
        return typed_error_reply(500, error.what(), "RuntimeError");
      }
    case Action::session_status:
      return rest_status(api_, route.job_id);
    case Action::stop_all:
      return rest_stop(api_, std::nullopt);
    case Action::session_stop:
      return rest_stop(api_, route.job_id);
    case Action::create_session:
      return rest_create(api_, body);
    case Action::rpc: {
      auto envelope = rpc_->handle_text(body);
      return envelope ? rpc_reply(std::move(*envelope)) : accepted_reply();
    }
    case Action::mcp:
      return mcp_post(*rpc_, *mcp_sessions_, plan.mcp, body);
    default:
      return error_reply(404, "Unknown endpoint");
  }
}

}  // namespace keepgpu::service::http
