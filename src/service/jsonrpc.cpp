#include "service/jsonrpc.hpp"

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "service/wire_json.hpp"

namespace keepgpu::service::jsonrpc {
namespace {

constexpr std::string_view kNotificationPrefix = "notifications/";

Response make_error(std::string id_text, int code, std::string message) {
  Response response;
  response.id_text = std::move(id_text);
  response.code = code;
  response.message = std::move(message);
  return response;
}

std::shared_ptr<spdlog::logger> logger() {
  static const auto instance = log::get("keep_gpu.service.jsonrpc");
  return instance;
}

}  // namespace

std::string Response::to_text() const {
  std::string out = R"({"jsonrpc":"2.0","id":)";
  out += id_text;
  if (result) {
    out += R"(,"result":)";
    out += wire_json(*result, core::json::Separators::compact);
  } else {
    out += R"(,"error":{"code":)";
    out += std::to_string(code);
    out += R"(,"message":)";
    out += core::json::quote(message);
    out += '}';
  }
  out += '}';
  return out;
}

std::string error_text(int code, std::string_view message) {
  return make_error("null", code, std::string(message)).to_text();
}

Dispatcher::Dispatcher(Api& api) {
  // ping touches nothing: no telemetry, no sessions, no health probe.
  add_method("ping", [](const core::Json&) { return core::Json::object(); });
  for (const Api::Method& method : Api::methods()) {
    add_method(std::string(method.name),
               [&api, handler = method.handler](const core::Json& p) { return (api.*handler)(p); });
  }
}

void Dispatcher::add_method(std::string name, Handler handler) {
  methods_[std::move(name)] = std::move(handler);
}

bool Dispatcher::has_method(std::string_view name) const {
  return methods_.find(name) != methods_.end();
}

core::Json Dispatcher::invoke(const std::string& method, const core::Json& params) const {
  const auto found = methods_.find(method);
  if (found == methods_.end()) throw ApiError(kMethodNotFound, "Unknown method: " + method);
  return found->second(params);
}

std::optional<Response> Dispatcher::process(const core::Json& message) const {
  if (!message.is_object()) {
    return make_error("null", kInvalidRequest, "JSON-RPC messages must be objects.");
  }
  const auto id = message.find("id");
  const bool has_id = id != message.end();
  // Integer ids of any size are echoed digit for digit, as the reader keeps them.
  const bool id_valid = has_id && (id->is_string() || core::json::is_integer(*id));
  const std::string reply_id = id_valid ? core::json::dump(*id) : "null";

  const auto method_field = message.find("method");
  if (method_field == message.end() || !method_field->is_string() ||
      method_field->get_ref<const std::string&>().empty()) {
    return make_error(reply_id, kInvalidRequest, "Request method is required.");
  }
  const std::string& method = method_field->get_ref<const std::string&>();

  const auto version = message.find("jsonrpc");
  if (version != message.end() && !(version->is_string() && *version == "2.0")) {
    return make_error(reply_id, kInvalidRequest, "JSON-RPC version must be 2.0.");
  }

  const bool notification_name = method.starts_with(kNotificationPrefix);
  const auto params_field = message.find("params");
  const bool params_ok = params_field == message.end() || params_field->is_object();
  const core::Json params = params_field != message.end() && params_field->is_object()
                                ? *params_field
                                : core::Json::object();

  if (!has_id) {
    // No id means a notification. It still runs, as JSON-RPC 2.0 says, but nothing is sent back,
    // not even an error. notifications/* params are not validated.
    if (notification_name && !has_method(method)) return std::nullopt;
    if (!notification_name && !params_ok) return std::nullopt;
    try {
      invoke(method, params);
    } catch (const std::exception& error) {
      KG_DEBUG(logger(), "Notification {} failed: {}", method, error.what());
    }
    return std::nullopt;
  }
  if (!id_valid) return make_error("null", kInvalidRequest, "Requests must include an id.");
  if (notification_name) {
    return make_error(reply_id, kInvalidRequest, "Notifications must not include an id.");
  }
  if (!params_ok) return make_error(reply_id, kInvalidParams, "params must be an object");

  try {
    Response response;
    response.id_text = reply_id;
    response.result = invoke(method, params);
    return response;
  } catch (const ApiError& error) {
    return make_error(reply_id, error.code(), error.what());
  } catch (const std::exception& error) {
    return make_error(reply_id, kInternalError, error.what());
  } catch (...) {
    return make_error(reply_id, kInternalError, "Internal error");
  }
}

std::optional<std::string> Dispatcher::handle_value(const core::Json& message) const {
  if (!message.is_array()) {
    const auto response = process(message);
    if (!response) return std::nullopt;
    return response->to_text();
  }
  if (message.empty()) {
    return error_text(kInvalidRequest, "JSON-RPC batch must not be empty.");
  }
  if (message.size() > kMaxBatchSize) {
    return error_text(kInvalidRequest,
                      "JSON-RPC batch too large: " + std::to_string(message.size()) +
                          " messages (max " + std::to_string(kMaxBatchSize) + ").");
  }
  std::string out = "[";
  bool any = false;
  for (const core::Json& item : message) {
    const auto response = process(item);
    if (!response) continue;
    if (any) out += ',';
    out += response->to_text();
    any = true;
  }
  if (!any) return std::nullopt;  // a batch of notifications gets nothing back
  out += ']';
  return out;
}

Decoded decode(std::string_view text) {
  Decoded out;
  if (auto bad_utf8 = core::text::utf8_decode_error(text)) {
    out.error_envelope = error_text(kParseError, *bad_utf8);
    return out;
  }
  try {
    core::json::ReadOptions options;
    options.duplicate_keys = core::json::DuplicateKeys::last_wins;  // as upstream parses
    out.message = core::json::parse(text, options);
  } catch (const std::exception& error) {
    out.error_envelope = error_text(kParseError, error.what());
  }
  return out;
}

std::optional<std::string> Dispatcher::handle_text(std::string_view text) const {
  Decoded decoded = decode(text);
  if (!decoded.message) return std::move(decoded.error_envelope);
  return handle_value(*decoded.message);
}

}  // namespace keepgpu::service::jsonrpc
