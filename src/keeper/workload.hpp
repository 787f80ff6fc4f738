// What a keeper does to the GPU each interval. The keep loop only decides *when* to run a batch;
// a Workload decides *what* a batch is, so new workloads (a duty-cycle kernel, say) can be added
// without touching the loop.
#pragma once

#include <functional>
#include <memory>
#include <stop_token>
#include <string>

#include "gpu/backend.hpp"

namespace keepgpu::keeper {

// Monotonic seconds. Injected so the batch-timing log can be checked without a wall clock.
using MonotonicClock = std::function<double()>;
MonotonicClock steady_seconds();

struct BatchResult {
  int launches = 0;         // launches actually issued (fewer when stopped early)
  double elapsed_ms = 0.0;  // wall time of the batch including the final synchronise
  double avg_ms = 0.0;      // elapsed / configured iterations (upstream's figure)
};

class Workload {
 public:
  virtual ~Workload() = default;
  // Runs one batch over the session's buffer; returns early (after a synchronise) once `stop` is
  // requested. Throws gpu::GpuError on a driver failure.
  virtual BatchResult run_batch(gpu::DeviceSession& session, int rank, std::stop_token stop) = 0;
};

// Upstream's keep-alive: `iterations` keep-alive passes over the whole buffer (an in-place ReLU;
// copies on the ROCm path without kernels), then one synchronise. The buffer holds values in
// [0, 1), so each pass is pure memory traffic.
class BatchWorkload final : public Workload {
 public:
  explicit BatchWorkload(int iterations, MonotonicClock clock = steady_seconds());
  BatchResult run_batch(gpu::DeviceSession& session, int rank, std::stop_token stop) override;
  int iterations() const noexcept { return iterations_; }

 private:
  int iterations_;
  MonotonicClock clock_;
};

}  // namespace keepgpu::keeper
