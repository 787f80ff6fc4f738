#include "cli/root_args.hpp"

#include <fmt/format.h>
#include <algorithm>

#include "core/text.hpp"

namespace keepgpu::cli {
namespace {

enum class Kind { value, flag };
struct OptionSpec {
  const char* name;
  Kind kind;
};

constexpr OptionSpec kOptions[] = {
    {"--interval", Kind::value},
    {"--gpu-ids", Kind::value},
    {"--vram", Kind::value},
    {"--busy-threshold", Kind::value},
    {"--util-threshold", Kind::value},
    {"--threshold", Kind::value},
    {"--log-level", Kind::value},
    {"--log-file", Kind::value},
    {"--log-format", Kind::value},
    {"--util-target", Kind::value},
    {"--duration", Kind::value},
    {"--until", Kind::value},
    {"--help", Kind::flag},
    {"--version", Kind::flag},
};

const OptionSpec* find_option(const std::string& name) {
  for (const auto& spec : kOptions) {
    if (name == spec.name) return &spec;
  }
  return nullptr;
}

std::string unknown_option_message(const std::string& name) {
  std::string best;
  std::size_t best_distance = 4;
  for (const auto& spec : kOptions) {
    if (std::string(spec.name) == "--threshold") continue;  // hidden
    const std::size_t d = core::text::edit_distance(name, spec.name);
    const bool prefix = std::string(spec.name).rfind(name, 0) == 0 && name.size() > 2;
    if (prefix || d < best_distance) {
      best = spec.name;
      best_distance = prefix ? 0 : d;
    }
  }
  if (best.empty()) return fmt::format("No such option: {}", name);
  return fmt::format("No such option: {} Did you mean {}?", name, best);
}

void assign(RootArgs& args, const std::string& name, std::string value) {
  if (name == "--interval")
    args.interval = std::move(value);
  else if (name == "--gpu-ids")
    args.gpu_ids = std::move(value);
  else if (name == "--vram")
    args.vram = std::move(value);
  else if (name == "--busy-threshold" || name == "--util-threshold")
    args.busy_threshold = std::move(value);
  else if (name == "--threshold")
    args.threshold = std::move(value);
  else if (name == "--util-target")
    args.util_target = std::move(value);
  else if (name == "--duration")
    args.duration = std::move(value);
  else if (name == "--until")
    args.until = std::move(value);
  else if (name == "--log-level")
    args.log_level = std::move(value);
  else if (name == "--log-file")
    args.log_file = std::move(value);
  else if (name == "--log-format")
    args.log_format = std::move(value);
}

void take_subcommand(RootArgs& args, const std::vector<std::string>& argv, std::size_t index) {
  const std::string& name = argv[index];
  const auto& names = subcommand_names();
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    throw UsageError(fmt::format("No such command '{}'.", name));
  }
  args.subcommand = name;
  args.subcommand_args.assign(argv.begin() + static_cast<std::ptrdiff_t>(index) + 1, argv.end());
}

}  // namespace

std::vector<std::string> RootArgs::blocking_option_labels() const {
  std::vector<std::string> labels;
  if (gpu_ids) labels.emplace_back("--gpu-ids");
  if (vram) labels.emplace_back("--vram");
  if (threshold) labels.emplace_back("--threshold");
  if (busy_threshold) labels.emplace_back("--busy-threshold/--util-threshold");
  if (interval) labels.emplace_back("--interval");
  if (util_target) labels.emplace_back("--util-target");
  if (duration) labels.emplace_back("--duration");
  if (until) labels.emplace_back("--until");
  return labels;
}

RootArgs parse_root_args(const std::vector<std::string>& argv) {
  RootArgs args;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& token = argv[i];
    if (token == "--") {
      if (i + 1 < argv.size()) take_subcommand(args, argv, i + 1);
      return args;
    }
    if (token == "-h") {
      args.help = true;
      continue;
    }
    if (token.size() > 1 && token[0] == '-') {
      const auto eq = token.find('=');
      const std::string name = token.substr(0, eq);
      const OptionSpec* spec = name.rfind("--", 0) == 0 ? find_option(name) : nullptr;
      if (spec == nullptr) throw UsageError(unknown_option_message(name));
      if (spec->kind == Kind::flag) {
        if (eq != std::string::npos) {
          throw UsageError(fmt::format("Option '{}' does not take a value.", name));
        }
        if (name == "--help") args.help = true;
        if (name == "--version") args.version = true;
        continue;
      }
      if (eq != std::string::npos) {
        assign(args, name, token.substr(eq + 1));
      } else if (i + 1 < argv.size()) {
        assign(args, name, argv[++i]);  // taken verbatim, even when it starts with '-'
      } else {
        throw UsageError(fmt::format("Option '{}' requires an argument.", name));
      }
      continue;
    }
    if (args.help) return args;  // --help is eager: it wins over whatever follows
    take_subcommand(args, argv, i);
    return args;
  }
  return args;
}

}  // namespace keepgpu::cli
