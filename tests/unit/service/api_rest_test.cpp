// The REST facade's create and listing answers: statuses and bodies, and that cheap checks never
// reach the listing.
#include <gtest/gtest.h>

#include <regex>

#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

const std::regex kUuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

keepgpu::core::Json message_body(const std::string& message) {
  keepgpu::core::Json body;
  body["error"]["message"] = message;
  return body;
}

keepgpu::core::Json typed_body(const std::string& message, const std::string& type) {
  keepgpu::core::Json body = message_body(message);
  body["error"]["type"] = type;
  return body;
}

void expect_reply(const RestAnswer& reply, int status, const keepgpu::core::Json& body) {
  EXPECT_EQ(reply.status, status) << reply.body;
  EXPECT_EQ(reply.body, body);
}

TEST(RestListGpus, EmptyOnAMachineWithoutGpus) {
  Harness h;
  expect_reply(rest_list(h), 200, js(R"({"gpus": []})"));
}

TEST(RestListGpus, Records) {
  Harness h;
  h.listing->gpus = {fake_gpu(0), fake_gpu(1)};
  const auto reply = rest_list(h);
  EXPECT_EQ(reply.status, 200);
  ASSERT_EQ(reply.body["gpus"].size(), 2u);
  EXPECT_EQ(reply.body["gpus"][1]["id"], 1);
}

TEST(RestListGpus, EnumerationFailureIs503WithTheEnumerationType) {
  Harness h;
  h.listing->enumeration_error = "Unable to enumerate visible GPUs: fake";
  expect_reply(
      rest_list(h), 503,
      typed_body("Unable to enumerate visible GPUs: fake", "DeviceEnumerationUnavailableError"));
}

TEST(RestListGpus, MalformedListingIs500) {
  Harness h;
  h.listing->gpus = {fake_gpu(0), fake_gpu(0)};
  expect_reply(rest_list(h), 500,
               typed_body("Malformed list_gpus response: GPU record 1 duplicate 'visible_id'",
                          "RuntimeError"));
}

TEST(RestCreate, NoPlatformIs503SessionStartupUnavailable) {
  Harness h;
  h.fleet.plan(plan_unavailable("GlobalGPUController not implemented for platform cpu"));
  expect_reply(rest_create(h, js("{}")), 503,
               typed_body("GlobalGPUController not implemented for platform cpu",
                          "SessionStartupUnavailable"));
  EXPECT_EQ(h.listing->calls, 0) << "without gpu_ids the listing is not consulted";
}

TEST(RestCreate, ExplicitIdsWithAnEmptyListingAre503) {
  Harness h;
  expect_reply(rest_create(h, js(R"({"gpu_ids": [0]})")), 503,
               typed_body("No usable visible GPUs are available", "SessionStartupUnavailable"));
  EXPECT_EQ(h.fleet.builds(), 0u);
}

TEST(RestCreate, ExplicitIdsMustBeListed) {
  Harness h;
  h.listing->gpus = {fake_gpu(0)};
  expect_reply(rest_create(h, js(R"({"gpu_ids": [1]})")), 400,
               message_body("Bad request: gpu_ids must match listed visible GPU IDs (0); got [1]"));
  h.listing->gpus = {fake_gpu(2), fake_gpu(0)};
  expect_reply(
      rest_create(h, js(R"({"gpu_ids": [3, 0, 1]})")), 400,
      message_body("Bad request: gpu_ids must match listed visible GPU IDs (0, 2); got [3, 1]"));
  EXPECT_EQ(h.fleet.builds(), 0u);
}

TEST(RestCreate, EnumerationFailureIs503ButValidationComesFirst) {
  Harness h;
  h.listing->enumeration_error = "Unable to enumerate visible GPUs: fake";
  expect_reply(rest_create(h, js(R"({"gpu_ids": [0]})")), 503,
               typed_body("Unable to enumerate visible GPUs: fake", "SessionStartupUnavailable"));
  EXPECT_EQ(h.listing->calls, 1);
  expect_reply(rest_create(h, js(R"({"gpu_ids": [0], "interval": 0})")), 400,
               message_body("Bad request: interval must be positive"));
  EXPECT_EQ(h.listing->calls, 1) << "a bad request never touches telemetry";
}

TEST(RestCreate, MalformedListingIs500AndStartsNothing) {
  Harness h;
  auto bad = fake_gpu(0);
  bad.utilization = 150;
  h.listing->gpus = {bad};
  expect_reply(rest_create(h, js(R"({"gpu_ids": [0]})")), 500,
               typed_body("Malformed list_gpus response: GPU record 0 'utilization' must be a "
                          "finite number between 0 and 100 or null",
                          "RuntimeError"));
  EXPECT_EQ(h.sessions.size(), 0u);
  EXPECT_EQ(h.fleet.builds(), 0u);
}

