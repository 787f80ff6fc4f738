#include "service/http/heap_trim.hpp"

#include <malloc.h>

namespace keepgpu::service::http {

HeapTrimmer::HeapTrimmer(boost::asio::io_context& io, std::chrono::milliseconds period)
    : timer_(io), period_(period) {}

void HeapTrimmer::start() {
  if (period_.count() > 0) wait();
}

void HeapTrimmer::wait() {
  // Only this chain of handlers touches the timer, one at a time; the server stops the
  // io_context before the trimmer goes away.
  timer_.expires_after(period_);
  timer_.async_wait([this](boost::system::error_code error) {
    if (error) return;
    if (activity_.exchange(0, std::memory_order_relaxed) > 0) ::malloc_trim(0);
    wait();
  });
}

}  // namespace keepgpu::service::http
