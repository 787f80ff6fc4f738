// The keep-alive kernels path of KeepaliveOps: a module loaded from hiprtc's code object.
#include <string_view>

#include "gpu/rocm/keepalive_ops.hpp"
#include "gpu/rocm/keepalive_source.hpp"

namespace keepgpu::gpu::rocm {
namespace {

class KernelOps final : public KeepaliveOps {
 public:
  KernelOps(std::shared_ptr<const HipApi> api, const std::vector<char>& code)
      : api_(std::move(api)) {
    api_->check(api_->hipModuleLoadData(&module_, code.data()), "hipModuleLoadData");
    try {
      api_->check(api_->hipModuleGetFunction(&fill_, module_, kFillKernel),
                  "hipModuleGetFunction(keepgpu_fill)");
      api_->check(api_->hipModuleGetFunction(&relu_, module_, kReluKernel),
                  "hipModuleGetFunction(keepgpu_relu)");
    } catch (...) {
      api_->hipModuleUnload(module_);
      throw;
    }
  }
  // A refused unload was already reported by unload(); the runtime drops the module at exit.
  ~KernelOps() override {
    if (module_ != nullptr) api_->hipModuleUnload(module_);
  }
  KernelOps(const KernelOps&) = delete;
  KernelOps& operator=(const KernelOps&) = delete;

  void fill(void* buffer, std::uint64_t elements) override {
    launch(fill_, buffer, elements, "hipModuleLaunchKernel(keepgpu_fill)");
  }
  void pass(void* buffer, std::uint64_t elements) override {
    launch(relu_, buffer, elements, "hipModuleLaunchKernel(keepgpu_relu)");
  }
  void unload() override {
    if (module_ == nullptr) return;
    api_->check(api_->hipModuleUnload(module_), "hipModuleUnload");
    module_ = nullptr;
  }

 private:
  void launch(hipFunction_t kernel, void* buffer, std::uint64_t elements, std::string_view call) {
    void* pointer = buffer;
    unsigned long long count = elements;
    void* args[] = {&pointer, &count};
    api_->check(api_->hipModuleLaunchKernel(kernel, blocks_for(count), 1, 1, kThreadsPerBlock, 1, 1,
                                            0, nullptr, args, nullptr),
                call);
  }

  std::shared_ptr<const HipApi> api_;
  hipModule_t module_ = nullptr;
  hipFunction_t fill_ = nullptr;
  hipFunction_t relu_ = nullptr;
};

}  // namespace

std::unique_ptr<KeepaliveOps> make_kernel_ops(std::shared_ptr<const HipApi> api,
                                              const std::vector<char>& code) {
  return std::make_unique<KernelOps>(std::move(api), code);
}

}  // namespace keepgpu::gpu::rocm
