#include "service/session_journal.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "core/json.hpp"
#include "core/log.hpp"
#include "service/runtime_dir.hpp"
#include "service/wire_json.hpp"

namespace keepgpu::service {
namespace fs = std::filesystem;

namespace {

constexpr int kVersion = 1;

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto lg = log::get("keep_gpu.mcp.server");
  return lg;
}

std::optional<std::string> start_time_of(pid_t pid) {
  const auto identity = runtime::probe_process(pid);
  if (!identity) return std::nullopt;
  return identity->start_time;
}

}  // namespace

SessionJournal::SessionJournal(fs::path path)
    : path_(std::move(path)), start_time_(start_time_of(::getpid())) {}

std::string journal_text(const std::vector<JournalEntry>& entries, pid_t pid,
                         const std::optional<std::string>& start_time) {
  core::Json sessions = core::Json::array();
  for (const auto& entry : entries) {
    core::Json item = {{"job_id", entry.job_id}, {"params", entry.params}};
    if (entry.ends_at) item["ends_at"] = *entry.ends_at;
    sessions.push_back(std::move(item));
  }
  core::Json doc = {{"version", kVersion}, {"pid", pid}, {"sessions", std::move(sessions)}};
  if (start_time) doc["start_time"] = *start_time;
  return wire_json(doc, core::json::Separators::compact) + "\n";
}

bool SessionJournal::write(const std::vector<JournalEntry>& entries) noexcept {
  try {
    std::string text = journal_text(entries, ::getpid(), start_time_);
    if (last_written_ && *last_written_ == text) return true;
    runtime::write_file_atomically(path_, text, 0600);
    last_written_ = std::move(text);
    return true;
  } catch (const std::exception& e) {
    last_written_.reset();
    KG_WARN(logger(),
            "Cannot write the session journal {}: {}; if this service dies now, its sessions "
            "cannot be restored",
            path_.string(), e.what());
  } catch (...) {
    last_written_.reset();
    KG_WARN(logger(), "Cannot write the session journal {}", path_.string());
  }
  return false;
}

void SessionJournal::remove() noexcept {
  last_written_.reset();
  std::error_code ec;
  fs::remove(path_, ec);
  if (ec) {
    KG_WARN(logger(), "Cannot remove the session journal {}: {}", path_.string(), ec.message());
  }
}

JournalContents SessionJournal::read() const {
  JournalContents out;
  std::error_code missing;
  if (!fs::exists(path_, missing) && !missing) return out;  // no journal: nothing was left
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    KG_WARN(logger(), "Ignoring the session journal {}: cannot read it: {}", path_.string(),
            std::strerror(errno));
    return out;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  core::Json doc;
  try {
    core::json::ReadOptions options;
    options.duplicate_keys = core::json::DuplicateKeys::last_wins;
    doc = core::json::parse(buffer.str(), options);
  } catch (const std::exception& e) {
    KG_WARN(logger(), "Ignoring the session journal {}: it is not JSON ({})", path_.string(),
            e.what());
    return out;
  }
  const auto sessions = doc.is_object() ? doc.find("sessions") : doc.end();
  if (!doc.is_object() || sessions == doc.end() || !sessions->is_array()) {
    KG_WARN(logger(), "Ignoring the session journal {}: it holds no list of sessions",
            path_.string());
    return out;
  }
  if (auto pid = doc.find("pid"); pid != doc.end() && pid->is_number_integer()) {
    out.pid = pid->get<pid_t>();
  }
  if (auto start = doc.find("start_time"); start != doc.end() && start->is_string()) {
    out.start_time = start->get<std::string>();
  }
  std::size_t index = 0;
  for (const auto& item : *sessions) {
    const auto job_id = item.is_object() ? item.find("job_id") : item.end();
    const auto params = item.is_object() ? item.find("params") : item.end();
    if (!item.is_object() || job_id == item.end() || !job_id->is_string() || params == item.end() ||
        !params->is_object()) {
      KG_WARN(logger(), "Ignoring entry {} of the session journal {}: not a session", index,
              path_.string());
    } else {
      JournalEntry entry{job_id->get<std::string>(), *params, std::nullopt};
      if (const auto ends = item.find("ends_at"); ends != item.end() && ends->is_string())
        entry.ends_at = ends->get<std::string>();
      out.sessions.push_back(std::move(entry));
    }
    ++index;
  }
  return out;
}

bool writer_gone(const JournalContents& contents) {
  if (!contents.pid || *contents.pid <= 0) return true;
  if (!runtime::process_alive(*contents.pid)) return true;
  if (!contents.start_time) return false;  // alive, and nothing to tell it from another process
  const auto now = start_time_of(*contents.pid);
  return now && *now != *contents.start_time;
}

}  // namespace keepgpu::service
