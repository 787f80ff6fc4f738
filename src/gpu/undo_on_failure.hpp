// The shape both device sessions (CUDA, HIP) share around driver calls that acquire resources:
// if a step fails, release what it and the earlier steps acquired before the error propagates.
// The step's error is the one the caller sees; an undo that fails too is logged, and the session
// keeps counting what it could not release so that close() retries it.
#pragma once

#include <memory>
#include <string_view>
#include <utility>

#include "core/log.hpp"
#include "gpu/backend.hpp"

namespace keepgpu::gpu {

template <class Step, class Undo>
void undo_on_failure(Step&& step, Undo&& undo, const std::shared_ptr<spdlog::logger>& log,
                     int ordinal, std::string_view undoing) {
  try {
    std::forward<Step>(step)();
  } catch (...) {
    try {
      std::forward<Undo>(undo)();
    } catch (const GpuError& e) {
      KG_WARN(log, "rank {}: {}: {}", ordinal, undoing, e.what());
    }
    throw;
  }
}

// For destructors: closing never throws there, a failure is logged.
template <class Close>
void close_at_destruction(Close&& close, const std::shared_ptr<spdlog::logger>& log,
                          int ordinal) noexcept {
  try {
    std::forward<Close>(close)();
  } catch (const GpuError& e) {
    KG_WARN(log, "rank {}: release at destruction failed: {}", ordinal, e.what());
  }
}

}  // namespace keepgpu::gpu
