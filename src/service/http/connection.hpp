// One accepted connection, one request (HTTP/1.1 replies with Connection: close, as upstream
// answers one request per connection). All socket work runs on the connection's strand; the
// read of header and body is bounded by ServerOptions::read_timeout, and so is each write. Api
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

  // `counted`: this connection holds one of ServerOptions::max_connections.
  Connection(ServerState& state, std::shared_ptr<const ListenerPolicy> policy, Socket socket,
             bool counted);
  ~Connection();

  void start();   // read and answer one request
  void reject();  // answer 503 without reading (over the connection cap)

 private:
  void on_header(boost::system::error_code error, std::size_t header_bytes);
  void read_body();
  void call_api();
  void send(Reply reply);
  void drain();
  void close();
  void arm(std::chrono::milliseconds timeout);
  void disarm();

  ServerState& state_;
  std::shared_ptr<const ListenerPolicy> policy_;
  Socket socket_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>, Strand>
      timer_;
  unsigned timer_generation_ = 0;
  bool counted_;

  std::string buffer_;
  std::size_t header_bytes_ = 0;
  bool expect_continue_ = false;
  Plan plan_;
  std::unique_ptr<Response> response_;
  std::size_t drained_ = 0;
  std::array<char, 16 * 1024> scratch_{};
};

extern template class Connection<boost::asio::ip::tcp>;
extern template class Connection<boost::asio::local::stream_protocol>;

}  // namespace keepgpu::service::http
