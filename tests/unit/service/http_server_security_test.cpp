// The TCP listener's token, Host, Origin and content-type checks, and the Unix socket's trust in
// file permissions.
#include <sys/stat.h>

#include "http_server_fixture.hpp"

namespace keepgpu::service::http_testing {
namespace {

class HttpServerSecurity : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    start_server([](http::ServerOptions& options) { options.token = "s3cret-token"; });
  }

  static Request authorized(Request request, const std::string& token = "s3cret-token") {
    request.extra += "Authorization: Bearer " + token + "\r\n";
    return request;
  }
};

TEST_F(HttpServerSecurity, MissingOrWrongTokenIs401) {
  for (const auto& request :
       {Request{"GET", "/api/sessions"}, authorized(Request{"GET", "/api/sessions"}, "wrong"),
        authorized(Request{"GET", "/api/sessions"}, "s3cret-token-and-more"),
        Request{"POST", "/rpc", R"({"id":1,"method":"ping"})"}}) {
    SCOPED_TRACE(request.method + " " + request.target);
    const auto r = tcp(request);
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.message(), "Missing or invalid token");
    EXPECT_EQ(r.header("www-authenticate"), "Bearer");
  }
}

TEST_F(HttpServerSecurity, RightTokenPasses) {
  EXPECT_EQ(tcp(authorized(Request{"GET", "/api/sessions"})).status, 200);
  const auto rpc = tcp(authorized(Request{"POST", "/rpc", R"({"id":1,"method":"ping"})"}));
  EXPECT_EQ(rpc.body, R"({"jsonrpc":"2.0","id":1,"result":{}})");
}

TEST_F(HttpServerSecurity, HealthNeedsNoToken) {
  const auto r = tcp(Request{"GET", "/health"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"ok": true})");
}

TEST_F(HttpServerSecurity, ForeignHostIs403) {
  for (const char* host : {"evil.example", "evil.example:1234", "127.0.0.1:1"}) {
    SCOPED_TRACE(host);
    Request request = authorized(Request{"GET", "/api/sessions"});
    request.host = host;
    const auto r = tcp(request);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.message(), "Host not allowed");
  }
  // Even /health: a rebinding page must not learn that the service is there.
  Request health{"GET", "/health"};
  health.host = "evil.example";
  EXPECT_EQ(tcp(health).status, 403);
}

TEST_F(HttpServerSecurity, LoopbackHostsWithThePortPass) {
  for (const std::string& host :
       std::vector<std::string>{"localhost", "127.0.0.1:" + std::to_string(port),
                                "localhost:" + std::to_string(port), "[::1]"}) {
    SCOPED_TRACE(host);
    Request request = authorized(Request{"GET", "/api/sessions"});
    request.host = host;
    EXPECT_EQ(tcp(request).status, 200);
  }
}

TEST_F(HttpServerSecurity, ForeignOriginIs403) {
  Request request = authorized(Request{"POST", "/rpc", R"({"id":1,"method":"ping"})"});
  request.host = "127.0.0.1:" + std::to_string(port);
  request.extra += "Origin: http://evil.example\r\n";
  const auto r = tcp(request);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.message(), "Origin not allowed");
}

TEST_F(HttpServerSecurity, OwnOriginPasses) {
  Request request = authorized(Request{"POST", "/rpc", R"({"id":1,"method":"ping"})"});
  request.host = "127.0.0.1:" + std::to_string(port);
  request.extra += "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n";
  EXPECT_EQ(tcp(request).status, 200);
}

TEST_F(HttpServerSecurity, TextPlainPostIs415AndStartsNothing) {
  for (const char* target : {"/rpc", "/", "/api/sessions"}) {
    SCOPED_TRACE(target);
    Request request = authorized(Request{"POST", target,
                                         std::string(target) == "/api/sessions"
                                             ? "{}"
                                             : R"({"id":1,"method":"start_keep","params":{}})"});
    request.content_type = "text/plain";
    const auto r = tcp(request);
    EXPECT_EQ(r.status, 415);
    EXPECT_EQ(r.message(), "Content-Type must be application/json");
  }
  Request missing = authorized(Request{"POST", "/rpc", R"({"id":1,"method":"ping"})"});
  missing.content_type.reset();
  EXPECT_EQ(tcp(missing).status, 415);
  Request charset = authorized(Request{"POST", "/rpc", R"({"id":1,"method":"ping"})"});
  charset.content_type = "application/json; charset=utf-8";
  EXPECT_EQ(tcp(charset).status, 200);
  EXPECT_EQ(sessions.size(), 0U);
}

TEST_F(HttpServerSecurity, UnixSocketNeedsNoToken) {
  Request request{"GET", "/api/sessions"};
  request.host = "localhost";
  const auto r = unix_socket(request);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), keepgpu::core::Json::parse(R"({"active_jobs": []})"));
  Request rpc{"POST", "/rpc", R"({"id":1,"method":"ping"})"};
  rpc.host = "";
  EXPECT_EQ(unix_socket(rpc).body, R"({"jsonrpc":"2.0","id":1,"result":{}})");
}

TEST_F(HttpServerSecurity, UnixSocketStillChecksHostOriginAndContentType) {
  Request foreign{"GET", "/api/sessions"};
  foreign.host = "evil.example";
  EXPECT_EQ(unix_socket(foreign).status, 403);
  Request origin{"GET", "/api/sessions"};
  origin.host = "localhost";
  origin.extra = "Origin: http://evil.example\r\n";
  EXPECT_EQ(unix_socket(origin).status, 403);
  Request plain{"POST", "/rpc", R"({"id":1,"method":"ping"})"};
  plain.content_type = "text/plain";
  EXPECT_EQ(unix_socket(plain).status, 415);
}

TEST_F(HttpServerSecurity, UnixSocketIsPrivate) {
  struct stat info {};
  ASSERT_EQ(::stat(socket_path.c_str(), &info), 0);
  EXPECT_TRUE(S_ISSOCK(info.st_mode));
  EXPECT_EQ(info.st_mode & 0777, 0600U);
}

}  // namespace
}  // namespace keepgpu::service::http_testing
