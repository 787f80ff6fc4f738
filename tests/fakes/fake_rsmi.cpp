// Fake ROCm SMI (librocm_smi64.so). SMI indexes are physical indexes (the scenario's device
// order); utilization, memory, name, power and temperature come from the same device entries the
// NVML fake reports, so HIP allocations show up in the VRAM usage. Driven by the "rsmi" section of
// the scenario (README.md).
//
// Built twice: the full library, and (FAKEGPU_RSMI_MINIMAL) one without the optional entry points
// rsmi_num_monitor_devices, rsmi_dev_current_socket_power_get, rsmi_dev_power_ave_get,
// rsmi_dev_temp_metric_get, rsmi_dev_unique_id_get and rsmi_status_string.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "fakegpu_state.hpp"

using fakegpu::State;

namespace {

enum : int {
  RSMI_STATUS_SUCCESS = 0,
  RSMI_STATUS_INVALID_ARGS = 1,
  RSMI_STATUS_NOT_SUPPORTED = 2,
  RSMI_STATUS_INIT_ERROR = 8,
};

constexpr int kMemTypeVram = 0;
// The temperature constants serve only the full variant.
[[maybe_unused]] constexpr std::uint32_t kTempEdge = 0;
[[maybe_unused]] constexpr std::uint32_t kTempJunction = 1;
[[maybe_unused]] constexpr int kTempCurrent = 0;

using Lock = std::unique_lock<std::mutex>;

std::uint32_t monitored(State& s) {
  if (s.config.rsmi.device_count >= 0)
    return static_cast<std::uint32_t>(s.config.rsmi.device_count);
  return static_cast<std::uint32_t>(s.config.devices.size());
}

// Common entry checks: the scenario is re-read on every call, and requires_init mode rejects calls
// while the init count is 0 (what the real library answers after its last rsmi_shut_down).
int enter(State& s) {
  fakegpu::refresh_config(s);
  if (s.config.rsmi.requires_init && s.rsmi_refcount == 0) {
    ++s.rsmi_uninitialized_rejections;
    return RSMI_STATUS_INIT_ERROR;
  }
  return RSMI_STATUS_SUCCESS;
}

int enter_device(State& s, std::uint32_t index) {
  if (int rc = enter(s); rc != RSMI_STATUS_SUCCESS) return rc;
  if (index >= monitored(s) || index >= s.config.devices.size()) return RSMI_STATUS_INVALID_ARGS;
  return RSMI_STATUS_SUCCESS;
}

}  // namespace

#define RSMI_API extern "C" __attribute__((visibility("default")))

RSMI_API int rsmi_init(std::uint64_t /*flags*/) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  ++s.rsmi_init_calls;
  fakegpu::rsmi_log_call(s, "init");
  int rc = RSMI_STATUS_SUCCESS;
  if (s.config.rsmi.init_error != 0) {
    rc = s.config.rsmi.init_error;
  } else {
    ++s.rsmi_refcount;
  }
  fakegpu::log_event(
      s, "rsmi_init result=" + std::to_string(rc) + " refs=" + std::to_string(s.rsmi_refcount));
  fakegpu::publish(s);
  return rc;
}

RSMI_API int rsmi_shut_down(void) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  ++s.rsmi_shutdown_calls;
  fakegpu::rsmi_log_call(s, "shutdown");
  int rc = RSMI_STATUS_SUCCESS;
  if (s.rsmi_refcount == 0) {
    rc = RSMI_STATUS_INIT_ERROR;
  } else {
    --s.rsmi_refcount;
  }
  fakegpu::log_event(s, "rsmi_shut_down result=" + std::to_string(rc) +
                            " refs=" + std::to_string(s.rsmi_refcount));
  fakegpu::publish(s);
  return rc;
}

