#include "service/jsonrpc.hpp"

#include "core/log.hpp"
#include "core/strict_json.hpp"
#include "service/pyjson.hpp"

namespace keepgpu::service::jsonrpc {
namespace {

constexpr std::string_view kNotificationPrefix = "notifications/";

const pyjson::DumpOptions kCompact{pyjson::Separators::compact, true};

Response make_error(std::string id_text, int code, std::string message) {
  Response response;
  response.id_text = std::move(id_text);
  response.code = code;
  response.message = std::move(message);
  return response;
}

bool is_integer_literal(std::string_view text) {
  if (!text.empty() && text.front() == '-') text.remove_prefix(1);
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The id as it goes back on the wire. The decoder saturates integers beyond 64 bits, so integer
// ids are taken from the request text when it is at hand (integer ids of any magnitude are echoed
// exactly).
std::string echoed_id_text(const nlohmann::json& id, std::string_view raw_message) {
  if (id.is_string()) return pyjson::quote(id.get_ref<const std::string&>());
  if (!raw_message.empty()) {
    const auto raw = pyjson::raw_member(raw_message, "id");
    if (raw && is_integer_literal(*raw)) {
      // Python reads -0 as the integer 0.
      return *raw == "-0" ? std::string("0") : std::string(*raw);
    }
  }
  return pyjson::dump(id, kCompact);
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
    out += pyjson::dump(*result, kCompact);
  } else {
    out += R"(,"error":{"code":)";
    out += std::to_string(code);
    out += R"(,"message":)";
    out += pyjson::quote(message);
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
  add_method("ping", [](const nlohmann::json&) { return nlohmann::json::object(); });
  for (const Api::Method& method : Api::methods()) {
    add_method(std::string(method.name), [&api, handler = method.handler](const nlohmann::json& p) {
      return (api.*handler)(p);
    });
  }
}

void Dispatcher::add_method(std::string name, Handler handler) {
  methods_[std::move(name)] = std::move(handler);
}

bool Dispatcher::has_method(std::string_view name) const {
  return methods_.find(name) != methods_.end();
}

nlohmann::json Dispatcher::invoke(const std::string& method, const nlohmann::json& params) const {
  const auto found = methods_.find(method);
  if (found == methods_.end()) throw ApiError(kMethodNotFound, "Unknown method: " + method);
  return found->second(params);
}

std::optional<Response> Dispatcher::process(const nlohmann::json& message,
                                            std::string_view raw_text) const {
  if (!message.is_object()) {
    return make_error("null", kInvalidRequest, "JSON-RPC messages must be objects.");
  }
  const auto id = message.find("id");
  const bool has_id = id != message.end();
  const bool id_valid = has_id && (id->is_string() || id->is_number_integer());
  const std::string reply_id = id_valid ? echoed_id_text(*id, raw_text) : "null";

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
  const nlohmann::json params = params_field != message.end() && params_field->is_object()
                                    ? *params_field
                                    : nlohmann::json::object();

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

std::optional<std::string> Dispatcher::handle_value(const nlohmann::json& message,
                                                    std::string_view raw_text) const {
  if (!message.is_array()) {
    const auto response = process(message, raw_text);
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
  std::vector<std::string_view> raw_items;
  if (!raw_text.empty()) raw_items = pyjson::raw_elements(raw_text);
  if (raw_items.size() != message.size()) raw_items.clear();

  std::string out = "[";
  bool any = false;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const auto response = process(message[i], raw_items.empty() ? "" : raw_items[i]);
    if (!response) continue;
    if (any) out += ',';
    out += response->to_text();
    any = true;
  }
  if (!any) return std::nullopt;  // a batch of notifications gets nothing back
  out += ']';
  return out;
}

std::optional<std::string> Dispatcher::handle_text(std::string_view text) const {
  if (auto bad_utf8 = pyjson::utf8_decode_error(text)) return error_text(kParseError, *bad_utf8);
  nlohmann::json message;
  try {
    core::StrictJsonOptions options;
    options.duplicate_keys = core::DuplicateKeys::last_wins;  // as upstream parses
    message = core::parse_strict_json(text, options);
  } catch (const std::exception& error) {
    return error_text(kParseError, error.what());
  }
  return handle_value(message, text);
}

}  // namespace keepgpu::service::jsonrpc
