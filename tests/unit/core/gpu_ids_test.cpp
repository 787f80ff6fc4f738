#include "core/gpu_ids.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>
#include "core/json.hpp"

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/thrown.hpp"

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;
using Ids = std::vector<std::int64_t>;

constexpr const char* kEmptyText =
    "gpu_ids must not be empty; omit --gpu-ids to use all visible GPUs";
constexpr const char* kEmptyList = "gpu_ids must select at least one GPU";
constexpr const char* kTooMany = "gpu_ids has too many items";
constexpr const char* kNegative = "gpu_ids must contain non-negative integers";
constexpr const char* kDuplicate = "gpu_ids must not contain duplicate values";
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

std::string text_error(const std::string& raw) {
  return thrown<ValueError>([&] { parse_gpu_ids_text(raw); });
}

std::string invalid_characters(const std::string& raw) {
  return "Invalid characters in --gpu-ids '" + raw + "'. Use comma-separated visible ordinals.";
}

std::string joined_range(int count) {
  std::string text;
  for (int i = 0; i < count; ++i)
    text += (i ? "," : "") + std::to_string(i);
  return text;
}

Ids range_ids(int count) {
  Ids ids;
  for (int i = 0; i < count; ++i)
    ids.push_back(i);
  return ids;
}

TEST(GpuIdsText, Accepted) {
  EXPECT_EQ(parse_gpu_ids_text("0"), Ids({0}));
  EXPECT_EQ(parse_gpu_ids_text("1,0"), Ids({1, 0}));
  EXPECT_EQ(parse_gpu_ids_text(" 0 , 1 "), Ids({0, 1}));
  EXPECT_EQ(parse_gpu_ids_text("007"), Ids({7}));
  EXPECT_EQ(parse_gpu_ids_text("0,\t2"), Ids({0, 2}));
  EXPECT_EQ(parse_gpu_ids_text(joined_range(64)), range_ids(64));
  // Values beyond any device count pass here and are checked against devices later.
  EXPECT_EQ(parse_gpu_ids_text("12345678901234567890"), Ids({kInt64Max}));
  EXPECT_EQ(parse_gpu_ids_text("9223372036854775807"), Ids({kInt64Max}));
  // Distinct huge values both saturate but are not duplicates of each other.
  EXPECT_EQ(parse_gpu_ids_text("99999999999999999999,99999999999999999998"),
            Ids({kInt64Max, kInt64Max}));
}

TEST(GpuIdsText, DigitsAreExactAndCanonical) {
  using Digits = std::vector<std::string>;
  EXPECT_EQ(parse_gpu_id_digits(" 0 , 007,\t2"), Digits({"0", "7", "2"}));
  EXPECT_EQ(parse_gpu_id_digits("000"), Digits({"0"}));
  EXPECT_EQ(parse_gpu_id_digits("99999999999999999999,99999999999999999998"),
            Digits({"99999999999999999999", "99999999999999999998"}));
  // The same validation as the integer form, first failure wins.
  EXPECT_EQ(thrown<ValueError>([] { parse_gpu_id_digits("0,00"); }),
            thrown<ValueError>([] { parse_gpu_ids_text("0,00"); }));
  EXPECT_EQ(thrown<ValueError>([] { parse_gpu_id_digits("1,-2"); }),
            thrown<ValueError>([] { parse_gpu_ids_text("1,-2"); }));
  EXPECT_EQ(thrown<ValueError>([] { parse_gpu_id_digits("a"); }),
            thrown<ValueError>([] { parse_gpu_ids_text("a"); }));
}

TEST(GpuIdsText, Empty) {
  EXPECT_EQ(text_error(""), kEmptyText);
  EXPECT_EQ(text_error("   "), kEmptyText);
  EXPECT_EQ(text_error("\xC2\xA0"), kEmptyText);
}

