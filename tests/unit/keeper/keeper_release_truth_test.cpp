// A keeper reports what the driver holds: a refused release fails release(), leaves the bytes
// counted and the phase "failed" with the reason, and the next release() retries it; waiting and
// backing off say why. Against the in-process backend double.
#include <gtest/gtest.h>

#include <mutex>

#include "core/errors.hpp"
#include "fake_backend.hpp"
#include "keeper/keeper.hpp"
#include "keeper/keeper_group.hpp"

namespace keepgpu::keeper {
namespace {

using testing::FakeBackend;
using testing::wait_until;

constexpr std::uint64_t kBytes = 8388608;  // 8 MiB

KeeperOptions fast_options(int threshold = -1) {
  KeeperOptions o;
  o.interval_seconds = 0.05;
  o.elements = kBytes / 4;
  o.busy_threshold = threshold;
  o.relu_iterations = 8;
  return o;
}

void set_free_error(FakeBackend& backend, int code) {
  std::lock_guard lock(backend.mutex());
  backend.script(0).free_error = code;
}

void set_close_error(FakeBackend& backend, int code) {
  std::lock_guard lock(backend.mutex());
  backend.script(0).close_error = code;
}

TEST(KeeperReleaseTruth, RefusedFreeFailsTheReleaseAndKeepsTheBytesCounted) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, fast_options());
  keeper.keep();
  set_free_error(*backend, 999);
  try {
    keeper.release();
    FAIL() << "release() must report the refused free";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "rank 0: failed to release GPU 0 (8.0 MiB still held): free refused");
  }
  const KeeperStatus status = keeper.status();
  EXPECT_EQ(status.state, KeeperState::failed);
  EXPECT_EQ(phase_of(status.state), Phase::failed);
  EXPECT_EQ(status.held_bytes, kBytes);
  ASSERT_TRUE(status.detail);
  EXPECT_NE(status.detail->find("free refused"), std::string::npos);
  EXPECT_EQ(backend->counters(0).allocated_bytes, kBytes) << "the driver still holds it";
  EXPECT_TRUE(keeper.has_worker_state()) << "something is left to release";
  EXPECT_EQ(keeper.allocation_status(), nullptr) << "a release failure is not a runtime failure";

  // Refused again: still failed, still counted.
  EXPECT_THROW(keeper.release(), RuntimeError);
  EXPECT_EQ(keeper.status().held_bytes, kBytes);

  set_free_error(*backend, 0);
  keeper.release();
  EXPECT_EQ(keeper.status().state, KeeperState::idle);
  EXPECT_EQ(phase_of(keeper.status().state), Phase::released);
  EXPECT_EQ(keeper.status().held_bytes, 0u);
  EXPECT_FALSE(keeper.status().detail);
  EXPECT_EQ(backend->counters(0).allocated_bytes, 0u);
  EXPECT_EQ(backend->counters(0).closes, 1);
  EXPECT_EQ(backend->counters(0).sessions_live, 0);
  EXPECT_FALSE(keeper.has_worker_state());
}

TEST(KeeperReleaseTruth, RefusedContextReleaseFailsWithNothingLeftInTheBuffer) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, fast_options());
  keeper.keep();
  set_close_error(*backend, 201);
  EXPECT_THROW(keeper.release(), RuntimeError);
  EXPECT_EQ(keeper.status().state, KeeperState::failed);
  EXPECT_EQ(keeper.status().held_bytes, 0u) << "the buffer itself was freed";
  EXPECT_EQ(backend->counters(0).frees, 1);
  EXPECT_EQ(backend->counters(0).sessions_live, 1) << "the context is still open";
  set_close_error(*backend, 0);
  keeper.release();
  EXPECT_EQ(backend->counters(0).frees, 1) << "the retry does not free twice";
  EXPECT_EQ(backend->counters(0).sessions_live, 0);
}

