// The server-side list_gpus contract check, one rule at a time.
#include <gtest/gtest.h>

#include <string>

#include "core/errors.hpp"
#include "service/gpu_listing.hpp"
#include "service_fakes.hpp"

namespace keepgpu::service_testing {
namespace {

using service::check_gpu_payload;
using service::check_gpu_records;

keepgpu::core::Json good_record(int id = 0) {
  return service::gpu_record_json(fake_gpu(id));
}

// The message check_gpu_records throws for a one-record list whose record is edited by `edit`.
std::string violation(const std::function<void(keepgpu::core::Json&)>& edit) {
  keepgpu::core::Json records = keepgpu::core::Json::array({good_record()});
  edit(records[0]);
  try {
    check_gpu_records(records);
  } catch (const RuntimeError& e) {
    return e.what();
  }
  return "(accepted)";
}

const std::string kPrefix = "Malformed list_gpus response: ";

TEST(ListingContract, AcceptsGoodListings) {
  EXPECT_NO_THROW(check_gpu_records(keepgpu::core::Json::array()));
  EXPECT_NO_THROW(check_gpu_records(keepgpu::core::Json::array({good_record(0), good_record(1)})));
  EXPECT_EQ(violation([](auto& r) { r["utilization"] = 99.5; }), "(accepted)");
  EXPECT_EQ(violation([](auto& r) { r["memory_used"] = r["memory_total"]; }), "(accepted)");
  EXPECT_EQ(violation([](auto& r) { r["extra"] = "fine"; }), "(accepted)");
  EXPECT_EQ(violation([](auto& r) { r["platform"] = "anything"; }), "(accepted)");
}

TEST(ListingContract, TopLevelShapes) {
  try {
    check_gpu_records(js("{}"));
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), kPrefix + "expected a GPU record list");
  }
  for (const char* payload : {"[]", R"({"gpus": {}})", R"({"other": []})"}) {
    try {
      check_gpu_payload(js(payload));
      FAIL() << payload;
    } catch (const RuntimeError& e) {
      EXPECT_EQ(std::string(e.what()), kPrefix + "expected an object with a 'gpus' record list");
    }
  }
  EXPECT_NO_THROW(check_gpu_payload(js(R"({"gpus": []})")));
}

TEST(ListingContract, RecordRules) {
  EXPECT_EQ(violation([](auto& r) { r = 5; }), kPrefix + "GPU record 0 must be an object");
  for (const char* key :
       {"id", "visible_id", "platform", "name", "memory_total", "memory_used", "utilization"}) {
    EXPECT_EQ(violation([&](auto& r) { r.erase(key); }),
              kPrefix + "GPU record 0 missing '" + key + "'");
  }
  EXPECT_EQ(violation([](auto& r) { r["id"] = 0.0; }),
            kPrefix + "GPU record 0 'id' must be an integer");
  EXPECT_EQ(violation([](auto& r) { r["visible_id"] = true; }),
            kPrefix + "GPU record 0 'visible_id' must be an integer");
  EXPECT_EQ(violation([](auto& r) { r["id"] = 1; }),
            kPrefix + "GPU record 0 'id' must match 'visible_id'");
  EXPECT_EQ(violation([](auto& r) {
              r["id"] = -1;
              r["visible_id"] = -1;
            }),
            kPrefix + "GPU record 0 'visible_id' must be non-negative");
  EXPECT_EQ(violation([](auto& r) { r["platform"] = nullptr; }),
            kPrefix + "GPU record 0 'platform' must be a string");
  EXPECT_EQ(violation([](auto& r) { r["name"] = 1; }),
            kPrefix + "GPU record 0 'name' must be a string");
  EXPECT_EQ(violation([](auto& r) { r["memory_total"] = -1; }),
            kPrefix + "GPU record 0 'memory_total' must be a non-negative integer or null");
  EXPECT_EQ(violation([](auto& r) { r["memory_used"] = 1.5; }),
            kPrefix + "GPU record 0 'memory_used' must be a non-negative integer or null");
  EXPECT_EQ(violation([](auto& r) {
              r["memory_used"] = r["memory_total"].template get<std::uint64_t>() + 1;
            }),
            kPrefix + "GPU record 0 'memory_used' must not exceed 'memory_total'");
  for (const auto& bad : {js("101"), js("-0.5"), js("true"), js(R"("5")"), js("1e400")}) {
    EXPECT_EQ(
        violation([&](auto& r) { r["utilization"] = bad; }),
        kPrefix + "GPU record 0 'utilization' must be a finite number between 0 and 100 or null")
        << bad;
  }
}

TEST(ListingContract, DuplicateVisibleIdsNameTheLaterRecord) {
  const auto records = keepgpu::core::Json::array({good_record(0), good_record(1), good_record(1)});
  try {
    check_gpu_records(records);
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()), kPrefix + "GPU record 2 duplicate 'visible_id'");
  }
}

}  // namespace
}  // namespace keepgpu::service_testing
