// Requests that overlap a start in progress (at the manager level) and the start timeout.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

constexpr const char* kTimedOut =
    "Timed out while stopping some sessions; release continues in background.";
constexpr const char* kReleaseTimedOut =
    "Timed out while stopping session; release continues in background.";

FakePlan slow_start(std::chrono::milliseconds delay) {
  return plan_with([delay](FakeBackend& b) { b.script(0).open_delay = delay; });
}

keepgpu::core::Json with_id(const std::string& id, std::string_view extra = "") {
  auto params = js(extra.empty() ? "{}" : extra);
  params["job_id"] = id;
  return params;
}

// Starts `id` on another thread; the future yields the start result or its ApiError text.
std::future<std::string> start_async(Harness& h, const std::string& id,
                                     std::string_view extra = "") {
  const auto params = with_id(id, extra);
  return std::async(std::launch::async, [&h, params]() -> std::string {
    try {
      return h.api.start_keep(params)["job_id"];
    } catch (const service::ApiError& e) {
      return "error " + std::to_string(e.code()) + ": " + e.what();
    }
  });
}

bool shows_state(Harness& h, const std::string& id, const std::string& state) {
  return h.api.status(with_id(id))["state"] == state;
}

TEST(SessionConcurrency, StatusShowsStartingWithoutWaitingForTheStart) {
  Harness h;
  h.api.start_keep(with_id("older"));
  h.fleet.plan(slow_start(1500ms));
  auto pending = start_async(h, "slowstart-j", R"({"gpu_ids": [0]})");
  ASSERT_TRUE(wait_until([&] { return shows_state(h, "slowstart-j", "starting"); }));

  keepgpu::core::Json one;
  keepgpu::core::Json all;
  const double ms = elapsed_ms([&] {
    one = h.api.status(with_id("slowstart-j"));
    all = h.api.status(js("{}"));
  });
  EXPECT_LT(ms, 200.0) << "status must never wait for a start";
  EXPECT_EQ(one, js(R"({"active": true, "job_id": "slowstart-j", "params": {"gpu_ids": [0],
      "vram": "1GiB", "interval": 300, "busy_threshold": 25}, "state": "starting",
      "last_error": null, "held_bytes": 0, "gpus": []})"));
  ASSERT_EQ(all["active_jobs"].size(), 2u);
  EXPECT_EQ(all["active_jobs"][0]["job_id"], "slowstart-j") << "reservations come first";
  EXPECT_EQ(all["active_jobs"][0]["state"], "starting");
  EXPECT_EQ(all["active_jobs"][1]["job_id"], "older");

  EXPECT_EQ(pending.get(), "slowstart-j");
  EXPECT_TRUE(shows_state(h, "slowstart-j", "active"));
}

TEST(SessionConcurrency, DuplicateDuringStartIsRejectedBeforeASecondBuild) {
  Harness h;
  h.fleet.plan(slow_start(1000ms));
  auto pending = start_async(h, "slowstart-d");
  ASSERT_TRUE(wait_until([&] { return shows_state(h, "slowstart-d", "starting"); }));
  const auto error = api_error_of([&] { h.api.start_keep(with_id("slowstart-d")); });
  EXPECT_EQ(error.code(), service::kInvalidParams);
  EXPECT_STREQ(error.what(), "job_id slowstart-d already exists");
  EXPECT_EQ(pending.get(), "slowstart-d");
  EXPECT_EQ(h.fleet.builds(), 1u);
}

TEST(SessionConcurrency, StopWaitsForAStartThenReleasesIt) {
  Harness h;
  h.fleet.plan(slow_start(800ms));
  auto pending = start_async(h, "slowstart-s");
  ASSERT_TRUE(wait_until([&] { return shows_state(h, "slowstart-s", "starting"); }));
  EXPECT_EQ(h.api.stop_keep(with_id("slowstart-s")),
            js(R"({"stopped": ["slowstart-s"], "timed_out": [], "failed": [], "errors": {}})"));
  EXPECT_EQ(pending.get(), "slowstart-s") << "the start itself still succeeds";
  EXPECT_EQ(h.api.status(with_id("slowstart-s"))["active"], false);
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionConcurrency, StopWaitTimeoutMarksPendingStopAndReleasesAfterStart) {
  auto timeouts = fast_timeouts();
  timeouts.startup_stop_wait = 200ms;
  Harness h(timeouts);
  h.fleet.plan(slow_start(1500ms));
  auto pending = start_async(h, "slowstart-p");
  ASSERT_TRUE(wait_until([&] { return shows_state(h, "slowstart-p", "starting"); }));

  keepgpu::core::Json result;
  const double ms = elapsed_ms([&] { result = h.api.stop_keep(with_id("slowstart-p")); });
  EXPECT_LT(ms, 1200.0);
  EXPECT_EQ(result, js(std::string(R"({"stopped": [], "timed_out": ["slowstart-p"], "failed": [],
      "errors": {}, "message": ")") +
                       kTimedOut + "\"}"));
  const auto status = h.api.status(with_id("slowstart-p"));
  EXPECT_EQ(status["state"], "stopping");
  EXPECT_EQ(status["last_error"], kReleaseTimedOut);
  EXPECT_EQ(h.api.status(js("{}"))["active_jobs"][0]["state"], "stopping");

  EXPECT_EQ(pending.get(), "slowstart-p") << "upstream's quirk: the start caller sees success";
  EXPECT_TRUE(wait_until([&] { return h.api.status(with_id("slowstart-p"))["active"] == false; }));
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionConcurrency, StopAllTakesASnapshot) {
  Harness h;
  h.fleet.plan(slow_start(1000ms));
  auto a = start_async(h, "slowstart-a");
  ASSERT_TRUE(wait_until([&] { return shows_state(h, "slowstart-a", "starting"); }));
  auto stop_all = std::async(std::launch::async, [&h] { return h.api.stop_keep(js("{}")); });
  // Give the stop-all time to take its snapshot, then start a session it must not touch.
  std::this_thread::sleep_for(200ms);
  h.api.start_keep(with_id("b"));
  const auto result = stop_all.get();
  EXPECT_EQ(result["stopped"], js(R"(["slowstart-a"])"));
  EXPECT_EQ(result["timed_out"], js("[]"));
  EXPECT_EQ(a.get(), "slowstart-a");
  EXPECT_TRUE(shows_state(h, "b", "active"));
  EXPECT_EQ(h.sessions.size(), 1u);
}

