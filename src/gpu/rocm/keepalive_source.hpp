// The keep-alive kernels as HIP C++ source, compiled at run time by hiprtc for the device's own
// architecture (no GPU SDK at build time; AMD GPUs cannot run PTX, and one code object per gfx
// target would tie the binary to the targets known at build time).
#pragma once

#include <string_view>

namespace keepgpu::gpu::rocm {

// The program text. data() is NUL-terminated, as hiprtcCreateProgram requires.
std::string_view keepalive_hip_source() noexcept;

// keepgpu_fill(float* x, unsigned long long n): x[i] = a finite value in [0, 1) derived from a
// hash of i, so every page is written (as torch.rand would).
inline constexpr const char* kFillKernel = "keepgpu_fill";
// keepgpu_relu(float* x, unsigned long long n): x[i] = max(x[i], 0); every element is loaded and
// stored, so each launch moves 8 bytes per element through memory.
inline constexpr const char* kReluKernel = "keepgpu_relu";

// Both kernels are grid-stride loops with 64-bit indices, so any element count works with a
// bounded grid.
inline constexpr unsigned kThreadsPerBlock = 256;
inline constexpr unsigned long long kMaxBlocks = 65535;
unsigned blocks_for(unsigned long long elements) noexcept;

}  // namespace keepgpu::gpu::rocm
