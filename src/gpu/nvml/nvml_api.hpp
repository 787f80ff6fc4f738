// The slice of NVML that keep-gpu uses, resolved from libnvidia-ml.so.1 at run time (no nvml.h
// at build time). Only the types and entry points called here are declared.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "gpu/dynlib.hpp"

namespace keepgpu::gpu::nvml {

using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;

struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};

struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

// The layout taken by nvmlDeviceGetComputeRunningProcesses_v2 and _v3.
struct nvmlProcessInfo_t {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
};

inline constexpr nvmlReturn_t kSuccess = 0;
inline constexpr nvmlReturn_t kErrorUninitialized = 1;
inline constexpr nvmlReturn_t kErrorNotSupported = 3;
inline constexpr nvmlReturn_t kErrorNotFound = 6;
inline constexpr nvmlReturn_t kErrorInsufficientSize = 7;
inline constexpr nvmlReturn_t kErrorUnknown = 999;

inline constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
// NVML_DEVICE_NAME_V2_BUFFER_SIZE and NVML_DEVICE_UUID_V2_BUFFER_SIZE are both 96.
inline constexpr unsigned kTextBufferSize = 96;

struct NvmlApi {
  // Required entry points (loading fails without them).
  nvmlReturn_t (*nvmlInit)() = nullptr;
  nvmlReturn_t (*nvmlShutdown)() = nullptr;
  const char* (*nvmlErrorString)(nvmlReturn_t status) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetCount)(unsigned* count) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetHandleByIndex)(unsigned index, nvmlDevice_t* device) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetUtilizationRates)(nvmlDevice_t device,
                                                nvmlUtilization_t* rates) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetMemoryInfo)(nvmlDevice_t device, nvmlMemory_t* memory) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetName)(nvmlDevice_t device, char* name, unsigned length) = nullptr;

  // Optional entry points (nullptr when the library lacks them).
  nvmlReturn_t (*nvmlDeviceGetHandleByUUID)(const char* uuid, nvmlDevice_t* device) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetIndex)(nvmlDevice_t device, unsigned* index) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetUUID)(nvmlDevice_t device, char* uuid, unsigned length) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetPowerUsage)(nvmlDevice_t device, unsigned* milliwatts) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetTemperature)(nvmlDevice_t device, int sensor,
                                           unsigned* celsius) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetComputeRunningProcesses)(nvmlDevice_t device, unsigned* count,
                                                       nvmlProcessInfo_t* infos) = nullptr;
  nvmlReturn_t (*nvmlDeviceGetHandleByPciBusId)(const char* bus_id, nvmlDevice_t* device) = nullptr;

  // Keeps the entry points above mapped for as long as this table lives.
  std::shared_ptr<const DynamicLibrary> library;

  // Loads `name` (soname or path) and resolves the entry points. Throws LibraryError.
  static std::shared_ptr<const NvmlApi> load(const std::string& name);
  // The process-wide library: KEEP_GPU_LIBNVML or libnvidia-ml.so.1, loaded on first use
  // (thread-safe) and never unloaded. A failed load is remembered and rethrown.
  static std::shared_ptr<const NvmlApi> shared();

  // nvmlErrorString(status), or a generic text with the code when NVML gives none.
  std::string error_text(nvmlReturn_t status) const;
};

// Where a component gets NVML from. The default is NvmlApi::shared; tests hand in a loader for
// another library file, or one that throws LibraryError to simulate a host without NVML.
using NvmlLoader = std::function<std::shared_ptr<const NvmlApi>()>;

}  // namespace keepgpu::gpu::nvml
