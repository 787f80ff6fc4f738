// Fake CUDA driver API (libcuda.so.1). Exports the real entry points with the real C ABI so that
// keep-gpu runs its unmodified CUDA backend against simulated devices. Behaviour and faults follow
// the scenario in FAKEGPU_CONFIG (README.md).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fakegpu_state.hpp"

using fakegpu::State;

// The driver API types, as the public documentation declares them. Handles are opaque pointers to
// the caller, so the fake hands out pointers to its own bookkeeping structs.
extern "C" {
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef fakegpu::Context* CUcontext;
typedef fakegpu::Module* CUmodule;
typedef fakegpu::Function* CUfunction;
typedef fakegpu::Stream* CUstream;
typedef fakegpu::Event* CUevent;
typedef int CUjit_option;
typedef struct CUuuid_st {
  char bytes[16];
} CUuuid;
}

namespace {

enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_INVALID_PTX = 218,
  CUDA_ERROR_INVALID_HANDLE = 400,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_NOT_READY = 600,
  CUDA_ERROR_ILLEGAL_ADDRESS = 700,
};

constexpr int kDriverVersion = 12040;
constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER = 3;
constexpr CUjit_option CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
// cuLaunchKernel's `extra` markers.
void* const CU_LAUNCH_PARAM_END = nullptr;
void* const CU_LAUNCH_PARAM_BUFFER_POINTER = reinterpret_cast<void*>(1);
void* const CU_LAUNCH_PARAM_BUFFER_SIZE = reinterpret_cast<void*>(2);
// Special stream handles meaning "the current context's default stream".
const std::uintptr_t kStreamLegacy = 0x1;
const std::uintptr_t kStreamPerThread = 0x2;

constexpr std::uint64_t kPtrBase = 0x7f0000000000ULL;

// The primary context bound to this thread (cuCtxSetCurrent), as in the real driver.
thread_local fakegpu::Context* tls_current = nullptr;

using Lock = std::unique_lock<std::mutex>;

struct ErrorText {
  CUresult code;
  const char* name;
  const char* text;
};

