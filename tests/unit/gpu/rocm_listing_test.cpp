// The ROCm device listing (SMI + HIP query and the HIP-only fallback) against
// the fake HIP runtime and ROCm SMI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "gpu/rocm/rocm_telemetry.hpp"
#include "rocm_fakes.hpp"

namespace keepgpu::gpu::rocm {
namespace {

using json = keepgpu::core::Json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace testing;

constexpr std::uint64_t kGiB = 1ULL << 30;

// Device i: "AMD GPU i", 16 GiB, 1 GiB used by others, busy 80 + i percent.
json amd_devices(int count) {
  json devices = json::array();
  for (int i = 0; i < count; ++i) {
    devices.push_back({{"name", "AMD GPU " + std::to_string(i)},
                       {"total_memory", 16 * kGiB},
                       {"foreign_used", kGiB},
                       {"utilization", 80 + i},
                       {"power_mw", 150000 + i * 1000},
                       {"temperature", 50 + i},
                       {"unique_id", 0x1000 + i}});
  }
  return devices;
}

class RocmListingTest : public ::testing::Test {
 protected:
  void scenario(json devices, json hip = json::object(), json rsmi = json::object()) {
    FakeGpu::instance().reset(
        {{"devices", std::move(devices)}, {"hip", std::move(hip)}, {"rsmi", std::move(rsmi)}});
  }
  json state() { return FakeGpu::instance().state(); }
  std::vector<GpuInfo> list(RsmiLoader rsmi = fake_rsmi, HipLoader hip = fake_hip) {
    RocmTelemetry telemetry(SmiRuntime::create(std::move(rsmi)), std::move(hip));
    return telemetry.list_gpus();
  }

  ScopedEnv no_rocr_{"ROCR_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_hip_mask_{"HIP_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_cuda_mask_{"CUDA_VISIBLE_DEVICES", std::nullopt};
};

std::vector<std::optional<int>> physical_ids(const std::vector<GpuInfo>& gpus) {
  std::vector<std::optional<int>> out;
  for (const auto& g : gpus)
    out.push_back(g.physical_id);
  return out;
}

std::vector<std::optional<int>> utilizations(const std::vector<GpuInfo>& gpus) {
  std::vector<std::optional<int>> out;
  for (const auto& g : gpus)
    out.push_back(g.utilization);
  return out;
}

TEST_F(RocmListingTest, FullRecord) {
  scenario(amd_devices(1));
  const auto gpus = list();
  ASSERT_EQ(gpus.size(), 1u);
  const GpuInfo& g = gpus[0];
  EXPECT_EQ(g.id, 0);
  EXPECT_EQ(g.visible_id, 0);
  EXPECT_EQ(g.platform, "rocm");
  EXPECT_EQ(g.name, "AMD GPU 0");
  EXPECT_EQ(g.memory_total, 16 * kGiB);
  EXPECT_EQ(g.memory_used, kGiB);
  EXPECT_EQ(g.utilization, 80);
  EXPECT_EQ(g.physical_id, 0);
  EXPECT_EQ(g.power_watts, 150.0);
  EXPECT_EQ(g.temperature_c, 50);
  EXPECT_EQ(g.uuid, "GPU-0000000000001000");
  EXPECT_THAT(state()["rsmi"]["calls"], ElementsAre("init", "shutdown"));
  // The listing restores the thread's current device.
  EXPECT_THAT(state()["hip"]["set_device_calls"], ElementsAre(0, 0));
  // NVML is never touched on the ROCm path.
  EXPECT_EQ(state()["nvml"]["init_calls"], 0);
}

TEST_F(RocmListingTest, HipMaskMapsToSmiIndexes) {
  ScopedEnv hip("HIP_VISIBLE_DEVICES", "2,4");
  scenario(amd_devices(6));
  const auto gpus = list();
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].id, 0);
  EXPECT_EQ(gpus[1].id, 1);
  EXPECT_THAT(physical_ids(gpus), ElementsAre(2, 4));
  EXPECT_THAT(utilizations(gpus), ElementsAre(82, 84));
  EXPECT_EQ(gpus[1].name, "AMD GPU 4");
  EXPECT_THAT(state()["rsmi"]["busy_percent_calls"], ElementsAre(2, 4));
  EXPECT_EQ(state()["rsmi"]["shutdown_calls"], 1);
}

TEST_F(RocmListingTest, RocrBaseWithHipOverlay) {
  ScopedEnv rocr("ROCR_VISIBLE_DEVICES", "2,4");
  ScopedEnv hip("HIP_VISIBLE_DEVICES", "1");
  scenario(amd_devices(6));
  const auto gpus = list();
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_THAT(physical_ids(gpus), ElementsAre(4));
  EXPECT_EQ(gpus[0].name, "AMD GPU 4");
}

TEST_F(RocmListingTest, UnstartableOrdinalIsSkipped) {
  scenario(amd_devices(2), {{"faults", {{"1", {{"set_device_error", 101}}}}}});
  const auto gpus = list();
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].id, 0);
  EXPECT_THAT(state()["hip"]["set_device_calls"], ElementsAre(0, 1, 0));
}

