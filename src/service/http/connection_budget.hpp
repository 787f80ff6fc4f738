// The places one listener has for open connections. A place held by a connection that is not
// busy with a request (its request head has not fully arrived, or its reply is already sent) can
// be taken back for a newcomer: idle or slow connections (anyone on the machine can open them on
// loopback, no token needed) then cannot lock out the clients that actually send requests. Only
// when every place is busy with a request is a new connection refused. Thread-safe: listeners admit
// on their strands, connections settle and release on theirs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

namespace keepgpu::service::http {

class ConnectionBudget {
 public:
  using Ticket = std::uint64_t;

  explicit ConnectionBudget(std::size_t capacity);

  // A place for a new connection, not busy. When none is free, the oldest holder that is not
  // busy gives its place up: its `evict` runs (outside the lock; it must only schedule the
  // close). nullopt when every place is busy.
  std::optional<Ticket> admit(std::function<void()> evict);
  // Busy from a complete request head until the reply is written: the place is not taken back.
  void set_busy(Ticket ticket, bool busy);
  // The holder is gone. A place already taken back is not given back twice.
  void release(Ticket ticket);

  std::size_t in_use() const;

 private:
  struct Holder {
    std::function<void()> evict;
    bool busy = false;
  };

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  Ticket next_ = 0;
  std::map<Ticket, Holder> holders_;  // by ticket: oldest first
};

}  // namespace keepgpu::service::http