// The real driver's texts for the codes a keeper can meet; the product shows them to users and
// the OOM detection looks for "out of memory".
constexpr ErrorText kErrors[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {4, "CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
    {34, "CUDA_ERROR_STUB_LIBRARY", "CUDA driver is a stub library"},
    {46, "CUDA_ERROR_DEVICE_UNAVAILABLE", "CUDA-capable device(s) is/are busy or unavailable"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU",
     "no kernel image is available for execution on the device"},
    {214, "CUDA_ERROR_ECC_UNCORRECTABLE", "uncorrectable ECC error encountered"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
     "the provided PTX was compiled with an unsupported toolchain."},
    {304, "CUDA_ERROR_OPERATING_SYSTEM", "OS call failed or operation not supported on this OS"},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {600, "CUDA_ERROR_NOT_READY", "device not ready"},
    {700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {702, "CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"},
    {709, "CUDA_ERROR_CONTEXT_IS_DESTROYED", "context is destroyed"},
    {710, "CUDA_ERROR_ASSERT", "device-side assert triggered"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
    {801, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {802, "CUDA_ERROR_SYSTEM_NOT_READY", "system not yet initialized"},
    {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

const ErrorText* find_error(CUresult code) {
  for (const auto& e : kErrors) {
    if (e.code == code) return &e;
  }
  return nullptr;
}

// Maps a CUdevice (visible ordinal) to its physical index.
CUresult resolve_device(State& s, CUdevice dev, int* physical) {
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  const auto visible = fakegpu::visible_devices(s);
  if (dev < 0 || dev >= static_cast<int>(visible.size())) return CUDA_ERROR_INVALID_DEVICE;
  *physical = visible[static_cast<std::size_t>(dev)];
  return CUDA_SUCCESS;
}

bool context_live(State& s, const fakegpu::Context* ctx) {
  return ctx && ctx->refcount > 0 && ctx->physical < static_cast<int>(s.config.devices.size());
}

CUresult current_context(State& s, fakegpu::Context** out) {
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!context_live(s, tls_current)) return CUDA_ERROR_INVALID_CONTEXT;
  *out = tls_current;
  return CUDA_SUCCESS;
}

bool is_our_context(State& s, const fakegpu::Context* ctx) {
  const auto base = reinterpret_cast<std::uintptr_t>(s.contexts.data());
  const auto p = reinterpret_cast<std::uintptr_t>(ctx);
  return p >= base && p < base + sizeof(s.contexts) && (p - base) % sizeof(fakegpu::Context) == 0;
}

using fakegpu::find_range;
using fakegpu::hex;
using fakegpu::Runtime;
using fakegpu::SyncKind;

// The driver's codes for what the shared device model reports.
constexpr fakegpu::ResultCodes kCodes{CUDA_ERROR_OUT_OF_MEMORY, CUDA_ERROR_INVALID_VALUE,
                                      CUDA_ERROR_INVALID_CONTEXT};

void log_event(State& s, const std::string& what, int physical, int visible,
               const std::string& extra = {}) {
  fakegpu::log_device_event(s, what, physical, visible, extra);
}

CUresult synchronize(int physical, int visible, SyncKind kind) {
  return fakegpu::synchronize(Runtime::cuda, kCodes, physical, visible, kind);
}

// Writes `text` into a JIT log option buffer (NUL-terminated, truncated to its size) and reports
// the bytes written back through the size option, as the driver does.
void write_jit_log(unsigned count, const CUjit_option* options, void** values,
                   CUjit_option buffer_opt, CUjit_option size_opt, const std::string& text) {
  if (!options || !values) return;
  char* buffer = nullptr;
  int size_index = -1;
  for (unsigned i = 0; i < count; ++i) {
    if (options[i] == buffer_opt) buffer = static_cast<char*>(values[i]);
    if (options[i] == size_opt) size_index = static_cast<int>(i);
  }
  if (!buffer || size_index < 0) return;
  const auto size = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(values[size_index]));
  if (size == 0) return;
  const std::size_t n = std::min(text.size(), size - 1);
  std::memcpy(buffer, text.data(), n);
  buffer[n] = '\0';
  values[size_index] = reinterpret_cast<void*>(static_cast<std::uintptr_t>(n + 1));
}

// Kernel names declared with `.entry` in PTX text.
std::vector<std::string> ptx_entries(const char* ptx) {
  std::vector<std::string> names;
  const std::string text(ptx);
  std::size_t pos = 0;
  while ((pos = text.find(".entry", pos)) != std::string::npos) {
    pos += 6;
    std::size_t i = pos;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])))
      ++i;
    std::size_t j = i;
    while (j < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_' || text[j] == '$'))
      ++j;
    if (j > i && i > pos) names.push_back(text.substr(i, j - i));
  }
  return names;
}

int default_attribute(int attrib, int physical) {
  switch (attrib) {
    case 1:
      return 1024;  // max threads per block
    case 2:
      return 1024;  // max block dim x
    case 3:
      return 1024;  // max block dim y
    case 4:
      return 64;  // max block dim z
    case 5:
      return 2147483647;  // max grid dim x
    case 6:
      return 65535;  // max grid dim y
    case 7:
      return 65535;  // max grid dim z
    case 8:
      return 49152;  // shared memory per block
    case 9:
      return 65536;  // total constant memory
    case 10:
      return 32;  // warp size
    case 12:
      return 65536;  // registers per block
    case 13:
      return 1980000;  // clock rate, kHz
    case 14:
      return 512;  // texture alignment
    case 15:
      return 1;  // gpu overlap
    case 16:
      return 132;  // multiprocessor count
    case 19:
      return 1;  // can map host memory
    case 31:
      return 1;  // concurrent kernels
    case 33:
      return physical;  // PCI bus id, consistent with cuDeviceGetPCIBusId
    case 36:
      return 2619000;  // memory clock rate, kHz
    case 37:
      return 5120;  // global memory bus width
    case 38:
      return 52428800;  // L2 cache size
    case 39:
      return 2048;  // max threads per multiprocessor
    case 40:
      return 3;  // async engine count
    case 41:
      return 1;  // unified addressing
    case 75:
      return 9;  // compute capability major
    case 76:
      return 0;  // compute capability minor
    default:
      return 0;
  }
}

}  // namespace

