// Fake NVML (libnvidia-ml.so.1). Exports the real entry points with the real C ABI; devices,
// utilization and faults come from the scenario in FAKEGPU_CONFIG (README.md), and memory use
// includes what the CUDA fake has allocated in this process (shared state library).
//
// The same source builds the variants that lack entry points, so that the product's fallback paths
// meet a library where dlsym really fails:
//   FAKEGPU_NVML_MINIMAL: no nvmlDeviceGetHandleByUUID, nvmlDeviceGetIndex,
//                         nvmlDeviceGetHandleByPciBusId(_v2);
//   FAKEGPU_NVML_BARE:    additionally only init/shutdown/count/handle-by-index/utilization/
//                         memory/name/error-string.
#include <unistd.h>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "fakegpu_state.hpp"

#if defined(FAKEGPU_NVML_BARE) && !defined(FAKEGPU_NVML_MINIMAL)
#define FAKEGPU_NVML_MINIMAL
#endif

using fakegpu::State;

// NVML's public types. nvmlDevice_t is an opaque pointer to the caller; the fake hands out pointers
// into a fixed array so handles stay valid across scenario reloads.
extern "C" {
typedef int nvmlReturn_t;
typedef fakegpu::NvmlDevice* nvmlDevice_t;
typedef struct nvmlUtilization_st {
  unsigned int gpu;
  unsigned int memory;
} nvmlUtilization_t;
typedef struct nvmlMemory_st {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;
typedef struct nvmlProcessInfo_st {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;
}

namespace {

enum : nvmlReturn_t {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_GPU_IS_LOST = 15,
};

// Used only by the variants that keep the entry points needing them. kNoInstance is NVML's
// "not applicable" instance id.
[[maybe_unused]] constexpr unsigned kNoInstance = 0xFFFFFFFFu;
[[maybe_unused]] constexpr const char* kDriverVersion = "550.54.15";

using Lock = std::unique_lock<std::mutex>;

// Common entry checks: the scenario is re-read on every call, a symbol listed in
// nvml.missing_symbols answers NVML_ERROR_FUNCTION_NOT_FOUND (what NVML returns for an entry point
// the installed driver lacks), and requires_init mode rejects calls while the init count is 0.
nvmlReturn_t enter(State& s, const char* function) {
  fakegpu::refresh_config(s);
  if (s.config.nvml.missing_symbols.contains(function)) return NVML_ERROR_FUNCTION_NOT_FOUND;
  if (s.config.nvml.requires_init && s.nvml_refcount == 0) {
    ++s.nvml_uninitialized_rejections;
    return NVML_ERROR_UNINITIALIZED;
  }
  return NVML_SUCCESS;
}

nvmlReturn_t resolve(State& s, nvmlDevice_t device, int* physical) {
  const auto base = reinterpret_cast<std::uintptr_t>(s.nvml_devices.data());
  const auto p = reinterpret_cast<std::uintptr_t>(device);
  if (p < base || p >= base + sizeof(s.nvml_devices) ||
      (p - base) % sizeof(fakegpu::NvmlDevice) != 0)
    return NVML_ERROR_INVALID_ARGUMENT;
  // A handle of a device the rewritten scenario no longer has.
  if (device->index >= static_cast<int>(s.config.devices.size())) return NVML_ERROR_GPU_IS_LOST;
  *physical = device->index;
  return NVML_SUCCESS;
}

nvmlReturn_t enter_device(State& s, const char* function, nvmlDevice_t device, int* physical) {
  if (nvmlReturn_t rc = enter(s, function); rc != NVML_SUCCESS) return rc;
  return resolve(s, device, physical);
}

nvmlReturn_t copy_string(const std::string& text, char* out, unsigned int length) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (text.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(out, text.c_str(), text.size() + 1);
  return NVML_SUCCESS;
}

nvmlReturn_t init(const char* function) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  // Failed attempts count too: tests check that no re-init was attempted.
  ++s.nvml_init_calls;
  nvmlReturn_t rc = NVML_SUCCESS;
  if (s.config.nvml.missing_symbols.contains(function)) {
    rc = NVML_ERROR_FUNCTION_NOT_FOUND;
  } else if (s.config.nvml.init_error != 0) {
    rc = s.config.nvml.init_error;
  } else {
    ++s.nvml_refcount;
  }
  fakegpu::log_event(s, std::string(function) + " result=" + std::to_string(rc) +
                            " refs=" + std::to_string(s.nvml_refcount));
  fakegpu::publish(s);
  return rc;
}

nvmlReturn_t device_count(const char* function, unsigned int* count) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (nvmlReturn_t rc = enter(s, function); rc != NVML_SUCCESS) return rc;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  if (s.config.nvml.device_count_error != 0) return s.config.nvml.device_count_error;
  *count = static_cast<unsigned>(s.config.devices.size());
  return NVML_SUCCESS;
}

nvmlReturn_t handle_by_index(const char* function, unsigned int index, nvmlDevice_t* device) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (nvmlReturn_t rc = enter(s, function); rc != NVML_SUCCESS) return rc;
  // Only calls that got past the init check are logged, so a re-init retry shows as one lookup.
  s.handle_by_index_calls.push_back(index);
  fakegpu::publish(s);
  if (!device) return NVML_ERROR_INVALID_ARGUMENT;
  const auto& errors = s.config.nvml.handle_errors;
  if (index < static_cast<unsigned>(fakegpu::kMaxDevices)) {
    if (auto it = errors.find(static_cast<int>(index)); it != errors.end()) return it->second;
  }
  if (index >= s.config.devices.size()) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &s.nvml_devices[index];
  return NVML_SUCCESS;
}

