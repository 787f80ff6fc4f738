#include "gpu/rocm/rocm_session.hpp"

#include <fmt/format.h>

#include <limits>

#include "core/log.hpp"
#include "gpu/rocm/hip_device_query.hpp"
#include "gpu/undo_on_failure.hpp"

namespace keepgpu::gpu::rocm {
namespace {

std::shared_ptr<spdlog::logger> session_log() {
  static const auto logger =
      keepgpu::log::get("keep_gpu.single_gpu_controller.rocm_gpu_controller");
  return logger;
}

}  // namespace

RocmSession::RocmSession(std::shared_ptr<const HipApi> api, int visible_ordinal,
                         SmiRuntime::Lease smi, KernelCache& kernels)
    : smi_(std::move(smi)), api_(std::move(api)), ordinal_(visible_ordinal) {
  undo_on_failure(
      [&] {
        api_->check(api_->hipInit(0), "hipInit");
        select();
        choose_path(kernels);
        // Blocking sync: the keeper thread sleeps while it waits for a chunk instead of spinning.
        in_flight_.create_events([&](hipEvent_t& event) {
          api_->check(
              api_->hipEventCreateWithFlags(&event, kHipEventBlockingSync | kHipEventDisableTiming),
              "hipEventCreateWithFlags");
        });
      },
      [&] { close(); }, session_log(), ordinal_, "cleanup after a failed open");
}

RocmSession::~RocmSession() {
  close_at_destruction([&] { close(); }, session_log(), ordinal_);
}

void RocmSession::select() const {
  // The current device is per thread: every entry point selects it, so the session works from
  // whichever thread calls it.
  api_->check(api_->hipSetDevice(ordinal_), "hipSetDevice");
}

void RocmSession::choose_path(KernelCache& kernels) {
  const auto lg = session_log();
  const std::optional<std::string> arch = gcn_arch_name(*api_, ordinal_);
  const KernelCache::Result compiled = kernels.get(arch);
  std::string reason = compiled.reason;
  if (compiled.code) {
    try {
      ops_ = make_kernel_ops(api_, *compiled.code);
      uses_kernels_ = true;
      KG_INFO(lg, "rank {}: keep-alive kernels compiled by hiprtc for {}", ordinal_,
              arch.value_or("the current device"));
      return;
    } catch (const GpuError& e) {
      if (e.out_of_memory()) throw;
      reason = std::string("the compiled kernels do not load: ") + e.what();
    }
  }
  ops_ = make_copy_ops(api_);
  const std::string text = fmt::format(
      "rank {}: {}; keeping the GPU busy with device-to-device copies instead of kernels", ordinal_,
      reason);
  // A stock ROCm install has hiprtc; only a broken one deserves a warning.
  if (compiled.compiler_missing) {
    KG_INFO(lg, "{}", text);
  } else {
    KG_WARN(lg, "{}", text);
  }
}

void RocmSession::allocate(std::uint64_t elements) {
  select();
  free_buffer();
  if (elements == 0) {
    throw GpuError("cannot allocate an empty buffer", kHipErrorInvalidValue, false);
  }
  if (elements > std::numeric_limits<std::size_t>::max() / sizeof(float)) {
    throw GpuError(
        fmt::format("out of memory: {} float32 elements exceed the address space", elements),
        kHipErrorOutOfMemory, true);
  }
  void* pointer = nullptr;
  api_->check(api_->hipMalloc(&pointer, static_cast<std::size_t>(elements) * sizeof(float)),
              "hipMalloc");
  buffer_ = pointer;
  elements_ = elements;
  undo_on_failure(
      [&] {
        // Every page is written, like torch.rand: the memory is really committed on the device.
        ops_->fill(buffer_, elements_);
        api_->check(api_->hipDeviceSynchronize(), "hipDeviceSynchronize");
      },
      [&] { free_buffer(); }, session_log(), ordinal_, "freeing the buffer after a failed fill");
}

void RocmSession::free_buffer() {
  if (buffer_ == nullptr) return;
  api_->hipSetDevice(ordinal_);
  // A refused free keeps the buffer: the runtime still holds it, so the session still counts it.
  api_->check(api_->hipFree(buffer_), "hipFree");
  buffer_ = nullptr;
  elements_ = 0;
  in_flight_.restart_chunk();
}

void RocmSession::launch_pass() {
  if (buffer_ == nullptr) throw GpuError("no buffer allocated", kHipErrorInvalidValue, false);
  // The hot path: thousands of launches per batch, so the device is only set when this thread's
  // current device is another one.
  int current = -1;
  if (api_->hipGetDevice(&current) != kHipSuccess || current != ordinal_) select();
  ops_->pass(buffer_, elements_);
  in_flight_.count_launch(
      [&](hipEvent_t event) {
        api_->check(api_->hipEventSynchronize(event), "hipEventSynchronize");
      },
      [&](hipEvent_t event) {
        api_->check(api_->hipEventRecord(event, nullptr), "hipEventRecord");
      });
}

void RocmSession::launch_spin(std::uint64_t /*nanoseconds*/) {
  launch_pass();
  synchronize();
}

void RocmSession::synchronize() {
  select();
  api_->check(api_->hipDeviceSynchronize(), "hipDeviceSynchronize");
  in_flight_.all_complete();
}

MemoryInfo RocmSession::memory_info() {
  select();
  std::size_t free = 0;
  std::size_t total = 0;
  api_->check(api_->hipMemGetInfo(&free, &total), "hipMemGetInfo");
  return {static_cast<std::uint64_t>(free), static_cast<std::uint64_t>(total)};
}

void RocmSession::close() {
  // Each step is forgotten only once the runtime accepted it, so a retry resumes where a refusal
  // stopped.
  if (api_) {
    free_buffer();
    in_flight_.destroy_events(
        [&](hipEvent_t event) { api_->check(api_->hipEventDestroy(event), "hipEventDestroy"); });
  }
  if (ops_) ops_->unload();
  ops_.reset();
  // HIP has no primary context to release per session: the runtime keeps one per device for the
  // process (as upstream's PyTorch did). Everything this session allocated is freed above.
  smi_ = SmiRuntime::Lease();
}

}  // namespace keepgpu::gpu::rocm
