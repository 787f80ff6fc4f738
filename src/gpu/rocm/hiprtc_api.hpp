// The slice of hiprtc (HIP's run-time compiler, libhiprtc.so) that keep-gpu uses to build its
// keep-alive kernels for the device's own architecture. Optional: without it the ROCm backend
// keeps the GPU busy with device-to-device copies instead of kernels.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "gpu/dynlib.hpp"

namespace keepgpu::gpu::rocm {

using hiprtcResult = int;
using hiprtcProgram = struct _hiprtcProgram*;

inline constexpr hiprtcResult kHiprtcSuccess = 0;

struct HiprtcApi {
  hiprtcResult (*hiprtcCreateProgram)(hiprtcProgram* program, const char* source, const char* name,
                                      int header_count, const char* const* headers,
                                      const char* const* include_names) = nullptr;
  hiprtcResult (*hiprtcCompileProgram)(hiprtcProgram program, int option_count,
                                       const char* const* options) = nullptr;
  hiprtcResult (*hiprtcGetCodeSize)(hiprtcProgram program, std::size_t* bytes) = nullptr;
  hiprtcResult (*hiprtcGetCode)(hiprtcProgram program, char* code) = nullptr;
  hiprtcResult (*hiprtcGetProgramLogSize)(hiprtcProgram program, std::size_t* bytes) = nullptr;
  hiprtcResult (*hiprtcGetProgramLog)(hiprtcProgram program, char* log) = nullptr;
  hiprtcResult (*hiprtcDestroyProgram)(hiprtcProgram* program) = nullptr;
  const char* (*hiprtcGetErrorString)(hiprtcResult result) = nullptr;

  std::shared_ptr<const DynamicLibrary> library;

  // Loads `name` and resolves the entry points. Throws LibraryError.
  static std::shared_ptr<const HiprtcApi> load(const std::string& name);
  // KEEP_GPU_LIBHIPRTC, else libhiprtc.so and its versioned sonames, else /opt/rocm/lib; loaded
  // once and never unloaded; a failed load is remembered and rethrown.
  static std::shared_ptr<const HiprtcApi> shared();

  // "<hiprtcGetErrorString> (code N) in <call>".
  std::string describe(hiprtcResult result, const char* call) const;
};

using HiprtcLoader = std::function<std::shared_ptr<const HiprtcApi>()>;

}  // namespace keepgpu::gpu::rocm
