// The kernel-free path of KeepaliveOps, for hosts where hiprtc is missing or cannot build for the
// device: the DMA engines move the bytes that the ReLU kernel would.
#include "gpu/rocm/keepalive_ops.hpp"

namespace keepgpu::gpu::rocm {
namespace {

class CopyOps final : public KeepaliveOps {
 public:
  explicit CopyOps(std::shared_ptr<const HipApi> api) : api_(std::move(api)) {}

  void fill(void* buffer, std::uint64_t elements) override {
    api_->check(api_->hipMemset(buffer, 0, static_cast<std::size_t>(elements) * sizeof(float)),
                "hipMemset");
  }

  // Half onto half and back: 4 bytes read and 4 written per element, like one ReLU launch. A
  // one-element buffer has no halves; its traffic is negligible anyway.
  void pass(void* buffer, std::uint64_t elements) override {
    const std::uint64_t half = elements / 2;
    if (half == 0) return;
    char* low = static_cast<char*>(buffer);
    char* high = low + half * sizeof(float);
    const auto bytes = static_cast<std::size_t>(half) * sizeof(float);
    api_->check(api_->hipMemcpyDtoDAsync(high, low, bytes, nullptr), "hipMemcpyDtoDAsync");
    api_->check(api_->hipMemcpyDtoDAsync(low, high, bytes, nullptr), "hipMemcpyDtoDAsync");
  }

 private:
  std::shared_ptr<const HipApi> api_;
};

}  // namespace

std::unique_ptr<KeepaliveOps> make_copy_ops(std::shared_ptr<const HipApi> api) {
  return std::make_unique<CopyOps>(std::move(api));
}

}  // namespace keepgpu::gpu::rocm
