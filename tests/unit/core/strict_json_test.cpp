#include "core/strict_json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/thrown.hpp"

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;
using Json = nlohmann::json;

std::string decode_error(const std::string& text, int max_depth = 64) {
  return thrown<JsonDecodeError>([&] { parse_strict_json(text, max_depth); });
}

TEST(StrictJson, AcceptsStandardDocuments) {
  const Json doc = parse_strict_json(R"( {"a": 1, "b": [true, false, null], "c": "x"} )");
  EXPECT_EQ(doc, Json({{"a", 1}, {"b", {true, false, nullptr}}, {"c", "x"}}));
  EXPECT_EQ(parse_strict_json("42"), Json(42));
  EXPECT_EQ(parse_strict_json("\t\r\n\"s\"\n"), Json("s"));
  EXPECT_EQ(parse_strict_json("[]"), Json::array());
  EXPECT_EQ(parse_strict_json("{}"), Json::object());
  EXPECT_EQ(parse_strict_json(R"({"k": {"n": [1, [2, {}]]}})")["k"]["n"][1][0], Json(2));
}

TEST(StrictJson, Strings) {
  EXPECT_EQ(parse_strict_json("\"\xC3\xA9\""), Json("\xC3\xA9"));
  EXPECT_EQ(parse_strict_json(R"("\u00e9")"), Json("\xC3\xA9"));
  EXPECT_EQ(parse_strict_json(R"("\ud83d\ude00")"), Json("\xF0\x9F\x98\x80"));
  EXPECT_EQ(parse_strict_json(R"("\"\\\/\b\f\n\r\t")"), Json("\"\\/\b\f\n\r\t"));
  EXPECT_EQ(parse_strict_json(R"("\u0000")").get<std::string>(), std::string(1, '\0'));
}

