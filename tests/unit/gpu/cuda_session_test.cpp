// CudaBackend and CudaSession against the fake CUDA driver: context lifetime, allocation, kernel
// launches, bounded work in flight, error classification.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "core/errors.hpp"
#include "fake_gpu.hpp"
#include "gpu/cuda/cuda_backend.hpp"
#include "gpu/cuda/cuda_session.hpp"

namespace keepgpu::gpu::cuda {
namespace {

using json = keepgpu::core::Json;
using testing::FakeGpu;
using ::testing::HasSubstr;
using testing::ScopedEnv;

constexpr std::uint64_t kGiB = 1ULL << 30;

class CudaSessionTest : public ::testing::Test {
 protected:
  void scenario(json devices, json cuda = json::object()) {
    FakeGpu::instance().reset({{"devices", std::move(devices)}, {"cuda", std::move(cuda)}});
  }
  json device(int physical) { return FakeGpu::instance().state()["devices"][physical]; }

  ScopedEnv no_mask_{"CUDA_VISIBLE_DEVICES", std::nullopt};
  CudaBackend backend_;
};

TEST_F(CudaSessionTest, BackendBasics) {
  scenario(testing::mock_devices(3));
  EXPECT_EQ(backend_.platform(), Platform::cuda);
  EXPECT_EQ(backend_.device_count(), 3);
  ScopedEnv env("CUDA_VISIBLE_DEVICES", "2");
  scenario(testing::mock_devices(3));  // the fake driver reads the mask at the next cuInit
  EXPECT_EQ(backend_.device_count(), 1);
}

TEST_F(CudaSessionTest, DeviceCountZeroWhenThereIsNoDevice) {
  scenario(testing::mock_devices(2), {{"init_error", 100}});
  EXPECT_EQ(backend_.device_count(), 0);
  scenario(testing::mock_devices(2), {{"init_error", 3}});
  EXPECT_EQ(backend_.device_count(), 0);
  ScopedEnv env("CUDA_VISIBLE_DEVICES", "");
  scenario(testing::mock_devices(2));
  EXPECT_EQ(backend_.device_count(), 0);
}

TEST_F(CudaSessionTest, DeviceCountFailuresAreEnumerationErrors) {
  scenario(testing::mock_devices(2), {{"device_count_error", 999}});
  EXPECT_THAT([&] { backend_.device_count(); },
              ::testing::ThrowsMessage<DeviceEnumerationUnavailableError>(::testing::StartsWith(
                  "Unable to enumerate visible GPUs: unknown error (CUDA_ERROR_UNKNOWN")));
  scenario(testing::mock_devices(2), {{"init_error", 999}});
  EXPECT_THROW(backend_.device_count(), DeviceEnumerationUnavailableError);
}

TEST_F(CudaSessionTest, MissingDriver) {
  CudaBackend backend([] { return CudaApi::load("/nonexistent/libcuda.so.1"); },
                      [] { return nvml::NvmlApi::load("/nonexistent/libnvidia-ml.so.1"); });
  EXPECT_EQ(backend.device_count(), 0);
  EXPECT_THAT([&] { backend.open(0); },
              ::testing::ThrowsMessage<LibraryError>(HasSubstr("/nonexistent/libcuda.so.1")));
  EXPECT_FALSE(backend.telemetry().utilization(0));
  EXPECT_TRUE(backend.telemetry().list_gpus().empty());
}

TEST_F(CudaSessionTest, AllocateFillsExactBytesAndDestructorReturnsEverything) {
  json devices = testing::mock_devices(1);
  devices[0]["context_bytes"] = 300 << 20;
  scenario(devices);
  {
    auto session = backend_.open(0);
    EXPECT_EQ(device(0)["contexts_live"], 1);
    session->allocate(2097152);  // 8 MiB
    EXPECT_EQ(session->allocated_elements(), 2097152u);
    const json d = device(0);
    EXPECT_EQ(d["allocated_bytes"], 8388608);
    EXPECT_EQ(d["allocations"], 1);
    EXPECT_EQ(d["fill_launches"], 1);
    EXPECT_EQ(d["last_kernel_elements"], 2097152);
    EXPECT_EQ(d["last_block"], json::array({256, 1, 1}));
    EXPECT_EQ(d["last_grid"], json::array({8192, 1, 1}));
    EXPECT_GE(d["syncs"], 1);  // the fill is complete before allocate() returns

    const MemoryInfo info = session->memory_info();
    EXPECT_EQ(info.total, 16 * kGiB);
    EXPECT_EQ(info.free, 16 * kGiB - 8388608 - (300 << 20));
  }
  const json d = device(0);
  EXPECT_EQ(d["contexts_live"], 0);
  EXPECT_EQ(d["allocated_bytes"], 0);
  EXPECT_EQ(d["frees"], 1);
  EXPECT_EQ(d["context_retains"], 1);
  EXPECT_EQ(d["context_releases"], 1);
  const json cuda = FakeGpu::instance().state()["cuda"];
  EXPECT_EQ(cuda["modules"], 0);
  EXPECT_EQ(cuda["events"], 0);
}

TEST_F(CudaSessionTest, FreeBufferAndReallocate) {
  scenario(testing::mock_devices(1));
  auto session = backend_.open(0);
  session->allocate(1024);
  session->free_buffer();
  session->free_buffer();  // idempotent
  EXPECT_EQ(session->allocated_elements(), 0u);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
  EXPECT_THROW(session->launch_pass(), GpuError);
  session->allocate(2048);
  session->allocate(4096);  // replaces the previous buffer
  EXPECT_EQ(device(0)["allocated_bytes"], 4096 * 4);
  EXPECT_EQ(device(0)["frees"], 2);
}

TEST_F(CudaSessionTest, RefusedFreeKeepsTheBufferAndCloseResumesWhereItStopped) {
  scenario(testing::mock_devices(1));
  auto session = backend_.open(0);
  session->allocate(1024);
  const json devices = testing::mock_devices(1);
  FakeGpu::instance().update(
      {{"devices", devices}, {"cuda", {{"faults", {{"0", {{"free_error", 999}}}}}}}});
  EXPECT_THAT([&] { session->close(); },
              ::testing::ThrowsMessage<GpuError>(HasSubstr("cuMemFree_v2")));
  EXPECT_EQ(session->allocated_elements(), 1024u) << "still held, still counted";
  EXPECT_EQ(device(0)["allocated_bytes"], 4096);
  EXPECT_EQ(device(0)["contexts_live"], 1) << "the context is not released under a live buffer";

  FakeGpu::instance().update(
      {{"devices", devices}, {"cuda", {{"faults", {{"0", {{"release_error", 999}}}}}}}});
  EXPECT_THAT([&] { session->close(); },
              ::testing::ThrowsMessage<GpuError>(HasSubstr("cuDevicePrimaryCtxRelease")));
  EXPECT_EQ(session->allocated_elements(), 0u);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
  EXPECT_EQ(device(0)["contexts_live"], 1);

  FakeGpu::instance().update({{"devices", devices}});
  session->close();
  session->close();  // nothing left: a no-op
  EXPECT_EQ(device(0)["contexts_live"], 0);
  EXPECT_EQ(device(0)["frees"], 1);
  EXPECT_EQ(device(0)["context_releases"], 1);
  const json cuda = FakeGpu::instance().state()["cuda"];
  EXPECT_EQ(cuda["modules"], 0);
  EXPECT_EQ(cuda["events"], 0);
}

TEST_F(CudaSessionTest, HugeBufferUses64BitCounts) {
  json devices = testing::mock_devices(1);
  devices[0]["total_memory"] = 64 * kGiB;
  scenario(devices);
  auto session = backend_.open(0);
  const std::uint64_t elements = 1ULL << 32;
  session->allocate(elements);
  session->launch_pass();
  session->synchronize();
  const json d = device(0);
  EXPECT_EQ(d["allocated_bytes"], 1ULL << 34);
  EXPECT_EQ(d["last_kernel_elements"], elements);
  EXPECT_EQ(d["relu_launches"], 1);
  EXPECT_EQ(d["last_grid"], json::array({65535, 1, 1}));
}

TEST_F(CudaSessionTest, SpinIsOneWarpOfTheTimedKernelWithoutAnyBuffer) {
  scenario(testing::mock_devices(1));
  auto session = backend_.open(0);
  session->launch_spin(10'000'000);
  session->launch_spin(20'000'000);
  const json d = device(0);
  EXPECT_EQ(d["spin_launches"], 2);
  EXPECT_EQ(d["spin_ns"], 30'000'000);
  EXPECT_EQ(d["last_grid"], json::array({1, 1, 1}));
  EXPECT_EQ(d["last_block"], json::array({32, 1, 1}));
  EXPECT_EQ(d["allocations"], 0) << "the spin needs no memory";
  EXPECT_EQ(d["relu_launches"], 0);
}

TEST_F(CudaSessionTest, OutOfMemoryIsClassified) {
  json devices = testing::mock_devices(1);
  devices[0]["total_memory"] = 1 << 20;
  scenario(devices);
  auto session = backend_.open(0);
  try {
    session->allocate(1 << 20);  // 4 MiB on a 1 MiB device
    FAIL() << "allocation succeeded";
  } catch (const GpuError& e) {
    EXPECT_TRUE(e.out_of_memory());
    EXPECT_EQ(e.code(), 2);
    EXPECT_THAT(e.what(), HasSubstr("out of memory"));
    EXPECT_THAT(e.what(), HasSubstr("cuMemAlloc_v2"));
  }
  EXPECT_EQ(session->allocated_elements(), 0u);
}

TEST_F(CudaSessionTest, ScriptedAllocationResults) {
  scenario(testing::mock_devices(1),
           {{"faults", {{"0", {{"alloc_script", json::array({"oom", "error:999", "ok"})}}}}}});
  auto session = backend_.open(0);
  try {
    session->allocate(256);
    FAIL();
  } catch (const GpuError& e) {
    EXPECT_TRUE(e.out_of_memory());
  }
  try {
    session->allocate(256);
    FAIL();
  } catch (const GpuError& e) {
    EXPECT_FALSE(e.out_of_memory());
    EXPECT_EQ(e.code(), 999);
    EXPECT_THAT(e.what(), HasSubstr("unknown error"));
  }
  session->allocate(256);
  EXPECT_EQ(device(0)["allocated_bytes"], 1024);
}

TEST_F(CudaSessionTest, FailedFillFreesTheBuffer) {
  scenario(testing::mock_devices(1), {{"faults", {{"0", {{"launch_error", 700}}}}}});
  auto session = backend_.open(0);
  try {
    session->allocate(1024);
    FAIL();
  } catch (const GpuError& e) {
    EXPECT_EQ(e.code(), 700);
    EXPECT_THAT(e.what(), HasSubstr("an illegal memory access was encountered"));
    EXPECT_THAT(e.what(), HasSubstr("keepgpu_fill"));
  }
  EXPECT_EQ(session->allocated_elements(), 0u);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
}

TEST_F(CudaSessionTest, FailedSyncFreesTheBuffer) {
  scenario(testing::mock_devices(1), {{"faults", {{"0", {{"sync_error", 999}}}}}});
  auto session = backend_.open(0);
  EXPECT_THROW(session->allocate(1024), GpuError);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
}

TEST_F(CudaSessionTest, ReluLaunchesAreBoundedByEvents) {
  scenario(testing::mock_devices(1));
  auto session = backend_.open(0);
  session->allocate(4096);
  for (int i = 0; i < 100; ++i)
    session->launch_pass();
  json d = device(0);
  EXPECT_EQ(d["relu_launches"], 100);
  EXPECT_EQ(d["last_kernel_elements"], 4096);
  // Chunk marks after launches 16, 32, ..., 96: the 3rd..6th each wait for the mark two back.
  EXPECT_EQ(d["event_syncs"], 4);
  const auto syncs_before = d["syncs"].get<int>();
  session->synchronize();
  d = device(0);
  EXPECT_EQ(d["syncs"], syncs_before + 1);
  // After a full sync the old marks are known complete: no extra waits for the next two chunks.
  for (int i = 0; i < 32; ++i)
    session->launch_pass();
  EXPECT_EQ(device(0)["event_syncs"], 4);
  for (int i = 0; i < 16; ++i)
    session->launch_pass();
  EXPECT_EQ(device(0)["event_syncs"], 5);
}

TEST_F(CudaSessionTest, ChunkWaitBlocksOnSlowDevice) {
  // Event waits take as long as the device is slow: the host cannot run ahead by more than two
  // chunks of launches.
  scenario(testing::mock_devices(1), {{"faults", {{"0", {{"sync_delay_ms", 20}}}}}});
  auto session = backend_.open(0);
  session->allocate(256);
  const auto start = std::chrono::steady_clock::now();
  for (unsigned i = 0; i < 5 * CudaSession::kLaunchesPerChunk; ++i)
    session->launch_pass();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(3 * 20));
}

TEST_F(CudaSessionTest, LaunchErrorsSurface) {
  scenario(testing::mock_devices(1),
           {{"faults", {{"0", {{"launch_error", 700}, {"launch_error_after", 3}}}}}});
  auto session = backend_.open(0);
  session->allocate(1024);  // launch 1: the fill
  session->launch_pass();
  session->launch_pass();
  EXPECT_THAT([&] { session->launch_pass(); },
              ::testing::ThrowsMessage<GpuError>(HasSubstr("an illegal memory access")));
}

TEST_F(CudaSessionTest, OpenFailuresReleaseTheContext) {
  scenario(testing::mock_devices(1), {{"faults", {{"0", {{"ctx_error", 999}}}}}});
  EXPECT_THAT([&] { backend_.open(0); },
              ::testing::ThrowsMessage<GpuError>(HasSubstr("cuDevicePrimaryCtxRetain")));
  EXPECT_EQ(device(0)["contexts_live"], 0);

  scenario(testing::mock_devices(2));
  EXPECT_THAT([&] { backend_.open(5); },
              ::testing::ThrowsMessage<GpuError>(HasSubstr("invalid device ordinal")));
}

TEST_F(CudaSessionTest, JitFailureQuotesTheJitLog) {
  scenario(testing::mock_devices(1), {{"faults", {{"0", {{"module_load_error", 218}}}}}});
  try {
    backend_.open(0);
    FAIL() << "module loaded";
  } catch (const GpuError& e) {
    EXPECT_EQ(e.code(), 218);
    EXPECT_THAT(e.what(), HasSubstr("a PTX JIT compilation failed"));
    EXPECT_THAT(e.what(), HasSubstr("cuModuleLoadDataEx"));
    EXPECT_THAT(e.what(), HasSubstr("JIT log: ptxas fatal"));
    EXPECT_THAT(e.what(), HasSubstr("injected module_load_error 218"));
  }
  const json d = device(0);
  EXPECT_EQ(d["contexts_live"], 0);
  EXPECT_EQ(d["context_releases"], 1);
}

TEST_F(CudaSessionTest, SessionsOnTwoDevicesAreIndependent) {
  scenario(testing::mock_devices(2));
  auto first = backend_.open(0);
  auto second = backend_.open(1);
  first->allocate(1024);
  second->allocate(2048);
  second->launch_pass();
  first.reset();
  EXPECT_EQ(device(0)["contexts_live"], 0);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
  EXPECT_EQ(device(1)["contexts_live"], 1);
  EXPECT_EQ(device(1)["allocated_bytes"], 8192);
  second->launch_pass();
  second->synchronize();
}

TEST_F(CudaSessionTest, SessionMayBeUsedAndDestroyedFromAnotherThread) {
  scenario(testing::mock_devices(1));
  auto session = backend_.open(0);
  session->allocate(1024);
  std::thread([&] {
    session->launch_pass();
    session->synchronize();
    session.reset();
  }).join();
  EXPECT_EQ(device(0)["contexts_live"], 0);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
}

TEST_F(CudaSessionTest, MaskedOrdinalsOpenThePhysicalDevice) {
  ScopedEnv env("CUDA_VISIBLE_DEVICES", "2,0");
  scenario(testing::mock_devices(3));
  auto session = backend_.open(0);
  session->allocate(256);
  EXPECT_EQ(device(2)["allocated_bytes"], 1024);
  EXPECT_EQ(device(0)["allocated_bytes"], 0);
}

}  // namespace
}  // namespace keepgpu::gpu::cuda
