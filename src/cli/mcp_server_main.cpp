// keep-gpu-mcp-server: the MCP server for AI agents.
//
//   keep-gpu-mcp-server [--mode stdio|http] [--host HOST] [--port PORT]
//
// stdio (default): newline-delimited JSON-RPC on stdin/stdout, only protocol messages on stdout,
// logs on stderr; end of input, SIGINT or SIGTERM release every session, then exit 0.
// http: the same per-user daemon as `keep-gpu serve --host HOST --port PORT` (REST, /rpc, /mcp).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cli/commands.hpp"
#include "cli/process_exit.hpp"
#include "cli/signals.hpp"
#include "cli/version.hpp"
#include "core/identifiers.hpp"
#include "core/log.hpp"
#include "service/api.hpp"
#include "service/jsonrpc.hpp"
#include "service/mcp/protocol.hpp"
#include "service/mcp/stdio.hpp"
#include "service/session_manager.hpp"

namespace {

using namespace keepgpu;

constexpr const char* kUsage =
    "usage: keep-gpu-mcp-server [-h] [--mode {stdio,http}] [--host HOST] [--port PORT]\n";

constexpr const char* kHelp =
    "\n"
    "KeepGPU MCP server: lets AI agents reserve GPUs with start_keep before a long CPU phase\n"
    "and release them with stop_keep.\n"
    "\n"
    "options:\n"
    "  -h, --help           show this help message and exit\n"
    "  --mode {stdio,http}  stdio: JSON-RPC lines on stdin/stdout (default); http: run the\n"
    "                       per-user service (REST, /rpc and the Streamable HTTP endpoint /mcp)\n"
    "  --host HOST          bind host in http mode (default: 127.0.0.1)\n"
    "  --port PORT          bind port in http mode (default: 8765)\n";

[[noreturn]] void usage_error(const std::string& message) {
  std::cerr << kUsage << "keep-gpu-mcp-server: error: " << message << std::endl;
  std::_Exit(2);
}

struct Args {
  std::string mode = "stdio";
  std::string host = "127.0.0.1";
  std::string port = "8765";
};

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string token = argv[i];
    if (token == "-h" || token == "--help") {
      std::cout << kUsage << kHelp;
      std::exit(0);
    }
    std::optional<std::string> value;
    if (const auto eq = token.find('='); token.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = token.substr(eq + 1);
      token.resize(eq);
    }
    std::string* target = nullptr;
    if (token == "--mode") target = &args.mode;
    if (token == "--host") target = &args.host;
    if (token == "--port") target = &args.port;
    if (target == nullptr) usage_error("unrecognized arguments: " + std::string(argv[i]));
    if (!value) {
      if (i + 1 >= argc) usage_error("argument " + token + ": expected one argument");
      value = argv[++i];
    }
    *target = *value;
  }
  if (args.mode != "stdio" && args.mode != "http") {
    usage_error("argument --mode: invalid choice: '" + args.mode +
                "' (choose from 'stdio', 'http')");
  }
  return args;
}

int run_http(const Args& args) {
  // Host, then port, before anything binds; both are usage errors here.
  try {
    core::validate_host(args.host);
    core::parse_port_text(args.port);
  } catch (const std::exception& e) {
    usage_error(e.what());
  }
  const cli::ParsedOptions options =
      cli::parse_subcommand_args(cli::serve_spec(), {"--host", args.host, "--port", args.port});
  return cli::run_serve(cli::RootArgs{}, options);
}

int run_stdio() {
  log::configure(log::config_from_env());
  cli::SignalWatcher::block_signals();
  cli::SignalWatcher signals;
  service::SessionManager sessions;
  service::Api api(sessions);
  service::jsonrpc::Dispatcher dispatcher(api);
  service::mcp::register_methods(dispatcher, api, {"keepgpu", "KeepGPU", cli::kVersion});

  // A signal ends the process from here while the main thread may be blocked reading stdin.
  std::thread on_signal([&] {
    while (signals.wait_for(std::chrono::hours(1)) == 0) {
    }
    sessions.shutdown();
    cli::exit_without_teardown(0);
  });
  on_signal.detach();

  std::ios::sync_with_stdio(false);
  service::mcp::serve_stdio(std::cin, std::cout, dispatcher);
  sessions.shutdown();  // end of input: release every session before leaving
  cli::exit_without_teardown(0);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  if (args.mode == "http") cli::exit_without_teardown(run_http(args));
  return run_stdio();
}
