// Logging facade over spdlog. Every component logs through a named logger (upstream's module-style
// names such as "keep_gpu.cli") into one shared set of sinks, so the CLI can redirect, filter or
// replace console output (the live status view) in one place.
#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace keepgpu::log {

enum class Level { debug, info, warning, error, critical, off };

enum class Format { text, json };

struct Config {
  Level console_level = Level::info;  // Level::off disables the console
  Level file_level = Level::debug;
  std::optional<std::string> file_path;  // no file log when empty
  Format format = Format::text;
};

// Parses a level name the way upstream's CONSOLE_LOG_LEVEL does: trimmed, case-insensitive;
// "", "no", "0" mean off; DEBUG/INFO/WARNING/WARN/ERROR/CRITICAL/FATAL/NOTSET select a level.
// Anything else yields std::nullopt (the caller keeps its default).
std::optional<Level> parse_level(std::string_view text);

// Applies CONSOLE_LOG_LEVEL / KEEP_GPU_LOG_LEVEL, FILE_LOG_LEVEL and KEEP_GPU_LOG_FILE on top of
// `base` (environment first; explicit command-line flags are applied by the caller afterwards).
Config config_from_env(Config base = {});

// Installs the sinks. Safe to call more than once; throws std::runtime_error when the log file
// cannot be opened.
void configure(const Config& config);

// Replaces the console sink (the CLI's live status view uses this to keep warnings visible without
// a scrolling INFO log). Passing nullptr restores the plain stderr sink.
void set_console_sink(std::shared_ptr<spdlog::sinks::sink> sink);

// The formatter of the console sink for the current configuration (for replacement sinks).
std::unique_ptr<spdlog::formatter> make_console_formatter();

// The configuration last applied (defaults when configure() was never called).
Config current_config();

// Returns the shared logger with this name, creating it on first use.
std::shared_ptr<spdlog::logger> get(const std::string& name);

// Flushes every sink (before exit).
void flush();

spdlog::level::level_enum to_spdlog(Level level);

}  // namespace keepgpu::log

// Logging macros capture the call site for the "(file:line)" part of each record.
#define KG_LOG(logger, lvl, ...)                                                                 \
  (logger)->log(spdlog::source_loc{__FILE__, __LINE__, static_cast<const char*>(__func__)}, lvl, \
                __VA_ARGS__)
#define KG_DEBUG(logger, ...) KG_LOG(logger, spdlog::level::debug, __VA_ARGS__)
#define KG_INFO(logger, ...) KG_LOG(logger, spdlog::level::info, __VA_ARGS__)
#define KG_WARN(logger, ...) KG_LOG(logger, spdlog::level::warn, __VA_ARGS__)
#define KG_ERROR(logger, ...) KG_LOG(logger, spdlog::level::err, __VA_ARGS__)
