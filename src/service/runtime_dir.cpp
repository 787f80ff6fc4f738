#include "service/runtime_dir.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "core/interval.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "service/wire_json.hpp"

namespace keepgpu::service::runtime {
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kTokenBytes = 32;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

std::optional<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return out.str();
}

std::string home_dir() {
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] != '\0') return home;
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr && entry->pw_dir != nullptr) {
    return entry->pw_dir;
  }
  throw RuntimeDirError("cannot determine the home directory (HOME is not set)");
}

bool is_hex_token(std::string_view text) {
  if (text.size() != kTokenBytes * 2) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string random_token() {
  unsigned char bytes[kTokenBytes];
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open /dev/urandom");
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::read(fd, bytes + got, sizeof bytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw_errno("cannot read /dev/urandom");
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  std::string hex;
  for (unsigned char byte : bytes)
    hex += fmt::format("{:02x}", byte);
  return hex;
}

// The fields after the command name in /proc/<pid>/stat; the name may hold spaces and ')'.
std::optional<std::vector<std::string>> stat_fields(pid_t pid) {
  const auto text = read_file(fmt::format("/proc/{}/stat", pid));
  if (!text) return std::nullopt;
  const auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(text->substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;)
    fields.push_back(field);
  return fields;
}

}  // namespace

// --- directory ----------------------------------------------------------------------------------

fs::path resolve_dir() {
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && xdg[0] == '/') {
    return fs::path(xdg) / "keep-gpu";
  }
  return fs::path(home_dir()) / ".keepgpu";
}

Paths paths_in(const fs::path& dir) {
  return Paths{dir,
               dir / "keep-gpu.sock",
               dir / "token",
               dir / "daemon.pid",
               dir / "daemon.log",
               dir / "daemon.lock",
               dir / "serve.lock",
               dir / "endpoint.json",
               dir / "sessions.json"};
}

std::optional<std::string> unsafe_reason(const fs::path& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return fmt::format("cannot inspect it: {}", std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode)) return "it is a symbolic link";
  if (!S_ISDIR(st.st_mode)) return "it is not a directory";
  if (st.st_uid != ::geteuid()) return fmt::format("it is owned by uid {}", st.st_uid);
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fmt::format("it is writable by group or others (mode {:04o})", st.st_mode & 07777);
  }
  return std::nullopt;
}

namespace {

[[noreturn]] void refuse(const fs::path& dir, const std::string& reason) {
  throw RuntimeDirError(
      fmt::format("Refusing to use the runtime directory {}: {}", dir.string(), reason));
}

}  // namespace

std::optional<Paths> existing() {
  const fs::path dir = resolve_dir();
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    refuse(dir, std::strerror(errno));
  }
  if (auto reason = unsafe_reason(dir)) refuse(dir, *reason);
  return paths_in(dir);
}

Paths ensure() {
  const fs::path dir = resolve_dir();
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    refuse(dir, fmt::format("cannot create it: {}", std::strerror(errno)));
  }
  if (auto reason = unsafe_reason(dir)) refuse(dir, *reason);
  // Ours and not writable by others, but maybe readable or searchable: narrow it so other users
  // cannot even see the socket and log.
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) ::chmod(dir.c_str(), 0700);
  return paths_in(dir);
}

// --- files --------------------------------------------------------------------------------------

void write_file_atomically(const fs::path& path, const std::string& content, mode_t mode) {
  std::string temp = (path.parent_path() / ("." + path.filename().string() + ".XXXXXX")).string();
  const int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) throw_errno("cannot create a file in " + path.parent_path().string());
  auto fail = [&](const char* what) {
    const int saved = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    errno = saved;
    throw_errno(std::string(what) + " " + path.string());
  };
  if (::fchmod(fd, mode) != 0) fail("cannot set the mode of");
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot flush");
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    throw_errno("cannot write " + path.string());
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(temp.c_str());
    errno = saved;
    throw_errno("cannot replace " + path.string());
  }
}

// --- token --------------------------------------------------------------------------------------

std::optional<std::string> read_token(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw RuntimeDirError(
        fmt::format("cannot read the token file {}: {}", path.string(), std::strerror(errno)));
  }
  struct stat st {};
  std::string text(kTokenBytes * 2 + 2, '\0');
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (!stat_ok || n < 0) {
    throw RuntimeDirError(fmt::format("cannot read the token file {}", path.string()));
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 0077) != 0) {
    throw RuntimeDirError(fmt::format(
        "Refusing to use the token file {}: it must be a regular file of ours with mode 0600",
        path.string()));
  }
  text.resize(static_cast<std::size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (!is_hex_token(text)) {
    throw RuntimeDirError(fmt::format("the token file {} does not hold a token", path.string()));
  }
  return text;
}

