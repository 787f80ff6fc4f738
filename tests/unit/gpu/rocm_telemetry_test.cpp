// ROCm utilization through ROCm SMI against the fake ROCm SMI: the mask mapping with its call log,
// normalisation, re-initialisation after an external shutdown, and balanced init/shutdown.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gpu/rocm/rocm_backend.hpp"
#include "gpu/rocm/rocm_telemetry.hpp"
#include "rocm_fakes.hpp"

namespace keepgpu::gpu::rocm {
namespace {

using json = keepgpu::core::Json;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace testing;

// Eight devices; device i is busy 70 + i percent.
json eight_devices() {
  json devices = json::array();
  for (int i = 0; i < 8; ++i)
    devices.push_back({{"name", "AMD GPU " + std::to_string(i)}, {"utilization", 70 + i}});
  return devices;
}

class RocmTelemetryTest : public ::testing::Test {
 protected:
  void scenario(json devices, json rsmi = json::object()) {
    FakeGpu::instance().reset({{"devices", std::move(devices)}, {"rsmi", std::move(rsmi)}});
  }
  json rsmi_state() { return FakeGpu::instance().state()["rsmi"]; }

  std::shared_ptr<SmiRuntime> smi_ = SmiRuntime::create(fake_rsmi);
  RocmTelemetry telemetry_{smi_, fake_hip};
  ScopedEnv no_rocr_{"ROCR_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_hip_mask_{"HIP_VISIBLE_DEVICES", std::nullopt};
  ScopedEnv no_cuda_mask_{"CUDA_VISIBLE_DEVICES", std::nullopt};
};

struct MaskCase {
  std::optional<std::string> rocr;
  std::optional<std::string> hip;
  std::optional<std::string> cuda;
  int rank;
  std::optional<unsigned> index;  // the SMI index queried, or none (and no query at all)
  int count = 8;
};

// Every row of the mask table (rocm_visibility_test.cpp) through the controller's query.
TEST_F(RocmTelemetryTest, MaskTableThroughTheQuery) {
  const std::string nines(100, '9');
  const MaskCase cases[] = {
      {{}, {}, {}, 1, 1u},
      {{}, "3,5", {}, 1, 5u},
      {"2,4", "1", {}, 0, 4u},
      {{}, {}, "3,5", 1, 5u},
      {{}, "3,5", "3,6", 1, {}},
      {{}, "0,,2", {}, 0, {}},
      {{}, "0,,2", {}, 1, {}},
      {{}, "\xc2\xb2", {}, 0, {}},
      {"\xc2\xb2", {}, {}, 0, {}},
      {{}, {}, "\xc2\xb2", 0, {}},
      {nines, {}, {}, 0, {}},
      {{}, nines, {}, 0, {}},
      {{}, {}, nines, 0, {}},
      {{}, "0,9", {}, 1, {}, 4},
      {{}, "GPU-abc123", {}, 0, {}},
      // Overlay equal to the base list.
      {{}, "1,0", "1,0", 0, 1u},
      {"2,4", {}, {}, 1, 4u},
      {"2,9", {}, {}, 0, {}, 4},
  };
  for (const MaskCase& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "ROCR=" << c.rocr.value_or("<unset>") << " HIP=" << c.hip.value_or("<unset>")
                 << " CUDA=" << c.cuda.value_or("<unset>") << " rank=" << c.rank);
    ScopedEnv rocr("ROCR_VISIBLE_DEVICES", c.rocr);
    ScopedEnv hip("HIP_VISIBLE_DEVICES", c.hip);
    ScopedEnv cuda("CUDA_VISIBLE_DEVICES", c.cuda);
    scenario(eight_devices(), {{"device_count", c.count}});
    const auto util = telemetry_.utilization(c.rank);
    if (c.index) {
      EXPECT_EQ(util, 70.0 + *c.index);
      EXPECT_THAT(rsmi_state()["busy_percent_calls"], ElementsAre(*c.index));
    } else {
      EXPECT_EQ(util, std::nullopt);
      EXPECT_THAT(rsmi_state()["busy_percent_calls"], IsEmpty());
    }
    // Each query outside a session is one balanced init/shutdown pair.
    EXPECT_THAT(rsmi_state()["calls"], ElementsAre("init", "shutdown"));
  }
}

TEST_F(RocmTelemetryTest, UnknownCountBlocksMasksOnly) {
  ScopedEnv hip("HIP_VISIBLE_DEVICES", "9");
  scenario(eight_devices(), {{"count_error", 2}});
  EXPECT_EQ(telemetry_.utilization(0), std::nullopt);
  EXPECT_THAT(rsmi_state()["busy_percent_calls"], IsEmpty());
  ScopedEnv unset("HIP_VISIBLE_DEVICES", std::nullopt);
  scenario(eight_devices(), {{"count_error", 2}});
  EXPECT_EQ(telemetry_.utilization(3), 73.0);
}

// Out-of-range readings are unavailable, so the keeper backs off.
TEST_F(RocmTelemetryTest, OutOfRangeBusyPercentIsUnavailable) {
  for (int value : {101, -1}) {
    json devices = eight_devices();
    devices[0]["utilization"] = value;
    scenario(devices);
    EXPECT_EQ(telemetry_.utilization(0), std::nullopt) << value;
  }
  json devices = eight_devices();
  devices[0]["utilization"] = 100;
  scenario(devices);
  EXPECT_EQ(telemetry_.utilization(0), 100.0);
}

// A keeper holds SMI (a session's lease); someone shuts SMI down; the next query sees
// "not initialised", initialises again and answers.
TEST_F(RocmTelemetryTest, ReinitialisesAfterAnExternalShutdown) {
  scenario(eight_devices(), {{"requires_init", true}});
  auto lease = smi_->acquire();
  EXPECT_EQ(telemetry_.utilization(1), 71.0);
  external_rsmi_shutdown();
  EXPECT_EQ(telemetry_.utilization(1), 71.0);
  EXPECT_EQ(rsmi_state()["init_calls"], 2);
  EXPECT_THAT(rsmi_state()["busy_percent_calls"], ElementsAre(1, 1));
  lease = SmiRuntime::Lease();
  // The reference taken by the re-init is the one returned: nothing leaks.
  EXPECT_EQ(rsmi_state()["shutdown_calls"], 1);
  EXPECT_EQ(rsmi_state()["init_refcount"], 0);
}

TEST_F(RocmTelemetryTest, OtherErrorsRetryOnceWithoutReinit) {
  scenario(eight_devices(), {{"busy_errors", {{"2", 2}}}});
  EXPECT_EQ(telemetry_.utilization(2), std::nullopt);
  EXPECT_THAT(rsmi_state()["busy_percent_calls"], ElementsAre(2, 2));
  EXPECT_EQ(rsmi_state()["init_calls"], 1);
  EXPECT_EQ(rsmi_state()["shutdown_calls"], 1);
}

TEST_F(RocmTelemetryTest, MissingLibraryOrFailedInitIsUnavailable) {
  scenario(eight_devices());
  RocmTelemetry absent(SmiRuntime::create(no_rsmi), fake_hip);
  EXPECT_EQ(absent.utilization(0), std::nullopt);
  scenario(eight_devices(), {{"init_error", 8}});
  EXPECT_EQ(telemetry_.utilization(0), std::nullopt);
  EXPECT_EQ(rsmi_state()["init_calls"], 1);
  EXPECT_EQ(rsmi_state()["shutdown_calls"], 0);
  EXPECT_THAT(rsmi_state()["busy_percent_calls"], IsEmpty());
}

TEST_F(RocmTelemetryTest, MinimalLibraryWithoutCount) {
  scenario(eight_devices());
  RocmTelemetry minimal(SmiRuntime::create(fake_rsmi_minimal), fake_hip);
  EXPECT_EQ(minimal.utilization(5), 75.0);
  // A mask needs the count to be checked against, and this library cannot give one.
  ScopedEnv hip("HIP_VISIBLE_DEVICES", "5");
  EXPECT_EQ(minimal.utilization(0), std::nullopt);
}

TEST_F(RocmTelemetryTest, QueriesInsideASessionNeedNoExtraInit) {
  scenario(eight_devices());
  RocmBackend backend(fake_hip, fake_hiprtc, fake_rsmi);
  auto session = backend.open(0);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(backend.telemetry().utilization(0), 70.0);
  EXPECT_THAT(rsmi_state()["calls"], ElementsAre("init"));
  session.reset();
  EXPECT_THAT(rsmi_state()["calls"], ElementsAre("init", "shutdown"));
}

}  // namespace
}  // namespace keepgpu::gpu::rocm
