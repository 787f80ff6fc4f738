// The per-user runtime directory of the daemon ($XDG_RUNTIME_DIR/keep-gpu, else ~/.keepgpu, mode
// 0700): where it is, who may use
// it, and the files in it: the Unix socket, the bearer token, the PID record of an auto-started
// daemon, its log and the auto-start lock. Also the process identity probes that decide whether a
// PID record still names our daemon (uid, start time and executable all match), so a recycled pid
// is never signalled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace keepgpu::service::runtime {

// The directory cannot be created or is not safe to use (owned by someone else, group/other
// writable, not a directory).
class RuntimeDirError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Paths {
  std::filesystem::path dir;
  std::filesystem::path socket;      // keep-gpu.sock
  std::filesystem::path token;       // token
  std::filesystem::path pid;         // daemon.pid
  std::filesystem::path log;         // daemon.log
  std::filesystem::path lock;        // daemon.lock: serialises auto-start
  std::filesystem::path serve_lock;  // serve.lock: held by the running service, one per user
  std::filesystem::path endpoint;    // endpoint.json: the running service's TCP listener
  std::filesystem::path journal;     // sessions.json: the running service's keep sessions
};

// $XDG_RUNTIME_DIR/keep-gpu when XDG_RUNTIME_DIR is an absolute path, else ~/.keepgpu ($HOME,
// falling back to the password database). Touches nothing.
std::filesystem::path resolve_dir();
Paths paths_in(const std::filesystem::path& dir);

// Why an existing path is unsafe as the runtime directory, or nullopt when it is fine: it must be
// a real directory (not a symlink) owned by the effective uid and not writable by group or others.
std::optional<std::string> unsafe_reason(const std::filesystem::path& dir);

// The directory if it exists and is safe; nullopt if it does not exist (clients never create it).
// Throws RuntimeDirError when it exists but is unsafe.
std::optional<Paths> existing();

// Creates the directory with mode 0700 when missing, checks it, and narrows a readable one to
// 0700. Throws RuntimeDirError.
Paths ensure();

// Writes `content` to a fresh temporary file beside `path` with `mode`, flushes it to the disk,
// then renames it over `path`, so a reader (or a process that starts after a crash) sees the old
// file or the new one, never half of one. Throws std::system_error.
void write_file_atomically(const std::filesystem::path& path, const std::string& content,
                           mode_t mode);

// --- token ---------------------------------------------------------------------------------

// The token in `path`, or nullopt when the file does not exist. Throws RuntimeDirError when it is
// not ours, readable by others, or not a token.
std::optional<std::string> read_token(const std::filesystem::path& path);
// Reads the token, creating it first (0600, 32 random bytes from /dev/urandom as hex) if absent.
std::string ensure_token(const std::filesystem::path& path);
// The token a client sends over TCP: KEEP_GPU_TOKEN when set, else the token file if readable.
std::optional<std::string> client_token();

// --- process identity -------------------------------------------------------------------------

struct ProcessIdentity {
  uid_t uid = 0;
  std::string start_time;         // /proc/<pid>/stat field 22 (clock ticks since boot), as text
  std::string exe;                // /proc/<pid>/exe, without a " (deleted)" suffix
  std::vector<std::string> argv;  // /proc/<pid>/cmdline split on NUL, empty parts dropped
};

// Alive means kill(pid, 0) succeeds and the process is not a zombie. Our own exited children are
// reaped first, so a daemon we just killed does not count as alive.
bool process_alive(pid_t pid);
// The live identity, or nullopt when any part cannot be read.
std::optional<ProcessIdentity> probe_process(pid_t pid);

// --- PID record -------------------------------------------------------------------------------

struct PidRecord {
  pid_t pid = 0;
  bool legacy = false;  // the file held a bare positive integer: never verifiable
  // Identity fields; absent or of the wrong type when the file was written by someone else.
  std::optional<uid_t> uid;
  std::optional<std::string> start_time;
  std::optional<std::string> exe;
  std::optional<std::vector<std::string>> argv;
  std::optional<std::string> host;
  std::optional<int> port;
  double created_at = 0.0;
};

// One line of JSON with sorted keys.
std::string to_json(const PidRecord& record);

// The record in `path`, or nullopt when the file is absent, unreadable, not strict JSON, not an
// object or without a positive integer pid (such a file is left in place).
std::optional<PidRecord> read_pid_record(const std::filesystem::path& path);

// Writes atomically (temporary file and rename), mode 0600. Throws std::system_error.
void write_pid_record(const std::filesystem::path& path, const PidRecord& record);

// Removes the file; a missing file is fine.
void remove_pid_record(const std::filesystem::path& path);

// True only when the record's pid is alive and its uid (ours), start time, executable and command
// line all equal the live process's.
bool verify_pid_record(const PidRecord& record);

// A record for a process we just spawned, from its live identity; nullopt when it cannot be read.
// With `expected_argv`, waits (up to about a second) until the child's command line shows it:
// right after posix_spawn returns, /proc may still show an empty command line.
std::optional<PidRecord> record_for(pid_t pid, const std::string& host, int port,
                                    const std::vector<std::string>* expected_argv = nullptr);

// --- TCP endpoint ------------------------------------------------------------------------------

// Where the running service listens on TCP, so `keep-gpu dashboard` can print its URL whatever
// --host/--port the service was started with. Written by the service after it binds, removed
// when it stops.
struct EndpointRecord {
  pid_t pid = 0;
  std::string host;
  int port = 0;
  bool token = true;  // false: the service runs with --no-auth
};

// Writes atomically, mode 0600. Throws std::system_error.
void write_endpoint_record(const std::filesystem::path& path, const EndpointRecord& record);
// Removes the file; a missing file is fine.
void remove_endpoint_record(const std::filesystem::path& path);
// The record, or nullopt when the file is absent or malformed, or its pid is not alive.
std::optional<EndpointRecord> read_endpoint_record(const std::filesystem::path& path);

// --- locking ----------------------------------------------------------------------------------

// An exclusive flock(2) on a file, released on destruction. The descriptor is close-on-exec, so a
// spawned daemon never inherits the lock.
class FileLock {
 public:
  // Waits up to `timeout` (polling); nullopt when it is still held elsewhere. Throws
  // std::system_error when the file cannot be opened.
  static std::optional<FileLock> acquire(const std::filesystem::path& path,
                                         std::chrono::milliseconds timeout);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace keepgpu::service::runtime
