#include "service/http/reply.hpp"

#include "service/pyjson.hpp"

namespace keepgpu::service::http {

Reply json_reply(int status, const nlohmann::json& body) {
  Reply reply;
  reply.status = status;
  reply.body = pyjson::dump(body);
  return reply;
}

Reply error_reply(int status, std::string_view message) {
  return json_reply(status, {{"error", {{"message", message}}}});
}

Reply typed_error_reply(int status, std::string_view message, std::string_view type) {
  // Built by hand: nlohmann::json sorts keys, and upstream writes "message" before "type".
  Reply reply;
  reply.status = status;
  reply.body = R"({"error": {"message": )" + pyjson::quote(message) + R"(, "type": )" +
               pyjson::quote(type) + "}}";
  return reply;
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
