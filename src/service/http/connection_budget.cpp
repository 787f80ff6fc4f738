#include "service/http/connection_budget.hpp"

#include <utility>

namespace keepgpu::service::http {

ConnectionBudget::ConnectionBudget(std::size_t capacity) : capacity_(capacity) {}

std::optional<ConnectionBudget::Ticket> ConnectionBudget::admit(std::function<void()> evict) {
  std::function<void()> evicted;
  Ticket ticket = 0;
  {
    std::lock_guard lock(mutex_);
    if (holders_.size() >= capacity_) {
      auto victim = holders_.begin();
      while (victim != holders_.end() && victim->second.busy)
        ++victim;
      if (victim == holders_.end()) return std::nullopt;
      evicted = std::move(victim->second.evict);
      holders_.erase(victim);
    }
    ticket = next_++;
    holders_.emplace(ticket, Holder{std::move(evict), false});
  }
  if (evicted) evicted();
  return ticket;
}

void ConnectionBudget::set_busy(Ticket ticket, bool busy) {
  std::lock_guard lock(mutex_);
  const auto found = holders_.find(ticket);
  if (found != holders_.end()) found->second.busy = busy;
}

void ConnectionBudget::release(Ticket ticket) {
  std::lock_guard lock(mutex_);
  holders_.erase(ticket);
}

std::size_t ConnectionBudget::in_use() const {
  std::lock_guard lock(mutex_);
  return holders_.size();
}

}  // namespace keepgpu::service::http
