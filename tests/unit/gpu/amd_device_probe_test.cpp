// The probe that decides whether ROCm SMI is worth loading, on fake /dev and /sys trees.
#include "gpu/rocm/amd_device_probe.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace keepgpu::gpu::rocm {
namespace {

namespace fs = std::filesystem;

class AmdDeviceProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("keepgpu-amd-probe-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void card(const std::string& name, const std::string& vendor) {
    const auto dir = root_ / "sys/class/drm" / name / "device";
    fs::create_directories(dir);
    std::ofstream(dir / "vendor") << vendor << "\n";
  }

  fs::path root_;
};

TEST_F(AmdDeviceProbe, NothingAtAll) {
  EXPECT_FALSE(amd_device_present(root_));
}

TEST_F(AmdDeviceProbe, KfdNodeMeansAnAmdDriver) {
  fs::create_directories(root_ / "dev");
  std::ofstream(root_ / "dev/kfd") << "";
  EXPECT_TRUE(amd_device_present(root_));
}

TEST_F(AmdDeviceProbe, OtherVendorsCardsAreNotAmd) {
  card("card0", "0x10de");  // NVIDIA
  card("card1", "0x8086");  // Intel
  EXPECT_FALSE(amd_device_present(root_));
}

TEST_F(AmdDeviceProbe, AnAmdDrmCard) {
  card("card0", "0x8086");
  card("card1", "0x1002");
  EXPECT_TRUE(amd_device_present(root_));
}

TEST_F(AmdDeviceProbe, ConnectorsAndRenderNodesDoNotCount) {
  card("card0-DP-1", "0x1002");
  card("renderD128", "0x1002");
  EXPECT_FALSE(amd_device_present(root_));
}

}  // namespace
}  // namespace keepgpu::gpu::rocm
