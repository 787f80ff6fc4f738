// The runtime directory, the token file and the PID record:
// permission checks, verification against a live child process,
// and the stop-daemon procedure.
#include "service/runtime_dir.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "cli/daemon_control.hpp"

extern char** environ;

namespace keepgpu::service::runtime {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RuntimeDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keepgpu-rt-XXXXXX";
    base_ = mkdtemp(pattern);
    old_xdg_ = std::getenv("XDG_RUNTIME_DIR") ? std::getenv("XDG_RUNTIME_DIR") : "";
    setenv("XDG_RUNTIME_DIR", base_.c_str(), 1);
  }
  void TearDown() override {
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (old_xdg_.empty()) {
      unsetenv("XDG_RUNTIME_DIR");
    } else {
      setenv("XDG_RUNTIME_DIR", old_xdg_.c_str(), 1);
    }
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // A stand-in daemon: a shell whose command line ends like ours and that sleeps.
  pid_t spawn_child(const std::string& script) {
    std::vector<std::string> argv = {"/bin/sh", "-c",        script,   "serve",
                                     "--host",  "127.0.0.1", "--port", "1"};
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(::posix_spawn(&pid, "/bin/sh", nullptr, nullptr, args.data(), environ), 0);
    children_.push_back(pid);
    // Let the shell install its traps before the test signals it.
    std::this_thread::sleep_for(150ms);
    return pid;
  }

  fs::path base_;
  std::string old_xdg_;
  std::vector<pid_t> children_;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

TEST_F(RuntimeDirTest, ResolvesUnderXdgRuntimeDirOrHome) {
  EXPECT_EQ(resolve_dir(), base_ / "keep-gpu");
  setenv("XDG_RUNTIME_DIR", "relative/dir", 1);
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(resolve_dir(), fs::path(home) / ".keepgpu");
}

TEST_F(RuntimeDirTest, ClientsNeverCreateIt) {
  EXPECT_FALSE(existing().has_value());
  EXPECT_FALSE(fs::exists(base_ / "keep-gpu"));
}

TEST_F(RuntimeDirTest, EnsureCreatesMode0700AndNamesTheFiles) {
  const Paths paths = ensure();
  EXPECT_EQ(paths.dir, base_ / "keep-gpu");
  EXPECT_EQ(mode_of(paths.dir), 0700);
  EXPECT_EQ(paths.socket.filename(), "keep-gpu.sock");
  EXPECT_EQ(paths.token.filename(), "token");
  EXPECT_EQ(paths.pid.filename(), "daemon.pid");
  EXPECT_EQ(paths.log.filename(), "daemon.log");
  EXPECT_EQ(paths.lock.filename(), "daemon.lock");
  EXPECT_EQ(paths.journal.filename(), "sessions.json");
  EXPECT_TRUE(existing().has_value());
}

TEST_F(RuntimeDirTest, ReadableDirectoryIsNarrowed) {
  fs::create_directory(base_ / "keep-gpu");
  ::chmod((base_ / "keep-gpu").c_str(), 0755);
  ensure();
  EXPECT_EQ(mode_of(base_ / "keep-gpu"), 0700);
}

TEST_F(RuntimeDirTest, WritableByOthersIsRefused) {
  fs::create_directory(base_ / "keep-gpu");
  ::chmod((base_ / "keep-gpu").c_str(), 0770);
  EXPECT_THROW(ensure(), RuntimeDirError);
  EXPECT_THROW(existing(), RuntimeDirError);
  ::chmod((base_ / "keep-gpu").c_str(), 0703);
  EXPECT_THROW(ensure(), RuntimeDirError);
}

TEST_F(RuntimeDirTest, SymlinkAndFileAreRefused) {
  fs::create_directory(base_ / "elsewhere");
  ::chmod((base_ / "elsewhere").c_str(), 0700);
  fs::create_directory_symlink(base_ / "elsewhere", base_ / "keep-gpu");
  EXPECT_THROW(ensure(), RuntimeDirError);
  fs::remove(base_ / "keep-gpu");
  std::ofstream(base_ / "keep-gpu") << "x";
  EXPECT_THROW(ensure(), RuntimeDirError);
}

TEST_F(RuntimeDirTest, SomeoneElsesDirectoryIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  fs::create_directory(base_ / "keep-gpu");
  ::chmod((base_ / "keep-gpu").c_str(), 0700);
  ASSERT_EQ(::chown((base_ / "keep-gpu").c_str(), 65534, 65534), 0);
  try {
    ensure();
    FAIL();
  } catch (const RuntimeDirError& e) {
    EXPECT_NE(std::string(e.what()).find("owned by uid 65534"), std::string::npos) << e.what();
  }
}

TEST_F(RuntimeDirTest, TokenIsCreatedOnceWithMode0600) {
  const Paths paths = ensure();
  EXPECT_FALSE(read_token(paths.token).has_value());
  const std::string token = ensure_token(paths.token);
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(mode_of(paths.token), 0600);
  EXPECT_EQ(ensure_token(paths.token), token);
  EXPECT_EQ(read_token(paths.token), token);
  EXPECT_NE(ensure_token(ensure().dir / "other-token"), token);
  ::chmod(paths.token.c_str(), 0644);
  EXPECT_THROW(read_token(paths.token), RuntimeDirError);
}

TEST_F(RuntimeDirTest, ClientTokenPrefersTheEnvironment) {
  const Paths paths = ensure();
  const std::string token = ensure_token(paths.token);
  unsetenv("KEEP_GPU_TOKEN");
  EXPECT_EQ(client_token(), token);
  setenv("KEEP_GPU_TOKEN", "from-env", 1);
  EXPECT_EQ(client_token(), "from-env");
  unsetenv("KEEP_GPU_TOKEN");
}

TEST_F(RuntimeDirTest, PidRecordRoundTripWithSortedKeys) {
  const Paths paths = ensure();
  PidRecord record;
  record.pid = 4321;
  record.uid = 1000;
  record.start_time = "43112";
  record.exe = "/usr/bin/keep-gpu";
  record.argv = std::vector<std::string>{"/usr/bin/keep-gpu", "serve"};
  record.host = "127.0.0.1";
  record.port = 8765;
  record.created_at = 1718000000.5;
  EXPECT_EQ(to_json(record),
            R"({"argv": ["/usr/bin/keep-gpu", "serve"], "created_at": 1718000000.5, )"
            R"("exe": "/usr/bin/keep-gpu", "host": "127.0.0.1", "pid": 4321, "port": 8765, )"
            R"("start_time": "43112", "uid": 1000})");
  write_pid_record(paths.pid, record);
  EXPECT_EQ(mode_of(paths.pid), 0600);
  const auto back = read_pid_record(paths.pid);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->pid, 4321);
  EXPECT_EQ(back->uid, 1000u);
  EXPECT_EQ(back->start_time, "43112");
  EXPECT_EQ(back->argv, record.argv);
  EXPECT_EQ(back->port, 8765);
}

