#include "service/http/dashboard_login.hpp"

#include "service/http/request_target.hpp"

namespace keepgpu::service::http {
namespace {

constexpr std::string_view kUnauthorizedPage = R"(<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>KeepGPU: token required</title></head>
<body>
<h1>KeepGPU: token required</h1>
<p>This dashboard needs the service's access token. On the GPU node, run</p>
<pre>keep-gpu dashboard</pre>
<p>and open the URL it prints (it carries the token once; the browser then keeps it in a
cookie). The token lives in the service's runtime directory, readable only by its owner.</p>
</body>
</html>
)";

}  // namespace

bool is_login_request(const ListenerPolicy& policy, std::string_view method, std::string_view path,
                      std::string_view query) {
  return policy.tcp && policy.token && (method == "GET" || method == "HEAD") && path == "/" &&
         query_value(query, "token").has_value();
}

Reply login_reply(const ListenerPolicy& policy, std::string_view given) {
  if (!policy.token || policy.session_secret.empty() ||
      !constant_time_equals(given, *policy.token)) {
    return unauthorized_page();
  }
  Reply reply;
  reply.status = 302;
  reply.content_type.reset();
  reply.headers.emplace_back("Location", "/");
  reply.headers.emplace_back("Set-Cookie", session_cookie_name(policy.port) + "=" +
                                               policy.session_secret +
                                               "; Path=/; HttpOnly; SameSite=Strict");
  reply.headers.emplace_back("Cache-Control", "no-store");
  add_page_security_headers(reply);
  return reply;
}

Reply unauthorized_page() {
  Reply reply;
  reply.status = 401;
  reply.content_type = "text/html; charset=utf-8";
  reply.body = std::string(kUnauthorizedPage);
  reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  add_page_security_headers(reply);
  return reply;
}

void add_page_security_headers(Reply& reply) {
  reply.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                             "base-uri 'none'; form-action 'self'");
  reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
  reply.headers.emplace_back("Referrer-Policy", "no-referrer");
}

}  // namespace keepgpu::service::http
