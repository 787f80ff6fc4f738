// The dashboard's telemetry history: the bounded store, the sampler's "only while wanted" rule,
// and the bytes held per GPU that SessionManager reports for the charts.
#include <gtest/gtest.h>

#include <atomic>

#include "service/telemetry_history.hpp"
#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

using service::TelemetryHistory;
using service::TelemetryOptions;
using service::TelemetrySampler;
using service::TelemetrySources;

keepgpu::core::Json record(int id, double utilization, std::int64_t used) {
  return {{"id", id},
          {"visible_id", id},
          {"name", "Fake GPU " + std::to_string(id)},
          {"memory_total", 16LL << 30},
          {"memory_used", used},
          {"utilization", utilization},
          {"power_watts", 70.5}};
}

TEST(TelemetryHistory, RecordsOneSamplePerGpuWithHeldBytes) {
  TelemetryHistory history(std::chrono::seconds(600));
  EXPECT_FALSE(history.last_sample_time());
  history.record(1000.0, keepgpu::core::Json::array({record(0, 12.5, 1 << 20), record(1, 0, 0)}),
                 {{0, 1ULL << 30}});
  const auto out = history.to_json();
  EXPECT_EQ(out["window_seconds"], 600);
  ASSERT_EQ(out["gpus"].size(), 2U);
  const auto& gpu0 = out["gpus"][0];
  EXPECT_EQ(gpu0["id"], 0);
  EXPECT_EQ(gpu0["name"], "Fake GPU 0");
  EXPECT_EQ(gpu0["memory_total"], 16LL << 30);
  ASSERT_EQ(gpu0["samples"].size(), 1U);
  EXPECT_EQ(gpu0["samples"][0]["t"], 1000.0);
  EXPECT_EQ(gpu0["samples"][0]["utilization"], 12.5);
  EXPECT_EQ(gpu0["samples"][0]["memory_used"], 1 << 20);
  EXPECT_EQ(gpu0["samples"][0]["memory_held"], 1ULL << 30);
  EXPECT_EQ(gpu0["samples"][0]["power_watts"], 70.5);
  EXPECT_EQ(out["gpus"][1]["samples"][0]["memory_held"], 0) << "nothing held on GPU 1";
  EXPECT_EQ(history.last_sample_time(), 1000.0);
}

TEST(TelemetryHistory, UnknownReadingsStayNull) {
  TelemetryHistory history(std::chrono::seconds(600));
  history.record(5.0,
                 keepgpu::core::Json::array({{{"id", 3},
                                              {"name", "x"},
                                              {"memory_total", nullptr},
                                              {"memory_used", nullptr},
                                              {"utilization", nullptr}}}),
                 {});
  const auto sample = history.to_json()["gpus"][0]["samples"][0];
  EXPECT_TRUE(sample["utilization"].is_null());
  EXPECT_TRUE(sample["memory_used"].is_null());
  EXPECT_TRUE(sample["power_watts"].is_null());
  EXPECT_EQ(history.to_json()["gpus"][0]["id"], 3) << "id is used when visible_id is absent";
}

TEST(TelemetryHistory, DropsSamplesAndGpusOlderThanTheWindow) {
  TelemetryHistory history(std::chrono::seconds(60));
  history.record(0.0, keepgpu::core::Json::array({record(0, 1, 0), record(1, 1, 0)}), {});
  history.record(30.0, keepgpu::core::Json::array({record(0, 2, 0), record(1, 2, 0)}), {});
  history.record(61.0, keepgpu::core::Json::array({record(0, 3, 0)}), {});
  auto out = history.to_json();
  ASSERT_EQ(out["gpus"].size(), 2U);
  EXPECT_EQ(out["gpus"][0]["samples"].size(), 2U) << "the sample at t=0 left the window";
  EXPECT_EQ(out["gpus"][0]["samples"][0]["utilization"], 2.0);
  history.record(95.0, keepgpu::core::Json::array({record(0, 4, 0)}), {});
  out = history.to_json();
  ASSERT_EQ(out["gpus"].size(), 1U) << "GPU 1 was not listed for a whole window";
  EXPECT_EQ(out["gpus"][0]["id"], 0);
}

TEST(TelemetryHistory, SkipsRecordsWithoutAnId) {
  TelemetryHistory history(std::chrono::seconds(60));
  history.record(1.0, keepgpu::core::Json::array({{{"name", "no id"}}, "junk", record(2, 0, 0)}),
                 {});
  const auto out = history.to_json();
  ASSERT_EQ(out["gpus"].size(), 1U);
  EXPECT_EQ(out["gpus"][0]["id"], 2);
}

struct CountingSources {
  std::atomic<int> listings{0};
  std::atomic<bool> tracked{false};
  std::atomic<bool> fail{false};
  std::atomic<std::uint64_t> held{512};

  TelemetrySources sources() {
    return TelemetrySources{[this] {
                              ++listings;
                              if (fail) throw std::runtime_error("no GPU");
                              return keepgpu::core::Json{
                                  {"gpus", keepgpu::core::Json::array({record(0, 10, 1 << 20)})}};
                            },
                            [this] {
                              return std::map<std::int64_t, std::uint64_t>{{0, held.load()}};
                            },
                            [this] { return tracked.load(); }};
  }
};

