// Graceful shutdown on SIGINT/SIGTERM. The signals are blocked in every thread (install() must run
// before any thread starts) and received by one watcher thread with sigwait, so no work happens in
// a signal handler. The first signal wakes the main thread; a second one exits at once.
#pragma once

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

 private:
  void run();
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int first_signal_ = 0;
  std::thread thread_;
};

}  // namespace keepgpu::cli
