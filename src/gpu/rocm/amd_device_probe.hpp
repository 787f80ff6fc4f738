// Whether this machine shows an AMD GPU to user space at all. ROCm SMI's rsmi_init writes its own
// complaints to stderr ("Failed to open drm root directory", "Exception caught: rsmi_init.") on
// a machine without one, which is where most users of an NVIDIA or CPU-only node are, so the
// default library search is skipped when this probe finds nothing.
#pragma once

#include <filesystem>

namespace keepgpu::gpu::rocm {

// The AMD compute driver's device node (<root>/dev/kfd) exists, or a DRM card under
// <root>/sys/class/drm has the PCI vendor 0x1002.
bool amd_device_present(const std::filesystem::path& root = "/");

}  // namespace keepgpu::gpu::rocm
