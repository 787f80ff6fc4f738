// The keep-alive kernels, shipped as PTX text and JIT-compiled by the driver (no GPU
// SDK at build time). PTX ISA 6.4 for sm_50 is accepted by every driver from CUDA 10.1 on, so one
// binary runs on old and new GPUs alike.
#pragma once

#include <string_view>

namespace keepgpu::gpu::cuda {

// The module text. data() is NUL-terminated, as cuModuleLoadDataEx requires for PTX.
std::string_view keepalive_ptx() noexcept;

// keepgpu_fill(u64 ptr, u64 n): writes a finite value in [0, 1) to each of the n float32
// elements at ptr, derived from a hash of the element index.
inline constexpr const char* kFillKernel = "keepgpu_fill";
// keepgpu_relu(u64 ptr, u64 n): x = max(x, 0) over the n float32 elements at ptr; every element
// is loaded and stored, so each launch really moves 8 bytes per element through memory.
inline constexpr const char* kReluKernel = "keepgpu_relu";
inline constexpr const char* kSpinKernel = "keepgpu_spin";
// The spin runs as one warp of one block.
inline constexpr unsigned kSpinThreads = 32;

// Launch geometry shared by both kernels: they are grid-stride loops with 64-bit indices, so any
// element count works with a bounded grid.
inline constexpr unsigned kThreadsPerBlock = 256;
inline constexpr unsigned long long kMaxBlocks = 65535;
unsigned blocks_for(unsigned long long elements) noexcept;

}  // namespace keepgpu::gpu::cuda
