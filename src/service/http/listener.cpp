#include "service/http/listener.hpp"

#include <boost/asio/strand.hpp>

#include "core/log.hpp"

namespace keepgpu::service::http {
namespace asio = boost::asio;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static const auto instance = log::get("keep_gpu.service.http");
  return instance;
}

}  // namespace

template <typename Protocol>
Listener<Protocol>::Listener(ServerState& state, ConnectionBudget& budget,
                             const typename Protocol::endpoint& endpoint, bool reuse_address)
    : state_(state),
      budget_(budget),
      strand_(asio::make_strand(state.io)),
      acceptor_(strand_),
      retry_(strand_) {
  acceptor_.open(endpoint.protocol());
  if (reuse_address) acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

template <typename Protocol>
void Listener<Protocol>::set_policy(ListenerPolicy policy) {
  policy_ = std::make_shared<const ListenerPolicy>(std::move(policy));
}

template <typename Protocol>
void Listener<Protocol>::start() {
  accept();
}

template <typename Protocol>
void Listener<Protocol>::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  retry_.cancel();
}

template <typename Protocol>
void Listener<Protocol>::accept() {
  acceptor_.async_accept(asio::make_strand(state_.io), [this](boost::system::error_code error,
                                                              StrandSocket<Protocol> socket) {
    if (error == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (error) {
      // Out of descriptors and the like: pause briefly instead of spinning.
      KG_WARN(logger(), "Accepting a connection failed: {}", error.message());
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](boost::system::error_code wait_error) {
        if (!wait_error) accept();
      });
      return;
    }
    auto connection = std::make_shared<Connection<Protocol>>(state_, policy_, std::move(socket));
    const auto ticket = budget_.admit([weak = std::weak_ptr<Connection<Protocol>>(connection)] {
      if (const auto evicted = weak.lock()) evicted->evict();
    });
    if (ticket) {
      connection->start(budget_, *ticket);
    } else {
      connection->reject();
    }
    accept();
  });
}

template class Listener<asio::ip::tcp>;
template class Listener<asio::local::stream_protocol>;

}  // namespace keepgpu::service::http
