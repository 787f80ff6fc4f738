// The strict reader: what it accepts, how it reads numbers, and Python's error messages.
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/thrown.hpp"

namespace keepgpu::core::json {
namespace {

using keepgpu::test::thrown;

std::string decode_error(const std::string& text, int max_depth = 64) {
  return thrown<DecodeError>([&] { parse(text, ReadOptions{max_depth, DuplicateKeys::reject}); });
}

TEST(StrictJson, ObjectsKeepTheirOrderButCompareAsSets) {
  const Json doc = parse(R"({"b": 1, "a": 2})");
  EXPECT_EQ(doc.begin().key(), "b");
  EXPECT_EQ(doc, parse(R"({"a": 2, "b": 1})"));
  EXPECT_NE(doc, parse(R"({"a": 2, "b": 2})"));
  EXPECT_NE(doc, parse(R"({"a": 2})"));
  EXPECT_NE(parse("[1, 2]"), parse("[2, 1]"));
}

TEST(StrictJson, AcceptsStandardDocuments) {
  const Json doc = parse(R"( {"a": 1, "b": [true, false, null], "c": "x"} )");
  EXPECT_EQ(doc, Json({{"a", 1}, {"b", {true, false, nullptr}}, {"c", "x"}}));
  EXPECT_EQ(parse("42"), Json(42));
  EXPECT_EQ(parse("\t\r\n\"s\"\n"), Json("s"));
  EXPECT_EQ(parse("[]"), Json::array());
  EXPECT_EQ(parse("{}"), Json::object());
  EXPECT_EQ(parse(R"({"k": {"n": [1, [2, {}]]}})")["k"]["n"][1][0], Json(2));
}

TEST(StrictJson, Strings) {
  EXPECT_EQ(parse("\"\xC3\xA9\""), Json("\xC3\xA9"));
  EXPECT_EQ(parse(R"("\u00e9")"), Json("\xC3\xA9"));
  EXPECT_EQ(parse(R"("\ud83d\ude00")"), Json("\xF0\x9F\x98\x80"));
  EXPECT_EQ(parse(R"("\"\\\/\b\f\n\r\t")"), Json("\"\\/\b\f\n\r\t"));
  EXPECT_EQ(parse(R"("\u0000")").get<std::string>(), std::string(1, '\0'));
}

TEST(StrictJson, NumbersKeepIntegerVersusFloat) {
  EXPECT_TRUE(parse("-0").is_number_integer());
  EXPECT_EQ(parse("-0"), Json(0));
  EXPECT_TRUE(parse("1.0").is_number_float());
  EXPECT_TRUE(parse("1e2").is_number_float());
  EXPECT_EQ(parse("1e2").get<double>(), 100.0);
  EXPECT_EQ(parse("9223372036854775807").get<std::int64_t>(),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse("-9223372036854775808").get<std::int64_t>(),
            std::numeric_limits<std::int64_t>::min());
  const Json unsigned_max = parse("18446744073709551615");
  EXPECT_TRUE(unsigned_max.is_number_unsigned());
  EXPECT_EQ(unsigned_max.get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
}

TEST(StrictJson, HugeIntegersKeepTheirDigits) {
  const std::string digits = "1" + std::string(1000, '0');
  const Json huge = parse(digits);
  EXPECT_TRUE(is_big_integer(huge));
  EXPECT_TRUE(is_integer(huge));
  EXPECT_FALSE(huge.is_number());
  EXPECT_EQ(big_integer_digits(huge), digits);
  EXPECT_EQ(dump(huge), digits);
  EXPECT_EQ(dump(parse("-18446744073709551616")), "-18446744073709551616");
  EXPECT_EQ(dump(parse("18446744073709551616")), "18446744073709551616");
  EXPECT_TRUE(parse("-9223372036854775809").is_binary());
  EXPECT_FALSE(is_integer(parse("true")));
  EXPECT_FALSE(is_integer(parse("1.0")));
  EXPECT_EQ(parse("[123456789012345678901234567890]"), parse("[123456789012345678901234567890]"));
  EXPECT_NE(parse("123456789012345678901234567890"), parse("123456789012345678901234567891"));
}

TEST(StrictJson, SaturatedGivesRangeChecksA64BitInteger) {
  const Json huge = saturated(parse("1" + std::string(1000, '0')));
  EXPECT_TRUE(huge.is_number_unsigned());
  EXPECT_EQ(huge.get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
  const Json negative = saturated(parse("-1" + std::string(1000, '0')));
  EXPECT_EQ(negative.get<std::int64_t>(), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(saturated(Json(5)), Json(5));
  EXPECT_EQ(saturated(Json("x")), Json("x"));
}

TEST(StrictJson, IntegerTokens) {
  EXPECT_EQ(integer("-0"), Json(0));
  EXPECT_TRUE(integer("9223372036854775808").is_number_unsigned());
  EXPECT_EQ(dump(integer("000123456789012345678901234567890")), "123456789012345678901234567890");
  EXPECT_THROW(integer("1.5"), std::invalid_argument);
  EXPECT_THROW(integer(""), std::invalid_argument);
}

TEST(StrictJson, FloatOverflowReadsAsInfinity) {
  const Json overflow = parse("1e400");
  EXPECT_TRUE(overflow.is_number_float());
  EXPECT_TRUE(std::isinf(overflow.get<double>()));
  EXPECT_GT(overflow.get<double>(), 0);
  EXPECT_LT(parse("-1e400").get<double>(), 0);
  EXPECT_EQ(parse("1e-400").get<double>(), 0.0);
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
  EXPECT_NO_THROW(parse(R"([{"a": 1}, {"a": 2}])"));
  // Upstream's behaviour is available on request: the first occurrence keeps its place, the
  // last one its value.
  const Json last = parse(R"({"z": 1, "a": 2, "z": 3})", ReadOptions{64, DuplicateKeys::last_wins});
  EXPECT_EQ(last, Json({{"z", 3}, {"a", 2}}));
  EXPECT_EQ(last.begin().key(), "z");
}

TEST(StrictJson, DepthLimit) {
  const auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_NO_THROW(parse(nested(64)));
  EXPECT_EQ(decode_error(nested(65)),
            "JSON nesting exceeds the maximum depth of 64: line 1 column 65 (char 64)");
  EXPECT_EQ(decode_error(R"({"a": {"b": 1}})", 1),
            "JSON nesting exceeds the maximum depth of 1: line 1 column 7 (char 6)");
  EXPECT_NO_THROW(parse(R"([{"a": 1}, {"b": 2}])", ReadOptions{2}));
  // A hostile document must fail cleanly, not exhaust the stack.
  EXPECT_EQ(decode_error(std::string(1000000, '[')),
            "JSON nesting exceeds the maximum depth of 64: line 1 column 65 (char 64)");
}

TEST(StrictJson, ErrorsAreValueErrors) {
  EXPECT_EQ(thrown<ValueError>([] { parse("nope"); }), "Expecting value: line 1 column 1 (char 0)");
}

}  // namespace
}  // namespace keepgpu::core::json
