#include "cli/error_kind.hpp"

#include "core/errors.hpp"
#include "gpu/backend.hpp"

namespace keepgpu::cli {

std::string error_kind(const std::exception& error) {
  // Most derived first.
  if (dynamic_cast<const InvalidVisibleGPUSelectionError*>(&error)) {
    return "InvalidVisibleGPUSelectionError";
  }
  if (dynamic_cast<const NoGPUAvailableError*>(&error)) return "NoGPUAvailableError";
  if (dynamic_cast<const UnsupportedControllerPlatformError*>(&error)) {
    return "UnsupportedControllerPlatformError";
  }
  if (dynamic_cast<const VisibleRankValidationError*>(&error)) return "VisibleRankValidationError";
  if (dynamic_cast<const DeviceEnumerationUnavailableError*>(&error)) {
    return "DeviceEnumerationUnavailableError";
  }
  if (dynamic_cast<const TimeoutError*>(&error)) return "TimeoutError";
  if (dynamic_cast<const TypeError*>(&error)) return "TypeError";
  if (dynamic_cast<const ValueError*>(&error)) return "ValueError";
  if (dynamic_cast<const gpu::LibraryError*>(&error)) return "LibraryError";
  if (dynamic_cast<const gpu::GpuError*>(&error)) return "GpuError";
  return "RuntimeError";
}

}  // namespace keepgpu::cli
