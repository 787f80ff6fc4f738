// The CUDA-platform device listing against the fake NVML and CUDA driver.
//
// Where this port deliberately differs from upstream (documented in gpu/nvml/nvml_listing.hpp):
// the listing never creates a CUDA context. Upstream's "device selections" (torch.cuda.set_device)
// become cuDeviceGet calls without any save/restore of a current device, so the checks below look
// at cuDeviceGet calls and assert that no context was ever retained; and the runtime fallback
// reports memory_total from cuDeviceTotalMem with memory_used unknown instead of cuMemGetInfo
// figures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "core/errors.hpp"
#include "fake_gpu.hpp"
#include "gpu/backend.hpp"
#include "gpu/nvml/nvml_telemetry.hpp"

namespace keepgpu::gpu::nvml {
namespace {

using json = keepgpu::core::Json;
using testing::FakeGpu;
using testing::ScopedEnv;

constexpr std::uint64_t k16GiB = 17179869184ULL;

std::shared_ptr<const NvmlApi> no_nvml() {
  return NvmlApi::load("/nonexistent/libnvidia-ml.so.1");
}
std::shared_ptr<const cuda::CudaApi> no_cuda() {
  return cuda::CudaApi::load("/nonexistent/libcuda.so.1");
}

class NvmlListingTest : public ::testing::Test {
 protected:
  void scenario(json devices, json nvml = json::object(), json cuda = json::object()) {
    FakeGpu::instance().reset(
        {{"devices", std::move(devices)}, {"nvml", std::move(nvml)}, {"cuda", std::move(cuda)}});
  }

  std::vector<GpuInfo> list(const char* mask) {
    ScopedEnv env("CUDA_VISIBLE_DEVICES",
                  mask == nullptr ? std::nullopt : std::optional<std::string>(mask));
    return telemetry_.list_gpus();
  }

  json nvml_state() { return FakeGpu::instance().state()["nvml"]; }
  std::vector<unsigned> handle_calls() {
    return nvml_state()["handle_by_index_calls"].get<std::vector<unsigned>>();
  }
  std::vector<int> device_get_calls() {
    return FakeGpu::instance().state()["cuda"]["device_get_calls"].get<std::vector<int>>();
  }
  // Listing must never create a context (a context costs hundreds of MiB of VRAM).
  void expect_no_context() {
    const json state = FakeGpu::instance().state();
    EXPECT_TRUE(state["cuda"]["ctx_retain_calls"].empty());
    for (const auto& device : state["devices"])
      EXPECT_EQ(device["contexts_live"], 0);
  }

