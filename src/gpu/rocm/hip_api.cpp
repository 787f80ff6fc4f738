#include "gpu/rocm/hip_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <variant>

#include "gpu/rocm/library_search.hpp"

namespace keepgpu::gpu::rocm {
namespace {

constexpr const char* kOverrideEnv = "KEEP_GPU_LIBHIP";

bool mentions_out_of_memory(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.find("out of memory") != std::string::npos;
}

std::shared_ptr<const HipApi> resolve(DynamicLibrary library) {
  auto lib = std::make_shared<DynamicLibrary>(std::move(library));
  auto api = std::make_shared<HipApi>();
  const DynamicLibrary& l = *lib;
  api->hipInit = l.require_as<decltype(api->hipInit)>({"hipInit"});
  api->hipGetDeviceCount = l.require_as<decltype(api->hipGetDeviceCount)>({"hipGetDeviceCount"});
  api->hipSetDevice = l.require_as<decltype(api->hipSetDevice)>({"hipSetDevice"});
  api->hipGetDevice = l.require_as<decltype(api->hipGetDevice)>({"hipGetDevice"});
  api->hipDeviceGetName = l.require_as<decltype(api->hipDeviceGetName)>({"hipDeviceGetName"});
  api->hipMalloc = l.require_as<decltype(api->hipMalloc)>({"hipMalloc"});
  api->hipFree = l.require_as<decltype(api->hipFree)>({"hipFree"});
  api->hipMemGetInfo = l.require_as<decltype(api->hipMemGetInfo)>({"hipMemGetInfo"});
  api->hipMemset = l.require_as<decltype(api->hipMemset)>({"hipMemset"});
  api->hipMemcpyDtoDAsync = l.require_as<decltype(api->hipMemcpyDtoDAsync)>({"hipMemcpyDtoDAsync"});
  api->hipModuleLoadData = l.require_as<decltype(api->hipModuleLoadData)>({"hipModuleLoadData"});
  api->hipModuleGetFunction =
      l.require_as<decltype(api->hipModuleGetFunction)>({"hipModuleGetFunction"});
  api->hipModuleUnload = l.require_as<decltype(api->hipModuleUnload)>({"hipModuleUnload"});
  api->hipModuleLaunchKernel =
      l.require_as<decltype(api->hipModuleLaunchKernel)>({"hipModuleLaunchKernel"});
  api->hipEventCreateWithFlags =
      l.require_as<decltype(api->hipEventCreateWithFlags)>({"hipEventCreateWithFlags"});
  api->hipEventRecord = l.require_as<decltype(api->hipEventRecord)>({"hipEventRecord"});
  api->hipEventSynchronize =
      l.require_as<decltype(api->hipEventSynchronize)>({"hipEventSynchronize"});
  api->hipEventDestroy = l.require_as<decltype(api->hipEventDestroy)>({"hipEventDestroy"});
  api->hipDeviceSynchronize =
      l.require_as<decltype(api->hipDeviceSynchronize)>({"hipDeviceSynchronize"});
  api->hipGetErrorString = l.require_as<decltype(api->hipGetErrorString)>({"hipGetErrorString"});

  api->hipGetDevicePropertiesR0600 =
      l.find_as<decltype(api->hipGetDevicePropertiesR0600)>({"hipGetDevicePropertiesR0600"});
  api->hipGetErrorName = l.find_as<decltype(api->hipGetErrorName)>({"hipGetErrorName"});
  api->library = std::move(lib);
  return api;
}

}  // namespace

std::shared_ptr<const HipApi> HipApi::load(const std::string& name) {
  return resolve(DynamicLibrary(name));
}

std::shared_ptr<const HipApi> HipApi::shared() {
  // Either the loaded runtime or the message of the failed load, decided once.
  using Outcome = std::variant<std::shared_ptr<const HipApi>, std::string>;
  static const Outcome* outcome = [] {
    try {
      return new Outcome(
          resolve(open_rocm_library(kOverrideEnv, {"libamdhip64.so", "libamdhip64.so.6",
                                                   "libamdhip64.so.7", "libamdhip64.so.5"})));
    } catch (const LibraryError& e) {
      return new Outcome(std::string(e.what()));
    }
  }();
  if (const auto* api = std::get_if<std::shared_ptr<const HipApi>>(outcome)) return *api;
  throw LibraryError(std::get<std::string>(*outcome));
}

std::string HipApi::describe(hipError_t status, std::string_view call) const {
  const char* text = hipGetErrorString != nullptr ? hipGetErrorString(status) : nullptr;
  if (text == nullptr || *text == '\0') text = "unknown HIP error";
  const char* name = hipGetErrorName != nullptr ? hipGetErrorName(status) : nullptr;
  if (name != nullptr && *name != '\0') {
    return fmt::format("{} ({}, code {}) in {}", text, name, status, call);
  }
  return fmt::format("{} (code {}) in {}", text, status, call);
}

GpuError HipApi::error(hipError_t status, std::string_view call) const {
  std::string message = describe(status, call);
  const bool oom = is_out_of_memory(status);
  // Callers recognise OOM by this text, whatever the runtime's wording.
  if (oom && !mentions_out_of_memory(message)) message = "out of memory: " + message;
  return GpuError(message, status, oom);
}

void HipApi::check(hipError_t status, std::string_view call) const {
  if (status != kHipSuccess) throw error(status, call);
}

bool is_out_of_memory(hipError_t status) noexcept {
  return status == kHipErrorOutOfMemory || status == kHipErrorLegacyMemoryAllocation;
}

bool means_no_device(hipError_t status) noexcept {
  return status == kHipErrorNoDevice || status == kHipErrorInsufficientDriver ||
         status == kHipErrorNotInitialized || status == kHipErrorDeinitialized;
}

}  // namespace keepgpu::gpu::rocm
