// keep-gpu's public C++ API: RAII controllers that mirror upstream KeepGPU's Python classes.
//
//   keepgpu::GlobalGPUController gpus({.gpu_ids = std::vector<std::int64_t>{0}, .vram = "2GiB"});
//   {
//     keepgpu::KeepGuard hold(gpus);   // keep() now, release() at scope exit
//     run_cpu_preprocessing();
//   }
//
// CudaGPUController keeps one visible GPU (default interval 1 s); GlobalGPUController keeps
// several (default interval 300 s, all visible GPUs). Both hold `vram` per GPU and run light
// keep-alive work every interval unless the GPU is busy above `busy_threshold` percent (-1 keeps
// unconditionally). Vendor libraries are loaded at run time; nothing here needs a GPU SDK.
#pragma once

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace keepgpu {

struct CudaControllerOptions {
  int rank = 0;                       // visible ordinal (after CUDA_VISIBLE_DEVICES)
  double interval = 1.0;              // seconds between keep-alive batches
  int relu_iterations = 5000;         // in-place ReLU launches per batch
  std::string vram_to_keep = "1GiB";  // e.g. "512MB", "1.5GiB", "1073741824"
  int busy_threshold = 25;            // percent; -1 disables backoff
  // 1..100: present about this utilization percent with a timed kernel every 100 ms instead of
  // the ReLU batch every interval (0).
  int util_target = 0;
};

// Keeps one GPU. Construction validates the options and the rank against the visible devices
// (throws keepgpu::ValueError / keepgpu::TypeError subclasses with upstream's messages) but
// touches no device. Destruction releases.
class CudaGPUController {
 public:
  explicit CudaGPUController(const CudaControllerOptions& options = {});
  ~CudaGPUController();
  CudaGPUController(CudaGPUController&&) noexcept;
  CudaGPUController& operator=(CudaGPUController&&) noexcept;

  void keep();
  void release();
  // The failure the worker recorded after startup, or nullptr.
  std::exception_ptr allocation_status() const;
  // Bytes currently held on the device (0 while deferring because the GPU is busy).
  std::uint64_t held_bytes() const;
  int rank() const;
  std::uint64_t vram_elements() const;  // float32 elements held when active

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct GlobalControllerOptions {
  std::optional<std::vector<std::int64_t>> gpu_ids;  // nullopt = all visible GPUs
  double interval = 300.0;
  std::string vram = "1GiB";
  int busy_threshold = 25;
  int util_target = 0;  // as CudaControllerOptions::util_target
};

// Keeps several GPUs: serial start with rollback, concurrent release with aggregated errors.
class GlobalGPUController {
 public:
  explicit GlobalGPUController(GlobalControllerOptions options = {});
  ~GlobalGPUController();
  GlobalGPUController(GlobalGPUController&&) noexcept;
  GlobalGPUController& operator=(GlobalGPUController&&) noexcept;

  void keep();
  void release();
  std::exception_ptr runtime_error() const;
  const std::vector<std::int64_t>& gpu_ids() const;
  std::uint64_t held_bytes() const;  // summed over the GPUs

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// keep() on construction, release() on destruction (errors from that release are logged, since a
// destructor cannot throw; call release() yourself to see them).
template <typename Controller>
class KeepGuard {
 public:
  explicit KeepGuard(Controller& controller) : controller_(controller) { controller_.keep(); }
  ~KeepGuard() {
    try {
      controller_.release();
    } catch (...) {  // NOLINT(bugprone-empty-catch): reported by the controller's log
    }
  }
  KeepGuard(const KeepGuard&) = delete;
  KeepGuard& operator=(const KeepGuard&) = delete;

 private:
  Controller& controller_;
};

}  // namespace keepgpu
