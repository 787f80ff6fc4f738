// Single-GPU keep loop (start-up and release) against an in-process
// backend double.
#include "keeper/keeper.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/errors.hpp"
#include "fake_backend.hpp"

namespace keepgpu::keeper {
namespace {

using namespace std::chrono_literals;
using testing::FakeBackend;
using testing::wait_until;

std::string what(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  }
  return {};
}

KeeperOptions fast_options(int threshold = -1) {
  KeeperOptions o;
  o.rank = 0;
  o.interval_seconds = 0.05;
  o.elements = 2097152;  // 8 MiB
  o.busy_threshold = threshold;
  o.relu_iterations = 64;
  return o;
}

TEST(Keeper, HappyPathAllocatesOnceAndRunsBatches) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, fast_options());
  keeper.keep();
  auto& c = backend->counters(0);
  ASSERT_TRUE(wait_until([&] { return c.launches >= 128; }));
  EXPECT_EQ(c.allocations, 1);
  EXPECT_EQ(c.allocated_bytes, 8388608u);
  EXPECT_EQ(c.launches % 64, 0) << "launches come in whole batches while running";
  EXPECT_GE(c.syncs, 2);
  EXPECT_EQ(keeper.status().state, KeeperState::holding);
  EXPECT_EQ(keeper.status().held_bytes, 8388608u);
  keeper.release();
  EXPECT_EQ(c.allocated_bytes, 0u);
  EXPECT_EQ(c.sessions_live, 0) << "the context is released with the worker";
  EXPECT_FALSE(keeper.worker_alive());
}

TEST(Keeper, SelectFailureIsRaisedRawAndStateCleared) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).open_error = "cuda startup failed";
  Keeper keeper(backend, fast_options());
  try {
    keeper.keep();
    FAIL() << "keep() should throw";
  } catch (const gpu::GpuError& e) {
    EXPECT_EQ(std::string(e.what()), "cuda startup failed");
  }
  EXPECT_FALSE(keeper.has_worker_state());
  EXPECT_FALSE(keeper.worker_alive());
}

TEST(Keeper, NonOomStartupAllocationFailureIsWrapped) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).alloc_results = {999};
  Keeper keeper(backend, fast_options());
  try {
    keeper.keep();
    FAIL() << "keep() should throw";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "rank 0: unexpected CUDA keep worker failure: cuda startup allocation failed");
  }
  EXPECT_FALSE(keeper.has_worker_state());
}

TEST(Keeper, UnknownTelemetryDefersAllocation) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).utilization = {std::nullopt};
  Keeper keeper(backend, fast_options(25));
  keeper.keep();
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(keeper.worker_alive());
  EXPECT_EQ(backend->counters(0).allocations, 0);
  EXPECT_EQ(keeper.allocation_status(), nullptr);
  EXPECT_EQ(keeper.status().state, KeeperState::deferring);
  keeper.release();
  EXPECT_FALSE(keeper.has_worker_state());
}

TEST(Keeper, StartupOomRetriesAndReleaseInterruptsTheWait) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).alloc_results = {2, 2, 2, 2, 2, 2, 2, 2};
  auto options = fast_options();
  options.interval_seconds = 60;
  Keeper keeper(backend, options);
  keeper.keep();
  EXPECT_EQ(backend->counters(0).oom_refusals, 1)
      << "the first attempt is made before keep() returns";
  EXPECT_TRUE(keeper.worker_alive());
  EXPECT_EQ(keeper.allocation_status(), nullptr);
  EXPECT_EQ(keeper.status().state, KeeperState::retrying);
  const auto start = std::chrono::steady_clock::now();
  keeper.release();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Keeper, OomIsRetriedEveryIntervalUntilItFits) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).alloc_results = {2, 2};
  Keeper keeper(backend, fast_options());
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).allocations == 1; }));
  EXPECT_EQ(backend->counters(0).oom_refusals, 2);
  ASSERT_TRUE(wait_until([&] { return keeper.status().state == KeeperState::holding; }));
  keeper.release();
}

TEST(Keeper, RequestLargerThanTheDeviceFailsAtOnce) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).total_memory = 4ULL << 30;
  auto options = fast_options();
  options.elements = (8ULL << 30) / 4;
  Keeper keeper(backend, options);
  try {
    keeper.keep();
    FAIL() << "keep() should throw";
  } catch (const VramExceedsDeviceError& e) {  // bad input, not a device failure
    const std::string text = e.what();
    EXPECT_NE(text.find("GPU 0"), std::string::npos) << text;
    EXPECT_NE(text.find("8.0 GiB"), std::string::npos) << text;
    EXPECT_NE(text.find("4.0 GiB"), std::string::npos) << text;
  }
  EXPECT_EQ(backend->counters(0).allocations, 0);
}

