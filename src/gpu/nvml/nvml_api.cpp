#include "gpu/nvml/nvml_api.hpp"

#include <fmt/format.h>

#include <variant>

#include "gpu/backend.hpp"

namespace keepgpu::gpu::nvml {
namespace {

constexpr const char* kSoname = "libnvidia-ml.so.1";
constexpr const char* kOverrideEnv = "KEEP_GPU_LIBNVML";

std::shared_ptr<const NvmlApi> resolve(DynamicLibrary library) {
  auto lib = std::make_shared<DynamicLibrary>(std::move(library));
  auto api = std::make_shared<NvmlApi>();
  const DynamicLibrary& l = *lib;
  api->nvmlInit = l.require_as<decltype(api->nvmlInit)>({"nvmlInit_v2", "nvmlInit"});
  api->nvmlShutdown = l.require_as<decltype(api->nvmlShutdown)>({"nvmlShutdown"});
  api->nvmlErrorString = l.require_as<decltype(api->nvmlErrorString)>({"nvmlErrorString"});
  api->nvmlDeviceGetCount =
      l.require_as<decltype(api->nvmlDeviceGetCount)>({"nvmlDeviceGetCount_v2"});
  api->nvmlDeviceGetHandleByIndex =
      l.require_as<decltype(api->nvmlDeviceGetHandleByIndex)>({"nvmlDeviceGetHandleByIndex_v2"});
  api->nvmlDeviceGetUtilizationRates =
      l.require_as<decltype(api->nvmlDeviceGetUtilizationRates)>({"nvmlDeviceGetUtilizationRates"});
  api->nvmlDeviceGetMemoryInfo =
      l.require_as<decltype(api->nvmlDeviceGetMemoryInfo)>({"nvmlDeviceGetMemoryInfo"});
  api->nvmlDeviceGetName = l.require_as<decltype(api->nvmlDeviceGetName)>({"nvmlDeviceGetName"});

  api->nvmlDeviceGetHandleByUUID =
      l.find_as<decltype(api->nvmlDeviceGetHandleByUUID)>({"nvmlDeviceGetHandleByUUID"});
  api->nvmlDeviceGetIndex = l.find_as<decltype(api->nvmlDeviceGetIndex)>({"nvmlDeviceGetIndex"});
  api->nvmlDeviceGetUUID = l.find_as<decltype(api->nvmlDeviceGetUUID)>({"nvmlDeviceGetUUID"});
  api->nvmlDeviceGetPowerUsage =
      l.find_as<decltype(api->nvmlDeviceGetPowerUsage)>({"nvmlDeviceGetPowerUsage"});
  api->nvmlDeviceGetTemperature =
      l.find_as<decltype(api->nvmlDeviceGetTemperature)>({"nvmlDeviceGetTemperature"});
  api->nvmlDeviceGetComputeRunningProcesses =
      l.find_as<decltype(api->nvmlDeviceGetComputeRunningProcesses)>(
          {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2"});
  api->nvmlDeviceGetHandleByPciBusId =
      l.find_as<decltype(api->nvmlDeviceGetHandleByPciBusId)>({"nvmlDeviceGetHandleByPciBusId_v2"});
  api->library = std::move(lib);
  return api;
}

}  // namespace

std::shared_ptr<const NvmlApi> NvmlApi::load(const std::string& name) {
  return resolve(DynamicLibrary(name));
}

std::shared_ptr<const NvmlApi> NvmlApi::shared() {
  using Outcome = std::variant<std::shared_ptr<const NvmlApi>, std::string>;
  static const Outcome* outcome = [] {
    try {
      return new Outcome(resolve(DynamicLibrary::open_with_override(kSoname, kOverrideEnv)));
    } catch (const LibraryError& e) {
      return new Outcome(std::string(e.what()));
    }
  }();
  if (const auto* api = std::get_if<std::shared_ptr<const NvmlApi>>(outcome)) return *api;
  throw LibraryError(std::get<std::string>(*outcome));
}

std::string NvmlApi::error_text(nvmlReturn_t status) const {
  const char* text = nvmlErrorString != nullptr ? nvmlErrorString(status) : nullptr;
  if (text == nullptr || *text == '\0') return fmt::format("NVML error {}", status);
  return text;
}

}  // namespace keepgpu::gpu::nvml
