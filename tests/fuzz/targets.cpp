#include "targets.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "service/api.hpp"
#include "service/http/body.hpp"
#include "service/http/handler.hpp"
#include "service/http/request_target.hpp"
#include "service/http/router.hpp"
#include "service/http/security.hpp"
#include "service/http/wire.hpp"
#include "service/jsonrpc.hpp"
#include "service/session_manager.hpp"

namespace keepgpu::fuzz {
namespace {

using service::http::ListenerPolicy;

// One Api for every input: a host without GPUs whose session methods are never reached.
struct World {
  service::SessionManager sessions{
      service::SessionTimeouts{},
      [](const keeper::GroupOptions&) -> std::unique_ptr<keeper::KeeperGroup> {
        throw UnsupportedControllerPlatformError("no GPU platform");
      }};
  service::Api api{sessions, [] { return std::vector<gpu::GpuInfo>{}; }};
  std::shared_ptr<const service::jsonrpc::Dispatcher> rpc = [this] {
    auto dispatcher = std::make_shared<service::jsonrpc::Dispatcher>(api);
    const auto stub = [](const keepgpu::core::Json& params) { return params; };
    dispatcher->add_method("start_keep", stub);
    dispatcher->add_method("stop_keep", stub);
    return dispatcher;
  }();
  service::http::RequestHandler handler{
      api, rpc,
      service::http::StaticFiles(
          std::map<std::string, std::string_view, std::less<>>{{"index.html", "<title>x</title>"}}),
      nullptr, 4096};
  std::vector<ListenerPolicy> policies = [] {
    ListenerPolicy unix_socket;
    ListenerPolicy tcp;
    tcp.tcp = true;
    tcp.bound_host = "127.0.0.1";
    tcp.port = 8765;
    tcp.token = "tok";
    tcp.session_secret = "secret";
    ListenerPolicy open_tcp = tcp;
    open_tcp.bound_host = "0.0.0.0";
    return std::vector<ListenerPolicy>{unix_socket, tcp, open_tcp};
  }();
};

World& world() {
  static World instance;
  return instance;
}

}  // namespace

void http_request(std::string_view bytes) {
  const auto end = bytes.find("\r\n\r\n");
  const std::string_view block = end == std::string_view::npos ? bytes : bytes.substr(0, end + 4);
  const std::string_view body =
      end == std::string_view::npos ? std::string_view{} : bytes.substr(end + 4);

  // The pieces that also see other inputs than a parsed head.
  const auto target = service::http::parse_request_target(block.substr(0, block.find(' ')));
  (void)service::http::route_request("GET", target);
  (void)service::http::path_candidates(target.path);
  (void)service::http::cookie_value(block, "keepgpu_session_8765");
  (void)service::http::query_value(block, "token");

  const auto head = service::http::parse_request_head(std::string(block));
  if (!head) return;
  World& w = world();
  for (const auto& policy : w.policies) {
    const auto plan = w.handler.plan(*head, policy);
    if (plan.reply || plan.route.action != service::http::Action::rpc) continue;
    (void)w.handler.run(plan, body.substr(0, std::min(body.size(), plan.body_bytes)));
  }
  try {
    (void)service::http::decode_json_body(body);
  } catch (const service::http::BodyError&) {
  }
}

void json_text(std::string_view bytes) {
  (void)core::text::utf8_decode_error(bytes);
  for (const auto mode :
       {core::json::DuplicateKeys::reject, core::json::DuplicateKeys::last_wins}) {
    core::json::ReadOptions options;
    options.duplicate_keys = mode;
    core::Json value;
    try {
      value = core::json::parse(bytes, options);
    } catch (const core::json::DecodeError&) {
      continue;
    }
    // What the writer spells, the reader reads back as the same value.
    core::json::WriteOptions write;
    write.non_finite = core::json::NonFinite::raise;
    std::string text;
    try {
      text = core::json::dump(value, write);
    } catch (const core::json::NonFiniteNumber&) {
      continue;  // a float literal beyond double range: written as null, not round-trippable
    }
    if (core::json::parse(text, options) != value) {
      throw std::logic_error("the writer's text does not read back as the same value");
    }
  }
  (void)world().rpc->handle_text(bytes);
}

}  // namespace keepgpu::fuzz
