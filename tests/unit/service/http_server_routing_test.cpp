// Routing over a real socket: REST answers, aliases, 405/404/501, HEAD.
#include "http_server_fixture.hpp"

namespace keepgpu::service::http_testing {
namespace {

using HttpRouting = ServerFixture;

Request get(std::string target) {
  return Request{"GET", std::move(target)};
}

Request with(std::string method, std::string target, std::string body = {}) {
  return Request{std::move(method), std::move(target), std::move(body)};
}

TEST_F(HttpRouting, HealthAnswersOk) {
  for (const char* target : {"/health", "/health?x=1", "//health"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(get(target));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"ok": true})");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("content-length"), "12");
    EXPECT_EQ(r.header("connection"), "close");
    EXPECT_TRUE(r.header("server").has_value());
    EXPECT_TRUE(r.header("date").has_value());
  }
}

TEST_F(HttpRouting, GpuListingIsEmptyOnACpuHost) {
  const auto r = tcp(get("/api/gpus"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json(), keepgpu::core::Json::parse(R"({"gpus": []})"));
}

TEST_F(HttpRouting, CreateOnACpuHostIsUnavailable) {
  const auto any = tcp(with("POST", "/api/sessions", "{}"));
  EXPECT_EQ(any.status, 503);
  EXPECT_EQ(any.json()["error"]["type"], "SessionStartupUnavailable");
  const auto listed = tcp(with("POST", "/api/sessions", R"({"gpu_ids":[0]})"));
  EXPECT_EQ(listed.status, 503);
  EXPECT_EQ(listed.json(),
            keepgpu::core::Json::parse(R"({"error":{"message":"No usable visible GPUs )"
                                       R"(are available","type":"SessionStartupUnavailable"}})"));
  EXPECT_EQ(sessions.size(), 0U);
}

TEST_F(HttpRouting, CreateRejectsBadBodies) {
  for (const char* body : {"[]", R"(["gpu_ids"])", R"("gpu_ids")", "1"}) {
    SCOPED_TRACE(body);
    const auto r = tcp(with("POST", "/api/sessions", body));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.message(), "Bad request: JSON body must be an object");
  }
  const auto unknown = tcp(with("POST", "/api/sessions", R"({"gpu_ids":[0],"x":1,"a":2})"));
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.message(), "Bad request: Unknown request fields: ['a', 'x']");
  const auto interval = tcp(with("POST", "/api/sessions", R"({"interval":0})"));
  EXPECT_EQ(interval.status, 400);
  EXPECT_EQ(interval.message(), "Bad request: interval must be positive");
}

TEST_F(HttpRouting, UnknownSessionsAreInactiveNotErrors) {
  const auto status = tcp(get("/api/sessions/nope"));
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(status.json(), keepgpu::core::Json::parse(R"({"active": false, "job_id": "nope"})"));
  const auto stop = tcp(with("DELETE", "/api/sessions/nope"));
  EXPECT_EQ(stop.status, 200);
  EXPECT_EQ(stop.json()["message"], "job_id not found");
  const auto list = tcp(get("/api/sessions"));
  EXPECT_EQ(list.json(), keepgpu::core::Json::parse(R"({"active_jobs": []})"));
  const auto stop_all = tcp(with("DELETE", "/api/sessions"));
  EXPECT_EQ(stop_all.status, 200);
  EXPECT_EQ(stop_all.json()["stopped"], keepgpu::core::Json::array());
}

TEST_F(HttpRouting, BadSessionPathsAreRejected) {
  for (const char* target : {"/api/sessions/bad%3Fjob", "/api/sessions/%2E", "/api/sessions/%2E%2E",
                             "/api/sessions/.."}) {
    SCOPED_TRACE(target);
    const auto r = tcp(get(target));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.message(), "job_id must be a URL-path-safe non-empty string");
  }
  EXPECT_EQ(tcp(with("DELETE", "/api/sessions/bad%2Fjob")).status, 400);
  for (const char* target : {"/api/sessions/x?bad=query", "/api/sessions/x;bad"}) {
    SCOPED_TRACE(target);
    for (const char* method : {"GET", "DELETE"}) {
      const auto r = tcp(with(method, target));
      EXPECT_EQ(r.status, 400);
      EXPECT_EQ(r.message(), "Invalid session path for job_id");
    }
  }
}

