// ROCm platform detection with the fake AMD
// libraries, and Debian's real ROCm SMI (package librocm-smi64-1) on this GPU-less machine.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "gpu/platform.hpp"
#include "gpu/rocm/library_search.hpp"
#include "gpu/rocm/rocm_backend.hpp"
#include "rocm_fakes.hpp"

namespace keepgpu::gpu {
namespace {

using json = keepgpu::core::Json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace rocm::testing;

std::shared_ptr<const cuda::CudaApi> no_cuda() {
  return cuda::CudaApi::load("/nonexistent/libcuda.so.1");
}
std::shared_ptr<const nvml::NvmlApi> no_nvml() {
  return nvml::NvmlApi::load("/nonexistent/libnvidia-ml.so.1");
}
std::shared_ptr<const cuda::CudaApi> fake_cuda() {
  return cuda::CudaApi::load(gpu::testing::kFakeCuda);
}

class RocmPlatformTest : public ::testing::Test {
 protected:
  void scenario(json hip = json::object(), json rsmi = json::object(),
                json devices = gpu::testing::mock_devices(2)) {
    FakeGpu::instance().reset(
        {{"devices", std::move(devices)}, {"hip", std::move(hip)}, {"rsmi", std::move(rsmi)}});
  }
  json state() { return FakeGpu::instance().state(); }

  ScopedEnv no_override_{"KEEP_GPU_PLATFORM", std::nullopt};
  ScopedEnv no_rocr_{"ROCR_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_hip_mask_{"HIP_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_cuda_mask_{"CUDA_VISIBLE_DEVICES", std::nullopt};
};

// A HIP runtime with devices decides without asking ROCm SMI.
TEST_F(RocmPlatformTest, HipRuntimeWithDevices) {
  scenario();
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, fake_hip, fake_rsmi).detect(), Platform::rocm);
  EXPECT_EQ(state()["rsmi"]["init_calls"], 0);
  EXPECT_EQ(state()["hip"]["init_calls"], 1);
}

TEST_F(RocmPlatformTest, SmiAloneMeansRocmWithOneBalancedProbe) {
  scenario();
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, no_hip, fake_rsmi).detect(), Platform::rocm);
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init", "shutdown"));
  // A HIP runtime without devices falls through to SMI too.
  scenario({{"device_count", 0}});
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, fake_hip, fake_rsmi).detect(), Platform::rocm);
  EXPECT_EQ(state()["rsmi"]["init_calls"], 1);
  EXPECT_EQ(state()["rsmi"]["shutdown_calls"], 1);
}

TEST_F(RocmPlatformTest, SmiWithoutDevicesIsNotAnAmdHost) {
  scenario(json::object(), {{"device_count", 0}});
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, no_hip, fake_rsmi).detect(), Platform::cpu);
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init", "shutdown"));
  scenario(json::object(), {{"init_error", 8}});
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, no_hip, fake_rsmi).detect(), Platform::cpu);
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init"));
  // A library that cannot count falls back to upstream's rule: init working is enough.
  scenario();
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, no_hip, fake_rsmi_minimal).detect(), Platform::rocm);
}

TEST_F(RocmPlatformTest, NeitherVendorMeansCpu) {
  scenario();
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, no_hip, no_rsmi).detect(), Platform::cpu);
  // An unexpected HIP failure is logged and ROCm SMI still decides.
  scenario({{"device_count_error", 999}}, {{"device_count", 0}});
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, fake_hip, fake_rsmi).detect(), Platform::cpu);
}

// With both vendors present the port picks CUDA and never probes ROCm.
TEST_F(RocmPlatformTest, CudaIsPreferred) {
  scenario();
  EXPECT_EQ(PlatformDetector(fake_cuda, no_nvml, fake_hip, fake_rsmi).detect(), Platform::cuda);
  EXPECT_EQ(state()["hip"]["init_calls"], 0);
  EXPECT_EQ(state()["rsmi"]["init_calls"], 0);
}

TEST_F(RocmPlatformTest, OverrideSkipsTheRocmProbes) {
  scenario();
  ScopedEnv env("KEEP_GPU_PLATFORM", "ROCM");
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, no_hip, no_rsmi).detect(), Platform::rocm);
  EXPECT_EQ(state()["hip"]["init_calls"], 0);
  EXPECT_EQ(state()["rsmi"]["init_calls"], 0);
}

