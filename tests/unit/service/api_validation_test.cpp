// start_keep / stop_keep / status input validation:
// each failure is -32602 with the exact message, and nothing is reserved or built afterwards.
#include <gtest/gtest.h>

#include <string>

#include "service/api_validation.hpp"
#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

using service::kInvalidParams;

class StartValidation : public ::testing::Test {
 protected:
  // Expects start_keep(params) to fail with -32602 `message` and to leave no trace.
  void expect_rejected(std::string_view params, const std::string& message) {
    const auto error = api_error_of([&] { h.api.start_keep(js(params)); });
    EXPECT_EQ(error.code(), kInvalidParams) << params;
    EXPECT_EQ(std::string(error.what()), message) << params;
    expect_no_job();
  }
  void expect_rejected_prefix(std::string_view params, const std::string& prefix) {
    const auto error = api_error_of([&] { h.api.start_keep(js(params)); });
    EXPECT_EQ(error.code(), kInvalidParams) << params;
    EXPECT_EQ(std::string(error.what()).rfind(prefix, 0), 0u) << params << ": " << error.what();
    expect_no_job();
  }
  void expect_no_job() {
    EXPECT_EQ(h.api.status(js("{}")), js(R"({"active_jobs": []})"));
    EXPECT_EQ(h.sessions.size(), 0u);
    EXPECT_EQ(h.fleet.builds(), 0u) << "no controller may be built for a rejected start";
  }

  Harness h;
};

TEST_F(StartValidation, GpuIdsShapes) {
  expect_rejected(R"({"gpu_ids": []})", "gpu_ids must select at least one GPU");
  expect_rejected(R"({"gpu_ids": [0, 1, 0]})", "gpu_ids must not contain duplicate values");
  for (const char* bad : {"[0, -1]", "[true]", "[1.0]", R"(["0"])"}) {
    expect_rejected(std::string(R"({"gpu_ids": )") + bad + "}",
                    "gpu_ids must contain non-negative integers");
  }
  expect_rejected(R"({"gpu_ids": "0"})", "gpu_ids must be a list of integers");
  std::string many = "[0";
  for (int i = 1; i <= 64; ++i)
    many += ", " + std::to_string(i);
  expect_rejected(R"({"gpu_ids": )" + many + "]}", "gpu_ids has too many items");
}

TEST_F(StartValidation, Interval) {
  expect_rejected(R"({"interval": 0})", "interval must be positive");
  expect_rejected(R"({"interval": -1})", "interval must be positive");
  for (const char* bad : {R"("5")", "true", "null", "1e400"}) {
    expect_rejected(std::string(R"({"interval": )") + bad + "}",
                    "interval must be finite and positive");
  }
  expect_rejected(R"({"interval": 9223372037})",
                  "interval must be no more than 9223372036 seconds");
  expect_rejected(R"({"interval": )" + std::string(1000, '9') + "}",
                  "interval must be no more than 9223372036 seconds");
}

TEST_F(StartValidation, BusyThreshold) {
  for (const char* bad : {"101", "-2", "25.0", "true", "null"}) {
    expect_rejected(std::string(R"({"busy_threshold": )") + bad + "}",
                    "busy_threshold must be -1 or an integer between 0 and 100");
  }
}

TEST_F(StartValidation, VramTypesWithoutPythonArtefacts) {
  // The JSON type, not Python's <class '...'>.
  expect_rejected(R"({"vram": []})", "vram_to_keep must be str or int bytes, got array");
  expect_rejected(R"({"vram": null})", "vram_to_keep must be str or int bytes, got null");
  expect_rejected(R"({"vram": 1.5})", "vram_to_keep must be str or int bytes, got float");
}

