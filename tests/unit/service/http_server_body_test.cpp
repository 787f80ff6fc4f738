// Body reading over a real socket: framing
// failures are 400 "Bad request: ..." on /api/sessions and 200 JSON-RPC -32700 on / and /rpc.
#include "http_server_fixture.hpp"

namespace keepgpu::service::http_testing {
namespace {

using HttpServerBody = ServerFixture;

std::string post_with_lengths(const std::string& target, const std::string& length_lines,
                              const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         length_lines + "Connection: close\r\n\r\n" + body;
}

// Checks the failure shape on each of the three body-reading routes.
void expect_body_failure(ServerFixture& fixture, const std::string& length_lines,
                         const std::string& body, const std::string& message) {
  const auto rest = fixture.tcp_raw(post_with_lengths("/api/sessions", length_lines, body));
  EXPECT_EQ(rest.status, 400);
  EXPECT_EQ(rest.message(), "Bad request: " + message);
  for (const char* target : {"/", "/rpc"}) {
    SCOPED_TRACE(target);
    const auto rpc = fixture.tcp_raw(post_with_lengths(target, length_lines, body));
    EXPECT_EQ(rpc.status, 200);
    const auto envelope = rpc.json();
    EXPECT_EQ(envelope["jsonrpc"], "2.0");
    EXPECT_EQ(envelope["id"], nullptr);
    EXPECT_EQ(envelope["error"]["code"], -32700);
    EXPECT_EQ(envelope["error"]["message"], message);
  }
  EXPECT_EQ(fixture.sessions.size(), 0U);
}

TEST_F(HttpServerBody, MalformedContentLengthIsRejected) {
  for (const char* value : {"-1", "abc", "+2", "0_2"}) {
    SCOPED_TRACE(value);
    expect_body_failure(*this, std::string("Content-Length: ") + value + "\r\n", "{}",
                        "Content-Length must be a non-negative integer");
  }
}

TEST_F(HttpServerBody, DuplicateContentLengthIsRejected) {
  expect_body_failure(*this, "Content-Length: 2\r\ncontent-length: 2\r\n", "{}",
                      "Content-Length must appear exactly once");
}

TEST_F(HttpServerBody, OversizedBodyIsRejectedUnread) {
  expect_body_failure(*this, "Content-Length: 1000001\r\n", "",
                      "Request body too large: 1000001 bytes (max 1000000)");
}

TEST_F(HttpServerBody, InvalidUtf8BodyIsRejected) {
  const std::string body = "{\"job_id\":\"\xff\"}";
  expect_body_failure(*this, "Content-Length: " + std::to_string(body.size()) + "\r\n", body,
                      "'utf-8' codec can't decode byte 0xff in position 11: invalid start byte");
}

TEST_F(HttpServerBody, UnparsableBodiesAreParseErrors) {
  const std::string nan = R"({"interval":NaN})";
  expect_body_failure(*this, "Content-Length: " + std::to_string(nan.size()) + "\r\n", nan,
                      "invalid JSON constant: NaN");
  expect_body_failure(*this, "", "", "Expecting value: line 1 column 1 (char 0)");
  expect_body_failure(
      *this, "Content-Length: 1\r\n", "{",
      "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
}

TEST_F(HttpServerBody, ChunkedBodiesAreRefusedWith411) {
  // Read as empty, a chunked body would be answered as something it is not (and its bytes left
  // for a reader that frames differently); it is refused before anything is read.
  for (const char* length : {"", "Content-Length: 7\r\n"}) {
    SCOPED_TRACE(length);
    const auto r = tcp_raw(std::string("POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       "Content-Type: application/json\r\n") +
                           length +
                           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                           "2\r\n{}\r\n0\r\n\r\n");
    EXPECT_EQ(r.status, 411);
    EXPECT_EQ(r.message(),
              "Length Required: send the body with Content-Length (no Transfer-Encoding)");
  }
  const auto create = tcp_raw(
      "POST /api/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  EXPECT_EQ(create.status, 411);
}

TEST_F(HttpServerBody, BodyArrivingInPiecesIsAssembled) {
  const int fd = connect_tcp(port);
  const std::string body = R"({"id":"slow","method":"ping"})";
  send_all(fd,
           "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body.substr(0, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto r = round_trip(fd, body.substr(5));
  EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":"slow","result":{}})");
}

TEST_F(HttpServerBody, ExpectContinueIsAnswered) {
  const int fd = connect_tcp(port);
  const std::string body = R"({"id":2,"method":"ping"})";
  send_all(fd,
           "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Expect: 100-continue\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n");
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  std::string got(interim.size(), '\0');
  ASSERT_EQ(::recv(fd, got.data(), got.size(), MSG_WAITALL), static_cast<ssize_t>(got.size()));
  EXPECT_EQ(got, interim);
  EXPECT_EQ(round_trip(fd, body).body, R"({"jsonrpc":"2.0","id":2,"result":{}})");
}

TEST_F(HttpServerBody, ExtraBytesAfterTheDeclaredLengthAreIgnored) {
  const auto r = tcp_raw(post_with_lengths("/rpc", "Content-Length: 24\r\n",
                                           R"({"id":1,"method":"ping"}trailing junk)"));
  EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":1,"result":{}})");
}

TEST_F(HttpServerBody, ConfiguredLimit) {
  start_server([](http::ServerOptions& options) { options.max_body_bytes = 10; });
  const auto r = tcp_raw(post_with_lengths("/rpc", "Content-Length: 11\r\n", "{}"));
  EXPECT_EQ(r.json()["error"]["message"], "Request body too large: 11 bytes (max 10)");
}

}  // namespace
}  // namespace keepgpu::service::http_testing
