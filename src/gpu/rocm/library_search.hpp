// Opening ROCm libraries. Unlike NVIDIA's single stable soname, ROCm ships version-suffixed
// sonames (libamdhip64.so.6, librocm_smi64.so.7; Debian's ROCm SMI package is librocm_smi64.so.1)
// and often lives outside the loader's search path (/opt/rocm/lib), so several names are tried.
#pragma once

#include <initializer_list>

#include "gpu/dynlib.hpp"

namespace keepgpu::gpu::rocm {

// When `override_env` is set and non-empty, exactly the file (or soname) it names: whoever sets it
// means that library and no other. Otherwise each of `sonames` in order through the normal loader
// search, then the first one under $ROCM_PATH/lib (when set) and /opt/rocm/lib. Throws LibraryError
// listing every name tried and quoting the loader's message for the first.
DynamicLibrary open_rocm_library(const char* override_env,
                                 std::initializer_list<const char*> sonames);

}  // namespace keepgpu::gpu::rocm
