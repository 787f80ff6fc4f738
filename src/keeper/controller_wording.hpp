// The words a keeper logs and raises, per platform. Upstream's CUDA and ROCm controllers were two
// Python classes that worded the same events differently (logger name, "keep thread" versus "ROCm
// keep thread", "matrix" versus "tensor", a retry count only on ROCm); scripts match those texts,
// so they are kept, but as data in one table rather than as platform tests inside the keep loop.
#pragma once

#include <optional>
#include <string>

#include "gpu/backend.hpp"

namespace keepgpu::keeper {

struct ControllerWording {
  const char* label;               // "CUDA" / "ROCm": names the platform in start-up failures
  const char* logger_name;         // the upstream module the controller's lines are logged under
  const char* keep_thread;         // "keep thread" / "ROCm keep thread"
  const char* thread_name_prefix;  // the worker thread's name before the rank
  const char* backoff_sleep;       // the DEBUG backoff line's last words
  // The ROCm controller counts its allocation attempts against the retry budget in each failure
  // line ("failed to allocate tensor (attempt 2/5)"); the CUDA one says "failed to allocate
  // matrix".
  bool counts_allocation_attempts;
};

// The wording for a platform; CPU (no keeper runs there) reads as CUDA.
const ControllerWording& wording_for(gpu::Platform platform);

// The line logged when an allocation attempt fails.
std::string allocation_failure_text(const ControllerWording& wording, int rank, int attempt,
                                    std::optional<int> budget, const std::string& error);

}  // namespace keepgpu::keeper