TEST(Keeper, BusyGpuDefersAllocationAndLaunches) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).utilization = {100.0};
  Keeper keeper(backend, fast_options(10));
  keeper.keep();
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(backend->counters(0).allocations, 0);
  EXPECT_EQ(backend->counters(0).launches, 0);
  EXPECT_GE(backend->counters(0).utilization_reads, 2);
  keeper.release();
}

TEST(Keeper, BusyThenIdleAllocatesAfterTheSecondRead) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).utilization = {100.0, 0.0};
  Keeper keeper(backend, fast_options(10));
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 64; }));
  EXPECT_EQ(backend->counters(0).allocations, 1);
  keeper.release();
}

TEST(Keeper, ThresholdMinusOneIgnoresBusy) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).utilization = {100.0};
  Keeper keeper(backend, fast_options(-1));
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 64; }));
  keeper.release();
}

TEST(Keeper, BacksOffWhileBusyAndResumesAfter) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).utilization = {0.0};
  Keeper keeper(backend, fast_options(25));
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 64; }));
  {
    std::lock_guard lock(backend->mutex());
    backend->script(0).utilization = {90.0};
  }
  ASSERT_TRUE(wait_until([&] { return keeper.status().state == KeeperState::backing_off; }));
  const int launches = backend->counters(0).launches;
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(backend->counters(0).launches, launches) << "no batches while busy";
  EXPECT_EQ(backend->counters(0).allocated_bytes, 8388608u) << "memory stays held while busy";
  {
    std::lock_guard lock(backend->mutex());
    backend->script(0).utilization = {5.0};
  }
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches > launches; }));
  keeper.release();
}

TEST(Keeper, FatalBatchFailureIsCapturedAfterStartup) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).launch_error = 700;
  backend->script(0).launch_error_after = 10;
  auto options = fast_options();
  options.interval_seconds = 30;
  Keeper keeper(backend, options);
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return !keeper.worker_alive(); }));
  ASSERT_NE(keeper.allocation_status(), nullptr);
  EXPECT_EQ(what(keeper.allocation_status()),
            "rank 0: unexpected CUDA keep worker failure: illegal memory access");
  EXPECT_EQ(keeper.status().state, KeeperState::failed);
  EXPECT_EQ(backend->counters(0).allocated_bytes, 0u) << "the dead worker freed its buffer";
  keeper.release();  // stale-worker cleanup
  EXPECT_FALSE(keeper.has_worker_state());
  EXPECT_NE(keeper.allocation_status(), nullptr) << "the failure survives release()";
  // keep() after a runtime failure starts afresh.
  backend->script(0).launch_error = 0;
  keeper.keep();
  EXPECT_EQ(keeper.allocation_status(), nullptr);
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).allocations == 2; }));
  keeper.release();
}

TEST(Keeper, AllocationFailureAfterDeferralIsCaptured) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).utilization = {100.0, 0.0};
  backend->script(0).alloc_results = {999};
  Keeper keeper(backend, fast_options(10));
  keeper.keep();  // the deferral confirmed startup
  ASSERT_TRUE(wait_until([&] { return keeper.allocation_status() != nullptr; }));
  EXPECT_EQ(what(keeper.allocation_status()),
            "rank 0: unexpected CUDA keep worker failure: cuda startup allocation failed");
  keeper.release();
}

TEST(Keeper, SteadyStateOomIsRetried) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).launch_error = 2;
  backend->script(0).launch_error_after = 64;
  Keeper keeper(backend, fast_options());
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).oom_refusals >= 2; }));
  EXPECT_EQ(keeper.allocation_status(), nullptr);
  EXPECT_TRUE(keeper.worker_alive());
  EXPECT_EQ(backend->counters(0).frees, 0) << "the buffer stays allocated";
  keeper.release();
}

TEST(Keeper, StartupTimeoutWithBusyWorker) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).alloc_delay = 1500ms;
  auto options = fast_options();
  options.startup_timeout = 300ms;
  options.startup_grace = 100ms;
  Keeper keeper(backend, options);
  try {
    keeper.keep();
    FAIL() << "keep() should throw";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0: keep thread did not complete startup within 0.3s");
  }
  try {
    keeper.keep();
    FAIL() << "second keep() should throw";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0: previous keep thread startup did not complete");
  }
  ASSERT_TRUE(wait_until([&] { return !keeper.worker_alive(); }));
  keeper.release();
  EXPECT_FALSE(keeper.has_worker_state());
  EXPECT_EQ(backend->counters(0).allocated_bytes, 0u);
}

