// One accepted connection, one request (HTTP/1.1 replies with Connection: close, as upstream
// answers one request per connection). All socket work runs on the connection's strand; the
// request head must arrive within ServerOptions::header_timeout, the body and each write within
// read_timeout. Api
// calls run on a thread of their own, so a stop that waits for releases never holds up /health.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "service/http/server_state.hpp"
#include "service/http/wire.hpp"

namespace keepgpu::service::http {

template <typename Protocol>
using StrandSocket = boost::asio::basic_stream_socket<Protocol, Strand>;

template <typename Protocol>
class Connection : public std::enable_shared_from_this<Connection<Protocol>> {
 public:
  using Socket = StrandSocket<Protocol>;

  Connection(ServerState& state, std::shared_ptr<const ListenerPolicy> policy, Socket socket);
  ~Connection();  // gives its place in the budget back

  // Reads and answers one request, holding place `ticket` of `budget`.
  void start(ConnectionBudget& budget, ConnectionBudget::Ticket ticket);
  void reject();  // answer 503 without reading (no place left)
  // Closes the connection because its place went to a newer one (call from any thread).
  void evict();

 private:
  void on_header(boost::system::error_code error, std::size_t header_bytes);
  void read_body();
  void call_api();
  void send(Reply reply);
  void drain();
  void close();
  void arm(std::chrono::milliseconds timeout);
  void disarm();
  void set_busy(bool busy);

  ServerState& state_;
  std::shared_ptr<const ListenerPolicy> policy_;
  Socket socket_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>, Strand>
      timer_;
  unsigned timer_generation_ = 0;
  ConnectionBudget* budget_ = nullptr;  // set while holding a place
  ConnectionBudget::Ticket ticket_ = 0;

  std::string buffer_;
  std::size_t header_bytes_ = 0;
  bool expect_continue_ = false;
  Plan plan_;
  std::unique_ptr<Response> response_;
  std::size_t drained_ = 0;
  bool large_ = false;  // a big body or reply passed through: trim the heap when done
  std::array<char, 16 * 1024> scratch_{};
};

extern template class Connection<boost::asio::ip::tcp>;
extern template class Connection<boost::asio::local::stream_protocol>;

}  // namespace keepgpu::service::http
