// The duty cycle (util_target > 0): a timed kernel every slice instead of ReLU batches, the
// keeper's own share left out of the busy decision, and a real foreign load still backing it off.
#include <gtest/gtest.h>

#include <chrono>

#include "fake_backend.hpp"
#include "keeper/keeper.hpp"

namespace keepgpu::keeper {
namespace {

using namespace std::chrono_literals;
using testing::FakeBackend;
using testing::wait_until;

KeeperOptions duty_options(int target, int threshold) {
  KeeperOptions o;
  o.rank = 0;
  o.interval_seconds = 300;  // the default: the duty cycle must not wait for it
  o.elements = 2097152;
  o.busy_threshold = threshold;
  o.util_target = target;
  return o;
}

TEST(KeeperDutyCycle, SpinsEverySliceForTheTargetShareAndRunsNoReluBatch) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, duty_options(10, -1));
  keeper.keep();
  auto& c = backend->counters(0);
  ASSERT_TRUE(wait_until([&] { return c.spins >= 5; }, 10s)) << c.spins;
  EXPECT_EQ(c.spin_ns / c.spins, 10'000'000u) << "10% of a 100 ms slice";
  EXPECT_EQ(c.launches, 0) << "no ReLU batch with a target";
  EXPECT_EQ(keeper.status().state, KeeperState::holding);
  EXPECT_GE(keeper.status().batches, 5u);
  keeper.release();
  const int after = c.spins;
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(c.spins, after) << "no spin after the release";
}

TEST(KeeperDutyCycle, ItsOwnLoadAboveTheThresholdIsNotBusy) {
  auto backend = std::make_shared<FakeBackend>();
  // Idle at the reads before anything runs (allocation, the first duty check), then NVML sees
  // the keeper's own 40%.
  backend->script(0).utilization = {0.0, 0.0, 40.0};
  Keeper keeper(backend, duty_options(40, 25));
  keeper.keep();
  auto& c = backend->counters(0);
  ASSERT_TRUE(wait_until([&] { return c.utilization_reads >= 3; }, 10s));
  const int spins = c.spins;
  ASSERT_TRUE(wait_until([&] { return c.spins >= spins + 5; }, 10s));
  EXPECT_EQ(keeper.status().state, KeeperState::holding) << keeper.status().detail.value_or("");
}

TEST(KeeperDutyCycle, ForeignLoadBacksOffWithinASecondAndItResumes) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, duty_options(10, 25));
  keeper.keep();
  auto& c = backend->counters(0);
  ASSERT_TRUE(wait_until([&] { return c.spins >= 3; }, 10s));
  {
    std::lock_guard lock(backend->mutex());
    backend->script(0).utilization = {95.0};  // another process: 85% on top of our 10%
  }
  ASSERT_TRUE(wait_until([&] { return keeper.status().state == KeeperState::backing_off; }, 5s));
  EXPECT_EQ(keeper.status().detail, "GPU busy: utilization 85% above the 25% threshold");
  const int stopped_at = c.spins;
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(c.spins, stopped_at) << "no kernel while backing off";
  {
    std::lock_guard lock(backend->mutex());
    backend->script(0).utilization = {5.0};
  }
  ASSERT_TRUE(wait_until([&] { return c.spins > stopped_at; }, 5s));
  EXPECT_EQ(keeper.status().state, KeeperState::holding);
}

}  // namespace
}  // namespace keepgpu::keeper
