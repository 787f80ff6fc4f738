// Request-target parsing, the alias rules and per-method routing,
// checked without sockets.
#include <gtest/gtest.h>

#include "service/http/request_target.hpp"
#include "service/http/router.hpp"

namespace keepgpu::service::http {
namespace {

Route route(std::string_view method, std::string_view raw) {
  return route_request(method, parse_request_target(raw));
}

Action action(std::string_view method, std::string_view raw) {
  return route(method, raw).action;
}

TEST(HttpTarget, SplitsLikeUrlparse) {
  const auto t = parse_request_target("/api/sessions/a;p?q=1#f");
  EXPECT_EQ(t.path, "/api/sessions/a");
  EXPECT_EQ(t.params, "p");
  EXPECT_EQ(t.query, "q=1");
  EXPECT_EQ(t.fragment, "f");
  // ';' only counts within the last segment.
  EXPECT_EQ(parse_request_target("/a;x/b").path, "/a;x/b");
  EXPECT_EQ(parse_request_target("/a;x/b").params, "");
  // '#' before '?' ends the path too.
  const auto hashed = parse_request_target("/x#y?z");
  EXPECT_EQ(hashed.path, "/x");
  EXPECT_EQ(hashed.fragment, "y?z");
  EXPECT_EQ(hashed.query, "");
  // Empty query and fragment count as absent.
  EXPECT_FALSE(parse_request_target("/health?#").has_suffix());
}

TEST(HttpTarget, CollapsesLeadingSlashesAndReadsAbsoluteForm) {
  EXPECT_EQ(parse_request_target("//health").path, "/health");
  EXPECT_EQ(parse_request_target("///apiary").path, "/apiary");
  EXPECT_EQ(parse_request_target("http://localhost:8765/health?x").path, "/health");
  EXPECT_EQ(parse_request_target("http://localhost:8765/health?x").query, "x");
  EXPECT_EQ(parse_request_target("http://localhost:8765/health?x").authority, "localhost:8765");
  EXPECT_EQ(parse_request_target("HTTP://evil.example").authority, "evil.example");
  EXPECT_EQ(parse_request_target("HTTP://evil.example").path, "");
  EXPECT_EQ(parse_request_target("/health").authority, std::nullopt);
  EXPECT_EQ(parse_request_target("//evil.example/health").authority, std::nullopt)
      << "a doubled slash is a path, not an authority";
}

TEST(HttpTarget, PercentDecodesLikeUnquote) {
  EXPECT_EQ(percent_decode("/%72pc"), "/rpc");
  EXPECT_EQ(percent_decode("a+b%2"), "a+b%2");
  EXPECT_EQ(percent_decode("%zz%41"), "%zzA");
  EXPECT_EQ(percent_decode("%C3%A9"), "\xC3\xA9");
  EXPECT_EQ(percent_decode("%FF"), "\xEF\xBF\xBD");
  const auto members = path_candidates("/%2Frpc");
  EXPECT_NE(std::find(members.begin(), members.end(), "/rpc"), members.end());
}

TEST(HttpRouter, RpcAliasesAreUnknownEndpoints) {
  for (const char* raw : {"/rpc/", "/rpc%2F", "/rpc%3Bdebug", "/rpc%3Fdebug=1", "/rp%63", "/%72pc",
                          "/%2Frpc", "/rpc;debug", "/rpc?debug=1", "/rpc#x", "//rpc"}) {
    SCOPED_TRACE(raw);
    for (const char* method : {"GET", "POST", "DELETE", "OPTIONS", "HEAD"}) {
      EXPECT_EQ(action(method, raw), Action::unknown_endpoint) << method;
    }
  }
}

TEST(HttpRouter, ApiAliasesAreUnknownEndpoints) {
  for (const char* raw : {"/api/sessions?bad=query", "/api/sessions;bad", "/api/gpus?bad=query",
                          "/api/gpus;bad", "/%2Fapi/gpus", "/api%2Fsessions", "/api%2Funknown",
                          "/api%2Fsessions%2Fjob", "/api%3Bdebug", "/api%3Fsessions",
                          "/api%23sessions", "//api/sessions", "//api/sessions/x"}) {
    SCOPED_TRACE(raw);
    for (const char* method : {"GET", "POST", "DELETE", "OPTIONS", "PUT"}) {
      const Route r = route(method, raw);
      EXPECT_EQ(r.action, Action::unknown_endpoint) << method;
      EXPECT_EQ(r.allow, "") << method;
    }
  }
}

TEST(HttpRouter, GetRoutes) {
  EXPECT_EQ(action("GET", "/health"), Action::health);
  EXPECT_EQ(action("GET", "/health?x=1"), Action::health);
  EXPECT_EQ(action("GET", "//health"), Action::health);
  EXPECT_EQ(action("GET", "/api/gpus"), Action::list_gpus);
  EXPECT_EQ(action("GET", "/api/sessions"), Action::list_sessions);
  const Route member = route("GET", "/api/sessions/bad%2Fjob");
  EXPECT_EQ(member.action, Action::session_status);
  EXPECT_EQ(member.job_id, "bad/job");
  EXPECT_EQ(action("GET", "/api/sessions/x?bad=query"), Action::invalid_session_path);
  EXPECT_EQ(action("GET", "/api/sessions/x;bad"), Action::invalid_session_path);
  for (const char* raw :
       {"/api", "/api/", "/api/unknown", "/api/gpus/", "/api/sessions/", "/api/sessions/a/b"}) {
    SCOPED_TRACE(raw);
    EXPECT_EQ(action("GET", raw), Action::unknown_endpoint);
  }
  for (const char* raw : {"/", "/index.html", "/apiary", "//apiary", "/../../etc/passwd",
                          "/%2Fhealth", "/sessions/abc"}) {
    SCOPED_TRACE(raw);
    EXPECT_EQ(action("GET", raw), Action::static_file);
  }
}

TEST(HttpRouter, MethodNotAllowedMatrix) {
  struct Case {
    const char* method;
    const char* raw;
    const char* allow;
  };
  for (const Case& c :
       {Case{"PUT", "/api/sessions", "GET, POST, DELETE"},
        Case{"OPTIONS", "/api/sessions", "GET, POST, DELETE"},
        Case{"PATCH", "/api/sessions/demo", "GET, DELETE"},
        Case{"PUT", "/api/sessions/%2E%2E", "GET, DELETE"}, Case{"OPTIONS", "/rpc", "POST"},
        Case{"POST", "/health", "GET"}, Case{"POST", "/api/gpus", "GET"},
        Case{"POST", "/api/sessions/demo", "GET, DELETE"}, Case{"DELETE", "/", "GET, POST"},
        Case{"OPTIONS", "/", "GET, POST"}, Case{"DELETE", "/health", "GET"},
        Case{"DELETE", "/api/gpus", "GET"}, Case{"DELETE", "/rpc", "POST"},
        Case{"GET", "/rpc", "POST"}, Case{"HEAD", "/rpc", "POST"}, Case{"HEAD", "/health?x", "GET"},
        Case{"HEAD", "/api/sessions", "GET, POST, DELETE"},
        Case{"HEAD", "/api/sessions/x", "GET, DELETE"}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.raw);
    const Route r = route(c.method, c.raw);
    EXPECT_EQ(r.action, Action::method_not_allowed);
    EXPECT_EQ(r.allow, c.allow);
  }
}

TEST(HttpRouter, PostRoutes) {
  EXPECT_EQ(action("POST", "/api/sessions"), Action::create_session);
  EXPECT_EQ(action("POST", "/rpc"), Action::rpc);
  EXPECT_EQ(action("POST", "/"), Action::rpc);
  EXPECT_EQ(action("POST", "/?x=1"), Action::rpc);  // the path is "/"
  EXPECT_EQ(action("POST", "/api/unknown"), Action::unknown_endpoint);
  EXPECT_EQ(action("POST", "/foo"), Action::unknown_endpoint);
  EXPECT_FALSE(reads_body(action("POST", "/health")));
}

TEST(HttpRouter, DeleteRoutes) {
  EXPECT_EQ(action("DELETE", "/api/sessions"), Action::stop_all);
  const Route member = route("DELETE", "/api/sessions/abc");
  EXPECT_EQ(member.action, Action::session_stop);
  EXPECT_EQ(member.job_id, "abc");
  EXPECT_EQ(action("DELETE", "/api/sessions/abc?x"), Action::invalid_session_path);
  EXPECT_EQ(action("DELETE", "/api/sessions/abc/"), Action::unknown_endpoint);
  EXPECT_EQ(action("DELETE", "/api/sessions/prefix/abc"), Action::unknown_endpoint);
  EXPECT_EQ(action("DELETE", "/foo"), Action::unknown_endpoint);
}

TEST(HttpRouter, HeadRoutes) {
  EXPECT_EQ(action("HEAD", "/"), Action::static_file);
  EXPECT_EQ(action("HEAD", "/assets/index.css"), Action::static_file);
  EXPECT_EQ(action("HEAD", "/api/unknown"), Action::unknown_endpoint);
}

TEST(HttpRouter, OtherMethods) {  // unknown methods are 501 outside /api
  EXPECT_EQ(action("PUT", "/foo"), Action::not_implemented);
  EXPECT_EQ(action("OPTIONS", "/index.html"), Action::not_implemented);
  EXPECT_EQ(action("BREW", "/pot"), Action::not_implemented);
  EXPECT_EQ(action("PUT", "/api/unknown"), Action::unknown_endpoint);
  EXPECT_EQ(action("OPTIONS", "/api"), Action::unknown_endpoint);
  // Methods are case-sensitive: "get" is not GET.
  EXPECT_EQ(action("get", "/health"), Action::method_not_allowed);
}

}  // namespace
}  // namespace keepgpu::service::http
