#include "service/api.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "core/errors.hpp"
#include "core/gpu_ids.hpp"
#include "service/api_validation.hpp"
#include "service/gpu_listing.hpp"

namespace keepgpu::service {
namespace {

constexpr const char* kNoUsableGpus = "No usable visible GPUs are available";
constexpr const char* kStartupUnavailableType = "SessionStartupUnavailable";
constexpr const char* kEnumerationUnavailableType = "DeviceEnumerationUnavailableError";

// Only ApiError leaves the direct methods: whatever else escapes is mapped by its class.
template <typename F>
nlohmann::json guarded(F&& body) {
  try {
    return body();
  } catch (const ApiError&) {
    throw;
  } catch (...) {
    throw to_api_error(std::current_exception());
  }
}

nlohmann::json error_body(const std::string& message) {
  nlohmann::json error = nlohmann::json::object();
  error["message"] = message;
  nlohmann::json body = nlohmann::json::object();
  body["error"] = std::move(error);
  return body;
}

RestReply bad_request(const std::string& message) {
  return {400, error_body("Bad request: " + message)};
}

RestReply typed_error(int status, const std::string& message, const std::string& type) {
  RestReply reply{status, error_body(message)};
  reply.body["error"]["type"] = type;
  return reply;
}

// How a failed start or listing surfaces on the REST create path: unavailable is 503
// (SessionStartupUnavailable), bad input 400 "Bad request: ...", anything else 500.
RestReply create_failure(const ApiError& error) {
  switch (error.code()) {
    case kInvalidParams:
      return bad_request(error.what());
    case kStartupUnavailable:
      return typed_error(503, error.what(), kStartupUnavailableType);
    default:
      return typed_error(500, error.what(), error.type().empty() ? "RuntimeError" : error.type());
  }
}

}  // namespace

Api::Api(SessionManager& sessions, GpuLister lister)
    : sessions_(sessions), lister_(std::move(lister)) {}

nlohmann::json Api::start_keep(const nlohmann::json& params) {
  return guarded([&] {
    check_param_names("start_keep", params, kStartKeepNames);
    StartRequest request = validate_start_params(params);
    nlohmann::json result = nlohmann::json::object();
    result["job_id"] = sessions_.start(std::move(request));
    return result;
  });
}

nlohmann::json Api::stop_keep(const nlohmann::json& params) {
  return guarded([&] {
    check_param_names("stop_keep", params, kJobIdNames);
    const auto job_id = job_id_param(params);
    return (job_id ? sessions_.stop(*job_id) : sessions_.stop_all()).to_json();
  });
}

nlohmann::json Api::status(const nlohmann::json& params) {
  return guarded([&] {
    check_param_names("status", params, kJobIdNames);
    const auto job_id = job_id_param(params);
    return job_id ? sessions_.status_one(*job_id) : sessions_.status_all();
  });
}

nlohmann::json Api::list_gpus(const nlohmann::json& params) {
  return guarded([&] {
    check_param_names("list_gpus", params, {});
    nlohmann::json result = nlohmann::json::object();
    result["gpus"] = gpu_records();
    return result;
  });
}

nlohmann::json Api::gpu_records() {
  std::vector<gpu::GpuInfo> gpus;
  try {
    gpus = lister_();
  } catch (const DeviceEnumerationUnavailableError& e) {
    throw ApiError(kStartupUnavailable, e.what(), kEnumerationUnavailableType);
  } catch (const ControllerStartupUnavailable& e) {
    const auto* std_error = dynamic_cast<const std::exception*>(&e);
    throw ApiError(kStartupUnavailable,
                   std_error ? std_error->what() : "GPU enumeration is unavailable",
                   kEnumerationUnavailableType);
  } catch (const std::exception& e) {
    throw ApiError(kInternalError, e.what(), "RuntimeError");
  }
  nlohmann::json records = gpu_records_json(gpus);
  try {
    check_gpu_records(records);
  } catch (const std::exception& e) {
    throw ApiError(kInternalError, e.what(), "RuntimeError");
  }
  return records;
}

bool Api::has_method(std::string_view method) const {
  return method == "start_keep" || method == "stop_keep" || method == "status" ||
         method == "list_gpus";
}

nlohmann::json Api::call(std::string_view method, const nlohmann::json& params) {
  if (method == "start_keep") return start_keep(params);
  if (method == "stop_keep") return stop_keep(params);
  if (method == "status") return status(params);
  if (method == "list_gpus") return list_gpus(params);
  throw ApiError(kMethodNotFound, fmt::format("Unknown method: {}", method));
}

RestReply Api::rest_create_session(const nlohmann::json& body) {
  try {
    if (!body.is_object()) return bad_request("JSON body must be an object");
    const auto unknown = unknown_names(body, kStartKeepNames);
    if (!unknown.empty()) {
      return bad_request("Unknown request fields: " + python_str_list_repr(unknown));
    }

    // Cheap checks first: a bad request never reaches the GPU listing.
    StartRequest request;
    try {
      request = validate_start_params(body);
    } catch (const ApiError& e) {
      return create_failure(e);
    }
    if (request.job_id && sessions_.contains(*request.job_id)) {
      return bad_request(fmt::format("job_id {} already exists", *request.job_id));
    }

    // Explicit ids must be ones the listing advertises (REST only; JSON-RPC checks the count).
    if (request.options.gpu_ids) {
      nlohmann::json payload = nlohmann::json::object();
      try {
        payload["gpus"] = gpu_records();
        check_gpu_payload(payload);
      } catch (const ApiError& e) {
        return create_failure(e);
      }
      const auto& records = payload["gpus"];
      if (records.empty()) return typed_error(503, kNoUsableGpus, kStartupUnavailableType);
      std::set<std::int64_t> listed;
      for (const auto& record : records)
        listed.insert(record["id"].get<std::int64_t>());
      std::vector<std::int64_t> offending;
      for (const auto id : *request.options.gpu_ids) {
        if (!listed.contains(id)) offending.push_back(id);
      }
      if (!offending.empty()) {
        return bad_request(fmt::format("gpu_ids must match listed visible GPU IDs ({}); got {}",
                                       fmt::join(listed, ", "), core::format_id_list(offending)));
      }
    }

    nlohmann::json result = nlohmann::json::object();
    try {
      result["job_id"] = sessions_.start(std::move(request));
    } catch (...) {
      return create_failure(to_api_error(std::current_exception()));
    }
    return {200, std::move(result)};
  } catch (...) {
    return create_failure(to_api_error(std::current_exception()));
  }
}

RestReply Api::rest_list_gpus() {
  try {
    nlohmann::json body = nlohmann::json::object();
    body["gpus"] = gpu_records();
    return {200, std::move(body)};
  } catch (const ApiError& e) {
    if (e.code() == kStartupUnavailable) return typed_error(503, e.what(), e.type());
    return typed_error(500, e.what(), "RuntimeError");
  } catch (const std::exception& e) {
    return typed_error(500, e.what(), "RuntimeError");
  }
}

}  // namespace keepgpu::service
