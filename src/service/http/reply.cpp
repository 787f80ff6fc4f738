#include "service/http/reply.hpp"

#include "service/wire_json.hpp"

namespace keepgpu::service::http {

Reply json_reply(int status, const core::Json& body) {
  Reply reply;
  reply.status = status;
  reply.body = wire_json(body);
  return reply;
}

Reply error_reply(int status, std::string_view message) {
  return json_reply(status, {{"error", {{"message", message}}}});
}

Reply typed_error_reply(int status, std::string_view message, std::string_view type) {
  return json_reply(status, {{"error", {{"message", message}, {"type", type}}}});
}

Reply rpc_reply(std::string envelope) {
  Reply reply;
  reply.body = std::move(envelope);
  return reply;
}

Reply accepted_reply() {
  Reply reply;
  reply.status = 202;
  reply.content_type.reset();
  return reply;
}

}  // namespace keepgpu::service::http
