#include "cli/result_checks.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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

bool valid_job_id(const JsonValue& v) {
  return v.is_string() && core::is_valid_job_id(v.text);
}

// What the service's own validation would say about one recorded param, or nullopt.
std::optional<std::string> param_problem(const std::string& field, const JsonValue& value) {
  try {
    const nlohmann::json json = value.to_nlohmann();
    if (field == "gpu_ids") {
      core::validate_gpu_ids_json(json);
    } else if (field == "interval") {
      // Booleans are numbers to nlohmann's caller but not to upstream.
      if (!value.is_number()) return "interval must be finite and positive";
      core::validate_interval_json(json);
    } else if (field == "busy_threshold") {
      core::validate_busy_threshold_json(json);
    } else if (field == "vram") {
      core::parse_vram_elements_json(json);
    }
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

void check_record(const JsonValue& record, const std::string& prefix) {
  const std::string method = "status";
  const JsonValue* job_id = record.find("job_id");
  if (job_id == nullptr || !job_id->is_string()) fail(method, prefix + ".job_id must be a string");
  const JsonValue* params = record.find("params");
  if (params == nullptr || !params->is_object()) {
    fail(method, prefix + ".params must be an object");
  }
  const JsonValue* state = record.find("state");
  if (state == nullptr || !state->is_string()) fail(method, prefix + ".state must be a string");
  const JsonValue* last_error = record.find("last_error");
  if (last_error == nullptr || !(last_error->is_string() || last_error->is_null())) {
    fail(method, prefix + ".last_error must be a string or null");
  }
  if (!valid_job_id(*job_id)) fail(method, prefix + ".job_id: " + kJobIdReason);
  for (const char* field : {"gpu_ids", "interval", "busy_threshold", "vram"}) {
    const JsonValue* value = params->find(field);
    if (value == nullptr) continue;
    if (std::string(field) == "gpu_ids" && value->is_null()) continue;
    if (auto problem = param_problem(field, *value)) {
      fail(method, fmt::format("{}.params.{}: {}", prefix, field, *problem));
    }
  }
  static const std::set<std::string> kStates = {"active", "starting", "stopping", "runtime_failed",
                                                "stop_failed"};
  if (kStates.count(state->text) == 0) {
    fail(method, prefix +
                     ".state must be one of: active, starting, stopping, runtime_failed, "
                     "stop_failed");
  }
}

}  // namespace

void check_start_result(const JsonValue& result, const std::optional<std::string>& requested_id) {
  const JsonValue* job_id = result.find("job_id");
  if (job_id == nullptr || job_id->is_null()) {
    throw_response_error("Malformed JSON-RPC response: start_keep result must include job_id");
  }
  if (!valid_job_id(*job_id)) {
    throw_response_error(std::string("Malformed JSON-RPC response: ") + kJobIdReason);
  }
  if (requested_id && job_id->text != *requested_id) {
    fail("start_keep", "result.job_id must match requested job_id");
  }
}

void check_status_all(const JsonValue& result) {
  const JsonValue* jobs = result.find("active_jobs");
  if (jobs == nullptr || !jobs->is_array()) fail("status", "active_jobs must be a list");
  for (std::size_t i = 0; i < jobs->items.size(); ++i) {
    const std::string prefix = fmt::format("active_jobs[{}]", i);
    if (!jobs->items[i].is_object()) fail("status", prefix + " must be an object");
    check_record(jobs->items[i], prefix);
  }
}

void check_status_one(const JsonValue& result, const std::string& requested_id) {
  const JsonValue* active = result.find("active");
  if (active == nullptr || !active->is_bool()) fail("status", "active must be a bool");
  const JsonValue* job_id = result.find("job_id");
  if (job_id == nullptr || !job_id->is_string()) fail("status", "job_id must be a string");
  if (active->boolean) {
    check_record(result, "result");
  } else if (!valid_job_id(*job_id)) {
    fail("status", std::string("job_id: ") + kJobIdReason);
  }
  if (job_id->text != requested_id) fail("status", "result.job_id must match requested job_id");
}

void check_stop_result(const JsonValue& result, const std::optional<std::string>& requested_id) {
  const std::string method = "stop_keep";
  std::vector<std::pair<std::string, std::set<std::string>>> seen;
  std::set<std::string> failed_ids;
  std::vector<std::string> all_ids;
  for (const char* field : {"stopped", "timed_out", "failed"}) {
    const JsonValue* list = result.find(field);
    if (list == nullptr || !list->is_array()) fail(method, fmt::format("{} must be a list", field));
    std::set<std::string> ids;
    for (std::size_t i = 0; i < list->items.size(); ++i) {
      const JsonValue& item = list->items[i];
      if (!item.is_string()) fail(method, fmt::format("{}[{}] must be a string", field, i));
      if (!valid_job_id(item)) fail(method, fmt::format("{}[{}]: {}", field, i, kJobIdReason));
      if (ids.count(item.text)) fail(method, fmt::format("{}[{}] duplicates job id", field, i));
      for (const auto& [earlier, earlier_ids] : seen) {
        if (earlier_ids.count(item.text)) {
          fail(method,
               fmt::format("{} appears in both {} and {}", pyrepr(item.text), earlier, field));
        }
      }
      ids.insert(item.text);
      all_ids.push_back(item.text);
    }
    if (std::string(field) == "failed") failed_ids = ids;
    seen.emplace_back(field, std::move(ids));
  }
  const JsonValue* errors = result.find("errors");
  if (errors == nullptr || !errors->is_object()) fail(method, "errors must be an object");
  std::set<std::string> error_keys;
  for (const auto& [key, value] : errors->members) {
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
  const JsonValue* message = result.find("message");
  if (message != nullptr && !message->is_string()) fail(method, "message must be a string");
}

void check_list_gpus(const JsonValue& result) {
  const std::string method = "list_gpus";
  const JsonValue* gpus = result.find("gpus");
  if (gpus == nullptr || !gpus->is_array()) fail(method, "gpus must be a list");
  std::set<std::string> visible_ids;
  for (std::size_t i = 0; i < gpus->items.size(); ++i) {
    const JsonValue& gpu = gpus->items[i];
    const std::string prefix = fmt::format("gpus[{}]", i);
    if (!gpu.is_object()) fail(method, prefix + " must be an object");
    auto bad = [&](const std::string& detail) {
      fail(method, fmt::format("{}.{}", prefix, detail));
    };
    const JsonValue* id = gpu.find("id");
    if (id == nullptr || !id->is_integer()) bad("id must be an integer");
    const JsonValue* visible = gpu.find("visible_id");
    if (visible == nullptr || !visible->is_integer()) bad("visible_id must be an integer");
    if (id->text != visible->text) bad("id must match visible_id");
    if (visible->text[0] == '-') bad("visible_id must be non-negative");
    if (!visible_ids.insert(visible->text).second) bad("visible_id must be unique");
    const JsonValue* platform = gpu.find("platform");
    if (platform == nullptr || !platform->is_string()) bad("platform must be a string");
    const JsonValue* name = gpu.find("name");
    if (name == nullptr || !name->is_string()) bad("name must be a string");
    for (const char* field : {"memory_total", "memory_used"}) {
      const JsonValue* value = gpu.find(field);
      if (value == nullptr) bad(fmt::format("missing '{}'", field));
      if (!core::is_valid_memory_field(value->to_nlohmann())) {
        bad(fmt::format("{} must be a non-negative integer or null", field));
      }
    }
    if (!core::is_valid_memory_pair(gpu.find("memory_total")->to_nlohmann(),
                                    gpu.find("memory_used")->to_nlohmann())) {
      bad("memory_used must not exceed memory_total");
    }
    const JsonValue* utilization = gpu.find("utilization");
    const bool utilization_ok =
        utilization != nullptr &&
        (utilization->is_null() ||
         (utilization->is_integer() && utilization->text[0] != '-' &&
          utilization->text.size() <= 3 && std::stoi(utilization->text) <= 100) ||
         (utilization->type == JsonValue::Type::real && std::isfinite(utilization->real) &&
          utilization->real >= 0.0 && utilization->real <= 100.0));
    if (!utilization_ok) bad("utilization must be a finite number between 0 and 100 or null");
  }
}

}  // namespace keepgpu::cli