TEST(StrictJson, NumbersKeepIntegerVersusFloat) {
  EXPECT_TRUE(parse_strict_json("-0").is_number_integer());
  EXPECT_EQ(parse_strict_json("-0"), Json(0));
  EXPECT_TRUE(parse_strict_json("1.0").is_number_float());
  EXPECT_TRUE(parse_strict_json("1e2").is_number_float());
  EXPECT_EQ(parse_strict_json("1e2").get<double>(), 100.0);
  EXPECT_EQ(parse_strict_json("9223372036854775807").get<std::int64_t>(),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_strict_json("-9223372036854775808").get<std::int64_t>(),
            std::numeric_limits<std::int64_t>::min());
  const Json unsigned_max = parse_strict_json("18446744073709551615");
  EXPECT_TRUE(unsigned_max.is_number_unsigned());
  EXPECT_EQ(unsigned_max.get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
}

TEST(StrictJson, HugeNumbersSaturateInsteadOfFailing) {
  const Json huge = parse_strict_json("1" + std::string(1000, '0'));
  EXPECT_TRUE(huge.is_number_unsigned());
  EXPECT_EQ(huge.get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  const Json negative = parse_strict_json("-1" + std::string(1000, '0'));
  EXPECT_EQ(negative.get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  const Json overflow = parse_strict_json("1e400");
  EXPECT_TRUE(overflow.is_number_float());
  EXPECT_TRUE(std::isinf(overflow.get<double>()));
  EXPECT_GT(overflow.get<double>(), 0);
  EXPECT_LT(parse_strict_json("-1e400").get<double>(), 0);
  EXPECT_EQ(parse_strict_json("1e-400").get<double>(), 0.0);
}

TEST(StrictJson, PythonStyleSyntaxErrors) {
  EXPECT_EQ(decode_error(""), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(decode_error("   "), "Expecting value: line 1 column 4 (char 3)");
  EXPECT_EQ(decode_error("{not json}"),
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error(R"({"a": 1} {"b": 2})"), "Extra data: line 1 column 10 (char 9)");
  EXPECT_EQ(decode_error("[1 2]"), "Expecting ',' delimiter: line 1 column 4 (char 3)");
  EXPECT_EQ(decode_error(R"({"a" 1})"), "Expecting ':' delimiter: line 1 column 6 (char 5)");
  EXPECT_EQ(decode_error("1."), "Extra data: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error("\"\xC3\xA9\" x"), "Extra data: line 1 column 5 (char 4)");
  EXPECT_EQ(decode_error("[1,]"), "Expecting value: line 1 column 4 (char 3)");
  EXPECT_EQ(decode_error(R"({"a":1,})"),
            "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)");
  EXPECT_EQ(decode_error("{'a':1}"),
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error("01"), "Extra data: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error("[01]"), "Expecting ',' delimiter: line 1 column 3 (char 2)");
  EXPECT_EQ(decode_error("+1"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(decode_error(".5"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(decode_error("\"a\tb\""), "Invalid control character at: line 1 column 3 (char 2)");
  EXPECT_EQ(decode_error("\"abc"), "Unterminated string starting at: line 1 column 1 (char 0)");
  EXPECT_EQ(decode_error("tru"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(decode_error(R"("\x")"), "Invalid \\escape: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error(R"("\u12")"), "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
  EXPECT_EQ(decode_error("\n\n  [1,\n  x]"), "Expecting value: line 4 column 3 (char 10)");
  EXPECT_EQ(decode_error("[-]"), "Expecting value: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error("// comment\n1"), "Expecting value: line 1 column 1 (char 0)");
  EXPECT_EQ(decode_error("1 /* c */"), "Extra data: line 1 column 3 (char 2)");
}

TEST(StrictJson, NonFiniteConstants) {
  EXPECT_EQ(decode_error("NaN"), "invalid JSON constant: NaN");
  EXPECT_EQ(decode_error("Infinity"), "invalid JSON constant: Infinity");
  EXPECT_EQ(decode_error("-Infinity"), "invalid JSON constant: -Infinity");
  EXPECT_EQ(decode_error(R"({"interval": NaN})"), "invalid JSON constant: NaN");
  EXPECT_EQ(decode_error("[1, -Infinity]"), "invalid JSON constant: -Infinity");
}

TEST(StrictJson, RejectsInvalidUtf8AndBom) {
  EXPECT_EQ(decode_error("\"\xFF\""), "invalid UTF-8 in JSON text at byte 1");
  EXPECT_EQ(decode_error("\"\xC0\xAF\""), "invalid UTF-8 in JSON text at byte 1");      // overlong
  EXPECT_EQ(decode_error("\"\xED\xA0\x80\""), "invalid UTF-8 in JSON text at byte 1");  // surrogate
  EXPECT_EQ(decode_error("[\"ok\", \"\xE2\x82\"]"), "invalid UTF-8 in JSON text at byte 8");
  EXPECT_EQ(decode_error("\xEF\xBB\xBF{}"),
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)");
}

TEST(StrictJson, RejectsLoneSurrogateEscapes) {
  EXPECT_EQ(decode_error(R"("\ud800")"), "Lone surrogate in \\u escape: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error(R"("\udc00")"), "Lone surrogate in \\u escape: line 1 column 2 (char 1)");
  EXPECT_EQ(decode_error(R"("\ud800\u0041")"),
            "Lone surrogate in \\u escape: line 1 column 2 (char 1)");
}

TEST(StrictJson, DuplicateKeys) {
  EXPECT_EQ(decode_error(R"({"a": 1, "a": 2})"),
            "duplicate object key \"a\": line 1 column 10 (char 9)");
  EXPECT_EQ(decode_error(R"({"x": {"k": 1, "k": 1}})"),
            "duplicate object key \"k\": line 1 column 16 (char 15)");
  // The same key in different objects is fine.
  EXPECT_NO_THROW(parse_strict_json(R"([{"a": 1}, {"a": 2}])"));
  // Upstream's behaviour is available on request: the last occurrence wins.
  const Json last =
      parse_strict_json(R"({"a": 1, "a": 2})", StrictJsonOptions{64, DuplicateKeys::last_wins});
  EXPECT_EQ(last, Json({{"a", 2}}));
}

TEST(StrictJson, DepthLimit) {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_NO_THROW(parse_strict_json(nested(64)));
  EXPECT_EQ(decode_error(nested(65)),
            "JSON nesting exceeds the maximum depth of 64: line 1 column 65 (char 64)");
  EXPECT_EQ(decode_error(R"({"a": {"b": 1}})", 1),
            "JSON nesting exceeds the maximum depth of 1: line 1 column 7 (char 6)");
  EXPECT_NO_THROW(parse_strict_json(R"([{"a": 1}, {"b": 2}])", 2));
  // A hostile document must fail cleanly, not exhaust the stack.
  EXPECT_EQ(decode_error(std::string(1000000, '[')),
            "JSON nesting exceeds the maximum depth of 64: line 1 column 65 (char 64)");
}

TEST(StrictJson, ErrorsAreValueErrors) {
  EXPECT_EQ(thrown<ValueError>([] { parse_strict_json("nope"); }),
            "Expecting value: line 1 column 1 (char 0)");
}

}  // namespace
}  // namespace keepgpu::core