TEST(RestCreate, BodyMustBeAnObject) {
  Harness h;
  for (const char* body : {"[]", R"(["gpu_ids"])", R"("gpu_ids")", "1", "null"}) {
    expect_reply(rest_create(h, js(body)), 400,
                 message_body("Bad request: JSON body must be an object"));
  }
}

TEST(RestCreate, UnknownFieldsAsAPythonList) {
  Harness h;
  expect_reply(rest_create(h, js(R"({"gpu_ids": [0], "x": 1, "a": 2})")), 400,
               message_body("Bad request: Unknown request fields: ['a', 'x']"));
  EXPECT_EQ(h.listing->calls, 0);
}

TEST(RestCreate, ValidationMessagesArePrefixed) {
  Harness h;
  struct Case {
    const char* body;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"vram": []})", "vram_to_keep must be str or int bytes, got array"},
           Case{R"({"interval": 0})", "interval must be positive"},
           Case{R"({"busy_threshold": 101})",
                "busy_threshold must be -1 or an integer between 0 and 100"},
           Case{R"({"job_id": ""})", "job_id must be a URL-path-safe non-empty string"},
           Case{R"({"gpu_ids": []})", "gpu_ids must select at least one GPU"},
       }) {
    expect_reply(rest_create(h, js(c.body)), 400,
                 message_body(std::string("Bad request: ") + c.message));
  }
  EXPECT_EQ(h.listing->calls, 0);
  EXPECT_EQ(h.fleet.builds(), 0u);
}

TEST(RestCreate, Lifecycle) {
  Harness h;
  h.listing->gpus = {fake_gpu(0)};
  const auto reply = rest_create(
      h, js(R"({"gpu_ids": [0], "vram": "256MB", "interval": 20, "busy_threshold": 5})"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_EQ(reply.body.size(), 1u);
  const std::string id = reply.body["job_id"];
  EXPECT_TRUE(std::regex_match(id, kUuid4)) << id;
  const auto jobs = h.sessions.status_all()["active_jobs"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["job_id"], id);
  EXPECT_EQ(jobs[0]["params"],
            js(R"({"gpu_ids": [0], "vram": "256MB", "interval": 20, "busy_threshold": 5})"));
  EXPECT_EQ(h.fleet.backend(0)->allocated_bytes(), 256000000u);
  EXPECT_EQ(h.sessions.stop(id).to_json()["stopped"], keepgpu::core::Json::array({id}));
  EXPECT_EQ(h.sessions.stop_all().to_json()["stopped"], js("[]"));
}

TEST(RestCreate, DefaultsAndKindsArePreserved) {
  Harness h;
  const std::string a = rest_create(h, js("{}")).body["job_id"];
  EXPECT_EQ(h.sessions.status_one(a)["params"]["busy_threshold"], 25);
  const std::string b =
      rest_create(h, js(R"({"interval": 0.5, "busy_threshold": -1})")).body["job_id"];
  const auto params = h.sessions.status_one(b)["params"];
  EXPECT_TRUE(params["interval"].is_number_float());
  EXPECT_EQ(params["interval"], 0.5);
  EXPECT_EQ(params["busy_threshold"], -1);
  const auto c = rest_create(h, js(R"({"gpu_ids": null, "job_id": null})"));
  EXPECT_EQ(c.status, 200) << "explicit nulls mean omitted";
  EXPECT_EQ(h.listing->calls, 0);
}

TEST(RestCreate, DuplicateIdIs400BeforeTheListing) {
  Harness h;
  h.listing->gpus = {fake_gpu(0)};
  ASSERT_EQ(rest_create(h, js(R"({"job_id": "existing-job"})")).status, 200);
  expect_reply(rest_create(h, js(R"({"job_id": "existing-job", "gpu_ids": [0]})")), 400,
               message_body("Bad request: job_id existing-job already exists"));
  EXPECT_EQ(h.listing->calls, 0);
}

TEST(RestCreate, FailingStartIs500RuntimeError) {
  Harness h;
  h.fleet.plan(plan_with([](FakeBackend& b) { b.script(0).open_error = "fake start failure"; }));
  expect_reply(rest_create(h, js(R"({"job_id": "failstart-1"})")), 500,
               typed_body("fake start failure", "RuntimeError"));
  EXPECT_EQ(h.sessions.size(), 0u);
}

TEST(RestCreate, ListedButNotVisibleToTheKeeperIs400) {
  // A listing that advertises more than the keeper can open still fails cleanly as bad input.
  Harness h;
  h.listing->gpus = {fake_gpu(0), fake_gpu(1)};
  expect_reply(rest_create(h, js(R"({"gpu_ids": [1]})")), 400,
               message_body("Bad request: gpu_ids must be visible device ordinals less than 1; "
                            "got [1]"));
}

}  // namespace
}  // namespace keepgpu::service_testing
