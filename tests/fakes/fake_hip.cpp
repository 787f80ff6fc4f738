// Fake HIP runtime (libamdhip64.so). Exports the real entry points with the real C ABI so that
// keep-gpu runs its unmodified ROCm backend against simulated devices: the same physical devices,
// allocations and counters as the CUDA fake (fakegpu_state), driven by the "hip" section of the
// scenario (README.md).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "fakegpu_state.hpp"

using fakegpu::State;

// The runtime's types, as the public headers declare them. Handles are opaque pointers to the
// caller, so the fake hands out pointers to its own bookkeeping structs.
extern "C" {
typedef int hipError_t;
typedef fakegpu::Module* hipModule_t;
typedef fakegpu::Function* hipFunction_t;
typedef fakegpu::Event* hipEvent_t;
typedef void* hipStream_t;
}

namespace {

enum : hipError_t {
  hipSuccess = 0,
  hipErrorInvalidValue = 1,
  hipErrorOutOfMemory = 2,
  hipErrorNoDevice = 100,
  hipErrorInvalidDevice = 101,
  hipErrorInvalidImage = 200,
  hipErrorNoBinaryForGpu = 209,
  hipErrorInvalidHandle = 400,
  hipErrorNotFound = 500,
  hipErrorIllegalAddress = 700,
};

// hipDeviceProp_tR0600: the offsets of the fields the fake fills in, and its size.
constexpr std::size_t kPropsSize = 1472;
constexpr std::size_t kPropsName = 0;
constexpr std::size_t kPropsTotalGlobalMem = 288;
constexpr std::size_t kPropsMultiProcessorCount = 388;
constexpr std::size_t kPropsPciBusId = 584;
constexpr std::size_t kPropsGcnArchName = 1160;

constexpr std::uint64_t kPtrBase = 0x7e0000000000ULL;
// What the fake hiprtc produces (fake_hiprtc.cpp); anything else is not a code object.
constexpr const char* kCodeObjectMagic = "FAKEGPU-HSACO v1";

using Lock = std::unique_lock<std::mutex>;

struct ErrorText {
  hipError_t code;
  const char* name;
  const char* text;
};

constexpr ErrorText kErrors[] = {
    {0, "hipSuccess", "no error"},
    {1, "hipErrorInvalidValue", "invalid argument"},
    {2, "hipErrorOutOfMemory", "out of memory"},
    {3, "hipErrorNotInitialized", "initialization error"},
    {35, "hipErrorInsufficientDriver", "driver version is insufficient for runtime version"},
    {100, "hipErrorNoDevice", "no ROCm-capable device is detected"},
    {101, "hipErrorInvalidDevice", "invalid device ordinal"},
    {200, "hipErrorInvalidImage", "device kernel image is invalid"},
    {209, "hipErrorNoBinaryForGpu", "no kernel image is available for execution on the device"},
    {400, "hipErrorInvalidHandle", "invalid resource handle"},
    {500, "hipErrorNotFound", "named symbol not found"},
    {700, "hipErrorIllegalAddress", "an illegal memory access was encountered"},
    {719, "hipErrorLaunchFailure", "unspecified launch failure"},
    {999, "hipErrorUnknown", "unknown error"},
};

const ErrorText* find_error(hipError_t code) {
  for (const auto& e : kErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

using fakegpu::find_range;
using fakegpu::hex;
using fakegpu::Runtime;
using fakegpu::SyncKind;

// The runtime's codes for what the shared device model reports.
constexpr fakegpu::ResultCodes kCodes{hipErrorOutOfMemory, hipErrorInvalidValue,
                                      hipErrorInvalidDevice};

void log_event(State& s, const std::string& what, int physical, int visible,
               const std::string& extra = {}) {
  fakegpu::log_device_event(s, what, physical, visible, extra);
}

// Like the real runtime, every entry point initialises HIP on first use; the masks are read once,
// by the initialisation that succeeds.
hipError_t ensure_init(State& s) {
  if (s.config.hip.init_error != 0) return s.config.hip.init_error;
  if (s.hip_initialized) return hipSuccess;
  const char* rocr = std::getenv("ROCR_VISIBLE_DEVICES");
  const char* hip = std::getenv("HIP_VISIBLE_DEVICES");
  const char* cuda = std::getenv("CUDA_VISIBLE_DEVICES");
  s.hip_rocr_set = rocr != nullptr;
  s.hip_rocr = rocr ? rocr : "";
  s.hip_overlay_set = hip != nullptr || cuda != nullptr;
  s.hip_overlay = hip ? hip : (cuda ? cuda : "");
  s.hip_initialized = true;
  return hipSuccess;
}

// Maps a visible ordinal to its physical index.
hipError_t resolve_device(State& s, int ordinal, int* physical) {
  if (hipError_t rc = ensure_init(s); rc != hipSuccess) return rc;
  const auto visible = fakegpu::hip_visible_devices(s);
  if (ordinal < 0 || ordinal >= static_cast<int>(visible.size())) return hipErrorInvalidDevice;
  *physical = visible[static_cast<std::size_t>(ordinal)];
  return hipSuccess;
}

// The device current on this thread.
hipError_t current_device(State& s, int* physical, int* visible) {
  *visible = fakegpu::hip_current_device();
  return resolve_device(s, *visible, physical);
}

hipError_t take_launch_fault(State& s, int physical, int visible) {
  return fakegpu::take_launch_fault(s, Runtime::hip, physical, visible);
}

hipError_t synchronize(int physical, int visible, SyncKind kind) {
  return fakegpu::synchronize(Runtime::hip, kCodes, physical, visible, kind);
}

// The base name of a target id: "gfx90a:sramecc+:xnack-" -> "gfx90a".
std::string base_arch(const std::string& arch) {
  return arch.substr(0, arch.find(':'));
}

// A code object built for `code_arch` runs on a device of `device_arch` when the targets are equal,
// or when the code names the processor without features (it then suits every feature setting).
bool arch_compatible(const std::string& code_arch, const std::string& device_arch) {
  if (code_arch == device_arch) return true;
  return code_arch.find(':') == std::string::npos && code_arch == base_arch(device_arch);
}

void put(unsigned char* props, std::size_t offset, const void* value, std::size_t size) {
  std::memcpy(props + offset, value, size);
}

}  // namespace

#define HIP_API extern "C" __attribute__((visibility("default")))

HIP_API hipError_t hipInit(unsigned int flags) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  ++s.hip_init_calls;
  hipError_t rc = flags != 0 ? hipErrorInvalidValue : ensure_init(s);
  fakegpu::log_event(s, "hipInit result=" + std::to_string(rc));
  fakegpu::publish(s);
  return rc;
}

HIP_API hipError_t hipGetDeviceCount(int* count) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (!count) return hipErrorInvalidValue;
  *count = 0;
  if (hipError_t rc = ensure_init(s); rc != hipSuccess) return rc;
  if (s.config.hip.device_count_error != 0) return s.config.hip.device_count_error;
  *count = static_cast<int>(fakegpu::hip_visible_devices(s).size());
  return *count == 0 ? hipErrorNoDevice : hipSuccess;
}

