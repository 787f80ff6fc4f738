// Parameter rules of the direct methods and the mapping from engine exceptions to API errors
// (-32602 bad input, -32000 startup unavailable, -32603 anything else). JSON-RPC, MCP tools and the
// REST facade all go through these, so every transport reports the same texts.
#pragma once

#include <exception>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.hpp"
#include "core/time_limit.hpp"

#include "service/api_error.hpp"
#include "service/session_manager.hpp"

namespace keepgpu::service {

// Parameter names each direct method accepts.
inline constexpr std::string_view kStartKeepNames[] = {
    "gpu_ids", "vram", "interval", "busy_threshold", "job_id", "util_target", "duration", "until"};
inline constexpr std::string_view kJobIdNames[] = {"job_id"};

// The members of `object` not in `allowed`, sorted (byte order, as Python sorts str).
std::vector<std::string> unknown_names(const core::Json& object,
                                       std::span<const std::string_view> allowed);

// ApiError(-32602, "Unknown params for <method>: a, b") when `params` names anything else.
void check_param_names(std::string_view method, const core::Json& params,
                       std::span<const std::string_view> allowed);

// The start_keep parameter checks in order (gpu_ids, interval, busy_threshold, vram, job_id,
// util_target, then the time limit: duration or until, not both), first failure wins as
// ApiError(-32602). Fills the group options, the session's end (`duration` seconds after `now`, or
// `until`) and the params echo, which keeps the caller's JSON values (an integer interval stays an
// integer, a vram string is not trimmed; util_target, duration and until appear only when given).
StartRequest validate_start_params(const core::Json& params,
                                   core::WallClock::time_point now = core::WallClock::now());

// The `job_id` of stop_keep/status: absent or null -> nullopt (all sessions); otherwise it must
// satisfy the job-id grammar (ApiError -32602 "job_id must be a URL-path-safe non-empty string").
std::optional<std::string> job_id_param(const core::Json& params);

// Maps an exception from validation, the keeper or the registry onto the API's classes:
// input errors (ValueError, TypeError) -32602; hardware unavailable (ControllerStartupUnavailable,
// DeviceEnumerationUnavailableError) -32000 with type "SessionStartupUnavailable"; anything else
// -32603 "RuntimeError". An ApiError passes through unchanged.
ApiError to_api_error(const std::exception_ptr& error);

// Python's repr() of a str and of a list of str ("['a', 'x']"), as upstream's REST messages quote
// field names.
std::string python_str_repr(std::string_view text);
std::string python_str_list_repr(const std::vector<std::string>& items);

}  // namespace keepgpu::service
