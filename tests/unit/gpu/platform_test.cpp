// Platform detection. Each test builds its
// own PlatformDetector, so the process-wide cache is never involved.
#include <gtest/gtest.h>

#include "fake_gpu.hpp"
#include "gpu/cuda/cuda_backend.hpp"
#include "gpu/platform.hpp"

namespace keepgpu::gpu {
namespace {

using json = keepgpu::core::Json;
using testing::FakeGpu;
using testing::ScopedEnv;

std::shared_ptr<const cuda::CudaApi> no_cuda() {
  return cuda::CudaApi::load("/nonexistent/libcuda.so.1");
}
std::shared_ptr<const nvml::NvmlApi> no_nvml() {
  return nvml::NvmlApi::load("/nonexistent/libnvidia-ml.so.1");
}

class PlatformTest : public ::testing::Test {
 protected:
  void SetUp() override { scenario(json::object()); }
  void scenario(json cuda, json nvml = json::object()) {
    FakeGpu::instance().reset({{"devices", testing::mock_devices(1)},
                               {"cuda", std::move(cuda)},
                               {"nvml", std::move(nvml)}});
  }
  int cuda_inits() { return FakeGpu::instance().state()["cuda_init_calls"]; }
  json nvml_state() { return FakeGpu::instance().state()["nvml"]; }

  ScopedEnv no_override_{"KEEP_GPU_PLATFORM", std::nullopt};
  ScopedEnv no_mask_{"CUDA_VISIBLE_DEVICES", std::nullopt};
};

TEST_F(PlatformTest, Names) {
  EXPECT_EQ(to_string(Platform::cpu), "cpu");
  EXPECT_EQ(to_string(Platform::cuda), "cuda");
  EXPECT_EQ(to_string(Platform::rocm), "rocm");
}

// 117
TEST_F(PlatformTest, OverrideSkipsProbes) {
  ScopedEnv env("KEEP_GPU_PLATFORM", "cpu");
  PlatformDetector detector;
  EXPECT_EQ(detector.detect(), Platform::cpu);
  EXPECT_EQ(cuda_inits(), 0);
  EXPECT_EQ(nvml_state()["init_calls"], 0);
}

TEST_F(PlatformTest, OverrideIsCaseInsensitiveAndHonouredWithoutHardware) {
  ScopedEnv env("KEEP_GPU_PLATFORM", "CUDA");
  PlatformDetector detector(no_cuda, no_nvml);
  EXPECT_EQ(detector.detect(), Platform::cuda);
  ScopedEnv rocm("KEEP_GPU_PLATFORM", "RoCm");
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml).detect(), Platform::rocm);
}

TEST_F(PlatformTest, MacmOverrideMeansCpuInThisPort) {
  ScopedEnv env("KEEP_GPU_PLATFORM", "MACM");
  EXPECT_EQ(PlatformDetector().detect(), Platform::cpu);
  EXPECT_EQ(cuda_inits(), 0);
}

TEST_F(PlatformTest, InvalidOverrideAutoDetects) {
  ScopedEnv env("KEEP_GPU_PLATFORM", "invalid");
  EXPECT_EQ(PlatformDetector().detect(), Platform::cuda);
  EXPECT_EQ(cuda_inits(), 1);
  // Not trimmed: " cuda" is invalid too.
  scenario(json::object());
  ScopedEnv padded("KEEP_GPU_PLATFORM", " cuda");
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml).detect(), Platform::cpu);
}

TEST_F(PlatformTest, EmptyOverrideMeansUnset) {
  ScopedEnv env("KEEP_GPU_PLATFORM", "");
  EXPECT_EQ(PlatformDetector().detect(), Platform::cuda);
  EXPECT_EQ(cuda_inits(), 1);
}

// 118
TEST_F(PlatformTest, ResultIsCached) {
  PlatformDetector detector;
  EXPECT_EQ(detector.detect(), Platform::cuda);
  EXPECT_EQ(cuda_inits(), 1);
  ScopedEnv env("KEEP_GPU_PLATFORM", "cpu");
  EXPECT_EQ(detector.detect(), Platform::cuda);
  EXPECT_EQ(cuda_inits(), 1);
  EXPECT_EQ(nvml_state()["init_calls"], 0);
}

// 119
TEST_F(PlatformTest, DriverWithDevicesSkipsTheNvmlProbe) {
  EXPECT_EQ(PlatformDetector().detect(), Platform::cuda);
  EXPECT_EQ(nvml_state()["init_calls"], 0);
}

TEST_F(PlatformTest, NvmlAloneMeansCuda) {
  EXPECT_EQ(PlatformDetector(no_cuda).detect(), Platform::cuda);
  EXPECT_EQ(nvml_state()["init_calls"], 1);
  EXPECT_EQ(nvml_state()["shutdown_calls"], 1);

  // A driver without devices falls through to NVML as well.
  scenario({{"init_error", 100}});
  EXPECT_EQ(PlatformDetector().detect(), Platform::cuda);
  EXPECT_EQ(nvml_state()["init_calls"], 1);
  EXPECT_EQ(nvml_state()["shutdown_calls"], 1);
}

TEST_F(PlatformTest, NeitherDriverNorNvmlMeansCpu) {
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml).detect(), Platform::cpu);
  scenario({{"init_error", 100}}, {{"init_error", 999}});
  EXPECT_EQ(PlatformDetector().detect(), Platform::cpu);
  EXPECT_EQ(nvml_state()["shutdown_calls"], 0);
  // A driver that fails unexpectedly is logged and does not stop the NVML probe.
  scenario({{"device_count_error", 999}});
  EXPECT_EQ(PlatformDetector().detect(), Platform::cuda);
  EXPECT_EQ(nvml_state()["init_calls"], 1);
}

TEST_F(PlatformTest, BackendsPerPlatform) {
  EXPECT_EQ(make_backend(Platform::cpu), nullptr);
  ASSERT_NE(make_backend(Platform::rocm), nullptr);
  EXPECT_EQ(make_backend(Platform::rocm)->platform(), Platform::rocm);
  auto backend = make_backend(Platform::cuda);
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->platform(), Platform::cuda);
  EXPECT_EQ(backend->device_count(), 1);
}

TEST_F(PlatformTest, ProcessWideDetectorIsShared) {
  EXPECT_EQ(&PlatformDetector::process(), &PlatformDetector::process());
  EXPECT_EQ(detect_platform(), detect_platform());
}

}  // namespace
}  // namespace keepgpu::gpu