#ifndef FAKEGPU_NVML_MINIMAL
nvmlReturn_t handle_by_pci(const char* function, const char* bus_id, nvmlDevice_t* device) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (nvmlReturn_t rc = enter(s, function); rc != NVML_SUCCESS) return rc;
  ++s.handle_by_pci_calls;
  fakegpu::publish(s);
  if (!bus_id || !device) return NVML_ERROR_INVALID_ARGUMENT;
  // "domain:bus:device.function" in hex, with a 4- or 8-digit domain; the fake puts device i on
  // bus i of domain 0 (the same ids cuDeviceGetPCIBusId reports).
  unsigned domain = 0;
  unsigned bus = 0;
  unsigned dev = 0;
  unsigned fn = 0;
  char tail = 0;
  if (std::sscanf(bus_id, "%x:%x:%x.%x%c", &domain, &bus, &dev, &fn, &tail) != 4)
    return NVML_ERROR_INVALID_ARGUMENT;
  if (domain != 0 || dev != 0 || fn != 0 || bus >= s.config.devices.size())
    return NVML_ERROR_NOT_FOUND;
  *device = &s.nvml_devices[bus];
  return NVML_SUCCESS;
}
#endif

}  // namespace

#define NVML_API extern "C" __attribute__((visibility("default")))

NVML_API nvmlReturn_t nvmlInit_v2(void) {
  return init("nvmlInit_v2");
}
NVML_API nvmlReturn_t nvmlInit(void) {
  return init("nvmlInit");
}
NVML_API nvmlReturn_t nvmlInitWithFlags(unsigned int /*flags*/) {
  return init("nvmlInitWithFlags");
}

NVML_API nvmlReturn_t nvmlShutdown(void) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  ++s.nvml_shutdown_calls;
  nvmlReturn_t rc = NVML_SUCCESS;
  if (s.nvml_refcount == 0) {
    rc = NVML_ERROR_UNINITIALIZED;
  } else {
    --s.nvml_refcount;
  }
  fakegpu::log_event(
      s, "nvmlShutdown result=" + std::to_string(rc) + " refs=" + std::to_string(s.nvml_refcount));
  fakegpu::publish(s);
  return rc;
}

NVML_API const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case 0:
      return "Success";
    case 1:
      return "Uninitialized";
    case 2:
      return "Invalid Argument";
    case 3:
      return "Not Supported";
    case 4:
      return "Insufficient Permissions";
    case 5:
      return "Already Initialized";
    case 6:
      return "Not Found";
    case 7:
      return "Insufficient Size";
    case 8:
      return "Insufficient External Power";
    case 9:
      return "Driver Not Loaded";
    case 10:
      return "Timeout";
    case 11:
      return "Interrupted IRQ Issue";
    case 12:
      return "NVML Shared Library Not Found";
    case 13:
      return "Function Not Found";
    case 14:
      return "Corrupted infoROM";
    case 15:
      return "GPU is lost";
    case 16:
      return "GPU requires restart";
    case 17:
      return "Operating System Call Failed";
    case 999:
      return "Unknown Error";
    default:
      return "Unknown Error";
  }
}

NVML_API nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  return device_count("nvmlDeviceGetCount_v2", count);
}
NVML_API nvmlReturn_t nvmlDeviceGetCount(unsigned int* count) {
  return device_count("nvmlDeviceGetCount", count);
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  return handle_by_index("nvmlDeviceGetHandleByIndex_v2", index, device);
}
NVML_API nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t* device) {
  return handle_by_index("nvmlDeviceGetHandleByIndex", index, device);
}

#ifndef FAKEGPU_NVML_MINIMAL
NVML_API nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (nvmlReturn_t rc = enter(s, "nvmlDeviceGetHandleByUUID"); rc != NVML_SUCCESS) return rc;
  ++s.handle_by_uuid_calls;
  fakegpu::publish(s);
  if (!uuid || !device) return NVML_ERROR_INVALID_ARGUMENT;
  if (auto it = s.config.nvml.uuid_map.find(uuid); it != s.config.nvml.uuid_map.end()) {
    if (it->second < 0 || it->second >= static_cast<int>(s.config.devices.size()))
      return NVML_ERROR_NOT_FOUND;
    *device = &s.nvml_devices[it->second];
    return NVML_SUCCESS;
  }
  // Exact match only, like NVML; prefix matching is the caller's business.
  for (std::size_t i = 0; i < s.config.devices.size(); ++i) {
    if (s.config.devices[i].uuid == uuid) {
      *device = &s.nvml_devices[i];
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_NOT_FOUND;
}

NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId_v2(const char* bus_id, nvmlDevice_t* device) {
  return handle_by_pci("nvmlDeviceGetHandleByPciBusId_v2", bus_id, device);
}
NVML_API nvmlReturn_t nvmlDeviceGetHandleByPciBusId(const char* bus_id, nvmlDevice_t* device) {
  return handle_by_pci("nvmlDeviceGetHandleByPciBusId", bus_id, device);
}

NVML_API nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc = enter_device(s, "nvmlDeviceGetIndex", device, &physical);
      rc != NVML_SUCCESS)
    return rc;
  if (!index) return NVML_ERROR_INVALID_ARGUMENT;
  *index = static_cast<unsigned>(physical);
  return NVML_SUCCESS;
}
#endif