TelemetryOptions fast_options() {
  TelemetryOptions options;
  options.period = std::chrono::seconds(1);
  options.background_period = std::chrono::seconds(1);
  options.window = std::chrono::seconds(60);
  options.viewer_linger = std::chrono::seconds(60);
  return options;
}

TEST(TelemetrySampler, IdleWithoutSessionsOrViewers) {
  CountingSources counting;
  TelemetrySampler sampler(counting.sources(), fast_options());
  // The thread has had more than two periods; with nobody to use the data it listed nothing.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(counting.listings.load(), 0);
}

TEST(TelemetrySampler, SamplesWhileSessionsAreTracked) {
  CountingSources counting;
  counting.tracked = true;
  TelemetrySampler sampler(counting.sources(), fast_options());
  EXPECT_TRUE(wait_until([&] { return counting.listings.load() >= 2; }, 10s));
}

TEST(TelemetrySampler, SessionsAloneSampleAtTheBackgroundPeriod) {
  CountingSources counting;
  counting.tracked = true;
  TelemetryOptions options = fast_options();
  options.background_period = std::chrono::seconds(60);
  TelemetrySampler sampler(counting.sources(), options);
  EXPECT_TRUE(wait_until([&] { return counting.listings.load() >= 1; }, 10s));
  // More than two viewer periods pass with no viewer: no second listing.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(counting.listings.load(), 1);
  // A viewer brings the faster period back.
  sampler.view();
  const int after_view = counting.listings.load();
  EXPECT_TRUE(wait_until([&] { return counting.listings.load() > after_view; }, 10s));
}

TEST(TelemetrySampler, ViewSamplesAtOnceAndReportsThePeriod) {
  CountingSources counting;
  TelemetrySampler sampler(counting.sources(), fast_options());
  const auto out = sampler.view();
  EXPECT_GE(counting.listings.load(), 1);
  EXPECT_EQ(out["period_seconds"], 1);
  EXPECT_EQ(out["background_period_seconds"], 1);
  EXPECT_TRUE(out["now"].is_number());
  ASSERT_EQ(out["gpus"].size(), 1U);
  ASSERT_GE(out["gpus"][0]["samples"].size(), 1U);
  EXPECT_EQ(out["gpus"][0]["samples"][0]["memory_held"], 512);
  // A view counts as a viewer: the thread keeps sampling without sessions.
  const int after_view = counting.listings.load();
  EXPECT_TRUE(wait_until([&] { return counting.listings.load() > after_view; }, 10s));
}

TEST(TelemetrySampler, FreshSampleIsShared) {
  CountingSources counting;
  TelemetryOptions options = fast_options();
  options.period = std::chrono::seconds(30);
  TelemetrySampler sampler(counting.sources(), options);
  sampler.view();
  sampler.view();
  sampler.view();
  EXPECT_EQ(counting.listings.load(), 1) << "views within a period reuse the newest sample";
}

TEST(TelemetrySampler, AChangeInHeldBytesMakesTheNextViewFresh) {
  CountingSources counting;
  TelemetryOptions options = fast_options();
  options.period = std::chrono::seconds(30);
  TelemetrySampler sampler(counting.sources(), options);
  sampler.view();
  EXPECT_EQ(counting.listings.load(), 1);
  counting.held = 1024;  // a session started
  const auto out = sampler.view();
  EXPECT_EQ(counting.listings.load(), 2);
  EXPECT_EQ(out["gpus"][0]["samples"].back()["memory_held"], 1024);
  sampler.view();
  EXPECT_EQ(counting.listings.load(), 2) << "nothing changed since: the sample is reused";
}

TEST(TelemetrySampler, AFailingListingIsSkipped) {
  CountingSources counting;
  counting.fail = true;
  TelemetrySampler sampler(counting.sources(), fast_options());
  EXPECT_FALSE(sampler.sample_if_stale(std::chrono::milliseconds(0)));
  EXPECT_TRUE(sampler.view()["gpus"].empty());
  counting.fail = false;
  EXPECT_TRUE(sampler.sample_if_stale(std::chrono::milliseconds(0)));
}

TEST(SessionHeldBytes, SumsKeepersPerGpuAndForgetsReleasedSessions) {
  Harness h;
  h.fleet.plan(plan_devices(2));
  h.api.start_keep(js(R"({"job_id": "a", "gpu_ids": [0, 1], "vram": "1GiB"})"));
  h.fleet.plan(plan_devices(2));
  h.api.start_keep(js(R"({"job_id": "b", "gpu_ids": [1], "vram": "512MiB"})"));
  const auto held = h.sessions.held_bytes_by_gpu();
  EXPECT_EQ(held.at(0), 1ULL << 30);
  EXPECT_EQ(held.at(1), (1ULL << 30) + (512ULL << 20));
  h.api.stop_keep(js(R"({"job_id": "a"})"));
  const auto after = h.sessions.held_bytes_by_gpu();
  EXPECT_EQ(after.count(0), 0U);
  EXPECT_EQ(after.at(1), 512ULL << 20);
}

}  // namespace
}  // namespace keepgpu::service_testing