#define CUDA_API extern "C" __attribute__((visibility("default")))

CUDA_API CUresult cuInit(unsigned int flags) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  ++s.cuda_init_calls;
  CUresult rc = CUDA_SUCCESS;
  if (flags != 0) {
    rc = CUDA_ERROR_INVALID_VALUE;
  } else if (s.config.cuda.init_error != 0) {
    rc = s.config.cuda.init_error;
  } else if (!s.cuda_initialized) {
    // Like the driver, CUDA_VISIBLE_DEVICES is read once, by the initialization that succeeds.
    const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
    s.visible_env_set = env != nullptr;
    s.visible_env = env ? env : "";
    if (fakegpu::visible_devices(s).empty()) {
      s.visible_env_set = false;
      s.visible_env.clear();
      rc = CUDA_ERROR_NO_DEVICE;
    } else {
      s.cuda_initialized = true;
    }
  }
  fakegpu::log_event(s, "cuInit result=" + std::to_string(rc));
  fakegpu::publish(s);
  return rc;
}

CUDA_API CUresult cuDriverGetVersion(int* version) {
  if (!version) return CUDA_ERROR_INVALID_VALUE;
  *version = kDriverVersion;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuDeviceGetCount(int* count) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!count) return CUDA_ERROR_INVALID_VALUE;
  fakegpu::refresh_config(s);
  if (s.config.cuda.device_count_error != 0) return s.config.cuda.device_count_error;
  *count = static_cast<int>(fakegpu::visible_devices(s).size());
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  fakegpu::refresh_config(s);
  s.device_get_calls.push_back(ordinal);
  int physical = 0;
  if (CUresult rc = resolve_device(s, ordinal, &physical); rc != CUDA_SUCCESS) return rc;
  if (int err = fakegpu::faults_for(s, ordinal).device_get_error; err != 0) return err;
  *device = ordinal;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (!name || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  // The driver truncates silently to the buffer.
  std::snprintf(name, static_cast<std::size_t>(len), "%s", s.config.devices[physical].name.c_str());
  return CUDA_SUCCESS;
}

namespace {
CUresult device_uuid(CUuuid* uuid, CUdevice dev) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (!uuid) return CUDA_ERROR_INVALID_VALUE;
  // The 16 bytes are the hex digits of the configured "GPU-..." string, so that the product's
  // "GPU-%02x..." rendering gives back the UUID NVML reports for the same device.
  std::memset(uuid->bytes, 0, sizeof uuid->bytes);
  const std::string& text = s.config.devices[physical].uuid;
  std::size_t start =
      (text.size() >= 4 && (text.compare(0, 4, "GPU-") == 0 || text.compare(0, 4, "gpu-") == 0))
          ? 4
          : 0;
  int nibble = 0;
  for (std::size_t i = start; i < text.size() && nibble < 32; ++i) {
    const char c = text[i];
    if (!std::isxdigit(static_cast<unsigned char>(c))) continue;
    const int v = std::isdigit(static_cast<unsigned char>(c))
                      ? c - '0'
                      : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    auto& byte = reinterpret_cast<unsigned char&>(uuid->bytes[nibble / 2]);
    byte = static_cast<unsigned char>(byte | (nibble % 2 == 0 ? v << 4 : v));
    ++nibble;
  }
  return CUDA_SUCCESS;
}
}  // namespace

