#include "service/http/connection.hpp"

#include <malloc.h>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <system_error>
#include <thread>

#include "core/log.hpp"

namespace keepgpu::service::http {
namespace asio = boost::asio;

namespace {

// After the reply, unread request bytes are drained for at most this long (and this much), so
// closing does not reset the connection before the client has read the reply.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::size_t kLingerBytes = std::size_t{2} * 1024 * 1024;

// Requests or replies at least this big give freed memory back to the system when done.
constexpr std::size_t kLargeRequestBytes = std::size_t{64} * 1024;

// Clients that ask (curl does for larger bodies) wait for this before sending the body.
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::shared_ptr<spdlog::logger> logger() {
  static const auto instance = log::get("keep_gpu.service.http");
  return instance;
}

Reply run_guarded(const RequestHandler& handler, const Plan& plan, std::string_view body) {
  try {
    return handler.run(plan, body);
  } catch (const std::exception& error) {
    return typed_error_reply(500, error.what(), "RuntimeError");
  } catch (...) {
    return typed_error_reply(500, "Internal error", "RuntimeError");
  }
}

}  // namespace

template <typename Protocol>
Connection<Protocol>::Connection(ServerState& state, std::shared_ptr<const ListenerPolicy> policy,
                                 Socket socket)
    : state_(state),
      policy_(std::move(policy)),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()) {}

template <typename Protocol>
Connection<Protocol>::~Connection() {
  if (budget_ != nullptr) {
    budget_->release(ticket_);
    state_.trimmer.note_activity();
    state_.connections.fetch_sub(1);
  }
  // Big bodies and replies leave free memory in the allocator's per-thread arenas that it keeps
  // for good; hand it back so bursts of big requests do not leave the daemon big.
  if (large_) ::malloc_trim(0);
}

template <typename Protocol>
void Connection<Protocol>::set_busy(bool busy) {
  if (budget_ != nullptr) budget_->set_busy(ticket_, busy);
}

template <typename Protocol>
void Connection<Protocol>::evict() {
  asio::post(socket_.get_executor(), [self = this->shared_from_this()] { self->close(); });
}

template <typename Protocol>
void Connection<Protocol>::arm(std::chrono::milliseconds timeout) {
  const unsigned generation = ++timer_generation_;
  timer_.expires_after(timeout);
  timer_.async_wait([self = this->shared_from_this(), generation](boost::system::error_code error) {
    // A wait that fired just before disarm() is still delivered; the generation tells.
    if (!error && generation == self->timer_generation_) self->close();
  });
}

template <typename Protocol>
void Connection<Protocol>::disarm() {
  ++timer_generation_;
  timer_.cancel();
}

template <typename Protocol>
void Connection<Protocol>::close() {
  disarm();
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
}

template <typename Protocol>
void Connection<Protocol>::start(ConnectionBudget& budget, ConnectionBudget::Ticket ticket) {
  budget_ = &budget;
  ticket_ = ticket;
  state_.connections.fetch_add(1);
  arm(std::min(state_.options.header_timeout, state_.options.read_timeout));
  asio::async_read_until(
      socket_, asio::dynamic_buffer(buffer_, kMaxHeaderBytes), "\r\n\r\n",
      [self = this->shared_from_this()](boost::system::error_code error, std::size_t bytes) {
        self->on_header(error, bytes);
      });
}

template <typename Protocol>
void Connection<Protocol>::reject() {
  send(error_reply(503, "Too many connections"));
}

template <typename Protocol>
void Connection<Protocol>::on_header(boost::system::error_code error, std::size_t header_bytes) {
  if (error == asio::error::not_found) {  // the header block outgrew kMaxHeaderBytes
    send(error_reply(431, "Request header fields too large"));
    return;
  }
  if (error) {
    close();  // timed out, evicted, reset, or closed before a full header
    return;
  }
  set_busy(true);
  arm(state_.options.read_timeout);  // for the body
  header_bytes_ = header_bytes;
  const auto head = parse_request_head(buffer_.substr(0, header_bytes));
  if (!head) {
    send(error_reply(400, "Malformed HTTP request"));
    return;
  }
  expect_continue_ = head->expect_continue;
  plan_ = state_.handler.plan(*head, *policy_);
  if (plan_.reply) {
    send(std::move(*plan_.reply));
    return;
  }
  read_body();
}

