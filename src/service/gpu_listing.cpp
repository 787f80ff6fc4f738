#include "service/gpu_listing.hpp"

#include <fmt/format.h>

#include <cmath>
#include <mutex>
#include <set>
#include <string>

#include "core/errors.hpp"
#include "core/thresholds.hpp"
#include "gpu/platform.hpp"
#include "service/api.hpp"

namespace keepgpu::service {
namespace {

[[noreturn]] void malformed(const std::string& detail) {
  throw RuntimeError(kMalformedListingPrefix + detail);
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

bool is_non_negative_integer(const nlohmann::json& value) {
  return value.is_number_unsigned() ||
         (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

void check_record(const nlohmann::json& record, std::size_t index,
                  std::set<std::uint64_t>& visible_ids) {
  const auto where = [index](const std::string& what) {
    return fmt::format("GPU record {} {}", index, what);
  };
  if (!record.is_object()) malformed(where("must be an object"));
  for (const char* key :
       {"id", "visible_id", "platform", "name", "memory_total", "memory_used", "utilization"}) {
    if (!record.contains(key)) malformed(where(fmt::format("missing '{}'", key)));
  }
  const auto& id = record["id"];
  const auto& visible_id = record["visible_id"];
  if (!id.is_number_integer()) malformed(where("'id' must be an integer"));
  if (!visible_id.is_number_integer()) malformed(where("'visible_id' must be an integer"));
  if (id != visible_id) malformed(where("'id' must match 'visible_id'"));
  if (!is_non_negative_integer(visible_id)) malformed(where("'visible_id' must be non-negative"));
  if (!visible_ids.insert(visible_id.get<std::uint64_t>()).second) {
    malformed(where("duplicate 'visible_id'"));
  }
  if (!record["platform"].is_string()) malformed(where("'platform' must be a string"));
  if (!record["name"].is_string()) malformed(where("'name' must be a string"));
  const auto& total = record["memory_total"];
  const auto& used = record["memory_used"];
  if (!core::is_valid_memory_field(total)) {
    malformed(where("'memory_total' must be a non-negative integer or null"));
  }
  if (!core::is_valid_memory_field(used)) {
    malformed(where("'memory_used' must be a non-negative integer or null"));
  }
  if (!total.is_null() && !used.is_null() &&
      used.get<std::uint64_t>() > total.get<std::uint64_t>()) {
    malformed(where("'memory_used' must not exceed 'memory_total'"));
  }
  const auto& utilization = record["utilization"];
  if (!utilization.is_null()) {
    const bool number = utilization.is_number();  // booleans are not numbers in nlohmann::json
    const double value = number ? utilization.get<double>() : 0.0;
    if (!number || !std::isfinite(value) || value < 0.0 || value > 100.0) {
      malformed(where("'utilization' must be a finite number between 0 and 100 or null"));
    }
  }
}

}  // namespace

nlohmann::json gpu_record_json(const gpu::GpuInfo& info) {
  nlohmann::json record = nlohmann::json::object();
  record["id"] = info.id;
  record["visible_id"] = info.visible_id;
  record["platform"] = info.platform;
  record["name"] = info.name;
  record["memory_total"] = or_null(info.memory_total);
  record["memory_used"] = or_null(info.memory_used);
  record["utilization"] = or_null(info.utilization);
  if (info.physical_id) record["physical_id"] = *info.physical_id;
  if (info.uuid) record["uuid"] = *info.uuid;
  // Extras beyond upstream's record (clients accept extra fields); a non-finite reading is
  // unknown, and unknown extras are simply left out.
  if (info.power_watts && std::isfinite(*info.power_watts)) {
    record["power_watts"] = *info.power_watts;
  }
  if (info.temperature_c) record["temperature_c"] = *info.temperature_c;
  return record;
}

nlohmann::json gpu_records_json(const std::vector<gpu::GpuInfo>& gpus) {
  nlohmann::json records = nlohmann::json::array();
  for (const auto& info : gpus)
    records.push_back(gpu_record_json(info));
  return records;
}

void check_gpu_records(const nlohmann::json& records) {
  if (!records.is_array()) malformed("expected a GPU record list");
  std::set<std::uint64_t> visible_ids;
  for (std::size_t i = 0; i < records.size(); ++i)
    check_record(records[i], i, visible_ids);
}

void check_gpu_payload(const nlohmann::json& payload) {
  if (!payload.is_object() || !payload.contains("gpus") || !payload["gpus"].is_array()) {
    malformed("expected an object with a 'gpus' record list");
  }
  check_gpu_records(payload["gpus"]);
}

GpuLister default_gpu_lister() {
  // The platform is probed, and a vendor library loaded, on the first listing only: an idle
  // daemon that is never asked for GPUs loads nothing. Listings are serialised because the
  // backend's telemetry object is shared.
  struct State {
    std::mutex mutex;
    bool probed = false;
    std::shared_ptr<gpu::Backend> backend;
  };
  auto state = std::make_shared<State>();
  return [state]() -> std::vector<gpu::GpuInfo> {
    std::lock_guard lock(state->mutex);
    if (!state->probed) {
      state->backend = gpu::make_backend(gpu::detect_platform());
      state->probed = true;
    }
    if (!state->backend) return {};  // CPU: nothing to list, which is a valid answer
    return state->backend->telemetry().list_gpus();
  };
}

}  // namespace keepgpu::service
