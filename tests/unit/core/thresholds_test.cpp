#include "core/thresholds.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <limits>
#include <string>
#include "core/json.hpp"

#include "core/defaults.hpp"
#include "core/errors.hpp"
#include "core/thrown.hpp"
#include "core/vram.hpp"

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;
using Json = keepgpu::core::Json;

constexpr const char* kBusy = "busy_threshold must be -1 or an integer between 0 and 100";
constexpr const char* kLegacyNumeric =
    "threshold must be an integer utilization value or a VRAM size";

std::string busy_text_error(const std::string& text) {
  return thrown<ValueError>([&] { parse_busy_threshold_text(text); });
}

std::string legacy_error(const std::string& text) {
  return thrown<ValueError>([&] { classify_legacy_threshold(text); });
}

TEST(BusyThreshold, DefaultIs25) {
  EXPECT_EQ(kDefaultBusyThreshold, 25);
}

TEST(BusyThreshold, TextAccepted) {
  EXPECT_EQ(parse_busy_threshold_text("25"), 25);
  EXPECT_EQ(parse_busy_threshold_text(" 25 "), 25);
  EXPECT_EQ(parse_busy_threshold_text("025"), 25);
  EXPECT_EQ(parse_busy_threshold_text("0"), 0);
  EXPECT_EQ(parse_busy_threshold_text("100"), 100);
  EXPECT_EQ(parse_busy_threshold_text("-1"), -1);
  EXPECT_EQ(parse_busy_threshold_text("-01"), -1);
  EXPECT_EQ(parse_busy_threshold_text("\t25\n"), 25);
  EXPECT_EQ(parse_busy_threshold_text("\x1c"
                                      "25\x1f"),
            25);
  EXPECT_EQ(parse_busy_threshold_text("\xC2\xA0"
                                      "25\xE3\x80\x80"),
            25);  // U+00A0, U+3000
  EXPECT_EQ(parse_busy_threshold_text("\xE2\x80\x80"
                                      "25\xC2\x85"),
            25);  // U+2000, U+0085
}

TEST(BusyThreshold, TextRejected) {
  for (const char* text : {"", " ", "abc", "+25", "1_0", "\xEF\xBC\x91\xEF\xBC\x92", "2.5", "1e1",
                           "-0", "-00", "-2", "101", "- 1", "2 5", "25%", "0x10",
                           "\xE2\x80\x8B"
                           "1"}) {
    EXPECT_EQ(busy_text_error(text), kBusy) << text;
  }
  EXPECT_EQ(busy_text_error(std::string(30, '9')), kBusy);
  EXPECT_EQ(busy_text_error("-" + std::string(30, '9')), kBusy);
}

TEST(BusyThreshold, Validate) {
  EXPECT_EQ(validate_busy_threshold(-1), -1);
  EXPECT_EQ(validate_busy_threshold(0), 0);
  EXPECT_EQ(validate_busy_threshold(100), 100);
  for (long long value : {-2LL, 101LL, LLONG_MAX, LLONG_MIN, 4096LL}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_busy_threshold(value); }), kBusy) << value;
  }
}

TEST(BusyThreshold, JsonRejectsNonIntegers) {
  EXPECT_EQ(validate_busy_threshold_json(Json(-1)), -1);
  EXPECT_EQ(validate_busy_threshold_json(Json(100)), 100);
  EXPECT_EQ(validate_busy_threshold_json(Json(25u)), 25);
  for (const Json& value :
       {Json(-2), Json(101), Json(true), Json(false), Json(0.5), Json(25.0), Json("25"), Json(),
        Json::array({25}), Json(std::numeric_limits<std::uint64_t>::max())}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_busy_threshold_json(value); }), kBusy)
        << value.dump();
  }
}

