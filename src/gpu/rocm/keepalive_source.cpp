#include "gpu/rocm/keepalive_source.hpp"

#include <algorithm>

namespace keepgpu::gpu::rocm {
namespace {

// hiprtc predefines __global__, blockIdx and friends, so the program needs no #include (which
// would need HIP headers at run time). The fill value is the top 24 bits of MurmurHash3's 64-bit
// finaliser of the index, times 2^-24: finite and in [0, 1) without any RNG state. The ReLU store
// is unconditional: the memory traffic is the keep-alive signal, so it must not be optimised out.
constexpr char kSource[] = R"hip(// keep-gpu keep-alive kernels
extern "C" __global__ void keepgpu_fill(float* x, unsigned long long n) {
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    unsigned long long h = i;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    x[i] = (float)(h >> 40) * (1.0f / 16777216.0f);
  }
}

extern "C" __global__ void keepgpu_relu(float* x, unsigned long long n) {
  const unsigned long long stride = (unsigned long long)gridDim.x * blockDim.x;
  for (unsigned long long i = (unsigned long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const float v = x[i];
    x[i] = v > 0.0f ? v : 0.0f;
  }
}
)hip";

}  // namespace

std::string_view keepalive_hip_source() noexcept {
  return {kSource, sizeof(kSource) - 1};
}

unsigned blocks_for(unsigned long long elements) noexcept {
  const unsigned long long needed = (elements + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned>(std::clamp<unsigned long long>(needed, 1, kMaxBlocks));
}

}  // namespace keepgpu::gpu::rocm
