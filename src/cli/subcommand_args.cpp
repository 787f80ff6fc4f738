#include "cli/subcommand_args.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text.hpp"

namespace keepgpu::cli {
namespace {

const OptionSpec* find(const CommandSpec& spec, const std::string& name) {
  for (const auto& option : spec.options) {
    if (std::find(option.names.begin(), option.names.end(), name) != option.names.end()) {
      return &option;
    }
  }
  return nullptr;
}

// Click suggests close option names; a prefix or a couple of typos counts as close.
std::string no_such_option(const CommandSpec& spec, const std::string& name) {
  std::string best;
  std::size_t best_distance = 4;
  std::vector<std::string> names = {"--help"};
  for (const auto& option : spec.options)
    names.insert(names.end(), option.names.begin(), option.names.end());
  for (const auto& candidate : names) {
    const bool prefix = name.size() > 2 && candidate.rfind(name, 0) == 0;
    const std::size_t d = prefix ? 0 : core::text::edit_distance(name, candidate);
    if (d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  if (best.empty()) return fmt::format("No such option: {}", name);
  return fmt::format("No such option: {} Did you mean {}?", name, best);
}

}  // namespace

OptionSpec value_option(std::vector<std::string> names, std::string key, std::string metavar,
                        std::string help, std::string default_text) {
  OptionSpec spec;
  spec.names = std::move(names);
  spec.key = std::move(key);
  spec.metavar = std::move(metavar);
  spec.help = std::move(help);
  spec.default_text = std::move(default_text);
  return spec;
}

OptionSpec flag_option(std::vector<std::string> names, std::string key, std::string help,
                       std::string flag_value) {
  OptionSpec spec;
  spec.names = std::move(names);
  spec.key = std::move(key);
  spec.flag = true;
  spec.help = std::move(help);
  spec.flag_value = std::move(flag_value);
  return spec;
}

ParsedOptions parse_subcommand_args(const CommandSpec& spec, const std::vector<std::string>& argv) {
  ParsedOptions parsed;
  std::vector<std::string> extra;
  bool options_ended = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& token = argv[i];
    if (spec.takes_command && !options_ended &&
        (token == "--" || token == "-" || token.empty() || token[0] != '-')) {
      const std::size_t first = token == "--" ? i + 1 : i;
      parsed.command.assign(argv.begin() + static_cast<std::ptrdiff_t>(first), argv.end());
      break;
    }
    if (options_ended || token == "-" || token.empty() || token[0] != '-') {
      extra.push_back(token);
      continue;
    }
    if (token == "--") {
      options_ended = true;
      continue;
    }
    if (token == "-h") {
      parsed.help = true;
      continue;
    }
    const auto eq = token.find('=');
    const std::string name = token.substr(0, eq);
    if (name == "--help") {
      if (eq != std::string::npos) {
        throw UsageError(fmt::format("Option '{}' does not take a value.", name));
      }
      parsed.help = true;
      continue;
    }
    const OptionSpec* option = name.rfind("--", 0) == 0 ? find(spec, name) : nullptr;
    if (option == nullptr) throw UsageError(no_such_option(spec, name));
    if (option->flag) {
      if (eq != std::string::npos) {
        throw UsageError(fmt::format("Option '{}' does not take a value.", name));
      }
      parsed.values[option->key] = option->flag_value;
    } else if (eq != std::string::npos) {
      parsed.values[option->key] = token.substr(eq + 1);
    } else if (i + 1 < argv.size()) {
      parsed.values[option->key] = argv[++i];  // verbatim, even when it starts with '-'
    } else {
      throw UsageError(fmt::format("Option '{}' requires an argument.", name));
    }
  }
  // Click runs the eager --help before it complains about extra arguments.
  if (parsed.help) return parsed;
  if (extra.size() == 1) {
    throw UsageError(fmt::format("Got unexpected extra argument ({})", extra[0]));
  }
  if (extra.size() > 1) {
    std::string joined;
    for (const auto& e : extra)
      joined += (joined.empty() ? "" : " ") + e;
    throw UsageError(fmt::format("Got unexpected extra arguments ({})", joined));
  }
  return parsed;
}

std::string subcommand_help(const CommandSpec& spec) {
  const std::string arguments = spec.usage_arguments.empty() ? "" : " " + spec.usage_arguments;
  std::string out = fmt::format("Usage: keep-gpu {} [OPTIONS]{}\n\n  {}\n\nOptions:\n", spec.name,
                                arguments, spec.description);
  constexpr std::size_t kColumn = 30;
  auto emit = [&](const std::string& names, const std::string& text) {
    std::string line = "  " + names;
    if (line.size() + 2 > kColumn) {
      out += line + "\n" + std::string(kColumn, ' ');
    } else {
      out += line + std::string(kColumn - line.size(), ' ');
    }
    // Wrap the description at about 78 columns.
    std::size_t width = kColumn;
    std::string word;
    bool first = true;
    auto flush_word = [&] {
      if (word.empty()) return;
      if (!first && width + 1 + word.size() > 78) {
        out += "\n" + std::string(kColumn, ' ');
        width = kColumn;
        first = true;
      }
      if (!first) {
        out += ' ';
        ++width;
      }
      out += word;
      width += word.size();
      first = false;
      word.clear();
    };
    for (char c : text) {
      if (c == ' ') {
        flush_word();
      } else {
        word += c;
      }
    }
    flush_word();
    out += "\n";
  };
  for (const auto& option : spec.options) {
    if (option.hidden_in_help) continue;
    std::string names = option.help_names;
    if (names.empty()) {
      for (const auto& n : option.names)
        names += (names.empty() ? "" : ", ") + n;
    }
    if (!option.flag && !option.metavar.empty()) names += " " + option.metavar;
    std::string text = option.help;
    if (!option.default_text.empty()) {
      text += (text.empty() ? "" : " ") + fmt::format("[default: {}]", option.default_text);
    }
    emit(names, text);
  }
  emit("-h, --help", "Show this message and exit.");
  if (!spec.epilog.empty()) out += "\n" + spec.epilog;
  return out;
}

}  // namespace keepgpu::cli