CUDA_API CUresult cuDeviceGetUuid(CUuuid* uuid, CUdevice dev) {
  return device_uuid(uuid, dev);
}
CUDA_API CUresult cuDeviceGetUuid_v2(CUuuid* uuid, CUdevice dev) {
  return device_uuid(uuid, dev);
}

CUDA_API CUresult cuDeviceTotalMem_v2(std::size_t* bytes, CUdevice dev) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (!bytes) return CUDA_ERROR_INVALID_VALUE;
  *bytes = s.config.devices[physical].total_memory;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuDeviceGetAttribute(int* value, int attrib, CUdevice dev) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (!value || attrib <= 0 || attrib > 200) return CUDA_ERROR_INVALID_VALUE;
  const auto& overrides = s.config.devices[physical].attributes;
  auto it = overrides.find(attrib);
  *value = it != overrides.end() ? it->second : default_attribute(attrib, physical);
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuDeviceGetPCIBusId(char* bus_id, int len, CUdevice dev) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (!bus_id || len <= 0) return CUDA_ERROR_INVALID_VALUE;
  std::snprintf(bus_id, static_cast<std::size_t>(len), "00000000:%02X:00.0", physical);
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
  State& s = fakegpu::state();
  long delay = 0;
  {
    Lock lock(s.mu);
    if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
    fakegpu::refresh_config(s);
    s.ctx_retain_calls.push_back(dev);
    int physical = 0;
    if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
    if (!pctx) return CUDA_ERROR_INVALID_VALUE;
    delay = fakegpu::faults_for(s, dev).ctx_delay_ms;
  }
  // Slow context creation: sleep without the lock so other devices proceed.
  fakegpu::sleep_ms(delay);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (int err = fakegpu::faults_for(s, dev).ctx_error; err != 0) {
    log_event(s, "ctx_retain_failed", physical, dev, "result=" + std::to_string(err));
    fakegpu::publish(s);
    return err;
  }
  fakegpu::Context& ctx = s.contexts[physical];
  ++ctx.refcount;
  ctx.visible = dev;
  ++s.devices[physical].context_retains;
  *pctx = &ctx;
  log_event(s, "ctx_retain", physical, dev, "refs=" + std::to_string(ctx.refcount));
  fakegpu::publish(s);
  return CUDA_SUCCESS;
}

namespace {
CUresult primary_release(CUdevice dev) {
  State& s = fakegpu::state();
  long delay = 0;
  {
    Lock lock(s.mu);
    fakegpu::refresh_config(s);
    int physical = 0;
    if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
    delay = fakegpu::faults_for(s, dev).release_delay_ms;
    log_event(s, "ctx_release_begin", physical, dev);
  }
  fakegpu::sleep_ms(delay);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (int err = fakegpu::faults_for(s, dev).release_error; err != 0) {
    log_event(s, "ctx_release_failed", physical, dev, "result=" + std::to_string(err));
    return err;
  }
  fakegpu::Context& ctx = s.contexts[physical];
  if (ctx.refcount <= 0) return CUDA_ERROR_INVALID_CONTEXT;
  --ctx.refcount;
  ++s.devices[physical].context_releases;
  // The last reference destroys the primary context and everything allocated in it.
  if (ctx.refcount == 0) fakegpu::drop_device_resources(s, physical);
  log_event(s, "ctx_release", physical, dev, "refs=" + std::to_string(ctx.refcount));
  fakegpu::publish(s);
  return CUDA_SUCCESS;
}

CUresult primary_reset(CUdevice dev) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  fakegpu::drop_device_resources(s, physical);
  ++s.devices[physical].context_resets;
  log_event(s, "ctx_reset", physical, dev);
  fakegpu::publish(s);
  return CUDA_SUCCESS;
}
}  // namespace

CUDA_API CUresult cuDevicePrimaryCtxRelease(CUdevice dev) {
  return primary_release(dev);
}
CUDA_API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
  return primary_release(dev);
}
CUDA_API CUresult cuDevicePrimaryCtxReset(CUdevice dev) {
  return primary_reset(dev);
}
CUDA_API CUresult cuDevicePrimaryCtxReset_v2(CUdevice dev) {
  return primary_reset(dev);
}