HIP_API hipError_t hipSetDevice(int ordinal) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (hipError_t rc = ensure_init(s); rc != hipSuccess) return rc;
  s.set_device_calls.push_back(ordinal);
  if (s.set_device_calls.size() > fakegpu::kAllocLogSize)
    s.set_device_calls.erase(s.set_device_calls.begin());
  fakegpu::publish(s);
  int physical = 0;
  if (hipError_t rc = resolve_device(s, ordinal, &physical); rc != hipSuccess) return rc;
  if (int err = fakegpu::hip_faults_for(s, ordinal).set_device_error; err != 0) {
    log_event(s, "set_device_failed", physical, ordinal, "result=" + std::to_string(err));
    return err;
  }
  fakegpu::hip_current_device() = ordinal;
  return hipSuccess;
}

HIP_API hipError_t hipGetDevice(int* ordinal) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (hipError_t rc = ensure_init(s); rc != hipSuccess) return rc;
  if (!ordinal) return hipErrorInvalidValue;
  if (s.config.hip.get_device_error != 0) return s.config.hip.get_device_error;
  *ordinal = fakegpu::hip_current_device();
  return hipSuccess;
}

HIP_API hipError_t hipDeviceGetName(char* name, int length, int ordinal) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (hipError_t rc = resolve_device(s, ordinal, &physical); rc != hipSuccess) return rc;
  if (!name || length <= 0) return hipErrorInvalidValue;
  std::snprintf(name, static_cast<std::size_t>(length), "%s",
                s.config.devices[physical].name.c_str());
  return hipSuccess;
}

