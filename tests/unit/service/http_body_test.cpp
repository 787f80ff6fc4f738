// Content-Length judging and body decoding.
#include <gtest/gtest.h>

#include "service/http/body.hpp"

namespace keepgpu::service::http {
namespace {

std::string failure(const std::vector<std::string>& values) {
  const auto result = body_length(values, 1000000);
  const auto* f = std::get_if<BodyFailure>(&result);
  return f ? f->message : "<no failure>";
}

TEST(HttpBody, Lengths) {
  EXPECT_EQ(std::get<std::size_t>(body_length({}, 1000000)), 0U);
  EXPECT_EQ(std::get<std::size_t>(body_length({"2"}, 1000000)), 2U);
  EXPECT_EQ(std::get<std::size_t>(body_length({"0002"}, 1000000)), 2U);
  EXPECT_EQ(std::get<std::size_t>(body_length({"1000000"}, 1000000)), 1000000U);
}

TEST(HttpBody, BadLengths) {
  for (const char* value : {"-1", "+2", "0_2", "abc", "", "1 2", "\xD9\xA2"}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(failure({value}), "Content-Length must be a non-negative integer");
  }
  EXPECT_EQ(failure({"2", "2"}), "Content-Length must appear exactly once");
  EXPECT_EQ(failure({"1000001"}), "Request body too large: 1000001 bytes (max 1000000)");
  EXPECT_EQ(failure({"099999999999999999999999"}),
            "Request body too large: 99999999999999999999999 bytes (max 1000000)");
}

TEST(HttpBody, MasksEveryContentLengthName) {
  std::string block =
      "POST /rpc HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\nCONTENT-LENGTH: 3\r\n"
      "X-Content-Length: 4\r\n\r\n";
  mask_content_length(block);
  EXPECT_EQ(block,
            "POST /rpc HTTP/1.1\r\nHost: x\r\nX-Kgpu-Raw-Len: 2\r\nX-Kgpu-Raw-Len: 3\r\n"
            "X-Content-Length: 4\r\n\r\n");
}

TEST(HttpBody, DecodesStrictJson) {
  EXPECT_EQ(decode_json_body(R"({"a":1,"a":2})"), keepgpu::core::Json({{"a", 2}}));
  EXPECT_THROW(decode_json_body(R"({"interval":NaN})"), BodyError);
  try {
    decode_json_body("{\"a\":\"\xff\"}");
    FAIL();
  } catch (const BodyError& error) {
    EXPECT_STREQ(error.what(),
                 "'utf-8' codec can't decode byte 0xff in position 6: invalid start byte");
  }
}

}  // namespace
}  // namespace keepgpu::service::http