TEST(RocmLibrarySearch, OverrideIsTheOnlyCandidate) {
  ScopedEnv env("KEEP_GPU_TEST_LIB", "/nonexistent/libexample.so");
  EXPECT_THAT(
      [] { rocm::open_rocm_library("KEEP_GPU_TEST_LIB", {"libc.so.6"}); },
      ::testing::ThrowsMessage<LibraryError>(::testing::HasSubstr("/nonexistent/libexample.so")));
  ScopedEnv set("KEEP_GPU_TEST_LIB", kFakeRsmi);
  EXPECT_EQ(rocm::open_rocm_library("KEEP_GPU_TEST_LIB", {"libc.so.6"}).name(), kFakeRsmi);
}

TEST(RocmLibrarySearch, SonamesInOrderThenRocmFolders) {
  ScopedEnv unset("KEEP_GPU_TEST_LIB", std::nullopt);
  ScopedEnv root("ROCM_PATH", "/nonexistent/rocm");
  EXPECT_EQ(rocm::open_rocm_library("KEEP_GPU_TEST_LIB", {"libnotthere.so.9", "libc.so.6"}).name(),
            "libc.so.6");
  try {
    rocm::open_rocm_library("KEEP_GPU_TEST_LIB", {"libnotthere.so", "libnotthere.so.7"});
    FAIL() << "expected LibraryError";
  } catch (const LibraryError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("cannot load libnotthere.so"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("tried libnotthere.so, libnotthere.so.7, "
                                               "/nonexistent/rocm/lib/libnotthere.so, "
                                               "/opt/rocm/lib/libnotthere.so"));
  }
}

// The real ROCm SMI library from Debian (scripts/setup installs librocm-smi64-1). On a machine
// without an AMD GPU it must load, fail rsmi_init cleanly, and leave keep-gpu on the CPU platform
// with telemetry unavailable: no crash, no hang, no exception.
class DebianRocmSmiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kDebianRsmi)) {
      GTEST_SKIP() << kDebianRsmi << " is not installed (Debian package librocm-smi64-1)";
    }
    if (std::filesystem::exists("/dev/kfd")) {
      GTEST_SKIP() << "this machine has an AMD GPU driver; the test expects none";
    }
  }
  static std::shared_ptr<const rocm::RsmiApi> real() { return rocm::RsmiApi::load(kDebianRsmi); }
};

TEST_F(DebianRocmSmiTest, LoadsAndReportsNoAmdGpu) {
  const auto api = real();
  ASSERT_NE(api->rsmi_num_monitor_devices, nullptr);
  ASSERT_NE(api->rsmi_dev_memory_total_get, nullptr);
  ASSERT_NE(api->rsmi_dev_temp_metric_get, nullptr);
  const rocm::rsmi_status_t status = api->rsmi_init(0);
  EXPECT_NE(status, rocm::kRsmiSuccess);
  EXPECT_THAT(api->status_text(status), ::testing::HasSubstr("(code "));
  ScopedEnv env("KEEP_GPU_PLATFORM", std::nullopt);
  EXPECT_EQ(PlatformDetector(no_cuda, no_nvml, no_hip, real).detect(), Platform::cpu);
}

TEST_F(DebianRocmSmiTest, TelemetryIsUnavailableNotAnError) {
  rocm::RocmBackend backend(no_hip, no_hiprtc, real);
  EXPECT_EQ(backend.device_count(), 0);
  EXPECT_EQ(backend.telemetry().utilization(0), std::nullopt);
  EXPECT_THAT(backend.telemetry().list_gpus(), IsEmpty());
  EXPECT_FALSE(backend.smi().initialized());
}

TEST_F(DebianRocmSmiTest, FoundByTheDefaultSearch) {
  ScopedEnv unset("KEEP_GPU_TEST_LIB", std::nullopt);
  const DynamicLibrary library = rocm::open_rocm_library(
      "KEEP_GPU_TEST_LIB", {"librocm_smi64.so", "librocm_smi64.so.7", "librocm_smi64.so.6",
                            "librocm_smi64.so.5", "librocm_smi64.so.1"});
  EXPECT_NE(library.find({"rsmi_init"}), nullptr);
}

}  // namespace
}  // namespace keepgpu::gpu
