#include "gpu/cuda/cuda_session.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "core/log.hpp"
#include "gpu/cuda/kernels_ptx.hpp"
#include "gpu/undo_on_failure.hpp"

namespace keepgpu::gpu::cuda {
namespace {

constexpr std::size_t kJitLogBytes = std::size_t{16} * 1024;

std::shared_ptr<spdlog::logger> session_log() {
  static const auto logger =
      keepgpu::log::get("keep_gpu.single_gpu_controller.cuda_gpu_controller");
  return logger;
}

std::string log_text(const std::vector<char>& buffer) {
  return std::string(buffer.data(), strnlen(buffer.data(), buffer.size()));
}

}  // namespace

CudaSession::CudaSession(std::shared_ptr<const CudaApi> api, int visible_ordinal)
    : api_(std::move(api)), ordinal_(visible_ordinal) {
  undo_on_failure(
      [&] {
        api_->check(api_->cuInit(0), "cuInit");
        api_->check(api_->cuDeviceGet(&device_, ordinal_), "cuDeviceGet");
        api_->check(api_->cuDevicePrimaryCtxRetain(&context_, device_), "cuDevicePrimaryCtxRetain");
        context_retained_ = true;
        make_current();
        load_module();
        // Blocking sync: the keeper thread sleeps while it waits for a chunk instead of spinning.
        in_flight_.create_events([&](CUevent& event) {
          api_->check(api_->cuEventCreate(&event, kEventBlockingSync | kEventDisableTiming),
                      "cuEventCreate");
        });
      },
      [&] { close(); }, session_log(), ordinal_, "cleanup after a failed open");
}

CudaSession::~CudaSession() {
  close_at_destruction([&] { close(); }, session_log(), ordinal_);
}

void CudaSession::make_current() const {
  // Every entry point sets the context, so the session works from whichever thread calls it
  // (the keeper's worker normally, the releasing thread at teardown).
  api_->check(api_->cuCtxSetCurrent(context_), "cuCtxSetCurrent");
}

void CudaSession::load_module() {
  std::vector<char> info_log(kJitLogBytes, '\0');
  std::vector<char> error_log(kJitLogBytes, '\0');
  CUjit_option options[] = {kJitInfoLogBuffer, kJitInfoLogBufferSizeBytes, kJitErrorLogBuffer,
                            kJitErrorLogBufferSizeBytes};
  // Sizes travel in the pointer-sized option slots, as the driver API specifies.
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the slot holds an integer, not an address.
  void* const log_size = reinterpret_cast<void*>(std::uintptr_t{kJitLogBytes - 1});
  void* values[] = {info_log.data(), log_size, error_log.data(), log_size};
  const CUresult status = api_->cuModuleLoadDataEx(&module_, keepalive_ptx().data(),
                                                   std::size(options), options, values);
  if (status != kSuccess) {
    module_ = nullptr;
    std::string message = api_->describe(status, "cuModuleLoadDataEx");
    if (const std::string jit = log_text(error_log); !jit.empty()) message += "; JIT log: " + jit;
    if (const std::string info = log_text(info_log); !info.empty())
      message += "; JIT info: " + info;
    throw GpuError(message, status, status == kErrorOutOfMemory);
  }
  api_->check(api_->cuModuleGetFunction(&fill_, module_, kFillKernel), "cuModuleGetFunction");
  api_->check(api_->cuModuleGetFunction(&relu_, module_, kReluKernel), "cuModuleGetFunction");
  api_->check(api_->cuModuleGetFunction(&spin_, module_, kSpinKernel), "cuModuleGetFunction");
}

void CudaSession::launch(CUfunction kernel, std::string_view call) {
  CUdeviceptr pointer = buffer_;
  unsigned long long count = elements_;
  void* args[] = {&pointer, &count};
  api_->check(api_->cuLaunchKernel(kernel, blocks_for(count), 1, 1, kThreadsPerBlock, 1, 1, 0,
                                   nullptr, args, nullptr),
              call);
}

void CudaSession::allocate(std::uint64_t elements) {
  make_current();
  free_buffer();
  if (elements == 0) throw GpuError("cannot allocate an empty buffer", kErrorInvalidValue, false);
  if (elements > std::numeric_limits<std::size_t>::max() / sizeof(float)) {
    throw GpuError(
        fmt::format("out of memory: {} float32 elements exceed the address space", elements),
        kErrorOutOfMemory, true);
  }
  CUdeviceptr pointer = 0;
  api_->check(api_->cuMemAlloc(&pointer, static_cast<std::size_t>(elements) * sizeof(float)),
              "cuMemAlloc_v2");
  buffer_ = pointer;
  elements_ = elements;
  undo_on_failure(
      [&] {
        // Every page is written, like torch.rand: the memory is really committed on the device.
        launch(fill_, "cuLaunchKernel(keepgpu_fill)");
        api_->check(api_->cuCtxSynchronize(), "cuCtxSynchronize");
      },
      [&] { free_buffer(); }, session_log(), ordinal_, "freeing the buffer after a failed fill");
}

void CudaSession::free_buffer() {
  if (buffer_ == 0) return;
  // Free even if the context cannot be made current: the driver may still accept it.
  api_->cuCtxSetCurrent(context_);
  // A refused free keeps the buffer: the driver still holds it, so the session still counts it.
  api_->check(api_->cuMemFree(buffer_), "cuMemFree_v2");
  buffer_ = 0;
  elements_ = 0;
  in_flight_.restart_chunk();
}

void CudaSession::launch_pass() {
  if (buffer_ == 0) throw GpuError("no buffer allocated", kErrorInvalidValue, false);
  make_current();
  launch(relu_, "cuLaunchKernel(keepgpu_relu)");
  in_flight_.count_launch(
      [&](CUevent event) { api_->check(api_->cuEventSynchronize(event), "cuEventSynchronize"); },
      [&](CUevent event) { api_->check(api_->cuEventRecord(event, nullptr), "cuEventRecord"); });
}

void CudaSession::launch_spin(std::uint64_t nanoseconds) {
  make_current();
  // The previous spin has normally ended long ago (the keeper launches one per slice); waiting
  // for it keeps a GPU that is slow to schedule us from collecting a queue of spins.
  api_->check(api_->cuCtxSynchronize(), "cuCtxSynchronize");
  unsigned long long ns = nanoseconds;
  void* args[] = {&ns};
  api_->check(api_->cuLaunchKernel(spin_, 1, 1, 1, kSpinThreads, 1, 1, 0, nullptr, args, nullptr),
              "cuLaunchKernel(keepgpu_spin)");
}

void CudaSession::synchronize() {
  make_current();
  api_->check(api_->cuCtxSynchronize(), "cuCtxSynchronize");
  in_flight_.all_complete();
}

MemoryInfo CudaSession::memory_info() {
  make_current();
  std::size_t free = 0;
  std::size_t total = 0;
  api_->check(api_->cuMemGetInfo(&free, &total), "cuMemGetInfo_v2");
  return {static_cast<std::uint64_t>(free), static_cast<std::uint64_t>(total)};
}

void CudaSession::close() {
  if (!context_retained_) return;
  // Each step is forgotten only once the driver accepted it, so a retry resumes where a refusal
  // stopped, and the context (which would take the buffer with it) outlives everything in it.
  if (const CUresult status = api_->cuCtxSetCurrent(context_); status != kSuccess) {
    KG_DEBUG(session_log(), "rank {}: {}", ordinal_, api_->describe(status, "cuCtxSetCurrent"));
  }
  free_buffer();
  in_flight_.destroy_events(
      [&](CUevent event) { api_->check(api_->cuEventDestroy(event), "cuEventDestroy"); });
  if (module_ != nullptr) api_->check(api_->cuModuleUnload(module_), "cuModuleUnload");
  module_ = nullptr;
  // The primary context (and the memory it pins) goes away with its last release.
  api_->check(api_->cuDevicePrimaryCtxRelease(device_), "cuDevicePrimaryCtxRelease");
  context_retained_ = false;
  // Leave no dangling current context on this thread; nothing is held any more either way.
  if (const CUresult status = api_->cuCtxSetCurrent(nullptr); status != kSuccess) {
    KG_DEBUG(session_log(), "rank {}: {}", ordinal_, api_->describe(status, "cuCtxSetCurrent"));
  }
  context_ = nullptr;
}

}  // namespace keepgpu::gpu::cuda
