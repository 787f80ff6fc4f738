// Start, status and stop results against real KeeperGroups on fake backends.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

using service::kInternalError;
using service::kInvalidParams;
using service::kStartupUnavailable;

const std::regex kUuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

TEST(SessionResults, StartReturnsTheIdAndStatusEchoesDefaults) {
  Harness h;
  EXPECT_EQ(h.api.start_keep(js(R"({"job_id": "jsonrpc-default", "gpu_ids": [0]})")),
            js(R"({"job_id": "jsonrpc-default"})"));
  const auto status = status_of(h, "jsonrpc-default");
  EXPECT_EQ(status["params"],
            js(R"({"gpu_ids": [0], "vram": "1GiB", "interval": 300, "busy_threshold": 25})"));
  EXPECT_TRUE(status["params"]["interval"].is_number_integer());
  EXPECT_EQ(h.fleet.backend(0)->allocated_bytes(), 1ULL << 30) << "the keeper holds 1 GiB";
}

TEST(SessionResults, GeneratedIdsAreDistinctUuid4WithNullGpuIds) {
  Harness h;
  const std::string a = h.api.start_keep(js("{}"))["job_id"];
  const std::string b = h.api.start_keep(js("{}"))["job_id"];
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::regex_match(a, kUuid4)) << a;
  EXPECT_TRUE(std::regex_match(b, kUuid4)) << b;
  EXPECT_TRUE(status_of(h, a)["params"]["gpu_ids"].is_null());
  EXPECT_TRUE(status_of(h, b)["params"]["gpu_ids"].is_null());
}

TEST(SessionResults, IntervalKeepsItsJsonKind) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "half", "interval": 0.5})"));
  h.api.start_keep(js(R"({"job_id": "five", "interval": 5})"));
  h.api.start_keep(js(R"({"job_id": "hundred", "interval": 1e2})"));
  const auto half = status_of(h, "half")["params"]["interval"];
  const auto five = status_of(h, "five")["params"]["interval"];
  const auto hundred = status_of(h, "hundred")["params"]["interval"];
  EXPECT_TRUE(half.is_number_float());
  EXPECT_EQ(half.dump(), "0.5");
  EXPECT_TRUE(five.is_number_integer());
  EXPECT_EQ(five.dump(), "5");
  EXPECT_TRUE(hundred.is_number_float());
  EXPECT_EQ(hundred.dump(), "100.0");
}

TEST(SessionResults, OtherParamsAreEchoedVerbatim) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "...", "busy_threshold": -1, "vram": " 1 GiB "})"));
  h.api.start_keep(js(R"({"job_id": "int-vram", "vram": 2048})"));
  const auto dots = status_of(h, "...")["params"];
  EXPECT_EQ(dots["busy_threshold"], -1);
  EXPECT_EQ(dots["vram"], " 1 GiB ");
  const auto bytes = status_of(h, "int-vram")["params"]["vram"];
  EXPECT_TRUE(bytes.is_number_integer());
  EXPECT_EQ(bytes, 2048);
  EXPECT_EQ(h.fleet.backend(1)->allocated_bytes(), 2048u) << "integer vram counts bytes";
}

TEST(SessionResults, DuplicateIdIsRejectedWithoutASecondBuild) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a"})"));
  const auto error = api_error_of([&] { h.api.start_keep(js(R"({"job_id": "a"})")); });
  EXPECT_EQ(error.code(), kInvalidParams);
  EXPECT_STREQ(error.what(), "job_id a already exists");
  EXPECT_EQ(h.fleet.builds(), 1u);
}

