#include "core/log.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace keepgpu::log {
namespace {

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::info:
      return "INFO";
    case spdlog::level::warn:
      return "WARNING";
    case spdlog::level::err:
      return "ERROR";
    case spdlog::level::critical:
      return "CRITICAL";
    default:
      return "NOTSET";
  }
}

// %* : upstream level names (WARNING rather than spdlog's "warning").
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto name = level_name(msg.level);
    dest.append(name.data(), name.data() + name.size());
    // The file format pads the level to 7 columns; padinfo_ carries the width.
    for (auto n = name.size(); n < padinfo_.width_; ++n)
      dest.push_back(' ');
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }
};

void append_json_escaped(std::string_view text, spdlog::memory_buf_t& dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
          dest.append(esc, esc + sizeof esc);
        } else {
          dest.push_back(static_cast<char>(c));
        }
    }
  }
}

// %? : the message, JSON-escaped. %@ : the logger name, JSON-escaped.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_json_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};
class JsonNameFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_json_escaped(std::string_view(msg.logger_name.data(), msg.logger_name.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonNameFlag>();
  }
};

constexpr const char* kConsolePattern = "%H:%M:%S [%*] %n (%s:%#): %v";
constexpr const char* kFilePattern = "%Y-%m-%d %H:%M:%S [%-7*] %n:%s:%#  %v";
constexpr const char* kJsonPattern =
    R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%*","logger":"%@","source":"%s:%#","message":"%?"})";

std::unique_ptr<spdlog::formatter> make_formatter(const char* pattern) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<LevelFlag>('*');
  formatter->add_flag<JsonMessageFlag>('?');
  formatter->add_flag<JsonNameFlag>('@');
  formatter->set_pattern(pattern);
  return formatter;
}

struct State {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> dist =
      std::make_shared<spdlog::sinks::dist_sink_mt>();
  std::shared_ptr<spdlog::sinks::sink> console;
  std::shared_ptr<spdlog::sinks::sink> file;
  std::unordered_map<std::string, std::shared_ptr<spdlog::logger>> loggers;
  Config config;
  bool configured = false;
};

State& state() {
  static State* s = new State();  // never destroyed: loggers may be used during static teardown
  return *s;
}

void rebuild_sinks_locked(State& s) {
  std::vector<spdlog::sink_ptr> sinks;
  if (s.console) sinks.push_back(s.console);
  if (s.file) sinks.push_back(s.file);
  s.dist->set_sinks(sinks);
}

std::shared_ptr<spdlog::sinks::sink> make_stderr_sink(const Config& config) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(
      make_formatter(config.format == Format::json ? kJsonPattern : kConsolePattern));
  sink->set_level(to_spdlog(config.console_level));
  return sink;
}

void ensure_default_locked(State& s) {
  if (s.configured) return;
  s.configured = true;
  s.console = make_stderr_sink(s.config);
  rebuild_sinks_locked(s);
}

std::string trim_lower(std::string_view text) {
  auto is_space = [](unsigned char c) { return std::isspace(c) != 0 || (c >= 0x1c && c <= 0x1f); };
  while (!text.empty() && is_space(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && is_space(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warning:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::critical:
      return spdlog::level::critical;
    case Level::off:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

std::optional<Level> parse_level(std::string_view text) {
  const std::string value = trim_lower(text);
  if (value.empty() || value == "no" || value == "0") return Level::off;
  if (value == "debug" || value == "notset") return Level::debug;
  if (value == "info") return Level::info;
  if (value == "warning" || value == "warn") return Level::warning;
  if (value == "error") return Level::error;
  if (value == "critical" || value == "fatal") return Level::critical;
  return std::nullopt;
}

Config config_from_env(Config base) {
  for (const char* name : {"CONSOLE_LOG_LEVEL", "KEEP_GPU_LOG_LEVEL"}) {
    if (const char* value = std::getenv(name)) {
      if (auto level = parse_level(value)) base.console_level = *level;
    }
  }
  if (const char* value = std::getenv("FILE_LOG_LEVEL")) {
    if (auto level = parse_level(value)) base.file_level = *level;
  }
  if (const char* value = std::getenv("KEEP_GPU_LOG_FILE"); value != nullptr && *value != '\0') {
    base.file_path = value;
  }
  return base;
}

void configure(const Config& config) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.configured = true;
  s.config = config;
  s.console = make_stderr_sink(config);
  s.file.reset();
  if (config.file_path && config.file_level != Level::off) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(*config.file_path);
    file->set_formatter(
        make_formatter(config.format == Format::json ? kJsonPattern : kFilePattern));
    file->set_level(to_spdlog(config.file_level));
    s.file = file;
  }
  rebuild_sinks_locked(s);
}

std::unique_ptr<spdlog::formatter> make_console_formatter() {
  return make_formatter(current_config().format == Format::json ? kJsonPattern : kConsolePattern);
}

Config current_config() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  return s.config;
}

void set_console_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  ensure_default_locked(s);
  s.console = sink ? std::move(sink) : make_stderr_sink(s.config);
  rebuild_sinks_locked(s);
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  ensure_default_locked(s);
  auto it = s.loggers.find(name);
  if (it != s.loggers.end()) return it->second;
  auto logger = std::make_shared<spdlog::logger>(name, s.dist);
  logger->set_level(spdlog::level::debug);
  logger->flush_on(spdlog::level::debug);
  s.loggers.emplace(name, logger);
  return logger;
}

void flush() {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.dist->flush();
}

}  // namespace keepgpu::log
