// What the service subcommands share: the --host/--port options and how they pick the transport
// (the Unix socket by default, TCP when --host or --port is given), the output helpers for the
// two output styles (human lines and the JSON commands' objects), and usage errors.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/daemon_control.hpp"
#include "cli/root_args.hpp"
#include "cli/subcommand_args.hpp"
#include "core/json.hpp"

namespace keepgpu::cli {

// The --host and --port option specs with their help texts.
OptionSpec host_option(const std::string& help_suffix = "");
OptionSpec port_option(const std::string& help_suffix = "");

// Host then port, validated in that order; throws keepgpu::ValueError with the exact message.
struct HostPort {
  std::string host = "127.0.0.1";
  int port = 8765;
  bool explicit_tcp = false;  // --host or --port was given
};
HostPort validate_host_port(const ParsedOptions& options);

// The endpoint for a validated HostPort: the Unix socket in the runtime directory, or TCP with the
// token. Throws service::runtime::RuntimeDirError when the runtime directory is unsafe.
ServiceTarget make_target(const HostPort& where);

// stdout: one human line.
void print_line(std::string_view line);
// stdout: "Error: {message}".
void print_error_line(std::string_view message);
// stdout: the JSON object in json.dumps(indent=2) form. A number that JSON cannot carry (1e999)
// prints the Non-JSON error naming `url` instead; returns false then.
bool print_json(const core::Json& value, const std::string& url);
// stdout: {"error": message}.
void print_json_error(std::string_view message);

// stderr: a subcommand usage error; returns 2.
int subcommand_usage_error(const std::string& command, const std::string& message);

// Root options worth passing to a spawned daemon (--log-level, --log-format).
std::vector<std::string> daemon_root_args(const RootArgs& root);

// The --auto-start / --no-auto-start pair (key "auto_start"; the negative form hidden in help).
std::vector<OptionSpec> auto_start_options();
// How to auto-start for these options: on unless --no-auto-start, with the root's log options.
AutoStartOptions auto_start_from(const RootArgs& root, const ParsedOptions& options);

}  // namespace keepgpu::cli