#ifndef FAKEGPU_NVML_BARE
NVML_API nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (nvmlReturn_t rc = enter(s, "nvmlSystemGetDriverVersion"); rc != NVML_SUCCESS) return rc;
  return copy_string(kDriverVersion, version, length);
}

NVML_API nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc = enter_device(s, "nvmlDeviceGetUUID", device, &physical); rc != NVML_SUCCESS)
    return rc;
  return copy_string(s.config.devices[physical].uuid, uuid, length);
}

NVML_API nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* milliwatts) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc = enter_device(s, "nvmlDeviceGetPowerUsage", device, &physical);
      rc != NVML_SUCCESS)
    return rc;
  if (!milliwatts) return NVML_ERROR_INVALID_ARGUMENT;
  *milliwatts = s.config.devices[physical].power_mw;
  return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor,
                                               unsigned int* celsius) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc = enter_device(s, "nvmlDeviceGetTemperature", device, &physical);
      rc != NVML_SUCCESS)
    return rc;
  // Only NVML_TEMPERATURE_GPU (0) exists.
  if (!celsius || sensor != 0) return NVML_ERROR_INVALID_ARGUMENT;
  *celsius = s.config.devices[physical].temperature;
  return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device,
                                                              unsigned int* count,
                                                              nvmlProcessInfo_t* infos) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc =
          enter_device(s, "nvmlDeviceGetComputeRunningProcesses_v3", device, &physical);
      rc != NVML_SUCCESS)
    return rc;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  std::vector<nvmlProcessInfo_t> procs;
  for (const auto& p : s.config.devices[physical].processes)
    procs.push_back({p.pid, p.used_memory, kNoInstance, kNoInstance});
  // This process shows up while it holds memory or a context on the device, as on a real GPU.
  if (const std::uint64_t mine = fakegpu::process_used_bytes(s, physical);
      mine > 0 || s.contexts[physical].refcount > 0)
    procs.push_back({static_cast<unsigned>(::getpid()), mine, kNoInstance, kNoInstance});
  const auto needed = static_cast<unsigned>(procs.size());
  // NVML's sizing protocol: too small a buffer reports the needed count.
  if (*count < needed) {
    *count = needed;
    return NVML_ERROR_INSUFFICIENT_SIZE;
  }
  if (needed > 0 && !infos) return NVML_ERROR_INVALID_ARGUMENT;
  for (unsigned i = 0; i < needed; ++i)
    infos[i] = procs[i];
  *count = needed;
  return NVML_SUCCESS;
}
#endif

NVML_API nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc = enter_device(s, "nvmlDeviceGetName", device, &physical); rc != NVML_SUCCESS)
    return rc;
  return copy_string(s.config.devices[physical].name, name, length);
}

NVML_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device,
                                                    nvmlUtilization_t* utilization) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc = enter_device(s, "nvmlDeviceGetUtilizationRates", device, &physical);
      rc != NVML_SUCCESS)
    return rc;
  ++s.nvml_utilization_queries;
  ++s.devices[physical].utilization_queries;
  fakegpu::publish(s);
  if (!utilization) return NVML_ERROR_INVALID_ARGUMENT;
  if (int err = s.config.devices[physical].utilization_error; err != 0) return err;
  if (int err = s.config.nvml.utilization_error; err != 0) return err;
  // Out-of-range percentages pass through (wrapping like a C cast) for the product to reject.
  const auto value = static_cast<long long>(fakegpu::current_utilization(s, physical));
  utilization->gpu = static_cast<unsigned>(value);
  utilization->memory = 0;
  return NVML_SUCCESS;
}

NVML_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (nvmlReturn_t rc = enter_device(s, "nvmlDeviceGetMemoryInfo", device, &physical);
      rc != NVML_SUCCESS)
    return rc;
  ++s.nvml_memory_queries;
  ++s.devices[physical].memory_queries;
  fakegpu::publish(s);
  if (!memory) return NVML_ERROR_INVALID_ARGUMENT;
  if (int err = s.config.devices[physical].memory_error; err != 0) return err;
  memory->total = s.config.devices[physical].total_memory;
  memory->used = fakegpu::device_used_bytes(s, physical);
  memory->free = fakegpu::device_free_bytes(s, physical);
  return NVML_SUCCESS;
}