HIP_API hipError_t hipGetDevicePropertiesR0600(void* properties, int ordinal) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (hipError_t rc = resolve_device(s, ordinal, &physical); rc != hipSuccess) return rc;
  if (!properties) return hipErrorInvalidValue;
  auto* props = static_cast<unsigned char*>(properties);
  // Exactly the struct's size, like the runtime: the caller's larger buffer keeps its zeros.
  std::memset(props, 0, kPropsSize);
  const fakegpu::DeviceConfig& d = s.config.devices[physical];
  std::snprintf(reinterpret_cast<char*>(props + kPropsName), 256, "%s", d.name.c_str());
  const std::size_t total = d.total_memory;
  put(props, kPropsTotalGlobalMem, &total, sizeof total);
  const int compute_units = 104;
  put(props, kPropsMultiProcessorCount, &compute_units, sizeof compute_units);
  put(props, kPropsPciBusId, &physical, sizeof physical);
  std::snprintf(reinterpret_cast<char*>(props + kPropsGcnArchName), 256, "%s", d.gcn_arch.c_str());
  return hipSuccess;
}

HIP_API hipError_t hipMalloc(void** pointer, std::size_t bytes) {
  State& s = fakegpu::state();
  long delay = 0;
  int visible = 0;
  {
    Lock lock(s.mu);
    fakegpu::refresh_config(s);
    int physical = 0;
    if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
    if (!pointer) return hipErrorInvalidValue;
    delay = fakegpu::hip_faults_for(s, visible).alloc_delay_ms;
  }
  fakegpu::sleep_ms(delay);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  int physical = 0;
  if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
  *pointer = nullptr;
  if (bytes == 0) return hipSuccess;  // the runtime answers a null pointer for zero bytes
  std::uint64_t ptr = 0;
  const int rc =
      fakegpu::allocate(s, Runtime::hip, kCodes, physical, visible, bytes, kPtrBase, &ptr);
  if (rc == hipSuccess) *pointer = reinterpret_cast<void*>(ptr);
  return rc;
}

HIP_API hipError_t hipFree(void* pointer) {
  if (pointer == nullptr) return hipSuccess;
  State& s = fakegpu::state();
  const auto ptr = reinterpret_cast<std::uint64_t>(pointer);
  long delay = 0;
  int visible = 0;
  {
    Lock lock(s.mu);
    fakegpu::refresh_config(s);
    auto it = s.allocations.find(ptr);
    if (it == s.allocations.end()) return hipErrorInvalidValue;
    visible = fakegpu::hip_current_device();
    delay = fakegpu::hip_faults_for(s, visible).free_delay_ms;
    log_event(s, "free_begin", it->second.physical, visible, "ptr=" + hex(ptr));
  }
  fakegpu::sleep_ms(delay);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  return fakegpu::release(s, Runtime::hip, kCodes, visible, ptr);
}

HIP_API hipError_t hipMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  int physical = 0;
  int visible = 0;
  if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
  if (!free_bytes || !total_bytes) return hipErrorInvalidValue;
  if (s.config.hip.mem_info_error != 0) return s.config.hip.mem_info_error;
  *free_bytes = fakegpu::device_free_bytes(s, physical);
  *total_bytes = s.config.devices[physical].total_memory;
  return hipSuccess;
}

HIP_API hipError_t hipMemset(void* pointer, int /*value*/, std::size_t bytes) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  int physical = 0;
  int visible = 0;
  if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
  const fakegpu::Allocation* a = find_range(s, reinterpret_cast<std::uint64_t>(pointer), bytes);
  if (!a || a->physical != physical) return hipErrorInvalidValue;
  ++s.devices[physical].memsets;
  fakegpu::publish(s);
  return hipSuccess;
}

