// Releases that fail, time out or finish late. A
// "slow release" is a keeper whose worker is held inside a batch's synchronise; a
// "failing release" is such a keeper with a short interval, whose release gives up after the
// keeper's own join bound (about 2 s) and reports the timeout as an error.
#include <gtest/gtest.h>

#include <thread>

#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

constexpr const char* kTimedOut =
    "Timed out while stopping some sessions; release continues in background.";
constexpr const char* kFailed = "Some sessions failed to stop; inspect status for details.";
constexpr const char* kReleaseTimedOut =
    "Timed out while stopping session; release continues in background.";
constexpr const char* kKeeperGaveUp =
    "Failed to release GPU controllers: rank 0: keep thread did not stop within";

service::SessionTimeouts with_release_timeout(std::chrono::milliseconds release) {
  auto t = fast_timeouts();
  t.release_timeout = release;
  return t;
}

FakePlan slow_release() {
  return plan_with([](FakeBackend& b) { b.hold_sync(); });
}

FakePlan failing_release() {
  FakePlan plan = plan_with([](FakeBackend& b) { b.hold_sync(); });
  plan.interval = 0.01;  // the keeper's own release bound is then about 2 s
  return plan;
}

void start(Harness& h, const std::string& id) {
  keepgpu::core::Json params = keepgpu::core::Json::object();
  params["job_id"] = id;
  h.api.start_keep(params);
}

bool starts_with(const keepgpu::core::Json& text, const std::string& prefix) {
  return text.is_string() && text.get<std::string>().rfind(prefix, 0) == 0;
}

TEST(SessionRelease, FailingReleaseBecomesStopFailedAndIsRetried) {
  Harness h(with_release_timeout(8000ms));
  h.fleet.plan(failing_release());
  start(h, "failrelease-1");
  // Let the worker enter its first batch, so the release really has to wait for it.
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));

  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto result = stop(h, "failrelease-1");
    EXPECT_EQ(result["stopped"], js("[]"));
    EXPECT_EQ(result["timed_out"], js("[]"));
    EXPECT_EQ(result["failed"], js(R"(["failrelease-1"])"));
    EXPECT_TRUE(starts_with(result["errors"]["failrelease-1"], kKeeperGaveUp)) << result;
    EXPECT_EQ(result["message"], kFailed);
    const auto status = status_of(h, "failrelease-1");
    EXPECT_EQ(status["state"], "stop_failed");
    EXPECT_EQ(status["last_error"], result["errors"]["failrelease-1"]);
  }
  // Once the device lets go, a retry succeeds.
  h.fleet.unhold_all();
  EXPECT_EQ(stop(h, "failrelease-1")["stopped"], js(R"(["failrelease-1"])"));
  EXPECT_TRUE(wait_until([&] { return h.fleet.all_released(); }));
}

TEST(SessionRelease, SlowReleaseTimesOutThenCompletesInTheBackground) {
  Harness h(with_release_timeout(200ms));
  h.fleet.plan(slow_release());
  start(h, "slowrelease-1");
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));
  const auto result = stop(h, "slowrelease-1");
  EXPECT_EQ(result, js(std::string(R"({"stopped": [], "timed_out": ["slowrelease-1"],
      "failed": [], "errors": {}, "message": ")") +
                       kTimedOut + "\"}"));
  const auto status = status_of(h, "slowrelease-1");
  EXPECT_EQ(status["state"], "stopping");
  EXPECT_EQ(status["last_error"], kReleaseTimedOut);
  EXPECT_FALSE(h.fleet.all_released());

  h.fleet.unhold_all();
  EXPECT_TRUE(wait_until([&] { return status_of(h, "slowrelease-1")["active"] == false; }));
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionRelease, RepeatedStopWhileStoppingAnswersAtOnceWithoutASecondRelease) {
  Harness h(with_release_timeout(1000ms));
  h.fleet.plan(slow_release());
  start(h, "slowrelease-2");
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));
  EXPECT_EQ(stop(h, "slowrelease-2")["timed_out"], js(R"(["slowrelease-2"])"));
  keepgpu::core::Json again;
  const double ms = elapsed_ms([&] { again = stop(h, "slowrelease-2"); });
  EXPECT_EQ(again["timed_out"], js(R"(["slowrelease-2"])"));
  EXPECT_EQ(again["message"], kTimedOut);
  EXPECT_LT(ms, 500.0) << "a repeated stop must not wait for another release";
  h.fleet.unhold_all();
  EXPECT_TRUE(wait_until([&] { return h.sessions.size() == 0; }));
}