TEST(Keeper, StartupTimeoutWorkerExitsDuringGrace) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).alloc_delay = 400ms;
  auto options = fast_options();
  options.startup_timeout = 300ms;
  options.startup_grace = 1000ms;
  Keeper keeper(backend, options);
  try {
    keeper.keep();
    FAIL() << "keep() should throw";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0: keep thread exited before startup completed");
  }
  EXPECT_FALSE(keeper.has_worker_state());
}

TEST(Keeper, KeepTwiceIsHarmless) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, fast_options());
  keeper.keep();
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 64; }));
  EXPECT_EQ(backend->counters(0).opens, 1);
  EXPECT_EQ(backend->counters(0).allocations, 1);
  keeper.release();
}

TEST(Keeper, CyclesAllocateAndFreeEachTime) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, fast_options());
  for (int i = 1; i <= 3; ++i) {
    keeper.keep();
    ASSERT_TRUE(wait_until([&] { return backend->counters(0).allocations == i; }));
    EXPECT_TRUE(keeper.worker_alive());
    keeper.release();
    EXPECT_EQ(backend->counters(0).frees, i);
    EXPECT_FALSE(keeper.worker_alive());
  }
}

TEST(Keeper, ReleaseTimesOutOnAHungSynchronise) {
  auto backend = std::make_shared<FakeBackend>();
  backend->block_sync();
  auto options = fast_options();
  options.interval_seconds = 0.01;
  Keeper keeper(backend, options);
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 64; }));
  const auto start = std::chrono::steady_clock::now();
  try {
    keeper.release();
    FAIL() << "release() should time out";
  } catch (const TimeoutError& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0: keep thread did not stop within 2.0s");
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 1900ms);
  EXPECT_TRUE(keeper.has_worker_state()) << "the handle is kept for a later release";
  backend->unblock_sync();
  ASSERT_TRUE(wait_until([&] { return !keeper.worker_alive(); }));
  keeper.release();  // late release cleans up
  EXPECT_FALSE(keeper.has_worker_state());
  EXPECT_EQ(backend->counters(0).allocated_bytes, 0u);
}

TEST(Keeper, ReleaseBeforeKeepAndTwiceOnlyWarn) {
  auto backend = std::make_shared<FakeBackend>();
  Keeper keeper(backend, fast_options());
  EXPECT_NO_THROW(keeper.release());
  keeper.keep();
  keeper.release();
  EXPECT_NO_THROW(keeper.release());
  EXPECT_EQ(backend->counters(0).frees, 1);
}

TEST(Keeper, ReleaseWakesALongInterval) {
  auto backend = std::make_shared<FakeBackend>();
  auto options = fast_options();
  options.interval_seconds = 300;
  Keeper keeper(backend, options);
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).syncs >= 1; }));
  std::this_thread::sleep_for(50ms);  // now inside the 300 s wait
  const auto start = std::chrono::steady_clock::now();
  keeper.release();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Keeper, MaximumIntervalDoesNotOverflowOrSpin) {
  auto backend = std::make_shared<FakeBackend>();
  auto options = fast_options();
  options.interval_seconds = 9223372036.0;
  Keeper keeper(backend, options);
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 64; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(backend->counters(0).utilization_reads, 2)
      << "one read before allocation, one per batch";
  const auto start = std::chrono::steady_clock::now();
  keeper.release();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(Keeper, EarlyBreakStopsLaunchingAndSyncsOnce) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).launch_delay = 1000us;
  auto options = fast_options();
  options.relu_iterations = 5000;
  Keeper keeper(backend, options);
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 50; }));
  keeper.release();
  EXPECT_LT(backend->counters(0).launches, 1000);
  EXPECT_EQ(backend->counters(0).syncs, 1) << "one synchronise after the early break";
}

TEST(Keeper, JoinTimeoutFormula) {
  EXPECT_NEAR(release_join_timeout(0.01), 2.01, 1e-9);  // printed as "2.0s"
  EXPECT_DOUBLE_EQ(release_join_timeout(1.0), 3.0);
  EXPECT_DOUBLE_EQ(release_join_timeout(28), 30.0);
  EXPECT_DOUBLE_EQ(release_join_timeout(300), 30.0);
}

