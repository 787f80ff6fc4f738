// Graceful shutdown on SIGINT/SIGTERM. The signals are blocked in every thread (install() must run
// before any thread starts) and received by one watcher thread with sigwait, so no work happens in
// a signal handler. The first signal wakes the main thread; a second one exits at once, unless
// the signals are being forwarded to a command that `keep-gpu run` started.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace keepgpu::cli {

class SignalWatcher {
 public:
  // Blocks SIGINT and SIGTERM for the calling thread and every thread created after it.
  static void block_signals();

  SignalWatcher();
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Waits up to `timeout` for the first signal; returns its number or 0.
  int wait_for(std::chrono::milliseconds timeout);
  int received() const;

  // From now on every SIGINT/SIGTERM that another process sent to keep-gpu itself (kill,
  // systemctl, a batch system's signal to the main process) goes on to `child`, and a second
  // signal no longer exits: keep-gpu waits for the command to end. One that the terminal sent to
  // the whole foreground process group (Ctrl+C) reached the command already and is not sent again.
  // A signal received before this call is passed on at once (the command did not exist yet).
  void forward_to(pid_t child);

 private:
  void run();
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int first_signal_ = 0;
  pid_t forward_to_ = 0;
  std::thread thread_;
};

}  // namespace keepgpu::cli
