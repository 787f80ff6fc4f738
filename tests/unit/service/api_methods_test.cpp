// Dispatch, unknown-parameter rules and list_gpus of the direct methods.
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "core/errors.hpp"
#include "service/api_validation.hpp"
#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

using service::ApiError;

TEST(ApiMethods, KnowsExactlyTheFourDirectMethods) {
  std::vector<std::string_view> names;
  for (const auto& method : service::Api::methods())
    names.push_back(method.name);
  EXPECT_EQ(names,
            (std::vector<std::string_view>{"start_keep", "stop_keep", "status", "list_gpus"}));
  Harness h;
  for (const char* name : {"ping", "tools/list", "", "Status"}) {
    const auto unknown = api_error_of([&] { h.api.call(name, js("{}")); });
    EXPECT_EQ(unknown.code(), service::kMethodNotFound) << name;
  }
  const auto error = api_error_of([&] { h.api.call("not_a_method", js("{}")); });
  EXPECT_EQ(error.code(), service::kMethodNotFound);
  EXPECT_STREQ(error.what(), "Unknown method: not_a_method");
}

TEST(ApiMethods, CallDispatches) {
  Harness h;
  EXPECT_EQ(h.api.call("start_keep", js(R"({"job_id": "a"})")), js(R"({"job_id": "a"})"));
  EXPECT_EQ(h.api.call("status", js("{}"))["active_jobs"].size(), 1u);
  EXPECT_EQ(h.api.call("list_gpus", js("{}")), js(R"({"gpus": []})"));
  EXPECT_EQ(h.api.call("stop_keep", js("{}"))["stopped"], js(R"(["a"])"));
}

TEST(ApiMethods, UnknownParamsAreSortedAndCheckedFirst) {
  Harness h;
  struct Case {
    const char* method;
    const char* params;
    const char* message;
  };
  for (const Case& c : {
           Case{"status", R"({"unexpected": true})", "Unknown params for status: unexpected"},
           Case{"start_keep", R"({"b": 1, "a": 2})", "Unknown params for start_keep: a, b"},
           Case{"list_gpus", R"({"x": 1})", "Unknown params for list_gpus: x"},
           Case{"stop_keep", R"({"job_id": "", "z": 1})", "Unknown params for stop_keep: z"},
       }) {
    const auto error = api_error_of([&] { h.api.call(c.method, js(c.params)); });
    EXPECT_EQ(error.code(), service::kInvalidParams) << c.method;
    EXPECT_STREQ(error.what(), c.message);
  }
}

TEST(ApiMethods, ParamsMustBeAnObject) {
  Harness h;
  for (const char* params : {"[]", "null", "5"}) {
    for (const char* method : {"start_keep", "stop_keep", "status", "list_gpus"}) {
      const auto error = api_error_of([&] { h.api.call(method, js(params)); });
      EXPECT_EQ(error.code(), service::kInvalidParams) << method << " " << params;
      EXPECT_STREQ(error.what(), "params must be an object");
    }
  }
}

TEST(ApiMethods, ListGpusConvertsRecords) {
  Harness h;
  auto gpu = fake_gpu(0);
  gpu.physical_id = 3;
  gpu.uuid = "GPU-8f6c";
  gpu.power_watts = 71.5;
  gpu.temperature_c = 40;
  auto unknown = fake_gpu(1);
  unknown.memory_total.reset();
  unknown.memory_used.reset();
  unknown.utilization.reset();
  h.listing->gpus = {gpu, unknown};
  EXPECT_EQ(h.api.list_gpus(js("{}")), js(R"({"gpus": [
      {"id": 0, "visible_id": 0, "platform": "cuda", "name": "Fake GPU",
       "memory_total": 17179869184, "memory_used": 1073741824, "utilization": 0,
       "physical_id": 3, "uuid": "GPU-8f6c", "power_watts": 71.5, "temperature_c": 40},
      {"id": 1, "visible_id": 1, "platform": "cuda", "name": "Fake GPU",
       "memory_total": null, "memory_used": null, "utilization": null}]})"));
}

