// The CLI side of the service protocol: one JSON-RPC call with strict decoding
// of the body and validation of the JSON-RPC envelope, and the health check. Failures come in the
// three classes that steer the commands (the `stop --all` fallback, `service-stop`, the `start`
// rollback): unreachable, response error, RPC error.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/json.hpp"
#include "service/client.hpp"

namespace keepgpu::cli {

class ServiceError : public std::runtime_error {
 public:
  enum class Kind { unreachable, response, rpc };
  ServiceError(Kind kind, const std::string& message, std::optional<long long> code = std::nullopt)
      : std::runtime_error(message), kind_(kind), code_(code) {}
  Kind kind() const { return kind_; }
  // The JSON-RPC error.code of an RPC error (nullopt when it does not fit 64 bits).
  std::optional<long long> code() const { return code_; }

 private:
  Kind kind_;
  std::optional<long long> code_;
};

// A response error with the given message.
[[noreturn]] void throw_response_error(const std::string& message);

// Decodes a response body: empty is {}, invalid UTF-8 and non-JSON are
// response errors naming `url`.
core::Json decode_body(const std::string& body, const std::string& url);

// Checks a decoded JSON-RPC response envelope and returns its result object. Throws
// ServiceError (response or rpc).
core::Json check_envelope(const core::Json& response, long long request_id);

// POST /rpc with `params` (an object), then decoding and the envelope checks. Throws ServiceError.
core::Json call_rpc(const service::client::Endpoint& endpoint, std::string_view method,
                    const core::Json& params,
                    std::chrono::milliseconds timeout = service::client::kDefaultTimeout);

// GET /health answered 2xx with an object whose "ok" is truthy. Never throws, never prints.
bool service_healthy(const service::client::Endpoint& endpoint,
                     std::chrono::milliseconds timeout = service::client::kDefaultTimeout);

// Python's repr() of a string, for messages that quote ids the way upstream did.
std::string pyrepr(std::string_view utf8);

}  // namespace keepgpu::cli
