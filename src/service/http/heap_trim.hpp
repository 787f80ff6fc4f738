// Hands freed heap memory back to the system while the daemon is busy. glibc keeps what a
// thread frees in that thread's arena, and a live chunk near an arena's top keeps everything
// below it resident: every start/stop cycle (request threads, keeper threads) left a little
// more behind, with no live allocation to show for it. A trim every `period` while requests
// come in bounds that; an idle daemon is not woken.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>

namespace keepgpu::service::http {

class HeapTrimmer {
 public:
  HeapTrimmer(boost::asio::io_context& io, std::chrono::milliseconds period);

  void start();
  // One request done (any thread): the next tick trims.
  void note_activity() { activity_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void wait();

  boost::asio::steady_timer timer_;
  const std::chrono::milliseconds period_;
  std::atomic<std::size_t> activity_{0};
};

}  // namespace keepgpu::service::http
