#include "service/api.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
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
core::Json guarded(F&& body) {
  try {
    return body();
  } catch (const ApiError&) {
    throw;
  } catch (...) {
    throw to_api_error(std::current_exception());
  }
}

ApiError bad_request(const std::string& message) {
  return ApiError(kInvalidParams, message, "ValueError");
}

}  // namespace

Api::Api(SessionManager& sessions, GpuLister lister)
    : sessions_(sessions), lister_(std::move(lister)) {}

core::Json Api::start_keep(const core::Json& params) {
  return guarded([&] {
    check_param_names("start_keep", params, kStartKeepNames);
    StartRequest request = validate_start_params(params);
    core::Json result = core::Json::object();
    result["job_id"] = sessions_.start(std::move(request));
    return result;
  });
}

core::Json Api::stop_keep(const core::Json& params) {
  return guarded([&] {
    check_param_names("stop_keep", params, kJobIdNames);
    const auto job_id = job_id_param(params);
    return (job_id ? sessions_.stop(*job_id) : sessions_.stop_all()).to_json();
  });
}

core::Json Api::status(const core::Json& params) {
  return guarded([&] {
    check_param_names("status", params, kJobIdNames);
    const auto job_id = job_id_param(params);
    return job_id ? sessions_.status_one(*job_id) : sessions_.status_all();
  });
}

core::Json Api::list_gpus(const core::Json& params) {
  return guarded([&] {
    check_param_names("list_gpus", params, {});
    core::Json result = core::Json::object();
    result["gpus"] = gpu_records();
    return result;
  });
}

core::Json Api::gpu_records() {
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
  core::Json records = gpu_records_json(gpus);
  try {
    check_gpu_records(records);
  } catch (const std::exception& e) {
    throw ApiError(kInternalError, e.what(), "RuntimeError");
  }
  return records;
}

std::span<const Api::Method> Api::methods() {
  static constexpr std::array<Method, 4> kMethods{{
      {"start_keep", &Api::start_keep},
      {"stop_keep", &Api::stop_keep},
      {"status", &Api::status},
      {"list_gpus", &Api::list_gpus},
  }};
  return kMethods;
}

core::Json Api::call(std::string_view method, const core::Json& params) {
  for (const Method& entry : methods()) {
    if (entry.name == method) return (this->*entry.handler)(params);
  }
  throw ApiError(kMethodNotFound, fmt::format("Unknown method: {}", method));
}

core::Json Api::create_session(const core::Json& body) {
  try {
    if (!body.is_object()) throw bad_request("JSON body must be an object");
    const auto unknown = unknown_names(body, kStartKeepNames);
    if (!unknown.empty()) {
      throw bad_request("Unknown request fields: " + python_str_list_repr(unknown));
    }

    // Cheap checks first: a bad request never reaches the GPU listing.
    StartRequest request = validate_start_params(body);
    if (request.job_id && sessions_.contains(*request.job_id)) {
      throw bad_request(fmt::format("job_id {} already exists", *request.job_id));
    }

    // Explicit ids must be ones the listing advertises (here only; start_keep checks the count).
    if (request.options.gpu_ids) {
      core::Json payload = core::Json::object();
      payload["gpus"] = gpu_records();
      check_gpu_payload(payload);
      const auto& records = payload["gpus"];
      if (records.empty()) throw ApiError(kStartupUnavailable, kNoUsableGpus);
      std::set<std::int64_t> listed;
      for (const auto& record : records)
        listed.insert(record["id"].get<std::int64_t>());
      std::vector<std::int64_t> offending;
      for (const auto id : *request.options.gpu_ids) {
        if (!listed.contains(id)) offending.push_back(id);
      }
      if (!offending.empty()) {
        throw bad_request(fmt::format("gpu_ids must match listed visible GPU IDs ({}); got {}",
                                      fmt::join(listed, ", "), core::format_id_list(offending)));
      }
    }

    core::Json result = core::Json::object();
    result["job_id"] = sessions_.start(std::move(request));
    return result;
  } catch (...) {
    // Whatever kept the session from starting (no listing, no GPU, no platform) is reported as
    // the session's startup being unavailable.
    ApiError error = to_api_error(std::current_exception());
    if (error.code() == kStartupUnavailable) {
      throw ApiError(kStartupUnavailable, error.what(), kStartupUnavailableType);
    }
    if (error.type().empty()) throw ApiError(error.code(), error.what());
    throw error;
  }
}

}  // namespace keepgpu::service