RSMI_API int rsmi_dev_busy_percent_get(std::uint32_t index, std::uint32_t* percent) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter(s); rc != RSMI_STATUS_SUCCESS) return rc;
  // Only calls that got past the init check are logged, so a re-init retry shows as one query.
  s.busy_percent_calls.push_back(index);
  fakegpu::publish(s);
  if (!percent) return RSMI_STATUS_INVALID_ARGS;
  if (index >= monitored(s) || index >= s.config.devices.size()) return RSMI_STATUS_INVALID_ARGS;
  if (auto it = s.config.rsmi.busy_errors.find(static_cast<int>(index));
      it != s.config.rsmi.busy_errors.end())
    return it->second;
  ++s.devices[index].utilization_queries;
  // Out-of-range percentages pass through (wrapping like a C cast) for the product to reject.
  *percent = static_cast<std::uint32_t>(
      static_cast<long long>(fakegpu::current_utilization(s, static_cast<int>(index))));
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_dev_memory_total_get(std::uint32_t index, int type, std::uint64_t* bytes) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter_device(s, index); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!bytes) return RSMI_STATUS_INVALID_ARGS;
  if (type != kMemTypeVram) return RSMI_STATUS_NOT_SUPPORTED;
  ++s.devices[index].memory_queries;
  *bytes = s.config.devices[index].total_memory;
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_dev_memory_usage_get(std::uint32_t index, int type, std::uint64_t* bytes) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter_device(s, index); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!bytes) return RSMI_STATUS_INVALID_ARGS;
  if (type != kMemTypeVram) return RSMI_STATUS_NOT_SUPPORTED;
  ++s.devices[index].memory_queries;
  *bytes = fakegpu::device_used_bytes(s, static_cast<int>(index));
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_dev_name_get(std::uint32_t index, char* name, std::size_t length) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter_device(s, index); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!name || length == 0) return RSMI_STATUS_INVALID_ARGS;
  std::snprintf(name, length, "%s", s.config.devices[index].name.c_str());
  return RSMI_STATUS_SUCCESS;
}

#ifndef FAKEGPU_RSMI_MINIMAL
RSMI_API int rsmi_num_monitor_devices(std::uint32_t* count) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter(s); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!count) return RSMI_STATUS_INVALID_ARGS;
  if (s.config.rsmi.count_error != 0) return s.config.rsmi.count_error;
  *count = monitored(s);
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_dev_unique_id_get(std::uint32_t index, std::uint64_t* id) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter_device(s, index); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!id) return RSMI_STATUS_INVALID_ARGS;
  *id = fakegpu::rsmi_unique_id(s, static_cast<int>(index));
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_dev_current_socket_power_get(std::uint32_t index, std::uint64_t* microwatts) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter_device(s, index); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!microwatts) return RSMI_STATUS_INVALID_ARGS;
  *microwatts = std::uint64_t{s.config.devices[index].power_mw} * 1000;
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_dev_power_ave_get(std::uint32_t index, std::uint32_t /*sensor*/,
                                    std::uint64_t* microwatts) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter_device(s, index); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!microwatts) return RSMI_STATUS_INVALID_ARGS;
  *microwatts = std::uint64_t{s.config.devices[index].power_mw} * 1000;
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_dev_temp_metric_get(std::uint32_t index, std::uint32_t sensor, int metric,
                                      std::int64_t* millidegrees) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (int rc = enter_device(s, index); rc != RSMI_STATUS_SUCCESS) return rc;
  if (!millidegrees) return RSMI_STATUS_INVALID_ARGS;
  if ((sensor != kTempEdge && sensor != kTempJunction) || metric != kTempCurrent)
    return RSMI_STATUS_NOT_SUPPORTED;
  *millidegrees = static_cast<std::int64_t>(s.config.devices[index].temperature) * 1000;
  return RSMI_STATUS_SUCCESS;
}

RSMI_API int rsmi_status_string(int status, const char** text) {
  if (!text) return RSMI_STATUS_INVALID_ARGS;
  switch (status) {
    case RSMI_STATUS_SUCCESS:
      *text = "RSMI_STATUS_SUCCESS: The function has been executed successfully.";
      break;
    case RSMI_STATUS_INVALID_ARGS:
      *text =
          "RSMI_STATUS_INVALID_ARGS: The provided arguments do not meet the preconditions "
          "required for calling this function.";
      break;
    case RSMI_STATUS_NOT_SUPPORTED:
      *text =
          "RSMI_STATUS_NOT_SUPPORTED: This function is not supported in the current "
          "environment.";
      break;
    case RSMI_STATUS_INIT_ERROR:
      *text =
          "RSMI_STATUS_INIT_ERROR: An error occurred during initialization, during monitor "
          "discovery or when when initializing internal data structures";
      break;
    default:
      *text =
          "RSMI_STATUS_UNKNOWN_ERROR: An unknown error prevented the call from completing "
          "successfully";
      break;
  }
  return RSMI_STATUS_SUCCESS;
}
#endif
