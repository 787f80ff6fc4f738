// The ROCm backend: devices through the HIP runtime (libamdhip64.so), keep-alive kernels compiled
// at run time by hiprtc (libhiprtc.so, optional), telemetry through ROCm SMI (librocm_smi64.so).
// The same Keeper, KeeperGroup, CLI and API drive it as drive the CUDA backend.
#pragma once

#include <memory>
#include <string>

#include "gpu/backend.hpp"
#include "gpu/rocm/hip_api.hpp"
#include "gpu/rocm/hiprtc_api.hpp"
#include "gpu/rocm/kernel_cache.hpp"
#include "gpu/rocm/rocm_telemetry.hpp"
#include "gpu/rocm/rsmi_api.hpp"
#include "gpu/rocm/smi_runtime.hpp"

namespace keepgpu::gpu::rocm {

class RocmBackend final : public Backend {
 public:
  explicit RocmBackend(HipLoader hip = HipApi::shared, HiprtcLoader hiprtc = HiprtcApi::shared,
                       RsmiLoader rsmi = RsmiApi::shared);

  Platform platform() const override { return Platform::rocm; }
  // hipInit + hipGetDeviceCount: 0 without a runtime or device.
  int device_count() override;
  // Takes a ROCm SMI lease, then selects the device on the calling thread (see RocmSession).
  // Throws LibraryError when the HIP runtime is missing, GpuError on a HIP failure.
  std::unique_ptr<DeviceSession> open(int visible_ordinal) override;
  Telemetry& telemetry() override { return telemetry_; }

  // The backend's ROCm SMI owner (shared by its sessions and its telemetry).
  SmiRuntime& smi() { return *smi_; }

 private:
  HipLoader hip_;
  std::shared_ptr<SmiRuntime> smi_;
  KernelCache kernels_;
  RocmTelemetry telemetry_;
};

}  // namespace keepgpu::gpu::rocm