TEST(Keeper, BigBufferElementCountIsNotTruncated) {
  auto backend = std::make_shared<FakeBackend>();
  backend->script(0).total_memory = 32ULL << 30;
  auto options = fast_options();
  options.elements = 1ULL << 32;
  Keeper keeper(backend, options);
  keeper.keep();
  EXPECT_EQ(backend->counters(0).last_alloc_elements, 1ULL << 32);
  EXPECT_EQ(backend->counters(0).allocated_bytes, 1ULL << 34);
  keeper.release();
}

TEST(Workload, BatchTimingUsesTheInjectedMonotonicClock) {
  FakeBackend backend;
  auto session = backend.open(0);
  session->allocate(16);
  std::vector<double> ticks = {10.0, 10.006};
  std::size_t next = 0;
  BatchWorkload workload(2, [&] { return ticks.at(next++); });
  const BatchResult result = workload.run_batch(*session, 0, std::stop_token{});
  EXPECT_EQ(result.launches, 2);
  EXPECT_NEAR(result.avg_ms, 3.0, 1e-9);
}

}  // namespace
}  // namespace keepgpu::keeper

namespace keepgpu::keeper {
namespace {

using namespace std::chrono_literals;
using testing::FakeBackend;
using testing::wait_until;

// The allocation retry budget of upstream's ROCm controller.
KeeperOptions rocm_options(std::optional<int> budget, int threshold = -1) {
  KeeperOptions o;
  o.interval_seconds = 0.05;
  o.elements = 1024;
  o.busy_threshold = threshold;
  o.relu_iterations = 4;
  o.max_allocation_retries = budget;
  return o;
}

std::shared_ptr<FakeBackend> rocm_backend() {
  auto backend = std::make_shared<FakeBackend>();
  backend->platform_kind = gpu::Platform::rocm;
  return backend;
}

TEST(KeeperRetryBudget, BudgetOfOneFailsTheStartUnwrapped) {
  auto backend = rocm_backend();
  backend->script(0).alloc_results = {2, 2, 2};
  Keeper keeper(backend, rocm_options(1));
  try {
    keeper.keep();
    FAIL() << "keep() should throw";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0: failed to allocate tensor after 1 attempts");
  }
  EXPECT_FALSE(keeper.has_worker_state());
}

TEST(KeeperRetryBudget, NoBudgetKeepsRetrying) {
  auto backend = rocm_backend();
  backend->script(0).alloc_results = {2, 2, 2, 2};
  Keeper keeper(backend, rocm_options(std::nullopt));
  keeper.keep();
  EXPECT_EQ(backend->counters(0).oom_refusals, 1) << "one attempt before keep() returned";
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).allocations == 1; }));
  EXPECT_EQ(keeper.allocation_status(), nullptr);
  keeper.release();
}

TEST(KeeperRetryBudget, BudgetExhaustedAfterStartupIsTheRecordedFailure) {
  auto backend = rocm_backend();
  backend->script(0).alloc_results = {2, 2, 2};
  Keeper keeper(backend, rocm_options(2));
  keeper.keep();  // the first OOM confirmed startup
  ASSERT_TRUE(wait_until([&] { return keeper.allocation_status() != nullptr; }));
  try {
    std::rethrow_exception(keeper.allocation_status());
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), "rank 0: failed to allocate tensor after 2 attempts");
  }
  ASSERT_TRUE(wait_until([&] { return !keeper.worker_alive(); }));
  keeper.release();
}

TEST(KeeperRetryBudget, DeferralsDoNotConsumeTheBudget) {
  auto backend = rocm_backend();
  backend->script(0).utilization = {100.0, 100.0, 0.0, 0.0};
  Keeper keeper(backend, rocm_options(1, 25));
  keeper.keep();
  ASSERT_TRUE(wait_until([&] { return backend->counters(0).launches >= 4; }));
  EXPECT_EQ(backend->counters(0).allocations, 1);
  EXPECT_EQ(keeper.allocation_status(), nullptr);
  keeper.release();
}

TEST(KeeperRetryBudget, NonPositiveBudgetIsRejected) {
  auto backend = rocm_backend();
  EXPECT_THROW(Keeper(backend, rocm_options(0)), ValueError);
  EXPECT_THROW(Keeper(backend, rocm_options(-1)), ValueError);
}

}  // namespace
}  // namespace keepgpu::keeper
