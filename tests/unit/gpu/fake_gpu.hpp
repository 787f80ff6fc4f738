// Drives the fake vendor libraries (tests/fakes/README.md) from the gpu unit tests. The product
// loads its vendor libraries once per process, so the environment points KEEP_GPU_LIBCUDA and
// KEEP_GPU_LIBNVML at the fakes before any test runs; each test then writes its scenario and
// resets the fakes' counters and allocations.
#pragma once

#include "core/json.hpp"

#include <optional>
#include <string>

namespace keepgpu::gpu::testing {

inline const std::string kFakeDir = FAKEGPU_DIR;
inline const std::string kFakeCuda = kFakeDir + "/libcuda.so.1";
inline const std::string kFakeNvml = kFakeDir + "/libnvidia-ml.so.1";
inline const std::string kFakeNvmlMinimal = kFakeDir + "/libnvidia-ml-minimal.so.1";

class FakeGpu {
 public:
  static FakeGpu& instance();

  // Writes `config` as the FAKEGPU_CONFIG scenario and resets the fakes (counters, allocations,
  // contexts, CUDA and NVML init state; CUDA_VISIBLE_DEVICES is captured again at the next cuInit).
  void reset(const keepgpu::core::Json& config);
  // Writes `config` without resetting: a running scenario changes (a fault appears or goes).
  void update(const keepgpu::core::Json& config);
  // The fakes' observable state (README "Observing").
  keepgpu::core::Json state();
  // Another part of the process shuts NVML down (its init count drops to 0).
  void external_nvml_shutdown();

 private:
  FakeGpu();
  void* library_ = nullptr;
  std::string config_path_;
  void (*reset_)() = nullptr;
  char* (*state_json_)() = nullptr;
  void (*free_)(void*) = nullptr;
  void (*external_shutdown_)() = nullptr;
};

// Sets (or, with std::nullopt, unsets) an environment variable for the lifetime of the object.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, std::optional<std::string> value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> saved_;
};

// `count` devices "Mock GPU i" with UUID "GPU-mock-i", 16 GiB, utilization 40 + i.
keepgpu::core::Json mock_devices(int count);

}  // namespace keepgpu::gpu::testing
