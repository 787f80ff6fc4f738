// Loaders for the fake AMD libraries (tests/fakes/README.md) used by the rocm_* unit tests. The
// tests hand these loaders to the ROCm classes instead of setting KEEP_GPU_LIBHIP & co for the
// whole process, so the CUDA tests in the same binary still see a host without ROCm. Scenarios go
// through testing::FakeGpu (fake_gpu.hpp): the AMD fakes share its state library.
#pragma once

#include <dlfcn.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "fake_gpu.hpp"
#include "gpu/rocm/hip_api.hpp"
#include "gpu/rocm/hiprtc_api.hpp"
#include "gpu/rocm/rsmi_api.hpp"

namespace keepgpu::gpu::rocm::testing {

using gpu::testing::FakeGpu;
using gpu::testing::kFakeDir;
using gpu::testing::ScopedEnv;

inline const std::string kFakeHip = kFakeDir + "/libamdhip64.so.6";
inline const std::string kFakeHiprtc = kFakeDir + "/libhiprtc.so.6";
inline const std::string kFakeRsmi = kFakeDir + "/librocm_smi64.so.7";
inline const std::string kFakeRsmiMinimal = kFakeDir + "/librocm_smi64-minimal.so.7";
// Debian's real ROCm SMI (package librocm-smi64-1), when installed.
inline const std::string kDebianRsmi = "/usr/lib/librocm_smi64.so.1";

inline std::shared_ptr<const HipApi> fake_hip() {
  static const auto api = HipApi::load(kFakeHip);
  return api;
}
inline std::shared_ptr<const HiprtcApi> fake_hiprtc() {
  static const auto api = HiprtcApi::load(kFakeHiprtc);
  return api;
}
inline std::shared_ptr<const RsmiApi> fake_rsmi() {
  static const auto api = RsmiApi::load(kFakeRsmi);
  return api;
}
inline std::shared_ptr<const RsmiApi> fake_rsmi_minimal() {
  static const auto api = RsmiApi::load(kFakeRsmiMinimal);
  return api;
}
// A host without the library: the loader fails like a missing file would.
inline std::shared_ptr<const HipApi> no_hip() {
  return HipApi::load("/nonexistent/libamdhip64.so");
}
inline std::shared_ptr<const HiprtcApi> no_hiprtc() {
  return HiprtcApi::load("/nonexistent/libhiprtc.so");
}
inline std::shared_ptr<const RsmiApi> no_rsmi() {
  return RsmiApi::load("/nonexistent/librocm_smi64.so");
}

// Another part of the process shuts ROCm SMI down (its init count drops to 0).
inline void external_rsmi_shutdown() {
  void* state = dlopen((kFakeDir + "/libfakegpu_state.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (state == nullptr) throw std::runtime_error("the fake state library is not loaded");
  auto shutdown = reinterpret_cast<void (*)()>(dlsym(state, "fakegpu_rsmi_external_shutdown"));
  if (shutdown == nullptr) throw std::runtime_error("fakegpu_rsmi_external_shutdown is missing");
  shutdown();
  dlclose(state);
}

}  // namespace keepgpu::gpu::rocm::testing