TEST(SessionResults, StatusOfOneAndOfAll) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a"})"));
  h.api.start_keep(js(R"({"job_id": "b", "gpu_ids": [0]})"));
  EXPECT_EQ(status_of(h, "a"), js(R"({"active": true, "job_id": "a", "params": {"gpu_ids": null,
            "vram": "1GiB", "interval": 300, "busy_threshold": 25}, "state": "active",
            "last_error": null, "held_bytes": 1073741824, "gpus": [{"id": 0, "phase": "holding",
            "held_bytes": 1073741824, "detail": null}]})"));
  EXPECT_EQ(status_of(h, "nope"), js(R"({"active": false, "job_id": "nope"})"));
  const auto all = h.api.status(js("{}"));
  ASSERT_EQ(all.size(), 1u);
  const auto& jobs = all["active_jobs"];
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["job_id"], "a");
  EXPECT_EQ(jobs[1]["job_id"], "b");
  for (const auto& job : jobs) {
    std::set<std::string> keys;
    for (const auto& item : job.items())
      keys.insert(item.key());
    EXPECT_EQ(keys, (std::set<std::string>{"job_id", "params", "state", "last_error", "held_bytes",
                                           "gpus"}));
  }
}

TEST(SessionResults, StatusSnapshotsCannotReachTheRegistry) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a", "gpu_ids": [0]})"));
  auto first = status_of(h, "a");
  first["params"]["gpu_ids"].push_back(7);
  EXPECT_EQ(status_of(h, "a")["params"]["gpu_ids"], js("[0]"));
}

TEST(SessionResults, StopOneReleasesAndFreesTheId) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a"})"));
  EXPECT_EQ(h.api.stop_keep(js(R"({"job_id": "a"})")),
            js(R"({"stopped": ["a"], "timed_out": [], "failed": [], "errors": {}})"));
  EXPECT_EQ(status_of(h, "a")["active"], false);
  EXPECT_TRUE(h.fleet.all_released()) << "VRAM and device contexts are back";
  EXPECT_EQ(h.api.start_keep(js(R"({"job_id": "a"})")), js(R"({"job_id": "a"})"));
}

TEST(SessionResults, StopUnknownAndStopAllEmpty) {
  Harness h;
  EXPECT_EQ(h.api.stop_keep(js(R"({"job_id": "nope"})")),
            js(R"({"stopped": [], "timed_out": [], "failed": [], "errors": {},
                   "message": "job_id not found"})"));
  EXPECT_EQ(h.api.stop_keep(js("{}")),
            js(R"({"stopped": [], "timed_out": [], "failed": [], "errors": {}})"));
  EXPECT_EQ(h.api.stop_keep(js(R"({"job_id": null})")),
            js(R"({"stopped": [], "timed_out": [], "failed": [], "errors": {}})"));
}

TEST(SessionResults, StopAllInRegistrationOrder) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a"})"));
  h.api.start_keep(js(R"({"job_id": "b"})"));
  EXPECT_EQ(h.api.stop_keep(js("{}")),
            js(R"({"stopped": ["a", "b"], "timed_out": [], "failed": [], "errors": {}})"));
  EXPECT_EQ(h.sessions.size(), 0u);
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionResults, ReusedIdRegistersAtTheEnd) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a"})"));
  h.api.start_keep(js(R"({"job_id": "b"})"));
  h.api.stop_keep(js(R"({"job_id": "a"})"));
  h.api.start_keep(js(R"({"job_id": "a"})"));
  const auto jobs = h.api.status(js("{}"))["active_jobs"];
  ASSERT_EQ(jobs.size(), 2u);
  EXPECT_EQ(jobs[0]["job_id"], "b");
  EXPECT_EQ(jobs[1]["job_id"], "a");
}