TEST(LegacyThreshold, IntegerSelectsBusyMode) {
  const auto plain = classify_legacy_threshold("25");
  EXPECT_EQ(plain.kind, LegacyThreshold::Kind::busy);
  EXPECT_EQ(plain.busy, 25);
  EXPECT_EQ(classify_legacy_threshold(" 25 ").busy, 25);
  EXPECT_EQ(classify_legacy_threshold("-1").busy, -1);
  EXPECT_EQ(classify_legacy_threshold("3").kind, LegacyThreshold::Kind::busy);
  // Out-of-range values stay busy mode and fail later validation (cli 3.10 order).
  EXPECT_EQ(classify_legacy_threshold("101").busy, 101);
  EXPECT_EQ(classify_legacy_threshold("4096").busy, 4096);
  EXPECT_EQ(classify_legacy_threshold("-5").busy, -5);
  EXPECT_EQ(classify_legacy_threshold(std::string(30, '9')).busy, INT_MAX);
  EXPECT_EQ(classify_legacy_threshold("-" + std::string(30, '9')).busy, INT_MIN);
  EXPECT_EQ(
      thrown<ValueError>([] { validate_busy_threshold(classify_legacy_threshold("4096").busy); }),
      kBusy);
}

TEST(LegacyThreshold, VramSizeSelectsVramModeWithOriginalText) {
  for (const char* text : {"2GiB", "1 GiB", " 1 GiB ", "4096.0", "1TB", "512MB"}) {
    const auto result = classify_legacy_threshold(text);
    EXPECT_EQ(result.kind, LegacyThreshold::Kind::vram) << text;
    EXPECT_EQ(result.vram, text);
  }
}

TEST(LegacyThreshold, LettersFailWithTheVramMessage) {
  EXPECT_EQ(legacy_error("abc"), "invalid format: abc, should be like '1000 MB'");
  EXPECT_EQ(legacy_error("1e3"), "invalid format: 1e3, should be like '1000 MB'");
  EXPECT_EQ(legacy_error(" 1e3 "), "invalid format: 1e3, should be like '1000 MB'");
  EXPECT_EQ(legacy_error(std::string(500, '9') + "GiB"), "vram must be no more than 1 PiB");
  EXPECT_EQ(legacy_error("0GB"), "memory size must be at least 4 bytes");
  EXPECT_EQ(legacy_error("1PiB").rfind("unknown unit: PIB, should be one of ", 0), 0u);
  EXPECT_EQ(legacy_error("\xC3\xA9"
                         "1"),
            "invalid format: \xC3\xA9"
            "1, should be like '1000 MB'");
}

TEST(LegacyThreshold, NumericLookingFailsWithThresholdMessage) {
  for (const char* text : {"1_0", "+25", "\xEF\xBC\x91\xEF\xBC\x92", "-0", "1.5", "-00", "3.0", ".",
                           "_", "-", "+", "\xC2\xB2"}) {
    EXPECT_EQ(legacy_error(text), kLegacyNumeric) << text;
  }
}

TEST(LegacyThreshold, OtherTextBecomesVramAndFailsLater) {
  for (const char* text : {"", "%", " % ", "  "}) {
    const auto result = classify_legacy_threshold(text);
    EXPECT_EQ(result.kind, LegacyThreshold::Kind::vram) << text;
    EXPECT_EQ(result.vram, text);
  }
  EXPECT_EQ(thrown<ValueError>([] { parse_vram_elements(classify_legacy_threshold("").vram); }),
            "invalid format: , should be like '1000 MB'");
  EXPECT_EQ(thrown<ValueError>([] { parse_vram_elements(classify_legacy_threshold("%").vram); }),
            "invalid format: %, should be like '1000 MB'");
}

TEST(ShouldRunBatch, PredicateTable) {
  EXPECT_TRUE(should_run_batch(0.0, -1));
  EXPECT_TRUE(should_run_batch(100.0, -1));
  EXPECT_TRUE(should_run_batch(std::nullopt, -1));
  EXPECT_TRUE(should_run_batch(10.0, 10));
  EXPECT_FALSE(should_run_batch(11.0, 10));
  EXPECT_FALSE(should_run_batch(std::nullopt, 10));
  EXPECT_FALSE(should_run_batch(-1.0, 10));
  EXPECT_FALSE(should_run_batch(101.0, 10));
  // Extra edges: threshold 0 runs only at exactly 0%; the untruncated value is compared.
  EXPECT_TRUE(should_run_batch(0.0, 0));
  EXPECT_FALSE(should_run_batch(0.5, 0));
  EXPECT_FALSE(should_run_batch(10.5, 10));
  EXPECT_TRUE(should_run_batch(100.0, 100));
  EXPECT_FALSE(should_run_batch(std::nan(""), 100));
  EXPECT_FALSE(should_run_batch(std::numeric_limits<double>::infinity(), 100));
}

