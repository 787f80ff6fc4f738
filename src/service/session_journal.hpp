// The session journal: the daemon's keep sessions on disk (sessions.json in the runtime
// directory, mode 0600), so that a daemon killed without a chance to release them (SIGKILL, the
// OOM killer, a crash) loses nothing silently. The running daemon rewrites it atomically on every
// change of its set of sessions; a graceful end removes it. The next daemon restores what it
// finds, and `keep-gpu status` names those sessions while no daemon runs.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/json.hpp"

namespace keepgpu::service {

// One session: its id and the params status echoes (gpu_ids, vram, interval, busy_threshold,
// JSON types kept), which are exactly what a start needs to build it again, and the moment its
// time limit ends (ISO 8601 with offset), so a restored session ends when it was first told to.
struct JournalEntry {
  std::string job_id;
  core::Json params;
  std::optional<std::string> ends_at{};
};

struct JournalContents {
  std::vector<JournalEntry> sessions;
  // The daemon that wrote it: its pid and start time (/proc/<pid>/stat field 22), when recorded.
  std::optional<pid_t> pid;
  std::optional<std::string> start_time;
};

// Reads and writes one journal file. Not thread-safe: one writer at a time (SessionManager
// serialises its writes).
class SessionJournal {
 public:
  explicit SessionJournal(std::filesystem::path path);

  const std::filesystem::path& path() const noexcept { return path_; }

  // Replaces the journal with `entries`, naming this process as the writer. Never throws: a
  // failure is logged at WARNING (the daemon keeps serving) and returns false. Content equal to
  // the last successful write is not written again.
  bool write(const std::vector<JournalEntry>& entries) noexcept;

  // Removes the file (a graceful end leaves nothing to restore). Never throws; a failure is
  // logged at WARNING.
  void remove() noexcept;

  // The journal's contents. A missing file is an empty journal. A file that cannot be read or
  // parsed, and entries without a string job_id or an object of params, are skipped with a
  // WARNING naming the file: a damaged journal never stops a daemon from starting.
  JournalContents read() const;

 private:
  std::filesystem::path path_;
  std::optional<std::string> start_time_;  // ours, read once
  std::optional<std::string> last_written_;
};

// The journal's file content for `entries` written by `pid` (one JSON object and a newline).
std::string journal_text(const std::vector<JournalEntry>& entries, pid_t pid,
                         const std::optional<std::string>& start_time);

// True when the daemon that wrote `contents` is no longer running: its pid is dead, or now names
// a process with another start time. A journal that names no writer counts as left behind.
bool writer_gone(const JournalContents& contents);

}  // namespace keepgpu::service
