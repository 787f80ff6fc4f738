#include "cli/service_common.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/identifiers.hpp"
#include "service/runtime_dir.hpp"

namespace keepgpu::cli {
namespace runtime = service::runtime;

OptionSpec host_option(const std::string& help_suffix) {
  OptionSpec spec;
  spec.names = {"--host"};
  spec.key = "host";
  spec.metavar = "TEXT";
  spec.help =
      "Service host; with --host or --port the command talks TCP (sending the token), "
      "otherwise the per-user Unix socket." +
      help_suffix;
  spec.default_text = "127.0.0.1";
  return spec;
}

OptionSpec port_option(const std::string& help_suffix) {
  OptionSpec spec;
  spec.names = {"--port"};
  spec.key = "port";
  spec.metavar = "TEXT";
  spec.help = "Service port." + help_suffix;
  spec.default_text = "8765";
  return spec;
}

HostPort validate_host_port(const ParsedOptions& options) {
  HostPort out;
  if (const std::string* host = options.get("host")) {
    out.host = core::validate_host(*host);
    out.explicit_tcp = true;
  }
  if (const std::string* port = options.get("port")) {
    out.port = core::parse_port_text(*port);
    out.explicit_tcp = true;
  }
  return out;
}

namespace {

// The token file belongs to this user's local daemon, so it is only sent to an address that
// reaches this machine; anything else needs KEEP_GPU_TOKEN.
std::optional<std::string> token_for(const std::string& host, const runtime::Paths& paths) {
  if (const char* env = std::getenv("KEEP_GPU_TOKEN"); env != nullptr && env[0] != '\0') {
    return std::string(env);
  }
  bool local = host == "localhost" || host == "0.0.0.0" || host.rfind("127.", 0) == 0;
  if (!local) {
    const auto record = runtime::read_pid_record(paths.pid);
    local = record && record->host == host;
  }
  return local ? runtime::client_token() : std::nullopt;
}

}  // namespace

ServiceTarget make_target(const HostPort& where) {
  ServiceTarget target;
  target.tcp = where.explicit_tcp;
  target.host = where.host;
  target.port = where.port;
  // An unsafe directory is refused before anything is sent through it.
  const auto existing = runtime::existing();
  target.paths = existing ? *existing : runtime::paths_in(runtime::resolve_dir());
  target.endpoint.host = where.host;
  target.endpoint.port = where.port;
  if (target.tcp) {
    target.endpoint.token = token_for(where.host, target.paths);
  } else {
    target.endpoint.unix_socket = target.paths.socket.string();
  }
  return target;
}

void print_line(std::string_view line) {
  std::cout << line << '\n';
}

void print_error_line(std::string_view message) {
  std::cout << "Error: " << message << '\n';
}

bool print_json(const core::Json& value, const std::string& url) {
  try {
    core::json::WriteOptions options;
    options.indent = 2;  // json.dumps(result, indent=2): the service's members in their order
    options.non_finite = core::json::NonFinite::raise;
    const std::string text = core::json::dump(value, options);
    std::cout << text << '\n';
    return true;
  } catch (const core::json::NonFiniteNumber&) {
    print_json_error(fmt::format("Non-JSON response from service endpoint: {}", url));
    return false;
  }
}

void print_json_error(std::string_view message) {
  core::json::WriteOptions options;
  options.indent = 2;
  std::cout << core::json::dump(core::Json{{"error", message}}, options) << '\n';
}

int subcommand_usage_error(const std::string& command, const std::string& message) {
  std::cout.flush();
  std::cerr << fmt::format(
      "Usage: keep-gpu {} [OPTIONS]\nTry 'keep-gpu {} -h' for help.\n\nError: {}\n", command,
      command, message);
  return 2;
}

std::vector<OptionSpec> auto_start_options() {
  OptionSpec on = flag_option({"--auto-start"}, "auto_start",
                              "Spawn the per-user daemon when the service is not healthy.");
  on.help_names = "--auto-start / --no-auto-start";
  on.default_text = "auto-start";
  OptionSpec off = flag_option({"--no-auto-start"}, "auto_start", "", "0");
  off.hidden_in_help = true;
  return {on, off};
}

AutoStartOptions auto_start_from(const RootArgs& root, const ParsedOptions& options) {
  AutoStartOptions auto_start;
  auto_start.auto_start = options.optional("auto_start").value_or("1") == "1";
  auto_start.root_args = daemon_root_args(root);
  return auto_start;
}

std::vector<std::string> daemon_root_args(const RootArgs& root) {
  std::vector<std::string> args;
  if (root.log_level) args.insert(args.end(), {"--log-level", *root.log_level});
  if (root.log_format) args.insert(args.end(), {"--log-format", *root.log_format});
  return args;
}

}  // namespace keepgpu::cli