TEST_F(StartValidation, VramRange) {
  expect_rejected(R"({"vram": 1)" + std::string(1000, '0') + "}",
                  "vram must be no more than 1 PiB");
  expect_rejected(R"({"vram": "1125899906842625"})", "vram must be no more than 1 PiB");
  expect_rejected(R"({"vram": ")" + std::string(500, '9') + R"(GiB"})",
                  "vram must be no more than 1 PiB");
  expect_rejected(R"({"vram": "1048577GiB"})", "vram must be no more than 1 PiB");
  for (const char* bad : {R"("3")", "-4", R"("0GB")", R"("3.99")"}) {
    expect_rejected(std::string(R"({"vram": )") + bad + "}",
                    "memory size must be at least 4 bytes");
  }
}

TEST_F(StartValidation, VramGrammar) {
  expect_rejected(R"({"vram": "abc"})", "invalid format: abc, should be like '1000 MB'");
  for (const char* bad : {R"("5.")", R"("+4")", R"("1e3")"}) {
    expect_rejected_prefix(std::string(R"({"vram": )") + bad + "}", "invalid format: ");
  }
  for (const char* bad : {R"("1G")", R"("1 PiB")"}) {
    expect_rejected_prefix(std::string(R"({"vram": )") + bad + "}", "unknown unit: ");
  }
}