HIP_API hipError_t hipMemcpyDtoDAsync(void* destination, void* source, std::size_t bytes,
                                      hipStream_t /*stream*/) {
  State& s = fakegpu::state();
  long delay_us = 0;
  int physical = 0;
  int visible = 0;
  {
    Lock lock(s.mu);
    fakegpu::refresh_config(s);
    if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
    // Both ranges must lie inside live allocations of this device, as a DMA copy would need.
    const auto* to = find_range(s, reinterpret_cast<std::uint64_t>(destination), bytes);
    const auto* from = find_range(s, reinterpret_cast<std::uint64_t>(source), bytes);
    if (!to || !from || to->physical != physical || from->physical != physical) {
      log_event(s, "copy_bad_args", physical, visible, "bytes=" + std::to_string(bytes));
      return hipErrorInvalidValue;
    }
    delay_us = fakegpu::hip_faults_for(s, visible).launch_delay_us;
  }
  fakegpu::sleep_us(delay_us);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (hipError_t rc = take_launch_fault(s, physical, visible); rc != hipSuccess) return rc;
  auto& dev = s.devices[physical];
  ++dev.copies;
  dev.copy_bytes += bytes;
  if (++s.launches_since_publish >= 100) fakegpu::publish(s);
  return hipSuccess;
}

HIP_API hipError_t hipModuleLoadData(hipModule_t* module, const void* image) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  int physical = 0;
  int visible = 0;
  if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
  if (!module || !image) return hipErrorInvalidValue;
  if (int err = fakegpu::hip_faults_for(s, visible).module_load_error; err != 0) return err;
  std::istringstream text{std::string(static_cast<const char*>(image))};
  std::string line;
  if (!std::getline(text, line) || line != kCodeObjectMagic) return hipErrorInvalidImage;
  std::string arch;
  std::vector<std::string> entries;
  while (std::getline(text, line)) {
    if (line.rfind("arch ", 0) == 0) arch = line.substr(5);
    if (line.rfind("entry ", 0) == 0) entries.push_back(line.substr(6));
  }
  if (!arch_compatible(arch, s.config.devices[physical].gcn_arch)) {
    log_event(s, "module_arch_mismatch", physical, visible, "code=" + arch);
    return hipErrorNoBinaryForGpu;
  }
  auto* m = new fakegpu::Module;
  m->physical = physical;
  m->visible = visible;
  m->entries = std::move(entries);
  s.modules.insert(m);
  *module = m;
  return hipSuccess;
}

HIP_API hipError_t hipModuleGetFunction(hipFunction_t* function, hipModule_t module,
                                        const char* name) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.modules.contains(module)) return hipErrorInvalidHandle;
  if (!function || !name) return hipErrorInvalidValue;
  for (const auto& f : module->functions) {
    if (f->name == name) {
      *function = f.get();
      return hipSuccess;
    }
  }
  if (std::find(module->entries.begin(), module->entries.end(), name) == module->entries.end())
    return hipErrorNotFound;
  auto f = std::make_unique<fakegpu::Function>();
  f->module = module;
  f->name = name;
  *function = f.get();
  s.functions.insert(f.get());
  module->functions.push_back(std::move(f));
  return hipSuccess;
}

HIP_API hipError_t hipModuleUnload(hipModule_t module) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.modules.contains(module)) return hipErrorInvalidHandle;
  for (const auto& f : module->functions)
    s.functions.erase(f.get());
  s.modules.erase(module);
  delete module;
  return hipSuccess;
}