TEST(Telemetry, UtilizationNormalisation) {
  EXPECT_EQ(normalize_utilization(55.7), 55.7);
  EXPECT_EQ(normalize_utilization(0.0), 0.0);
  EXPECT_EQ(normalize_utilization(100.0), 100.0);
  EXPECT_EQ(normalize_utilization(-1.0), std::nullopt);
  EXPECT_EQ(normalize_utilization(100.5), std::nullopt);
  EXPECT_EQ(normalize_utilization(std::nan("")), std::nullopt);
  EXPECT_EQ(normalize_utilization(std::numeric_limits<double>::infinity()), std::nullopt);
}

TEST(Telemetry, MemoryFieldValidity) {
  for (const Json& value : {Json(), Json(0), Json(1), Json(1024)}) {
    EXPECT_TRUE(is_valid_memory_field(value)) << value.dump();
  }
  for (const Json& value : {Json(true), Json(false), Json(-1), Json(1.0), Json("1")}) {
    EXPECT_FALSE(is_valid_memory_field(value)) << value.dump();
  }
  EXPECT_TRUE(is_valid_memory_pair(Json(1024), Json(512)));
  EXPECT_TRUE(is_valid_memory_pair(Json(1024), Json()));
  EXPECT_TRUE(is_valid_memory_pair(Json(), Json(512)));
  EXPECT_TRUE(is_valid_memory_pair(Json(), Json()));
  EXPECT_FALSE(is_valid_memory_pair(Json(1024), Json(2048)));
  EXPECT_FALSE(is_valid_memory_pair(Json(-1), Json(0)));
  EXPECT_FALSE(is_valid_memory_pair(Json(1024), Json(-1)));
}

TEST(Telemetry, MemoryCountersInJsonAreNonNegativeIntegers) {
  EXPECT_EQ(normalize_memory_json(Json(4096)), 4096u);
  EXPECT_EQ(normalize_memory_json(Json(0)), 0u);
  EXPECT_EQ(normalize_memory_json(Json(-1)), std::nullopt);
  EXPECT_EQ(normalize_memory_json(Json(1.0)), std::nullopt);
  EXPECT_EQ(normalize_memory_json(Json(true)), std::nullopt);
  EXPECT_EQ(normalize_memory_json(Json("4096")), std::nullopt);
}

}  // namespace
}  // namespace keepgpu::core

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;

constexpr const char* kUtilTarget = "util_target must be an integer between 0 and 100";

TEST(UtilTarget, TextAndJsonTakeIntegersFrom0To100) {
  EXPECT_EQ(parse_util_target_text("0"), 0);
  EXPECT_EQ(parse_util_target_text(" 10 "), 10);
  EXPECT_EQ(parse_util_target_text("100"), 100);
  for (const char* bad : {"", "-1", "101", "10%", "2.5", "+5", "ten"}) {
    EXPECT_EQ(thrown<ValueError>([&] { parse_util_target_text(bad); }), kUtilTarget) << bad;
  }
  EXPECT_EQ(validate_util_target_json(json::parse("40")), 40);
  for (const char* bad :
       {"-1", "101", "10.0", "true", "\"10\"", "null", "1e3", "123456789012345678901234567890"}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_util_target_json(json::parse(bad)); }), kUtilTarget)
        << bad;
  }
}

TEST(UtilTarget, TheKeepersOwnShareIsNotForeign) {
  EXPECT_EQ(foreign_utilization(40.0, 40), 0.0);
  EXPECT_EQ(foreign_utilization(35.0, 40), 0.0)
      << "a partial window of our own never goes negative";
  EXPECT_EQ(foreign_utilization(95.0, 10), 85.0);
  EXPECT_EQ(foreign_utilization(std::nullopt, 10), std::nullopt);
  EXPECT_EQ(foreign_utilization(30.0, 0), 30.0);
}

}  // namespace
}  // namespace keepgpu::core
