#include "cli/service_call.hpp"

#include <fmt/format.h>

#include "core/json.hpp"
#include "core/text.hpp"

namespace keepgpu::cli {
namespace client = service::client;

namespace {

constexpr const char* kPrefix = "Malformed JSON-RPC response: ";

[[noreturn]] void malformed(const char* detail) {
  throw_response_error(std::string(kPrefix) + detail);
}

// Python's bytes.decode("utf-8", "replace").
std::string decode_replacing(std::string_view bytes) {
  std::string out;
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t start = pos;
    if (core::text::decode_utf8(bytes, pos)) {
      out.append(bytes.substr(start, pos - start));
    } else {
      out += "\xEF\xBF\xBD";
    }
  }
  return out;
}

bool id_matches(const core::Json* id, long long request_id) {
  return id != nullptr && id->is_number_integer() && *id == request_id;
}

}  // namespace

void throw_response_error(const std::string& message) {
  throw ServiceError(ServiceError::Kind::response, message);
}

core::Json decode_body(const std::string& body, const std::string& url) {
  if (body.empty()) return core::Json::object();
  if (!core::text::is_valid_utf8(body)) {
    throw_response_error(fmt::format("Invalid UTF-8 response from service endpoint: {}", url));
  }
  try {
    core::json::ReadOptions options;
    options.duplicate_keys = core::json::DuplicateKeys::last_wins;
    options.max_depth = 512;
    return core::json::parse(body, options);
  } catch (const std::exception&) {
    throw_response_error(fmt::format("Non-JSON response from service endpoint: {}", url));
  }
}

core::Json check_envelope(const core::Json& response, long long request_id) {
  if (!response.is_object()) malformed("response must be an object");
  const core::Json* version = core::json::member(response, "jsonrpc");
  if (version == nullptr || *version != "2.0") malformed("jsonrpc must be 2.0");
  const core::Json* error = core::json::member(response, "error");
  const core::Json* result = core::json::member(response, "result");
  const core::Json* id = core::json::member(response, "id");
  if (error != nullptr && result != nullptr) {
    malformed("both error and result members are present");
  }
  if (error != nullptr) {
    if (!error->is_object()) malformed("error must be an object");
    if (id == nullptr) malformed("missing id");
    if (!id_matches(id, request_id)) malformed("mismatched id");
    const core::Json* code = core::json::member(*error, "code");
    if (code == nullptr || !core::json::is_integer(*code)) {
      malformed("error.code must be an integer");
    }
    const core::Json* message = core::json::member(*error, "message");
    if (message == nullptr || !message->is_string()) malformed("error.message must be a string");
    std::optional<long long> code_value;  // nullopt when it does not fit a signed 64-bit integer
    if (code->is_number_integer() &&
        (!code->is_number_unsigned() ||
         code->get<std::uint64_t>() <= static_cast<std::uint64_t>(INT64_MAX))) {
      code_value = code->get<std::int64_t>();
    }
    throw ServiceError(ServiceError::Kind::rpc, message->get<std::string>(), code_value);
  }
  if (!id_matches(id, request_id)) malformed("mismatched id");
  if (result == nullptr) malformed("missing result");
  if (!result->is_object()) malformed("result must be an object");
  return *result;
}

core::Json call_rpc(const client::Endpoint& endpoint, std::string_view method,
                    const core::Json& params, std::chrono::milliseconds timeout) {
  const std::string url = endpoint.url("/rpc");
  const long long id = client::next_rpc_id();
  client::Response response;
  try {
    response = client::post_rpc(endpoint, method, core::json::dump(params), id, timeout);
  } catch (const client::Unreachable& e) {
    throw ServiceError(ServiceError::Kind::unreachable,
                       fmt::format("Cannot reach KeepGPU service at {}: {}", url, e.what()));
  } catch (const client::ProtocolError& e) {
    throw_response_error(fmt::format("Service HTTP error: {}", e.what()));
  } catch (const client::UntrustedListener& e) {
    throw_response_error(e.what());
  }
  if (response.status < 200 || response.status > 299) {
    if (response.body.empty()) {
      throw_response_error(
          fmt::format("Service HTTP error: HTTP Error {}: {}", response.status, response.reason));
    }
    throw_response_error(fmt::format("Service HTTP error: {}", decode_replacing(response.body)));
  }
  return check_envelope(decode_body(response.body, url), id);
}

bool service_healthy(const client::Endpoint& endpoint, std::chrono::milliseconds timeout) {
  try {
    const auto response = client::get_health(endpoint, timeout);
    if (response.status < 200 || response.status > 299) return false;
    const core::Json body = decode_body(response.body, endpoint.url("/health"));
    if (!body.is_object()) return false;
    const core::Json* ok = core::json::member(body, "ok");
    return ok != nullptr && core::json::truthy(*ok);
  } catch (const std::exception&) {
    return false;
  }
}

std::string pyrepr(std::string_view utf8) {
  return core::text::python_repr(utf8);
}

}  // namespace keepgpu::cli
