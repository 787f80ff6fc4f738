// RocmBackend and RocmSession against the fake HIP runtime, hiprtc and ROCm SMI: device count,
// the SMI lease around a session, allocation, the hiprtc kernels for the device's gcnArchName,
// the copy fallback, bounded work in flight and error classification.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "gpu/rocm/rocm_backend.hpp"
#include "gpu/rocm/rocm_session.hpp"
#include "rocm_fakes.hpp"

namespace keepgpu::gpu::rocm {
namespace {

using json = keepgpu::core::Json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace testing;

constexpr std::uint64_t kGiB = 1ULL << 30;
constexpr std::uint64_t kMiB = 1ULL << 20;

class RocmSessionTest : public ::testing::Test {
 protected:
  void scenario(json devices, json hip = json::object(), json extra = json::object()) {
    json config = {{"devices", std::move(devices)}, {"hip", std::move(hip)}};
    config.update(extra);
    FakeGpu::instance().reset(config);
  }
  json state() { return FakeGpu::instance().state(); }
  json device(int physical) { return state()["devices"][physical]; }

  ScopedEnv no_rocr_{"ROCR_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_hip_mask_{"HIP_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_cuda_mask_{"CUDA_VISIBLE_DEVICES", std::nullopt};
};

RocmBackend fake_backend() {
  return RocmBackend(fake_hip, fake_hiprtc, fake_rsmi);
}

TEST_F(RocmSessionTest, BackendBasics) {
  scenario(gpu::testing::mock_devices(3));
  RocmBackend backend = fake_backend();
  EXPECT_EQ(backend.platform(), Platform::rocm);
  EXPECT_EQ(backend.device_count(), 3);
  // The runtime applies the masks: ROCR picks, HIP indexes into ROCR's list.
  ScopedEnv rocr("ROCR_VISIBLE_DEVICES", "2,0");
  ScopedEnv hip("HIP_VISIBLE_DEVICES", "1");
  scenario(gpu::testing::mock_devices(3));
  EXPECT_EQ(backend.device_count(), 1);
  EXPECT_EQ(state()["hip"]["visible"], json::array({0}));
}

TEST_F(RocmSessionTest, DeviceCountWithoutRuntimeOrDevice) {
  scenario(gpu::testing::mock_devices(2));
  EXPECT_EQ(RocmBackend(no_hip, no_hiprtc, no_rsmi).device_count(), 0);
  scenario(json::array());
  EXPECT_EQ(fake_backend().device_count(), 0);
  scenario(gpu::testing::mock_devices(2), {{"init_error", 35}});  // no amdgpu driver
  EXPECT_EQ(fake_backend().device_count(), 0);
}

TEST_F(RocmSessionTest, DeviceCountFailuresAreEnumerationErrors) {
  scenario(gpu::testing::mock_devices(2), {{"device_count_error", 999}});
  RocmBackend backend = fake_backend();
  EXPECT_THAT([&] { backend.device_count(); },
              ::testing::ThrowsMessage<DeviceEnumerationUnavailableError>(::testing::StartsWith(
                  "Unable to enumerate visible GPUs: unknown error (hipErrorUnknown, code 999) "
                  "in hipGetDeviceCount")));
}

// ROCm SMI is initialised before the device is selected and shut down when the
// selection fails.
TEST_F(RocmSessionTest, SelectFailureInitsAndShutsSmiDownOnce) {
  scenario(gpu::testing::mock_devices(1), {{"faults", {{"0", {{"set_device_error", 101}}}}}});
  RocmBackend backend = fake_backend();
  EXPECT_THAT([&] { backend.open(0); },
              ::testing::ThrowsMessage<GpuError>(HasSubstr("invalid device ordinal")));
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init", "shutdown"));
  EXPECT_EQ(state()["rsmi"]["init_refcount"], 0);
  EXPECT_EQ(backend.smi().users(), 0);
}

TEST_F(RocmSessionTest, MissingRuntimeStillBalancesSmi) {
  scenario(gpu::testing::mock_devices(1));
  RocmBackend backend(no_hip, fake_hiprtc, fake_rsmi);
  EXPECT_THROW(backend.open(0), LibraryError);
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init", "shutdown"));
}

TEST_F(RocmSessionTest, SmiStaysInitialisedWhileSessionsLive) {
  scenario(gpu::testing::mock_devices(2));
  RocmBackend backend = fake_backend();
  auto first = backend.open(0);
  auto second = backend.open(1);
  EXPECT_EQ(state()["rsmi"]["init_refcount"], 1);
  EXPECT_EQ(backend.smi().users(), 2);
  first.reset();
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init"));
  second.reset();
  // One rsmi_init, one rsmi_shut_down, whatever the number of keepers.
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init", "shutdown"));
  EXPECT_EQ(state()["rsmi"]["init_refcount"], 0);
}

TEST_F(RocmSessionTest, SmiInitFailureDoesNotStopTheSession) {
  scenario(gpu::testing::mock_devices(1), json::object(), {{"rsmi", {{"init_error", 8}}}});
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  session->allocate(1024);
  EXPECT_EQ(device(0)["allocated_bytes"], 4096);
  session.reset();
  // The failed init took no reference, so none is returned.
  EXPECT_EQ(state()["rsmi"]["shutdown_calls"], 0);
}

TEST_F(RocmSessionTest, KernelsAreCompiledForTheDeviceArchitecture) {
  json devices = gpu::testing::mock_devices(2);
  devices[1]["gcn_arch"] = "gfx942:sramecc+:xnack-";
  scenario(devices);
  RocmBackend backend = fake_backend();
  {
    auto session = backend.open(1);
    EXPECT_TRUE(dynamic_cast<RocmSession&>(*session).uses_kernels());
    EXPECT_THAT(state()["hiprtc"]["last_options"],
                ElementsAre("-O3", "--gpu-architecture=gfx942:sramecc+:xnack-"));
    session->allocate(2097152);  // 8 MiB
    EXPECT_EQ(device(1)["allocated_bytes"], 8 * kMiB);
    EXPECT_EQ(device(1)["fill_launches"], 1);
    EXPECT_EQ(device(1)["last_kernel_elements"], 2097152);
    EXPECT_EQ(device(1)["syncs"], 1);
    for (int i = 0; i < 40; ++i)
      session->launch_pass();
    session->synchronize();
    EXPECT_EQ(device(1)["relu_launches"], 40);
    // One event per 16 launches; the third chunk waited for the first.
    EXPECT_EQ(device(1)["event_syncs"], 0);
    EXPECT_EQ(device(1)["copies"], 0);
  }
  EXPECT_EQ(device(1)["allocated_bytes"], 0);
  EXPECT_EQ(device(1)["frees"], 1);
  EXPECT_EQ(state()["cuda"]["modules"], 0);
  EXPECT_EQ(state()["cuda"]["events"], 0);
  EXPECT_EQ(state()["hiprtc"]["programs_live"], 0);
}

TEST_F(RocmSessionTest, WorkInFlightIsBoundedByEvents) {
  scenario(gpu::testing::mock_devices(1));
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  session->allocate(1024);
  const unsigned per_chunk = RocmSession::kLaunchesPerChunk;
  for (unsigned i = 0; i < per_chunk * 4; ++i)
    session->launch_pass();
  // Chunks 1 and 2 recorded events; chunks 3 and 4 each first waited for the chunk two back.
  EXPECT_EQ(device(0)["event_syncs"], 2);
}

TEST_F(RocmSessionTest, OneCompilePerArchitecture) {
  scenario(gpu::testing::mock_devices(2));
  RocmBackend backend = fake_backend();
  auto a = backend.open(0);
  auto b = backend.open(1);
  a.reset();
  auto c = backend.open(0);
  EXPECT_EQ(state()["hiprtc"]["compiles"], 1);
}

TEST_F(RocmSessionTest, WithoutHiprtcCopiesMoveTheSameBytes) {
  scenario(gpu::testing::mock_devices(1));
  RocmBackend backend(fake_hip, no_hiprtc, fake_rsmi);
  auto session = backend.open(0);
  EXPECT_FALSE(dynamic_cast<RocmSession&>(*session).uses_kernels());
  session->allocate(1000);
  EXPECT_EQ(device(0)["memsets"], 1);
  EXPECT_EQ(device(0)["fill_launches"], 0);
  session->launch_pass();
  session->launch_pass();
  session->synchronize();
  // Each pass copies half onto half and back: 4 bytes read and written per element.
  EXPECT_EQ(device(0)["copies"], 4);
  EXPECT_EQ(device(0)["copy_bytes"], 4 * 500 * 4);
  EXPECT_EQ(device(0)["relu_launches"], 0);
  EXPECT_EQ(state()["cuda"]["modules"], 0);
}

TEST_F(RocmSessionTest, CompileFailureFallsBackToCopies) {
  scenario(gpu::testing::mock_devices(1), json::object(),
           {{"hiprtc", {{"compile_error", 6}, {"log", "error: unknown target 'gfx90a'"}}}});
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  EXPECT_FALSE(dynamic_cast<RocmSession&>(*session).uses_kernels());
  EXPECT_EQ(state()["hiprtc"]["programs_live"], 0);
  session->allocate(64);
  session->launch_pass();
  EXPECT_EQ(device(0)["copies"], 2);
}

TEST_F(RocmSessionTest, CodeThatDoesNotSuitTheDeviceFallsBackToCopies) {
  scenario(gpu::testing::mock_devices(1), {{"faults", {{"0", {{"module_load_error", 209}}}}}});
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  EXPECT_FALSE(dynamic_cast<RocmSession&>(*session).uses_kernels());
}

TEST_F(RocmSessionTest, KernelsLoadedForAFeaturelessTargetToo) {
  // A runtime before ROCm 6 gives no gcnArchName through R0600; the fake HIP always does, so this
  // checks the fake's rule that plain "gfx90a" code runs on "gfx90a:sramecc+:xnack-".
  scenario(gpu::testing::mock_devices(1));
  std::vector<char> code = compile_keepalive(*fake_hiprtc(), std::string("gfx90a"));
  const std::string text(code.data());
  EXPECT_THAT(text, HasSubstr("arch gfx90a\n"));
  EXPECT_THAT(text, HasSubstr("entry keepgpu_fill\n"));
  EXPECT_THAT(text, HasSubstr("entry keepgpu_relu\n"));
  ASSERT_EQ(fake_hip()->hipSetDevice(0), kHipSuccess);
  auto ops = make_kernel_ops(fake_hip(), code);
  EXPECT_EQ(state()["cuda"]["modules"], 1);
  ops.reset();
  EXPECT_EQ(state()["cuda"]["modules"], 0);
  // Another processor's code does not load.
  code = compile_keepalive(*fake_hiprtc(), std::string("gfx1100"));
  EXPECT_THAT([&] { make_kernel_ops(fake_hip(), code); },
              ::testing::ThrowsMessage<GpuError>(HasSubstr("hipErrorNoBinaryForGpu")));
}

TEST_F(RocmSessionTest, OutOfMemoryIsClassified) {
  scenario(gpu::testing::mock_devices(1),
           {{"faults", {{"0", {{"alloc_script", {"oom", "error:999"}}}}}}});
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  try {
    session->allocate(1024);
    FAIL() << "expected OOM";
  } catch (const GpuError& e) {
    EXPECT_TRUE(e.out_of_memory());
    EXPECT_EQ(e.code(), kHipErrorOutOfMemory);
    EXPECT_THAT(e.what(), HasSubstr("out of memory (hipErrorOutOfMemory, code 2) in hipMalloc"));
  }
  try {
    session->allocate(1024);
    FAIL() << "expected a failure";
  } catch (const GpuError& e) {
    EXPECT_FALSE(e.out_of_memory());
    EXPECT_THAT(e.what(), HasSubstr("unknown error (hipErrorUnknown, code 999) in hipMalloc"));
  }
  session->allocate(1024);
  EXPECT_EQ(device(0)["allocated_bytes"], 4096);
}

TEST_F(RocmSessionTest, MoreThanTheDeviceHoldsIsOutOfMemory) {
  json devices = gpu::testing::mock_devices(1);
  devices[0]["total_memory"] = 1 * kGiB;
  devices[0]["foreign_used"] = 900 * kMiB;
  scenario(devices);
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  const MemoryInfo memory = session->memory_info();
  EXPECT_EQ(memory.total, kGiB);
  EXPECT_EQ(memory.free, 124 * kMiB);
  try {
    session->allocate(256 * kMiB / 4);
    FAIL() << "expected OOM";
  } catch (const GpuError& e) {
    EXPECT_TRUE(e.out_of_memory());
  }
}

TEST_F(RocmSessionTest, FatalLaunchAndSyncErrors) {
  scenario(gpu::testing::mock_devices(1),
           {{"faults", {{"0", {{"launch_error", 700}, {"launch_error_after", 2}}}}}});
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  session->allocate(1024);  // the fill launch is the first
  session->launch_pass();
  try {
    session->launch_pass();
    FAIL() << "expected a launch failure";
  } catch (const GpuError& e) {
    EXPECT_FALSE(e.out_of_memory());
    EXPECT_THAT(e.what(), HasSubstr("an illegal memory access was encountered"));
  }
  EXPECT_EQ(device(0)["launch_errors"], 1);

  scenario(gpu::testing::mock_devices(1), {{"faults", {{"0", {{"sync_error", 2}}}}}});
  auto other = backend.open(0);
  try {
    other->allocate(1024);  // the fill is synchronised
    FAIL() << "expected an OOM from the synchronisation";
  } catch (const GpuError& e) {
    EXPECT_TRUE(e.out_of_memory());
  }
  EXPECT_EQ(device(0)["allocated_bytes"], 0) << "a failed fill frees the buffer";
}

TEST_F(RocmSessionTest, RefusedFreeKeepsTheBufferUntilCloseSucceeds) {
  const json devices = gpu::testing::mock_devices(1);
  scenario(devices);
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  session->allocate(1024);
  FakeGpu::instance().update(
      {{"devices", devices}, {"hip", {{"faults", {{"0", {{"free_error", 999}}}}}}}});
  EXPECT_THAT([&] { session->close(); }, ::testing::ThrowsMessage<GpuError>(HasSubstr("hipFree")));
  EXPECT_EQ(session->allocated_elements(), 1024u);
  EXPECT_EQ(device(0)["allocated_bytes"], 4096);
  EXPECT_EQ(backend.smi().users(), 1) << "the session still holds its ROCm SMI lease";

  FakeGpu::instance().update({{"devices", devices}, {"hip", json::object()}});
  session->close();
  EXPECT_EQ(session->allocated_elements(), 0u);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
  EXPECT_EQ(backend.smi().users(), 0);
}

TEST_F(RocmSessionTest, LaunchWithoutBufferIsRejected) {
  scenario(gpu::testing::mock_devices(1));
  RocmBackend backend = fake_backend();
  auto session = backend.open(0);
  EXPECT_THROW(session->launch_pass(), GpuError);
  EXPECT_THROW(session->allocate(0), GpuError);
}

}  // namespace
}  // namespace keepgpu::gpu::rocm
