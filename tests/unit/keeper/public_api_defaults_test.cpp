// The public C++ API states its defaults in its own header (it includes nothing internal); they
// must be the ones every other face of the tool uses.
#include <gtest/gtest.h>

#include "core/defaults.hpp"
#include "keeper/keeper.hpp"
#include "keeper/keeper_group.hpp"
#include "keepgpu/keepgpu.hpp"

namespace keepgpu {
namespace {

TEST(PublicApiDefaults, GlobalControllerMatchesTheCommandLine) {
  const GlobalControllerOptions options;
  EXPECT_EQ(options.interval, core::kDefaultIntervalSeconds);
  EXPECT_EQ(options.vram, core::kDefaultVram);
  EXPECT_EQ(options.busy_threshold, core::kDefaultBusyThreshold);
  const keeper::GroupOptions group;
  EXPECT_EQ(group.interval_seconds, options.interval);
  EXPECT_EQ(group.vram, options.vram);
  EXPECT_EQ(group.busy_threshold, options.busy_threshold);
}

TEST(PublicApiDefaults, SingleGpuControllerMatchesTheKeeper) {
  const CudaControllerOptions options;
  const keeper::KeeperOptions keeper_options;
  EXPECT_EQ(options.vram_to_keep, core::kDefaultVram);
  EXPECT_EQ(options.busy_threshold, core::kDefaultBusyThreshold);
  EXPECT_EQ(options.relu_iterations, core::kDefaultReluIterations);
  EXPECT_EQ(options.interval, keeper_options.interval_seconds);
  EXPECT_EQ(options.relu_iterations, keeper_options.relu_iterations);
  EXPECT_EQ(options.busy_threshold, keeper_options.busy_threshold);
}

}  // namespace
}  // namespace keepgpu