TEST(SessionRelease, LateFailureTurnsTheSessionStopFailed) {
  Harness h(with_release_timeout(200ms));
  h.fleet.plan(failing_release());
  start(h, "latefail-1");
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));
  EXPECT_EQ(stop(h, "latefail-1")["timed_out"], js(R"(["latefail-1"])"));
  EXPECT_EQ(status_of(h, "latefail-1")["state"], "stopping");
  ASSERT_TRUE(wait_until([&] { return status_of(h, "latefail-1")["state"] == "stop_failed"; }));
  EXPECT_TRUE(starts_with(status_of(h, "latefail-1")["last_error"], kKeeperGaveUp));
}

TEST(SessionRelease, LateResultNeverTouchesASessionThatReusedTheId) {
  Harness h(with_release_timeout(200ms));
  h.fleet.plan(failing_release());
  start(h, "reuse");
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));
  EXPECT_EQ(stop(h, "reuse")["timed_out"], js(R"(["reuse"])"));
  // While the old release still runs, the id is taken: a new start is a duplicate...
  EXPECT_EQ(api_error_of([&] { start(h, "reuse"); }).code(), service::kInvalidParams);
  // ...until the late failure lands; then a successful retry frees it and a new session is
  // unaffected by anything the old group still does.
  ASSERT_TRUE(wait_until([&] { return status_of(h, "reuse")["state"] == "stop_failed"; }));
  h.fleet.unhold_all();
  EXPECT_EQ(stop(h, "reuse")["stopped"], js(R"(["reuse"])"));
  start(h, "reuse");
  EXPECT_EQ(status_of(h, "reuse")["state"], "active");
  EXPECT_EQ(status_of(h, "reuse")["last_error"], nullptr);
}

TEST(SessionRelease, StopAllSortsOutcomesAndJoinsBothMessages) {
  Harness h(with_release_timeout(4000ms));
  start(h, "ok-a");
  h.fleet.plan(slow_release());
  start(h, "slowrelease-b");
  h.fleet.plan(failing_release());
  start(h, "failrelease-c");
  for (std::size_t i = 1; i < 3; ++i) {
    ASSERT_TRUE(wait_until([&] { return h.fleet.backend(i)->in_sync(); }));
  }

  const auto result = h.api.stop_keep(js("{}"));
  EXPECT_EQ(result["stopped"], js(R"(["ok-a"])"));
  EXPECT_EQ(result["timed_out"], js(R"(["slowrelease-b"])"));
  EXPECT_EQ(result["failed"], js(R"(["failrelease-c"])"));
  ASSERT_EQ(result["errors"].size(), 1u);
  EXPECT_TRUE(starts_with(result["errors"]["failrelease-c"], kKeeperGaveUp));
  EXPECT_EQ(result["message"], std::string(kTimedOut) + " " + kFailed);

  h.fleet.unhold_all();
  EXPECT_TRUE(wait_until([&] { return status_of(h, "slowrelease-b")["active"] == false; }));
}

TEST(SessionRelease, StopAllReportsAnAlreadyStoppingSessionWithoutReleasingItAgain) {
  Harness h(with_release_timeout(300ms));
  h.fleet.plan(slow_release());
  start(h, "a");
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));
  EXPECT_EQ(stop(h, "a")["timed_out"], js(R"(["a"])"));
  start(h, "b");
  keepgpu::core::Json result;
  const double ms = elapsed_ms([&] { result = h.api.stop_keep(js("{}")); });
  EXPECT_EQ(result["timed_out"], js(R"(["a"])"));
  EXPECT_EQ(result["stopped"], js(R"(["b"])"));
  EXPECT_EQ(result["message"], kTimedOut);
  EXPECT_LT(ms, 3000.0);
  h.fleet.unhold_all();
  EXPECT_TRUE(wait_until([&] { return h.sessions.size() == 0; }));
}

TEST(SessionRelease, StopAllReleasesInParallel) {
  // Each failing release takes the keeper's ~2 s join bound; three in a row would take ~6 s.
  Harness h(with_release_timeout(8000ms));
  for (const char* id : {"p1", "p2", "p3"}) {
    h.fleet.plan(failing_release());
    start(h, id);
  }
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(wait_until([&] { return h.fleet.backend(i)->in_sync(); }));
  }
  keepgpu::core::Json result;
  const double ms = elapsed_ms([&] { result = h.api.stop_keep(js("{}")); });
  EXPECT_EQ(result["failed"], js(R"(["p1", "p2", "p3"])"));
  EXPECT_LT(ms, 4500.0) << "releases must run concurrently";
}

TEST(SessionRelease, StopAllRetriesFailedSessions) {
  Harness h(with_release_timeout(200ms));
  h.fleet.plan(failing_release());
  start(h, "f");
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));
  stop(h, "f");
  ASSERT_TRUE(wait_until([&] { return status_of(h, "f")["state"] == "stop_failed"; }));
  h.fleet.unhold_all();
  EXPECT_EQ(h.api.stop_keep(js("{}"))["stopped"], js(R"(["f"])"));
  EXPECT_TRUE(h.fleet.all_released());
}

}  // namespace
}  // namespace keepgpu::service_testing
