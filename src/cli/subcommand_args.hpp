// Option parsing for the service subcommands with the same Click rules as the root
// (Click's): long options plus -h, `--opt VALUE` and `--opt=VALUE`, a value option
// takes the next token verbatim, the last occurrence wins, aliases share one slot, flags take no
// value, `--` ends the options, and no positional arguments. Values stay text; each command
// validates them in its own order. Also renders each subcommand's -h/--help.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/root_args.hpp"  // UsageError

namespace keepgpu::cli {

struct OptionSpec {
  std::vector<std::string> names;  // e.g. {"--busy-threshold", "--util-threshold"}
  std::string key;                 // the slot the value lands in
  bool flag = false;
  std::string flag_value = "1";  // what a flag stores (a --no-x flag stores "0")
  std::string metavar;           // value options: TEXT, NUMBER, INTEGER, SECONDS...
  std::string help;
  std::string default_text;  // shown as [default: ...] when non-empty
  std::string help_names;    // overrides the names column (e.g. "--auto-start / --no-auto-start")
  bool hidden_in_help = false;  // a second spelling documented on another option's line
};

// An option that takes a value / a flag, with the fields most options need.
OptionSpec value_option(std::vector<std::string> names, std::string key, std::string metavar,
                        std::string help, std::string default_text = "");
OptionSpec flag_option(std::vector<std::string> names, std::string key, std::string help,
                       std::string flag_value = "1");

struct CommandSpec {
  std::string name;
  std::string description;
  std::vector<OptionSpec> options;
  std::string epilog;  // extra help text after the options
  // `keep-gpu run`: the first positional token, or whatever follows `--`, starts a command line
  // that is kept whole (its own options included) in ParsedOptions::command.
  bool takes_command = false;
  std::string usage_arguments;  // after "[OPTIONS]" in the usage line, e.g. "-- COMMAND [ARGS]..."
};

struct ParsedOptions {
  std::map<std::string, std::string> values;  // key -> last value given
  bool help = false;
  std::vector<std::string> command;  // CommandSpec::takes_command only

  const std::string* get(const std::string& key) const {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  }
  std::optional<std::string> optional(const std::string& key) const {
    const std::string* v = get(key);
    return v ? std::optional<std::string>(*v) : std::nullopt;
  }
  bool given(const std::string& key) const { return values.count(key) != 0; }
};

// Throws UsageError with Click's texts: "No such option: --x", "Option '--x' requires an
// argument.", "Option '--x' does not take a value.", "Got unexpected extra argument (x)".
ParsedOptions parse_subcommand_args(const CommandSpec& spec, const std::vector<std::string>& argv);

// The -h/--help text of a subcommand.
std::string subcommand_help(const CommandSpec& spec);

}  // namespace keepgpu::cli
