// The slice of the CUDA driver API that keep-gpu uses, resolved from libcuda.so.1 at run time.
// Only the types and entry points called here are declared (no cuda.h at build time); the values
// of the constants are those of the public driver API.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gpu/backend.hpp"
#include "gpu/dynlib.hpp"

namespace keepgpu::gpu::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUstream = struct CUstream_st*;
using CUevent = struct CUevent_st*;
using CUjit_option = int;
struct CUuuid {
  unsigned char bytes[16];
};

inline constexpr CUresult kSuccess = 0;
inline constexpr CUresult kErrorInvalidValue = 1;
inline constexpr CUresult kErrorOutOfMemory = 2;
inline constexpr CUresult kErrorNotInitialized = 3;
inline constexpr CUresult kErrorDeinitialized = 4;
inline constexpr CUresult kErrorStubLibrary = 34;
inline constexpr CUresult kErrorNoDevice = 100;

inline constexpr CUjit_option kJitInfoLogBuffer = 3;
inline constexpr CUjit_option kJitInfoLogBufferSizeBytes = 4;
inline constexpr CUjit_option kJitErrorLogBuffer = 5;
inline constexpr CUjit_option kJitErrorLogBufferSizeBytes = 6;

inline constexpr unsigned kEventBlockingSync = 0x1;
inline constexpr unsigned kEventDisableTiming = 0x2;

struct CudaApi {
  // Required entry points (loading fails without them).
  CUresult (*cuInit)(unsigned flags) = nullptr;
  CUresult (*cuDeviceGetCount)(int* count) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice* device, int ordinal) = nullptr;
  CUresult (*cuDeviceGetName)(char* name, int length, CUdevice device) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext* context, CUdevice device) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice device) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext context) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr* pointer, std::size_t bytes) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr pointer) = nullptr;
  CUresult (*cuMemGetInfo)(std::size_t* free, std::size_t* total) = nullptr;
  CUresult (*cuModuleLoadDataEx)(CUmodule* module, const void* image, unsigned option_count,
                                 CUjit_option* options, void** option_values) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction* function, CUmodule module,
                                  const char* name) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule module) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction function, unsigned grid_x, unsigned grid_y, unsigned grid_z,
                             unsigned block_x, unsigned block_y, unsigned block_z,
                             unsigned shared_bytes, CUstream stream, void** params,
                             void** extra) = nullptr;
  CUresult (*cuEventCreate)(CUevent* event, unsigned flags) = nullptr;
  CUresult (*cuEventRecord)(CUevent event, CUstream stream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent event) = nullptr;
  CUresult (*cuEventDestroy)(CUevent event) = nullptr;
  CUresult (*cuGetErrorString)(CUresult error, const char** text) = nullptr;

  // Optional entry points (nullptr when the driver lacks them).
  CUresult (*cuDeviceGetUuid)(CUuuid* uuid, CUdevice device) = nullptr;
  CUresult (*cuDeviceTotalMem)(std::size_t* bytes, CUdevice device) = nullptr;
  CUresult (*cuDeviceGetPCIBusId)(char* bus_id, int length, CUdevice device) = nullptr;
  CUresult (*cuDriverGetVersion)(int* version) = nullptr;
  CUresult (*cuGetErrorName)(CUresult error, const char** text) = nullptr;

  // Loads `name` (soname or path) and resolves the entry points. Throws LibraryError.
  static std::shared_ptr<const CudaApi> load(const std::string& name);
  // The process-wide driver: KEEP_GPU_LIBCUDA or libcuda.so.1, loaded on first use (thread-safe)
  // and never unloaded, because the driver runs threads of its own until the process exits. A
  // failed load is remembered and rethrown as the same LibraryError.
  static std::shared_ptr<const CudaApi> shared();

  // "<description> (<CUDA_ERROR_NAME>, code N) in <call>".
  std::string describe(CUresult status, std::string_view call) const;
  // A GpuError for a failed call; CUDA_ERROR_OUT_OF_MEMORY is flagged as out-of-memory and its
  // text always contains "out of memory".
  GpuError error(CUresult status, std::string_view call) const;
  // Throws error(status, call) unless status is success.
  void check(CUresult status, std::string_view call) const;

  // Keeps the entry points above mapped for as long as this table lives.
  std::shared_ptr<const DynamicLibrary> library;
};

// Where a component gets its driver from. The default is CudaApi::shared; tests hand in a loader
// for another library file, or one that throws LibraryError to simulate a host without a driver.
using CudaLoader = std::function<std::shared_ptr<const CudaApi>()>;

// True for the statuses that mean "no usable CUDA device here" rather than a failure: no device,
// driver not initialised (or already torn down), or the toolkit's stub library instead of a
// driver. Device counting reports 0 for these.
bool means_no_device(CUresult status) noexcept;

}  // namespace keepgpu::gpu::cuda