CUDA_API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int* flags, int* active) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  int physical = 0;
  if (CUresult rc = resolve_device(s, dev, &physical); rc != CUDA_SUCCESS) return rc;
  if (!flags || !active) return CUDA_ERROR_INVALID_VALUE;
  *flags = 0;
  *active = s.contexts[physical].refcount > 0 ? 1 : 0;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuCtxSetCurrent(CUcontext ctx) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx && !is_our_context(s, ctx)) return CUDA_ERROR_INVALID_CONTEXT;
  tls_current = ctx;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuCtxGetCurrent(CUcontext* pctx) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!pctx) return CUDA_ERROR_INVALID_VALUE;
  *pctx = tls_current;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuCtxGetDevice(CUdevice* device) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::Context* ctx = nullptr;
  if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
  if (!device) return CUDA_ERROR_INVALID_VALUE;
  *device = ctx->visible;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuCtxSynchronize(void) {
  int physical = 0;
  int visible = 0;
  {
    State& s = fakegpu::state();
    Lock lock(s.mu);
    fakegpu::Context* ctx = nullptr;
    if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
    physical = ctx->physical;
    visible = ctx->visible;
  }
  return synchronize(physical, visible, SyncKind::work);
}

CUDA_API CUresult cuMemAlloc_v2(CUdeviceptr* dptr, std::size_t bytes) {
  State& s = fakegpu::state();
  long delay = 0;
  int visible = 0;
  {
    Lock lock(s.mu);
    fakegpu::refresh_config(s);
    fakegpu::Context* ctx = nullptr;
    if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
    if (!dptr || bytes == 0) return CUDA_ERROR_INVALID_VALUE;
    visible = ctx->visible;
    delay = fakegpu::faults_for(s, visible).alloc_delay_ms;
  }
  fakegpu::sleep_ms(delay);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  fakegpu::Context* ctx = nullptr;
  if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
  std::uint64_t ptr = 0;
  const int rc =
      fakegpu::allocate(s, Runtime::cuda, kCodes, ctx->physical, visible, bytes, kPtrBase, &ptr);
  if (rc == CUDA_SUCCESS) *dptr = ptr;
  return rc;
}

CUDA_API CUresult cuMemFree_v2(CUdeviceptr dptr) {
  State& s = fakegpu::state();
  long delay = 0;
  int visible = 0;
  {
    Lock lock(s.mu);
    if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
    fakegpu::refresh_config(s);
    auto it = s.allocations.find(dptr);
    if (it == s.allocations.end()) return CUDA_ERROR_INVALID_VALUE;
    visible = s.contexts[it->second.physical].visible;
    delay = fakegpu::faults_for(s, visible).free_delay_ms;
    log_event(s, "free_begin", it->second.physical, visible, "ptr=" + hex(dptr));
  }
  fakegpu::sleep_ms(delay);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  return fakegpu::release(s, Runtime::cuda, kCodes, visible, dptr);
}

CUDA_API CUresult cuMemGetInfo_v2(std::size_t* free_bytes, std::size_t* total_bytes) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  fakegpu::Context* ctx = nullptr;
  if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
  if (!free_bytes || !total_bytes) return CUDA_ERROR_INVALID_VALUE;
  *free_bytes = fakegpu::device_free_bytes(s, ctx->physical);
  *total_bytes = s.config.devices[ctx->physical].total_memory;
  return CUDA_SUCCESS;
}

namespace {
CUresult memset_d32(CUdeviceptr dst, std::size_t count) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::Context* ctx = nullptr;
  if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
  if (count > UINT64_MAX / 4 || !find_range(s, dst, count * 4, nullptr))
    return CUDA_ERROR_INVALID_VALUE;
  ++s.devices[ctx->physical].memsets;
  return CUDA_SUCCESS;
}
}  // namespace