TEST(SessionConcurrency, StopAllWaitTimeoutReportsStartingReservations) {
  auto timeouts = fast_timeouts();
  timeouts.startup_stop_wait = 200ms;
  Harness h(timeouts);
  h.api.start_keep(with_id("a"));
  h.fleet.plan(slow_start(1000ms));
  auto pending = start_async(h, "slowstart-t");
  ASSERT_TRUE(wait_until([&] { return shows_state(h, "slowstart-t", "starting"); }));
  const auto result = h.api.stop_keep(js("{}"));
  EXPECT_EQ(result["stopped"], js(R"(["a"])"));
  EXPECT_EQ(result["timed_out"], js(R"(["slowstart-t"])"));
  EXPECT_EQ(result["message"], kTimedOut);
  EXPECT_EQ(pending.get(), "slowstart-t");
  EXPECT_TRUE(wait_until([&] { return h.sessions.size() == 0; }));
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionConcurrency, StopDuringAFailingStartFindsNothing) {
  Harness h;
  h.fleet.plan(plan_with([](FakeBackend& b) {
    b.script(0).open_delay = 800ms;
    b.script(0).open_error = "fake start failure";
  }));
  auto pending = start_async(h, "slowfailstart-j");
  ASSERT_TRUE(wait_until([&] { return shows_state(h, "slowfailstart-j", "starting"); }));
  EXPECT_EQ(h.api.stop_keep(with_id("slowfailstart-j")),
            js(R"({"stopped": [], "timed_out": [], "failed": [], "errors": {},
                   "message": "job_id not found"})"));
  EXPECT_EQ(pending.get(), "error -32603: fake start failure");
}

TEST(SessionConcurrency, StartTimeoutFreesTheIdAndReleasesInTheBackground) {
  auto timeouts = fast_timeouts();
  timeouts.start_timeout = 300ms;
  Harness h(timeouts);
  h.fleet.plan(slow_start(1500ms));
  const auto error = api_error_of([&] { h.api.start_keep(with_id("hung")); });
  EXPECT_EQ(error.code(), service::kInternalError);
  EXPECT_NE(std::string(error.what()).find("did not complete within 0.3s"), std::string::npos)
      << error.what();
  EXPECT_EQ(h.sessions.size(), 0u);
  // The id is free at once; the new start gets its own backend.
  EXPECT_EQ(h.api.start_keep(with_id("hung"))["job_id"], "hung");
  const auto late = h.fleet.backend(0);
  // The abandoned start finishes, holds its GPU briefly, and is released without registering.
  // (Its worker may be released before it ever reaches a batch, so the open is what proves the
  // late start ran.)
  ASSERT_TRUE(wait_until([&] { return late->counters(0).opens.load() >= 1; }))
      << "its device was opened";
  EXPECT_TRUE(
      wait_until([&] { return late->allocated_bytes() == 0 && late->live_sessions() == 0; }));
  const auto jobs = h.api.status(js("{}"))["active_jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["job_id"], "hung");
}

TEST(SessionConcurrency, ConcurrentStartsOfDifferentIdsProceedTogether) {
  Harness h;
  for (int i = 0; i < 3; ++i)
    h.fleet.plan(slow_start(700ms));
  std::vector<std::future<std::string>> starts;
  double ms = elapsed_ms([&] {
    for (const char* id : {"c1", "c2", "c3"})
      starts.push_back(start_async(h, id));
    for (auto& s : starts)
      s.get();
  });
  EXPECT_LT(ms, 1900.0) << "different starts must not serialise on the registry";
  EXPECT_EQ(h.sessions.size(), 3u);
}

}  // namespace
}  // namespace keepgpu::service_testing
