#include "service/gpu_listing.hpp"

#include <fmt/format.h>

#include <cmath>
#include <condition_variable>
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
core::Json or_null(const std::optional<T>& value) {
  return value ? core::Json(*value) : core::Json(nullptr);
}

bool is_non_negative_integer(const core::Json& value) {
  return value.is_number_unsigned() ||
         (value.is_number_integer() && value.get<std::int64_t>() >= 0);
}

void check_record(const core::Json& record, std::size_t index,
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
    const bool number = utilization.is_number();  // booleans are not numbers in core::Json
    const double value = number ? utilization.get<double>() : 0.0;
    if (!number || !std::isfinite(value) || value < 0.0 || value > 100.0) {
      malformed(where("'utilization' must be a finite number between 0 and 100 or null"));
    }
  }
}

}  // namespace

core::Json gpu_record_json(const gpu::GpuInfo& info) {
  core::Json record = core::Json::object();
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

core::Json gpu_records_json(const std::vector<gpu::GpuInfo>& gpus) {
  core::Json records = core::Json::array();
  for (const auto& info : gpus)
    records.push_back(gpu_record_json(info));
  return records;
}

void check_gpu_records(const core::Json& records) {
  if (!records.is_array()) malformed("expected a GPU record list");
  std::set<std::uint64_t> visible_ids;
  for (std::size_t i = 0; i < records.size(); ++i)
    check_record(records[i], i, visible_ids);
}

void check_gpu_payload(const core::Json& payload) {
  if (!payload.is_object() || !payload.contains("gpus") || !payload["gpus"].is_array()) {
    malformed("expected an object with a 'gpus' record list");
  }
  check_gpu_records(payload["gpus"]);
}

GpuLister default_gpu_lister() {
  // The platform is probed, and a vendor library loaded, on the first listing only: an idle
  // daemon that is never asked for GPUs loads nothing. One listing runs at a time (the backend's
  // telemetry object is shared, and each listing initialises and shuts down the management
  // library); callers that arrive while one runs share its result instead of queueing behind it
  // for a listing of their own, so many concurrent clients cost one listing, not one each.
  struct Outcome {
    std::vector<gpu::GpuInfo> gpus;
    std::exception_ptr error;
  };
  struct State {
    std::mutex mutex;
    std::condition_variable settled;
    bool probed = false;
    std::shared_ptr<gpu::Backend> backend;
    bool running = false;
    std::uint64_t completed = 0;  // listings finished so far
    std::shared_ptr<const Outcome> last;
  };
  auto state = std::make_shared<State>();
  return [state]() -> std::vector<gpu::GpuInfo> {
    std::unique_lock lock(state->mutex);
    std::shared_ptr<const Outcome> outcome;
    if (state->running) {
      const std::uint64_t in_flight = state->completed + 1;
      state->settled.wait(lock, [&] { return state->completed >= in_flight; });
      outcome = state->last;
    } else {
      state->running = true;
      lock.unlock();
      auto fresh = std::make_shared<Outcome>();
      try {
        if (!state->probed) {
          state->backend = gpu::make_backend(gpu::detect_platform());
          state->probed = true;
        }
        // CPU: nothing to list, which is a valid answer.
        if (state->backend) fresh->gpus = state->backend->telemetry().list_gpus();
      } catch (...) {
        fresh->error = std::current_exception();
      }
      lock.lock();
      state->last = fresh;
      ++state->completed;
      state->running = false;
      state->settled.notify_all();
      outcome = fresh;
    }
    if (outcome->error) std::rethrow_exception(outcome->error);
    return outcome->gpus;
  };
}

}  // namespace keepgpu::service