CUDA_API CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int /*value*/, std::size_t count) {
  return memset_d32(dst, count);
}

CUDA_API CUresult cuMemsetD32Async(CUdeviceptr dst, unsigned int /*value*/, std::size_t count,
                                   CUstream /*stream*/) {
  return memset_d32(dst, count);
}

CUDA_API CUresult cuModuleLoadDataEx(CUmodule* module, const void* image, unsigned int num_options,
                                     CUjit_option* options, void** option_values) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  fakegpu::Context* ctx = nullptr;
  if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
  if (!module || !image) return CUDA_ERROR_INVALID_VALUE;
  write_jit_log(num_options, options, option_values, CU_JIT_INFO_LOG_BUFFER,
                CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES, "");
  const int injected = fakegpu::faults_for(s, ctx->visible).module_load_error;
  auto entries = ptx_entries(static_cast<const char*>(image));
  if (injected != 0 || entries.empty()) {
    const std::string message =
        injected != 0
            ? "ptxas fatal   : fakegpu: injected module_load_error " + std::to_string(injected)
            : "ptxas fatal   : fakegpu: no .entry directive in the PTX text";
    write_jit_log(num_options, options, option_values, CU_JIT_ERROR_LOG_BUFFER,
                  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, message);
    return injected != 0 ? injected : CUDA_ERROR_INVALID_PTX;
  }
  auto* m = new fakegpu::Module;
  m->physical = ctx->physical;
  m->visible = ctx->visible;
  m->entries = std::move(entries);
  s.modules.insert(m);
  *module = m;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuModuleLoadData(CUmodule* module, const void* image) {
  return cuModuleLoadDataEx(module, image, 0, nullptr, nullptr);
}

CUDA_API CUresult cuModuleGetFunction(CUfunction* function, CUmodule module, const char* name) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!s.modules.contains(module)) return CUDA_ERROR_INVALID_HANDLE;
  if (!function || !name) return CUDA_ERROR_INVALID_VALUE;
  for (const auto& f : module->functions) {
    if (f->name == name) {
      *function = f.get();
      return CUDA_SUCCESS;
    }
  }
  for (const auto& entry : module->entries) {
    if (entry == name) {
      auto f = std::make_unique<fakegpu::Function>();
      f->module = module;
      f->name = entry;
      *function = f.get();
      s.functions.insert(f.get());
      module->functions.push_back(std::move(f));
      return CUDA_SUCCESS;
    }
  }
  return CUDA_ERROR_NOT_FOUND;
}

