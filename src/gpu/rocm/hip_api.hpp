// The slice of the HIP runtime that keep-gpu uses, resolved from libamdhip64.so at run time. Only
// the types and entry points called here are declared (no HIP headers at build time); the values
// of the constants are those of the public HIP API.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gpu/backend.hpp"
#include "gpu/dynlib.hpp"

namespace keepgpu::gpu::rocm {

using hipError_t = int;
using hipModule_t = struct ihipModule_t*;
using hipFunction_t = struct ihipModuleSymbol_t*;
using hipStream_t = struct ihipStream_t*;
using hipEvent_t = struct ihipEvent_t*;

inline constexpr hipError_t kHipSuccess = 0;
inline constexpr hipError_t kHipErrorInvalidValue = 1;
inline constexpr hipError_t kHipErrorOutOfMemory = 2;  // also hipErrorMemoryAllocation
inline constexpr hipError_t kHipErrorNotInitialized = 3;
inline constexpr hipError_t kHipErrorDeinitialized = 4;
inline constexpr hipError_t kHipErrorInsufficientDriver = 35;
inline constexpr hipError_t kHipErrorNoDevice = 100;
inline constexpr hipError_t kHipErrorInvalidImage = 200;
inline constexpr hipError_t kHipErrorNoBinaryForGpu = 209;
inline constexpr hipError_t kHipErrorInvalidKernelFile = 218;
inline constexpr hipError_t kHipErrorSharedObjectInitFailed = 303;
// HIP before 3.x numbered hipErrorMemoryAllocation separately; old runtimes still answer it.
inline constexpr hipError_t kHipErrorLegacyMemoryAllocation = 1002;

inline constexpr unsigned kHipEventBlockingSync = 0x1;
inline constexpr unsigned kHipEventDisableTiming = 0x2;

// hipDeviceProp_tR0600, the properties layout of ROCm 6 (hipGetDevicePropertiesR0600). Only the
// offset of gcnArchName (char[256], e.g. "gfx90a:sramecc+:xnack-") is relied on; the struct is
// 1472 bytes, and callers pass a larger zeroed buffer so a runtime that writes a little more is
// harmless. Older runtimes export only hipGetDeviceProperties with an incompatible layout, which
// keep-gpu does not read: hiprtc then targets the current device on its own.
inline constexpr std::size_t kPropsR0600Size = 1472;
inline constexpr std::size_t kPropsR0600GcnArchNameOffset = 1160;
inline constexpr std::size_t kPropsGcnArchNameSize = 256;
inline constexpr std::size_t kPropsBufferSize = 4096;

struct HipApi {
  // Required entry points (loading fails without them).
  hipError_t (*hipInit)(unsigned flags) = nullptr;
  hipError_t (*hipGetDeviceCount)(int* count) = nullptr;
  hipError_t (*hipSetDevice)(int device) = nullptr;
  hipError_t (*hipGetDevice)(int* device) = nullptr;
  hipError_t (*hipDeviceGetName)(char* name, int length, int device) = nullptr;
  hipError_t (*hipMalloc)(void** pointer, std::size_t bytes) = nullptr;
  hipError_t (*hipFree)(void* pointer) = nullptr;
  hipError_t (*hipMemGetInfo)(std::size_t* free, std::size_t* total) = nullptr;
  hipError_t (*hipMemset)(void* pointer, int value, std::size_t bytes) = nullptr;
  hipError_t (*hipMemcpyDtoDAsync)(void* destination, void* source, std::size_t bytes,
                                   hipStream_t stream) = nullptr;
  hipError_t (*hipModuleLoadData)(hipModule_t* module, const void* image) = nullptr;
  hipError_t (*hipModuleGetFunction)(hipFunction_t* function, hipModule_t module,
                                     const char* name) = nullptr;
  hipError_t (*hipModuleUnload)(hipModule_t module) = nullptr;
  hipError_t (*hipModuleLaunchKernel)(hipFunction_t function, unsigned grid_x, unsigned grid_y,
                                      unsigned grid_z, unsigned block_x, unsigned block_y,
                                      unsigned block_z, unsigned shared_bytes, hipStream_t stream,
                                      void** params, void** extra) = nullptr;
  hipError_t (*hipEventCreateWithFlags)(hipEvent_t* event, unsigned flags) = nullptr;
  hipError_t (*hipEventRecord)(hipEvent_t event, hipStream_t stream) = nullptr;
  hipError_t (*hipEventSynchronize)(hipEvent_t event) = nullptr;
  hipError_t (*hipEventDestroy)(hipEvent_t event) = nullptr;
  hipError_t (*hipDeviceSynchronize)() = nullptr;
  const char* (*hipGetErrorString)(hipError_t error) = nullptr;

  // Optional entry points (nullptr when the runtime lacks them).
  hipError_t (*hipGetDevicePropertiesR0600)(void* properties, int device) = nullptr;
  const char* (*hipGetErrorName)(hipError_t error) = nullptr;

  // Keeps the entry points above mapped for as long as this table lives.
  std::shared_ptr<const DynamicLibrary> library;

  // Loads `name` (soname or path) and resolves the entry points. Throws LibraryError.
  static std::shared_ptr<const HipApi> load(const std::string& name);
  // The process-wide runtime: KEEP_GPU_LIBHIP, else libamdhip64.so and its versioned sonames, else
  // /opt/rocm/lib. Loaded on first use (thread-safe) and never unloaded; a failed load is
  // remembered and rethrown as the same LibraryError.
  static std::shared_ptr<const HipApi> shared();

  // "<description> (<hipErrorName>, code N) in <call>".
  std::string describe(hipError_t status, std::string_view call) const;
  // A GpuError for a failed call; the out-of-memory codes are flagged and their text always
  // contains "out of memory".
  GpuError error(hipError_t status, std::string_view call) const;
  void check(hipError_t status, std::string_view call) const;
};

// Where a component gets the HIP runtime from (HipApi::shared by default; tests hand in another
// library file, or a loader that throws LibraryError for a host without ROCm).
using HipLoader = std::function<std::shared_ptr<const HipApi>()>;

// hipErrorOutOfMemory / hipErrorMemoryAllocation and their historical numbers.
bool is_out_of_memory(hipError_t status) noexcept;
// The statuses that mean "no usable AMD GPU here" rather than a failure: no device, no (or too
// old a) kernel driver, runtime not initialised or torn down. Counting reports 0 for these.
bool means_no_device(hipError_t status) noexcept;

}  // namespace keepgpu::gpu::rocm