TEST_F(StartValidation, JobIdGrammarEverywhere) {
  h.api.start_keep(js(R"({"job_id": "keep"})"));
  for (const char* bad : {R"("")", R"(" ")", "123", R"(".")", R"("..")", R"("job/123")",
                          R"("job?123")", R"("job#123")"}) {
    const std::string params = std::string(R"({"job_id": )") + bad + "}";
    for (const char* method : {"start_keep", "stop_keep", "status"}) {
      const auto error = api_error_of([&] { h.api.call(method, js(params)); });
      EXPECT_EQ(error.code(), kInvalidParams) << method << " " << params;
      EXPECT_STREQ(error.what(), "job_id must be a URL-path-safe non-empty string")
          << method << " " << params;
    }
  }
  // The existing session was never touched.
  EXPECT_EQ(h.api.status(js(R"({"job_id": "keep"})"))["state"], "active");
  EXPECT_EQ(h.fleet.builds(), 1u);
}

TEST_F(StartValidation, FirstFailureWinsInSpecOrder) {
  expect_rejected(
      R"({"gpu_ids": [0, 0], "interval": 0, "busy_threshold": 200, "vram": "x", "job_id": ""})",
      "gpu_ids must not contain duplicate values");
  expect_rejected(R"({"interval": 0, "busy_threshold": 200, "vram": "x", "job_id": ""})",
                  "interval must be positive");
  expect_rejected(R"({"busy_threshold": 200, "vram": "x", "job_id": ""})",
                  "busy_threshold must be -1 or an integer between 0 and 100");
  expect_rejected(R"({"vram": "x", "job_id": ""})", "invalid format: x, should be like '1000 MB'");
}

TEST_F(StartValidation, TimeLimitsComeAfterTheUpstreamFields) {
  expect_rejected(R"({"vram": "x", "duration": 0})", "invalid format: x, should be like '1000 MB'");
  expect_rejected(R"({"job_id": "", "duration": 0})",
                  "job_id must be a URL-path-safe non-empty string");
  expect_rejected(R"({"duration": 0})", "duration must be a positive number of seconds");
  expect_rejected(R"({"duration": true})", "duration must be a positive number of seconds");
  expect_rejected(R"({"duration": 31622401})",
                  "duration must be at most 366 days (31622400 seconds)");
  expect_rejected(R"({"until": "2099-01-01T00:00:00"})",
                  "until must be an ISO 8601 date and time with an offset, e.g. "
                  "2026-12-07T18:00:00+01:00 or 2026-12-07T17:00:00Z (got '2099-01-01T00:00:00')");
  expect_rejected(R"({"until": 5})",
                  "until must be an ISO 8601 date and time with an offset, e.g. "
                  "2026-12-07T18:00:00+01:00 or 2026-12-07T17:00:00Z (got '5')");
  expect_rejected(R"({"until": "2001-01-01T00:00:00Z"})", "until must be in the future");
  expect_rejected(R"({"duration": 5, "until": "2001-01-01T00:00:00Z"})",
                  "give either duration or until, not both");
}

TEST_F(StartValidation, UtilTargetIsAnIntegerFrom0To100CheckedBeforeTheTimeLimit) {
  const std::string message = "util_target must be an integer between 0 and 100";
  for (const char* bad : {"101", "-1", "10.0", "true", R"("10")"}) {
    expect_rejected(std::string(R"({"util_target": )") + bad + "}", message);
  }
  expect_rejected(R"({"util_target": 200, "duration": 0})", message);
  expect_rejected(R"({"vram": "x", "util_target": 200})",
                  "invalid format: x, should be like '1000 MB'");
}

TEST(StartUtilTarget, ReachesTheKeepersAndTheEchoOnlyWhenGiven) {
  const auto with = service::validate_start_params(js(R"({"util_target": 10})"));
  EXPECT_EQ(with.options.util_target, 10);
  EXPECT_EQ(with.params.at("util_target"), js("10"));
  const auto without = service::validate_start_params(js(R"({"util_target": null})"));
  EXPECT_EQ(without.options.util_target, 0);
  EXPECT_FALSE(without.params.contains("util_target"));
}

TEST(StartTimeLimit, EndsAtIsCountedFromNowAndTheEchoKeepsTheField) {
  const auto now = core::parse_iso8601("2026-12-07T17:00:00Z");
  const auto with_duration = service::validate_start_params(js(R"({"duration": 90})"), now);
  ASSERT_TRUE(with_duration.ends_at.has_value());
  EXPECT_EQ(*with_duration.ends_at - now, std::chrono::seconds(90));
  EXPECT_EQ(with_duration.params.at("duration"), js("90"));
  EXPECT_FALSE(with_duration.params.contains("until"));

  const auto with_until =
      service::validate_start_params(js(R"({"until": "2026-12-07T19:00:00+01:00"})"), now);
  EXPECT_EQ(with_until.ends_at, core::parse_iso8601("2026-12-07T18:00:00Z"));
  EXPECT_EQ(with_until.params.at("until"), js(R"("2026-12-07T19:00:00+01:00")"));

  const auto open = service::validate_start_params(js(R"({"duration": null})"), now);
  EXPECT_FALSE(open.ends_at.has_value());
  EXPECT_FALSE(open.params.contains("duration")) << "a null limit is no limit and is not echoed";
}

TEST_F(StartValidation, UnknownParamsComeFirstSortedAndJoined) {
  expect_rejected(R"({"b": 1, "a": 2, "interval": 0})", "Unknown params for start_keep: a, b");
}

TEST_F(StartValidation, ByteAndTerabyteUnitsAreAccepted) {
  // B, TB and TiB are a compatible extension.
  for (const char* vram : {"4B", "1TB", "1TiB"}) {
    h.fleet.plan(plan_with([](FakeBackend& b) { b.script(0).total_memory = 1ULL << 42; }));
    const auto id = h.api.start_keep(js(std::string(R"({"vram": ")") + vram + R"("})"));
    EXPECT_TRUE(id.contains("job_id")) << vram;
  }
}

TEST(StopValidation, ParamsNullIsRejectedBeforeAnySideEffect) {
  Harness h;
  h.api.start_keep(js(R"({"job_id": "a"})"));
  const auto error = api_error_of([&] { h.api.stop_keep(nullptr); });
  EXPECT_EQ(error.code(), kInvalidParams);
  EXPECT_STREQ(error.what(), "params must be an object");
  EXPECT_EQ(h.api.status(js(R"({"job_id": "a"})"))["state"], "active");
}

}  // namespace
}  // namespace keepgpu::service_testing