  NvmlTelemetry telemetry_;
};

std::vector<int> physical_ids(const std::vector<GpuInfo>& records) {
  std::vector<int> out;
  for (const auto& r : records)
    out.push_back(r.physical_id.value_or(-1));
  return out;
}

// 99
TEST_F(NvmlListingTest, SingleDeviceRecord) {
  scenario(json::array({{{"name", "Mock GPU"},
                         {"uuid", "GPU-mock-0"},
                         {"total_memory", 2048},
                         {"foreign_used", 1024},
                         {"utilization", 55},
                         {"power_mw", 71500},
                         {"temperature", 43}}}));
  const auto records = list(nullptr);
  ASSERT_EQ(records.size(), 1u);
  const GpuInfo& r = records[0];
  EXPECT_EQ(r.id, 0);
  EXPECT_EQ(r.visible_id, 0);
  EXPECT_EQ(r.platform, "cuda");
  EXPECT_EQ(r.name, "Mock GPU");
  EXPECT_EQ(r.memory_total, 2048u);
  EXPECT_EQ(r.memory_used, 1024u);
  EXPECT_EQ(r.utilization, 55);
  EXPECT_EQ(r.physical_id, 0);
  EXPECT_EQ(r.uuid, "GPU-mock-0");
  EXPECT_EQ(r.power_watts, 71.5);
  EXPECT_EQ(r.temperature_c, 43);
  EXPECT_EQ(nvml_state()["init_calls"], 1);
  EXPECT_EQ(nvml_state()["shutdown_calls"], 1);
  expect_no_context();
}

TEST_F(NvmlListingTest, WithoutOptionalEntryPointsTheExtrasAreAbsent) {
  scenario(testing::mock_devices(1));
  NvmlTelemetry bare([] { return NvmlApi::load(testing::kFakeDir + "/libnvidia-ml-bare.so.1"); });
  const auto records = bare.list_gpus();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "Mock GPU 0");
  EXPECT_EQ(records[0].physical_id, 0);
  EXPECT_FALSE(records[0].uuid);
  EXPECT_FALSE(records[0].power_watts);
  EXPECT_FALSE(records[0].temperature_c);
}

// 100
TEST_F(NvmlListingTest, NormalisesUtilizationAndMemory) {
  for (int value : {-1, 101}) {
    json devices = testing::mock_devices(1);
    devices[0]["utilization"] = value;
    scenario(devices);
    const auto records = list(nullptr);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_FALSE(records[0].utilization) << value;
  }
  struct Case {
    long long total, used;
    std::optional<std::uint64_t> want_total, want_used;
  };
  for (const Case& c : {Case{-1, 0, std::nullopt, 0}, Case{1024, -1, 1024, std::nullopt},
                        Case{1024, 2048, 1024, std::nullopt}}) {
    json devices = testing::mock_devices(1);
    devices[0]["total_memory"] = c.total;
    devices[0]["foreign_used"] = c.used;
    scenario(devices);
    const auto records = list(nullptr);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_EQ(records[0].memory_total, c.want_total) << c.total << "," << c.used;
    EXPECT_EQ(records[0].memory_used, c.want_used) << c.total << "," << c.used;
  }
}

// 101
TEST_F(NvmlListingTest, NumericMaskInVisibleOrder) {
  scenario(testing::mock_devices(4));
  const auto records = list("2, 0");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].id, 0);
  EXPECT_EQ(records[1].id, 1);
  EXPECT_EQ(physical_ids(records), (std::vector<int>{2, 0}));
  EXPECT_EQ(records[0].name, "Mock GPU 2");
  EXPECT_EQ(records[1].name, "Mock GPU 0");
  EXPECT_EQ(records[0].utilization, 42);
  EXPECT_EQ(records[1].utilization, 40);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{2, 0}));
  expect_no_context();
}

// 102
TEST_F(NvmlListingTest, UuidMasks) {
  json devices = testing::mock_devices(4);
  // The fake driver resolves the token by prefix; NVML resolves it directly through uuid_map.
  devices[2]["uuid"] = "GPU-abc123-mock-2";
  scenario(devices, {{"uuid_map", {{"GPU-abc123", 2}}}});
  auto records = list("GPU-abc123");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].id, 0);
  EXPECT_EQ(records[0].physical_id, 2);
  EXPECT_EQ(records[0].uuid, "GPU-abc123-mock-2");
  EXPECT_TRUE(handle_calls().empty());

  devices[2]["uuid"] = "GPU-abc123-dead-beef";
  scenario(devices);
  records = list("GPU-abc123");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].physical_id, 2);
  EXPECT_EQ(records[0].uuid, "GPU-abc123-dead-beef");
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 1, 2, 3}));

  devices[1]["uuid"] = "GPU-abc123-other";
  scenario(devices);
  EXPECT_TRUE(list("GPU-abc123").empty());
}

// 103
TEST_F(NvmlListingTest, TruncatedMask) {
  scenario(testing::mock_devices(4));
  EXPECT_EQ(physical_ids(list("0,2,-1,1")), (std::vector<int>{0, 2}));
}

// 104
TEST_F(NvmlListingTest, EmptyMasksListNothingAndDoNotFallBack) {
  for (const char* mask : {"", "-1"}) {
    scenario(testing::mock_devices(2));
    EXPECT_TRUE(list(mask).empty()) << mask;
    EXPECT_TRUE(handle_calls().empty()) << mask;
    EXPECT_TRUE(device_get_calls().empty()) << mask;
    EXPECT_EQ(nvml_state()["shutdown_calls"], 1) << mask;
  }
}

