// Host, Origin, token and content-type checks (loopback is not a trust boundary).
#include <gtest/gtest.h>

#include "service/http/security.hpp"

namespace keepgpu::service::http {
namespace {

ListenerPolicy tcp_policy(std::string host = "127.0.0.1", std::optional<std::string> token = {}) {
  ListenerPolicy policy;
  policy.tcp = true;
  policy.bound_host = std::move(host);
  policy.port = 8765;
  policy.token = std::move(token);
  return policy;
}

TEST(HttpSecurity, LoopbackHostsPassOnTcp) {
  const auto policy = tcp_policy();
  for (const char* host :
       {"127.0.0.1", "127.0.0.1:8765", "localhost", "LOCALHOST:8765", "[::1]", "[::1]:8765"}) {
    SCOPED_TRACE(host);
    EXPECT_TRUE(host_allowed(policy, std::string(host)));
  }
  EXPECT_TRUE(host_allowed(policy, std::nullopt));
}

TEST(HttpSecurity, ForeignHostsAreRefused) {
  const auto policy = tcp_policy();
  for (const char* host :
       {"evil.example", "evil.example:8765", "127.0.0.1:9999", "localhost:", "::1", "", "[::1"}) {
    SCOPED_TRACE(host);
    EXPECT_FALSE(host_allowed(policy, std::string(host)));
  }
}

TEST(HttpSecurity, BoundAndExtraNamesPass) {
  auto policy = tcp_policy("gpu-node-7");
  policy.extra_hosts = {"alias.example"};
  EXPECT_TRUE(host_allowed(policy, std::string("gpu-node-7:8765")));
  EXPECT_TRUE(host_allowed(policy, std::string("alias.example")));
  EXPECT_FALSE(host_allowed(policy, std::string("other.example")));
}

TEST(HttpSecurity, NonLoopbackBindWithTokenAcceptsAnyHost) {
  EXPECT_TRUE(host_allowed(tcp_policy("0.0.0.0", "t"), std::string("node.cluster:8765")));
  EXPECT_FALSE(host_allowed(tcp_policy("0.0.0.0"), std::string("node.cluster:8765")));
  EXPECT_FALSE(host_allowed(tcp_policy("127.0.0.1", "t"), std::string("node.cluster:8765")));
}

TEST(HttpSecurity, UnixSocketAcceptsLoopbackNamesOnAnyPort) {
  const ListenerPolicy policy;
  EXPECT_TRUE(host_allowed(policy, std::string("localhost")));
  EXPECT_TRUE(host_allowed(policy, std::string("localhost:8080")));
  EXPECT_FALSE(host_allowed(policy, std::string("evil.example")));
}

TEST(HttpSecurity, OriginMustBeThisServer) {
  const auto policy = tcp_policy();
  const std::optional<std::string> host = "127.0.0.1:8765";
  EXPECT_TRUE(origin_allowed(policy, host, std::nullopt));
  EXPECT_TRUE(origin_allowed(policy, host, std::string("http://127.0.0.1:8765")));
  EXPECT_FALSE(origin_allowed(policy, host, std::string("http://evil.example")));
  EXPECT_FALSE(origin_allowed(policy, host, std::string("http://localhost:8765")));
  EXPECT_FALSE(origin_allowed(policy, host, std::string("null")));
  // Without a Host header the origin must name a loopback host and this port.
  EXPECT_TRUE(origin_allowed(policy, std::nullopt, std::string("http://localhost:8765")));
  EXPECT_FALSE(origin_allowed(policy, std::nullopt, std::string("http://localhost:9000")));
  EXPECT_FALSE(origin_allowed(ListenerPolicy{}, std::nullopt, std::string("http://evil.example")));
}

TEST(HttpSecurity, TokenOnTcpOnly) {
  const auto policy = tcp_policy("127.0.0.1", "s3cret");
  EXPECT_TRUE(token_accepted(policy, std::string("Bearer s3cret")));
  EXPECT_TRUE(token_accepted(policy, std::string("bearer  s3cret")));
  EXPECT_FALSE(token_accepted(policy, std::nullopt));
  EXPECT_FALSE(token_accepted(policy, std::string("Bearer s3cre")));
  EXPECT_FALSE(token_accepted(policy, std::string("Bearer s3cret2")));
  EXPECT_FALSE(token_accepted(policy, std::string("Basic s3cret")));
  EXPECT_FALSE(token_accepted(policy, std::string("s3cret")));
  EXPECT_TRUE(token_accepted(tcp_policy(), std::nullopt));
  ListenerPolicy unix_policy;
  unix_policy.token = "s3cret";
  EXPECT_TRUE(token_accepted(unix_policy, std::nullopt));
}

TEST(HttpSecurity, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abd", "abc"));
  EXPECT_FALSE(constant_time_equals("ab", "abc"));
  EXPECT_FALSE(constant_time_equals("abcd", "abc"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

TEST(HttpSecurity, JsonContentType) {
  EXPECT_TRUE(is_json_content_type(std::string("application/json")));
  EXPECT_TRUE(is_json_content_type(std::string("Application/JSON; charset=utf-8")));
  EXPECT_FALSE(is_json_content_type(std::string("text/plain")));
  EXPECT_FALSE(is_json_content_type(std::string("application/jsonx")));
  EXPECT_FALSE(is_json_content_type(std::nullopt));
}

TEST(HttpSecurity, CookieValues) {
  EXPECT_EQ(cookie_value("a=1; keepgpu_token_8765=abc; b=2", "keepgpu_token_8765"), "abc");
  EXPECT_EQ(cookie_value("keepgpu_token_8765=\"abc\"", "keepgpu_token_8765"), "abc");
  EXPECT_EQ(cookie_value("  x = y ;z=", "z"), "");
  EXPECT_EQ(cookie_value("x=y", "keepgpu_token_8765"), std::nullopt);
  EXPECT_EQ(cookie_value("xkeepgpu_token_8765=abc", "keepgpu_token_8765"), std::nullopt);
  EXPECT_EQ(cookie_value("", "a"), std::nullopt);
}

TEST(HttpSecurity, SessionCookieIsPerPortAndCarriesTheSecretNotTheToken) {
  auto policy = tcp_policy("127.0.0.1", "tok");
  policy.session_secret = "secret";
  EXPECT_EQ(session_cookie_name(8765), "keepgpu_session_8765");
  EXPECT_TRUE(cookie_session_accepted(policy, std::string("keepgpu_session_8765=secret")));
  EXPECT_FALSE(cookie_session_accepted(policy, std::string("keepgpu_session_8765=tok")));
  EXPECT_FALSE(cookie_session_accepted(policy, std::string("keepgpu_token_8765=tok")));
  EXPECT_FALSE(cookie_session_accepted(policy, std::string("keepgpu_session_8766=secret")));
  EXPECT_FALSE(cookie_session_accepted(policy, std::string("keepgpu_session_8765=secret2")));
  EXPECT_FALSE(cookie_session_accepted(policy, std::nullopt));
  EXPECT_TRUE(cookie_session_accepted(tcp_policy(), std::nullopt)) << "no token required";
}

TEST(HttpSecurity, NoSecretNoCookieLogin) {
  const auto policy = tcp_policy("127.0.0.1", "tok");  // no session secret
  EXPECT_FALSE(cookie_session_accepted(policy, std::string("keepgpu_session_8765=")));
}

TEST(HttpSecurity, QueryValues) {
  EXPECT_EQ(query_value("token=abc", "token"), "abc");
  EXPECT_EQ(query_value("a=1&token=a%2Fb&token=2", "token"), "a/b");
  EXPECT_EQ(query_value("token", "token"), "");
  EXPECT_EQ(query_value("tokens=1", "token"), std::nullopt);
  EXPECT_EQ(query_value("", "token"), std::nullopt);
}

}  // namespace
}  // namespace keepgpu::service::http