CUDA_API CUresult cuModuleUnload(CUmodule module) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!s.modules.contains(module)) return CUDA_ERROR_INVALID_HANDLE;
  for (const auto& f : module->functions)
    s.functions.erase(f.get());
  s.modules.erase(module);
  delete module;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuLaunchKernel(CUfunction function, unsigned int grid_x, unsigned int grid_y,
                                 unsigned int grid_z, unsigned int block_x, unsigned int block_y,
                                 unsigned int block_z, unsigned int /*shared_mem_bytes*/,
                                 CUstream /*stream*/, void** kernel_params, void** extra) {
  State& s = fakegpu::state();
  int physical = 0;
  int visible = 0;
  bool fill = false;
  std::uint64_t buffer = 0;
  std::uint64_t elements = 0;
  long delay_us = 0;
  {
    Lock lock(s.mu);
    if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
    fakegpu::refresh_config(s);
    if (!s.functions.contains(function)) return CUDA_ERROR_INVALID_HANDLE;
    // The device's limits (see default_attribute): a launch that a real GPU rejects fails here too.
    const std::uint64_t threads = std::uint64_t{block_x} * block_y * block_z;
    if (grid_x == 0 || grid_y == 0 || grid_z == 0 || grid_x > 2147483647u || grid_y > 65535 ||
        grid_z > 65535 || threads == 0 || threads > 1024 || block_x > 1024 || block_y > 1024 ||
        block_z > 64)
      return CUDA_ERROR_INVALID_VALUE;
    const bool spin = function->name.find("spin") != std::string::npos;
    if (spin) {
      // keepgpu_spin(unsigned long long nanoseconds): no memory, one warp.
      std::uint64_t ns = 0;
      if (kernel_params) {
        if (!kernel_params[0]) return CUDA_ERROR_INVALID_VALUE;
        std::memcpy(&ns, kernel_params[0], sizeof ns);
      } else {
        return CUDA_ERROR_INVALID_VALUE;
      }
      const int spin_visible = function->module->visible;
      if (int rc = fakegpu::take_launch_fault(s, Runtime::cuda, function->module->physical,
                                              spin_visible);
          rc != 0)
        return rc;
      auto& dev = s.devices[function->module->physical];
      ++dev.launches;
      dev.last_grid = {grid_x, grid_y, grid_z};
      dev.last_block = {block_x, block_y, block_z};
      fakegpu::record_spin(s, function->module->physical, ns);
      fakegpu::publish(s);
      return CUDA_SUCCESS;
    }
    // The product's other kernels take (CUdeviceptr buffer, unsigned long long element_count).
    if (kernel_params) {
      if (!kernel_params[0] || !kernel_params[1]) return CUDA_ERROR_INVALID_VALUE;
      std::memcpy(&buffer, kernel_params[0], sizeof buffer);
      std::memcpy(&elements, kernel_params[1], sizeof elements);
    } else if (extra) {
      const char* packed = nullptr;
      std::size_t packed_size = 0;
      for (std::size_t i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
        if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER) packed = static_cast<char*>(extra[i + 1]);
        if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
          std::memcpy(&packed_size, extra[i + 1], sizeof packed_size);
      }
      if (!packed || packed_size < 16) return CUDA_ERROR_INVALID_VALUE;
      std::memcpy(&buffer, packed, sizeof buffer);
      std::memcpy(&elements, packed + 8, sizeof elements);
    } else {
      return CUDA_ERROR_INVALID_VALUE;
    }
    physical = function->module->physical;
    visible = function->module->visible;
    fill = function->name.find("fill") != std::string::npos;
    if (s.config.cuda.check_kernel_args) {
      // float32 elements: a buffer/count pair that runs off its allocation is the illegal access
      // a real GPU would report (for example an element count truncated or scaled wrongly).
      const fakegpu::Allocation* a =
          elements > UINT64_MAX / 4 ? nullptr : find_range(s, buffer, elements * 4, nullptr);
      if (!a || a->physical != physical) {
        log_event(s, "launch_bad_args", physical, visible,
                  "ptr=" + hex(buffer) + " elements=" + std::to_string(elements));
        return CUDA_ERROR_ILLEGAL_ADDRESS;
      }
    }
    delay_us = fakegpu::faults_for(s, visible).launch_delay_us;
  }
  fakegpu::sleep_us(delay_us);
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (!s.functions.contains(function)) return CUDA_ERROR_INVALID_HANDLE;
  if (int rc = fakegpu::take_launch_fault(s, Runtime::cuda, physical, visible); rc != 0) return rc;
  auto& dev = s.devices[physical];
  ++dev.launches;
  ++(fill ? dev.fill_launches : dev.relu_launches);
  dev.last_kernel_elements = elements;
  dev.last_grid = {grid_x, grid_y, grid_z};
  dev.last_block = {block_x, block_y, block_z};
  // Launches come by the thousand; the file is rewritten every 100 and at every sync.
  if (fill || ++s.launches_since_publish >= 100) fakegpu::publish(s);
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuStreamCreate(CUstream* stream, unsigned int /*flags*/) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::Context* ctx = nullptr;
  if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
  if (!stream) return CUDA_ERROR_INVALID_VALUE;
  auto* st = new fakegpu::Stream{ctx->physical, ctx->visible};
  s.streams.insert(st);
  *stream = st;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuStreamDestroy_v2(CUstream stream) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!s.streams.erase(stream)) return CUDA_ERROR_INVALID_HANDLE;
  delete stream;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuStreamSynchronize(CUstream stream) {
  int physical = 0;
  int visible = 0;
  {
    State& s = fakegpu::state();
    Lock lock(s.mu);
    const auto handle = reinterpret_cast<std::uintptr_t>(stream);
    if (handle == 0 || handle == kStreamLegacy || handle == kStreamPerThread) {
      fakegpu::Context* ctx = nullptr;
      if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
      physical = ctx->physical;
      visible = ctx->visible;
    } else {
      if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
      if (!s.streams.contains(stream)) return CUDA_ERROR_INVALID_HANDLE;
      physical = stream->physical;
      visible = stream->visible;
    }
  }
  return synchronize(physical, visible, SyncKind::work);
}

