// An accept loop on one listening socket (TCP or Unix). Each accepted socket gets its own strand
// and a Connection with a place in the listener's ConnectionBudget; without one it is answered
// 503 and closed.
#pragma once

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

#include "service/http/connection.hpp"

namespace keepgpu::service::http {

template <typename Protocol>
class Listener {
 public:
  // Opens, binds and listens (throws boost::system::system_error on failure).
  Listener(ServerState& state, ConnectionBudget& budget,
           const typename Protocol::endpoint& endpoint, bool reuse_address);

  typename Protocol::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  // The policy must be set before start(); for TCP it needs the port actually bound.
  void set_policy(ListenerPolicy policy);
  void start();
  // Stops accepting. Call on strand(), or when no I/O thread runs.
  void close();
  const Strand& strand() const { return strand_; }

 private:
  void accept();

  ServerState& state_;
  ConnectionBudget& budget_;
  std::shared_ptr<const ListenerPolicy> policy_;
  Strand strand_;  // accept handlers and close() never overlap
  boost::asio::basic_socket_acceptor<Protocol, Strand> acceptor_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>, Strand>
      retry_;
};

extern template class Listener<boost::asio::ip::tcp>;
extern template class Listener<boost::asio::local::stream_protocol>;

}  // namespace keepgpu::service::http
