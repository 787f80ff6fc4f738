#include "gpu/rocm/hiprtc_api.hpp"

#include <fmt/format.h>

#include <variant>

#include "gpu/backend.hpp"
#include "gpu/rocm/library_search.hpp"

namespace keepgpu::gpu::rocm {
namespace {

constexpr const char* kOverrideEnv = "KEEP_GPU_LIBHIPRTC";

std::shared_ptr<const HiprtcApi> resolve(DynamicLibrary library) {
  auto lib = std::make_shared<DynamicLibrary>(std::move(library));
  auto api = std::make_shared<HiprtcApi>();
  const DynamicLibrary& l = *lib;
  api->hiprtcCreateProgram =
      l.require_as<decltype(api->hiprtcCreateProgram)>({"hiprtcCreateProgram"});
  api->hiprtcCompileProgram =
      l.require_as<decltype(api->hiprtcCompileProgram)>({"hiprtcCompileProgram"});
  api->hiprtcGetCodeSize = l.require_as<decltype(api->hiprtcGetCodeSize)>({"hiprtcGetCodeSize"});
  api->hiprtcGetCode = l.require_as<decltype(api->hiprtcGetCode)>({"hiprtcGetCode"});
  api->hiprtcGetProgramLogSize =
      l.require_as<decltype(api->hiprtcGetProgramLogSize)>({"hiprtcGetProgramLogSize"});
  api->hiprtcGetProgramLog =
      l.require_as<decltype(api->hiprtcGetProgramLog)>({"hiprtcGetProgramLog"});
  api->hiprtcDestroyProgram =
      l.require_as<decltype(api->hiprtcDestroyProgram)>({"hiprtcDestroyProgram"});
  api->hiprtcGetErrorString =
      l.find_as<decltype(api->hiprtcGetErrorString)>({"hiprtcGetErrorString"});
  api->library = std::move(lib);
  return api;
}

}  // namespace

std::shared_ptr<const HiprtcApi> HiprtcApi::load(const std::string& name) {
  return resolve(DynamicLibrary(name));
}

std::shared_ptr<const HiprtcApi> HiprtcApi::shared() {
  using Outcome = std::variant<std::shared_ptr<const HiprtcApi>, std::string>;
  static const Outcome* outcome = [] {
    try {
      return new Outcome(resolve(open_rocm_library(
          kOverrideEnv, {"libhiprtc.so", "libhiprtc.so.6", "libhiprtc.so.7", "libhiprtc.so.5"})));
    } catch (const LibraryError& e) {
      return new Outcome(std::string(e.what()));
    }
  }();
  if (const auto* api = std::get_if<std::shared_ptr<const HiprtcApi>>(outcome)) return *api;
  throw LibraryError(std::get<std::string>(*outcome));
}

std::string HiprtcApi::describe(hiprtcResult result, const char* call) const {
  const char* text = hiprtcGetErrorString != nullptr ? hiprtcGetErrorString(result) : nullptr;
  if (text == nullptr || *text == '\0') text = "unknown hiprtc error";
  return fmt::format("{} (code {}) in {}", text, result, call);
}

}  // namespace keepgpu::gpu::rocm
