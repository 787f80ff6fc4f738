#include "gpu/cuda/cuda_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <variant>

namespace keepgpu::gpu::cuda {
namespace {

constexpr const char* kSoname = "libcuda.so.1";
constexpr const char* kOverrideEnv = "KEEP_GPU_LIBCUDA";

bool mentions_out_of_memory(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("out of memory") != std::string::npos;
}

std::shared_ptr<const CudaApi> resolve(DynamicLibrary library) {
  auto lib = std::make_shared<DynamicLibrary>(std::move(library));
  auto api = std::make_shared<CudaApi>();
  const DynamicLibrary& l = *lib;
  api->cuInit = l.require_as<decltype(api->cuInit)>({"cuInit"});
  api->cuDeviceGetCount = l.require_as<decltype(api->cuDeviceGetCount)>({"cuDeviceGetCount"});
  api->cuDeviceGet = l.require_as<decltype(api->cuDeviceGet)>({"cuDeviceGet"});
  api->cuDeviceGetName = l.require_as<decltype(api->cuDeviceGetName)>({"cuDeviceGetName"});
  api->cuDevicePrimaryCtxRetain =
      l.require_as<decltype(api->cuDevicePrimaryCtxRetain)>({"cuDevicePrimaryCtxRetain"});
  api->cuDevicePrimaryCtxRelease = l.require_as<decltype(api->cuDevicePrimaryCtxRelease)>(
      {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"});
  api->cuCtxSetCurrent = l.require_as<decltype(api->cuCtxSetCurrent)>({"cuCtxSetCurrent"});
  api->cuCtxSynchronize = l.require_as<decltype(api->cuCtxSynchronize)>({"cuCtxSynchronize"});
  api->cuMemAlloc = l.require_as<decltype(api->cuMemAlloc)>({"cuMemAlloc_v2"});
  api->cuMemFree = l.require_as<decltype(api->cuMemFree)>({"cuMemFree_v2"});
  api->cuMemGetInfo = l.require_as<decltype(api->cuMemGetInfo)>({"cuMemGetInfo_v2"});
  api->cuModuleLoadDataEx = l.require_as<decltype(api->cuModuleLoadDataEx)>({"cuModuleLoadDataEx"});
  api->cuModuleGetFunction =
      l.require_as<decltype(api->cuModuleGetFunction)>({"cuModuleGetFunction"});
  api->cuModuleUnload = l.require_as<decltype(api->cuModuleUnload)>({"cuModuleUnload"});
  api->cuLaunchKernel = l.require_as<decltype(api->cuLaunchKernel)>({"cuLaunchKernel"});
  api->cuEventCreate = l.require_as<decltype(api->cuEventCreate)>({"cuEventCreate"});
  api->cuEventRecord = l.require_as<decltype(api->cuEventRecord)>({"cuEventRecord"});
  api->cuEventSynchronize = l.require_as<decltype(api->cuEventSynchronize)>({"cuEventSynchronize"});
  api->cuEventDestroy =
      l.require_as<decltype(api->cuEventDestroy)>({"cuEventDestroy_v2", "cuEventDestroy"});
  api->cuGetErrorString = l.require_as<decltype(api->cuGetErrorString)>({"cuGetErrorString"});

  api->cuDeviceGetUuid =
      l.find_as<decltype(api->cuDeviceGetUuid)>({"cuDeviceGetUuid_v2", "cuDeviceGetUuid"});
  api->cuDeviceTotalMem = l.find_as<decltype(api->cuDeviceTotalMem)>({"cuDeviceTotalMem_v2"});
  api->cuDeviceGetPCIBusId = l.find_as<decltype(api->cuDeviceGetPCIBusId)>({"cuDeviceGetPCIBusId"});
  api->cuDriverGetVersion = l.find_as<decltype(api->cuDriverGetVersion)>({"cuDriverGetVersion"});
  api->cuGetErrorName = l.find_as<decltype(api->cuGetErrorName)>({"cuGetErrorName"});
  api->library = std::move(lib);
  return api;
}

}  // namespace

std::shared_ptr<const CudaApi> CudaApi::load(const std::string& name) {
  return resolve(DynamicLibrary(name));
}

std::shared_ptr<const CudaApi> CudaApi::shared() {
  // Either the loaded driver or the message of the failed load, decided once.
  using Outcome = std::variant<std::shared_ptr<const CudaApi>, std::string>;
  static const Outcome* outcome = [] {
    try {
      return new Outcome(resolve(DynamicLibrary::open_with_override(kSoname, kOverrideEnv)));
    } catch (const LibraryError& e) {
      return new Outcome(std::string(e.what()));
    }
  }();
  if (const auto* api = std::get_if<std::shared_ptr<const CudaApi>>(outcome)) return *api;
  throw LibraryError(std::get<std::string>(*outcome));
}

std::string CudaApi::describe(CUresult status, std::string_view call) const {
  const char* text = nullptr;
  if (cuGetErrorString == nullptr || cuGetErrorString(status, &text) != kSuccess ||
      text == nullptr) {
    text = "unknown CUDA error";
  }
  const char* name = nullptr;
  if (cuGetErrorName == nullptr || cuGetErrorName(status, &name) != kSuccess) name = nullptr;
  if (name != nullptr) return fmt::format("{} ({}, code {}) in {}", text, name, status, call);
  return fmt::format("{} (code {}) in {}", text, status, call);
}

GpuError CudaApi::error(CUresult status, std::string_view call) const {
  std::string message = describe(status, call);
  const bool oom = status == kErrorOutOfMemory;
  // Callers recognise OOM by this text; keep it even if a driver words
  // the description differently.
  if (oom && !mentions_out_of_memory(message)) message = "out of memory: " + message;
  return GpuError(message, status, oom);
}

void CudaApi::check(CUresult status, std::string_view call) const {
  if (status != kSuccess) throw error(status, call);
}

bool means_no_device(CUresult status) noexcept {
  return status == kErrorNoDevice || status == kErrorNotInitialized ||
         status == kErrorDeinitialized || status == kErrorStubLibrary;
}

}  // namespace keepgpu::gpu::cuda
