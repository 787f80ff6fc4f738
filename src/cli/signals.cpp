#include "cli/signals.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

#include "core/log.hpp"

namespace keepgpu::cli {
namespace {

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR2);  // used only to wake the watcher at destruction
  return set;
}

}  // namespace

void SignalWatcher::block_signals() {
  const sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalWatcher::SignalWatcher() : thread_([this] { run(); }) {}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR2);
  thread_.join();
}

void SignalWatcher::run() {
  const sigset_t set = shutdown_signals();
  for (;;) {
    siginfo_t info{};
    const int signal_number = sigwaitinfo(&set, &info);
    if (signal_number < 0) continue;
    if (signal_number == SIGUSR2) return;
    std::unique_lock lock(mutex_);
    if (forward_to_ > 0) {
      // SI_USER/SI_QUEUE: sent by a process to this one only. Anything else (SI_KERNEL: the
      // terminal's Ctrl+C to the foreground group) has reached the command already.
      if (info.si_code == SI_USER || info.si_code == SI_QUEUE) ::kill(forward_to_, signal_number);
      if (first_signal_ == 0) first_signal_ = signal_number;
      cv_.notify_all();
      continue;
    }
    if (first_signal_ == 0) {
      first_signal_ = signal_number;
      cv_.notify_all();
      continue;
    }
    // A second signal while releasing: the user wants out now. The driver frees the memory of an
    // exiting process, so nothing leaks.
    lock.unlock();
    static const char kMessage[] = "Second signal received; exiting without waiting for release.\n";
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    _exit(128 + signal_number);
  }
}

int SignalWatcher::wait_for(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return first_signal_ != 0; });
  return first_signal_;
}

void SignalWatcher::forward_to(pid_t child) {
  std::lock_guard lock(mutex_);
  forward_to_ = child;
  // A signal that came after the caller last looked and before the command existed: neither the
  // terminal nor the sender could reach the command then, so pass it on now.
  if (first_signal_ != 0) ::kill(child, first_signal_);
}

int SignalWatcher::received() const {
  std::lock_guard lock(mutex_);
  return first_signal_;
}

}  // namespace keepgpu::cli