TEST_F(RuntimeDirTest, MalformedRecordsAreNoRecordAndStayOnDisk) {
  const Paths paths = ensure();
  for (const char* text : {"garbage", R"({"pid": 4321.9, "port": 8765})",
                           R"({"pid": true, "port": 8765})", "[]", R"({"port": 8765})", "0"}) {
    std::ofstream(paths.pid, std::ios::trunc) << text;
    EXPECT_FALSE(read_pid_record(paths.pid).has_value()) << text;
    EXPECT_TRUE(fs::exists(paths.pid));
  }
  std::ofstream(paths.pid, std::ios::trunc) << "4321";
  const auto legacy = read_pid_record(paths.pid);
  ASSERT_TRUE(legacy);
  EXPECT_TRUE(legacy->legacy);
  EXPECT_FALSE(verify_pid_record(*legacy));
}

TEST_F(RuntimeDirTest, RecordVerifiesOnlyWhenEveryIdentityFieldMatches) {
  const pid_t pid = spawn_child("sleep 30; :");
  const auto record = record_for(pid, "127.0.0.1", 1);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->uid, ::getuid());
  EXPECT_EQ(record->argv->back(), "1");
  EXPECT_TRUE(verify_pid_record(*record));

  auto changed = *record;
  changed.start_time = "1";
  EXPECT_FALSE(verify_pid_record(changed));
  changed = *record;
  changed.uid = ::getuid() + 1;
  EXPECT_FALSE(verify_pid_record(changed));
  changed = *record;
  changed.exe = "/usr/bin/python3";
  EXPECT_FALSE(verify_pid_record(changed));
  changed = *record;
  changed.argv->push_back("extra");
  EXPECT_FALSE(verify_pid_record(changed));
  changed = *record;
  changed.start_time.reset();
  EXPECT_FALSE(verify_pid_record(changed));

  ::kill(pid, SIGKILL);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(process_alive(pid));  // reaped, not a lingering zombie
  EXPECT_FALSE(verify_pid_record(*record));
}

