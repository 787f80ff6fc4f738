// The dashboard over TCP with a token: the one-time login URL, the session cookie it sets (never
// the token), what a browser without it sees, the page's security headers, and GET
// /api/telemetry.
#include <regex>

#include "http_server_fixture.hpp"
#include "service/http/dashboard_login.hpp"
#include "service/http/security.hpp"

namespace keepgpu::service::http_testing {
namespace {

constexpr const char* kToken = "0123456789abcdef";

class HttpDashboard : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    telemetry = std::make_shared<TelemetrySampler>(
        TelemetrySources{[] {
                           return keepgpu::core::Json{
                               {"gpus", keepgpu::core::Json::array({{{"id", 0},
                                                                     {"visible_id", 0},
                                                                     {"name", "Fake GPU 0"},
                                                                     {"memory_total", 1000},
                                                                     {"memory_used", 300},
                                                                     {"utilization", 40.0}}})}};
                         },
                         [] {
                           return std::map<std::int64_t, std::uint64_t>{{0, 256}};
                         },
                         [] { return false; }});
    start_server([this](http::ServerOptions& options) {
      options.token = kToken;
      options.web_assets = {{"index.html", "<title>KeepGPU Control Deck</title>"},
                            {"assets/dashboard.js", "export {};"}};
      options.telemetry = telemetry;
    });
  }

  // The session secret, as a login hands it out.
  std::string secret() {
    const auto r = tcp(Request{"GET", std::string("/?token=") + kToken});
    const std::string set_cookie = r.header("set-cookie").value_or("");
    const std::regex pattern(http::session_cookie_name(port) + "=([0-9a-f]+);");
    std::smatch match;
    if (!std::regex_search(set_cookie, match, pattern)) {
      ADD_FAILURE() << "no session cookie in '" << set_cookie << "'";
      return "";
    }
    return match[1];
  }

  std::string cookie() {
    if (secret_.empty()) secret_ = secret();
    return "Cookie: " + http::session_cookie_name(port) + "=" + secret_ + "\r\n";
  }

  Request with_cookie(Request request) {
    request.extra += cookie();
    return request;
  }

  std::string secret_;

  std::shared_ptr<TelemetrySampler> telemetry;
};

TEST_F(HttpDashboard, LoginUrlSetsAStrictHttpOnlyCookieAndRedirects) {
  const auto r = tcp(Request{"GET", std::string("/?token=") + kToken});
  EXPECT_EQ(r.status, 302);
  EXPECT_EQ(r.header("location"), "/");
  const std::string set_cookie = r.header("set-cookie").value_or("");
  EXPECT_TRUE(std::regex_match(
      set_cookie, std::regex(http::session_cookie_name(port) + "=[0-9a-f]{64}; Path=/; HttpOnly; "
                                                               "SameSite=Strict")))
      << set_cookie;
  EXPECT_EQ(set_cookie.find(kToken), std::string::npos) << "the cookie must not carry the token";
  EXPECT_EQ(r.header("cache-control"), "no-store");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
}