TEST(GpuIdsText, InvalidCharactersQuoteTheRawValue) {
  for (const char* raw :
       {"0,,1", "0,", ",0", "0 1", "0;1", "+0", "-0", "1_000",
        "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93", "a", " 0,,1 ", "0,-00", "1.0", "0x1", ","}) {
    EXPECT_EQ(text_error(raw), invalid_characters(raw)) << raw;
  }
}

TEST(GpuIdsText, CheckOrder) {
  EXPECT_EQ(text_error(joined_range(65)), kTooMany);
  EXPECT_EQ(text_error("-1," + joined_range(64)), kTooMany);  // count before sign
  EXPECT_EQ(text_error("-1"), kNegative);
  EXPECT_EQ(text_error("0,-1,0"), kNegative);  // sign before duplicates
  EXPECT_EQ(text_error("0,00"), kDuplicate);
  EXPECT_EQ(text_error("1,2,1"), kDuplicate);
  EXPECT_EQ(text_error("0,a,-1"), invalid_characters("0,a,-1"));  // characters first
}

TEST(GpuIdsValidate, ApiList) {
  EXPECT_EQ(thrown<ValueError>([] { validate_gpu_ids({}); }), kEmptyList);
  EXPECT_EQ(thrown<ValueError>([] { validate_gpu_ids({0, 1, 0}); }), kDuplicate);
  EXPECT_EQ(thrown<ValueError>([] { validate_gpu_ids({-1}); }), kNegative);
  EXPECT_EQ(validate_gpu_ids(range_ids(64)), range_ids(64));
  EXPECT_EQ(thrown<ValueError>([] { validate_gpu_ids(range_ids(65)); }), kTooMany);
  EXPECT_EQ(validate_gpu_ids({2, 0}), Ids({2, 0}));
  EXPECT_EQ(kMaxGpuIds, 64u);
}

TEST(GpuIdsValidate, JsonValues) {
  EXPECT_EQ(validate_gpu_ids_json(keepgpu::core::Json()), std::nullopt);
  EXPECT_EQ(validate_gpu_ids_json(keepgpu::core::json::parse("[2, 0]")), Ids({2, 0}));
  EXPECT_EQ(validate_gpu_ids_json(keepgpu::core::json::parse("[18446744073709551615]")),
            Ids({kInt64Max}));
  for (const char* text : {"\"0\"", "0", "{}", "true"}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_gpu_ids_json(keepgpu::core::json::parse(text)); }),
              "gpu_ids must be a list of integers")
        << text;
  }
  EXPECT_EQ(thrown<ValueError>([] { validate_gpu_ids_json(keepgpu::core::json::parse("[]")); }),
            kEmptyList);
  for (const char* text : {"[true]", "[1.0]", "[\"0\"]", "[null]", "[-1]", "[0, -1]"}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_gpu_ids_json(keepgpu::core::json::parse(text)); }),
              kNegative)
        << text;
  }
  EXPECT_EQ(
      thrown<ValueError>([] { validate_gpu_ids_json(keepgpu::core::json::parse("[0, 1, 0]")); }),
      kDuplicate);
  const auto too_many = keepgpu::core::json::parse("[" + joined_range(65) + "]");
  EXPECT_EQ(thrown<ValueError>([&] { validate_gpu_ids_json(too_many); }), kTooMany);
  // Item types are checked before duplicates.
  EXPECT_EQ(
      thrown<ValueError>([] { validate_gpu_ids_json(keepgpu::core::json::parse("[0, 0, true]")); }),
      kNegative);
}

TEST(GpuIdsFormat, PythonListForm) {
  EXPECT_EQ(format_id_list({}), "[]");
  EXPECT_EQ(format_id_list({0}), "[0]");
  EXPECT_EQ(format_id_list({0, 1}), "[0, 1]");
  EXPECT_EQ(format_id_list({3, 12, 7}), "[3, 12, 7]");
}

}  // namespace
}  // namespace keepgpu::core
