// The NVML utilization monitor against the fake NVML.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "fake_gpu.hpp"
#include "gpu/backend.hpp"
#include "gpu/nvml/nvml_telemetry.hpp"

namespace keepgpu::gpu::nvml {
namespace {

using json = keepgpu::core::Json;
using testing::FakeGpu;
using testing::ScopedEnv;

class NvmlMonitorTest : public ::testing::Test {
 protected:
  // Eight devices; device i has utilization 40 + i unless a test says otherwise.
  void scenario(json devices, json nvml = json::object()) {
    FakeGpu::instance().reset({{"devices", std::move(devices)}, {"nvml", std::move(nvml)}});
  }
  void scenario() { scenario(testing::mock_devices(8)); }

  std::vector<unsigned> handle_calls() {
    return FakeGpu::instance()
        .state()["nvml"]["handle_by_index_calls"]
        .get<std::vector<unsigned>>();
  }
  int uuid_calls() { return FakeGpu::instance().state()["nvml"]["handle_by_uuid_calls"]; }
  int init_calls() { return FakeGpu::instance().state()["nvml"]["init_calls"]; }

  // A query with CUDA_VISIBLE_DEVICES set to `mask` on a fresh monitor.
  std::optional<double> query(const char* mask, int ordinal) {
    ScopedEnv env("CUDA_VISIBLE_DEVICES", mask);
    NvmlTelemetry telemetry;
    return telemetry.utilization(ordinal);
  }

  ScopedEnv no_mask_{"CUDA_VISIBLE_DEVICES", std::nullopt};
};

// 81
TEST_F(NvmlMonitorTest, LibraryAbsentMeansUnavailable) {
  scenario();
  NvmlTelemetry telemetry([] { return NvmlApi::load("/nonexistent/libnvidia-ml.so.1"); });
  EXPECT_FALSE(telemetry.utilization(0));
  EXPECT_EQ(init_calls(), 0);
}

// 82
TEST_F(NvmlMonitorTest, UnsetMaskQueriesByIndexWithOneInit) {
  json devices = testing::mock_devices(3);
  for (auto& device : devices)
    device["utilization"] = 73;
  scenario(devices);
  NvmlTelemetry telemetry;
  EXPECT_EQ(telemetry.utilization(1), 73.0);
  EXPECT_EQ(telemetry.utilization(2), 73.0);
  EXPECT_EQ(init_calls(), 1);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{1, 2}));
}

// 83
TEST_F(NvmlMonitorTest, OutOfRangeUtilizationIsUnavailable) {
  for (int value : {-1, 101}) {
    json devices = testing::mock_devices(1);
    devices[0]["utilization"] = value;
    scenario(devices);
    NvmlTelemetry telemetry;
    EXPECT_FALSE(telemetry.utilization(0)) << value;
    EXPECT_EQ(handle_calls(), std::vector<unsigned>{0}) << value;
  }
}

// 84
TEST_F(NvmlMonitorTest, ReinitialisesAfterAnExternalShutdown) {
  json devices = testing::mock_devices(2);
  for (auto& device : devices)
    device["utilization"] = 73;
  scenario(devices, {{"requires_init", true}});
  NvmlTelemetry telemetry;
  EXPECT_EQ(telemetry.utilization(0), 73.0);
  FakeGpu::instance().external_nvml_shutdown();
  EXPECT_EQ(telemetry.utilization(1), 73.0);
  EXPECT_EQ(init_calls(), 2);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 1}));
}

// 85
TEST_F(NvmlMonitorTest, InitFailureAndHandleErrors) {
  scenario(testing::mock_devices(2), {{"init_error", 999}});
  {
    NvmlTelemetry telemetry;
    EXPECT_FALSE(telemetry.utilization(0));
  }
  scenario(testing::mock_devices(2), {{"handle_errors", {{"0", 999}}}});
  NvmlTelemetry telemetry;
  EXPECT_FALSE(telemetry.utilization(0));
  EXPECT_EQ(init_calls(), 1);  // no re-init for an ordinary error
  EXPECT_EQ(telemetry.utilization(1), 41.0);
  EXPECT_EQ(init_calls(), 1);
}

// 86
TEST_F(NvmlMonitorTest, MaskMapsOrdinalsToNvmlIndices) {
  scenario();
  EXPECT_EQ(query("3, 5", 1), 45.0);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{3, 5}));
  EXPECT_EQ(uuid_calls(), 0);
}

// 87-91
TEST_F(NvmlMonitorTest, MalformedOrOutOfRangeMasksMakeNoCalls) {
  const std::vector<std::pair<std::string, int>> cases = {
      {"3,5", 2},
      {"0,0", 0},
      {"0,00", 0},
      {"GPU-abc123,GPU-abc123", 0},
      {"GPU-abc123,gpu-abc123", 0},
      {"\xc2\xb2", 0},
      {"GPU-\xc2\xb2", 0},
      {std::string(100, '1'), 0},
      {"0,,", 0},
      {"0,,2", 0},
      {"3,,5", 0},
      {"0,-1,2", 2},
      {"-1,0", 0},
      {"0,99,2", 0},
  };
  for (const auto& [mask, ordinal] : cases) {
    scenario();
    EXPECT_FALSE(query(mask.c_str(), ordinal)) << mask;
    EXPECT_TRUE(handle_calls().empty()) << mask;
    EXPECT_EQ(uuid_calls(), 0) << mask;
  }
}

// 90
TEST_F(NvmlMonitorTest, TruncatedMaskStillResolves) {
  scenario();
  EXPECT_EQ(query("0,2,-1,1", 1), 42.0);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 2}));
}

