// The JSON commands print what Python's json.dumps(obj, indent=2) prints.
#include "cli/json_print.hpp"

#include <gtest/gtest.h>

#include "cli/json_value.hpp"
#include "cli/service_call.hpp"

namespace keepgpu::cli {
namespace {

std::string reprint(const std::string& text) {
  return dumps_indent2(decode_body(text, "http://x/rpc"));
}

TEST(JsonPrint, IndentsLikePython) {
  EXPECT_EQ(reprint(R"({"a": 1, "b": [1, {"c": null}], "d": {}, "e": [], "f": true})"),
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
  EXPECT_EQ(error_json("Provide --job-id or use --all."),
            "{\n  \"error\": \"Provide --job-id or use --all.\"\n}");
}

TEST(JsonPrint, KeepsMemberOrderAndMergesDuplicatesLikePython) {
  EXPECT_EQ(reprint(R"({"z": 1, "a": 2, "z": 3})"), "{\n  \"z\": 3,\n  \"a\": 2\n}");
}

TEST(JsonPrint, EscapesWithEnsureAscii) {
  EXPECT_EQ(json_quote("h\xC3\xA9llo \xF0\x9F\x98\x80"), R"("h\u00e9llo \ud83d\ude00")");
  EXPECT_EQ(json_quote("a\"b\\c/d"), R"("a\"b\\c/d")");
  EXPECT_EQ(json_quote("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(json_quote(std::string("\x01\x1f\x7f", 3)), R"("\u0001\u001f\u007f")");
  EXPECT_EQ(reprint(R"(["h\u00e9llo \ud83d\ude00"])"), "[\n  \"h\\u00e9llo \\ud83d\\ude00\"\n]");
}

TEST(JsonPrint, NumbersKeepTheirKindAndExactDigits) {
  EXPECT_EQ(reprint("[50, 50.0, 123456789012345678901234567890, -0, 1e-05, 0.0001, 1e16, 1.5e16, "
                    "12.5, 9999999999999998.0, -0.0, 1E+2]"),
            "[\n  50,\n  50.0,\n  123456789012345678901234567890,\n  0,\n  1e-05,\n  0.0001,\n"
            "  1e+16,\n  1.5e+16,\n  12.5,\n  9999999999999998.0,\n  -0.0,\n  100.0\n]");
}

TEST(JsonPrint, OverflowingNumbersAreNotPrinted) {
  EXPECT_THROW(reprint("[1e999]"), NonFiniteNumber);
}

TEST(JsonPrint, CompactFormForRequests) {
  JsonValue params = JsonValue::make_object();
  params.set("gpu_ids", JsonValue{});
  params.set("vram", JsonValue::make_string(" 1 GiB "));
  params.set("interval", JsonValue::make_integer(300));
  EXPECT_EQ(dumps_compact(params), R"({"gpu_ids": null, "vram": " 1 GiB ", "interval": 300})");
}

TEST(DecodeBody, StrictnessAndErrors) {
  EXPECT_TRUE(decode_body("", "u").is_object());
  EXPECT_TRUE(decode_body(" {} ", "u").is_object());
  auto message_of = [](const std::string& body) {
    try {
      decode_body(body, "http://127.0.0.1:1/rpc");
    } catch (const ServiceError& e) {
      EXPECT_EQ(e.kind(), ServiceError::Kind::response);
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  EXPECT_EQ(message_of("not-json"),
            "Non-JSON response from service endpoint: http://127.0.0.1:1/rpc");
  EXPECT_EQ(message_of(R"({"a": NaN})"),
            "Non-JSON response from service endpoint: http://127.0.0.1:1/rpc");
  EXPECT_EQ(message_of("\xff"),
            "Invalid UTF-8 response from service endpoint: http://127.0.0.1:1/rpc");
  EXPECT_EQ(message_of("[1,]"), "Non-JSON response from service endpoint: http://127.0.0.1:1/rpc");
}

TEST(PyRepr, QuotesLikePython) {
  EXPECT_EQ(pyrepr("job-1"), "'job-1'");
  EXPECT_EQ(pyrepr(" "), "' '");
  EXPECT_EQ(pyrepr("it's"), "\"it's\"");
  EXPECT_EQ(pyrepr("a\\b\n"), "'a\\\\b\\n'");
}

TEST(JsonPrint, OrderedReaderDecodesEscapesAndRefusesATrailingBackslash) {
  const JsonValue value = parse_ordered_json(R"(["a\"b\\c\/d\n\t\u00e9\ud83d\ude00"])");
  ASSERT_EQ(value.items.size(), 1U);
  EXPECT_EQ(value.items[0].text, "a\"b\\c/d\n\t\xC3\xA9\xF0\x9F\x98\x80");
  // The text ends right after a backslash: malformed, never a read past the end.
  EXPECT_ANY_THROW(parse_ordered_json(std::string_view("\"abc\\", 5)));
}

}  // namespace
}  // namespace keepgpu::cli