HIP_API hipError_t hipModuleLaunchKernel(hipFunction_t function, unsigned int grid_x,
                                         unsigned int grid_y, unsigned int grid_z,
                                         unsigned int block_x, unsigned int block_y,
                                         unsigned int block_z, unsigned int /*shared_mem_bytes*/,
                                         hipStream_t /*stream*/, void** kernel_params,
                                         void** /*extra*/) {
  State& s = fakegpu::state();
  int physical = 0;
  int visible = 0;
  bool fill = false;
  std::uint64_t buffer = 0;
  std::uint64_t elements = 0;
  long delay_us = 0;
  {
    Lock lock(s.mu);
    fakegpu::refresh_config(s);
    if (!s.functions.contains(function)) return hipErrorInvalidHandle;
    const std::uint64_t threads = std::uint64_t{block_x} * block_y * block_z;
    if (grid_x == 0 || grid_y == 0 || grid_z == 0 || grid_x > 2147483647u || grid_y > 65535 ||
        grid_z > 65535 || threads == 0 || threads > 1024)
      return hipErrorInvalidValue;
    // The product's kernels take (float* buffer, unsigned long long element_count).
    if (!kernel_params || !kernel_params[0] || !kernel_params[1]) return hipErrorInvalidValue;
    std::memcpy(&buffer, kernel_params[0], sizeof buffer);
    std::memcpy(&elements, kernel_params[1], sizeof elements);
    physical = function->module->physical;
    visible = function->module->visible;
    fill = function->name.find("fill") != std::string::npos;
    if (s.config.hip.check_kernel_args) {
      const fakegpu::Allocation* a =
          elements > UINT64_MAX / 4 ? nullptr : find_range(s, buffer, elements * 4);
      if (!a || a->physical != physical) {
        log_event(s, "launch_bad_args", physical, visible,
                  "ptr=" + hex(buffer) + " elements=" + std::to_string(elements));
        return hipErrorIllegalAddress;
      }
    }
    delay_us = fakegpu::hip_faults_for(s, visible).launch_delay_us;
  }
  fakegpu::sleep_us(delay_us);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (!s.functions.contains(function)) return hipErrorInvalidHandle;
  if (hipError_t rc = take_launch_fault(s, physical, visible); rc != hipSuccess) return rc;
  auto& dev = s.devices[physical];
  ++dev.launches;
  ++(fill ? dev.fill_launches : dev.relu_launches);
  dev.last_kernel_elements = elements;
  dev.last_grid = {grid_x, grid_y, grid_z};
  dev.last_block = {block_x, block_y, block_z};
  if (fill || ++s.launches_since_publish >= 100) fakegpu::publish(s);
  return hipSuccess;
}

HIP_API hipError_t hipEventCreateWithFlags(hipEvent_t* event, unsigned int /*flags*/) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  int visible = 0;
  if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
  if (!event) return hipErrorInvalidValue;
  auto* e = new fakegpu::Event;
  e->physical = physical;
  e->visible = visible;
  s.events.insert(e);
  *event = e;
  return hipSuccess;
}

HIP_API hipError_t hipEventRecord(hipEvent_t event, hipStream_t /*stream*/) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.events.contains(event)) return hipErrorInvalidHandle;
  event->recorded = true;
  event->when = std::chrono::steady_clock::now();
  return hipSuccess;
}

HIP_API hipError_t hipEventSynchronize(hipEvent_t event) {
  int physical = 0;
  int visible = 0;
  {
    State& s = fakegpu::state();
    Lock lock(s.mu);
    if (!s.events.contains(event)) return hipErrorInvalidHandle;
    if (!event->recorded) return hipSuccess;
    physical = event->physical;
    visible = event->visible;
  }
  return synchronize(physical, visible, SyncKind::event);
}

HIP_API hipError_t hipEventDestroy(hipEvent_t event) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.events.erase(event)) return hipErrorInvalidHandle;
  delete event;
  return hipSuccess;
}

HIP_API hipError_t hipDeviceSynchronize(void) {
  int physical = 0;
  int visible = 0;
  {
    State& s = fakegpu::state();
    Lock lock(s.mu);
    fakegpu::refresh_config(s);
    if (hipError_t rc = current_device(s, &physical, &visible); rc != hipSuccess) return rc;
  }
  return synchronize(physical, visible, SyncKind::work);
}

HIP_API const char* hipGetErrorString(hipError_t error) {
  const ErrorText* e = find_error(error);
  return e ? e->text : "unknown error";
}

HIP_API const char* hipGetErrorName(hipError_t error) {
  const ErrorText* e = find_error(error);
  return e ? e->name : "hipErrorUnknown";
}
