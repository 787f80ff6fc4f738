// The CLI's JSON-RPC envelope validation and method result validation.
#include <gtest/gtest.h>

#include "cli/result_checks.hpp"
#include "cli/service_call.hpp"
#include "core/json.hpp"

namespace keepgpu::cli {
namespace {

constexpr long long kId = 1718000000123;

keepgpu::core::Json parse(const std::string& text) {
  return decode_body(text, "u");
}

std::string envelope_error(const std::string& text) {
  try {
    check_envelope(parse(text), kId);
  } catch (const ServiceError& e) {
    return e.what();
  }
  return "<no error>";
}

template <class Check>
std::string check_error(Check check) {
  try {
    check();
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.kind(), ServiceError::Kind::response);
    return e.what();
  }
  return "<no error>";
}

TEST(Envelope, Order) {
  const std::string p = "Malformed JSON-RPC response: ";
  EXPECT_EQ(envelope_error("[]"), p + "response must be an object");
  EXPECT_EQ(envelope_error("{}"), p + "jsonrpc must be 2.0");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "1.0"})"), p + "jsonrpc must be 2.0");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000123, "error": {}, "result": {}})"),
            p + "both error and result members are present");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000123, "error": "x"})"),
            p + "error must be an object");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "error": {}})"), p + "missing id");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": null, "error": {}})"), p + "mismatched id");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000123, "error": {"code": 1.0}})"),
            p + "error.code must be an integer");
  EXPECT_EQ(envelope_error(
                R"({"jsonrpc": "2.0", "id": 1718000000123, "error": {"code": 1, "message": []}})"),
            p + "error.message must be a string");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000124, "result": {}})"),
            p + "mismatched id");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000123.0, "result": {}})"),
            p + "mismatched id");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": true, "result": {}})"), p + "mismatched id");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000123})"), p + "missing result");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000123, "result": []})"),
            p + "result must be an object");
  EXPECT_EQ(envelope_error(R"({"jsonrpc": "2.0", "id": 1718000000123, "result": {}})"),
            "<no error>");
}

TEST(Envelope, RpcErrorsCarryTheirCode) {
  try {
    check_envelope(parse(R"({"jsonrpc": "2.0", "id": 1718000000123,
                             "error": {"code": -32000, "message": "No usable visible GPUs"}})"),
                   kId);
    FAIL();
  } catch (const ServiceError& e) {
    EXPECT_EQ(e.kind(), ServiceError::Kind::rpc);
    EXPECT_EQ(e.code(), -32000);
    EXPECT_STREQ(e.what(), "No usable visible GPUs");
  }
}

TEST(StartResult, Checks) {
  EXPECT_EQ(check_error([] { check_start_result(parse("{}"), std::nullopt); }),
            "Malformed JSON-RPC response: start_keep result must include job_id");
  for (const char* bad : {R"({"job_id": 123})", R"({"job_id": ""})", R"({"job_id": "bad id"})"}) {
    EXPECT_EQ(check_error([&] { check_start_result(parse(bad), std::nullopt); }),
              "Malformed JSON-RPC response: job_id must be a URL-path-safe non-empty string");
  }
  EXPECT_EQ(check_error([] { check_start_result(parse(R"({"job_id": "job-2"})"), "job-1"); }),
            "Malformed start_keep response: result.job_id must match requested job_id");
  EXPECT_EQ(check_error([] { check_start_result(parse(R"({"job_id": "job-1"})"), "job-1"); }),
            "<no error>");
}

TEST(StatusResult, RecordChecks) {
  auto all = [](const std::string& text) {
    return check_error([&] { check_status_all(parse(text)); });
  };
  EXPECT_EQ(all("{}"), "Malformed status response: active_jobs must be a list");
  EXPECT_EQ(all(R"({"active_jobs": [1]})"),
            "Malformed status response: active_jobs[0] must be an object");
  const std::string ok_record =
      R"({"job_id": "job-1", "params": {"gpu_ids": [0]}, "state": "active", "last_error": null})";
  EXPECT_EQ(all(R"({"active": true, "active_jobs": [)" + ok_record + "]}"), "<no error>");
  EXPECT_EQ(all(R"({"active_jobs": [{"job_id": "job-1", "params": {}, "state": "weird",
                 "last_error": null}]})"),
            "Malformed status response: active_jobs[0].state must be one of: active, starting, "
            "stopping, runtime_failed, stop_failed");
  EXPECT_EQ(all(R"({"active_jobs": [{"job_id": "job-1", "params": {"gpu_ids": []},
                 "state": "active", "last_error": null}]})"),
            "Malformed status response: active_jobs[0].params.gpu_ids: gpu_ids must select at "
            "least one GPU");
  EXPECT_EQ(all(R"({"active_jobs": [{"job_id": "job-1", "params": {"interval": true},
                 "state": "active", "last_error": null}]})"),
            "Malformed status response: active_jobs[0].params.interval: interval must be finite "
            "and positive");
  EXPECT_EQ(all(R"({"active_jobs": [{"job_id": "bad/id", "params": {}, "state": "active",
                 "last_error": null}]})"),
            "Malformed status response: active_jobs[0].job_id: job_id must be a URL-path-safe "
            "non-empty string");
  EXPECT_EQ(all(R"({"active_jobs": [{"job_id": "j", "params": {}, "state": "active",
                 "last_error": 1}]})"),
            "Malformed status response: active_jobs[0].last_error must be a string or null");
}

