// The writer spells JSON the way Python's json.dumps does: separators, indent=2, ensure_ascii
// escapes, float repr, exact integers, sort_keys, and what it does with non-finite floats.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/json.hpp"

namespace keepgpu::core::json {
namespace {

std::string indent2(std::string_view text) {
  WriteOptions options;
  options.indent = 2;
  options.non_finite = NonFinite::raise;
  return dump(parse(text, ReadOptions{64, DuplicateKeys::last_wins}), options);
}

TEST(JsonWrite, FloatsAreSpelledLikePython) {
  EXPECT_EQ(dump(Json(100.0)), "100.0");
  EXPECT_EQ(dump(Json(0.5)), "0.5");
  EXPECT_EQ(dump(Json(1e-05)), "1e-05");
  EXPECT_EQ(dump(Json(1e16)), "1e+16");
  EXPECT_EQ(dump(Json(-0.0)), "-0.0");
}

TEST(JsonWrite, NonFiniteFloatsAreNullOrRefused) {
  const Json infinite(std::numeric_limits<double>::infinity());
  EXPECT_EQ(dump(infinite), "null");
  WriteOptions options;
  options.non_finite = NonFinite::raise;
  EXPECT_THROW(dump(infinite, options), NonFiniteNumber);
  EXPECT_THROW(indent2("[1e999]"), NonFiniteNumber);
}

TEST(JsonWrite, IntegersAreExact) {
  EXPECT_EQ(dump(Json(std::uint64_t{18446744073709551615ULL})), "18446744073709551615");
  EXPECT_EQ(dump(Json(std::int64_t{-9223372036854775807LL - 1})), "-9223372036854775808");
  EXPECT_EQ(dump(big_integer("-123456789012345678901234567890")),
            "-123456789012345678901234567890");
}

TEST(JsonWrite, SeparatorsFollowTheStyle) {
  const Json value = parse(R"({"b": {"c": null}, "a": [1, 2]})");
  EXPECT_EQ(dump(value), R"({"b": {"c": null}, "a": [1, 2]})");
  WriteOptions compact;
  compact.separators = Separators::compact;
  EXPECT_EQ(dump(value, compact), R"({"b":{"c":null},"a":[1,2]})");
}

TEST(JsonWrite, SortKeysOrdersByCodePoint) {
  WriteOptions sorted;
  sorted.sort_keys = true;
  EXPECT_EQ(dump(parse(R"({"b": 1, "\u00e9": 2, "a": {"z": 1, "y": 2}, "B": 3})"), sorted),
            R"({"B": 3, "a": {"y": 2, "z": 1}, "b": 1, "\u00e9": 2})");
}

TEST(JsonWrite, IndentsLikePython) {
  EXPECT_EQ(indent2(R"({"a": 1, "b": [1, {"c": null}], "d": {}, "e": [], "f": true})"),
            "{\n"
            "  \"a\": 1,\n"
            "  \"b\": [\n"
            "    1,\n"
            "    {\n"
            "      \"c\": null\n"
            "    }\n"
            "  ],\n"
            "  \"d\": {},\n"
            "  \"e\": [],\n"
            "  \"f\": true\n"
            "}");
}

TEST(JsonWrite, KeepsMemberOrderAndMergesDuplicatesLikePython) {
  EXPECT_EQ(indent2(R"({"z": 1, "a": 2, "z": 3})"), "{\n  \"z\": 3,\n  \"a\": 2\n}");
}

TEST(JsonWrite, NumbersKeepTheirKindAndExactDigits) {
  EXPECT_EQ(indent2("[50, 50.0, 123456789012345678901234567890, -0, 1e-05, 0.0001, 1e16, 1.5e16, "
                    "12.5, 9999999999999998.0, -0.0, 1E+2]"),
            "[\n  50,\n  50.0,\n  123456789012345678901234567890,\n  0,\n  1e-05,\n  0.0001,\n"
            "  1e+16,\n  1.5e+16,\n  12.5,\n  9999999999999998.0,\n  -0.0,\n  100.0\n]");
}

TEST(JsonQuote, EscapesLikeJsonDumpsWithEnsureAscii) {
  EXPECT_EQ(quote("a\"b\\c\n\t\x01"), R"("a\"b\\c\n\t\u0001")");
  EXPECT_EQ(quote("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(quote("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(quote(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(quote("caf\xC3\xA9"), R"("caf\u00e9")");
  EXPECT_EQ(quote("h\xC3\xA9llo \xF0\x9F\x98\x80"), R"("h\u00e9llo \ud83d\ude00")");
  EXPECT_EQ(quote("bad \xFF byte"), R"("bad \ufffd byte")");
  EXPECT_EQ(indent2(R"(["h\u00e9llo \ud83d\ude00"])"), "[\n  \"h\\u00e9llo \\ud83d\\ude00\"\n]");
}

TEST(JsonAccess, MemberAndTruthiness) {
  const Json doc = parse(R"({"a": 0, "b": "", "c": [1], "d": 0.5})");
  ASSERT_NE(member(doc, "a"), nullptr);
  EXPECT_EQ(member(doc, "x"), nullptr);
  EXPECT_EQ(member(Json::array(), "a"), nullptr);
  EXPECT_FALSE(truthy(*member(doc, "a")));
  EXPECT_FALSE(truthy(*member(doc, "b")));
  EXPECT_TRUE(truthy(*member(doc, "c")));
  EXPECT_TRUE(truthy(*member(doc, "d")));
  EXPECT_FALSE(truthy(Json()));
  EXPECT_FALSE(truthy(Json::object()));
  EXPECT_TRUE(truthy(Json("x")));
  EXPECT_TRUE(truthy(parse("123456789012345678901234567890")));
}

TEST(JsonRead, DecodesEscapesAndRefusesATrailingBackslash) {
  EXPECT_EQ(parse(R"(["a\"b\\c\/d\n\t\u00e9\ud83d\ude00"])")[0],
            Json("a\"b\\c/d\n\t\xC3\xA9\xF0\x9F\x98\x80"));
  // The text ends right after a backslash: malformed, never a read past the end.
  EXPECT_THROW(parse(std::string_view("\"abc\\", 5)), DecodeError);
}

}  // namespace
}  // namespace keepgpu::core::json
