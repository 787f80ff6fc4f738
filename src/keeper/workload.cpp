#include "keeper/workload.hpp"

#include <chrono>

#include "core/log.hpp"
#include "keeper/controller_wording.hpp"

namespace keepgpu::keeper {

MonotonicClock steady_seconds() {
  return [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
}

BatchWorkload::BatchWorkload(int iterations, MonotonicClock clock)
    : iterations_(iterations), clock_(std::move(clock)) {}

BatchResult BatchWorkload::run_batch(gpu::DeviceSession& session, int rank, std::stop_token stop) {
  // Upstream logged its batch timing under the CUDA controller's name on every platform.
  static const auto logger = log::get(wording_for(gpu::Platform::cuda).logger_name);
  BatchResult result;
  const double start = clock_();
  for (int i = 0; i < iterations_; ++i) {
    session.launch_pass();
    ++result.launches;
    if (stop.stop_requested()) break;
  }
  session.synchronize();
  result.elapsed_ms = (clock_() - start) * 1000.0;
  result.avg_ms = result.elapsed_ms / (iterations_ > 0 ? iterations_ : 1);
  KG_DEBUG(logger, "rank {}: relu ops batch done - avg {:.2f} ms", rank, result.avg_ms);
  return result;
}

}  // namespace keepgpu::keeper
