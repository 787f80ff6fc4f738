// One AMD GPU held by a keeper: its ROCm SMI lease, the keep-alive path (hiprtc kernels or
// device-to-device copies) and the buffer.
#pragma once

#include <cstdint>
#include <memory>

#include "gpu/backend.hpp"
#include "gpu/in_flight_bound.hpp"
#include "gpu/rocm/hip_api.hpp"
#include "gpu/rocm/keepalive_ops.hpp"
#include "gpu/rocm/kernel_cache.hpp"
#include "gpu/rocm/smi_runtime.hpp"

namespace keepgpu::gpu::rocm {

class RocmSession final : public DeviceSession {
 public:
  // Work in flight is bounded in chunks of this many launches (see InFlightBound).
  static constexpr unsigned kLaunchesPerChunk = InFlightBound<hipEvent_t>::kLaunchesPerChunk;

  // Takes over `smi` (ROCm SMI stays initialised while the session lives), selects
  // `visible_ordinal` on the calling thread and prepares the keep-alive path: the kernels from
  // `kernels` for the device's gcnArchName, or copies when there are none. Throws GpuError and
  // releases whatever it took, the SMI lease included.
  RocmSession(std::shared_ptr<const HipApi> api, int visible_ordinal, SmiRuntime::Lease smi,
              KernelCache& kernels);
  // Closes the session (see close()); a refusal there is logged.
  ~RocmSession() override;
  RocmSession(const RocmSession&) = delete;
  RocmSession& operator=(const RocmSession&) = delete;

  void allocate(std::uint64_t elements) override;
  void free_buffer() override;
  // Frees the buffer, the events and the module, then gives the SMI lease back.
  void close() override;
  std::uint64_t allocated_elements() const noexcept override { return elements_; }
  void launch_pass() override;
  // No timed kernel on ROCm yet: one keep-alive pass (a ReLU, or copies on the fallback) over the
  // buffer, then a synchronise, so the work of one slice never piles onto the next.
  void launch_spin(std::uint64_t nanoseconds) override;
  void synchronize() override;
  MemoryInfo memory_info() override;

  // True when the hiprtc kernels run, false for the copy path.
  bool uses_kernels() const noexcept { return uses_kernels_; }

 private:
  void select() const;
  void choose_path(KernelCache& kernels);

  SmiRuntime::Lease smi_;  // first member: released last, after every HIP resource
  std::shared_ptr<const HipApi> api_;
  int ordinal_ = 0;
  std::unique_ptr<KeepaliveOps> ops_;
  bool uses_kernels_ = false;
  InFlightBound<hipEvent_t> in_flight_;
  void* buffer_ = nullptr;
  std::uint64_t elements_ = 0;
};

}  // namespace keepgpu::gpu::rocm