TEST_F(RocmListingTest, AmbiguousMaskListsWithoutSmiData) {
  ScopedEnv hip("HIP_VISIBLE_DEVICES", "0,,2");
  scenario(amd_devices(3));
  // The runtime stops at the empty token and shows device 0 only; SMI cannot map it.
  const auto gpus = list();
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].physical_id, std::nullopt);
  EXPECT_EQ(gpus[0].utilization, std::nullopt);
  EXPECT_EQ(gpus[0].uuid, std::nullopt);
  EXPECT_EQ(gpus[0].memory_total, 16 * kGiB) << "memory still comes from the runtime";
  EXPECT_THAT(state()["rsmi"]["busy_percent_calls"], IsEmpty());
}

TEST_F(RocmListingTest, UnknownCountWithMask) {
  ScopedEnv hip("HIP_VISIBLE_DEVICES", "0");
  scenario(amd_devices(2), json::object(), {{"count_error", 2}});
  const auto gpus = list();
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].physical_id, std::nullopt);
  EXPECT_EQ(gpus[0].utilization, std::nullopt);
}

TEST_F(RocmListingTest, OutOfRangeUtilizationIsNull) {
  for (int value : {101, -1}) {
    json devices = amd_devices(1);
    devices[0]["utilization"] = value;
    scenario(devices);
    const auto gpus = list();
    ASSERT_EQ(gpus.size(), 1u);
    EXPECT_EQ(gpus[0].utilization, std::nullopt) << value;
    EXPECT_EQ(gpus[0].physical_id, 0);
  }
}

// The (free, total) normalisation rows through hipMemGetInfo.
TEST_F(RocmListingTest, MemoryFromTheRuntime) {
  json devices = amd_devices(1);
  devices[0]["total_memory"] = 100;
  devices[0]["foreign_used"] = 0;
  scenario(devices);
  auto gpus = list();
  EXPECT_EQ(gpus[0].memory_total, 100u);
  EXPECT_EQ(gpus[0].memory_used, 0u);
  devices[0]["total_memory"] = 1ULL << 63;  // a negative int64 as the runtime would hand it out
  scenario(devices);
  gpus = list();
  EXPECT_EQ(gpus[0].memory_total, std::nullopt);
  EXPECT_EQ(gpus[0].memory_used, std::nullopt);
  scenario(amd_devices(1), {{"mem_info_error", 1}});
  gpus = list();
  EXPECT_EQ(gpus[0].memory_total, std::nullopt);
  EXPECT_EQ(gpus[0].memory_used, std::nullopt);
  EXPECT_EQ(gpus[0].utilization, 80);
}

TEST_F(RocmListingTest, WithoutSmiTheRuntimeStillLists) {
  scenario(amd_devices(2));
  const auto gpus = list(no_rsmi);
  ASSERT_EQ(gpus.size(), 2u);
  for (const auto& g : gpus) {
    EXPECT_EQ(g.platform, "rocm");
    EXPECT_EQ(g.utilization, std::nullopt);
    EXPECT_EQ(g.physical_id, std::nullopt);
    EXPECT_EQ(g.memory_total, 16 * kGiB);
  }
  // A failing rsmi_init falls back the same way.
  scenario(amd_devices(2), json::object(), {{"init_error", 8}});
  EXPECT_EQ(list().size(), 2u);
  EXPECT_EQ(state()["rsmi"]["shutdown_calls"], 0);
}

TEST_F(RocmListingTest, MinimalSmiListsWithoutExtras) {
  scenario(amd_devices(1));
  const auto gpus = list(fake_rsmi_minimal);
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].utilization, 80);  // no mask: the rank needs no count
  EXPECT_EQ(gpus[0].power_watts, std::nullopt);
  EXPECT_EQ(gpus[0].temperature_c, std::nullopt);
  EXPECT_EQ(gpus[0].uuid, std::nullopt);
}

TEST_F(RocmListingTest, NoRuntimeOrNoDevice) {
  scenario(amd_devices(2));
  EXPECT_THAT(list(fake_rsmi, no_hip), IsEmpty());
  EXPECT_EQ(state()["rsmi"]["shutdown_calls"], 1);
  scenario(json::array());
  EXPECT_THAT(list(), IsEmpty());
  // An unexpected hipInit failure reads as "runtime unavailable".
  scenario(amd_devices(2), {{"init_error", 999}});
  EXPECT_THAT(list(), IsEmpty());
  EXPECT_EQ(state()["rsmi"]["shutdown_calls"], 1);
}

TEST_F(RocmListingTest, EnumerationFailuresPropagate) {
  scenario(amd_devices(2), {{"device_count_error", 999}});
  EXPECT_THAT([&] { list(); }, ::testing::ThrowsMessage<DeviceEnumerationUnavailableError>(
                                   ::testing::StartsWith("Unable to enumerate visible GPUs: ")));
  EXPECT_EQ(state()["rsmi"]["shutdown_calls"], 1) << "SMI is shut down on the way out";
  scenario(amd_devices(2), {{"get_device_error", 999}});
  EXPECT_THROW(list(), DeviceEnumerationUnavailableError);
  // Without ROCm SMI the HIP-only listing raises the same.
  EXPECT_THROW(list(no_rsmi), DeviceEnumerationUnavailableError);
}

TEST_F(RocmListingTest, HipOnlyListingStopsAtTheFirstUnselectableDevice) {
  scenario(amd_devices(3), {{"faults", {{"1", {{"set_device_error", 101}}}}}});
  const auto gpus = list(no_rsmi);
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_THAT(state()["hip"]["set_device_calls"], ElementsAre(0, 1, 0));
}

}  // namespace
}  // namespace keepgpu::gpu::rocm