// 105
TEST_F(NvmlListingTest, BlockedMasksWithoutNvmlListNothing) {
  NvmlTelemetry telemetry(no_nvml);
  for (const std::string& mask :
       {std::string(""), std::string("-1"), std::string("0,,2"), std::string("0,0"),
        std::string("0,00"), std::string("GPU-abc123,gpu-abc123"), std::string("-1,0"),
        std::string("\xc2\xb2"), std::string("GPU-\xc2\xb2"), std::string(100, '9')}) {
    scenario(testing::mock_devices(2));
    ScopedEnv env("CUDA_VISIBLE_DEVICES", mask);
    EXPECT_TRUE(telemetry.list_gpus().empty()) << mask;
    EXPECT_TRUE(device_get_calls().empty()) << mask;
    EXPECT_EQ(FakeGpu::instance().state()["cuda_init_calls"], 0) << mask;
  }
}

// 106
TEST_F(NvmlListingTest, OutOfRangeIndicesListNothing) {
  for (const char* mask : {"99", "0,99,2"}) {
    scenario(testing::mock_devices(2));
    EXPECT_TRUE(list(mask).empty()) << mask;
    EXPECT_TRUE(handle_calls().empty()) << mask;
    EXPECT_TRUE(device_get_calls().empty()) << mask;
  }
}

// 107
TEST_F(NvmlListingTest, RuntimeCountIsCheckedBeforeUuidLookups) {
  scenario(testing::mock_devices(2));
  EXPECT_TRUE(list("GPU-typo").empty());  // the driver sees no device for this mask
  EXPECT_EQ(nvml_state()["handle_by_uuid_calls"], 0);

  // Two visible devices for the driver, but NVML cannot resolve the UUID token: its direct lookup
  // fails and the prefix scan stops at device 1's handle error.
  json devices = testing::mock_devices(2);
  devices[1]["uuid"] = "GPU-typo-1";
  scenario(devices, {{"handle_errors", {{"1", 999}}}});
  EXPECT_TRUE(list("0,GPU-typo").empty());
  EXPECT_EQ(nvml_state()["handle_by_uuid_calls"], 1);
  EXPECT_EQ(handle_calls(), (std::vector<unsigned>{0, 1}));
  EXPECT_TRUE(device_get_calls().empty());  // no fallback
}

// 108
TEST_F(NvmlListingTest, AliasedUuidTokensListNothing) {
  json devices = testing::mock_devices(3);
  devices[0]["uuid"] = "GPU-a-0";
  devices[1]["uuid"] = "GPU-b-1";
  for (int runtime_count : {0, 1, 2}) {
    scenario(devices, {{"uuid_map", {{"GPU-a", 2}, {"GPU-b", 2}}}},
             {{"device_count", runtime_count}});
    EXPECT_TRUE(list("GPU-a,GPU-b").empty()) << runtime_count;
    EXPECT_TRUE(device_get_calls().empty()) << runtime_count;
  }
}

// 109
TEST_F(NvmlListingTest, CountMismatchFallsBackToTheDriver) {
  scenario(testing::mock_devices(3), json::object(), {{"device_count", 1}});
  const auto records = list("0,2");
  ASSERT_EQ(records.size(), 1u);
  const GpuInfo& r = records[0];
  EXPECT_EQ(r.id, 0);
  EXPECT_EQ(r.visible_id, 0);
  EXPECT_EQ(r.platform, "cuda");
  EXPECT_EQ(r.name, "Mock GPU 0");
  EXPECT_FALSE(r.physical_id);
  EXPECT_FALSE(r.utilization);
  EXPECT_FALSE(r.uuid);
  EXPECT_EQ(r.memory_total, k16GiB);
  EXPECT_FALSE(r.memory_used);  // no context, so no cuMemGetInfo
  EXPECT_TRUE(handle_calls().empty());
  EXPECT_EQ(device_get_calls(), std::vector<int>{0});
  EXPECT_EQ(nvml_state()["shutdown_calls"], 1);
  expect_no_context();
}

