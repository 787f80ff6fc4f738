// Api: the four operations (start_keep, stop_keep, status, list_gpus) with upstream's params,
// defaults, validation order, messages and result shapes. Every transport
// (JSON-RPC over HTTP and stdio, REST, MCP tools) calls these; none validates on its own.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"

#include "gpu/backend.hpp"
#include "service/api_error.hpp"
#include "service/session_manager.hpp"

namespace keepgpu::service {

// Produces the GPU listing; throws DeviceEnumerationUnavailableError when the device
// count cannot be read. The default uses the platform backend's telemetry and returns [] on a
// machine without a GPU platform.
using GpuLister = std::function<std::vector<gpu::GpuInfo>()>;
GpuLister default_gpu_lister();

class Api {
 public:
  Api(SessionManager& sessions, GpuLister lister = default_gpu_lister());

  // Direct methods. `params` is the JSON-RPC params object (already checked to be an object).
  // Throw ApiError with the documented code and message.
  core::Json start_keep(const core::Json& params);
  core::Json stop_keep(const core::Json& params);
  core::Json status(const core::Json& params);
  core::Json list_gpus(const core::Json& params);

  // The four methods by name, in the order the tool list shows them: the one table that JSON-RPC
  // and MCP dispatch through.
  struct Method {
    std::string_view name;
    core::Json (Api::*handler)(const core::Json& params);
  };
  static std::span<const Method> methods();

  // Dispatches one of the four names; ApiError(-32601, "Unknown method: <name>") otherwise.
  core::Json call(std::string_view method, const core::Json& params);

  // Creating a session from a request body (the REST form of start_keep): unknown fields are named
  // together, an existing job id is refused before the listing is read, and explicit gpu_ids must
  // be ones the listing advertises. Throws ApiError: -32602 for bad input, -32000 (type
  // "SessionStartupUnavailable") when no GPU session can start, -32603 otherwise.
  core::Json create_session(const core::Json& body);

  SessionManager& sessions() { return sessions_; }

 private:
  // The listing as checked list_gpus records; ApiError -32000 (type
  // "DeviceEnumerationUnavailableError") when the devices cannot be enumerated, -32603 when the
  // lister fails otherwise or returns a malformed listing.
  core::Json gpu_records();

  SessionManager& sessions_;
  GpuLister lister_;
};

}  // namespace keepgpu::service
