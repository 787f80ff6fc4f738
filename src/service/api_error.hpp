// An operation failed in a way the caller should see: the JSON-RPC error code and message, plus
// the error class the REST layer reports in its typed error bodies.
#pragma once

#include <stdexcept>
#include <string>

namespace keepgpu::service {

inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kStartupUnavailable = -32000;

class ApiError : public std::runtime_error {
 public:
  // `type` is the class name REST puts in {"error": {"message", "type"}} for 500/503 answers,
  // e.g. "SessionStartupUnavailable", "DeviceEnumerationUnavailableError", "RuntimeError".
  ApiError(int code, const std::string& message, std::string type = "RuntimeError")
      : std::runtime_error(message), code_(code), type_(std::move(type)) {}
  int code() const noexcept { return code_; }
  const std::string& type() const noexcept { return type_; }

 private:
  int code_;
  std::string type_;
};

}  // namespace keepgpu::service
