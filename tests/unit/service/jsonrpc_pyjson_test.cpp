// Python-compatible JSON text: json.dumps spelling, UTF-8 decoder messages, raw member lookup.
#include <gtest/gtest.h>

#include "service/pyjson.hpp"

namespace keepgpu::service::pyjson {
namespace {

TEST(PyJsonDump, FloatsAreSpelledLikePython) {
  EXPECT_EQ(dump(nlohmann::json(100.0)), "100.0");
  EXPECT_EQ(dump(nlohmann::json(0.5)), "0.5");
  EXPECT_EQ(dump(nlohmann::json(1e-05)), "1e-05");
  EXPECT_EQ(dump(nlohmann::json(1e16)), "1e+16");
  EXPECT_EQ(dump(nlohmann::json(-0.0)), "-0.0");
}

TEST(PyJsonDump, NonFiniteFloatsStayValidJson) {
  EXPECT_EQ(dump(nlohmann::json(std::numeric_limits<double>::infinity())), "null");
}

TEST(PyJsonDump, IntegersAreExact) {
  EXPECT_EQ(dump(nlohmann::json(std::uint64_t{18446744073709551615ULL})), "18446744073709551615");
  EXPECT_EQ(dump(nlohmann::json(std::int64_t{-9223372036854775807LL - 1})), "-9223372036854775808");
}

TEST(PyJsonDump, SeparatorsFollowTheStyle) {
  const auto value = nlohmann::json::parse(R"({"a": [1, 2], "b": {"c": null}})");
  EXPECT_EQ(dump(value), R"({"a": [1, 2], "b": {"c": null}})");
  EXPECT_EQ(dump(value, {Separators::compact, true}), R"({"a":[1,2],"b":{"c":null}})");
}

TEST(PyJsonQuote, EscapesLikeJsonDumps) {
  EXPECT_EQ(quote("a\"b\\c\n\t\x01"), R"("a\"b\\c\n\t\u0001")");
  EXPECT_EQ(quote("\x7f"), R"("\u007f")");
  EXPECT_EQ(quote("\x7f", false), "\"\x7f\"");
  EXPECT_EQ(quote("caf\xC3\xA9"), R"("caf\u00e9")");
  EXPECT_EQ(quote("\xF0\x9F\x98\x80"), R"("\ud83d\ude00")");
  EXPECT_EQ(quote("caf\xC3\xA9", false), "\"caf\xC3\xA9\"");
}

TEST(PyJsonUtf8, ValidTextHasNoError) {
  EXPECT_EQ(utf8_decode_error("plain {} \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::nullopt);
}

TEST(PyJsonUtf8, MessagesMatchCPython) {
  EXPECT_EQ(utf8_decode_error("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}"),
            "'utf-8' codec can't decode byte 0xff in position 27: invalid start byte");
  EXPECT_EQ(utf8_decode_error("\x80"),
            "'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte");
  EXPECT_EQ(utf8_decode_error("ab\xC3"),
            "'utf-8' codec can't decode byte 0xc3 in position 2: unexpected end of data");
  EXPECT_EQ(utf8_decode_error("\xE2\x82"),
            "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data");
  EXPECT_EQ(utf8_decode_error("\xC3("),
            "'utf-8' codec can't decode byte 0xc3 in position 0: invalid continuation byte");
  EXPECT_EQ(utf8_decode_error("\xE2\x82("),
            "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte");
  // Surrogates and overlong forms fail on their second byte.
  EXPECT_EQ(utf8_decode_error("\xED\xA0\x80"),
            "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte");
  EXPECT_EQ(utf8_decode_error("\xC0\x80"),
            "'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte");
}

TEST(PyJsonRaw, FindsTheLastTopLevelMember) {
  EXPECT_EQ(raw_member(R"({"id":1,"x":{"id":5},"id" : 99999999999999999999999 })", "id"),
            "99999999999999999999999");
  EXPECT_EQ(raw_member(R"({"a":"id","b":["id",{"id":3}]})", "id"), std::nullopt);
  EXPECT_EQ(raw_member(R"( {"\u0069d": -0} )", "id"), "-0");
  EXPECT_EQ(raw_member(R"({"id":"x\"y"})", "id"), R"("x\"y")");
  EXPECT_EQ(raw_member("[1]", "id"), std::nullopt);
}

TEST(PyJsonRaw, SplitsArrayElements) {
  const auto items = raw_elements(R"([ {"id":1,"a":[1,2]} , "x,y", 3 ,[]])");
  ASSERT_EQ(items.size(), 4U);
  EXPECT_EQ(items[0], R"({"id":1,"a":[1,2]})");
  EXPECT_EQ(items[1], R"("x,y")");
  EXPECT_EQ(items[2], "3");
  EXPECT_EQ(items[3], "[]");
  EXPECT_TRUE(raw_elements("[ ]").empty());
}

}  // namespace
}  // namespace keepgpu::service::pyjson