template <typename Protocol>
void Connection<Protocol>::read_body() {
  const std::size_t have = buffer_.size() - header_bytes_;
  if (have >= plan_.body_bytes) {
    call_api();
    return;
  }
  if (expect_continue_) {
    expect_continue_ = false;
    asio::async_write(
        socket_, asio::buffer(kContinue.data(), kContinue.size()),
        [self = this->shared_from_this()](boost::system::error_code error, std::size_t) {
          if (error) {
            self->close();
            return;
          }
          self->read_body();
        });
    return;
  }
  asio::async_read(socket_, asio::dynamic_buffer(buffer_),
                   asio::transfer_exactly(plan_.body_bytes - have),
                   [self = this->shared_from_this()](boost::system::error_code error, std::size_t) {
                     if (error) {
                       self->close();  // timed out or gone before the declared length arrived
                       return;
                     }
                     self->call_api();
                   });
}

template <typename Protocol>
void Connection<Protocol>::call_api() {
  disarm();  // an Api call may take long (a stop waits for releases); it has its own bounds
  std::string body = buffer_.substr(header_bytes_, plan_.body_bytes);
  large_ = buffer_.size() >= kLargeRequestBytes;
  std::string().swap(buffer_);  // the connection lingers a while; its copy is not needed
  std::shared_ptr<ServerState> state = state_.shared_from_this();
  if (!state->begin_call()) {
    send(typed_error_reply(503, "Server is shutting down", "RuntimeError"));
    return;
  }
  try {
    std::thread([state, self = this->shared_from_this(), body = std::move(body)]() mutable {
      Reply reply = run_guarded(state->handler, self->plan_, body);
      std::string().swap(body);  // freed before the connection's heap trim
      asio::post(self->socket_.get_executor(),
                 [self, reply = std::move(reply)]() mutable { self->send(std::move(reply)); });
      // Connection first: its destructor needs the state, which may go with the last reference.
      self.reset();
      state->end_call();
      state.reset();
    }).detach();
  } catch (const std::system_error& error) {
    state->end_call();
    KG_WARN(logger(), "Cannot start a request thread: {}", error.what());
    send(typed_error_reply(503, "Cannot start a request thread", "RuntimeError"));
  }
}

template <typename Protocol>
void Connection<Protocol>::send(Reply reply) {
  if (reply.body.size() >= kLargeRequestBytes) large_ = true;
  response_ = std::make_unique<Response>(to_response(std::move(reply)));
  arm(state_.options.read_timeout);
  boost::beast::http::async_write(
      socket_, *response_,
      [self = this->shared_from_this()](boost::system::error_code error, std::size_t) {
        if (error) {
          self->close();
          return;
        }
        // Only lingering now: the place may go to a newcomer, and the reply can go.
        self->set_busy(false);
        self->response_.reset();
        boost::system::error_code ignored;
        self->socket_.shutdown(asio::socket_base::shutdown_send, ignored);
        self->arm(
            std::min<std::chrono::milliseconds>(kLingerTime, self->state_.options.read_timeout));
        self->drain();
      });
}

template <typename Protocol>
void Connection<Protocol>::drain() {
  socket_.async_read_some(
      asio::buffer(scratch_),
      [self = this->shared_from_this()](boost::system::error_code error, std::size_t bytes) {
        self->drained_ += bytes;
        if (error || self->drained_ > kLingerBytes) {
          self->close();
          return;
        }
        self->drain();
      });
}

template class Connection<asio::ip::tcp>;
template class Connection<asio::local::stream_protocol>;

}  // namespace keepgpu::service::http
