#include "cli/result_checks.hpp"

#include <fmt/format.h>
#include "core/json.hpp"

#include <cmath>
#include <set>

#include "cli/service_call.hpp"
#include "core/gpu_ids.hpp"
#include "core/identifiers.hpp"
#include "core/interval.hpp"
#include "core/thresholds.hpp"
#include "core/vram.hpp"

namespace keepgpu::cli {
namespace {

constexpr const char* kJobIdReason = "job_id must be a URL-path-safe non-empty string";

[[noreturn]] void fail(const std::string& method, const std::string& detail) {
  throw_response_error(fmt::format("Malformed {} response: {}", method, detail));
}

bool valid_job_id(const core::Json& v) {
  return v.is_string() && core::is_valid_job_id(v.get_ref<const std::string&>());
}

// What the service's own validation would say about one recorded param, or nullopt.
std::optional<std::string> param_problem(const std::string& field, const core::Json& value) {
  try {
    if (field == "gpu_ids") {
      core::validate_gpu_ids_json(value);
    } else if (field == "interval") {
      if (!value.is_number() && !core::json::is_big_integer(value))
        return "interval must be finite and positive";
      core::validate_interval_json(value);
    } else if (field == "busy_threshold") {
      core::validate_busy_threshold_json(value);
    } else if (field == "vram") {
      core::parse_vram_elements_json(value);
    }
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

void check_record(const core::Json& record, const std::string& prefix) {
  const std::string method = "status";
  const core::Json* job_id = core::json::member(record, "job_id");
  if (job_id == nullptr || !job_id->is_string()) fail(method, prefix + ".job_id must be a string");
  const core::Json* params = core::json::member(record, "params");
  if (params == nullptr || !params->is_object()) {
    fail(method, prefix + ".params must be an object");
  }
  const core::Json* state = core::json::member(record, "state");
  if (state == nullptr || !state->is_string()) fail(method, prefix + ".state must be a string");
  const core::Json* last_error = core::json::member(record, "last_error");
  if (last_error == nullptr || !(last_error->is_string() || last_error->is_null())) {
    fail(method, prefix + ".last_error must be a string or null");
  }
  if (!valid_job_id(*job_id)) fail(method, prefix + ".job_id: " + kJobIdReason);
  for (const char* field : {"gpu_ids", "interval", "busy_threshold", "vram"}) {
    const core::Json* value = core::json::member(*params, field);
    if (value == nullptr) continue;
    if (std::string(field) == "gpu_ids" && value->is_null()) continue;
    if (auto problem = param_problem(field, *value)) {
      fail(method, fmt::format("{}.params.{}: {}", prefix, field, *problem));
    }
  }
  static const std::set<std::string> kStates = {"active", "starting", "stopping", "runtime_failed",
                                                "stop_failed"};
  if (kStates.count(state->get_ref<const std::string&>()) == 0) {
    fail(method, prefix +
                     ".state must be one of: active, starting, stopping, runtime_failed, "
                     "stop_failed");
  }
}

}  // namespace

void check_start_result(const core::Json& result, const std::optional<std::string>& requested_id) {
  const core::Json* job_id = core::json::member(result, "job_id");
  if (job_id == nullptr || job_id->is_null()) {
    throw_response_error("Malformed JSON-RPC response: start_keep result must include job_id");
  }
  if (!valid_job_id(*job_id)) {
    throw_response_error(std::string("Malformed JSON-RPC response: ") + kJobIdReason);
  }
  if (requested_id && *job_id != *requested_id) {
    fail("start_keep", "result.job_id must match requested job_id");
  }
}

void check_status_all(const core::Json& result) {
  const core::Json* jobs = core::json::member(result, "active_jobs");
  if (jobs == nullptr || !jobs->is_array()) fail("status", "active_jobs must be a list");
  for (std::size_t i = 0; i < jobs->size(); ++i) {
    const std::string prefix = fmt::format("active_jobs[{}]", i);
    if (!(*jobs)[i].is_object()) fail("status", prefix + " must be an object");
    check_record((*jobs)[i], prefix);
  }
}

void check_status_one(const core::Json& result, const std::string& requested_id) {
  const core::Json* active = core::json::member(result, "active");
  if (active == nullptr || !active->is_boolean()) fail("status", "active must be a bool");
  const core::Json* job_id = core::json::member(result, "job_id");
  if (job_id == nullptr || !job_id->is_string()) fail("status", "job_id must be a string");
  if (active->get<bool>()) {
    check_record(result, "result");
  } else if (!valid_job_id(*job_id)) {
    fail("status", std::string("job_id: ") + kJobIdReason);
  }
  if (*job_id != requested_id) fail("status", "result.job_id must match requested job_id");
}

void check_stop_result(const core::Json& result, const std::optional<std::string>& requested_id) {
  const std::string method = "stop_keep";
  std::vector<std::pair<std::string, std::set<std::string>>> seen;
  std::set<std::string> failed_ids;
  std::vector<std::string> all_ids;
  for (const char* field : {"stopped", "timed_out", "failed"}) {
    const core::Json* list = core::json::member(result, field);
    if (list == nullptr || !list->is_array()) fail(method, fmt::format("{} must be a list", field));
    std::set<std::string> ids;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const core::Json& value = (*list)[i];
      const std::string* text = value.get_ptr<const std::string*>();
      if (text == nullptr) fail(method, fmt::format("{}[{}] must be a string", field, i));
      const std::string& item = *text;
      if (!valid_job_id(value)) fail(method, fmt::format("{}[{}]: {}", field, i, kJobIdReason));
      if (ids.count(item)) fail(method, fmt::format("{}[{}] duplicates job id", field, i));
      for (const auto& [earlier, earlier_ids] : seen) {
        if (earlier_ids.count(item)) {
          fail(method, fmt::format("{} appears in both {} and {}", pyrepr(item), earlier, field));
        }
      }
      ids.insert(item);
      all_ids.push_back(item);
    }
    if (std::string(field) == "failed") failed_ids = ids;
    seen.emplace_back(field, std::move(ids));
  }
  const core::Json* errors = core::json::member(result, "errors");
  if (errors == nullptr || !errors->is_object()) fail(method, "errors must be an object");
  std::set<std::string> error_keys;
  for (const auto& [key, value] : errors->items()) {
    if (!core::is_valid_job_id(key)) {
      fail(method, fmt::format("errors[{}]: {}", pyrepr(key), kJobIdReason));
    }
    if (!value.is_string()) fail(method, fmt::format("errors[{}] must be a string", pyrepr(key)));
    error_keys.insert(key);
    all_ids.push_back(key);
  }
  if (error_keys != failed_ids) fail(method, "errors keys must match failed job ids");
  if (requested_id) {
    for (const auto& id : all_ids) {
      if (id != *requested_id) fail(method, "outcome job ids must match requested job_id");
    }
  }
  const core::Json* message = core::json::member(result, "message");
  if (message != nullptr && !message->is_string()) fail(method, "message must be a string");
}

void check_list_gpus(const core::Json& result) {
  const std::string method = "list_gpus";
  const core::Json* gpus = core::json::member(result, "gpus");
  if (gpus == nullptr || !gpus->is_array()) fail(method, "gpus must be a list");
  std::set<std::string> visible_ids;
  for (std::size_t i = 0; i < gpus->size(); ++i) {
    const core::Json& gpu = (*gpus)[i];
    const std::string prefix = fmt::format("gpus[{}]", i);
    if (!gpu.is_object()) fail(method, prefix + " must be an object");
    auto bad = [&](const std::string& detail) {
      fail(method, fmt::format("{}.{}", prefix, detail));
    };
    const core::Json* id = core::json::member(gpu, "id");
    if (id == nullptr || !core::json::is_integer(*id)) bad("id must be an integer");
    const core::Json* visible = core::json::member(gpu, "visible_id");
    if (visible == nullptr || !core::json::is_integer(*visible))
      bad("visible_id must be an integer");
    // Compared by their digits: integers of any size are kept exactly.
    const std::string visible_digits = core::json::dump(*visible);
    if (core::json::dump(*id) != visible_digits) bad("id must match visible_id");
    if (visible_digits.starts_with('-')) bad("visible_id must be non-negative");
    if (!visible_ids.insert(visible_digits).second) bad("visible_id must be unique");
    const core::Json* platform = core::json::member(gpu, "platform");
    if (platform == nullptr || !platform->is_string()) bad("platform must be a string");
    const core::Json* name = core::json::member(gpu, "name");
    if (name == nullptr || !name->is_string()) bad("name must be a string");
    for (const char* field : {"memory_total", "memory_used"}) {
      const core::Json* value = core::json::member(gpu, field);
      if (value == nullptr) bad(fmt::format("missing '{}'", field));
      if (!core::is_valid_memory_field(*value)) {
        bad(fmt::format("{} must be a non-negative integer or null", field));
      }
    }
    if (!core::is_valid_memory_pair(gpu.at("memory_total"), gpu.at("memory_used"))) {
      bad("memory_used must not exceed memory_total");
    }
    const core::Json* utilization = core::json::member(gpu, "utilization");
    const bool utilization_ok =
        utilization != nullptr &&
        (utilization->is_null() ||
         (utilization->is_number_unsigned() && utilization->get<std::uint64_t>() <= 100) ||
         (utilization->is_number_integer() && utilization->get<std::int64_t>() >= 0 &&
          utilization->get<std::int64_t>() <= 100) ||
         (utilization->is_number_float() && std::isfinite(utilization->get<double>()) &&
          utilization->get<double>() >= 0.0 && utilization->get<double>() <= 100.0));
    if (!utilization_ok) bad("utilization must be a finite number between 0 and 100 or null");
  }
}

}  // namespace keepgpu::cli
