#pragma once

#include <exception>
#include <string>

namespace keepgpu::cli {

// The class name shown in front of an unexpected failure ("NoGPUAvailableError: ..."), mirroring
// the last line of upstream's traceback without the traceback.
std::string error_kind(const std::exception& error);

}  // namespace keepgpu::cli