CUDA_API CUresult cuEventCreate(CUevent* event, unsigned int /*flags*/) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::Context* ctx = nullptr;
  if (CUresult rc = current_context(s, &ctx); rc != CUDA_SUCCESS) return rc;
  if (!event) return CUDA_ERROR_INVALID_VALUE;
  auto* e = new fakegpu::Event;
  e->physical = ctx->physical;
  e->visible = ctx->visible;
  s.events.insert(e);
  *event = e;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuEventRecord(CUevent event, CUstream /*stream*/) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!s.events.contains(event)) return CUDA_ERROR_INVALID_HANDLE;
  event->recorded = true;
  event->when = std::chrono::steady_clock::now();
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuEventSynchronize(CUevent event) {
  int physical = 0;
  int visible = 0;
  {
    State& s = fakegpu::state();
    Lock lock(s.mu);
    if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
    if (!s.events.contains(event)) return CUDA_ERROR_INVALID_HANDLE;
    // An event that was never recorded is complete at once.
    if (!event->recorded) return CUDA_SUCCESS;
    physical = event->physical;
    visible = event->visible;
  }
  return synchronize(physical, visible, SyncKind::event);
}

CUDA_API CUresult cuEventQuery(CUevent event) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!s.events.contains(event)) return CUDA_ERROR_INVALID_HANDLE;
  fakegpu::refresh_config(s);
  // A hung device never completes its work.
  if (event->recorded && fakegpu::faults_for(s, event->visible).sync_hang)
    return CUDA_ERROR_NOT_READY;
  return CUDA_SUCCESS;
}

CUDA_API CUresult cuEventElapsedTime(float* ms, CUevent start, CUevent end) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!ms) return CUDA_ERROR_INVALID_VALUE;
  if (!s.events.contains(start) || !s.events.contains(end)) return CUDA_ERROR_INVALID_HANDLE;
  if (!start->recorded || !end->recorded) return CUDA_ERROR_INVALID_HANDLE;
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return CUDA_SUCCESS;
}

namespace {
CUresult event_destroy(CUevent event) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!s.cuda_initialized) return CUDA_ERROR_NOT_INITIALIZED;
  if (!s.events.erase(event)) return CUDA_ERROR_INVALID_HANDLE;
  delete event;
  return CUDA_SUCCESS;
}
}  // namespace

CUDA_API CUresult cuEventDestroy(CUevent event) {
  return event_destroy(event);
}
CUDA_API CUresult cuEventDestroy_v2(CUevent event) {
  return event_destroy(event);
}

CUDA_API CUresult cuGetErrorString(CUresult error, const char** text) {
  if (!text) return CUDA_ERROR_INVALID_VALUE;
  const ErrorText* e = find_error(error);
  *text = e ? e->text : nullptr;
  return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUDA_API CUresult cuGetErrorName(CUresult error, const char** name) {
  if (!name) return CUDA_ERROR_INVALID_VALUE;
  const ErrorText* e = find_error(error);
  *name = e ? e->name : nullptr;
  return e ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}