TEST(SessionResults, RuntimeFailureIsReportedByTheHealthProbe) {
  Harness h;
  h.fleet.plan(plan_with([](FakeBackend& b) { b.script(0).launch_error = 700; }));
  h.api.start_keep(js(R"({"job_id": "runtimefail-1"})"));
  ASSERT_TRUE(
      wait_until([&] { return status_of(h, "runtimefail-1")["state"] == "runtime_failed"; }));
  const auto one = status_of(h, "runtimefail-1");
  EXPECT_EQ(one["active"], true);
  const std::string error = one["last_error"];
  EXPECT_EQ(error.rfind("rank 0: ", 0), 0u) << error;
  EXPECT_NE(error.find("fake runtime failure"), std::string::npos) << error;
  const auto all = h.api.status(js("{}"))["active_jobs"];
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["state"], "runtime_failed");
  EXPECT_EQ(all[0]["last_error"], error) << "the first failure text is kept";
  EXPECT_EQ(h.api.stop_keep(js(R"({"job_id": "runtimefail-1"})"))["stopped"],
            js(R"(["runtimefail-1"])"));
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionResults, FailedStartLeavesNoTraceAndFreesTheIdAtOnce) {
  Harness h;
  for (int attempt = 0; attempt < 2; ++attempt) {
    h.fleet.plan(plan_with([](FakeBackend& b) { b.script(0).open_error = "fake start failure"; }));
    const auto error = api_error_of([&] { h.api.start_keep(js(R"({"job_id": "failstart-1"})")); });
    EXPECT_EQ(error.code(), kInternalError) << "attempt " << attempt << " is not 'already exists'";
    EXPECT_STREQ(error.what(), "fake start failure");
    EXPECT_EQ(h.api.status(js("{}"))["active_jobs"], js("[]"));
  }
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionResults, StartupUnavailableMapsToMinus32000) {
  Harness h;
  h.fleet.plan(plan_unavailable("fake startup unavailable"));
  auto error = api_error_of([&] { h.api.start_keep(js(R"({"job_id": "unavail-x"})")); });
  EXPECT_EQ(error.code(), kStartupUnavailable);
  EXPECT_STREQ(error.what(), "fake startup unavailable");
  EXPECT_EQ(error.type(), "SessionStartupUnavailable");

  h.fleet.plan(plan_devices(0));
  error = api_error_of([&] { h.api.start_keep(js("{}")); });
  EXPECT_EQ(error.code(), kStartupUnavailable);
  EXPECT_STREQ(error.what(), "No GPUs available for GlobalGPUController");

  h.fleet.plan(plan_with([](FakeBackend& b) { b.count_error = true; }));
  error = api_error_of([&] { h.api.start_keep(js("{}")); });
  EXPECT_EQ(error.code(), kStartupUnavailable);
  EXPECT_STREQ(error.what(), "Unable to enumerate visible GPUs: fake");
  EXPECT_EQ(h.sessions.size(), 0u);
}

TEST(SessionResults, GpuIdsBeyondTheVisibleCountAreInvalidParams) {
  // Ids are validated the same way everywhere: the JSON-RPC path checks explicit ids against the
  // visible count.
  Harness h;
  const auto error = api_error_of([&] { h.api.start_keep(js(R"({"gpu_ids": [99]})")); });
  EXPECT_EQ(error.code(), kInvalidParams);
  EXPECT_STREQ(error.what(), "gpu_ids must be visible device ordinals less than 1; got [99]");
  EXPECT_EQ(h.sessions.size(), 0u);
}

TEST(SessionResults, MultiGpuSessionHoldsEveryDevice) {
  Harness h;
  h.fleet.plan(plan_devices(3));
  h.api.start_keep(js(R"({"job_id": "multi", "gpu_ids": [2, 0], "vram": "1MiB"})"));
  const auto backend = h.fleet.backend(0);
  EXPECT_EQ(backend->counters(0).allocated_bytes, 1u << 20);
  EXPECT_EQ(backend->counters(1).allocated_bytes, 0u);
  EXPECT_EQ(backend->counters(2).allocated_bytes, 1u << 20);
  h.api.stop_keep(js(R"({"job_id": "multi"})"));
  EXPECT_TRUE(h.fleet.all_released());
}

TEST(SessionResults, DestructionReleasesEverySession) {
  FakeFleet fleet;
  {
    service::SessionManager sessions(fast_timeouts(), fleet.factory());
    service::Api api(sessions, [] { return std::vector<gpu::GpuInfo>{}; });
    api.start_keep(js(R"({"job_id": "a"})"));
    api.start_keep(js(R"({"job_id": "b"})"));
    EXPECT_FALSE(fleet.all_released());
  }
  EXPECT_TRUE(fleet.all_released());
}

TEST(SessionResults, ShutdownIsQuietAndRepeatable) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a"})"));
  h.sessions.shutdown();
  h.sessions.shutdown();
  EXPECT_EQ(h.sessions.size(), 0u);
  EXPECT_TRUE(h.fleet.all_released());
}

}  // namespace
}  // namespace keepgpu::service_testing
