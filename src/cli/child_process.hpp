// The command `keep-gpu run` keeps the GPUs for: started with the terminal, environment and
// working directory of keep-gpu itself, and reaped by a thread of its own, so the main thread can
// wait for its end, a signal and a time limit together.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace keepgpu::cli {

// The command could not be started; exit_status() is the shell's 127 (not found) or 126 (found
// but not executable).
class SpawnError : public std::runtime_error {
 public:
  SpawnError(const std::string& message, int exit_status)
      : std::runtime_error(message), exit_status_(exit_status) {}
  int exit_status() const noexcept { return exit_status_; }

 private:
  int exit_status_;
};

class ChildProcess {
 public:
  // Starts argv[0] (searched in PATH) with the signal mask and the SIGINT/SIGTERM/SIGPIPE
  // dispositions reset to the defaults, whatever keep-gpu's own are. Throws SpawnError.
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();  // waits for the reaper thread: the child must have ended (or be killed)
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  // Waits up to `timeout` for the child to end; returns its status as a shell reports it (the
  // exit code, or 128 + the signal that killed it), or nullopt while it runs.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

 private:
  void reap();
  pid_t pid_ = -1;
  std::mutex mutex_;
  std::condition_variable ended_;
  std::optional<int> status_;
  std::thread reaper_;
};

}  // namespace keepgpu::cli