std::string ensure_token(const fs::path& path) {
  if (auto token = read_token(path)) return *token;
  std::string token = random_token();
  // O_EXCL: if another daemon start raced us, keep its token rather than overwrite it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      if (auto raced = read_token(path)) return *raced;
    }
    throw RuntimeDirError(
        fmt::format("cannot create the token file {}: {}", path.string(), std::strerror(errno)));
  }
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw RuntimeDirError(fmt::format("cannot write the token file {}", path.string()));
  }
  return token;
}

std::optional<std::string> client_token() {
  if (const char* env = std::getenv("KEEP_GPU_TOKEN"); env != nullptr && env[0] != '\0') {
    return std::string(env);
  }
  try {
    const auto paths = existing();
    if (!paths) return std::nullopt;
    return read_token(paths->token);
  } catch (const std::exception&) {
    return std::nullopt;  // no usable token: the service answers 401, which the user sees
  }
}

// --- process identity ---------------------------------------------------------------------------

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  int status = 0;
  // Reap it if it is our own exited child; ECHILD (not ours) is the usual case and harmless.
  if (::waitpid(pid, &status, WNOHANG) == pid) return false;
  if (::kill(pid, 0) != 0) return false;
  const auto fields = stat_fields(pid);
  // A zombie that nobody reaps (its parent is gone and init is slow) has released everything.
  if (fields && !fields->empty() && (*fields)[0] == "Z") return false;
  return true;
}

