#include "service/api_validation.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/defaults.hpp"
#include "core/errors.hpp"
#include "core/gpu_ids.hpp"
#include "core/identifiers.hpp"
#include "core/interval.hpp"
#include "core/text.hpp"
#include "core/thresholds.hpp"
#include "core/vram.hpp"

namespace keepgpu::service {
namespace {

constexpr const char* kJobIdMessage = "job_id must be a URL-path-safe non-empty string";

std::string message_of(const std::exception& e) {
  return e.what();
}

// Runs one validator and turns its input errors into -32602, so the first failing field decides.
template <typename F>
auto as_invalid_params(F&& validate) {
  try {
    return validate();
  } catch (const ValueError& e) {
    throw ApiError(kInvalidParams, message_of(e), "ValueError");
  } catch (const TypeError& e) {
    throw ApiError(kInvalidParams, message_of(e), "TypeError");
  }
}

std::string validated_job_id(const core::Json& value) {
  if (!value.is_string() || !core::is_valid_job_id(value.get_ref<const std::string&>())) {
    throw ApiError(kInvalidParams, kJobIdMessage, "ValueError");
  }
  return value.get<std::string>();
}

}  // namespace

std::vector<std::string> unknown_names(const core::Json& object,
                                       std::span<const std::string_view> allowed) {
  std::vector<std::string> unknown;
  if (!object.is_object()) return unknown;
  for (const auto& item : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      unknown.push_back(item.key());
    }
  }
  std::sort(unknown.begin(), unknown.end());
  return unknown;
}

void check_param_names(std::string_view method, const core::Json& params,
                       std::span<const std::string_view> allowed) {
  if (!params.is_object()) throw ApiError(kInvalidParams, "params must be an object", "TypeError");
  const auto unknown = unknown_names(params, allowed);
  if (unknown.empty()) return;
  std::string names;
  for (const auto& name : unknown) {
    if (!names.empty()) names += ", ";
    names += name;
  }
  throw ApiError(kInvalidParams, fmt::format("Unknown params for {}: {}", method, names),
                 "ValueError");
}

StartRequest validate_start_params(const core::Json& params, core::WallClock::time_point now) {
  StartRequest request;
  core::Json gpu_ids = nullptr;
  if (auto it = params.find("gpu_ids"); it != params.end() && !it->is_null()) {
    request.options.gpu_ids = as_invalid_params([&] { return core::validate_gpu_ids_json(*it); });
    gpu_ids = *it;
  }

  core::Json interval = core::kDefaultIntervalSeconds;
  if (auto it = params.find("interval"); it != params.end()) {
    const core::Interval checked =
        as_invalid_params([&] { return core::validate_interval_json(*it); });
    request.options.interval_seconds = checked.seconds();
    interval = *it;
  } else {
    request.options.interval_seconds = core::kDefaultIntervalSeconds;
  }

  int busy_threshold = core::kDefaultBusyThreshold;
  if (auto it = params.find("busy_threshold"); it != params.end()) {
    busy_threshold = as_invalid_params([&] { return core::validate_busy_threshold_json(*it); });
  }
  request.options.busy_threshold = busy_threshold;

  core::Json vram = core::kDefaultVram;
  if (auto it = params.find("vram"); it != params.end()) {
    as_invalid_params([&] { return core::parse_vram_elements_json(*it); });
    vram = *it;
    // The keeper parses text; an integer byte count is the same amount without a unit.
    request.options.vram = it->is_string() ? it->get<std::string>() : it->dump();
  } else {
    request.options.vram = core::kDefaultVram;
  }

  if (auto it = params.find("job_id"); it != params.end() && !it->is_null()) {
    request.job_id = validated_job_id(*it);
  }

  const auto given = [&](const char* name) {
    const auto it = params.find(name);
    return it != params.end() && !it->is_null() ? &*it : nullptr;
  };
  const core::Json* util_target = given("util_target");
  if (util_target != nullptr) {
    request.options.util_target =
        as_invalid_params([&] { return core::validate_util_target_json(*util_target); });
  }
  const core::Json* duration = given("duration");
  const core::Json* until = given("until");
  if (duration != nullptr && until != nullptr) {
    throw ApiError(kInvalidParams, "give either duration or until, not both", "ValueError");
  }
  if (duration != nullptr) {
    const double seconds =
        as_invalid_params([&] { return core::validate_duration_json(*duration); });
    request.ends_at = core::deadline_after(now, seconds);
  }
  if (until != nullptr) {
    request.ends_at = as_invalid_params([&] {
      // A number or another non-string fails the same grammar, with the value shown.
      const std::string text =
          until->is_string() ? until->get<std::string>() : core::json::dump(*until);
      return core::validate_until(core::parse_iso8601(text), now);
    });
  }

  request.params = core::Json::object();
  request.params["gpu_ids"] = std::move(gpu_ids);
  request.params["vram"] = std::move(vram);
  request.params["interval"] = std::move(interval);
  request.params["busy_threshold"] = busy_threshold;
  if (util_target != nullptr) request.params["util_target"] = request.options.util_target;
  if (duration != nullptr) request.params["duration"] = *duration;
  if (until != nullptr) request.params["until"] = *until;
  return request;
}

std::optional<std::string> job_id_param(const core::Json& params) {
  auto it = params.find("job_id");
  if (it == params.end() || it->is_null()) return std::nullopt;
  return validated_job_id(*it);
}

ApiError to_api_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const ApiError& e) {
    return e;
  } catch (const ControllerStartupUnavailable& e) {
    // A marker base: the text lives in the std::exception half of the concrete error.
    const auto* std_error = dynamic_cast<const std::exception*>(&e);
    return ApiError(kStartupUnavailable,
                    std_error ? std_error->what() : "GPU session startup is unavailable",
                    "SessionStartupUnavailable");
  } catch (const DeviceEnumerationUnavailableError& e) {
    return ApiError(kStartupUnavailable, e.what(), "SessionStartupUnavailable");
  } catch (const ValueError& e) {
    return ApiError(kInvalidParams, e.what(), "ValueError");
  } catch (const TypeError& e) {
    return ApiError(kInvalidParams, e.what(), "TypeError");
  } catch (const std::exception& e) {
    return ApiError(kInternalError, e.what(), "RuntimeError");
  } catch (...) {
    return ApiError(kInternalError, "unknown error", "RuntimeError");
  }
}

std::string python_str_repr(std::string_view text) {
  return core::text::python_repr(text);
}

std::string python_str_list_repr(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += python_str_repr(items[i]);
  }
  return out + "]";
}

}  // namespace keepgpu::service