// 92
TEST_F(NvmlMonitorTest, UnknownUuidScansEveryDevice) {
  scenario();
  EXPECT_FALSE(query("0,GPU-typo", 0));
  EXPECT_EQ(uuid_calls(), 1);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7}));
}

// 93
TEST_F(NvmlMonitorTest, AliasedTokensAreUnavailable) {
  scenario(testing::mock_devices(8), {{"uuid_map", {{"GPU-zero", 0}}}});
  EXPECT_FALSE(query("0,GPU-zero", 0));
  EXPECT_FALSE(query("0,GPU-zero", 1));
}

// 94
TEST_F(NvmlMonitorTest, MissingUuidEntryPointMeansNoCalls) {
  json devices = testing::mock_devices(4);
  devices[0]["uuid"] = "GPU-abc123";
  scenario(devices);
  ScopedEnv env("CUDA_VISIBLE_DEVICES", "GPU-abc123");
  NvmlTelemetry telemetry([] { return NvmlApi::load(testing::kFakeNvmlMinimal); });
  EXPECT_FALSE(telemetry.utilization(0));
  EXPECT_TRUE(handle_calls().empty());
  EXPECT_EQ(uuid_calls(), 0);
}

// 95
TEST_F(NvmlMonitorTest, DirectUuidHit) {
  json devices = testing::mock_devices(4);
  devices[2]["utilization"] = 42;
  scenario(devices, {{"uuid_map", {{"GPU-abc123", 2}}}});
  EXPECT_EQ(query("GPU-abc123", 0), 42.0);
  EXPECT_TRUE(handle_calls().empty());
  EXPECT_EQ(uuid_calls(), 1);
}

// 96
TEST_F(NvmlMonitorTest, UniqueCaseInsensitivePrefix) {
  json devices = testing::mock_devices(4);
  devices[2]["uuid"] = "GPU-abc123-dead-beef";
  scenario(devices);
  EXPECT_EQ(query("GPU-abc123", 0), 42.0);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 1, 2, 3}));
  scenario(devices);
  EXPECT_EQ(query("gpu-ABC123", 0), 42.0);

  devices[1]["uuid"] = "GPU-abc123-other";
  scenario(devices);
  EXPECT_FALSE(query("GPU-abc123", 0));
}

// 97
TEST_F(NvmlMonitorTest, UnresolvedUuidSpoilsAValidNumericToken) {
  scenario(testing::mock_devices(4));
  EXPECT_FALSE(query("GPU-abc123,2", 1));
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 1, 2, 3}));
}

// 98
TEST_F(NvmlMonitorTest, ReinitialisesFromInsideTheUuidLookup) {
  json devices = testing::mock_devices(4);
  devices[2]["utilization"] = 42;
  scenario(devices, {{"requires_init", true}, {"uuid_map", {{"GPU-abc123", 2}}}});
  ScopedEnv env("CUDA_VISIBLE_DEVICES", "GPU-abc123");
  NvmlTelemetry telemetry;
  EXPECT_EQ(telemetry.utilization(0), 42.0);
  FakeGpu::instance().external_nvml_shutdown();
  EXPECT_EQ(telemetry.utilization(0), 42.0);
  EXPECT_EQ(init_calls(), 2);
  EXPECT_EQ(uuid_calls(), 2);  // rejected calls are not counted by the fake
}

TEST_F(NvmlMonitorTest, AtMostTwoAttempts) {
  // A library whose utilization call always answers "uninitialised": one re-init, then give up.
  scenario(testing::mock_devices(2));
  NvmlTelemetry telemetry([] {
    auto api = std::make_shared<NvmlApi>(*NvmlApi::shared());
    api->nvmlDeviceGetUtilizationRates = [](nvmlDevice_t, nvmlUtilization_t*) {
      return kErrorUninitialized;
    };
    return std::shared_ptr<const NvmlApi>(api);
  });
  EXPECT_FALSE(telemetry.utilization(0));
  EXPECT_EQ(init_calls(), 2);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 0}));
}

TEST_F(NvmlMonitorTest, ShutsDownOnceWhenDestroyed) {
  scenario();
  {
    NvmlTelemetry telemetry;
    EXPECT_EQ(telemetry.utilization(0), 40.0);
    EXPECT_EQ(telemetry.utilization(1), 41.0);
    EXPECT_EQ(FakeGpu::instance().state()["nvml"]["init_refcount"], 1);
  }
  const json state = FakeGpu::instance().state()["nvml"];
  EXPECT_EQ(state["init_calls"], 1);
  EXPECT_EQ(state["shutdown_calls"], 1);
  EXPECT_EQ(state["init_refcount"], 0);
}

TEST_F(NvmlMonitorTest, ConcurrentFirstQueriesInitialiseOnce) {
  scenario();
  NvmlTelemetry telemetry;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&telemetry, t] {
      for (int i = 0; i < 50; ++i)
        EXPECT_EQ(telemetry.utilization(t), 40.0 + t);
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(init_calls(), 1);
}

TEST_F(NvmlMonitorTest, UtilizationScriptIsFollowed) {
  json devices = testing::mock_devices(1);
  devices[0]["utilization_script"] = json::array({json::array({0.0, 100}), json::array({0.2, 0})});
  scenario(devices);
  NvmlTelemetry telemetry;
  EXPECT_EQ(telemetry.utilization(0), 100.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(telemetry.utilization(0), 0.0);
}

}  // namespace
}  // namespace keepgpu::gpu::nvml