// 110
TEST_F(NvmlListingTest, NoRuntimeDevicesListsNothing) {
  scenario(testing::mock_devices(2), json::object(), {{"device_count", 0}});
  EXPECT_TRUE(list(nullptr).empty());
  EXPECT_TRUE(handle_calls().empty());
  EXPECT_EQ(nvml_state()["shutdown_calls"], 1);

  scenario(testing::mock_devices(2));
  NvmlTelemetry without_driver(NvmlApi::shared, no_cuda);
  EXPECT_TRUE(without_driver.list_gpus().empty());
  EXPECT_TRUE(handle_calls().empty());
  EXPECT_EQ(nvml_state()["shutdown_calls"], 1);
}

// 111
TEST_F(NvmlListingTest, DriverCountFailureIsAnEnumerationError) {
  const char* expected =
      "Unable to enumerate visible GPUs: unknown error (CUDA_ERROR_UNKNOWN, code 999) in "
      "cuDeviceGetCount";
  scenario(testing::mock_devices(2), json::object(), {{"device_count_error", 999}});
  EXPECT_THAT([&] { list(nullptr); }, ::testing::ThrowsMessage<DeviceEnumerationUnavailableError>(
                                          ::testing::StrEq(expected)));
  EXPECT_EQ(nvml_state()["shutdown_calls"], 1);

  scenario(testing::mock_devices(2), json::object(), {{"device_count_error", 999}});
  NvmlTelemetry without_nvml(no_nvml);
  EXPECT_THAT(
      [&] { without_nvml.list_gpus(); },
      ::testing::ThrowsMessage<DeviceEnumerationUnavailableError>(::testing::StrEq(expected)));
}

// 112
TEST_F(NvmlListingTest, UnstartableOrdinalListsNothing) {
  scenario(testing::mock_devices(2), json::object(),
           {{"faults", {{"1", {{"device_get_error", 101}}}}}});
  EXPECT_TRUE(list(nullptr).empty());
  EXPECT_EQ(device_get_calls(), (std::vector<int>{0, 1}));  // the probe only, no fallback
  expect_no_context();
}

// 113
TEST_F(NvmlListingTest, OneFailingDeviceDiscardsTheNvmlListing) {
  json devices = testing::mock_devices(2);
  devices[1]["memory_error"] = 999;
  scenario(devices);
  const auto records = list(nullptr);
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    EXPECT_FALSE(r.utilization);
    EXPECT_FALSE(r.physical_id);
    EXPECT_EQ(r.memory_total, k16GiB);
  }
  EXPECT_EQ(records[1].name, "Mock GPU 1");
  expect_no_context();
}

// A device the driver cannot select ends the fallback listing early.
TEST_F(NvmlListingTest, FallbackStopsAtTheFirstUnselectableDevice) {
  scenario(testing::mock_devices(3), json::object(),
           {{"faults", {{"1", {{"device_get_error", 101}}}}}});
  NvmlTelemetry without_nvml(no_nvml);
  const auto records = without_nvml.list_gpus();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "Mock GPU 0");
}

// 116
TEST_F(NvmlListingTest, CpuOnlyHostListsNothing) {
  scenario(testing::mock_devices(1));
  NvmlTelemetry nothing(no_nvml, no_cuda);
  EXPECT_TRUE(nothing.list_gpus().empty());
}

TEST_F(NvmlListingTest, NvmlFailuresFallBackWhenTheMaskAllows) {
  scenario(testing::mock_devices(2), {{"init_error", 999}});
  const auto records = list("1");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "Mock GPU 1");
  EXPECT_FALSE(records[0].physical_id);
}

}  // namespace
}  // namespace keepgpu::gpu::nvml