TEST_F(HttpRouting, ApiAliasesAre404WithoutAllow) {
  for (const char* target :
       {"/api/sessions?bad=query", "/api/sessions;bad", "/api/gpus?bad=query", "/api/gpus;bad",
        "/%2Fapi/gpus", "/api", "/api/unknown", "/api/", "/api%2Fsessions", "/api%2Funknown",
        "/api%2Fsessions%2Fjob", "/api%3Bdebug", "/api%3Fsessions", "/api%23sessions"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(get(target));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.message(), "Unknown endpoint");
    EXPECT_FALSE(r.header("allow"));
  }
  for (const char* method : {"POST", "DELETE", "OPTIONS"}) {
    for (const char* target :
         {"/api/sessions?bad=query", "/api/sessions;bad", "/api%2Fsessions", "/api%3Bdebug"}) {
      SCOPED_TRACE(std::string(method) + " " + target);
      const auto r = tcp(with(method, target, "{}"));
      EXPECT_EQ(r.status, 404);
      EXPECT_FALSE(r.header("allow"));
    }
  }
  EXPECT_EQ(tcp(with("POST", "/api/unknown", "{bad json")).status, 404);
  EXPECT_EQ(tcp(with("POST", "/api/unknown")).status, 404);
  EXPECT_EQ(tcp(with("POST", "//api/sessions", "{}")).status, 404);
  EXPECT_EQ(sessions.size(), 0U);
}

TEST_F(HttpRouting, WrongMethodsGet405WithAllow) {
  struct Case {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const Case& c :
       {Case{"PUT", "/api/sessions", "GET, POST, DELETE"},
        Case{"OPTIONS", "/api/sessions", "GET, POST, DELETE"},
        Case{"PATCH", "/api/sessions/demo", "GET, DELETE"}, Case{"OPTIONS", "/rpc", "POST"},
        Case{"POST", "/health", "GET"}, Case{"POST", "/api/gpus", "GET"},
        Case{"POST", "/api/sessions/demo", "GET, DELETE"}, Case{"DELETE", "/", "GET, POST"},
        Case{"DELETE", "/health", "GET"}, Case{"DELETE", "/api/gpus", "GET"},
        Case{"DELETE", "/rpc", "POST"}, Case{"GET", "/rpc", "POST"}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    // POSTs carry a bad body: the body is never read on a 405.
    const auto r =
        tcp(with(c.method, c.target, std::string(c.method) == "POST" ? "{bad json" : ""));
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("allow"), c.allow);
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.json(),
              keepgpu::core::Json::parse(R"({"error":{"message":"Method not allowed"}})"));
  }
}

