// `keep-gpu serve`: the per-user service in the foreground (one per user).
// It listens on the Unix socket of the runtime directory and, unless
// --no-tcp, on TCP with the bearer token; SIGINT or SIGTERM stops accepting, releases every
// session within the configured bounds and exits 0; a second signal exits at once. The
// auto-started daemon is this same command with its output sent to daemon.log. Its sessions are
// journaled in the runtime directory; sessions a killed service left there are restored at start.
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <future>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/process_exit.hpp"
#include "cli/service_common.hpp"
#include "cli/signals.hpp"
#include "cli/version.hpp"
#include "cli/web_assets.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "service/api.hpp"
#include "service/http/server.hpp"
#include "service/jsonrpc.hpp"
#include "service/mcp/protocol.hpp"
#include "service/runtime_dir.hpp"
#include "service/session_journal.hpp"
#include "service/session_manager.hpp"
#include "service/telemetry_history.hpp"

namespace keepgpu::cli {
namespace runtime = service::runtime;
using std::chrono::milliseconds;

const CommandSpec& serve_spec() {
  static const CommandSpec spec = [] {
    CommandSpec s;
    s.name = "serve";
    s.description = "Run KeepGPU local service (HTTP + JSON-RPC + dashboard).";
    OptionSpec host = host_option();
    host.help =
        "TCP address to bind (a non-loopback address exposes the service; the token "
        "guards it).";
    OptionSpec port = port_option();
    port.help = "TCP port to bind.";
    OptionSpec no_tcp =
        flag_option({"--no-tcp"}, "no_tcp", "Listen on the per-user Unix socket only.");
    OptionSpec tcp_optional = flag_option(
        {"--tcp-optional"}, "tcp_optional",
        "Keep serving on the Unix socket when the TCP port cannot be bound (auto-start uses "
        "this).");
    OptionSpec no_auth = flag_option(
        {"--no-auth"}, "no_auth", "Do not require the bearer token on TCP (logged as a warning).");
    OptionSpec release = value_option(
        {"--release-timeout"}, "release_timeout", "SECONDS",
        "How long a stop waits for a session's release before reporting it timed out.", "10");
    OptionSpec stop_wait =
        value_option({"--stop-wait"}, "stop_wait", "SECONDS",
                     "How long a stop waits for a session that is still starting.", "10");
    s.options = {host, port, no_tcp, tcp_optional, no_auth, release, stop_wait};
    s.epilog =
        "  Files live in $XDG_RUNTIME_DIR/keep-gpu (or ~/.keepgpu), mode 0700: keep-gpu.sock,\n"
        "  token (send as 'Authorization: Bearer <token>' over TCP), daemon.pid, daemon.log,\n"
        "  sessions.json (the sessions journal).\n"
        "  SIGINT or SIGTERM releases every session, then exits 0. Sessions left by a service "
        "that\n"
        "  was killed (SIGKILL, out of memory) are restored at start, with the same ids.\n";
    return s;
  }();
  return spec;
}

namespace {

auto logger() {
  return log::get("keep_gpu.mcp.server");
}

// Seconds as a plain decimal number in 0..3600.
milliseconds parse_seconds(const std::string& option, const std::string& text) {
  const auto trimmed = core::text::trim_python(text);
  bool digits = false;
  bool dot = false;
  bool ok = !trimmed.empty();
  for (char c : trimmed) {
    if (core::text::is_ascii_digit(c)) {
      digits = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      ok = false;
    }
  }
  const std::string message =
      fmt::format("{} must be a number of seconds between 0 and 3600", option);
  if (!ok || !digits) throw std::invalid_argument(message);
  const double seconds = core::text::parse_decimal_double(trimmed);
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 3600) {
    throw std::invalid_argument(message);
  }
  return milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0;
}

}  // namespace