TEST_F(HttpDashboard, WrongLoginTokenSetsNoCookie) {
  for (const char* target : {"/?token=nope", "/?token=", "/?token"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(Request{"GET", target});
    EXPECT_EQ(r.status, 401);
    EXPECT_FALSE(r.header("set-cookie"));
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  }
}

TEST_F(HttpDashboard, BrowserWithoutTheCookieGetsTheHelpPage) {
  for (const char* target : {"/", "/index.html", "/assets/dashboard.js", "/sessions/x"}) {
    SCOPED_TRACE(target);
    const auto r = tcp(Request{"GET", target});
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(r.body.find("keep-gpu dashboard"), std::string::npos);
    EXPECT_EQ(r.body.find(kToken), std::string::npos);
  }
  // The API keeps its JSON error.
  const auto api = tcp(Request{"GET", "/api/sessions"});
  EXPECT_EQ(api.status, 401);
  EXPECT_EQ(api.message(), "Missing or invalid token");
}

TEST_F(HttpDashboard, CookieAuthenticatesThePageAndTheApi) {
  const auto page = tcp(with_cookie(Request{"GET", "/"}));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, "<title>KeepGPU Control Deck</title>");
  EXPECT_EQ(page.header("content-type"), "text/html");
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
  const auto csp = page.header("content-security-policy");
  ASSERT_TRUE(csp);
  EXPECT_NE(csp->find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp->find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(tcp(with_cookie(Request{"GET", "/assets/dashboard.js"})).body, "export {};");
  EXPECT_EQ(tcp(with_cookie(Request{"GET", "/api/sessions"})).status, 200);
  Request create{"POST", "/api/sessions", R"({"vram": "1GiB"})"};
  EXPECT_NE(tcp(with_cookie(create)).status, 401);
}

TEST_F(HttpDashboard, EveryLoginGetsTheSameSecret) {
  EXPECT_EQ(secret(), secret());
}

TEST_F(HttpDashboard, CookieOfAnotherPortOrValueIsRefused) {
  Request other{"GET", "/api/sessions"};
  other.extra = "Cookie: keepgpu_session_1=" + secret() + "\r\n";
  EXPECT_EQ(tcp(other).status, 401);
  Request wrong{"GET", "/api/sessions"};
  wrong.extra = "Cookie: " + http::session_cookie_name(port) + "=wrong\r\n";
  EXPECT_EQ(tcp(wrong).status, 401);
  // The token itself is no cookie value, under either name.
  for (const std::string& name :
       {http::session_cookie_name(port), "keepgpu_token_" + std::to_string(port)}) {
    Request token{"GET", "/api/sessions"};
    token.extra = "Cookie: " + name + "=" + kToken + "\r\n";
    EXPECT_EQ(tcp(token).status, 401) << name;
  }
}

TEST_F(HttpDashboard, ARestartedServerRefusesTheOldCookie) {
  ASSERT_EQ(tcp(with_cookie(Request{"GET", "/api/sessions"})).status, 200);
  const std::string old_secret = secret_;
  start_server([this](http::ServerOptions& options) {
    options.token = kToken;
    options.telemetry = telemetry;
  });
  // Named for the new port, so only the value differs from a valid cookie.
  Request request{"GET", "/api/sessions"};
  request.extra = "Cookie: " + http::session_cookie_name(port) + "=" + old_secret + "\r\n";
  EXPECT_EQ(tcp(request).status, 401);
  EXPECT_NE(secret(), old_secret);
}

TEST_F(HttpDashboard, AWrongBearerIsNotRescuedByTheCookie) {
  Request request = with_cookie(Request{"GET", "/api/sessions"});
  request.extra += "Authorization: Bearer wrong\r\n";
  EXPECT_EQ(tcp(request).status, 401);
}

TEST_F(HttpDashboard, CookieDoesNotLiftTheOriginCheck) {
  Request request = with_cookie(Request{"DELETE", "/api/sessions"});
  request.extra += "Origin: http://evil.example\r\n";
  const auto r = tcp(request);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.message(), "Origin not allowed");
}

TEST_F(HttpDashboard, TelemetryHistory) {
  const auto r = tcp(with_cookie(Request{"GET", "/api/telemetry"}));
  ASSERT_EQ(r.status, 200);
  const auto body = r.json();
  EXPECT_EQ(body["period_seconds"], 5);
  ASSERT_EQ(body["gpus"].size(), 1U);
  EXPECT_EQ(body["gpus"][0]["name"], "Fake GPU 0");
  ASSERT_GE(body["gpus"][0]["samples"].size(), 1U);
  EXPECT_EQ(body["gpus"][0]["samples"][0]["memory_used"], 300);
  EXPECT_EQ(body["gpus"][0]["samples"][0]["memory_held"], 256);
  EXPECT_EQ(tcp(Request{"GET", "/api/telemetry"}).status, 401);
  const auto post = tcp(with_cookie(Request{"POST", "/api/telemetry", "{}"}));
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET");
}

TEST_F(ServerFixture, TelemetryWithoutASamplerIsUnknown) {
  const auto r = tcp(Request{"GET", "/api/telemetry"});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "Unknown endpoint");
}

TEST_F(ServerFixture, LoginQueryIsIgnoredWithoutAToken) {
  // No token configured (the Unix socket, or --no-auth): "/?token=x" is just the page.
  const auto r = tcp(Request{"GET", "/?token=x"});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.message(), "UI not built");
}

}  // namespace
}  // namespace keepgpu::service::http_testing