TEST_F(HttpRouting, HeadRequestsGetHeadersOnly) {
  const auto rpc = tcp(with("HEAD", "/rpc"));
  EXPECT_EQ(rpc.status, 405);
  EXPECT_EQ(rpc.header("allow"), "POST");
  EXPECT_EQ(rpc.body, "");
  const auto sessions_head = tcp(with("HEAD", "/api/sessions"));
  EXPECT_EQ(sessions_head.status, 405);
  EXPECT_EQ(sessions_head.header("allow"), "GET, POST, DELETE");
  EXPECT_EQ(sessions_head.body, "");
  // The length of the body GET would have sent.
  EXPECT_EQ(
      sessions_head.header("content-length"),
      std::to_string(std::string_view(R"({"error": {"message": "Method not allowed"}})").size()));
  for (const char* target : {"/api%2Fsessions", "/rpc/", "/rp%63"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(with("HEAD", target));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_FALSE(r.header("allow"));
  }
}

TEST_F(HttpRouting, RpcAliasesAreUnknownEndpoints) {
  for (const char* target :
       {"/rpc/", "/rpc%2F", "/rpc%3Bdebug", "/rpc%3Fdebug=1", "/rp%63", "/%72pc", "/%2Frpc"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(get(target));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.message(), "Unknown endpoint");
  }
  for (const char* target :
       {"/rpc/", "/rpc;debug", "/rpc?debug=1", "/rp%63", "/%72pc", "/%2Frpc", "//rpc"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(tcp(with("POST", target, "{bad json")).status, 404);
  }
  for (const char* target : {"/rp%63", "/%72pc", "/%2Frpc"}) {
    const auto r = tcp(with("OPTIONS", target));
    EXPECT_EQ(r.status, 404);
    EXPECT_FALSE(r.header("allow"));
  }
}

TEST_F(HttpRouting, RpcIsServedAtRoot) {
  for (const char* target : {"/", "/rpc", "/?x=1"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(with("POST", target, R"({"id":1,"method":"ping"})"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":1,"result":{}})");
    EXPECT_EQ(r.header("content-type"), "application/json");
  }
}

TEST_F(HttpRouting, NotificationsGet202WithEmptyBody) {
  const auto r = tcp(
      with("POST", "/rpc", R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})"));
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("content-length"), "0");
  EXPECT_FALSE(r.header("content-type"));
}

TEST_F(HttpRouting, HugeIdsAreEchoedExactlyOverHttp) {
  const auto r = tcp(
      with("POST", "/rpc", R"({"jsonrpc":"2.0","id":99999999999999999999999,"method":"ping"})"));
  EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":99999999999999999999999,"result":{}})");
}

TEST_F(HttpRouting, BadVersionNotificationIsAnError) {
  const auto r =
      tcp(with("POST", "/rpc", R"({"jsonrpc":"1.0","method":"notifications/initialized"})"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["error"]["message"], "JSON-RPC version must be 2.0.");
  EXPECT_EQ(r.json()["id"], nullptr);
}

TEST_F(HttpRouting, TraversalIsForbiddenAndUnknownMethodsAre501) {
  const auto passwd = tcp(get("/../../etc/passwd"));
  EXPECT_EQ(passwd.status, 403);
  EXPECT_EQ(passwd.message(), "Forbidden");
  const auto index = tcp(get("/"));
  EXPECT_EQ(index.status, 404);
  EXPECT_EQ(index.message(), "UI not built");
  EXPECT_EQ(tcp(get("/assets/missing.js")).message(), "Static asset not found");
  EXPECT_EQ(tcp(with("PUT", "/foo")).status, 501);
  EXPECT_EQ(tcp(with("BREW", "/pot")).status, 501);
  for (const char* method : {"PUT", "OPTIONS"}) {
    const auto r = tcp(with(method, std::string(method) == "PUT" ? "/api/unknown" : "/api"));
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.message(), "Unknown endpoint");
  }
}

TEST_F(HttpRouting, MalformedRequestsGet4xx) {
  EXPECT_EQ(tcp_raw("GARBAGE\r\n\r\n").status, 400);
  EXPECT_EQ(tcp_raw("GET /health HTTP/1.1\r\nBad Header\r\n\r\n").status, 400);
  const std::string huge = "GET /health HTTP/1.1\r\nX: " + std::string(70000, 'a') + "\r\n\r\n";
  const auto r = tcp_raw(huge);
  EXPECT_GE(r.status, 400);
  EXPECT_LT(r.status, 500);
}

TEST_F(HttpRouting, AbsoluteFormTarget) {
  EXPECT_EQ(tcp(get("http://127.0.0.1/health")).status, 200);
  EXPECT_EQ(tcp(get("http://localhost:" + std::to_string(port) + "/api/gpus")).status, 200);
}

TEST_F(HttpRouting, AbsoluteFormNamingAForeignHostIsRefusedLikeItsHostHeader) {
  for (const std::string& target : std::vector<std::string>{
           "http://evil.example/api/gpus",
           "http://evil.example:" + std::to_string(port) + "/health", "http://127.0.0.1:1/health",
           "http://127.0.0.1@evil.example/", "http:///health"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(get(target));
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.message(), "Host not allowed");
  }
  Request over_unix = get("http://evil.example/health");
  over_unix.host = "localhost";
  EXPECT_EQ(unix_socket(over_unix).status, 403);
}

}  // namespace
}  // namespace keepgpu::service::http_testing
