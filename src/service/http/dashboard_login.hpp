// The dashboard's one-time login over TCP (the Jupyter convention): the
// URL that `keep-gpu dashboard` prints carries the token once as "/?token=...", the service answers
// with a redirect to "/" that stores the listener's session secret (made fresh at every start, so
// a restart logs the browser out) in an HttpOnly, SameSite=Strict cookie, and from then on the
// browser authenticates with the cookie. The page's script never sees the token, the token
// leaves the address bar and history at once, and no other site can make the browser send it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "service/http/reply.hpp"
#include "service/http/security.hpp"

namespace keepgpu::service::http {

// True when the request is a dashboard login: GET or HEAD of "/" with a `token` query parameter
// on a listener that requires a token.
bool is_login_request(const ListenerPolicy& policy, std::string_view method, std::string_view path,
                      std::string_view query);

// The answer to a login request: 302 to "/" with the session cookie when `given` is the token,
// otherwise the 401 page.
Reply login_reply(const ListenerPolicy& policy, std::string_view given);

// 401 for a browser without the cookie: a short HTML page that says how to get the URL.
Reply unauthorized_page();

// Headers every dashboard answer carries: the page loads only its own files, is never framed,
// and never sends a Referer (the login URL carries the token).
void add_page_security_headers(Reply& reply);

}  // namespace keepgpu::service::http
