// One CUDA device held by a keeper: its primary context, the keep-alive kernels and the buffer.
#pragma once

#include <cstdint>
#include <memory>

#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_api.hpp"
#include "gpu/in_flight_bound.hpp"

namespace keepgpu::gpu::cuda {

class CudaSession final : public DeviceSession {
 public:
  // Work in flight is bounded in chunks of this many launches (see InFlightBound).
  static constexpr unsigned kLaunchesPerChunk = InFlightBound<CUevent>::kLaunchesPerChunk;

  // Retains the primary context of `visible_ordinal`, makes it current on the calling thread and
  // JIT-loads the kernels. Throws GpuError (a JIT failure quotes the JIT log) and releases
  // whatever it had taken.
  CudaSession(std::shared_ptr<const CudaApi> api, int visible_ordinal);
  // Closes the session (see close()); a refusal there is logged.
  ~CudaSession() override;
  CudaSession(const CudaSession&) = delete;
  CudaSession& operator=(const CudaSession&) = delete;

  void allocate(std::uint64_t elements) override;
  void free_buffer() override;
  // Frees the buffer, destroys the events, unloads the module and releases the primary context.
  void close() override;
  std::uint64_t allocated_elements() const noexcept override { return elements_; }
  void launch_pass() override;
  // keepgpu_spin on one warp; waits for the previous spin first, so spins never queue up.
  void launch_spin(std::uint64_t nanoseconds) override;
  void synchronize() override;
  MemoryInfo memory_info() override;

 private:
  void make_current() const;
  void load_module();
  void launch(CUfunction kernel, std::string_view call);

  std::shared_ptr<const CudaApi> api_;
  int ordinal_ = 0;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  bool context_retained_ = false;
  CUmodule module_ = nullptr;
  CUfunction fill_ = nullptr;
  CUfunction relu_ = nullptr;
  CUfunction spin_ = nullptr;
  InFlightBound<CUevent> in_flight_;
  CUdeviceptr buffer_ = 0;
  std::uint64_t elements_ = 0;
};

}  // namespace keepgpu::gpu::cuda