int run_serve(const RootArgs&, const ParsedOptions& options) {
  HostPort where;
  service::SessionTimeouts timeouts;
  try {
    where = validate_host_port(options);
    if (auto v = options.optional("release_timeout")) {
      timeouts.release_timeout = parse_seconds("--release-timeout", *v);
    }
    if (auto v = options.optional("stop_wait")) {
      timeouts.startup_stop_wait = parse_seconds("--stop-wait", *v);
    }
  } catch (const std::exception& e) {
    print_error_line(e.what());
    return 1;
  }
  const bool tcp = !options.given("no_tcp");
  const bool auth = !options.given("no_auth");

  runtime::Paths paths;
  std::optional<runtime::FileLock> serving;
  std::optional<std::string> token;
  try {
    paths = runtime::ensure();
    serving = runtime::FileLock::acquire(paths.serve_lock, milliseconds(0));
    if (!serving) {
      print_error_line(fmt::format(
          "A KeepGPU service for this user is already running (socket {}). Stop it first.",
          paths.socket.string()));
      return 1;
    }
    if (tcp && auth) token = runtime::ensure_token(paths.token);
  } catch (const std::exception& e) {
    print_error_line(e.what());
    return 1;
  }
  if (tcp && !auth) {
    KG_WARN(logger(), "--no-auth: the TCP listener on {}:{} accepts requests without a token",
            where.host, where.port);
    if (!is_loopback(where.host)) {
      KG_WARN(logger(),
              "--no-auth on the non-loopback address {}: anyone who can reach it can "
              "start and stop sessions",
              where.host);
    }
  }

  // Before any thread starts, so the watcher alone receives SIGINT and SIGTERM.
  SignalWatcher::block_signals();
  SignalWatcher watcher;

  service::SessionManager sessions(timeouts);
  service::Api api(sessions);
  // We hold serve.lock, so no live service owns the journal: sessions in it were left by one that
  // died without releasing them. Their ids are reserved before any request is accepted, and they
  // start in the background, so the service answers at once even when a GPU is slow.
  auto journal = std::make_shared<service::SessionJournal>(paths.journal);
  if (const auto left = journal->read(); !left.sessions.empty()) {
    KG_WARN(logger(),
            "Found {} keep session(s) left by a KeepGPU service that did not shut down cleanly "
            "in {}; restoring them",
            left.sessions.size(), paths.journal.string());
    sessions.restore(left.sessions);
  }
  sessions.attach_journal(journal);
  // One JSON-RPC method table for /rpc, POST / and /mcp: the direct methods plus MCP's.
  auto rpc = std::make_shared<service::jsonrpc::Dispatcher>(api);
  service::mcp::register_methods(*rpc, api, {"keepgpu", "KeepGPU", kVersion});
  // We hold serve.lock, so a socket file left here belongs to a dead service.
  ::unlink(paths.socket.c_str());
  service::http::ServerOptions server_options;
  server_options.unix_socket_path = paths.socket.string();
  if (tcp) server_options.tcp_host = where.host;
  server_options.tcp_port = where.port;
  server_options.token = token;
  server_options.web_assets = embedded_web_assets();
  // The dashboard's charts: sampled only while a session is tracked or someone is looking.
  server_options.telemetry = std::make_shared<service::TelemetrySampler>(
      service::TelemetrySources{[&api] { return api.list_gpus(core::Json::object()); },
                                [&sessions] { return sessions.held_bytes_by_gpu(); },
                                [&sessions] { return sessions.size() > 0; }});
  auto server = std::make_unique<service::http::Server>(api, server_options, rpc);
  bool listening_tcp = tcp;
  try {
    server->start();
  } catch (const std::exception& e) {
    if (!(tcp && options.given("tcp_optional"))) {
      std::cerr << "Error: cannot start the KeepGPU service: " << e.what() << std::endl;
      exit_without_teardown(1);
    }
    KG_WARN(logger(), "Cannot listen on {}:{} ({}); serving on the Unix socket {} only", where.host,
            where.port, e.what(), paths.socket.string());
    server.reset();
    ::unlink(paths.socket.c_str());
    server_options.tcp_host.reset();
    server = std::make_unique<service::http::Server>(api, server_options, rpc);
    listening_tcp = false;
    try {
      server->start();
    } catch (const std::exception& e2) {
      std::cerr << "Error: cannot start the KeepGPU service: " << e2.what() << std::endl;
      exit_without_teardown(1);
    }
  }

  const int port = listening_tcp ? server->tcp_port() : where.port;
  if (listening_tcp) {
    try {
      runtime::write_endpoint_record(paths.endpoint,
                                     {::getpid(), where.host, port, token.has_value()});
    } catch (const std::exception& e) {
      KG_WARN(logger(),
              "Cannot record the TCP endpoint in {} ({}); `keep-gpu dashboard` needs "
              "--host/--port to find this service",
              paths.endpoint.string(), e.what());
    }
  } else {
    runtime::remove_endpoint_record(paths.endpoint);
  }
  if (listening_tcp) {
    print_line(fmt::format("Service URL: http://{}:{}/", where.host, port));
    print_line(
        fmt::format("KeepGPU service listening on http://{}:{} ({}) and {}", where.host, port,
                    token ? "token in " + paths.token.string() : std::string("no token: --no-auth"),
                    paths.socket.string()));
    KG_INFO(logger(), "MCP HTTP server listening on http://{}:{}", where.host, port);
  } else {
    print_line(
        fmt::format("KeepGPU service listening on {} (no TCP listener)", paths.socket.string()));
  }
  KG_INFO(logger(), "Listening on the Unix socket {}", paths.socket.string());
  print_line(
      "Press Ctrl+C to stop the foreground service, or use `keep-gpu service-stop` for "
      "auto-started daemons.");
  std::cout.flush();

  int signal_number = 0;
  while ((signal_number = watcher.wait_for(std::chrono::hours(1))) == 0) {
  }
  KG_INFO(logger(), "Received {}; releasing every session and stopping the service",
          signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  // A graceful end was asked for: nothing is to be restored, even if this process is killed
  // while its releases run (service-stop sends SIGKILL after a while) or exits at a second signal.
  sessions.close_journal();
  server->stop();
  // SessionManager bounds its own waits; the cap here only guards against a bug there, so the
  // process always ends.
  const auto cap = timeouts.startup_stop_wait + timeouts.release_timeout + milliseconds(5000);
  auto done = std::async(std::launch::async, [&] { sessions.shutdown(); });
  if (done.wait_for(cap) != std::future_status::ready) {
    KG_WARN(logger(), "Releasing sessions did not finish in time; exiting anyway");
  }
  if (auto record = runtime::read_pid_record(paths.pid); record && record->pid == ::getpid()) {
    runtime::remove_pid_record(paths.pid);
  }
  runtime::remove_endpoint_record(paths.endpoint);
  ::unlink(paths.socket.c_str());
  KG_INFO(logger(), "KeepGPU service stopped");
  exit_without_teardown(0);
}

}  // namespace keepgpu::cli