TEST(KeeperReleaseTruth, KeepRetriesALeftoverReleaseBeforeStartingAgain) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, fast_options());
  keeper.keep();
  set_free_error(*backend, 999);
  EXPECT_THROW(keeper.release(), RuntimeError);
  EXPECT_THROW(keeper.keep(), RuntimeError) << "no second buffer on top of an unreleased one";
  EXPECT_EQ(backend->counters(0).allocations, 1);
  set_free_error(*backend, 0);
  keeper.keep();
  EXPECT_EQ(backend->counters(0).allocations, 2);
  EXPECT_EQ(backend->counters(0).allocated_bytes, kBytes);
  keeper.release();
  EXPECT_EQ(backend->counters(0).allocated_bytes, 0u);
}

TEST(KeeperReleaseTruth, GroupReleaseNamesTheGpuWhoseReleaseWasRefused) {
  auto backend = std::make_shared<FakeBackend>(2);
  GroupOptions options;
  options.gpu_ids = std::vector<std::int64_t>{0, 1};
  options.interval_seconds = 0.05;
  options.vram = "8MiB";
  options.busy_threshold = -1;
  options.relu_iterations = 8;
  KeeperGroup group(options, [&] { return backend; });
  group.keep();
  set_free_error(*backend, 999);
  try {
    group.release();
    FAIL() << "release() must fail";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Failed to release GPU controllers: rank 0: failed to release GPU 0 (8.0 MiB still "
              "held): free refused");
  }
  EXPECT_EQ(backend->counters(1).allocated_bytes, 0u) << "the other GPU was released";
  EXPECT_EQ(phase_of(group.keepers()[1]->status().state), Phase::released);
  set_free_error(*backend, 0);
  group.release();
  EXPECT_EQ(backend->counters(0).allocated_bytes, 0u);
}

TEST(KeeperReleaseTruth, WaitingAndBackingOffSayWhy) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).utilization = {std::nullopt};
  Keeper keeper(backend, fast_options(25));
  keeper.keep();
  KeeperStatus status = keeper.status();
  EXPECT_EQ(phase_of(status.state), Phase::waiting);
  EXPECT_EQ(status.held_bytes, 0u);
  EXPECT_EQ(status.detail, "deferring allocation: GPU utilization unavailable");

  {
    std::lock_guard lock(backend->mutex());
    backend->script(0).utilization = {0.0};
  }
  ASSERT_TRUE(wait_until([&] { return keeper.status().state == KeeperState::holding; }));
  EXPECT_FALSE(keeper.status().detail);
  {
    std::lock_guard lock(backend->mutex());
    backend->script(0).utilization = {80.0};
  }
  ASSERT_TRUE(wait_until([&] { return keeper.status().state == KeeperState::backing_off; }));
  status = keeper.status();
  EXPECT_EQ(phase_of(status.state), Phase::backing_off);
  EXPECT_EQ(status.held_bytes, kBytes);
  EXPECT_EQ(status.detail, "GPU busy: utilization 80% above the 25% threshold");
  keeper.release();
}

TEST(KeeperReleaseTruth, OutOfMemoryRetryIsWaitingWithItsReason) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).alloc_results = {2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  Keeper keeper(backend, fast_options());
  keeper.keep();
  const KeeperStatus status = keeper.status();
  EXPECT_EQ(phase_of(status.state), Phase::waiting);
  ASSERT_TRUE(status.detail);
  EXPECT_EQ(status.detail->rfind("out of memory: 8.0 MiB does not fit in free GPU memory", 0), 0u)
      << *status.detail;
  keeper.release();
}

TEST(KeeperReleaseTruth, PhaseNames) {
  EXPECT_STREQ(to_string(phase_of(KeeperState::starting)), "waiting");
  EXPECT_STREQ(to_string(phase_of(KeeperState::deferring)), "waiting");
  EXPECT_STREQ(to_string(phase_of(KeeperState::retrying)), "waiting");
  EXPECT_STREQ(to_string(phase_of(KeeperState::holding)), "holding");
  EXPECT_STREQ(to_string(phase_of(KeeperState::backing_off)), "backing_off");
  EXPECT_STREQ(to_string(phase_of(KeeperState::stopping)), "releasing");
  EXPECT_STREQ(to_string(phase_of(KeeperState::idle)), "released");
  EXPECT_STREQ(to_string(phase_of(KeeperState::failed)), "failed");
}

}  // namespace
}  // namespace keepgpu::keeper