std::optional<ProcessIdentity> probe_process(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  ProcessIdentity identity;
  const auto fields = stat_fields(pid);
  // Field 22 of the whole line is the 20th after the command name (fields 3..).
  if (!fields || fields->size() < 20) return std::nullopt;
  identity.start_time = (*fields)[19];
  if (identity.start_time.empty()) return std::nullopt;
  struct stat st {};
  if (::stat(fmt::format("/proc/{}", pid).c_str(), &st) != 0) return std::nullopt;
  identity.uid = st.st_uid;
  std::error_code ec;
  std::string exe = fs::read_symlink(fmt::format("/proc/{}/exe", pid), ec).string();
  if (ec || exe.empty()) return std::nullopt;
  // A rebuilt binary shows as "<path> (deleted)"; the start time and command line still pin the
  // process down, so the suffix alone does not make the daemon a stranger.
  constexpr std::string_view kDeleted = " (deleted)";
  if (exe.size() > kDeleted.size() && exe.ends_with(kDeleted))
    exe.resize(exe.size() - kDeleted.size());
  identity.exe = exe;
  const auto cmdline = read_file(fmt::format("/proc/{}/cmdline", pid));
  if (!cmdline) return std::nullopt;
  std::string part;
  for (char c : *cmdline) {
    if (c == '\0') {
      if (!part.empty()) identity.argv.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  if (!part.empty()) identity.argv.push_back(part);
  return identity;
}

// --- PID record ---------------------------------------------------------------------------------

std::string to_json(const PidRecord& record) {
  core::Json doc = {{"created_at", record.created_at}, {"pid", record.pid}};
  if (record.argv) doc["argv"] = *record.argv;
  if (record.exe) doc["exe"] = *record.exe;
  if (record.host) doc["host"] = *record.host;
  if (record.port) doc["port"] = *record.port;
  if (record.start_time) doc["start_time"] = *record.start_time;
  if (record.uid) doc["uid"] = *record.uid;
  return wire_json(doc);  // sorted keys and Python's separators, as upstream wrote it
}

std::optional<PidRecord> read_pid_record(const fs::path& path) {
  const auto text = read_file(path);
  if (!text) return std::nullopt;
  core::Json doc;
  try {
    core::json::ReadOptions options;
    options.duplicate_keys = core::json::DuplicateKeys::last_wins;
    doc = core::json::parse(core::text::trim_python(*text), options);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  auto positive = [](const core::Json& v) -> std::optional<long long> {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > 0 && u <= static_cast<std::uint64_t>(INT32_MAX)) return static_cast<long long>(u);
      return std::nullopt;
    }
    if (v.is_number_integer() && v.get<std::int64_t>() > 0 && v.get<std::int64_t>() <= INT32_MAX) {
      return v.get<std::int64_t>();
    }
    return std::nullopt;
  };
  PidRecord record;
  if (!doc.is_object()) {
    const auto pid = positive(doc);
    if (!pid) return std::nullopt;
    record.pid = static_cast<pid_t>(*pid);
    record.legacy = true;
    return record;
  }
  const auto pid = doc.contains("pid") ? positive(doc["pid"]) : std::nullopt;
  if (!pid) return std::nullopt;
  record.pid = static_cast<pid_t>(*pid);
  if (doc.contains("port")) {
    const auto port = positive(doc["port"]);
    if (port && *port <= 65535) record.port = static_cast<int>(*port);
  }
  if (auto it = doc.find("uid"); it != doc.end() && it->is_number_integer() && *it >= 0) {
    record.uid = it->get<uid_t>();
  }
  if (auto it = doc.find("start_time"); it != doc.end() && it->is_string()) {
    record.start_time = it->get<std::string>();
  }
  if (auto it = doc.find("exe"); it != doc.end() && it->is_string()) {
    record.exe = it->get<std::string>();
  }
  if (auto it = doc.find("host"); it != doc.end() && it->is_string()) {
    record.host = it->get<std::string>();
  }
  if (auto it = doc.find("argv"); it != doc.end() && it->is_array()) {
    std::vector<std::string> argv;
    bool strings = true;
    for (const auto& item : *it) {
      if (!item.is_string()) {
        strings = false;
        break;
      }
      argv.push_back(item.get<std::string>());
    }
    if (strings) record.argv = std::move(argv);
  }
  if (auto it = doc.find("created_at"); it != doc.end() && it->is_number()) {
    record.created_at = it->get<double>();
  }
  return record;
}

void write_pid_record(const fs::path& path, const PidRecord& record) {
  write_file_atomically(path, to_json(record), 0600);
}

void write_endpoint_record(const fs::path& path, const EndpointRecord& record) {
  const core::Json doc = {
      {"pid", record.pid}, {"host", record.host}, {"port", record.port}, {"token", record.token}};
  write_file_atomically(path, wire_json(doc, core::json::Separators::compact) + "\n", 0600);
}

void remove_endpoint_record(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

std::optional<EndpointRecord> read_endpoint_record(const fs::path& path) {
  const auto text = read_file(path);
  if (!text) return std::nullopt;
  core::Json doc;
  try {
    core::json::ReadOptions options;
    options.duplicate_keys = core::json::DuplicateKeys::last_wins;
    doc = core::json::parse(*text, options);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!doc.is_object()) return std::nullopt;
  const auto pid = doc.find("pid");
  const auto host = doc.find("host");
  const auto port = doc.find("port");
  const auto token = doc.find("token");
  if (pid == doc.end() || !pid->is_number_integer() || host == doc.end() || !host->is_string() ||
      port == doc.end() || !port->is_number_integer() || token == doc.end() ||
      !token->is_boolean()) {
    return std::nullopt;
  }
  EndpointRecord record{pid->get<pid_t>(), host->get<std::string>(), port->get<int>(),
                        token->get<bool>()};
  if (record.pid <= 0 || record.port <= 0 || record.port > 65535 || !process_alive(record.pid)) {
    return std::nullopt;
  }
  return record;
}

void remove_pid_record(const fs::path& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

bool verify_pid_record(const PidRecord& record) {
  if (record.legacy || !record.uid || !record.start_time || record.start_time->empty() ||
      !record.exe || !record.argv || record.argv->empty()) {
    return false;
  }
  // Only our own daemons: a record naming another user's process is never trusted.
  if (*record.uid != ::getuid()) return false;
  if (!process_alive(record.pid)) return false;
  const auto live = probe_process(record.pid);
  if (!live) return false;
  return live->uid == *record.uid && live->start_time == *record.start_time &&
         live->exe == *record.exe && live->argv == *record.argv;
}

std::optional<PidRecord> record_for(pid_t pid, const std::string& host, int port,
                                    const std::vector<std::string>* expected_argv) {
  auto live = probe_process(pid);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (expected_argv != nullptr && live && live->argv != *expected_argv &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    live = probe_process(pid);
  }
  if (!live || (expected_argv != nullptr && live->argv != *expected_argv)) return std::nullopt;
  PidRecord record;
  record.pid = pid;
  record.uid = live->uid;
  record.start_time = live->start_time;
  record.exe = live->exe;
  record.argv = live->argv;
  record.host = host;
  record.port = port;
  record.created_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return record;
}

// --- locking ------------------------------------------------------------------------------------

std::optional<FileLock> FileLock::acquire(const fs::path& path, std::chrono::milliseconds timeout) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw_errno("cannot open " + path.string());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return FileLock(fd);
    if (errno != EWOULDBLOCK && errno != EINTR) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
      throw_errno("cannot lock " + path.string());
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(fd);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) {
  other.fd_ = -1;
}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace keepgpu::service::runtime
