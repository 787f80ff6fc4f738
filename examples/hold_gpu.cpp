// Example: hold 64 MiB on GPU 0 while the CPU does something else, through the public API.
//
//   hold_gpu [seconds]
//
// Prints what it holds and exits 0 after releasing; exits 1 with the error when no GPU can be kept.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "keepgpu/keepgpu.hpp"

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
  try {
    keepgpu::GlobalGPUController gpus({.gpu_ids = std::vector<std::int64_t>{0},
                                       .interval = 0.2,
                                       .vram = "64MiB",
                                       .busy_threshold = -1});
    {
      keepgpu::KeepGuard hold(gpus);
      std::this_thread::sleep_for(std::chrono::duration<double>(seconds));  // the "CPU phase"
      std::printf("held %llu bytes on %zu GPU(s)\n",
                  static_cast<unsigned long long>(gpus.held_bytes()), gpus.gpu_ids().size());
    }
    if (gpus.runtime_error()) {
      std::fprintf(stderr, "a keeper failed while holding\n");
      return 1;
    }
    std::printf("released\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot keep GPU 0: %s\n", e.what());
    return 1;
  }
}
