#include "cli/child_process.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

namespace keepgpu::cli {
namespace {

// posix_spawn attributes that undo what keep-gpu set up for itself: its blocked shutdown signals
// and any ignored SIGPIPE would otherwise be inherited and change how the command behaves.
class SpawnAttributes {
 public:
  SpawnAttributes() {
    posix_spawnattr_init(&attr_);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr_, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (const int signal_number : {SIGINT, SIGTERM, SIGPIPE, SIGUSR2})
      sigaddset(&defaults, signal_number);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_{};
};

int shell_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) throw SpawnError("no command given", 2);
  std::vector<char*> pointers;
  pointers.reserve(argv.size() + 1);
  for (const auto& arg : argv)
    pointers.push_back(const_cast<char*>(arg.c_str()));  // NOLINT: posix_spawn's signature
  pointers.push_back(nullptr);
  const SpawnAttributes attributes;
  const int error =
      posix_spawnp(&pid_, argv[0].c_str(), nullptr, attributes.get(), pointers.data(), environ);
  if (error != 0) {
    const bool missing = error == ENOENT || error == ENOTDIR;
    throw SpawnError(fmt::format("cannot run '{}': {}", argv[0],
                                 missing ? "command not found" : std::strerror(error)),
                     missing ? 127 : 126);
  }
  reaper_ = std::thread([this] { reap(); });
}

ChildProcess::~ChildProcess() {
  if (reaper_.joinable()) reaper_.join();
}

void ChildProcess::reap() {
  int wait_status = 0;
  pid_t got = 0;
  do {
    got = ::waitpid(pid_, &wait_status, 0);
  } while (got < 0 && errno == EINTR);
  std::lock_guard lock(mutex_);
  status_ = got == pid_ ? shell_status(wait_status) : 1;
  ended_.notify_all();
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  ended_.wait_for(lock, timeout, [&] { return status_.has_value(); });
  return status_;
}

}  // namespace keepgpu::cli
