// Multi-GPU controller against an in-process backend.
#include "keeper/keeper_group.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "core/errors.hpp"
#include "fake_backend.hpp"

namespace keepgpu::keeper {
namespace {

using namespace std::chrono_literals;
using testing::FakeBackend;
using testing::wait_until;

GroupOptions fast(std::optional<std::vector<std::int64_t>> ids = std::nullopt) {
  GroupOptions o;
  o.gpu_ids = std::move(ids);
  o.interval_seconds = 0.05;
  o.vram = "8MiB";
  o.busy_threshold = -1;
  o.relu_iterations = 16;
  return o;
}

BackendProvider provide(std::shared_ptr<FakeBackend> backend) {
  return [backend] { return backend; };
}

BackendProvider must_not_probe() {
  return []() -> std::shared_ptr<gpu::Backend> {
    ADD_FAILURE() << "the platform was probed before input validation";
    return nullptr;
  };
}

TEST(KeeperGroup, PassesRawVramAndFractionalIntervalToChildren) {
  auto backend = std::make_shared<FakeBackend>(1);
  GroupOptions options = fast();
  options.vram = "1GiB";
  KeeperGroup group(options, provide(backend));
  ASSERT_EQ(group.keepers().size(), 1u);
  EXPECT_EQ(group.keepers()[0]->options().elements, 268435456u);
  EXPECT_DOUBLE_EQ(group.keepers()[0]->options().interval_seconds, 0.05);
  EXPECT_EQ(group.options().vram, "1GiB");
}

TEST(KeeperGroup, AllGpusWhenIdsAbsentInOrder) {
  auto backend = std::make_shared<FakeBackend>(3);
  KeeperGroup group(fast(), provide(backend));
  EXPECT_EQ(group.gpu_ids(), (std::vector<std::int64_t>{0, 1, 2}));
}

TEST(KeeperGroup, SerialStartInGivenOrder) {
  auto backend = std::make_shared<FakeBackend>(3);
  KeeperGroup group(fast(std::vector<std::int64_t>{2, 0}), provide(backend));
  ASSERT_EQ(group.keepers().size(), 2u);
  EXPECT_EQ(group.keepers()[0]->rank(), 2);
  EXPECT_EQ(group.keepers()[1]->rank(), 0);
  group.keep();
  EXPECT_EQ(backend->counters(1).opens, 0);
  EXPECT_EQ(backend->counters(2).opens, 1);
  EXPECT_EQ(backend->counters(0).opens, 1);
  group.release();
  EXPECT_EQ(backend->counters(0).allocated_bytes + backend->counters(2).allocated_bytes, 0u);
}

TEST(KeeperGroup, RollsBackWhenASecondGpuFailsToStart) {
  auto backend = std::make_shared<FakeBackend>(2);
  backend->script(1).open_error = "cuda startup failed";
  KeeperGroup group(fast(), provide(backend));
  try {
    group.keep();
    FAIL() << "keep() should throw";
  } catch (const gpu::GpuError& e) {
    EXPECT_EQ(std::string(e.what()), "cuda startup failed") << "the original error propagates";
  }
  EXPECT_EQ(backend->counters(0).allocations, 1);
  EXPECT_EQ(backend->counters(0).frees, 1) << "GPU 0 was rolled back";
  EXPECT_EQ(backend->counters(0).sessions_live, 0);
  EXPECT_FALSE(group.keepers()[0]->worker_alive());
}

TEST(KeeperGroup, AlreadyRunningChildIsNotRolledBack) {
  auto backend = std::make_shared<FakeBackend>(2);
  KeeperGroup group(fast(std::vector<std::int64_t>{0}), provide(backend));
  group.keep();
  KeeperGroup both(fast(), provide(backend));
  both.keepers()[0]->keep();  // started by an earlier call
  backend->script(1).open_error = "boom";
  EXPECT_THROW(both.keep(), gpu::GpuError);
  EXPECT_TRUE(both.keepers()[0]->worker_alive());
  both.release();
  group.release();
}

TEST(KeeperGroup, ZeroDevicesIsNoGpuAvailable) {
  auto backend = std::make_shared<FakeBackend>(0);
  try {
    KeeperGroup group(fast(), provide(backend));
    FAIL() << "construction should throw";
  } catch (const NoGPUAvailableError& e) {
    EXPECT_EQ(std::string(e.what()), "No GPUs available for GlobalGPUController");
    EXPECT_NE(dynamic_cast<const ControllerStartupUnavailable*>(&e), nullptr);
    EXPECT_NE(dynamic_cast<const ValueError*>(&e), nullptr);
  }
}

TEST(KeeperGroup, OrdinalBeyondTheVisibleCount) {
  auto backend = std::make_shared<FakeBackend>(1);
  try {
    KeeperGroup group(fast(std::vector<std::int64_t>{1}), provide(backend));
    FAIL() << "construction should throw";
  } catch (const InvalidVisibleGPUSelectionError& e) {
    EXPECT_EQ(std::string(e.what()),
              "gpu_ids must be visible device ordinals less than 1; got [1]");
  }
  EXPECT_EQ(backend->counters(0).opens, 0);
}

TEST(KeeperGroup, EnumerationFailureIsNoGpuAvailable) {
  auto backend = std::make_shared<FakeBackend>(1);
  backend->count_error = true;
  try {
    KeeperGroup group(fast(), provide(backend));
    FAIL() << "construction should throw";
  } catch (const NoGPUAvailableError& e) {
    EXPECT_EQ(std::string(e.what()), "Unable to enumerate visible GPUs: count failed");
  }
}

TEST(KeeperGroup, NoPlatformIsUnsupported) {
  try {
    KeeperGroup group(fast(), [] { return std::shared_ptr<gpu::Backend>(); });
    FAIL() << "construction should throw";
  } catch (const UnsupportedControllerPlatformError& e) {
    EXPECT_NE(std::string(e.what()).find("not implemented for platform"), std::string::npos);
  }
}

TEST(KeeperGroup, InputValidationPrecedesThePlatformProbe) {
  auto check = [](GroupOptions options, const std::string& message) {
    try {
      KeeperGroup group(options, must_not_probe());
      ADD_FAILURE() << "expected: " << message;
    } catch (const ValueError& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  };
  auto with = [](auto mutate) {
    GroupOptions o = fast();
    mutate(o);
    return o;
  };
  check(with([](auto& o) { o.gpu_ids = std::vector<std::int64_t>{}; }),
        "gpu_ids must select at least one GPU");
  check(with([](auto& o) {
          o.gpu_ids = std::vector<std::int64_t>{0, 0};
        }),
        "gpu_ids must not contain duplicate values");
  check(with([](auto& o) { o.gpu_ids = std::vector<std::int64_t>{-1}; }),
        "gpu_ids must contain non-negative integers");
  check(with([](auto& o) { o.interval_seconds = 0; }), "interval must be positive");
  check(with([](auto& o) { o.interval_seconds = std::nan(""); }),
        "interval must be finite and positive");
  check(with([](auto& o) { o.interval_seconds = 9223372037.0; }),
        "interval must be no more than 9223372036 seconds");
  check(with([](auto& o) { o.busy_threshold = -2; }),
        "busy_threshold must be -1 or an integer between 0 and 100");
  check(with([](auto& o) { o.busy_threshold = 101; }),
        "busy_threshold must be -1 or an integer between 0 and 100");
  check(with([](auto& o) { o.vram = "1"; }), "memory size must be at least 4 bytes");
  check(with([](auto& o) { o.vram = "2000000TB"; }), "vram must be no more than 1 PiB");
  try {
    KeeperGroup group(with([](auto& o) { o.vram = "not-a-size"; }), must_not_probe());
    ADD_FAILURE() << "expected an invalid format error";
  } catch (const ValueError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("invalid format: ", 0), 0u) << e.what();
  }
}

TEST(KeeperGroup, ReleaseAggregatesErrorsInControllerOrder) {
  auto backend = std::make_shared<FakeBackend>(3);
  backend->block_sync();
  GroupOptions options = fast();
  options.interval_seconds = 0.01;
  KeeperGroup group(options, provide(backend));
  group.keep();
  ASSERT_TRUE(wait_until([&] {
    return backend->counters(0).launches > 0 && backend->counters(1).launches > 0 &&
           backend->counters(2).launches > 0;
  }));
  const auto start = std::chrono::steady_clock::now();
  try {
    group.release();
    FAIL() << "release() should fail";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Failed to release GPU controllers: rank 0: keep thread did not stop within 2.0s; "
              "rank 1: keep thread did not stop within 2.0s; rank 2: keep thread did not stop "
              "within 2.0s");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3500ms) << "children stop concurrently";
  backend->unblock_sync();
  ASSERT_TRUE(wait_until([&] { return !group.keepers()[2]->worker_alive(); }));
  EXPECT_NO_THROW(group.release());
}

TEST(KeeperGroup, RuntimeErrorReportsTheFirstFailedChild) {
  auto backend = std::make_shared<FakeBackend>(3);
  backend->script(1).launch_error = 700;
  GroupOptions options = fast();
  options.interval_seconds = 30;
  KeeperGroup group(options, provide(backend));
  EXPECT_EQ(group.runtime_error(), nullptr);
  group.keep();
  ASSERT_TRUE(wait_until([&] { return group.runtime_error() != nullptr; }));
  try {
    std::rethrow_exception(group.runtime_error());
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "rank 1: unexpected CUDA keep worker failure: illegal memory access");
  }
  group.release();
}

TEST(KeeperGroup, KeepTwiceMakesNoNewAllocations) {
  auto backend = std::make_shared<FakeBackend>(2);
  KeeperGroup group(fast(), provide(backend));
  group.keep();
  group.keep();
  EXPECT_EQ(backend->counters(0).opens, 1);
  EXPECT_EQ(backend->counters(1).opens, 1);
  group.release();
}

}  // namespace
}  // namespace keepgpu::keeper