TEST_F(RuntimeDirTest, LockIsExclusive) {
  const Paths paths = ensure();
  auto first = FileLock::acquire(paths.lock, 0ms);
  ASSERT_TRUE(first);
  EXPECT_FALSE(FileLock::acquire(paths.lock, 100ms).has_value());
  first.reset();
  EXPECT_TRUE(FileLock::acquire(paths.lock, 0ms).has_value());
}

TEST_F(RuntimeDirTest, StopDaemonTermsAVerifiedDaemon) {
  const Paths paths = ensure();
  const pid_t pid = spawn_child("sleep 30; :");
  write_pid_record(paths.pid, *record_for(pid, "127.0.0.1", 1));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(cli::stop_daemon(paths, cli::StopDaemonOptions{3000ms, std::nullopt}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(fs::exists(paths.pid));
}

TEST_F(RuntimeDirTest, StopDaemonKillsOneThatIgnoresSigterm) {
  const Paths paths = ensure();
  const pid_t pid = spawn_child("trap '' TERM; while :; do sleep 0.05; done");
  write_pid_record(paths.pid, *record_for(pid, "127.0.0.1", 1));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(cli::stop_daemon(paths, cli::StopDaemonOptions{300ms, std::nullopt}));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_FALSE(process_alive(pid));
  EXPECT_FALSE(fs::exists(paths.pid));
}

TEST_F(RuntimeDirTest, StopDaemonNeverSignalsAnUnverifiedProcess) {
  const Paths paths = ensure();
  const pid_t pid = spawn_child("sleep 30; :");
  auto record = *record_for(pid, "127.0.0.1", 1);
  record.start_time = "1";  // as if the pid had been reused
  write_pid_record(paths.pid, record);
  EXPECT_FALSE(cli::stop_daemon(paths, cli::StopDaemonOptions{300ms, std::nullopt}));
  EXPECT_TRUE(process_alive(pid));
  EXPECT_FALSE(fs::exists(paths.pid));  // the stale record is cleared
}

TEST_F(RuntimeDirTest, StopDaemonKeepsARecordForAnotherEndpoint) {
  const Paths paths = ensure();
  const pid_t pid = spawn_child("sleep 30; :");
  write_pid_record(paths.pid, *record_for(pid, "127.0.0.1", 1));
  EXPECT_FALSE(cli::stop_daemon(
      paths, cli::StopDaemonOptions{300ms, std::make_pair(std::string("127.0.0.1"), 2)}));
  EXPECT_TRUE(process_alive(pid));
  EXPECT_TRUE(fs::exists(paths.pid));
}

TEST_F(RuntimeDirTest, StopDaemonWithoutRecordIsNotStopped) {
  const Paths paths = ensure();
  EXPECT_FALSE(cli::stop_daemon(paths, cli::StopDaemonOptions{}));
  std::ofstream(paths.pid) << "garbage";
  EXPECT_FALSE(cli::stop_daemon(paths, cli::StopDaemonOptions{}));
  EXPECT_TRUE(fs::exists(paths.pid));
}

}  // namespace
}  // namespace keepgpu::service::runtime
