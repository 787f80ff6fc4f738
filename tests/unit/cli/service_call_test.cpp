// Decoding a service's reply body, and Python's repr() for the messages that quote ids.
#include "cli/service_call.hpp"

#include <gtest/gtest.h>

namespace keepgpu::cli {
namespace {

TEST(DecodeBody, StrictnessAndErrors) {
  EXPECT_TRUE(decode_body("", "u").is_object());
  EXPECT_TRUE(decode_body(" {} ", "u").is_object());
  // One read keeps what the CLI prints unchanged: order, last duplicate, huge integers.
  const core::Json body =
      decode_body(R"({"z": 1, "a": 123456789012345678901234567890, "z": 2})", "u");
  EXPECT_EQ(core::json::dump(body), R"({"z": 2, "a": 123456789012345678901234567890})");
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

}  // namespace
}  // namespace keepgpu::cli
