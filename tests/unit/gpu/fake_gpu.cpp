#include "fake_gpu.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace keepgpu::gpu::testing {
namespace {

// Runs before main(): the product's process-wide library handles must see the fakes from their
// very first use.
const bool kEnvironmentReady = [] {
  setenv("KEEP_GPU_LIBCUDA", kFakeCuda.c_str(), 1);
  setenv("KEEP_GPU_LIBNVML", kFakeNvml.c_str(), 1);
  unsetenv("KEEP_GPU_PLATFORM");
  return true;
}();

template <class Fn>
Fn resolve(void* library, const char* name) {
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) throw std::runtime_error(std::string("fake state lacks ") + name);
  return reinterpret_cast<Fn>(symbol);
}

}  // namespace

FakeGpu& FakeGpu::instance() {
  static FakeGpu fake;
  return fake;
}

FakeGpu::FakeGpu() {
  (void)kEnvironmentReady;
  const auto dir =
      std::filesystem::temp_directory_path() / ("keepgpu-unit-gpu-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  config_path_ = (dir / "config.json").string();
  setenv("FAKEGPU_CONFIG", config_path_.c_str(), 1);
  unsetenv("FAKEGPU_STATE");
  // The same object the fake libcuda/libnvidia-ml link against: dlopen returns the loaded copy.
  const std::string path = kFakeDir + "/libfakegpu_state.so";
  library_ = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
  if (library_ == nullptr) throw std::runtime_error("cannot load " + path + ": " + dlerror());
  reset_ = resolve<void (*)()>(library_, "fakegpu_reset");
  state_json_ = resolve<char* (*)()>(library_, "fakegpu_state_json");
  free_ = resolve<void (*)(void*)>(library_, "fakegpu_free");
  external_shutdown_ = resolve<void (*)()>(library_, "fakegpu_nvml_external_shutdown");
}

void FakeGpu::reset(const keepgpu::core::Json& config) {
  update(config);
  reset_();
}

void FakeGpu::update(const keepgpu::core::Json& config) {
  // Temporary file + rename, so the fakes never read half a scenario; the new inode tells them
  // the file changed.
  const std::string temporary = config_path_ + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << config.dump(2);
  }
  std::filesystem::rename(temporary, config_path_);
}

keepgpu::core::Json FakeGpu::state() {
  char* text = state_json_();
  keepgpu::core::Json parsed = keepgpu::core::Json::parse(text);
  free_(text);
  return parsed;
}

void FakeGpu::external_nvml_shutdown() {
  external_shutdown_();
}

ScopedEnv::ScopedEnv(std::string name, std::optional<std::string> value) : name_(std::move(name)) {
  if (const char* old = std::getenv(name_.c_str())) saved_ = old;
  if (value) {
    setenv(name_.c_str(), value->c_str(), 1);
  } else {
    unsetenv(name_.c_str());
  }
}

ScopedEnv::~ScopedEnv() {
  if (saved_) {
    setenv(name_.c_str(), saved_->c_str(), 1);
  } else {
    unsetenv(name_.c_str());
  }
}

keepgpu::core::Json mock_devices(int count) {
  keepgpu::core::Json devices = keepgpu::core::Json::array();
  for (int i = 0; i < count; ++i) {
    devices.push_back({{"name", "Mock GPU " + std::to_string(i)},
                       {"uuid", "GPU-mock-" + std::to_string(i)},
                       {"total_memory", 17179869184ULL},
                       {"utilization", 40 + i}});
  }
  return devices;
}

}  // namespace keepgpu::gpu::testing
