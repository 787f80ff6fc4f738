// Status says what the driver holds: each session carries held_bytes and one entry per GPU with its
// phase; a release the driver refuses is a failed stop whose session stays stop_failed with the
// bytes still counted until a later stop succeeds; a VRAM request larger than the GPU is invalid
// params.
#include <gtest/gtest.h>

#include "core/errors.hpp"
#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

constexpr std::uint64_t kGiB = 1ULL << 30;

keepgpu::core::Json start_params(const std::string& id) {
  keepgpu::core::Json params = by_job_id(id);
  params["busy_threshold"] = -1;
  return params;
}

TEST(SessionTruth, StatusCarriesHeldBytesAndAPhasePerGpu) {
  Harness h;
  h.fleet.plan(plan_devices(2));
  keepgpu::core::Json params = start_params("pair");
  params["gpu_ids"] = keepgpu::core::Json::array({0, 1});
  h.api.start_keep(params);

  const keepgpu::core::Json one = h.api.status(by_job_id("pair"));
  EXPECT_EQ(one["held_bytes"], 2 * kGiB);
  ASSERT_EQ(one["gpus"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(one["gpus"][i]["id"], i);
    EXPECT_EQ(one["gpus"][i]["phase"], "holding");
    EXPECT_EQ(one["gpus"][i]["held_bytes"], kGiB);
    EXPECT_TRUE(one["gpus"][i]["detail"].is_null());
  }
  const keepgpu::core::Json all = h.api.status(keepgpu::core::Json::object());
  ASSERT_EQ(all["active_jobs"].size(), 1u);
  EXPECT_EQ(all["active_jobs"][0]["gpus"], one["gpus"]);
  EXPECT_EQ(all["active_jobs"][0]["held_bytes"], 2 * kGiB);
}

TEST(SessionTruth, RefusedReleaseIsAFailedStopAndALaterStopRetriesIt) {
  Harness h;
  h.api.start_keep(start_params("held"));
  auto backend = h.fleet.backend(0);
  backend->script(0).free_error = 999;

  const keepgpu::core::Json first = h.api.stop_keep(by_job_id("held"));
  EXPECT_EQ(first["failed"], keepgpu::core::Json::array({"held"}));
  EXPECT_TRUE(first["stopped"].empty());
  const std::string error = first["errors"]["held"].get<std::string>();
  EXPECT_NE(error.find("rank 0: failed to release GPU 0 (1.0 GiB still held): free refused"),
            std::string::npos)
      << error;

  const keepgpu::core::Json status = h.api.status(by_job_id("held"));
  EXPECT_EQ(status["state"], "stop_failed");
  EXPECT_EQ(status["last_error"], error);
  EXPECT_EQ(status["held_bytes"], kGiB);
  EXPECT_EQ(status["gpus"][0]["phase"], "failed");
  EXPECT_EQ(status["gpus"][0]["held_bytes"], kGiB);
  EXPECT_EQ(backend->allocated_bytes(), kGiB);

  backend->script(0).free_error = 0;
  const keepgpu::core::Json second = h.api.stop_keep(by_job_id("held"));
  EXPECT_EQ(second["stopped"], keepgpu::core::Json::array({"held"}));
  EXPECT_EQ(h.api.status(by_job_id("held"))["active"], false);
  EXPECT_EQ(backend->allocated_bytes(), 0u);
  EXPECT_EQ(backend->live_sessions(), 0);
}

TEST(SessionTruth, VramLargerThanTheGpuIsInvalidParams) {
  Harness h;
  h.fleet.plan(plan_with([](FakeBackend& b) { b.script(0).total_memory = kGiB; }));
  keepgpu::core::Json params = start_params("big");
  params["vram"] = "2GiB";
  const service::ApiError error = api_error_of([&] { h.api.start_keep(params); });
  EXPECT_EQ(error.code(), service::kInvalidParams);
  EXPECT_NE(std::string(error.what()).find("exceeds the total memory of GPU 0"), std::string::npos)
      << error.what();
  EXPECT_EQ(error.type(), "ValueError");
  EXPECT_EQ(h.sessions.size(), 0u);
}

TEST(SessionTruth, RestCreateAnswers400ForVramLargerThanTheGpu) {
  Harness h;
  h.fleet.plan(plan_with([](FakeBackend& b) { b.script(0).total_memory = kGiB; }));
  keepgpu::core::Json body = start_params("big");
  body["vram"] = "2GiB";
  const RestAnswer reply = rest_create(h, body);
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(
      reply.body["error"]["message"].get<std::string>().find("exceeds the total memory of GPU 0"),
      std::string::npos);
}

}  // namespace
}  // namespace keepgpu::service_testing