TEST(StatusResult, OneJob) {
  auto one = [](const std::string& text) {
    return check_error([&] { check_status_one(parse(text), "job-1"); });
  };
  EXPECT_EQ(one(R"({"active": false, "job_id": "job-1"})"), "<no error>");
  EXPECT_EQ(one(R"({"active": "yes", "job_id": "job-1"})"),
            "Malformed status response: active must be a bool");
  EXPECT_EQ(one(R"({"active": false, "job_id": "other-job"})"),
            "Malformed status response: result.job_id must match requested job_id");
  EXPECT_EQ(one(R"({"active": true, "job_id": "job-1"})"),
            "Malformed status response: result.params must be an object");
}

TEST(StopResult, Checks) {
  auto stop = [](const std::string& text, std::optional<std::string> id = "job-1") {
    return check_error([&] { check_stop_result(parse(text), id); });
  };
  const std::string p = "Malformed stop_keep response: ";
  EXPECT_EQ(stop(R"({"stopped": ["job-1"], "timed_out": [], "failed": [], "errors": {}})"),
            "<no error>");
  EXPECT_EQ(stop("{}"), p + "stopped must be a list");
  EXPECT_EQ(stop(R"({"stopped": ["job-1", "job-1"], "timed_out": [], "failed": [], "errors": {}})"),
            p + "stopped[1] duplicates job id");
  EXPECT_EQ(stop(R"({"stopped": ["job-1"], "timed_out": ["job-1"], "failed": [], "errors": {}})"),
            p + "'job-1' appears in both stopped and timed_out");
  EXPECT_EQ(stop(R"({"stopped": [], "timed_out": [], "failed": ["job-1"], "errors": {}})"),
            p + "errors keys must match failed job ids");
  EXPECT_EQ(stop(R"({"stopped": ["other"], "timed_out": [], "failed": [], "errors": {}})"),
            p + "outcome job ids must match requested job_id");
  EXPECT_EQ(
      stop(R"({"stopped": [], "timed_out": [], "failed": [], "errors": {}, "message": null})"),
      p + "message must be a string");
  EXPECT_EQ(stop(R"({"stopped": [], "timed_out": [], "failed": [], "errors": {"bad/id": "x"}})"),
            p + "errors['bad/id']: job_id must be a URL-path-safe non-empty string");
  EXPECT_EQ(stop(R"({"stopped": ["a"], "timed_out": ["b"], "failed": ["c"], "errors": {"c": "e"},
                     "message": "m"})",
                 std::nullopt),
            "<no error>");
}

TEST(ListGpusResult, Checks) {
  auto gpus = [](const std::string& record) {
    return check_error([&] { check_list_gpus(parse(R"({"gpus": [)" + record + "]}")); });
  };
  const std::string p = "Malformed list_gpus response: gpus[0].";
  EXPECT_EQ(gpus(R"({"id": 0, "visible_id": 0, "platform": "cuda", "name": "x",
                     "memory_total": 1024, "memory_used": 512, "utilization": 12.5, "uuid": "u"})"),
            "<no error>");
  EXPECT_EQ(gpus(R"({"id": 0, "visible_id": 0, "platform": "cuda", "name": "x",
                     "memory_used": 512, "utilization": 1})"),
            p + "missing 'memory_total'");
  EXPECT_EQ(gpus(R"({"id": 0, "visible_id": 0, "platform": "cuda", "name": "x",
                     "memory_total": 1024, "memory_used": 2048, "utilization": 1})"),
            p + "memory_used must not exceed memory_total");
  EXPECT_EQ(gpus(R"({"id": 0, "visible_id": 0, "platform": "cuda", "name": "x",
                     "memory_total": null, "memory_used": null, "utilization": 1e999})"),
            p + "utilization must be a finite number between 0 and 100 or null");
  EXPECT_EQ(gpus(R"({"id": true, "visible_id": 0})"), p + "id must be an integer");
  EXPECT_EQ(gpus("1"), "Malformed list_gpus response: gpus[0] must be an object");
}

}  // namespace
}  // namespace keepgpu::cli