TEST(ApiMethods, ListGpusEnumerationFailureIsStartupUnavailable) {
  Harness h;
  h.listing->enumeration_error = "Unable to enumerate visible GPUs: fake";
  const auto error = api_error_of([&] { h.api.list_gpus(js("{}")); });
  EXPECT_EQ(error.code(), service::kStartupUnavailable);
  EXPECT_STREQ(error.what(), "Unable to enumerate visible GPUs: fake");
  EXPECT_EQ(error.type(), "DeviceEnumerationUnavailableError");
}

TEST(ApiMethods, ListGpusMalformedListingIsInternal) {
  Harness h;
  auto bad = fake_gpu(0);
  bad.visible_id = 1;
  h.listing->gpus = {bad};
  const auto error = api_error_of([&] { h.api.list_gpus(js("{}")); });
  EXPECT_EQ(error.code(), service::kInternalError);
  EXPECT_STREQ(error.what(),
               "Malformed list_gpus response: GPU record 0 'id' must match 'visible_id'");
}

TEST(ApiMethods, ListGpusNeverTouchesSessions) {
  Harness h;
  h.api.list_gpus(js("{}"));
  EXPECT_EQ(h.fleet.builds(), 0u);
  EXPECT_EQ(h.listing->calls, 1);
}

TEST(ApiMethods, DefaultListerAnswersWithACheckedListing) {
  // Whatever platform this machine has (none on CI), the default lister's answer must pass the
  // listing contract check, or enumeration must be reported as unavailable.
  FakeFleet fleet;
  service::SessionManager sessions(fast_timeouts(), fleet.factory());
  service::Api api(sessions);
  try {
    const auto result = api.list_gpus(js("{}"));
    EXPECT_TRUE(result["gpus"].is_array());
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), service::kStartupUnavailable) << e.what();
  }
}

TEST(ApiErrorMapping, ClassesMapToCodes) {
  using service::to_api_error;
  auto mapped = to_api_error(std::make_exception_ptr(NoGPUAvailableError("none")));
  EXPECT_EQ(mapped.code(), service::kStartupUnavailable)
      << "startup-unavailable wins over ValueError";
  EXPECT_EQ(mapped.type(), "SessionStartupUnavailable");
  mapped = to_api_error(std::make_exception_ptr(UnsupportedControllerPlatformError("cpu")));
  EXPECT_EQ(mapped.code(), service::kStartupUnavailable);
  mapped = to_api_error(std::make_exception_ptr(DeviceEnumerationUnavailableError("enum")));
  EXPECT_EQ(mapped.code(), service::kStartupUnavailable);
  mapped = to_api_error(std::make_exception_ptr(InvalidVisibleGPUSelectionError("ids")));
  EXPECT_EQ(mapped.code(), service::kInvalidParams);
  mapped = to_api_error(std::make_exception_ptr(TypeError("type")));
  EXPECT_EQ(mapped.code(), service::kInvalidParams);
  mapped = to_api_error(std::make_exception_ptr(RuntimeError("boom")));
  EXPECT_EQ(mapped.code(), service::kInternalError);
  EXPECT_STREQ(mapped.what(), "boom");
  EXPECT_EQ(mapped.type(), "RuntimeError");
  mapped = to_api_error(std::make_exception_ptr(TimeoutError("slow")));
  EXPECT_EQ(mapped.code(), service::kInternalError);
  mapped = to_api_error(std::make_exception_ptr(42));
  EXPECT_EQ(mapped.code(), service::kInternalError);
}

TEST(PythonRepr, QuotesLikePython) {
  using service::python_str_list_repr;
  using service::python_str_repr;
  EXPECT_EQ(python_str_list_repr({"a", "x"}), "['a', 'x']");
  EXPECT_EQ(python_str_list_repr({}), "[]");
  EXPECT_EQ(python_str_repr("it's"), "\"it's\"");
  EXPECT_EQ(python_str_repr("both'\""), "'both\\'\"'");
  EXPECT_EQ(python_str_repr("a\\b"), "'a\\\\b'");
  EXPECT_EQ(python_str_repr("tab\there\n"), "'tab\\there\\n'");
  EXPECT_EQ(python_str_repr(std::string("\x01", 1)), "'\\x01'");
  EXPECT_EQ(python_str_repr("\xc3\xa9"), "'\xc3\xa9'");
}

}  // namespace
}  // namespace keepgpu::service_testing
