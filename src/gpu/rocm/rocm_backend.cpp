#include "gpu/rocm/rocm_backend.hpp"

#include "gpu/rocm/hip_device_query.hpp"
#include "gpu/rocm/rocm_session.hpp"

namespace keepgpu::gpu::rocm {

RocmBackend::RocmBackend(HipLoader hip, HiprtcLoader hiprtc, RsmiLoader rsmi)
    : hip_(std::move(hip)),
      smi_(SmiRuntime::create(std::move(rsmi))),
      kernels_(std::move(hiprtc)),
      telemetry_(smi_, hip_) {}

int RocmBackend::device_count() {
  return HipDeviceQuery(hip_).count();
}

std::unique_ptr<DeviceSession> RocmBackend::open(int visible_ordinal) {
  // SMI first, as upstream's keep() initialised it before the worker selected the device: a
  // selection failure then shows as exactly one init and one shutdown.
  SmiRuntime::Lease smi = smi_->acquire();
  return std::make_unique<RocmSession>(hip_(), visible_ordinal, std::move(smi), kernels_);
}

}  // namespace keepgpu::gpu::rocm
